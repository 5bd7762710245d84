//! Command implementations that need the async runtime: sync with load, run, check, demo.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::config::{Config, JiraConfig, Secret};
use crate::pipeline::{self, RunSummary, Shutdown, SyncOptions};
use crate::schema::Table;
use crate::simulator::{SimAuth, Simulator, SiteSpec};
use crate::source::JiraClient;

/// Send `true` on SIGINT or SIGTERM.
pub fn forward_signals(tx: watch::Sender<bool>) {
    tokio::spawn(async move {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
        tracing::info!("shutdown requested; finishing the current step");
        let _ = tx.send(true);
    });
}

/// `sync`: one run into the local tables, then the Snowflake load when configured.
pub async fn sync_and_load(cfg: &Config, opts: &SyncOptions) -> pipeline::Result<RunSummary> {
    pipeline::sync_and_load(cfg, opts).await
}

/// `run`: sync back to back, at most every `sync_interval`, and load every `merge_interval`,
/// until SIGINT/SIGTERM.
pub async fn run_forever(cfg: &Config, adopt: bool) -> u8 {
    let (tx, shutdown) = Shutdown::new();
    forward_signals(tx);
    let (dd, _lock, store) = match pipeline::open_writer(cfg) {
        Ok(x) => x,
        Err(e) => return crate::cli::fail(&e, e.exit_code()),
    };
    let opts = SyncOptions {
        shutdown: shutdown.clone(),
        adopt_destination: adopt,
        ..SyncOptions::default()
    };
    let mut shutdown = shutdown;
    let mut next_sync = tokio::time::Instant::now();
    let mut next_load = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_sync {
            next_sync = tokio::time::Instant::now() + cfg.ingestion.sync_interval;
            let prepared = shutdown
                .abandon_on_request(async {
                    Ok(pipeline::load::prepare_snapshots(cfg, &store, &opts).await)
                })
                .await;
            match prepared {
                Err(_) => return 0,
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "snowflake unavailable before the run; syncing locally");
                }
                Ok(Ok(())) => {}
            }
            match pipeline::sync(cfg, &store, &dd, &opts).await {
                Ok(summary) => crate::cli::print_summary(&summary),
                Err(pipeline::Error::Interrupted) => return 0,
                Err(e @ (pipeline::Error::Credentials { .. } | pipeline::Error::Config(_))) => {
                    return crate::cli::fail(&e, 2);
                }
                Err(e) => {
                    // A failed run is retried at the next interval; the state is consistent.
                    let _ = crate::cli::fail(&e, 1);
                }
            }
        }
        if cfg.snowflake.is_some() && tokio::time::Instant::now() >= next_load {
            next_load = tokio::time::Instant::now() + cfg.ingestion.merge_interval;
            // Abandoning a load at any `.await` is safe: every step repeats on the next load.
            let loaded = shutdown
                .abandon_on_request(pipeline::load::load(cfg, &store, &dd, &opts))
                .await;
            match loaded {
                Err(pipeline::Error::Interrupted) => return 0,
                Ok(pipeline::load::LoadOutcome::Failed { errors, .. }) => {
                    for e in errors {
                        eprintln!("load failed: {e}");
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = crate::cli::fail(&e, 1);
                }
            }
        }
        let wake = if cfg.snowflake.is_some() {
            next_sync.min(next_load)
        } else {
            next_sync
        };
        tokio::select! {
            _ = shutdown.requested() => return 0,
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}

/// `check`: configuration, Jira connectivity and scopes, and Snowflake when configured (login,
/// database, schema, warehouse, CREATE TABLE and CREATE STAGE); writes nothing.
pub async fn check(cfg: &Config) -> u8 {
    let jira = match cfg.require_jira() {
        Ok(j) => j,
        Err(e) => return crate::cli::fail(&e, 2),
    };
    let client = match JiraClient::new(jira, cfg.ingestion.max_concurrency) {
        Ok(c) => c,
        Err(e) => return crate::cli::fail(&e, 2),
    };
    let tables = pipeline::enabled_tables(cfg);
    let mut results: Vec<(String, bool, String)> = client
        .check(&tables)
        .await
        .into_iter()
        .map(|r| (r.name, r.ok, r.message))
        .collect();
    if let Some(sf) = &cfg.snowflake {
        results.extend(
            crate::destination::snowflake::check::check(sf)
                .await
                .into_iter()
                .map(|c| (c.name, c.ok, c.message)),
        );
    }
    let mut ok = true;
    let mut out = std::io::stdout().lock();
    for (name, passed, message) in &results {
        ok &= passed;
        let _ = writeln!(
            out,
            "{} {name}: {message}",
            if *passed { "ok  " } else { "FAIL" },
        );
    }
    if ok {
        0
    } else {
        2
    }
}

/// `demo`: start the simulator on 127.0.0.1, sync it into `<data_dir>/demo`, print the tables.
pub async fn demo(cfg: &Config, boards: usize, issues_per_board: usize, seed: u64) -> u8 {
    let mut spec = SiteSpec::demo();
    spec.boards = boards;
    spec.issues_per_board = issues_per_board;
    spec.seed = seed;
    let auth = SimAuth {
        email: "demo@example.com".into(),
        token: "demo-token".into(),
    };
    let sim = match Simulator::start(crate::simulator::Site::generate(&spec), auth.clone()).await {
        Ok(s) => s,
        Err(e) => return crate::cli::fail(&e, 2),
    };
    let mut demo_cfg = cfg.clone();
    demo_cfg.data_dir = cfg.data_dir.join("demo");
    demo_cfg.snowflake = None;
    let url = match crate::config::parse_base_url("jira.environment_url", &sim.base_url()) {
        Ok(u) => u,
        Err(e) => return crate::cli::fail(&e, 2),
    };
    demo_cfg.jira = Some(JiraConfig {
        environment_url: url,
        email: auth.email.clone(),
        api_token: Secret::new(auth.token.clone()),
        request_timeout: Duration::from_secs(30),
        max_retries: 6,
        max_retry_wait: Duration::from_secs(60),
        ca_file: None,
    });
    eprintln!(
        "demo: simulated Jira site with {boards} boards (a few hidden from the token and a few with \
         unreadable configuration, as on real sites) at {} → {}",
        sim.base_url(),
        demo_cfg.data_dir.display()
    );
    let (tx, shutdown) = Shutdown::new();
    forward_signals(tx);
    let opts = SyncOptions {
        shutdown,
        backoff_base: Some(Duration::from_millis(200)),
        adopt_destination: false,
    };
    let started = Instant::now();
    let result = sync_and_load(&demo_cfg, &opts).await;
    sim.shutdown().await;
    match result {
        Ok(summary) => {
            crate::cli::print_summary(&summary);
            let total: u64 = summary.rows.values().sum();
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "synced {total} rows in {:.2}s",
                started.elapsed().as_secs_f64()
            );
            let _ = writeln!(out, "tables:");
            for t in Table::ALL {
                let _ = writeln!(
                    out,
                    "  {}",
                    demo_cfg
                        .data_dir
                        .join("tables")
                        .join(format!("{}.parquet", t.name()))
                        .display()
                );
            }
            let _ = writeln!(
                out,
                "try: duckdb -c \"SELECT * FROM '{}' LIMIT 5\"",
                demo_cfg
                    .data_dir
                    .join("tables")
                    .join("BOARD.parquet")
                    .display()
            );
            summary.exit_code()
        }
        Err(e) => crate::cli::fail(&e, e.exit_code()),
    }
}

