//! SQL text for the Snowflake objects and load steps (DESIGN.md section 7, "Objects", "Load").
//!
//! Every identifier is double-quoted with `"` doubled inside, exactly as configured, and every
//! object is qualified with database and schema (a Snowflake-protocol test server resolves
//! unqualified names differently from Snowflake). No data ever travels in this text: values
//! travel in Parquet through the stage; the only literals are our own constants and `_SEQ`
//! numbers.

use crate::schema::{ColumnType, Table, TableDef};

/// The internal stage the journal files are uploaded to.
pub const STAGE: &str = "_JAS_STAGE";
/// The table holding per-table load state and the destination's owner.
pub const STATE_TABLE: &str = "_JAS_STATE";
/// Prefix of the journal tables (`_JAS_JOURNAL_BOARD`).
pub const JOURNAL_PREFIX: &str = "_JAS_JOURNAL_";

/// `name` as a quoted identifier: `a"b` -> `"a""b"`.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The database and schema every object lives in.
#[derive(Debug, Clone)]
pub struct Target {
    /// Database, as configured (case-sensitive).
    pub database: String,
    /// Schema, as configured (case-sensitive).
    pub schema: String,
}

impl Target {
    /// A target for `database`.`schema`.
    pub fn new(database: impl Into<String>, schema: impl Into<String>) -> Self {
        Target {
            database: database.into(),
            schema: schema.into(),
        }
    }

    /// `"db"."schema"."name"`.
    pub fn qualify(&self, name: &str) -> String {
        format!(
            "{}.{}.{}",
            quote_ident(&self.database),
            quote_ident(&self.schema),
            quote_ident(name)
        )
    }

    /// `"db"."schema"`.
    pub fn qualified_schema(&self) -> String {
        format!(
            "{}.{}",
            quote_ident(&self.database),
            quote_ident(&self.schema)
        )
    }

    /// `CREATE DATABASE IF NOT EXISTS "db"`.
    pub fn create_database(&self) -> String {
        format!(
            "CREATE DATABASE IF NOT EXISTS {}",
            quote_ident(&self.database)
        )
    }

    /// `CREATE SCHEMA IF NOT EXISTS "db"."schema"`.
    pub fn create_schema(&self) -> String {
        format!("CREATE SCHEMA IF NOT EXISTS {}", self.qualified_schema())
    }

    /// The destination table for `table`, with its columns and `_CHANGED_AT`.
    pub fn create_table(&self, table: Table) -> String {
        let def = table.def();
        let mut cols: Vec<String> = def
            .columns
            .iter()
            .map(|c| {
                column_ddl(
                    &c.name,
                    c.ty.snowflake_name(),
                    !c.nullable || is_key(def, &c.name),
                )
            })
            .collect();
        cols.push(column_ddl("_CHANGED_AT", "TIMESTAMP_TZ", false));
        format!(
            "CREATE TABLE IF NOT EXISTS {} ({})",
            self.qualify(&def.name),
            cols.join(", ")
        )
    }

    /// `_JAS_JOURNAL_<TABLE>`: VARIANT columns as VARCHAR (JSON text), plus `_CHANGED_AT`,
    /// `_OP` and `_SEQ`; keys, `_OP` and `_SEQ` NOT NULL.
    pub fn create_journal_table(&self, table: Table) -> String {
        let def = table.def();
        let mut cols: Vec<String> = def
            .columns
            .iter()
            .map(|c| {
                let ty = match c.ty {
                    ColumnType::Variant => "VARCHAR",
                    other => other.snowflake_name(),
                };
                column_ddl(&c.name, ty, is_key(def, &c.name))
            })
            .collect();
        cols.push(column_ddl("_CHANGED_AT", "TIMESTAMP_TZ", false));
        cols.push(column_ddl("_OP", "VARCHAR", true));
        cols.push(column_ddl("_SEQ", "NUMBER", true));
        format!(
            "CREATE TABLE IF NOT EXISTS {} ({})",
            self.qualify(&journal_table_name(table)),
            cols.join(", ")
        )
    }

    /// The internal stage, server-side encrypted so the client uploads plain files.
    pub fn create_stage(&self) -> String {
        format!(
            "CREATE STAGE IF NOT EXISTS {} ENCRYPTION = (TYPE = 'SNOWFLAKE_SSE')",
            self.qualify(STAGE)
        )
    }

