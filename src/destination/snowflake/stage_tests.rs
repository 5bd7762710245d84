//! Stage upload tests, end to end through [`SnowflakeClient::put_file`]: an in-process mock
//! Snowflake answers the PUT with a `stageInfo` of each cloud, pointing at a real storage server
//! on 127.0.0.1 (moto for S3, azurite for Azure) or at an in-process GCS stand-in; the test then
//! reads the object back from that server.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::http::HeaderMap;
use axum::routing::{post, put};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::{ClientOptions as StoreClientOptions, ObjectStore};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::testkit::{fast_options, token_config, Azurite, MockBase, Moto};
use super::{ClientOptions, Error, SnowflakeClient, UploadLimits};

const STAGE_PATH: &str = "@\"DB\".\"S\".\"_JAS_STAGE\"/BOARD/7/";

/// What the mock Snowflake saw and what it answers.
#[derive(Default)]
struct Seen {
    stage_info: Value,
    statements: Vec<String>,
    gcs_puts: Vec<(String, String, Vec<u8>)>,
}

type Shared = Arc<Mutex<Seen>>;

async fn login() -> Json<Value> {
    Json(json!({ "success": true, "data": { "token": "session-1" } }))
}

async fn query(State(s): State<Shared>, Json(body): Json<Value>) -> Json<Value> {
    let mut seen = s.lock().unwrap();
    seen.statements
        .push(body["sqlText"].as_str().unwrap_or_default().to_string());
    Json(json!({ "success": true, "data": {
        "queryId": "q-put",
        "command": "UPLOAD",
        // The server names some other file; the client must ignore it.
        "src_locations": ["/etc/passwd"],
        "encryptionMaterial": null,
        "stageInfo": seen.stage_info.clone(),
    } }))
}

/// Stands in for the GCS XML API: records the object path, the Authorization header, the body.
async fn gcs_put(
    State(s): State<Shared>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> &'static str {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    s.lock().unwrap().gcs_puts.push((path, auth, body.to_vec()));
    ""
}

struct MockSnowflake {
    seen: Shared,
    mock: MockBase,
}

impl MockSnowflake {
    async fn start(stage_info: Value) -> MockSnowflake {
        let seen: Shared = Arc::new(Mutex::new(Seen {
            stage_info,
            ..Seen::default()
        }));
        let app = Router::new()
            .route("/session/v1/login-request", post(login))
            .route("/queries/v1/query-request", post(query))
            .route("/gcs/{*path}", put(gcs_put))
            .with_state(seen.clone());
        MockSnowflake {
            seen,
            mock: MockBase::serve(app).await,
        }
    }

    fn client(&self) -> SnowflakeClient {
        let cfg = token_config(self.mock.base.clone(), "DB", "S", &self.mock.token_file);
        let options = ClientOptions {
            max_retries: 1,
            ..fast_options()
        };
        SnowflakeClient::with_options(&cfg, options).unwrap()
    }

    fn statements(&self) -> Vec<String> {
        self.seen.lock().unwrap().statements.clone()
    }
}

/// Deterministic, non-repeating-looking content of `len` bytes.
fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
}

/// A journal-like file `<dir>/7.parquet` holding `bytes`.
fn journal_file(dir: &Path, bytes: &[u8]) -> std::path::PathBuf {
    let file = dir.join("7.parquet");
    std::fs::write(&file, bytes).unwrap();
    file
}

/// Where the stage folder `STAGE_PATH` puts the file `7.parquet` in every mock stage.
const STAGED_KEY: &str = "stages/acct1/BOARD/7/7.parquet";

/// Upload `bytes` as `7.parquet` with `client`; returns the local file's path.
async fn upload(client: &SnowflakeClient, dir: &Path, bytes: &[u8]) -> std::path::PathBuf {
    let file = journal_file(dir, bytes);
    client.put_file(&file, STAGE_PATH).await.unwrap();
    file
}

