//! Table definitions, read once from the files in `schemas/` (compiled in).
//!
//! `schemas/` is the single source of the five tables' names, keys, column types and
//! nullability. The Arrow schemas (`materialize`), the Snowflake DDL (`destination`) and the
//! README's table reference derive from what this module parses; a test checks that they agree.

use std::sync::OnceLock;

use arrow_schema::{DataType, Field, Schema, TimeUnit};
use serde::Deserialize;

/// Schema version of all tables (`schemas/VERSION`). Part of every row hash and page-cache key,
/// so a bump re-reads and re-sends every row.
pub fn schema_version() -> u32 {
    static V: OnceLock<u32> = OnceLock::new();
    *V.get_or_init(|| {
        include_str!("../schemas/VERSION")
            .trim()
            .parse()
            .expect("schemas/VERSION holds an integer (checked by a unit test)")
    })
}

/// One of the five destination tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// BOARD, key ID.
    Board,
    /// BOARD_PROJECT, key BOARD_ID, PROJECT_ID.
    BoardProject,
    /// SPRINT, key ID.
    Sprint,
    /// BOARD_SPRINT, key BOARD_ID, SPRINT_ID.
    BoardSprint,
    /// BOARD_ISSUE, key BOARD_ID, ISSUE_ID.
    BoardIssue,
}

impl Table {
    /// All tables, in the order they are written and loaded.
    pub const ALL: [Table; 5] = [
        Table::Board,
        Table::BoardProject,
        Table::Sprint,
        Table::BoardSprint,
        Table::BoardIssue,
    ];

    /// The upper-case table name (`BOARD_ISSUE`).
    pub fn name(self) -> &'static str {
        match self {
            Table::Board => "BOARD",
            Table::BoardProject => "BOARD_PROJECT",
            Table::Sprint => "SPRINT",
            Table::BoardSprint => "BOARD_SPRINT",
            Table::BoardIssue => "BOARD_ISSUE",
        }
    }

    /// Parse an upper- or lower-case table name.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// A small stable number used in store keys.
    pub fn tag(self) -> u8 {
        match self {
            Table::Board => 1,
            Table::BoardProject => 2,
            Table::Sprint => 3,
            Table::BoardSprint => 4,
            Table::BoardIssue => 5,
        }
    }

    /// True when the table's first key column is BOARD_ID (rows belong to one board).
    pub fn is_board_child(self) -> bool {
        matches!(
            self,
            Table::BoardProject | Table::BoardSprint | Table::BoardIssue
        )
    }

    /// The parsed definition.
    pub fn def(self) -> &'static TableDef {
        let defs = defs();
        &defs[Table::ALL
            .iter()
            .position(|t| *t == self)
            .expect("every table is in ALL")]
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Column types, named as Snowflake names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ColumnType {
    /// NUMBER, an int64 in Parquet.
    #[serde(rename = "NUMBER")]
    Number,
    /// VARCHAR, utf8.
    #[serde(rename = "VARCHAR")]
    Varchar,
    /// BOOLEAN.
    #[serde(rename = "BOOLEAN")]
    Boolean,
    /// FLOAT, float64.
    #[serde(rename = "FLOAT")]
    Float,
    /// TIMESTAMP_TZ, timestamp in microseconds, UTC.
    #[serde(rename = "TIMESTAMP_TZ")]
    TimestampTz,
    /// VARIANT, JSON text in Parquet.
    #[serde(rename = "VARIANT")]
    Variant,
}

impl ColumnType {
    /// The Snowflake type name.
    pub fn snowflake_name(self) -> &'static str {
        match self {
            ColumnType::Number => "NUMBER",
            ColumnType::Varchar => "VARCHAR",
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::Float => "FLOAT",
            ColumnType::TimestampTz => "TIMESTAMP_TZ",
            ColumnType::Variant => "VARIANT",
        }
    }

    /// The Arrow type of the Parquet column.
    pub fn arrow_type(self) -> DataType {
        match self {
            ColumnType::Number => DataType::Int64,
            ColumnType::Varchar | ColumnType::Variant => DataType::Utf8,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Float => DataType::Float64,
            ColumnType::TimestampTz => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
            }
        }
    }
}

/// One column of a table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDef {
    /// Upper-case column name.
    pub name: String,
    /// Column type.
    #[serde(rename = "type")]
    pub ty: ColumnType,
    /// Whether NULL is allowed (key columns never are).
    #[serde(default = "default_true")]
    pub nullable: bool,
}

fn default_true() -> bool {
    true
}

