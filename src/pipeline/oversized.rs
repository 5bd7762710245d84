//! Oversized values (DESIGN.md section 7): a VARCHAR or VARIANT value over 16 MiB of UTF-8 is
//! handled before it enters the store, so the local tables, the journal and Snowflake always
//! agree. `FAIL_TABLE` marks the table failed (it stops updating until `reset`); `SET_NULL`
//! writes NULL and counts it. Key columns are numbers and are never touched.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::OversizedValueStrategy;
use crate::row::{Row, Value};
use crate::schema::{ColumnType, Table};
use crate::state::{BoardChanges, PageEntry};

/// Snowflake's limit for one VARCHAR or VARIANT value: 16 MiB of UTF-8.
pub const MAX_VALUE_BYTES: usize = 16 * 1024 * 1024;

/// Flag name of a failed table.
pub fn failed_flag(table: Table) -> String {
    format!("failed/{}", table.name())
}

/// Apply the strategy to one row; true when the row holds a value the table cannot take.
fn screen_row(
    table: Table,
    row: &mut Row,
    strategy: OversizedValueStrategy,
    nulled: &mut BTreeMap<String, u64>,
) -> bool {
    let def = table.def();
    let mut oversized = false;
    for (v, c) in row.values.iter_mut().zip(&def.columns) {
        if !matches!(c.ty, ColumnType::Varchar | ColumnType::Variant) {
            continue;
        }
        if v.as_str().is_some_and(|s| s.len() > MAX_VALUE_BYTES) {
            match strategy {
                OversizedValueStrategy::SetNull => {
                    *v = Value::Null;
                    *nulled.entry(table.name().to_string()).or_default() += 1;
                }
                OversizedValueStrategy::FailTable => oversized = true,
            }
        }
    }
    oversized
}

/// Screen a board's changes: null oversized values (`SET_NULL`) or add their tables to
/// `failed` (`FAIL_TABLE`), then drop every row of a failed table so it stays as it was.
pub fn screen(
    changes: &mut BoardChanges,
    strategy: OversizedValueStrategy,
    failed: &mut BTreeSet<Table>,
    nulled: &mut BTreeMap<String, u64>,
) {
    if let Some(row) = changes.board_row.as_mut() {
        if !failed.contains(&Table::Board) && screen_row(Table::Board, row, strategy, nulled) {
            failed.insert(Table::Board);
        }
    }
    for listing in &mut changes.listings {
        for page in &mut listing.pages {
            if let PageEntry::Parsed(p) = page {
                for (t, row) in &mut p.rows {
                    if !failed.contains(t) && screen_row(*t, row, strategy, nulled) {
                        failed.insert(*t);
                    }
                }
            }
        }
    }
    if failed.is_empty() {
        return;
    }

    if failed.contains(&Table::Board) {
        changes.board_row = None;
    }
    for listing in &mut changes.listings {
        listing.tables.retain(|t| !failed.contains(t));
        for page in &mut listing.pages {
            match page {
                PageEntry::Parsed(p) => p.rows.retain(|(t, _)| !failed.contains(t)),
                PageEntry::Cached(c) => c
                    .keys
                    .retain(|(tag, _)| !failed.iter().any(|t| t.tag() == *tag)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{CompleteListing, PageRows};

    fn sprint(goal: String) -> Row {
        let mut v = vec![Value::Int(1)];
        v.extend(std::iter::repeat_n(Value::Null, 11));
        v[10] = Value::Str(goal);
        Row::new(v)
    }

    fn changes(goal: String) -> BoardChanges {
        BoardChanges {
            board_id: 1,
            board_row: None,
            config: None,
            listings: vec![CompleteListing {
                tables: vec![Table::BoardSprint],
                pages: vec![PageEntry::Parsed(PageRows {
                    page_key: "p".into(),
                    body_hash: 1,
                    rows: vec![
                        (Table::Sprint, sprint(goal)),
                        (
                            Table::BoardSprint,
                            Row::new(vec![Value::Int(1), Value::Int(1)]),
                        ),
                    ],
                })],
            }],
            changed_at: 0,
            checkpoint_note: Vec::new(),
        }
    }

    fn rows(c: &BoardChanges) -> Vec<(Table, Row)> {
        match &c.listings[0].pages[0] {
            PageEntry::Parsed(p) => p.rows.clone(),
            PageEntry::Cached(_) => Vec::new(),
        }
    }

    #[test]
    fn set_null_nulls_only_the_oversized_value() {
        let mut c = changes("g".repeat(MAX_VALUE_BYTES + 1));
        let (mut failed, mut nulled) = (BTreeSet::new(), BTreeMap::new());
        screen(
            &mut c,
            OversizedValueStrategy::SetNull,
            &mut failed,
            &mut nulled,
        );
        assert!(failed.is_empty());
        assert_eq!(nulled.get("SPRINT"), Some(&1));
        assert_eq!(rows(&c)[0].1.values[10], Value::Null);
        assert_eq!(rows(&c).len(), 2);
    }

    #[test]
    fn fail_table_drops_the_tables_rows_and_keeps_others() {
        let mut c = changes("g".repeat(MAX_VALUE_BYTES + 1));
        let (mut failed, mut nulled) = (BTreeSet::new(), BTreeMap::new());
        screen(
            &mut c,
            OversizedValueStrategy::FailTable,
            &mut failed,
            &mut nulled,
        );
        assert_eq!(failed, [Table::Sprint].into_iter().collect());
        let r = rows(&c);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].0, Table::BoardSprint);
    }

    #[test]
    fn a_value_at_the_limit_passes() {
        let mut c = changes("g".repeat(MAX_VALUE_BYTES));
        let (mut failed, mut nulled) = (BTreeSet::new(), BTreeMap::new());
        screen(
            &mut c,
            OversizedValueStrategy::FailTable,
            &mut failed,
            &mut nulled,
        );
        assert!(failed.is_empty() && nulled.is_empty());
    }
}
