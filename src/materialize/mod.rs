//! Step 3, SHAPE: rows to Parquet files (journal files and current tables).
//!
//! Invariants:
//! - A file is written to a temporary name beside its final name, fsynced, renamed into place,
//!   and its directory fsynced: readers see the old file or the new one, never a partial one.
//! - Rows stream through in batches of [`BATCH_ROWS`]; memory does not grow with the table.
//! - Types follow `schemas/`: TIMESTAMP_TZ as µs UTC instants, VARIANT as JSON text.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::row::{Row, Value};
use crate::schema::{ColumnType, Table};

/// Rows per Arrow batch handed to the Parquet writer.
pub const BATCH_ROWS: usize = 8192;
/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 65536;

/// Errors writing or reading Parquet.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// File system error on a path.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Parquet or Arrow error.
    #[error("parquet error on {path}: {message}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// Reading rows from the source failed.
    #[error("reading rows for {path} failed: {message}")]
    Source {
        /// The file being written.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

/// Result alias for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One row to write: its values, `_CHANGED_AT`, and for journal files `_OP` and `_SEQ`.
#[derive(Debug, Clone)]
pub struct OutRow {
    /// The row.
    pub row: Row,
    /// `_CHANGED_AT` (µs since epoch).
    pub changed_at: i64,
    /// `_OP` and `_SEQ` for journal files.
    pub journal: Option<(&'static str, i64)>,
}

/// What a written file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileStats {
    /// Rows written.
    pub rows: u64,
    /// Bytes on disk.
    pub bytes: u64,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn pq_err(path: &Path) -> impl FnOnce(parquet::errors::ParquetError) -> Error + '_ {
    move |e| Error::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Write a table's rows to `path` atomically. `journal` selects the journal schema (with `_OP`
/// and `_SEQ`); every [`OutRow`] must then carry them.
pub fn write_file<E: std::fmt::Display>(
    path: &Path,
    table: Table,
    journal: bool,
    rows: impl Iterator<Item = std::result::Result<OutRow, E>>,
) -> Result<FileStats> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let result = write_unpublished(&tmp, path, table, journal, rows);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    crate::failpoint::failpoint("before_file_rename");
    std::fs::rename(&tmp, path).map_err(io_err(path))?;
    sync_dir(dir)?;
    result
}

/// fsync a directory so a rename in it is durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

fn write_unpublished<E: std::fmt::Display>(
    tmp: &Path,
    path: &Path,
    table: Table,
    journal: bool,
    rows: impl Iterator<Item = std::result::Result<OutRow, E>>,
) -> Result<FileStats> {
    let def = table.def();
    let schema: SchemaRef = Arc::new(if journal {
        def.journal_arrow_schema()
    } else {
        def.arrow_schema()
    });
    let file = File::create(tmp).map_err(io_err(tmp))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_size(ROW_GROUP_ROWS)
        .set_created_by(format!("jira-agile-sync {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut writer =
        ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(pq_err(tmp))?;

    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let mut total = 0u64;
    for item in rows {
        let out = item.map_err(|e| Error::Source {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        batch.push(out);
        if batch.len() == BATCH_ROWS {
            total += batch.len() as u64;
            let rb = to_record_batch(&schema, table, journal, &batch).map_err(|message| {
                Error::Parquet {
                    path: path.to_path_buf(),
                    message,
                }
            })?;
            writer.write(&rb).map_err(pq_err(tmp))?;
            batch.clear();
        }
    }
    if !batch.is_empty() || total == 0 {
        total += batch.len() as u64;
        let rb =
            to_record_batch(&schema, table, journal, &batch).map_err(|message| Error::Parquet {
                path: path.to_path_buf(),
                message,
            })?;
        writer.write(&rb).map_err(pq_err(tmp))?;
    }
    let mut file = writer.into_inner().map_err(pq_err(tmp))?;
    file.flush().map_err(io_err(tmp))?;
    crate::failpoint::fail_write(path).map_err(io_err(tmp))?;
    file.sync_all().map_err(io_err(tmp))?;
    let bytes = file.metadata().map_err(io_err(tmp))?.len();
    Ok(FileStats { rows: total, bytes })
}

/// Build one Arrow batch from rows, in the column order of the table's schema.
pub fn to_record_batch(
    schema: &SchemaRef,
    table: Table,
    journal: bool,
    rows: &[OutRow],
) -> Result<RecordBatch, String> {
    let def = table.def();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (i, col) in def.columns.iter().enumerate() {
        let values = rows
            .iter()
            .map(|r| r.row.values.get(i).unwrap_or(&Value::Null));
        let array: ArrayRef = match col.ty {
            ColumnType::Number => {
                let mut b = Int64Builder::with_capacity(rows.len());
                for v in values {
                    b.append_option(v.as_int());
                }
                Arc::new(b.finish())
            }
            ColumnType::Varchar | ColumnType::Variant => {
                let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 16);
                for v in values {
                    b.append_option(v.as_str());
                }
                Arc::new(b.finish())
            }
            ColumnType::Boolean => {
                let mut b = BooleanBuilder::with_capacity(rows.len());
                for v in values {
                    b.append_option(match v {
                        Value::Bool(x) => Some(*x),
                        _ => None,
                    });
                }
                Arc::new(b.finish())
            }
            ColumnType::Float => {
                let mut b = Float64Builder::with_capacity(rows.len());
                for v in values {
                    b.append_option(match v {
                        Value::Float(x) => Some(*x),
                        Value::Int(x) => Some(*x as f64),
                        _ => None,
                    });
                }
                Arc::new(b.finish())
            }
            ColumnType::TimestampTz => {
                let mut b =
                    TimestampMicrosecondBuilder::with_capacity(rows.len()).with_timezone("UTC");
                for v in values {
                    b.append_option(match v {
                        Value::Ts(x) => Some(*x),
                        _ => None,
                    });
                }
                Arc::new(b.finish())
            }
        };
        columns.push(array);
    }
    let mut changed = TimestampMicrosecondBuilder::with_capacity(rows.len()).with_timezone("UTC");
    for r in rows {
        changed.append_value(r.changed_at);
    }
    columns.push(Arc::new(changed.finish()));
    if journal {
        let mut op = StringBuilder::with_capacity(rows.len(), rows.len());
        let mut seq = Int64Builder::with_capacity(rows.len());
        for r in rows {
            let (o, s) = r.journal.ok_or("journal row without _OP/_SEQ")?;
            op.append_value(o);
            seq.append_value(s);
        }
        columns.push(Arc::new(op.finish()));
        columns.push(Arc::new(seq.finish()));
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
}

/// Read every batch of a Parquet file.
pub fn read_file(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = File::open(path).map_err(io_err(path))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(pq_err(path))?
        .build()
        .map_err(pq_err(path))?;
    reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Parquet {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// Row count and size of a Parquet file, from its footer.
pub fn file_stats(path: &Path) -> Result<FileStats> {
    let file = File::open(path).map_err(io_err(path))?;
    let bytes = file.metadata().map_err(io_err(path))?.len();
    let reader = parquet::file::reader::SerializedFileReader::new(file).map_err(pq_err(path))?;
    use parquet::file::reader::FileReader;
    let rows = reader.metadata().file_metadata().num_rows().max(0) as u64;
    Ok(FileStats { rows, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int64Type, TimestampMicrosecondType};

    #[test]
    fn journal_file_round_trips_with_declared_types() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j/1.parquet");
        let rows = (0..20_000i64).map(|i| {
            Ok::<_, String>(OutRow {
                row: Row::new(vec![
                    Value::Int(i),
                    Value::Null,
                    Value::Str("active".into()),
                    Value::Str(format!("Sprint {i}")),
                    Value::Ts(1_700_000_000_000_000 + i),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Int(7),
                    Value::Str(String::new()),
                    Value::Json("{\"a\":1}".into()),
                ]),
                changed_at: 5,
                journal: Some(("U", 100 + i)),
            })
        });
        let stats = write_file(&path, Table::Sprint, true, rows).expect("write");
        assert_eq!(stats.rows, 20_000);
        assert_eq!(file_stats(&path).expect("stats").rows, 20_000);
        let batches = read_file(&path).expect("read");
        let b = &batches[0];
        assert_eq!(
            b.schema().as_ref(),
            &Table::Sprint.def().journal_arrow_schema()
        );
        assert_eq!(b.column(0).as_primitive::<Int64Type>().value(3), 3);
        assert_eq!(
            b.column_by_name("START_DATE")
                .expect("col")
                .as_primitive::<TimestampMicrosecondType>()
                .value(1),
            1_700_000_000_000_001
        );
        assert!(b.column_by_name("SELF").expect("col").is_null(0));
        assert_eq!(
            b.column_by_name("GOAL")
                .expect("col")
                .as_string::<i32>()
                .value(0),
            ""
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("j"))
            .expect("dir")
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn failed_source_leaves_no_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.parquet");
        let rows = vec![Err::<OutRow, _>("boom")].into_iter();
        assert!(write_file(&path, Table::Board, false, rows).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }
}
