//! Client tests: against fakesnow (a real Snowflake-protocol server on 127.0.0.1) and against
//! an in-process mock server for what fakesnow never does (333334, 390112, 5xx, chunks,
//! encrypted stages).

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use super::sql::Target;
use super::testkit::{fast_options, token_config, FakeSnow, MockBase};
use super::{Error, SnowflakeClient};
use crate::config::{SnowflakeAuth, SnowflakeConfig};
use crate::schema::Table;

fn unique_database() -> String {
    format!("JAS_TEST_{}", uuid::Uuid::new_v4().simple())
}

// ---------------------------------------------------------------------------------------------
// fakesnow

fn write_journal_parquet(path: &Path) {
    let schema = Arc::new(Table::BoardSprint.def().journal_arrow_schema());
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![10, 10, 11])),
        Arc::new(Int64Array::from(vec![100, 101, 100])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![1_700_000_000_000_000; 3]).with_timezone("UTC"),
        ),
        Arc::new(StringArray::from(vec!["U", "U", "D"])),
        Arc::new(Int64Array::from(vec![5, 5, 5])),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

#[tokio::test]
async fn fakesnow_login_put_copy_and_select_back() {
    let Some(server) = FakeSnow::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "any-token\n").unwrap();
    let database = unique_database();
    let cfg = token_config(server.base_url(), &database, "jira_sync", &token);
    let client = SnowflakeClient::with_options(&cfg, fast_options()).unwrap();
    client.login().await.unwrap();

    let one = client.query("SELECT 1").await.unwrap();
    assert_eq!(one.rows, vec![vec![Some("1".to_string())]]);
    assert!(one.query_id.is_some());

    let t = Target::new(&database, "jira_sync");
    for sql in [
        t.create_database(),
        t.create_schema(),
        t.create_stage(),
        t.create_state_table(),
        t.create_table(Table::BoardSprint),
        t.create_journal_table(Table::BoardSprint),
    ] {
        client.query(&sql).await.unwrap();
    }

    // PUT a journal file into its own stage folder, then COPY that folder.
    let file = dir.path().join("5.parquet");
    write_journal_parquet(&file);
    client
        .put_file(&file, &t.stage_path(Table::BoardSprint, 5))
        .await
        .unwrap();
    let copied = client
        .query(&t.copy_into_journal(Table::BoardSprint, 5))
        .await
        .unwrap();
    assert_eq!(copied.rows.len(), 1, "one file loaded: {copied:?}");

    let journal = client
        .query(&format!(
            "SELECT \"BOARD_ID\", \"SPRINT_ID\", \"_OP\", \"_SEQ\", \"_CHANGED_AT\" FROM {} \
             ORDER BY \"BOARD_ID\", \"SPRINT_ID\"",
            t.qualify("_JAS_JOURNAL_BOARD_SPRINT")
        ))
        .await
        .unwrap();
    let cell = |r: usize, c: usize| journal.rows[r][c].as_deref().unwrap_or("NULL").to_string();
    assert_eq!(journal.rows.len(), 3);
    assert_eq!(
        (cell(0, 0), cell(0, 1), cell(0, 2), cell(0, 3)),
        ("10".into(), "100".into(), "U".into(), "5".into())
    );
    assert_eq!(cell(2, 2), "D");
    assert_eq!(cell(0, 4), "2023-11-14 22:13:20 +00:00");

    // MERGE applies the journal: 10/100 and 10/101 inserted, the delete of 11/100 not.
    client.query(&t.merge(Table::BoardSprint, 0)).await.unwrap();
    let merged = client
        .query(&format!(
            "SELECT \"BOARD_ID\", \"SPRINT_ID\" FROM {} ORDER BY 1, 2",
            t.qualify("BOARD_SPRINT")
        ))
        .await
        .unwrap();
    assert_eq!(
        merged.rows,
        vec![
            vec![Some("10".to_string()), Some("100".to_string())],
            vec![Some("10".to_string()), Some("101".to_string())],
        ]
    );
}

#[tokio::test]
async fn fakesnow_null_timestamp_reads_as_null() {
    let Some(server) = FakeSnow::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "t").unwrap();
    let cfg = token_config(server.base_url(), &unique_database(), "S", &token);
    let client = SnowflakeClient::with_options(&cfg, fast_options()).unwrap();
    let r = client
        .query(
            "SELECT NULL::TIMESTAMP_TZ AS A, '2024-01-02 03:04:05.5'::TIMESTAMP_NTZ AS B, \
             NULL::TIMESTAMP_NTZ AS C, 'x' AS D",
        )
        .await
        .unwrap();
    assert_eq!(r.columns, vec!["A", "B", "C", "D"]);
    assert_eq!(
        r.rows,
        vec![vec![
            None,
            Some("2024-01-02 03:04:05.500".to_string()),
            None,
            Some("x".to_string())
        ]]
    );
}