/// The bytes of the staged file, after checking it is the only object in `store`.
async fn staged_bytes(store: &dyn ObjectStore) -> Vec<u8> {
    assert_eq!(all_keys(store).await, vec![STAGED_KEY.to_string()]);
    store
        .get(&STAGED_KEY.into())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

/// An upload into a stage whose bucket or container does not exist: the error.
async fn failed_upload(snowflake: &MockSnowflake) -> Error {
    let dir = tempfile::tempdir().unwrap();
    let file = journal_file(dir.path(), b"PAR1");
    snowflake
        .client()
        .put_file(&file, STAGE_PATH)
        .await
        .unwrap_err()
}

// ---------------------------------------------------------------------------------------------
// S3 (moto)

const S3_BUCKET: &str = "sfc-stage-bucket";
const S3_SECRET: &str = "s3-secret-never-logged";

async fn create_bucket(moto: &Moto) {
    let url = moto.base_url().join(S3_BUCKET).unwrap();
    let status = reqwest::Client::new()
        .put(url)
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "create bucket: {status}");
}

fn s3_stage_info(moto: &Moto) -> Value {
    json!({
        "locationType": "S3",
        "location": format!("{S3_BUCKET}/stages/acct1/BOARD/7/"),
        "path": "stages/acct1/BOARD/7/",
        "region": "us-east-1",
        "endPoint": moto.base_url().as_str().trim_end_matches('/'),
        "creds": { "AWS_KEY_ID": "ASIAEXAMPLE", "AWS_SECRET_KEY": S3_SECRET,
                   "AWS_TOKEN": "session-token-never-logged" },
    })
}

/// A reader of the moto bucket, independent of the code under test.
fn moto_bucket(moto: &Moto) -> impl ObjectStore {
    AmazonS3Builder::new()
        .with_bucket_name(S3_BUCKET)
        .with_region("us-east-1")
        .with_access_key_id("reader")
        .with_secret_access_key("reader")
        .with_endpoint(moto.base_url().as_str().trim_end_matches('/'))
        .with_client_options(StoreClientOptions::new().with_allow_http(true))
        .build()
        .unwrap()
}

async fn all_keys(store: &dyn ObjectStore) -> Vec<String> {
    use futures::TryStreamExt;
    let mut keys: Vec<String> = store
        .list(None)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    keys.sort();
    keys
}

#[tokio::test]
async fn s3_stage_receives_the_named_file_under_the_stage_prefix() {
    let Some(moto) = Moto::start() else {
        return;
    };
    create_bucket(&moto).await;
    let snowflake = MockSnowflake::start(s3_stage_info(&moto)).await;
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(70_000);

    let file = upload(&snowflake.client(), dir.path(), &bytes).await;

    assert_eq!(staged_bytes(&moto_bucket(&moto)).await, bytes);
    let statements = snowflake.statements();
    assert_eq!(statements.len(), 1);
    assert!(statements[0].starts_with(&format!("PUT 'file://{}' ", file.display())));
}

#[tokio::test]
async fn s3_large_file_goes_up_in_parts() {
    let Some(moto) = Moto::start() else {
        return;
    };
    create_bucket(&moto).await;
    let snowflake = MockSnowflake::start(s3_stage_info(&moto)).await;
    let dir = tempfile::tempdir().unwrap();
    // 5 MiB is S3's smallest part: 12 MiB makes parts of 5, 5 and 2 MiB.
    let bytes = content(12 * 1024 * 1024);
    let client = snowflake.client().with_upload_limits(UploadLimits {
        multipart_threshold: 6 * 1024 * 1024,
        part_size: 5 * 1024 * 1024,
    });

    upload(&client, dir.path(), &bytes).await;

    let store = moto_bucket(&moto);
    // A multipart object's ETag ends in "-<number of parts>".
    let etag = store
        .head(&STAGED_KEY.into())
        .await
        .unwrap()
        .e_tag
        .unwrap_or_default();
    assert!(etag.trim_matches('"').ends_with("-3"), "etag {etag}");
    let got = staged_bytes(&store).await;
    assert_eq!(got.len(), bytes.len());
    assert!(got == bytes);
}

