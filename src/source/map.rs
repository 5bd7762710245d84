//! Mapping of Jira page bodies to rows: pure functions, no I/O.
//!
//! Each function returns rows in the column order of `schemas/<TABLE>.toml`, and every row
//! passes [`Row::validate`]. Rules (`JIRA-FACTS.md`, "Values"):
//! - absent and JSON null are the same value, [`Value::Null`];
//! - ids arrive as integers (boards, sprints) or numeric strings (projects, issues, filters);
//!   anything else where an id belongs makes the page malformed ([`MapError::BadId`]);
//! - ids are never derived from a `self` URL;
//! - both timestamp styles (`+10:00`, `Z`, `+0100`) and epoch milliseconds become UTC instants;
//! - `CLOSED_SPRINT_IDS` is NULL when Jira sends no `closedSprints`, and `[]` when it sends an
//!   empty list (kept as sent, so the column says what Jira said).

use std::collections::HashSet;

use serde_json::Value as Json;

use super::{BoardConfig, IssueFields};
use crate::row::{parse_jira_timestamp, Row, RowKey, Value};
use crate::schema::Table;

/// A page body that cannot be mapped (the listing counts as failed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// The body is not JSON.
    #[error("page is not JSON: {0}")]
    Json(String),
    /// The body lacks the expected structure (names what is missing).
    #[error("page has no {0}")]
    Shape(String),
    /// An id is neither an integer nor a numeric string.
    #[error("field `{field}` is not an id")]
    BadId {
        /// JSON path of the field (`values[].id`).
        field: String,
    },
    /// A value has the wrong JSON type or cannot be parsed.
    #[error("field `{field}` has an unexpected value")]
    BadValue {
        /// JSON path of the field.
        field: String,
    },
}

impl MapError {
    /// Whether the next run may map the page: a body that is not JSON may be a proxy's or a
    /// gateway's page; a JSON page of the wrong shape will not fix itself.
    pub fn is_retryable(&self) -> bool {
        matches!(self, MapError::Json(_))
    }
}

fn parse(body: &[u8]) -> Result<Json, MapError> {
    serde_json::from_slice(body).map_err(|e| MapError::Json(e.to_string()))
}

fn items<'a>(page: &'a Json, key: &str) -> Result<&'a Vec<Json>, MapError> {
    page.get(key)
        .and_then(Json::as_array)
        .ok_or_else(|| MapError::Shape(format!("`{key}` array")))
}

/// Follow a path of object keys; absent anywhere (or null) is `None`.
fn at<'a>(v: &'a Json, path: &[&str]) -> Option<&'a Json> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    (!cur.is_null()).then_some(cur)
}