#[tokio::test]
async fn fakesnow_error_carries_code_and_message() {
    let Some(server) = FakeSnow::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "t").unwrap();
    let database = unique_database();
    let cfg = token_config(server.base_url(), &database, "S", &token);
    let client = SnowflakeClient::with_options(&cfg, fast_options()).unwrap();
    let err = client
        .query(&format!(
            "SELECT * FROM {}",
            Target::new(&database, "S").qualify("MISSING")
        ))
        .await
        .unwrap_err();
    match err {
        Error::Statement { code, message, .. } => {
            assert_eq!(code, "002003");
            assert!(message.contains("does not exist"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// mock server

#[derive(Default)]
struct Mock {
    logins: Vec<(HashMap<String, String>, Value)>,
    queries: Vec<(HashMap<String, String>, String)>,
    query_answers: VecDeque<(u16, Value)>,
    poll_answers: VecDeque<Value>,
    polls: usize,
    chunks: Vec<Vec<u8>>,
    refuse_login: bool,
}

type Shared = Arc<Mutex<Mock>>;

async fn mock_login(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let mut m = s.lock().unwrap();
    m.logins.push((q, body));
    let n = m.logins.len();
    if m.refuse_login {
        return Json(json!({ "success": false, "code": "390144", "data": null,
                            "message": "JWT token is invalid." }));
    }
    Json(json!({ "success": true, "data": { "token": format!("tok-{n}") } }))
}

async fn mock_query(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> (StatusCode, Json<Value>) {
    let mut m = s.lock().unwrap();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    m.queries.push((q, auth));
    let (status, body) = m
        .query_answers
        .pop_front()
        .unwrap_or((200, json!({ "success": true, "data": { "rowset": [] } })));
    (StatusCode::from_u16(status).unwrap(), Json(body))
}

async fn mock_poll(State(s): State<Shared>, UrlPath(_qid): UrlPath<String>) -> Json<Value> {
    let mut m = s.lock().unwrap();
    m.polls += 1;
    Json(
        m.poll_answers
            .pop_front()
            .unwrap_or(json!({ "success": true })),
    )
}

async fn mock_chunk(
    State(s): State<Shared>,
    UrlPath(n): UrlPath<usize>,
    headers: HeaderMap,
) -> Result<Vec<u8>, StatusCode> {
    if headers
        .get("x-test-chunk-key")
        .and_then(|v| v.to_str().ok())
        != Some("k1")
    {
        return Err(StatusCode::FORBIDDEN);
    }
    s.lock()
        .unwrap()
        .chunks
        .get(n)
        .cloned()
        .ok_or(StatusCode::NOT_FOUND)
}

struct MockServer {
    state: Shared,
    mock: MockBase,
}

impl MockServer {
    async fn start(mock: Mock) -> MockServer {
        let state: Shared = Arc::new(Mutex::new(mock));
        let app = Router::new()
            .route("/session/v1/login-request", post(mock_login))
            .route("/queries/v1/query-request", post(mock_query))
            .route("/queries/{qid}/result", get(mock_poll))
            .route("/chunks/{n}", get(mock_chunk))
            .with_state(state.clone());
        MockServer {
            state,
            mock: MockBase::serve(app).await,
        }
    }

    fn client(&self) -> SnowflakeClient {
        let cfg = token_config(
            self.mock.base.clone(),
            "DB",
            "jira \"sync\"",
            &self.mock.token_file,
        );
        SnowflakeClient::with_options(&cfg, fast_options()).unwrap()
    }
}

fn ok_rows(rows: Value) -> Value {
    json!({
        "success": true,
        "data": {
            "queryId": "q-1",
            "rowtype": [{ "name": "N", "type": "fixed", "scale": 0 }],
            "rowset": rows,
        }
    })
}

#[tokio::test]
async fn in_progress_query_is_polled_until_it_succeeds() {
    let server = MockServer::start(Mock {
        query_answers: [(
            200,
            json!({ "success": true, "code": "333334", "message": "running",
                    "data": { "queryId": "q-1", "getResultUrl": "/queries/q-1/result" } }),
        )]
        .into(),
        poll_answers: [
            json!({ "success": true, "code": "333333",
                    "data": { "queryId": "q-1", "getResultUrl": "/queries/q-1/result" } }),
            ok_rows(json!([["7"]])),
        ]
        .into(),
        ..Mock::default()
    })
    .await;
    let r = server.client().query("SELECT 7").await.unwrap();
    assert_eq!(r.rows, vec![vec![Some("7".to_string())]]);
    assert_eq!(r.query_id.as_deref(), Some("q-1"));
    assert_eq!(server.state.lock().unwrap().polls, 2);
}

#[tokio::test]
async fn expired_session_logs_in_again_and_replays() {
    let server = MockServer::start(Mock {
        query_answers: [
            (
                401,
                json!({ "success": false, "code": "390112",
                        "message": "Your session has expired. Please login again.", "data": null }),
            ),
            (200, ok_rows(json!([["1"]]))),
        ]
        .into(),
        ..Mock::default()
    })
    .await;
    let client = server.client();
    client.login().await.unwrap();
    // The token file changes; the next login must read it again.
    std::fs::write(&server.mock.token_file, "oauth-2").unwrap();

    let r = client.query("SELECT 1").await.unwrap();
    assert_eq!(r.rows, vec![vec![Some("1".to_string())]]);

    let m = server.state.lock().unwrap();
    assert_eq!(m.logins.len(), 2);
    assert_eq!(m.logins[0].1["data"]["TOKEN"], "oauth-1");
    assert_eq!(m.logins[1].1["data"]["TOKEN"], "oauth-2");
    assert_eq!(m.logins[1].1["data"]["AUTHENTICATOR"], "OAUTH");
    assert_eq!(m.queries.len(), 2);
    assert_eq!(m.queries[0].1, "Snowflake Token=\"tok-1\"");
    assert_eq!(m.queries[1].1, "Snowflake Token=\"tok-2\"");
    assert_eq!(m.queries[0].0["requestId"], m.queries[1].0["requestId"]);
}

#[tokio::test]
async fn server_errors_are_retried_with_the_same_request_id() {
    let server = MockServer::start(Mock {
        query_answers: [
            (503, json!({})),
            (
                500,
                json!({ "success": false, "code": "261000", "message": "oops" }),
            ),
            (429, json!({})),
            (200, ok_rows(json!([["1"]]))),
        ]
        .into(),
        ..Mock::default()
    })
    .await;
    let client = server.client();
    client.query("SELECT 1").await.unwrap();

    let m = server.state.lock().unwrap();
    assert_eq!(m.queries.len(), 4);
    let first = &m.queries[0].0["requestId"];
    assert!(m.queries.iter().all(|(q, _)| &q["requestId"] == first));
    assert!(!m.queries[0].0.contains_key("retryCount"));
    assert_eq!(m.queries[1].0["retryCount"], "1");
    assert_eq!(m.queries[3].0["retryCount"], "3");
    assert_eq!(m.queries[3].0["retry"], "true");
    assert_eq!(
        client.request_count(),
        5,
        "one login and four query attempts"
    );
}

#[tokio::test]
async fn retries_give_up_with_a_retryable_status_error() {
    let server = MockServer::start(Mock {
        query_answers: (0..4).map(|_| (502, json!({}))).collect(),
        ..Mock::default()
    })
    .await;
    let err = server.client().query("SELECT 1").await.unwrap_err();
    assert!(matches!(err, Error::Status { status: 502, .. }), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn failed_statement_maps_code_and_message() {
    let server = MockServer::start(Mock {
        query_answers: [(
            200,
            json!({ "success": false, "code": "002003",
                    "message": "SQL compilation error:\nObject 'X' does not exist or not authorized.",
                    "data": { "queryId": "q-9", "sqlState": "42S02", "errorCode": "002003" } }),
        )]
        .into(),
        ..Mock::default()
    })
    .await;
    let err = server.client().query("SELECT * FROM X").await.unwrap_err();
    match &err {
        Error::Statement {
            code,
            message,
            query_id,
            sql_state,
        } => {
            assert_eq!(code, "002003");
            assert!(message.contains("does not exist"));
            assert_eq!(query_id.as_deref(), Some("q-9"));
            assert_eq!(sql_state.as_deref(), Some("42S02"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("002003"));
}

#[tokio::test]
async fn encrypted_stage_is_refused_with_the_fix() {
    let server = MockServer::start(Mock {
        query_answers: [(
            200,
            json!({ "success": true, "data": {
                "stageInfo": { "locationType": "S3", "location": "bucket/stage/", "region": "us-west-2",
                               "creds": { "AWS_KEY_ID": "k", "AWS_SECRET_KEY": "s" } },
                "encryptionMaterial": { "queryStageMasterKey": "bWFzdGVy", "queryId": "q", "smkId": 1 }
            } }),
        )]
        .into(),
        ..Mock::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("1.parquet");
    std::fs::write(&file, b"PAR1").unwrap();
    let err = server
        .client()
        .put_file(&file, "@\"DB\".\"S\".\"_JAS_STAGE\"/BOARD/1/")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EncryptedStage), "{err:?}");
    assert!(err
        .to_string()
        .contains("recreate it with ENCRYPTION = (TYPE = 'SNOWFLAKE_SSE')"));
}

fn arrow_ipc(ids: &[i64], names: &[Option<&str>]) -> Vec<u8> {
    let md = |t: &str, scale: &str| -> HashMap<String, String> {
        [
            ("logicalType".to_string(), t.to_string()),
            ("scale".to_string(), scale.to_string()),
        ]
        .into()
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("ID", DataType::Int64, false).with_metadata(md("FIXED", "2")),
        Field::new("NAME", DataType::Utf8, true).with_metadata(md("TEXT", "0")),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from(names.to_vec())),
        ],
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut buf, &schema).unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    drop(w);
    buf
}

#[tokio::test]
async fn arrow_result_reads_rowset_then_chunks_in_order() {
    // The second chunk is stored gzip-compressed, as result chunks may be.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &arrow_ipc(&[400, 501], &[None, Some("e")])).unwrap();
    let chunks = vec![arrow_ipc(&[300], &[Some("c")]), gz.finish().unwrap()];
    let server = MockServer::start(Mock {
        chunks,
        ..Mock::default()
    })
    .await;
    let base = server.mock.base.clone();
    server.state.lock().unwrap().query_answers.push_back((
        200,
        json!({ "success": true, "data": {
            "queryId": "q-a",
            "queryResultFormat": "arrow",
            "rowtype": [{ "name": "ID", "type": "fixed", "scale": 2 }, { "name": "NAME", "type": "text" }],
            "rowsetBase64": STANDARD.encode(arrow_ipc(&[100, 200], &[Some("a"), Some("b")])),
            "chunks": [
                { "url": base.join("chunks/0").unwrap().as_str(), "rowCount": 1 },
                { "url": base.join("chunks/1").unwrap().as_str(), "rowCount": 2 },
            ],
            "chunkHeaders": { "x-test-chunk-key": "k1" },
        } }),
    ));
    let r = server
        .client()
        .query("SELECT ID, NAME FROM T")
        .await
        .unwrap();
    assert_eq!(r.columns, vec!["ID", "NAME"]);
    let got: Vec<(Option<&str>, Option<&str>)> = r
        .rows
        .iter()
        .map(|row| (row[0].as_deref(), row[1].as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("1.00"), Some("a")),
            (Some("2.00"), Some("b")),
            (Some("3.00"), Some("c")),
            (Some("4.00"), None),
            (Some("5.01"), Some("e")),
        ]
    );
}

#[tokio::test]
async fn key_pair_login_sends_jwt_and_session_context() {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(dir.path().join("k.p8"))
        .status()
        .unwrap();
    assert!(status.success());
    let pem = std::fs::read_to_string(dir.path().join("k.p8")).unwrap();

    let server = MockServer::start(Mock::default()).await;
    let cfg = SnowflakeConfig {
        auth: SnowflakeAuth::KeyPair {
            account_identifier: "myorg-acct1".to_string(),
            username: "etl".to_string(),
            private_key: crate::config::Secret::new(pem),
            private_key_password: None,
        },
        ..token_config(
            server.mock.base.clone(),
            "Db",
            "jira \"sync\"",
            &server.mock.token_file,
        )
    };
    let client = SnowflakeClient::with_options(&cfg, fast_options()).unwrap();
    client.login().await.unwrap();

    let m = server.state.lock().unwrap();
    let (params, body) = &m.logins[0];
    assert_eq!(params["databaseName"], "Db");
    assert_eq!(params["schemaName"], "jira \"sync\"");
    assert_eq!(params["warehouse"], "WH");
    assert_eq!(params["roleName"], "SYSADMIN");
    assert!(params.contains_key("request_id"));
    let data = &body["data"];
    assert_eq!(data["AUTHENTICATOR"], "SNOWFLAKE_JWT");
    assert_eq!(data["ACCOUNT_NAME"], "MYORG-ACCT1");
    assert_eq!(data["LOGIN_NAME"], "ETL");
    assert_eq!(data["SESSION_PARAMETERS"]["TIMEZONE"], "UTC");
    assert_eq!(data["SESSION_PARAMETERS"]["QUERY_TAG"], "jira-agile-sync");
    assert_eq!(data["TOKEN"].as_str().unwrap().split('.').count(), 3);
    assert!(format!("{client:?}").find("PRIVATE").is_none());
}

#[tokio::test]
async fn transport_errors_are_retried_then_reported() {
    // A port nobody listens on (on 127.0.0.1): every connect is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "t").unwrap();
    let base = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let client =
        SnowflakeClient::with_options(&token_config(base, "D", "S", &token), fast_options())
            .unwrap();
    let err = client.login().await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { attempts: 4, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(client.request_count(), 4);
}

#[tokio::test]
async fn refused_login_maps_code_and_message() {
    let server = MockServer::start(Mock {
        refuse_login: true,
        ..Mock::default()
    })
    .await;
    let err = server.client().query("SELECT 1").await.unwrap_err();
    match &err {
        Error::Login { code, message } => {
            assert_eq!(code, "390144");
            assert_eq!(message, "JWT token is invalid.");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.snowflake_code(), Some("390144"));
}

#[tokio::test]
async fn missing_token_file_is_reported() {
    let server = MockServer::start(Mock::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = token_config(
        server.mock.base.clone(),
        "D",
        "S",
        &dir.path().join("missing-token"),
    );
    let client = SnowflakeClient::with_options(&cfg, fast_options()).unwrap();
    let err = client.login().await.unwrap_err();
    assert!(matches!(err, Error::TokenFile { .. }), "{err:?}");
}

#[tokio::test]
async fn fakesnow_repeated_copy_of_the_same_file_loads_nothing() {
    let Some(server) = FakeSnow::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "t").unwrap();
    let database = unique_database();
    let cfg = token_config(server.base_url(), &database, "S", &token);
    let client = SnowflakeClient::with_options(&cfg, fast_options()).unwrap();
    let t = Target::new(&database, "S");
    for sql in [
        t.create_schema(),
        t.create_stage(),
        t.create_journal_table(Table::BoardSprint),
    ] {
        client.query(&sql).await.unwrap();
    }
    let file = dir.path().join("9.parquet");
    write_journal_parquet(&file);
    for _ in 0..2 {
        client
            .put_file(&file, &t.stage_path(Table::BoardSprint, 9))
            .await
            .unwrap();
        client
            .query(&t.copy_into_journal(Table::BoardSprint, 9))
            .await
            .unwrap();
    }
    let count = client
        .query(&format!(
            "SELECT COUNT(*) AS N FROM {}",
            t.qualify("_JAS_JOURNAL_BOARD_SPRINT")
        ))
        .await
        .unwrap();
    assert_eq!(count.get(0, "n"), Some("3"));
}

#[tokio::test]
async fn local_fs_stage_copies_exactly_the_named_file() {
    let stage_dir = tempfile::tempdir().unwrap();
    let location = stage_dir.path().join("db/s/_jas_stage/BOARD/1/");
    let server = MockServer::start(Mock {
        query_answers: [(
            200,
            json!({ "success": true, "data": {
                "stageInfo": { "locationType": "LOCAL_FS", "location": location, "creds": {} },
                "src_locations": ["/etc/passwd"],
                "encryptionMaterial": null
            } }),
        )]
        .into(),
        ..Mock::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("1.parquet");
    std::fs::write(&file, b"PAR1 journal").unwrap();
    server
        .client()
        .put_file(&file, "@\"DB\".\"S\".\"_JAS_STAGE\"/BOARD/1/")
        .await
        .unwrap();
    // The server's src_locations is ignored: the named file is what lands in the stage.
    assert_eq!(
        std::fs::read(location.join("1.parquet")).unwrap(),
        b"PAR1 journal"
    );
    assert_eq!(std::fs::read_dir(&location).unwrap().count(), 1);
}

#[tokio::test]
async fn answers_missing_optional_fields_still_decode() {
    let server = MockServer::start(Mock {
        query_answers: [
            (200, json!({ "success": true })),
            (
                200,
                json!({ "success": true, "data": { "rowtype": null, "rowset": null } }),
            ),
            (200, json!({ "success": false })),
        ]
        .into(),
        ..Mock::default()
    })
    .await;
    let client = server.client();
    assert_eq!(client.query("X").await.unwrap().rows.len(), 0);
    assert_eq!(client.query("X").await.unwrap().columns.len(), 0);
    assert!(matches!(
        client.query("X").await.unwrap_err(),
        Error::Statement { .. }
    ));
}
