//! Result sets: Snowflake's JSON `rowset` and Arrow IPC (`rowsetBase64`, then chunks), decoded
//! into rows of text cells.
//!
//! Both formats give the same text for the same value, so callers need not know which format a
//! server chose: numbers as decimal text, booleans as `true`/`false`, dates `YYYY-MM-DD`,
//! times `HH:MM:SS[.f]`, TIMESTAMP_NTZ `YYYY-MM-DD HH:MM:SS[.f]`, TIMESTAMP_LTZ and
//! TIMESTAMP_TZ with their offset (`+00:00`), VARIANT as JSON text, BINARY as hex.
//!
//! Arrow encodings follow the official connectors: FIXED is an integer scaled by `scale`,
//! timestamps are an integer scaled by `scale` or a struct `(epoch, fraction[, timezone])`,
//! with `timezone` the offset in minutes plus 1440. A NULL timestamp may arrive as a struct
//! without a null mask, so a null `epoch` is NULL.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch, StructArray};
use arrow_buffer::Buffer;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;

use super::error::{Error, Result};

/// One result column as `rowtype` describes it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ColumnMeta {
    /// Column name.
    pub name: String,
    /// Snowflake type, lower-case (`fixed`, `text`, `timestamp_tz`, ...).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Scale of FIXED, TIME and TIMESTAMP columns.
    pub scale: Option<i64>,
    /// Precision of FIXED columns.
    pub precision: Option<i64>,
    /// Whether NULL is allowed.
    pub nullable: bool,
}

/// The rows of a statement, every cell as text (see the module docs for the formats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryResult {
    /// Column names in order.
    pub columns: Vec<String>,
    /// Column types as the server described them.
    pub column_meta: Vec<ColumnMeta>,
    /// Rows; `None` is SQL NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// Snowflake's query id, when given.
    pub query_id: Option<String>,
}

impl QueryResult {
    /// The cell at `row`, `column` (by name, case-insensitive), if present and not NULL.
    pub fn get(&self, row: usize, column: &str) -> Option<&str> {
        let c = self
            .columns
            .iter()
            .position(|n| n.eq_ignore_ascii_case(column))?;
        self.rows.get(row)?.get(c)?.as_deref()
    }
}

/// Normalise a JSON rowset row (text as Snowflake's JSON format writes it).
pub(crate) fn decode_json_rows(
    rows: Vec<Vec<serde_json::Value>>,
    meta: &[ColumnMeta],
) -> Result<Vec<Vec<Option<String>>>> {
    rows.into_iter()
        .map(|row| {
            row.into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let text = match v {
                        serde_json::Value::Null => return Ok(None),
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    match meta.get(i) {
                        Some(m) => json_cell(&text, m).map(Some),
                        None => Ok(Some(text)),
                    }
                })
                .collect()
        })
        .collect()
}

/// Parse the rows of a JSON result chunk: the rows without the enclosing brackets.
pub(crate) fn parse_json_chunk(body: &[u8]) -> Result<Vec<Vec<serde_json::Value>>> {
    let mut wrapped = Vec::with_capacity(body.len() + 2);
    wrapped.push(b'[');
    wrapped.extend_from_slice(body);
    wrapped.push(b']');
    serde_json::from_slice(&wrapped).map_err(|e| Error::Decode {
        message: format!("JSON chunk: {e}"),
    })
}

fn json_cell(text: &str, meta: &ColumnMeta) -> Result<String> {
    let bad = || Error::Decode {
        message: format!("column {}: bad {} value", meta.name, meta.type_name),
    };
    Ok(match meta.type_name.as_str() {
        "boolean" => match text {
            "1" | "TRUE" | "true" => "true".to_string(),
            "0" | "FALSE" | "false" => "false".to_string(),
            _ => return Err(bad()),
        },
        "date" => {
            let days: i64 = text.parse().map_err(|_| bad())?;
            format_date(days).ok_or_else(bad)?
        }
        "time" => {
            let (secs, nanos) = split_decimal(text).ok_or_else(bad)?;
            format_time(secs, nanos).ok_or_else(bad)?
        }
        "timestamp_ntz" | "timestamp_ltz" => {
            let (secs, nanos) = split_decimal(text).ok_or_else(bad)?;
            let offset = (meta.type_name == "timestamp_ltz").then_some(0);
            format_timestamp(secs, nanos, offset).ok_or_else(bad)?
        }
        "timestamp_tz" => {
            // "<epoch.fraction> <offset minutes + 1440>"
            let (value, tz) = text.split_once(' ').ok_or_else(bad)?;
            let (secs, nanos) = split_decimal(value).ok_or_else(bad)?;
            let tz: i32 = tz.parse().map_err(|_| bad())?;
            format_timestamp(secs, nanos, Some(tz - 1440)).ok_or_else(bad)?
        }
        _ => text.to_string(),
    })
}