/// One table's definition from `schemas/<TABLE>.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableDef {
    /// Table name.
    pub name: String,
    /// Key column names, in key order; always the leading columns.
    pub key: Vec<String>,
    /// Data columns in order (without `_CHANGED_AT`).
    pub columns: Vec<ColumnDef>,
}

impl TableDef {
    /// Number of key columns.
    pub fn key_len(&self) -> usize {
        self.key.len()
    }

    /// Index of a column by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Arrow schema of the current-table Parquet file: the columns plus `_CHANGED_AT`.
    pub fn arrow_schema(&self) -> Schema {
        let mut fields = self.data_fields();
        fields.push(changed_at_field());
        Schema::new(fields)
    }

    /// Arrow schema of a journal file: the columns, `_CHANGED_AT`, `_OP` and `_SEQ`.
    pub fn journal_arrow_schema(&self) -> Schema {
        let mut fields = self.data_fields();
        fields.push(changed_at_field());
        fields.push(Field::new("_OP", DataType::Utf8, false));
        fields.push(Field::new("_SEQ", DataType::Int64, false));
        Schema::new(fields)
    }

    fn data_fields(&self) -> Vec<Field> {
        self.columns
            .iter()
            .map(|c| Field::new(&c.name, c.ty.arrow_type(), c.nullable))
            .collect()
    }
}

fn changed_at_field() -> Field {
    Field::new("_CHANGED_AT", ColumnType::TimestampTz.arrow_type(), false)
}

const SOURCES: [&str; 5] = [
    include_str!("../schemas/BOARD.toml"),
    include_str!("../schemas/BOARD_PROJECT.toml"),
    include_str!("../schemas/SPRINT.toml"),
    include_str!("../schemas/BOARD_SPRINT.toml"),
    include_str!("../schemas/BOARD_ISSUE.toml"),
];

fn defs() -> &'static [TableDef] {
    static DEFS: OnceLock<Vec<TableDef>> = OnceLock::new();
    DEFS.get_or_init(|| {
        SOURCES
            .iter()
            .map(|src| toml::from_str(src).expect("schemas/*.toml parse (checked by a unit test)"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_files_match_table_enum() {
        assert!(schema_version() >= 1);
        for t in Table::ALL {
            let d = t.def();
            assert_eq!(d.name, t.name());
            for (i, k) in d.key.iter().enumerate() {
                assert_eq!(&d.columns[i].name, k, "{t}: keys lead the columns");
                assert!(!d.columns[i].nullable, "{t}: key {k} is not nullable");
                assert_eq!(d.columns[i].ty, ColumnType::Number, "{t}: keys are numbers");
            }
            if t.is_board_child() {
                assert_eq!(d.key[0], "BOARD_ID");
            }
        }
    }

    #[test]
    fn readme_table_reference_agrees_with_schemas() {
        let readme = include_str!("../README.md");
        for t in Table::ALL {
            let def = t.def();
            let prefix = format!("| {} | ", t.name());
            let line = readme
                .lines()
                .find(|l| l.starts_with(&prefix))
                .unwrap_or_else(|| panic!("README has no table reference row for {t}"));
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 3, "{line}");
            let key: Vec<&str> = cells[1].split(',').map(str::trim).collect();
            assert_eq!(key, def.key, "{t}: key in README");
            let columns: Vec<String> = cells[2]
                .split(',')
                .map(|c| c.split('(').next().unwrap_or_default().trim().to_string())
                .collect();
            let want: Vec<String> = def.columns.iter().map(|c| c.name.clone()).collect();
            assert_eq!(columns, want, "{t}: columns in README");
            for c in &def.columns {
                let marked = cells[2].contains(&format!("{} (VARIANT)", c.name));
                assert_eq!(
                    marked,
                    c.ty == ColumnType::Variant,
                    "{t}.{}: VARIANT marking",
                    c.name
                );
            }
        }
    }

    #[test]
    fn arrow_schema_has_declared_types() {
        let s = Table::Sprint.def().arrow_schema();
        assert_eq!(
            s.field_with_name("START_DATE")
                .map(|f| f.data_type().clone())
                .ok(),
            Some(DataType::Timestamp(
                TimeUnit::Microsecond,
                Some("UTC".into())
            ))
        );
        assert_eq!(
            s.fields().last().map(|f| f.name().as_str()),
            Some("_CHANGED_AT")
        );
        let j = Table::BoardIssue.def().journal_arrow_schema();
        assert_eq!(
            j.field_with_name("_SEQ").map(|f| f.is_nullable()).ok(),
            Some(false)
        );
    }
}