    /// `_JAS_STATE`: one row per table (`NAME`) with its merged `_SEQ` and failed flag, and the
    /// owner row (`NAME = '_DESTINATION'`) with the Jira site URL and installation id.
    pub fn create_state_table(&self) -> String {
        let cols = [
            column_ddl("NAME", "VARCHAR", true),
            column_ddl("MERGED_SEQ", "NUMBER", false),
            column_ddl("FAILED", "BOOLEAN", false),
            column_ddl("SITE_URL", "VARCHAR", false),
            column_ddl("INSTALLATION_ID", "VARCHAR", false),
            column_ddl("SCHEMA_VERSION", "NUMBER", false),
            column_ddl("UPDATED_AT", "TIMESTAMP_TZ", false),
        ];
        format!(
            "CREATE TABLE IF NOT EXISTS {} ({})",
            self.qualify(STATE_TABLE),
            cols.join(", ")
        )
    }

    /// `ALTER TABLE ... ADD COLUMN` for a column a newer schema version brought.
    pub fn add_column(&self, table_name: &str, column: &str, ty: &str) -> String {
        format!(
            "ALTER TABLE {} ADD COLUMN {} {ty}",
            self.qualify(table_name),
            quote_ident(column)
        )
    }

    /// The stage folder of one journal file: `@"db"."s"."_JAS_STAGE"/<TABLE>/<FIRST_SEQ>/`.
    pub fn stage_path(&self, table: Table, first_seq: u64) -> String {
        // Table names are our upper-case constants and seq a number: nothing to escape.
        format!("@{}/{}/{}/", self.qualify(STAGE), table.name(), first_seq)
    }

    /// COPY one journal file's folder into the journal table; the path ends with `/` so the
    /// folder of one file never picks up another's.
    pub fn copy_into_journal(&self, table: Table, first_seq: u64) -> String {
        format!(
            "COPY INTO {} FROM {} FILE_FORMAT = (TYPE = PARQUET USE_LOGICAL_TYPE = TRUE) \
             MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE PURGE = TRUE",
            self.qualify(&journal_table_name(table)),
            self.stage_path(table, first_seq)
        )
    }

    /// MERGE the newest journal row per key with `_SEQ` above `merged_seq` into the table:
    /// `_OP = 'D'` deletes, anything else updates or inserts.
    pub fn merge(&self, table: Table, merged_seq: i64) -> String {
        let def = table.def();
        let target = quote_ident("T");
        let source = quote_ident("S");

        // The USING subquery turns VARIANT columns from JSON text into VARIANT.
        let mut select: Vec<String> = def
            .columns
            .iter()
            .map(|c| {
                let q = quote_ident(&c.name);
                match c.ty {
                    ColumnType::Variant => format!("PARSE_JSON({q}) AS {q}"),
                    _ => q,
                }
            })
            .collect();
        select.extend(["_CHANGED_AT", "_OP"].map(quote_ident));
        let keys: Vec<String> = def.key.iter().map(|k| quote_ident(k)).collect();
        let using = format!(
            "SELECT {} FROM {} WHERE {} > {merged_seq} \
             QUALIFY ROW_NUMBER() OVER (PARTITION BY {} ORDER BY {} DESC) = 1",
            select.join(", "),
            self.qualify(&journal_table_name(table)),
            quote_ident("_SEQ"),
            keys.join(", "),
            quote_ident("_SEQ"),
        );

        let on: Vec<String> = keys
            .iter()
            .map(|k| format!("{target}.{k} = {source}.{k}"))
            .collect();
        let mut all: Vec<String> = def.columns.iter().map(|c| quote_ident(&c.name)).collect();
        all.push(quote_ident("_CHANGED_AT"));
        let set: Vec<String> = all
            .iter()
            .filter(|c| !keys.contains(c))
            .map(|c| format!("{target}.{c} = {source}.{c}"))
            .collect();
        let values: Vec<String> = all.iter().map(|c| format!("{source}.{c}")).collect();
        let op = quote_ident("_OP");

        format!(
            "MERGE INTO {} AS {target} USING ({using}) AS {source} ON {} \
             WHEN MATCHED AND {source}.{op} = 'D' THEN DELETE \
             WHEN MATCHED THEN UPDATE SET {} \
             WHEN NOT MATCHED AND {source}.{op} <> 'D' THEN INSERT ({}) VALUES ({})",
            self.qualify(&def.name),
            on.join(" AND "),
            set.join(", "),
            all.join(", "),
            values.join(", "),
        )
    }
}

impl Target {
    /// Read `_JAS_STATE`: name, merged `_SEQ`, failed flag, site URL, installation id.
    pub fn select_state(&self) -> String {
        format!(
            "SELECT \"NAME\", \"MERGED_SEQ\", \"FAILED\", \"SITE_URL\", \"INSTALLATION_ID\", \"SCHEMA_VERSION\" FROM {}",
            self.qualify(STATE_TABLE)
        )
    }