/// `"-12.5"` -> (-13, 500_000_000): whole seconds rounded down plus nanoseconds.
fn split_decimal(text: &str) -> Option<(i64, u32)> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let negative = whole.starts_with('-');
    let whole: i64 = whole.parse().ok()?;
    let mut digits: String = frac.chars().take(9).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    while digits.len() < 9 {
        digits.push('0');
    }
    let nanos: u32 = digits.parse().ok()?;
    if negative && nanos > 0 {
        Some((whole - 1, 1_000_000_000 - nanos))
    } else {
        Some((whole, nanos))
    }
}

/// Split an integer in units of 10^-scale seconds into whole seconds and nanoseconds.
fn split_scaled(value: i64, scale: i64) -> Option<(i64, u32)> {
    let scale = u32::try_from(scale.clamp(0, 9)).ok()?;
    let unit = 10_i64.pow(scale);
    let secs = value.div_euclid(unit);
    let rem = value.rem_euclid(unit);
    let nanos = u32::try_from(rem * 10_i64.pow(9 - scale)).ok()?;
    Some((secs, nanos))
}

fn format_date(days: i64) -> Option<String> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    let d = epoch.checked_add_signed(chrono::Duration::try_days(days)?)?;
    Some(d.format("%Y-%m-%d").to_string())
}

fn format_time(secs: i64, nanos: u32) -> Option<String> {
    let t = NaiveTime::from_num_seconds_from_midnight_opt(u32::try_from(secs).ok()?, nanos)?;
    Some(t.format("%H:%M:%S%.f").to_string())
}

/// Format an instant; `offset_minutes` None means TIMESTAMP_NTZ (wall clock, no zone).
fn format_timestamp(secs: i64, nanos: u32, offset_minutes: Option<i32>) -> Option<String> {
    let utc: DateTime<Utc> = DateTime::from_timestamp(secs, nanos)?;
    match offset_minutes {
        None => Some(utc.naive_utc().format("%Y-%m-%d %H:%M:%S%.f").to_string()),
        Some(m) => {
            let offset = FixedOffset::east_opt(m.checked_mul(60)?)?;
            Some(
                utc.with_timezone(&offset)
                    .format("%Y-%m-%d %H:%M:%S%.f %:z")
                    .to_string(),
            )
        }
    }
}

/// Decode one Arrow IPC stream (a `rowsetBase64` or a chunk) into rows.
pub(crate) fn decode_arrow(bytes: &[u8], meta: &[ColumnMeta]) -> Result<Vec<Vec<Option<String>>>> {
    let mut rows = Vec::new();
    for batch in read_ipc_stream(bytes)? {
        decode_batch(&batch, meta, &mut rows)?;
    }
    Ok(rows)
}

