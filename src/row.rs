//! Typed rows: the plain data that the pipeline's steps pass to each other.
//!
//! A [`Row`] holds one value per column of its table, in the order of `schemas/<TABLE>.toml`
//! (without `_CHANGED_AT`, which is not part of the row's content). Every key column is a
//! NUMBER, so a row key is a short list of `i64` and encodes to order-preserving bytes.

use serde::{Deserialize, Serialize};

use crate::schema::{schema_version, ColumnType, Table};

/// One column value. Absent and null are the same value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// NULL (or absent in Jira's JSON).
    Null,
    /// NUMBER.
    Int(i64),
    /// VARCHAR.
    Str(String),
    /// BOOLEAN.
    Bool(bool),
    /// FLOAT.
    Float(f64),
    /// TIMESTAMP_TZ as microseconds since the Unix epoch, UTC.
    Ts(i64),
    /// VARIANT as canonical JSON text (object keys sorted, no whitespace).
    Json(String),
}

impl Value {
    /// The value as an i64 when it is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as text when it is text or JSON.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Json(s) => Some(s),
            _ => None,
        }
    }

    /// True for NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this value may stand in a column of the given type.
    pub fn fits(&self, ty: ColumnType) -> bool {
        matches!(
            (self, ty),
            (Value::Null, _)
                | (Value::Int(_), ColumnType::Number)
                | (Value::Str(_), ColumnType::Varchar)
                | (Value::Bool(_), ColumnType::Boolean)
                | (Value::Float(_), ColumnType::Float)
                | (Value::Ts(_), ColumnType::TimestampTz)
                | (Value::Json(_), ColumnType::Variant)
        )
    }

    /// Optional string helper for mapping code.
    pub fn opt_str(s: Option<impl Into<String>>) -> Value {
        s.map_or(Value::Null, |s| Value::Str(s.into()))
    }

    /// Optional integer helper for mapping code.
    pub fn opt_int(v: Option<i64>) -> Value {
        v.map_or(Value::Null, Value::Int)
    }

    /// Optional boolean helper for mapping code.
    pub fn opt_bool(v: Option<bool>) -> Value {
        v.map_or(Value::Null, Value::Bool)
    }

    /// Optional timestamp helper for mapping code.
    pub fn opt_ts(v: Option<i64>) -> Value {
        v.map_or(Value::Null, Value::Ts)
    }

    /// A VARIANT value from JSON, in canonical form; JSON null becomes NULL.
    pub fn json(v: &serde_json::Value) -> Value {
        if v.is_null() {
            Value::Null
        } else {
            Value::Json(canonical_json(v))
        }
    }
}

/// JSON text with object keys sorted and no whitespace, so key order or spacing in Jira's
/// payload never counts as a change.
pub fn canonical_json(v: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// One row of a table: its values in column order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Values, one per column of the table's definition.
    pub values: Vec<Value>,
}

impl Row {
    /// A row from its values.
    pub fn new(values: Vec<Value>) -> Row {
        Row { values }
    }

    /// The row's key (its leading key columns).
    ///
    /// Panics never: key columns are checked by [`Row::validate`] before a row enters the store.
    pub fn key(&self, table: Table) -> RowKey {
        let n = table.def().key_len();
        RowKey(
            self.values[..n.min(self.values.len())]
                .iter()
                .map(|v| v.as_int().unwrap_or(i64::MIN))
                .collect(),
        )
    }

    /// Check arity, types and non-null keys against the table definition.
    pub fn validate(&self, table: Table) -> Result<(), String> {
        let def = table.def();
        if self.values.len() != def.columns.len() {
            return Err(format!(
                "{table}: row has {} values, table has {} columns",
                self.values.len(),
                def.columns.len()
            ));
        }
        for (v, c) in self.values.iter().zip(&def.columns) {
            if !v.fits(c.ty) {
                return Err(format!("{table}.{}: value does not fit {:?}", c.name, c.ty));
            }
            if !c.nullable && v.is_null() {
                return Err(format!("{table}.{}: NULL in a key column", c.name));
            }
        }
        Ok(())
    }