    /// Delete `table`'s row of `_JAS_STATE`.
    pub fn delete_state_row(&self, table: Table) -> String {
        format!(
            "DELETE FROM {} WHERE \"NAME\" = '{}'",
            self.qualify(STATE_TABLE),
            table.name()
        )
    }

    /// Record `table`'s merged `_SEQ` (after [`Target::delete_state_row`]).
    pub fn insert_merged_seq(&self, table: Table, seq: i64) -> String {
        format!(
            "INSERT INTO {} (\"NAME\", \"MERGED_SEQ\", \"FAILED\", \"SCHEMA_VERSION\", \"UPDATED_AT\") \
             VALUES ('{}', {seq}, FALSE, {}, CURRENT_TIMESTAMP())",
            self.qualify(STATE_TABLE),
            table.name(),
            crate::schema::schema_version()
        )
    }

    /// Delete journal rows at or below the merged `_SEQ`.
    pub fn delete_merged_journal_rows(&self, table: Table, merged_seq: i64) -> String {
        format!(
            "DELETE FROM {} WHERE {} <= {merged_seq}",
            self.qualify(&journal_table_name(table)),
            quote_ident("_SEQ")
        )
    }
}

/// `_JAS_JOURNAL_<TABLE>`.
pub fn journal_table_name(table: Table) -> String {
    format!("{JOURNAL_PREFIX}{}", table.name())
}

fn is_key(def: &TableDef, name: &str) -> bool {
    def.key.iter().any(|k| k == name)
}

