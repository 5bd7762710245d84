//! `check` for the Snowflake destination (DESIGN.md section 3): login, database and schema
//! visible, warehouse usable, CREATE TABLE and CREATE STAGE allowed. It writes nothing that
//! outlives the session: the CREATE rights are tried with TEMPORARY objects, which are dropped
//! right away (and would vanish with the session anyway).
//!
//! The TEMPORARY objects are created unqualified after `USE SCHEMA`: Snowflake accepts that, and
//! the Snowflake-protocol test server (fakesnow) rejects a qualified TEMPORARY table.

use super::sql::{quote_ident, Target};
use super::{Error, SnowflakeClient};
use crate::config::SnowflakeConfig;

/// Snowflake's code for "insufficient privileges to operate on ...".
const INSUFFICIENT_PRIVILEGES: &str = "003001";

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked (`snowflake login`, `snowflake schema`, ...).
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, or what to fix.
    pub message: String,
}

impl Check {
    fn ok(name: &str, message: impl Into<String>) -> Check {
        Check {
            name: name.to_string(),
            ok: true,
            message: message.into(),
        }
    }

    fn fail(name: &str, message: impl Into<String>) -> Check {
        Check {
            name: name.to_string(),
            ok: false,
            message: message.into(),
        }
    }
}

/// Run every Snowflake check in order; later checks are skipped (and say so) when an earlier one
/// they depend on failed.
pub async fn check(cfg: &SnowflakeConfig) -> Vec<Check> {
    let mut out = Vec::new();
    let client = match SnowflakeClient::new(cfg) {
        Ok(c) => c,
        Err(e) => {
            out.push(Check::fail("snowflake login", chain(&e)));
            return out;
        }
    };
    let target = Target::new(&cfg.database, &cfg.schema);
    let role = quote_ident(&cfg.role);

    // Login.
    if let Err(e) = client.login().await {
        out.push(Check::fail("snowflake login", chain(&e)));
        return out;
    }
    out.push(Check::ok(
        "snowflake login",
        format!("logged in to {}", cfg.base_url),
    ));

    // Database and schema, from the database's INFORMATION_SCHEMA.
    let schemata = format!(
        "SELECT \"SCHEMA_NAME\" FROM {}.\"INFORMATION_SCHEMA\".\"SCHEMATA\"",
        quote_ident(&cfg.database)
    );
    let schemas: Vec<String> = match client.query(&schemata).await {
        Ok(r) => r
            .rows
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .collect(),
        Err(e) => {
            out.push(Check::fail(
                "snowflake database",
                format!(
                    "database {} is missing or not visible to role {role} (names are \
                     case-sensitive and always quoted); create it or grant USAGE ON DATABASE {} \
                     TO ROLE {role}: {}",
                    quote_ident(&cfg.database),
                    quote_ident(&cfg.database),
                    chain(&e)
                ),
            ));
            return out;
        }
    };
    out.push(Check::ok(
        "snowflake database",
        format!("{} exists", quote_ident(&cfg.database)),
    ));
    if schemas.iter().any(|s| s == &cfg.schema) {
        out.push(Check::ok(
            "snowflake schema",
            format!("{} exists", target.qualified_schema()),
        ));
    } else {
        let other = schemas.iter().find(|s| s.eq_ignore_ascii_case(&cfg.schema));
        let message = match other {
            Some(found) => format!(
                "schema {} not found, but {} exists: names are case-sensitive and always \
                 quoted, so set snowflake.schema = {:?} to use it",
                quote_ident(&cfg.schema),
                quote_ident(found),
                found
            ),
            None => format!(
                "schema {} is missing or not visible to role {role}; create it or grant USAGE \
                 ON SCHEMA {} TO ROLE {role}",
                quote_ident(&cfg.schema),
                target.qualified_schema()
            ),
        };
        out.push(Check::fail("snowflake schema", message));
        return out;
    }

    // Warehouse.
    let wh = quote_ident(&cfg.warehouse);
    match client.query(&format!("USE WAREHOUSE {wh}")).await {
        Ok(_) => out.push(Check::ok("snowflake warehouse", format!("{wh} usable"))),
        Err(e) => out.push(Check::fail(
            "snowflake warehouse",
            format!(
                "warehouse {wh} is not usable: grant USAGE ON WAREHOUSE {wh} TO ROLE {role} \
                 (and check that snowflake.warehouse is spelled as in Snowflake): {}",
                chain(&e)
            ),
        )),
    }

    // CREATE TABLE and CREATE STAGE, with TEMPORARY objects in the configured schema.
    if let Err(e) = client
        .query(&format!("USE SCHEMA {}", target.qualified_schema()))
        .await
    {
        out.push(Check::fail(
            "snowflake schema",
            format!(
                "cannot use schema {}: grant USAGE ON SCHEMA {} TO ROLE {role}: {}",
                target.qualified_schema(),
                target.qualified_schema(),
                chain(&e)
            ),
        ));
        return out;
    }
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let table = quote_ident(&format!("_JAS_CHECK_TABLE_{suffix}"));
    let create_table = format!("CREATE TEMPORARY TABLE {table} (\"X\" NUMBER)");
    out.push(match client.query(&create_table).await {
        Ok(_) => {
            // Best effort: a TEMPORARY table also goes with the session.
            let _ = client.query(&format!("DROP TABLE IF EXISTS {table}")).await;
            Check::ok("snowflake create table", "CREATE TABLE allowed")
        }
        Err(e) => Check::fail(
            "snowflake create table",
            privilege_message("CREATE TABLE", &target, &role, &e),
        ),
    });
    let stage = quote_ident(&format!("_JAS_CHECK_STAGE_{suffix}"));
    let create_stage =
        format!("CREATE TEMPORARY STAGE {stage} ENCRYPTION = (TYPE = 'SNOWFLAKE_SSE')");
    out.push(match client.query(&create_stage).await {
        Ok(_) => {
            // Best effort: fakesnow has no DROP STAGE; a TEMPORARY stage goes with the session.
            let _ = client.query(&format!("DROP STAGE IF EXISTS {stage}")).await;
            Check::ok("snowflake create stage", "CREATE STAGE allowed")
        }
        Err(e) => Check::fail(
            "snowflake create stage",
            privilege_message("CREATE STAGE", &target, &role, &e),
        ),
    });
    out
}

fn privilege_message(privilege: &str, target: &Target, role: &str, e: &Error) -> String {
    let grant = format!(
        "grant {privilege} ON SCHEMA {} TO ROLE {role}",
        target.qualified_schema()
    );
    if e.snowflake_code() == Some(INSUFFICIENT_PRIVILEGES) {
        format!("{privilege} not allowed: {grant}")
    } else {
        format!(
            "{privilege} failed (if it is a missing right: {grant}): {}",
            chain(e)
        )
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