/// Print the first `limit` rows of a Parquet file as tab-separated text, one column per header
/// field (timestamps as RFC 3339 UTC, NULL as `NULL`).
pub fn print_table(path: &Path, limit: usize) -> Result<(), crate::materialize::Error> {
    let batches = crate::materialize::read_file(path)?;
    let mut out = std::io::stdout().lock();
    let Some(first) = batches.first() else {
        return Ok(());
    };
    let names: Vec<String> = first
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let _ = writeln!(out, "{}", names.join("\t"));
    let mut printed = 0;
    for b in &batches {
        for i in 0..b.num_rows() {
            if printed >= limit {
                return Ok(());
            }
            let cells: Vec<String> = b
                .columns()
                .iter()
                .map(|c| format_cell(c.as_ref(), i))
                .collect();
            let _ = writeln!(out, "{}", cells.join("\t"));
            printed += 1;
        }
    }
    Ok(())
}

/// One cell as text. Timestamps are formatted here: arrow's formatter needs the `chrono-tz`
/// feature for the named zone "UTC" our files carry.
fn format_cell(column: &dyn arrow_array::Array, row: usize) -> String {
    use arrow_array::cast::AsArray;
    use arrow_array::types::TimestampMicrosecondType;
    use arrow_cast::display::{ArrayFormatter, FormatOptions};

    if column.is_null(row) {
        return "NULL".into();
    }
    if let arrow_schema::DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, _) =
        column.data_type()
    {
        let micros = column.as_primitive::<TimestampMicrosecondType>().value(row);
        return chrono::DateTime::from_timestamp_micros(micros)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            .unwrap_or_else(|| micros.to_string());
    }
    match ArrayFormatter::try_new(column, &FormatOptions::default()) {
        Ok(f) => f.value(row).to_string(),
        Err(_) => "?".into(),
    }
}