fn column_ddl(name: &str, ty: &str, not_null: bool) -> String {
    let null = if not_null { " NOT NULL" } else { "" };
    format!("{} {ty}{null}", quote_ident(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYWORDS: &[&str] = &[
        "CREATE",
        "TABLE",
        "IF",
        "NOT",
        "EXISTS",
        "NULL",
        "NUMBER",
        "VARCHAR",
        "BOOLEAN",
        "FLOAT",
        "TIMESTAMP_TZ",
        "VARIANT",
        "STAGE",
        "ENCRYPTION",
        "TYPE",
        "DATABASE",
        "SCHEMA",
        "COPY",
        "INTO",
        "FROM",
        "FILE_FORMAT",
        "PARQUET",
        "USE_LOGICAL_TYPE",
        "TRUE",
        "MATCH_BY_COLUMN_NAME",
        "CASE_INSENSITIVE",
        "PURGE",
        "MERGE",
        "AS",
        "USING",
        "SELECT",
        "PARSE_JSON",
        "WHERE",
        "QUALIFY",
        "ROW_NUMBER",
        "OVER",
        "PARTITION",
        "BY",
        "ORDER",
        "DESC",
        "ON",
        "AND",
        "WHEN",
        "MATCHED",
        "THEN",
        "DELETE",
        "UPDATE",
        "SET",
        "INSERT",
        "VALUES",
        "FALSE",
        "CURRENT_TIMESTAMP",
    ];

    /// The words of `sql` outside quoted identifiers, string literals and stage folder paths.
    fn bare_words(sql: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut chars = sql.chars().peekable();
        let mut word = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' | '\'' => {
                    // Skip to the closing quote; a doubled quote is an escaped one.
                    loop {
                        match chars.next() {
                            Some(q) if q == c && chars.peek() == Some(&c) => {
                                chars.next();
                            }
                            Some(q) if q == c => break,
                            Some(_) => {}
                            None => panic!("unterminated quote in {sql}"),
                        }
                    }
                }
                '/' => {
                    // A stage folder path: skip to the next space.
                    while chars.peek().is_some_and(|c| !c.is_whitespace()) {
                        chars.next();
                    }
                }
                c if c.is_alphanumeric() || c == '_' => {
                    word.push(c);
                    continue;
                }
                _ => {}
            }
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
        words
    }

    fn all_statements(t: &Target) -> Vec<String> {
        let mut v = vec![
            t.create_database(),
            t.create_schema(),
            t.create_stage(),
            t.create_state_table(),
        ];
        for table in Table::ALL {
            v.push(t.create_table(table));
            v.push(t.create_journal_table(table));
            v.push(t.copy_into_journal(table, 42));
            v.push(t.merge(table, 7));
            v.push(t.delete_state_row(table));
            v.push(t.insert_merged_seq(table, 9));
            v.push(t.delete_merged_journal_rows(table, 9));
        }
        v.push(t.select_state());
        v
    }

    fn odd_target() -> Target {
        Target::new("my_db", "jira \"sync\"")
    }

    #[test]
    fn quote_ident_doubles_quotes() {
        assert_eq!(quote_ident("jira \"sync\""), "\"jira \"\"sync\"\"\"");
        assert_eq!(quote_ident("lower"), "\"lower\"");
    }

    #[test]
    fn every_identifier_is_quoted() {
        for sql in all_statements(&odd_target()) {
            for w in bare_words(&sql) {
                let is_number = w.chars().all(|c| c.is_ascii_digit());
                assert!(
                    is_number || KEYWORDS.contains(&w.as_str()),
                    "bare word {w:?} in {sql}"
                );
            }
        }
    }

    #[test]
    fn every_object_is_qualified_with_database_and_schema() {
        let t = odd_target();
        let prefix = "\"my_db\".\"jira \"\"sync\"\"\".";
        for sql in all_statements(&t) {
            for name in Table::ALL
                .iter()
                .flat_map(|t| [t.name().to_string(), journal_table_name(*t)])
                .chain([STAGE.to_string(), STATE_TABLE.to_string()])
            {
                let quoted = quote_ident(&name);
                for (at, _) in sql.match_indices(&quoted) {
                    // A column may share a name with nothing here, but check objects only:
                    // an occurrence followed by `.` would be a column qualifier.
                    let before = &sql[..at];
                    assert!(before.ends_with(prefix), "{name} unqualified in {sql}");
                }
            }
        }
        assert_eq!(
            t.create_schema(),
            format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                &prefix[..prefix.len() - 1]
            )
        );
    }

    #[test]
    fn copy_paths_end_with_slash() {
        let t = odd_target();
        for table in Table::ALL {
            let sql = t.copy_into_journal(table, 123);
            let from = sql.split(" FROM ").nth(1).unwrap();
            let path = from.split(" FILE_FORMAT").next().unwrap();
            assert!(path.ends_with(&format!("/{}/123/", table.name())), "{sql}");
            assert!(path.starts_with("@\"my_db\".\"jira \"\"sync\"\"\".\"_JAS_STAGE\"/"));
            assert!(sql.contains(
                "FILE_FORMAT = (TYPE = PARQUET USE_LOGICAL_TYPE = TRUE) \
                 MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE PURGE = TRUE"
            ));
        }
    }

    #[test]
    fn journal_ddl_stores_variant_as_varchar_with_op_and_seq() {
        let sql = odd_target().create_journal_table(Table::Board);
        assert!(sql.contains("\"RAW\" VARCHAR,"), "{sql}");
        assert!(sql.contains("\"ID\" NUMBER NOT NULL"));
        assert!(sql.contains("\"_CHANGED_AT\" TIMESTAMP_TZ,"));
        assert!(sql.ends_with("\"_OP\" VARCHAR NOT NULL, \"_SEQ\" NUMBER NOT NULL)"));
        assert!(!sql.contains("VARIANT"));
        let table = odd_target().create_table(Table::Board);
        assert!(table.contains("\"RAW\" VARIANT"));
        let stage = odd_target().create_stage();
        assert!(stage.ends_with("ENCRYPTION = (TYPE = 'SNOWFLAKE_SSE')"));
    }

    #[test]
    fn merge_takes_newest_row_per_key_and_uses_plain_references() {
        let sql = odd_target().merge(Table::BoardIssue, 7);
        assert!(sql.contains("WHERE \"_SEQ\" > 7 QUALIFY ROW_NUMBER() OVER (PARTITION BY \"BOARD_ID\", \"ISSUE_ID\" ORDER BY \"_SEQ\" DESC) = 1"), "{sql}");
        assert!(sql.contains("PARSE_JSON(\"CLOSED_SPRINT_IDS\") AS \"CLOSED_SPRINT_IDS\""));
        assert!(sql.contains("ON \"T\".\"BOARD_ID\" = \"S\".\"BOARD_ID\" AND \"T\".\"ISSUE_ID\" = \"S\".\"ISSUE_ID\""));
        assert!(sql.contains("WHEN MATCHED AND \"S\".\"_OP\" = 'D' THEN DELETE"));
        assert!(sql.contains("WHEN NOT MATCHED AND \"S\".\"_OP\" <> 'D' THEN INSERT"));
        let set = sql
            .split(" UPDATE SET ")
            .nth(1)
            .unwrap()
            .split(" WHEN ")
            .next()
            .unwrap();
        assert!(
            !set.contains('('),
            "SET holds only column references: {set}"
        );
        assert!(!set.contains("\"T\".\"BOARD_ID\""), "keys are not updated");
        let values = sql.split(" VALUES (").nth(1).unwrap();
        assert!(!values.contains("PARSE_JSON"));
    }
}