/// Read an Arrow IPC stream with every field made nullable.
///
/// Servers declare the children of a timestamp struct non-nullable yet send a NULL timestamp
/// as a struct whose children are null and whose own null mask is absent; Arrow's reader
/// rejects that as "unmasked nulls", so the schema is relaxed before the batches are read.
fn read_ipc_stream(bytes: &[u8]) -> Result<Vec<RecordBatch>> {
    let bad = |message: &str| Error::Decode {
        message: format!("Arrow IPC stream: {message}"),
    };
    let take = |pos: &mut usize, n: usize| -> Result<&[u8]> {
        let end = pos.checked_add(n).ok_or_else(|| bad("length overflow"))?;
        let slice = bytes.get(*pos..end).ok_or_else(|| bad("truncated"))?;
        *pos = end;
        Ok(slice)
    };
    let read_i32 = |pos: &mut usize| -> Result<i32> {
        let b = take(pos, 4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };

    let mut pos = 0;
    let mut schema: Option<SchemaRef> = None;
    let mut batches = Vec::new();
    while pos < bytes.len() {
        // Each message: [0xFFFFFFFF continuation] <i32 metadata length> <metadata> <body>.
        let mut len = read_i32(&mut pos)?;
        if len == -1 {
            len = read_i32(&mut pos)?;
        }
        if len == 0 {
            break;
        }
        let len = usize::try_from(len).map_err(|_| bad("negative length"))?;
        let message = arrow_ipc::root_as_message(take(&mut pos, len)?)
            .map_err(|e| bad(&format!("message: {e}")))?;
        let body_len =
            usize::try_from(message.bodyLength()).map_err(|_| bad("negative body length"))?;
        let body = Buffer::from(take(&mut pos, body_len)?);

        match message.header_type() {
            arrow_ipc::MessageHeader::Schema => {
                let fb = message
                    .header_as_schema()
                    .ok_or_else(|| bad("schema header"))?;
                schema = Some(Arc::new(relax_schema(&arrow_ipc::convert::fb_to_schema(
                    fb,
                ))));
            }
            arrow_ipc::MessageHeader::RecordBatch => {
                let fb = message
                    .header_as_record_batch()
                    .ok_or_else(|| bad("record batch header"))?;
                let schema = schema.clone().ok_or_else(|| bad("batch before schema"))?;
                let batch = arrow_ipc::reader::read_record_batch(
                    &body,
                    fb,
                    schema,
                    &HashMap::new(),
                    None,
                    &message.version(),
                )
                .map_err(|source| Error::Arrow { source })?;
                batches.push(batch);
            }
            arrow_ipc::MessageHeader::DictionaryBatch => {
                return Err(bad("dictionary-encoded results are not supported"))
            }
            _ => {}
        }
    }
    Ok(batches)
}

fn relax_schema(schema: &Schema) -> Schema {
    let fields: Vec<Field> = schema.fields().iter().map(|f| relax_field(f)).collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

fn relax_field(field: &Field) -> Field {
    let ty = match field.data_type() {
        DataType::Struct(children) => {
            DataType::Struct(children.iter().map(|c| relax_field(c)).collect::<Fields>())
        }
        other => other.clone(),
    };
    field.clone().with_data_type(ty).with_nullable(true)
}

fn decode_batch(
    batch: &RecordBatch,
    meta: &[ColumnMeta],
    rows: &mut Vec<Vec<Option<String>>>,
) -> Result<()> {
    let schema = batch.schema();
    let columns: Vec<Vec<Option<String>>> = batch
        .columns()
        .iter()
        .enumerate()
        .map(|(i, array)| {
            let field = schema.field(i);
            let md = field.metadata();
            let fallback = meta.get(i);
            let logical = md
                .get("logicalType")
                .map(|s| s.to_lowercase())
                .or_else(|| fallback.map(|m| m.type_name.clone()))
                .unwrap_or_default();
            let scale = md
                .get("scale")
                .and_then(|s| s.parse().ok())
                .or_else(|| fallback.and_then(|m| m.scale))
                .unwrap_or(0);
            decode_column(array, &logical, scale, field.name())
        })
        .collect::<Result<_>>()?;

    for r in 0..batch.num_rows() {
        rows.push(columns.iter().map(|c| c[r].clone()).collect());
    }
    Ok(())
}

fn decode_column(
    array: &ArrayRef,
    logical: &str,
    scale: i64,
    name: &str,
) -> Result<Vec<Option<String>>> {
    let bad = || Error::Decode {
        message: format!("column {name}: {logical} as Arrow {}", array.data_type()),
    };
    let n = array.len();
    let mut out = Vec::with_capacity(n);

    // Integer-backed types: FIXED with scale, TIME, and TIMESTAMP as scaled integers.
    if let Some(ints) = as_i64_values(array) {
        for v in ints {
            out.push(match v {
                None => None,
                Some(v) => Some(match logical {
                    "time" => {
                        let (s, ns) = split_scaled(v, scale).ok_or_else(bad)?;
                        format_time(s, ns).ok_or_else(bad)?
                    }
                    "timestamp_ntz" | "timestamp_ltz" | "timestamp_tz" => {
                        let (s, ns) = split_scaled(v, scale).ok_or_else(bad)?;
                        let offset = (logical != "timestamp_ntz").then_some(0);
                        format_timestamp(s, ns, offset).ok_or_else(bad)?
                    }
                    _ => format_fixed(v, scale),
                }),
            });
        }
        return Ok(out);
    }

    match array.data_type() {
        DataType::Null => out.resize(n, None),
        DataType::Boolean => {
            let a = array.as_boolean();
            out.extend((0..n).map(|i| a.is_valid(i).then(|| a.value(i).to_string())));
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            out.extend((0..n).map(|i| a.is_valid(i).then(|| a.value(i).to_string())));
        }
        DataType::Float32 => {
            let a = array.as_primitive::<Float32Type>();
            out.extend((0..n).map(|i| a.is_valid(i).then(|| a.value(i).to_string())));
        }
        DataType::Decimal128(_, _) => {
            let a = array.as_primitive::<Decimal128Type>();
            out.extend((0..n).map(|i| a.is_valid(i).then(|| a.value_as_string(i))));
        }
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            out.extend((0..n).map(|i| a.is_valid(i).then(|| a.value(i).to_string())));
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            out.extend((0..n).map(|i| a.is_valid(i).then(|| a.value(i).to_string())));
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            out.extend((0..n).map(|i| a.is_valid(i).then(|| a.value(i).to_string())));
        }
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            out.extend((0..n).map(|i| a.is_valid(i).then(|| to_hex(a.value(i)))));
        }
        DataType::LargeBinary => {
            let a = array.as_binary::<i64>();
            out.extend((0..n).map(|i| a.is_valid(i).then(|| to_hex(a.value(i)))));
        }
        DataType::Date32 => {
            let a = array.as_primitive::<Date32Type>();
            for i in 0..n {
                out.push(match a.is_valid(i) {
                    true => Some(format_date(i64::from(a.value(i))).ok_or_else(bad)?),
                    false => None,
                });
            }
        }
        DataType::Struct(_) => {
            decode_timestamp_struct(array.as_struct(), logical, scale, &mut out).ok_or_else(bad)?
        }
        _ => {
            // Anything else: Arrow's own display, so an unexpected type still reads.
            let fmt = arrow_cast::display::ArrayFormatter::try_new(
                array.as_ref(),
                &arrow_cast::display::FormatOptions::default(),
            )
            .map_err(|source| Error::Arrow { source })?;
            out.extend((0..n).map(|i| array.is_valid(i).then(|| fmt.value(i).to_string())));
        }
    }
    Ok(out)
}

