//! The load protocol of DESIGN.md section 7: objects, ownership, and per table PUT → COPY INTO
//! the journal table → MERGE → snapshot deletes → record the merged `_SEQ` → clean up.
//!
//! Every step is an autocommit statement that is safe to repeat: MERGE and the snapshot delete
//! read only journal rows above the merged `_SEQ`, COPY's load history makes a repeated COPY of
//! the same file a no-op, and the merged `_SEQ` is recorded before journal rows are deleted and
//! before a file leaves the outbox. A crash between any two steps is repaired by loading again.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::sql::{journal_table_name, quote_ident, Target, STATE_TABLE};
use super::{Error as ClientError, SnowflakeClient};
use crate::schema::{schema_version, Table};

/// Errors of a load.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A statement or upload failed.
    #[error("snowflake {step} failed for {table}")]
    Step {
        /// The step (`put`, `copy`, `merge`, ...).
        step: &'static str,
        /// The table or object.
        table: String,
        /// Cause.
        #[source]
        source: ClientError,
    },
    /// Same-named tables exist without `_JAS_STATE`: they belong to something else.
    #[error(
        "schema {schema} already holds {tables} but no _JAS_STATE table: those tables belong to \
         something else (the reference connector uses the same names); point snowflake.schema at \
         a schema of its own"
    )]
    ForeignTables {
        /// The schema.
        schema: String,
        /// The tables found.
        tables: String,
    },
    /// `_JAS_STATE` names another installation or site.
    #[error(
        "schema {schema} is loaded by another installation or site (it names site {their_site}, \
         installation {their_installation}; this is site {our_site}, installation \
         {our_installation}); use another schema, or pass --adopt-destination to take it over"
    )]
    OtherOwner {
        /// The schema.
        schema: String,
        /// Site recorded in the destination.
        their_site: String,
        /// Installation recorded in the destination.
        their_installation: String,
        /// Our site.
        our_site: String,
        /// Our installation.
        our_installation: String,
    },
}

impl Error {
    /// The client error behind a failed step, if any.
    pub fn client_error(&self) -> Option<&ClientError> {
        match self {
            Error::Step { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Result alias for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One journal file waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFile {
    /// Its table.
    pub table: Table,
    /// First `_SEQ` (the file's name and stage folder).
    pub first_seq: i64,
    /// Last `_SEQ`.
    pub last_seq: i64,
    /// Absolute local path.
    pub path: PathBuf,
    /// Whether it holds every row of the table.
    pub snapshot: bool,
}

/// Who loads this destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Jira site URL.
    pub site_url: String,
    /// Installation id (from the local state).
    pub installation_id: String,
}

/// The destination's state as read from `_JAS_STATE`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationState {
    /// Merged `_SEQ` per table; absent for a table never loaded.
    pub merged: BTreeMap<Table, i64>,
    /// Tables marked failed.
    pub failed: BTreeSet<Table>,
    /// Tables whose destination was behind the schema version (columns were added): every row
    /// must be re-sent so the new columns fill.
    pub outdated: BTreeSet<Table>,
}

/// What happened to one table in a load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableLoad {
    /// Every file was merged; the files can leave the outbox.
    Delivered {
        /// `first_seq` of the files that left the outbox.
        files: Vec<i64>,
        /// The merged `_SEQ` now recorded.
        merged_seq: i64,
    },
    /// The table was never loaded and the outbox holds no snapshot yet: the next run must
    /// journal one.
    NeedsSnapshot {
        /// Files superseded by the coming snapshot (they can leave the outbox).
        superseded: Vec<i64>,
    },
}

/// Loads journal files into one Snowflake schema.
pub struct Loader<'a> {
    client: &'a SnowflakeClient,
    target: Target,
}

fn escape_literal(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "''")
}