/// An id: a JSON integer or a numeric string; absent or null is `None`.
fn id_at(v: &Json, path: &[&str], field: &str) -> Result<Option<i64>, MapError> {
    let bad = || MapError::BadId {
        field: field.to_string(),
    };
    match at(v, path) {
        None => Ok(None),
        Some(Json::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
        Some(Json::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

fn required_id(v: &Json, path: &[&str], field: &str) -> Result<i64, MapError> {
    id_at(v, path, field)?.ok_or_else(|| MapError::BadId {
        field: field.to_string(),
    })
}

/// Text: a JSON string, or a number or boolean as written; objects and arrays are malformed.
fn str_at(v: &Json, path: &[&str], field: &str) -> Result<Value, MapError> {
    match at(v, path) {
        None => Ok(Value::Null),
        Some(Json::String(s)) => Ok(Value::Str(s.clone())),
        Some(n @ (Json::Number(_) | Json::Bool(_))) => Ok(Value::Str(n.to_string())),
        Some(_) => Err(MapError::BadValue {
            field: field.to_string(),
        }),
    }
}

fn bool_at(v: &Json, path: &[&str], field: &str) -> Result<Value, MapError> {
    match at(v, path) {
        None => Ok(Value::Null),
        Some(Json::Bool(b)) => Ok(Value::Bool(*b)),
        Some(Json::String(s)) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
        Some(_) => Err(MapError::BadValue {
            field: field.to_string(),
        }),
    }
}

fn ts_at(v: &Json, path: &[&str], field: &str) -> Result<Value, MapError> {
    match at(v, path) {
        None => Ok(Value::Null),
        Some(Json::String(s)) if s.trim().is_empty() => Ok(Value::Null),
        Some(t) => parse_jira_timestamp(t)
            .map(Value::Ts)
            .ok_or_else(|| MapError::BadValue {
                field: field.to_string(),
            }),
    }
}

fn float_at(v: &Json, path: &[&str], field: &str) -> Result<Value, MapError> {
    let bad = || MapError::BadValue {
        field: field.to_string(),
    };
    match at(v, path) {
        None => Ok(Value::Null),
        Some(Json::Number(n)) => n.as_f64().map(Value::Float).ok_or_else(bad),
        Some(Json::String(s)) => s.trim().parse::<f64>().map(Value::Float).map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

fn checked(row: Row, table: Table) -> Result<Row, MapError> {
    row.validate(table).map_err(MapError::Shape)?;
    Ok(row)
}

/// Number of items on a page (`values` or `issues`), for progress and page-cache bookkeeping.
pub fn page_item_count(body: &[u8]) -> Result<usize, MapError> {
    let page = parse(body)?;
    ["values", "issues"]
        .iter()
        .find_map(|k| page.get(k).and_then(Json::as_array).map(Vec::len))
        .ok_or_else(|| MapError::Shape("`values` or `issues` array".into()))
}

/// The boards of one `/board` page: (board id, the board object as Jira sent it).
pub fn parse_board_page(body: &[u8]) -> Result<Vec<(i64, Json)>, MapError> {
    let page = parse(body)?;
    items(&page, "values")?
        .iter()
        .map(|b| Ok((required_id(b, &["id"], "values[].id")?, b.clone())))
        .collect()
}

/// A BOARD row from a board object and its configuration (config columns NULL without one).
pub fn board_row(raw: &Json, cfg: Option<&BoardConfig>) -> Result<Row, MapError> {
    let id = required_id(raw, &["id"], "id")?;
    let loc = |k: &str| -> Result<Value, MapError> {
        str_at(raw, &["location", k], &format!("location.{k}"))
    };
    let mut values = vec![
        Value::Int(id),
        str_at(raw, &["name"], "name")?,
        str_at(raw, &["type"], "type")?,
        str_at(raw, &["self"], "self")?,
        bool_at(raw, &["isPrivate"], "isPrivate")?,
        loc("type")?,
        Value::opt_int(id_at(
            raw,
            &["location", "projectId"],
            "location.projectId",
        )?),
        loc("projectKey")?,
        loc("projectName")?,
        loc("projectTypeKey")?,
        loc("displayName")?,
        loc("name")?,
        loc("userAccountId")?,
    ];
    match cfg {
        Some(c) => values.extend([
            Value::opt_int(c.filter_id),
            Value::opt_str(c.sub_query.clone()),
            c.column_config.as_ref().map_or(Value::Null, Value::json),
            Value::opt_str(c.estimation_type.clone()),
            Value::opt_str(c.estimation_field_id.clone()),
            Value::opt_str(c.estimation_field_name.clone()),
            Value::opt_int(c.rank_custom_field_id),
        ]),
        None => values.extend(std::iter::repeat_n(Value::Null, 7)),
    }
    values.push(Value::json(raw));
    checked(Row::new(values), Table::Board)
}

/// The parts of `/board/{id}/configuration` the sync keeps.
pub fn parse_board_config(body: &[u8]) -> Result<BoardConfig, MapError> {
    let v = parse(body)?;
    if !v.is_object() {
        return Err(MapError::Shape("configuration object".into()));
    }
    let text = |path: &[&str], field: &str| -> Result<Option<String>, MapError> {
        Ok(match str_at(&v, path, field)? {
            Value::Str(s) => Some(s),
            _ => None,
        })
    };
    Ok(BoardConfig {
        filter_id: id_at(&v, &["filter", "id"], "filter.id")?,
        sub_query: text(&["subQuery", "query"], "subQuery.query")?,
        column_config: at(&v, &["columnConfig"]).cloned(),
        estimation_type: text(&["estimation", "type"], "estimation.type")?,
        estimation_field_id: text(
            &["estimation", "field", "fieldId"],
            "estimation.field.fieldId",
        )?,
        estimation_field_name: text(
            &["estimation", "field", "displayName"],
            "estimation.field.displayName",
        )?,
        rank_custom_field_id: id_at(
            &v,
            &["ranking", "rankCustomFieldId"],
            "ranking.rankCustomFieldId",
        )?,
    })
}

/// BOARD_PROJECT rows of one `/board/{id}/project` page.
pub fn map_projects(board_id: i64, body: &[u8]) -> Result<Vec<Row>, MapError> {
    let page = parse(body)?;
    items(&page, "values")?
        .iter()
        .map(|p| {
            let row = Row::new(vec![
                Value::Int(board_id),
                Value::Int(required_id(p, &["id"], "values[].id")?),
                str_at(p, &["key"], "values[].key")?,
                str_at(p, &["name"], "values[].name")?,
                str_at(p, &["projectTypeKey"], "values[].projectTypeKey")?,
                str_at(p, &["style"], "values[].style")?,
                bool_at(p, &["simplified"], "values[].simplified")?,
            ]);
            checked(row, Table::BoardProject)
        })
        .collect()
}

/// SPRINT and BOARD_SPRINT rows of one `/board/{id}/sprint` page.
pub fn map_sprints(board_id: i64, body: &[u8]) -> Result<(Vec<Row>, Vec<Row>), MapError> {
    let page = parse(body)?;
    let mut sprints = Vec::new();
    let mut links = Vec::new();
    for s in items(&page, "values")? {
        let id = required_id(s, &["id"], "values[].id")?;
        let row = Row::new(vec![
            Value::Int(id),
            str_at(s, &["self"], "values[].self")?,
            str_at(s, &["state"], "values[].state")?,
            str_at(s, &["name"], "values[].name")?,
            ts_at(s, &["startDate"], "values[].startDate")?,
            ts_at(s, &["endDate"], "values[].endDate")?,
            ts_at(s, &["completeDate"], "values[].completeDate")?,
            ts_at(s, &["createdDate"], "values[].createdDate")?,
            ts_at(s, &["activatedDate"], "values[].activatedDate")?,
            Value::opt_int(id_at(s, &["originBoardId"], "values[].originBoardId")?),
            str_at(s, &["goal"], "values[].goal")?,
            Value::json(s),
        ]);
        sprints.push(checked(row, Table::Sprint)?);
        let link = Row::new(vec![Value::Int(board_id), Value::Int(id)]);
        links.push(checked(link, Table::BoardSprint)?);
    }
    Ok((sprints, links))
}

/// BOARD_ISSUE rows of one `/board/{id}/issue` page, requested with `fields`.
pub fn map_issues(board_id: i64, body: &[u8], fields: &IssueFields) -> Result<Vec<Row>, MapError> {
    let page = parse(body)?;
    let rank_field = fields.rank_field();
    items(&page, "issues")?
        .iter()
        .map(|i| {
            let closed = match at(i, &["fields", "closedSprints"]) {
                None => Value::Null,
                Some(Json::Array(list)) => {
                    let ids = list
                        .iter()
                        .map(|s| required_id(s, &["id"], "issues[].fields.closedSprints[].id"))
                        .collect::<Result<Vec<i64>, _>>()?;
                    Value::json(&Json::from(ids))
                }
                Some(_) => {
                    return Err(MapError::BadValue {
                        field: "issues[].fields.closedSprints".into(),
                    })
                }
            };
            let estimate = match &fields.estimation_field_id {
                Some(fid) => float_at(i, &["fields", fid], "issues[].fields.<estimation>")?,
                None => Value::Null,
            };
            let rank = match &rank_field {
                Some(rf) => str_at(i, &["fields", rf], "issues[].fields.<rank>")?,
                None => Value::Null,
            };
            let row = Row::new(vec![
                Value::Int(board_id),
                Value::Int(required_id(i, &["id"], "issues[].id")?),
                str_at(i, &["key"], "issues[].key")?,
                Value::opt_int(id_at(
                    i,
                    &["fields", "project", "id"],
                    "issues[].fields.project.id",
                )?),
                Value::opt_int(id_at(
                    i,
                    &["fields", "status", "id"],
                    "issues[].fields.status.id",
                )?),
                Value::opt_int(id_at(
                    i,
                    &["fields", "sprint", "id"],
                    "issues[].fields.sprint.id",
                )?),
                closed,
                bool_at(i, &["fields", "flagged"], "issues[].fields.flagged")?,
                Value::opt_int(id_at(
                    i,
                    &["fields", "parent", "id"],
                    "issues[].fields.parent.id",
                )?),
                estimate,
                rank,
                ts_at(i, &["fields", "updated"], "issues[].fields.updated")?,
            ]);
            checked(row, Table::BoardIssue)
        })
        .collect()
}

/// Drop rows whose key was already seen (first occurrence wins), as a listing must.
pub fn dedup_rows(table: Table, rows: Vec<Row>) -> Vec<Row> {
    let mut seen: HashSet<RowKey> = HashSet::with_capacity(rows.len());
    rows.into_iter()
        .filter(|r| seen.insert(r.key(table)))
        .collect()
}

#[cfg(test)]
mod tests;