/// `(epoch, fraction[, timezone])` or `(epoch, timezone)` structs of TIMESTAMP columns.
fn decode_timestamp_struct(
    a: &StructArray,
    logical: &str,
    scale: i64,
    out: &mut Vec<Option<String>>,
) -> Option<()> {
    let epoch = as_i64_values(a.column_by_name("epoch")?)?;
    let fraction = a.column_by_name("fraction").and_then(as_i64_values);
    let timezone = a.column_by_name("timezone").and_then(as_i64_values);

    for i in 0..a.len() {
        // A NULL may come as a struct whose epoch is null and whose own null mask is absent.
        let Some(e) = epoch[i].filter(|_| a.is_valid(i)) else {
            out.push(None);
            continue;
        };
        let (secs, nanos) = match &fraction {
            Some(f) => (e, u32::try_from(f[i].unwrap_or(0)).ok()?),
            None => split_scaled(e, scale)?,
        };
        let offset = match logical {
            "timestamp_ntz" => None,
            "timestamp_tz" => match &timezone {
                Some(tz) => Some(i32::try_from(tz[i].unwrap_or(1440) - 1440).ok()?),
                None => Some(0),
            },
            _ => Some(0),
        };
        out.push(Some(format_timestamp(secs, nanos, offset)?));
    }
    Some(())
}