    /// Content hash over the canonical encoding and the schema version (not `_CHANGED_AT`).
    pub fn content_hash(&self) -> u128 {
        let mut buf = schema_version().to_be_bytes().to_vec();
        buf.extend_from_slice(&encode(self));
        xxhash_rust::xxh3::xxh3_128(&buf)
    }
}

/// A row key: the values of its key columns.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RowKey(pub Vec<i64>);

impl RowKey {
    /// Order-preserving bytes: each i64 big-endian with the sign bit flipped.
    ///
    /// ```
    /// use jira_agile_sync::row::RowKey;
    /// let k = RowKey(vec![-5, 42]);
    /// assert_eq!(RowKey::decode(&k.encode()), Some(k.clone()));
    /// assert!(RowKey(vec![-1]).encode() < RowKey(vec![1]).encode());
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() * 8);
        for v in &self.0 {
            out.extend_from_slice(&((*v as u64) ^ (1 << 63)).to_be_bytes());
        }
        out
    }

    /// Inverse of [`RowKey::encode`].
    pub fn decode(bytes: &[u8]) -> Option<RowKey> {
        if bytes.len() % 8 != 0 {
            return None;
        }
        Some(RowKey(
            bytes
                .chunks_exact(8)
                .map(|c| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(c);
                    (u64::from_be_bytes(a) ^ (1 << 63)) as i64
                })
                .collect(),
        ))
    }

    /// The first key value (the board id of a board-child row, the id of a BOARD or SPRINT).
    pub fn first(&self) -> i64 {
        self.0.first().copied().unwrap_or_default()
    }
}

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard()
}

/// Encode any serde value with the store's bincode configuration.
pub fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(v, bincode_config())
        .expect("in-memory bincode encoding of plain data cannot fail")
}

/// Decode a value written by [`encode`].
pub fn decode<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<T, bincode::error::DecodeError> {
    bincode::serde::decode_from_slice(bytes, bincode_config()).map(|(v, _)| v)
}

/// Parse Jira's timestamps (`2015-04-11T15:22:00.000+10:00`, `...Z`, `...+0100`) or an epoch
/// number in milliseconds to microseconds since the epoch, UTC.
pub fn parse_jira_timestamp(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64().map(|ms| ms.saturating_mul(1000)),
        serde_json::Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            chrono::DateTime::parse_from_rfc3339(s)
                .or_else(|_| chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
                .or_else(|_| chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z"))
                .ok()
                .map(|d| d.timestamp_micros())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn both_timestamp_styles_are_the_same_instant() {
        let a = parse_jira_timestamp(&serde_json::json!("2024-03-31T01:30:00.000+0100"));
        let b = parse_jira_timestamp(&serde_json::json!("2024-03-31T00:30:00.000Z"));
        let c = parse_jira_timestamp(&serde_json::json!("2024-03-31T10:30:00.000+10:00"));
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(parse_jira_timestamp(&serde_json::json!("")), None);
        assert_eq!(
            parse_jira_timestamp(&serde_json::json!(1000)),
            Some(1_000_000)
        );
    }

    #[test]
    fn canonical_json_ignores_key_order_and_spacing() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b": [1, {"y":2,"x":1}], "a": "é"}"#).expect("json");
        let b: serde_json::Value =
            serde_json::from_str(r#"{"a":"é","b":[1,{"x":1,"y":2}]}"#).expect("json");
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&a), r#"{"a":"é","b":[1,{"x":1,"y":2}]}"#);
    }

    #[test]
    fn hash_changes_with_content_only() {
        let r1 = Row::new(vec![Value::Int(1), Value::Int(2)]);
        let r2 = Row::new(vec![Value::Int(1), Value::Int(3)]);
        assert_eq!(r1.content_hash(), r1.clone().content_hash());
        assert_ne!(r1.content_hash(), r2.content_hash());
    }

    proptest! {
        #[test]
        fn key_encoding_round_trips_and_orders(a in any::<i64>(), b in any::<i64>(), c in any::<i64>()) {
            let k1 = RowKey(vec![a, b]);
            let k2 = RowKey(vec![a, c]);
            prop_assert_eq!(RowKey::decode(&k1.encode()), Some(k1.clone()));
            prop_assert_eq!(k1.cmp(&k2), k1.encode().cmp(&k2.encode()));
        }
    }
}