impl<'a> Loader<'a> {
    /// A loader for `database`.`schema`.
    pub fn new(client: &'a SnowflakeClient, database: &str, schema: &str) -> Loader<'a> {
        Loader {
            client,
            target: Target::new(database, schema),
        }
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    async fn run(&self, step: &'static str, table: &str, sql: &str) -> Result<super::QueryResult> {
        self.client.query(sql).await.map_err(|source| Error::Step {
            step,
            table: table.to_string(),
            source,
        })
    }

    /// Tables that exist in the schema (upper-cased for comparison).
    async fn existing_tables(&self) -> Result<BTreeSet<String>> {
        let sql = format!(
            "SELECT TABLE_NAME FROM {}.INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = '{}'",
            quote_ident(&self.target.database),
            escape_literal(&self.target.schema)
        );
        let r = self
            .run("list tables", "INFORMATION_SCHEMA.TABLES", &sql)
            .await?;
        Ok(r.rows
            .iter()
            .filter_map(|row| row.first().cloned().flatten())
            .map(|n| n.to_ascii_uppercase())
            .collect())
    }

    /// Check ownership, create the objects, and read the destination state.
    pub async fn prepare(&self, me: &Identity, adopt: bool) -> Result<DestinationState> {
        // Refuse same-named tables that are not ours.
        let existing = self.existing_tables().await?;
        if !existing.contains(STATE_TABLE) {
            let foreign: Vec<&str> = Table::ALL
                .iter()
                .map(|t| t.name())
                .filter(|n| existing.contains(*n))
                .collect();
            if !foreign.is_empty() {
                return Err(Error::ForeignTables {
                    schema: self.target.qualified_schema(),
                    tables: foreign.join(", "),
                });
            }
        }

        // Objects, each `IF NOT EXISTS`.
        self.run("create", STATE_TABLE, &self.target.create_state_table())
            .await?;
        for t in Table::ALL {
            self.run("create", t.name(), &self.target.create_table(t))
                .await?;
            self.run(
                "create",
                &journal_table_name(t),
                &self.target.create_journal_table(t),
            )
            .await?;
        }
        self.run("create", super::sql::STAGE, &self.target.create_stage())
            .await?;
        let added = self.add_missing_columns().await?;

        // Who loads this schema.
        let state = self
            .run("read state", STATE_TABLE, &self.target.select_state())
            .await?;
        let mut out = DestinationState::default();
        let mut owner: Option<(String, String)> = None;
        for row in &state.rows {
            let cell = |i: usize| row.get(i).cloned().flatten();
            let Some(name) = cell(0) else { continue };
            if name == OWNER_ROW {
                owner = Some((cell(3).unwrap_or_default(), cell(4).unwrap_or_default()));
            } else if let Some(t) = Table::from_name(&name) {
                if let Some(seq) = cell(1).and_then(|s| parse_number(&s)) {
                    out.merged.insert(t, seq);
                }
                if cell(2).is_some_and(|f| f.eq_ignore_ascii_case("true") || f == "1") {
                    out.failed.insert(t);
                }
                let version = cell(5).and_then(|v| parse_number(&v)).unwrap_or(0);
                if version < i64::from(schema_version()) {
                    out.outdated.insert(t);
                }
            }
        }
        out.outdated.extend(added);
        match owner {
            Some((site, inst)) if site == me.site_url && inst == me.installation_id => {}
            Some((site, inst)) if !adopt => {
                return Err(Error::OtherOwner {
                    schema: self.target.qualified_schema(),
                    their_site: site,
                    their_installation: inst,
                    our_site: me.site_url.clone(),
                    our_installation: me.installation_id.clone(),
                })
            }
            previous => {
                if previous.is_some() {
                    tracing::warn!(
                        "taking over a destination that named another installation or site"
                    );
                    // An adopted destination is reloaded from a snapshot: forget merged seqs.
                    self.run(
                        "adopt",
                        STATE_TABLE,
                        &format!("DELETE FROM {}", self.target.qualify(STATE_TABLE)),
                    )
                    .await?;
                    // Journal rows the previous owner left (a load it never finished) would
                    // otherwise be merged with ours, since nothing counts as merged any more.
                    for t in Table::ALL {
                        let journal = journal_table_name(t);
                        self.run(
                            "adopt",
                            &journal,
                            &format!("DELETE FROM {}", self.target.qualify(&journal)),
                        )
                        .await?;
                    }
                    out.merged.clear();
                    out.failed.clear();
                }
                self.write_owner(me).await?;
            }
        }
        Ok(out)
    }

    /// Add the columns a newer schema version brought to the destination and journal tables.
    async fn add_missing_columns(&self) -> Result<BTreeSet<Table>> {
        let sql = format!(
            "SELECT TABLE_NAME, COLUMN_NAME FROM {}.INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = '{}'",
            quote_ident(&self.target.database),
            escape_literal(&self.target.schema)
        );
        let r = self
            .run("list columns", "INFORMATION_SCHEMA.COLUMNS", &sql)
            .await?;
        let have: BTreeSet<(String, String)> = r
            .rows
            .iter()
            .filter_map(|row| {
                match (
                    row.first().cloned().flatten(),
                    row.get(1).cloned().flatten(),
                ) {
                    (Some(t), Some(c)) => Some((t.to_ascii_uppercase(), c.to_ascii_uppercase())),
                    _ => None,
                }
            })
            .collect();
        let mut added = BTreeSet::new();
        for t in Table::ALL {
            let journal = journal_table_name(t);
            for c in &t.def().columns {
                for (name, ty) in [
                    (t.name().to_string(), c.ty.snowflake_name()),
                    (
                        journal.clone(),
                        match c.ty {
                            crate::schema::ColumnType::Variant => "VARCHAR",
                            other => other.snowflake_name(),
                        },
                    ),
                ] {
                    if !have.contains(&(name.to_ascii_uppercase(), c.name.to_ascii_uppercase())) {
                        tracing::info!(table = %name, column = %c.name, "adding a column of a newer schema version");
                        self.run(
                            "add column",
                            &name,
                            &self.target.add_column(&name, &c.name, ty),
                        )
                        .await?;
                        added.insert(t);
                    }
                }
            }
        }
        Ok(added)
    }

    async fn write_owner(&self, me: &Identity) -> Result<()> {
        let state = self.target.qualify(STATE_TABLE);
        self.run(
            "record owner",
            STATE_TABLE,
            &format!("DELETE FROM {state} WHERE \"NAME\" = '{OWNER_ROW}'"),
        )
        .await?;
        self.run(
            "record owner",
            STATE_TABLE,
            &format!(
                "INSERT INTO {state} (\"NAME\", \"SITE_URL\", \"INSTALLATION_ID\", \"UPDATED_AT\") \
                 VALUES ('{OWNER_ROW}', '{}', '{}', CURRENT_TIMESTAMP())",
                escape_literal(&me.site_url),
                escape_literal(&me.installation_id)
            ),
        )
        .await?;
        Ok(())
    }

    /// Load one table's outbox files (sorted by `_SEQ`), stopping at the first failure.
    pub async fn load_table(
        &self,
        table: Table,
        files: &[LoadFile],
        merged: Option<i64>,
    ) -> Result<TableLoad> {
        let mut files: Vec<&LoadFile> = files.iter().filter(|f| f.table == table).collect();
        files.sort_by_key(|f| f.first_seq);

        // The first load into a destination must be a snapshot: files before the first
        // snapshot are superseded by it.
        let mut superseded = Vec::new();
        if merged.is_none() {
            match files.iter().position(|f| f.snapshot) {
                Some(i) => {
                    superseded.extend(files[..i].iter().map(|f| f.first_seq));
                    files.drain(..i);
                }
                None => {
                    return Ok(TableLoad::NeedsSnapshot {
                        superseded: files.iter().map(|f| f.first_seq).collect(),
                    })
                }
            }
        }
        let merged_seq = merged.unwrap_or(0);
        let name = table.name();

        // 1. PUT and COPY each file not merged yet, strictly in order.
        let mut snapshot_first: Option<i64> = None;
        for f in &files {
            if f.last_seq <= merged_seq {
                continue; // merged before a crash; only the cleanup is left
            }
            if f.snapshot {
                snapshot_first = Some(f.first_seq);
            }
            let stage = self.target.stage_path(table, f.first_seq.max(0) as u64);
            crate::failpoint::failpoint("before_put");
            self.client
                .put_file(&f.path, &stage)
                .await
                .map_err(|source| Error::Step {
                    step: "put",
                    table: name.to_string(),
                    source,
                })?;
            crate::failpoint::failpoint("after_put");
            self.run(
                "copy",
                name,
                &self
                    .target
                    .copy_into_journal(table, f.first_seq.max(0) as u64),
            )
            .await?;
            crate::failpoint::failpoint("after_copy");
        }
        let new_merged = files
            .iter()
            .map(|f| f.last_seq)
            .max()
            .unwrap_or(merged_seq)
            .max(merged_seq);

        if new_merged > merged_seq {
            // 2. MERGE the newest journal row per key above the merged `_SEQ`.
            crate::failpoint::failpoint("before_merge");
            self.run("merge", name, &self.target.merge(table, merged_seq))
                .await?;
            crate::failpoint::failpoint("after_merge");

            // 3. A snapshot: destination rows whose key the snapshot (and what followed it)
            //    does not hold are gone from Jira.
            if let Some(first) = snapshot_first {
                self.run("snapshot delete", name, &self.snapshot_delete(table, first))
                    .await?;
                crate::failpoint::failpoint("after_snapshot_delete");
            }

            // 4. Record the merged `_SEQ`, then clean up the journal table.
            crate::failpoint::failpoint("before_record_state");
            self.record_merged(table, new_merged).await?;
            crate::failpoint::failpoint("after_record");
        }
        self.run(
            "journal cleanup",
            name,
            &self.target.delete_merged_journal_rows(table, new_merged),
        )
        .await?;

        let mut delivered = superseded;
        delivered.extend(files.iter().map(|f| f.first_seq));
        Ok(TableLoad::Delivered {
            files: delivered,
            merged_seq: new_merged,
        })
    }

    /// Step 3's statement: delete destination rows whose key has no journal row at or after the
    /// snapshot's first `_SEQ`.
    pub fn snapshot_delete(&self, table: Table, snapshot_first_seq: i64) -> String {
        let def = table.def();
        let on: Vec<String> = def
            .key
            .iter()
            .map(|k| {
                let q = quote_ident(k);
                format!("\"J\".{q} = \"T\".{q}")
            })
            .collect();
        format!(
            "DELETE FROM {} AS \"T\" WHERE NOT EXISTS (SELECT 1 FROM {} AS \"J\" WHERE \"J\".\"_SEQ\" >= {snapshot_first_seq} AND {})",
            self.target.qualify(&def.name),
            self.target.qualify(&journal_table_name(table)),
            on.join(" AND ")
        )
    }

    async fn record_merged(&self, table: Table, seq: i64) -> Result<()> {
        let name = table.name();
        self.run("record state", name, &self.target.delete_state_row(table))
            .await?;
        self.run(
            "record state",
            name,
            &self.target.insert_merged_seq(table, seq),
        )
        .await?;
        Ok(())
    }
}

const OWNER_ROW: &str = "_DESTINATION";

fn parse_number(s: &str) -> Option<i64> {
    s.trim()
        .parse::<i64>()
        .ok()
        .or_else(|| s.trim().parse::<f64>().ok().map(|f| f as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_delete_is_qualified_and_quoted() {
        let cfg = crate::config::SnowflakeConfig {
            database: "db".into(),
            schema: "jira \"sync\"".into(),
            role: "R".into(),
            warehouse: "W".into(),
            auth: crate::config::SnowflakeAuth::ManagedToken {
                account: None,
                token_file: "/nonexistent".into(),
            },
            base_url: url::Url::parse("http://127.0.0.1:9").expect("url"),
            oversized_value_strategy: crate::config::OversizedValueStrategy::FailTable,
        };
        let client = SnowflakeClient::new(&cfg).expect("client");
        let loader = Loader::new(&client, &cfg.database, &cfg.schema);
        let sql = loader.snapshot_delete(Table::BoardIssue, 42);
        assert!(
            sql.starts_with("DELETE FROM \"db\".\"jira \"\"sync\"\"\".\"BOARD_ISSUE\""),
            "{sql}"
        );
        assert!(
            sql.contains("\"db\".\"jira \"\"sync\"\"\".\"_JAS_JOURNAL_BOARD_ISSUE\""),
            "{sql}"
        );
        assert!(sql.contains(
            "\"J\".\"BOARD_ID\" = \"T\".\"BOARD_ID\" AND \"J\".\"ISSUE_ID\" = \"T\".\"ISSUE_ID\""
        ));
        assert!(sql.contains(">= 42"));
    }

    #[test]
    fn literals_are_escaped() {
        assert_eq!(escape_literal("it's \\ ok"), "it''s \\\\ ok");
    }
}