#[tokio::test]
async fn s3_failure_names_no_secret() {
    let Some(moto) = Moto::start() else {
        return;
    };
    // No bucket created: the upload fails.
    let snowflake = MockSnowflake::start(s3_stage_info(&moto)).await;

    let err = failed_upload(&snowflake).await;

    assert!(matches!(err, Error::ObjectStore { .. }), "{err:?}");
    let text = format!("{err:?} {}", error_chain(&err));
    assert!(!text.contains(S3_SECRET), "{text}");
    assert!(!text.contains("session-token-never-logged"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Azure (azurite)

const AZURE_CONTAINER: &str = "sfcstage";

/// HMAC-SHA256 (RFC 2104), enough to sign a SAS token for the emulator.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0_u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner = Sha256::new()
        .chain_update(block.map(|b| b ^ 0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(block.map(|b| b ^ 0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// An account SAS for blobs (service `b`, every resource type) signed with the emulator's key,
/// in the leading-`?` form Snowflake sends.
fn emulator_sas() -> String {
    let (version, permissions, expiry) = ("2018-11-09", "rwdlac", "2099-01-01T00:00:00Z");
    let string_to_sign = format!(
        "{}\n{permissions}\nb\nsco\n\n{expiry}\n\n\n{version}\n",
        Azurite::ACCOUNT
    );
    let key = STANDARD.decode(Azurite::KEY).unwrap();
    let sig = STANDARD.encode(hmac_sha256(&key, string_to_sign.as_bytes()));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("sv", version)
        .append_pair("ss", "b")
        .append_pair("srt", "sco")
        .append_pair("sp", permissions)
        .append_pair("se", expiry)
        .append_pair("sig", &sig)
        .finish();
    format!("?{query}")
}

async fn create_container(azurite: &Azurite) {
    let url = format!(
        "{}/{AZURE_CONTAINER}{}&restype=container",
        azurite.account_url(),
        emulator_sas()
    );
    let resp = reqwest::Client::new()
        .put(url)
        .header("x-ms-version", "2021-08-06")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "create container: {resp:?}");
}

fn azure_stage_info(azurite: &Azurite) -> Value {
    json!({
        "locationType": "AZURE",
        "location": format!("{AZURE_CONTAINER}/stages/acct1/BOARD/7/"),
        "path": "stages/acct1/BOARD/7/",
        "region": "westeurope",
        "storageAccount": Azurite::ACCOUNT,
        "endPoint": azurite.account_url().as_str(),
        "creds": { "AZURE_SAS_TOKEN": emulator_sas() },
    })
}

/// A reader of the azurite container, independent of the code under test.
fn azurite_container(azurite: &Azurite) -> impl ObjectStore {
    MicrosoftAzureBuilder::new()
        .with_account(Azurite::ACCOUNT)
        .with_container_name(AZURE_CONTAINER)
        .with_access_key(Azurite::KEY)
        .with_endpoint(azurite.account_url().to_string())
        .with_client_options(StoreClientOptions::new().with_allow_http(true))
        .build()
        .unwrap()
}

#[tokio::test]
async fn azure_stage_receives_the_named_file_in_the_container() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    create_container(&azurite).await;
    let snowflake = MockSnowflake::start(azure_stage_info(&azurite)).await;
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(90_001);

    upload(&snowflake.client(), dir.path(), &bytes).await;

    assert_eq!(staged_bytes(&azurite_container(&azurite)).await, bytes);
}

#[tokio::test]
async fn azure_large_file_goes_up_in_blocks() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    create_container(&azurite).await;
    let snowflake = MockSnowflake::start(azure_stage_info(&azurite)).await;
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(3 * 1024 * 1024 + 512 * 1024);
    let client = snowflake.client().with_upload_limits(UploadLimits {
        multipart_threshold: 1024 * 1024,
        part_size: 1024 * 1024,
    });

    upload(&client, dir.path(), &bytes).await;

    // The committed block list shows the parts: 1 + 1 + 1 + 0.5 MiB.
    let url = format!(
        "{}/{AZURE_CONTAINER}/{STAGED_KEY}{}&comp=blocklist&blocklisttype=committed",
        azurite.account_url(),
        emulator_sas()
    );
    let list = reqwest::Client::new()
        .get(url)
        .header("x-ms-version", "2021-08-06")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(list.matches("<Block>").count(), 4, "{list}");
    assert!(staged_bytes(&azurite_container(&azurite)).await == bytes);
}

#[tokio::test]
async fn azure_failure_names_no_sas_signature() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    // No container created: the upload fails.
    let snowflake = MockSnowflake::start(azure_stage_info(&azurite)).await;

    let err = failed_upload(&snowflake).await;

    assert!(matches!(err, Error::ObjectStore { .. }), "{err:?}");
    let sas = emulator_sas();
    let sig = url::form_urlencoded::parse(sas.trim_start_matches('?').as_bytes())
        .find(|(k, _)| k == "sig")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let text = format!("{err:?} {}", error_chain(&err));
    for secret in [
        sig.clone(),
        url::form_urlencoded::byte_serialize(sig.as_bytes()).collect(),
    ] {
        assert!(!text.contains(&secret), "{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// GCS

fn gcs_stage_info(snowflake_base: &url::Url, creds: Value) -> Value {
    json!({
        "locationType": "GCS",
        "location": "sfc-gcs-bucket/stages/acct1/BOARD/7/",
        "region": "US-CENTRAL1",
        "endPoint": snowflake_base.join("gcs").unwrap().as_str(),
        "presignedUrl": null,
        "creds": creds,
    })
}

#[tokio::test]
async fn gcs_without_presigned_url_puts_with_the_access_token() {
    let snowflake = MockSnowflake::start(Value::Null).await;
    let info = gcs_stage_info(
        &snowflake.mock.base,
        json!({ "GCS_ACCESS_TOKEN": "ya29.gcs-token" }),
    );
    snowflake.seen.lock().unwrap().stage_info = info;
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(40_000);
    let file = journal_file(dir.path(), &bytes);

    snowflake
        .client()
        .put_file(&file, STAGE_PATH)
        .await
        .unwrap();

    let seen = snowflake.seen.lock().unwrap();
    assert_eq!(seen.gcs_puts.len(), 1);
    let (path, auth, body) = &seen.gcs_puts[0];
    assert_eq!(path, "sfc-gcs-bucket/stages/acct1/BOARD/7/7.parquet");
    assert_eq!(auth, "Bearer ya29.gcs-token");
    assert!(body == &bytes);
}

#[tokio::test]
async fn gcs_without_presigned_url_or_token_is_refused() {
    let snowflake = MockSnowflake::start(Value::Null).await;
    let info = gcs_stage_info(&snowflake.mock.base, json!({}));
    snowflake.seen.lock().unwrap().stage_info = info;
    let dir = tempfile::tempdir().unwrap();
    let file = journal_file(dir.path(), b"PAR1");

    let err = snowflake
        .client()
        .put_file(&file, STAGE_PATH)
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::UnsupportedStage { location_type, .. } if location_type == "GCS"),
        "{err:?}"
    );
    assert!(err.to_string().contains("GCS_ACCESS_TOKEN"), "{err}");
    assert!(snowflake.seen.lock().unwrap().gcs_puts.is_empty());
}

#[tokio::test]
async fn gcs_presigned_url_wins_over_the_token() {
    let snowflake = MockSnowflake::start(Value::Null).await;
    let mut info = gcs_stage_info(
        &snowflake.mock.base,
        json!({ "GCS_ACCESS_TOKEN": "unused" }),
    );
    info["presignedUrl"] = json!(snowflake
        .mock
        .base
        .join("gcs/signed-bucket/obj/7.parquet?X-Goog-Signature=abc")
        .unwrap()
        .as_str());
    snowflake.seen.lock().unwrap().stage_info = info;
    let dir = tempfile::tempdir().unwrap();
    let file = journal_file(dir.path(), b"PAR1 presigned");

    snowflake
        .client()
        .put_file(&file, STAGE_PATH)
        .await
        .unwrap();

    let seen = snowflake.seen.lock().unwrap();
    assert_eq!(seen.gcs_puts.len(), 1);
    assert_eq!(seen.gcs_puts[0].0, "signed-bucket/obj/7.parquet");
    assert_eq!(
        seen.gcs_puts[0].1, "",
        "a presigned PUT carries no bearer token"
    );
    assert_eq!(seen.gcs_puts[0].2, b"PAR1 presigned");
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(" | ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[test]
fn hmac_matches_rfc_4231_case_2() {
    let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}
