//! The Parquet files open in other tools (pyarrow, DuckDB) with the declared types.

use std::process::Command;

use crate::util;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_open_in_pyarrow_and_duckdb_with_declared_types() {
    let Some(python) = util::venv_python() else {
        return;
    };
    let site = jira_agile_sync::simulator::Site::generate(&jira_agile_sync::simulator::SiteSpec {
        boards: 6,
        ..jira_agile_sync::simulator::SiteSpec::demo()
    });
    let sim = util::start(site).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = util::config(&sim.base_url(), dir.path());
    util::sync(&cfg).await.expect("sync");
    let script = r#"
import sys, json, pyarrow.parquet as pq, duckdb
d = sys.argv[1]
out = {}
t = pq.read_table(d + '/tables/SPRINT.parquet')
out['start_type'] = str(t.schema.field('START_DATE').type)
out['raw_type'] = str(t.schema.field('RAW').type)
out['changed_type'] = str(t.schema.field('_CHANGED_AT').type)
raw = [r for r in t.column('RAW').to_pylist() if r is not None]
out['raw_parses'] = all(isinstance(json.loads(r), dict) for r in raw) and len(raw) > 0
b = pq.read_table(d + '/tables/BOARD_ISSUE.parquet')
out['issue_id_type'] = str(b.schema.field('ISSUE_ID').type)
out['estimate_type'] = str(b.schema.field('ESTIMATE').type)
con = duckdb.connect()
out['duck_count'] = con.execute(f"SELECT count(*) FROM '{d}/tables/BOARD.parquet'").fetchone()[0]
out['duck_ts'] = str(con.execute(f"SELECT typeof(START_DATE) FROM '{d}/tables/SPRINT.parquet' LIMIT 1").fetchone()[0])
out['duck_json'] = con.execute(f"SELECT count(*) FROM '{d}/tables/BOARD.parquet' WHERE json_valid(RAW)").fetchone()[0]
print(json.dumps(out))
"#;
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(dir.path())
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["start_type"], "timestamp[us, tz=UTC]");
    assert_eq!(v["changed_type"], "timestamp[us, tz=UTC]");
    assert_eq!(v["raw_type"], "string");
    assert_eq!(v["raw_parses"], true);
    assert_eq!(v["issue_id_type"], "int64");
    assert_eq!(v["estimate_type"], "double");
    let boards = util::read_table(dir.path(), jira_agile_sync::schema::Table::Board).len() as u64;
    assert_eq!(v["duck_count"].as_u64(), Some(boards));
    assert_eq!(v["duck_json"].as_u64(), Some(boards));
    assert_eq!(v["duck_ts"], "TIMESTAMP WITH TIME ZONE");
    sim.shutdown().await;
}