/// The values of an integer array of any width, widened to i64.
fn as_i64_values(array: &ArrayRef) -> Option<Vec<Option<i64>>> {
    fn collect<T>(a: &arrow_array::PrimitiveArray<T>) -> Vec<Option<i64>>
    where
        T: arrow_array::ArrowPrimitiveType,
        T::Native: Into<i64>,
    {
        a.iter().map(|v| v.map(Into::into)).collect()
    }
    Some(match array.data_type() {
        DataType::Int8 => collect(array.as_primitive::<Int8Type>()),
        DataType::Int16 => collect(array.as_primitive::<Int16Type>()),
        DataType::Int32 => collect(array.as_primitive::<Int32Type>()),
        DataType::Int64 => collect(array.as_primitive::<Int64Type>()),
        _ => return None,
    })
}

/// An integer in units of 10^-scale as decimal text (`12345`, scale 2 -> `123.45`).
fn format_fixed(v: i64, scale: i64) -> String {
    if scale <= 0 {
        return v.to_string();
    }
    let digits = v.unsigned_abs().to_string();
    let scale = usize::try_from(scale).unwrap_or(0);
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, frac) = padded.split_at(padded.len() - scale);
    let sign = if v < 0 { "-" } else { "" };
    format!("{sign}{whole}.{frac}")
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use arrow_array::{Int32Array, Int64Array, StringArray};
    use arrow_buffer::NullBuffer;

    use super::*;

    fn meta(name: &str, ty: &str, scale: i64) -> ColumnMeta {
        ColumnMeta {
            name: name.into(),
            type_name: ty.into(),
            scale: Some(scale),
            ..Default::default()
        }
    }

    #[test]
    fn fixed_with_scale_formats_as_decimal() {
        assert_eq!(format_fixed(12345, 2), "123.45");
        assert_eq!(format_fixed(-5, 3), "-0.005");
        assert_eq!(format_fixed(7, 0), "7");
    }

    #[test]
    fn json_and_arrow_timestamps_read_alike() {
        let tz = meta("T", "timestamp_tz", 9);
        let json = json_cell("1700000000.123456000 1440", &tz).unwrap();
        assert_eq!(json, "2023-11-14 22:13:20.123456 +00:00");
        let ntz = meta("T", "timestamp_ntz", 9);
        assert_eq!(
            json_cell("-1.500000000", &ntz).unwrap(),
            "1969-12-31 23:59:58.500"
        );
        assert_eq!(json_cell("1", &meta("B", "boolean", 0)).unwrap(), "true");
        assert_eq!(
            json_cell("19000", &meta("D", "date", 0)).unwrap(),
            "2022-01-08"
        );
    }

    #[test]
    fn null_timestamp_struct_without_mask_is_null() {
        let fields = Fields::from(vec![
            Field::new("epoch", DataType::Int64, true),
            Field::new("fraction", DataType::Int32, true),
            Field::new("timezone", DataType::Int32, true),
        ]);
        let s = StructArray::new(
            fields.clone(),
            vec![
                Arc::new(Int64Array::from(vec![Some(1_700_000_000), None])),
                Arc::new(Int32Array::from(vec![Some(123_456_000), None])),
                Arc::new(Int32Array::from(vec![Some(1440 + 60), None])),
            ],
            None::<NullBuffer>,
        );
        let schema = Schema::new(vec![
            Field::new("T", DataType::Struct(fields), true)
                .with_metadata([("logicalType".to_string(), "TIMESTAMP_TZ".to_string())].into()),
            Field::new("S", DataType::Utf8, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(s),
                Arc::new(StringArray::from(vec![Some("a"), None])),
            ],
        )
        .unwrap();
        let mut rows = Vec::new();
        decode_batch(&batch, &[], &mut rows).unwrap();
        assert_eq!(
            rows,
            vec![
                vec![
                    Some("2023-11-14 23:13:20.123456 +01:00".into()),
                    Some("a".into())
                ],
                vec![None, None],
            ]
        );
    }
}
