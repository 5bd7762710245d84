//! Stage upload: `PUT` is sent as a statement, and the answer's `stageInfo` says where the
//! client itself uploads the file (DESIGN.md section 7, "Stage upload").
//!
//! The client uploads exactly the local file it named in the statement, under that file's name
//! (its basename below the stage folder the answer's `location` names); it never reads a path the
//! server names. Supported storage:
//! - `S3`: object_store with the temporary credentials (`AWS_KEY_ID`, `AWS_SECRET_KEY`,
//!   `AWS_TOKEN`), the region and, when given, `endPoint`;
//! - `AZURE`: object_store with the SAS token (`AZURE_SAS_TOKEN`), `storageAccount` and
//!   `endPoint` (`blob.core.windows.net` and the like);
//! - `GCS`: a plain HTTP PUT to `presignedUrl` (what the Snowflake-protocol test server answers
//!   too), or, without one, a PUT to the bucket with `GCS_ACCESS_TOKEN` as bearer token;
//! - `LOCAL_FS`: a copy, accepted only from a server on loopback.
//!
//! S3 and Azure files above [`UploadLimits::multipart_threshold`] go up in parts read from disk
//! one at a time; smaller files go up in one request. A stage whose answer carries
//! `encryptionMaterial` is client-side encrypted and is refused.
//!
//! Tests point S3 and Azure at local servers with a full `http://127.0.0.1:PORT` URL in
//! `endPoint`; such a URL is accepted only when it and the Snowflake server are both on loopback,
//! so a real account can never steer an upload to plain HTTP.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::{ClientOptions as StoreClientOptions, ObjectStore, PutPayload, WriteMultipart};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use serde::Deserialize;
use tokio::io::AsyncReadExt;
use tracing::{debug, instrument};

use super::client::SnowflakeClient;
use super::error::{Error, Result};

/// Parts in flight at once during a multipart upload.
const PARTS_IN_FLIGHT: usize = 4;

/// When a stage upload goes up in parts, and how big each part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// Files larger than this many bytes are uploaded in parts (S3 and Azure). Default 64 MiB.
    pub multipart_threshold: u64,
    /// Bytes per part. Default 16 MiB; S3 needs at least 5 MiB for every part but the last.
    pub part_size: usize,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits {
            multipart_threshold: 64 * 1024 * 1024,
            part_size: 16 * 1024 * 1024,
        }
    }
}

/// `stageInfo` of a PUT answer; every field may be absent. Never `Debug`: it holds credentials.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct StageInfo {
    location_type: Option<String>,
    location: Option<String>,
    region: Option<String>,
    creds: Option<HashMap<String, serde_json::Value>>,
    presigned_url: Option<String>,
    end_point: Option<String>,
    storage_account: Option<String>,
}

impl StageInfo {
    fn cred(&self, key: &str) -> Option<String> {
        self.creds
            .as_ref()?
            .get(key)?
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }
}

/// The local file being uploaded: where it is, its name, its size.
struct LocalFile<'a> {
    path: &'a Path,
    name: &'a str,
    size: u64,
}

/// Where `endPoint` says the storage is.
#[derive(Debug, PartialEq)]
enum StageEndpoint {
    /// No `endPoint`: the cloud's default host.
    Default,
    /// A bare host name, as Snowflake sends it (`s3.us-west-2.amazonaws.com`,
    /// `blob.core.windows.net`); always HTTPS.
    Host(String),
    /// A full URL on loopback (tests only); the Snowflake server is on loopback too.
    Loopback(url::Url),
}

/// What the PUT statement text will say for `local` and `stage_path`.
pub(crate) fn put_statement(local: &str, stage_path: &str) -> String {
    format!("PUT 'file://{local}' {stage_path} AUTO_COMPRESS=FALSE OVERWRITE=TRUE")
}

impl SnowflakeClient {
    /// Upload `local` into `stage_path` (already quoted, like
    /// `@"db"."s"."_JAS_STAGE"/BOARD/123/`), keeping its file name.
    #[instrument(skip_all, fields(path = %local.display(), bytes = tracing::field::Empty))]
    pub async fn put_file(&self, local: &Path, stage_path: &str) -> Result<()> {
        let (local_text, file_name) = checked_local_file(local)?;
        let size = std::fs::metadata(local)
            .map_err(|source| Error::Io {
                path: local.to_path_buf(),
                source,
            })?
            .len();
        tracing::Span::current().record("bytes", size);
        let file = LocalFile {
            path: local,
            name: &file_name,
            size,
        };

        let data = self
            .execute(&put_statement(&local_text, stage_path))
            .await?;
        if data
            .encryption_material
            .as_ref()
            .is_some_and(|m| !m.is_null() && m.as_array().is_none_or(|a| !a.is_empty()))
        {
            return Err(Error::EncryptedStage);
        }
        let info: StageInfo = match data.stage_info {
            Some(v) => serde_json::from_value(v).map_err(|e| Error::Response {
                endpoint: "/queries/v1/query-request".to_string(),
                message: format!("PUT stageInfo: {e}"),
            })?,
            None => {
                return Err(Error::Response {
                    endpoint: "/queries/v1/query-request".to_string(),
                    message: "PUT answer has no stageInfo".to_string(),
                })
            }
        };

        let location_type = info
            .location_type
            .clone()
            .unwrap_or_default()
            .to_ascii_uppercase();
        debug!(location_type, "uploading to stage");
        match location_type.as_str() {
            _ if info.presigned_url.as_deref().is_some_and(|u| !u.is_empty()) => {
                self.upload_presigned(&info, &file).await
            }
            "LOCAL_FS" => self.upload_local_fs(&info, &file),
            "S3" => {
                let (store, key) = s3_store(&info, self.is_loopback(), &file)?;
                upload_object(store.as_ref(), "S3", &key, &file, self.upload_limits).await
            }
            "AZURE" => {
                let (store, key) = azure_store(&info, self.is_loopback(), &file)?;
                upload_object(store.as_ref(), "AZURE", &key, &file, self.upload_limits).await
            }
            "GCS" => self.upload_gcs_with_token(&info, &file).await,
            _ => Err(Error::UnsupportedStage {
                location_type,
                detail: "unknown locationType".to_string(),
            }),
        }
    }

    async fn upload_presigned(&self, info: &StageInfo, file: &LocalFile<'_>) -> Result<()> {
        let url = info
            .presigned_url
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .ok_or_else(|| Error::Response {
                endpoint: "/queries/v1/query-request".to_string(),
                message: "presignedUrl is not a URL".to_string(),
            })?;
        self.put_http("presignedUrl", url, None, file).await
    }

    /// GCS without a presigned URL: `PUT <endpoint>/<bucket>/<key>` with the access token as
    /// bearer token (the storage XML API; one request, which GCS takes up to 5 TiB).
    async fn upload_gcs_with_token(&self, info: &StageInfo, file: &LocalFile<'_>) -> Result<()> {
        let missing = |what: &str| Error::UnsupportedStage {
            location_type: "GCS".to_string(),
            detail: format!("the PUT answer has no presignedUrl and no {what}"),
        };
        let token = info
            .cred("GCS_ACCESS_TOKEN")
            .ok_or_else(|| missing("GCS_ACCESS_TOKEN"))?;
        let location = info
            .location
            .as_deref()
            .ok_or_else(|| missing("location"))?;
        let (bucket, prefix) = split_location(location);
        let mut url = match stage_endpoint(info, "GCS", self.is_loopback())? {
            StageEndpoint::Default => url::Url::parse("https://storage.googleapis.com"),
            StageEndpoint::Host(host) => url::Url::parse(&format!("https://{host}")),
            StageEndpoint::Loopback(url) => Ok(url),
        }
        .map_err(|_| bad_endpoint("GCS"))?;
        let key = format!("{prefix}{}", file.name);
        url.path_segments_mut()
            .map_err(|_| bad_endpoint("GCS"))?
            .pop_if_empty()
            .push(bucket)
            .extend(key.split('/'));

        let mut bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            Error::UnsupportedStage {
                location_type: "GCS".to_string(),
                detail: "GCS_ACCESS_TOKEN is not a valid header value".to_string(),
            }
        })?;
        bearer.set_sensitive(true);
        self.put_http("GCS", url, Some(bearer), file).await
    }

    /// One HTTP PUT of the whole file (retried like every request of the client).
    async fn put_http(
        &self,
        endpoint: &str,
        url: url::Url,
        authorization: Option<HeaderValue>,
        file: &LocalFile<'_>,
    ) -> Result<()> {
        // A presigned URL takes a single request, so the file is read whole; journal files are
        // far below the sizes where that matters.
        let body =
            bytes::Bytes::from(
                tokio::fs::read(file.path)
                    .await
                    .map_err(|source| Error::Io {
                        path: file.path.to_path_buf(),
                        source,
                    })?,
            );
        let (status, _) = self
            .send(endpoint, |_| {
                let mut request = self
                    .http
                    .put(url.clone())
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .body(body.clone());
                if let Some(auth) = &authorization {
                    request = request.header(AUTHORIZATION, auth.clone());
                }
                request
            })
            .await?;
        if !status.is_success() {
            return Err(Error::Status {
                endpoint: endpoint.to_string(),
                status: status.as_u16(),
            });
        }
        Ok(())
    }

    fn upload_local_fs(&self, info: &StageInfo, file: &LocalFile<'_>) -> Result<()> {
        // A LOCAL_FS stage writes on this machine: accept it only from a server on loopback.
        if !self.is_loopback() {
            return Err(Error::UnsupportedStage {
                location_type: "LOCAL_FS".to_string(),
                detail: "only a server on 127.0.0.1 may answer LOCAL_FS".to_string(),
            });
        }
        let dir = PathBuf::from(info.location.clone().unwrap_or_default());
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        let target = dir.join(file.name);
        std::fs::copy(file.path, &target).map_err(|source| Error::Io {
            path: target,
            source,
        })?;
        Ok(())
    }
}

/// The file as text for the statement and its name; refuse what the statement cannot quote.
fn checked_local_file(local: &Path) -> Result<(String, String)> {
    let bad = |message: &str| Error::LocalFile {
        path: local.to_path_buf(),
        message: message.to_string(),
    };
    let text = local
        .to_str()
        .ok_or_else(|| bad("the path is not UTF-8"))?
        .to_string();
    if !local.is_absolute() {
        return Err(bad("the path must be absolute"));
    }
    if text.contains(['\'', '\\', '\n', '\r']) {
        return Err(bad("the path holds a quote, backslash or line break"));
    }
    let name = local
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| bad("the path has no file name"))?
        .to_string();
    if !local.is_file() {
        return Err(bad("not a file"));
    }
    Ok((text, name))
}

/// `bucket/prefix/` -> (`bucket`, `prefix/`).
fn split_location(location: &str) -> (&str, String) {
    let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
    let prefix = if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_string()
    } else {
        format!("{prefix}/")
    };
    (bucket, prefix)
}

/// True when `url`'s host is this machine (127.0.0.0/8, ::1 or `localhost`).
pub(super) fn url_is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

fn bad_endpoint(location_type: &str) -> Error {
    Error::UnsupportedStage {
        location_type: location_type.to_string(),
        detail: "endPoint is neither a host name nor a loopback URL".to_string(),
    }
}

/// Read `endPoint`: a bare host, or a full URL that only a loopback server may send for a
/// loopback storage server (the test override).
fn stage_endpoint(
    info: &StageInfo,
    location_type: &str,
    server_is_loopback: bool,
) -> Result<StageEndpoint> {
    let Some(raw) = info
        .end_point
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    else {
        return Ok(StageEndpoint::Default);
    };
    if !raw.contains("://") {
        let host = raw.trim_end_matches('/');
        if host.contains(['/', '?', '#', '@']) {
            return Err(bad_endpoint(location_type));
        }
        return Ok(StageEndpoint::Host(host.to_string()));
    }
    let url = url::Url::parse(raw).map_err(|_| bad_endpoint(location_type))?;
    let on_loopback = server_is_loopback && url_is_loopback(&url);
    if !on_loopback || !matches!(url.scheme(), "http" | "https") {
        return Err(Error::UnsupportedStage {
            location_type: location_type.to_string(),
            detail: "an endPoint URL is accepted only on 127.0.0.1 from a server on 127.0.0.1"
                .to_string(),
        });
    }
    Ok(StageEndpoint::Loopback(url))
}

/// Client options of a stage store: plain HTTP only for a loopback endpoint.
fn store_client_options(endpoint: &StageEndpoint) -> StoreClientOptions {
    StoreClientOptions::new().with_allow_http(matches!(endpoint, StageEndpoint::Loopback(_)))
}

/// The S3 store of the stage and the object key of `file`.
fn s3_store(
    info: &StageInfo,
    server_is_loopback: bool,
    file: &LocalFile<'_>,
) -> Result<(Arc<dyn ObjectStore>, String)> {
    let missing = |what: &str| Error::UnsupportedStage {
        location_type: "S3".to_string(),
        detail: format!("the PUT answer has no {what}"),
    };
    let location = info
        .location
        .as_deref()
        .ok_or_else(|| missing("location"))?;
    let (bucket, prefix) = split_location(location);
    let endpoint = stage_endpoint(info, "S3", server_is_loopback)?;

    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_access_key_id(
            info.cred("AWS_KEY_ID")
                .ok_or_else(|| missing("AWS_KEY_ID"))?,
        )
        .with_secret_access_key(
            info.cred("AWS_SECRET_KEY")
                .ok_or_else(|| missing("AWS_SECRET_KEY"))?,
        )
        .with_client_options(store_client_options(&endpoint));
    if let Some(token) = info.cred("AWS_TOKEN") {
        builder = builder.with_token(token);
    }
    if let Some(region) = info.region.as_deref().filter(|r| !r.is_empty()) {
        builder = builder.with_region(region);
    }
    builder = match &endpoint {
        // Virtual-hosted style: AWS no longer promises path-style access for every bucket.
        StageEndpoint::Default => builder.with_virtual_hosted_style_request(true),
        StageEndpoint::Host(host) => builder
            .with_virtual_hosted_style_request(true)
            .with_endpoint(format!("https://{bucket}.{host}")),
        // A local S3 server answers path-style requests on its one address.
        StageEndpoint::Loopback(url) => builder
            .with_virtual_hosted_style_request(false)
            .with_endpoint(url.as_str().trim_end_matches('/')),
    };
    let store = builder.build().map_err(|source| Error::ObjectStore {
        location_type: "S3".to_string(),
        source,
    })?;
    Ok((Arc::new(store), format!("{prefix}{}", file.name)))
}

/// The Azure store of the stage (container from `location`) and the blob name of `file`.
fn azure_store(
    info: &StageInfo,
    server_is_loopback: bool,
    file: &LocalFile<'_>,
) -> Result<(Arc<dyn ObjectStore>, String)> {
    let missing = |what: &str| Error::UnsupportedStage {
        location_type: "AZURE".to_string(),
        detail: format!("the PUT answer has no {what}"),
    };
    let location = info
        .location
        .as_deref()
        .ok_or_else(|| missing("location"))?;
    let (container, prefix) = split_location(location);
    let account = info
        .storage_account
        .as_deref()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| missing("storageAccount"))?;
    let sas = info
        .cred("AZURE_SAS_TOKEN")
        .ok_or_else(|| missing("AZURE_SAS_TOKEN"))?;
    let endpoint = stage_endpoint(info, "AZURE", server_is_loopback)?;

    let mut builder = MicrosoftAzureBuilder::new()
        .with_account(account)
        .with_container_name(container)
        .with_config(AzureConfigKey::SasKey, sas.trim_start_matches('?'))
        .with_client_options(store_client_options(&endpoint));
    builder = match &endpoint {
        StageEndpoint::Default => builder,
        StageEndpoint::Host(host) => builder.with_endpoint(format!("https://{account}.{host}")),
        // The URL is the account's root as given; a local emulator names the account in its
        // path (`http://127.0.0.1:PORT/devstoreaccount1`).
        StageEndpoint::Loopback(url) => {
            builder.with_endpoint(url.as_str().trim_end_matches('/').to_string())
        }
    };
    let store = builder.build().map_err(|source| Error::ObjectStore {
        location_type: "AZURE".to_string(),
        source,
    })?;
    Ok((Arc::new(store), format!("{prefix}{}", file.name)))
}

/// Upload `file` as `key`: one request up to the threshold, parts read from disk above it.
async fn upload_object(
    store: &dyn ObjectStore,
    location_type: &str,
    key: &str,
    file: &LocalFile<'_>,
    limits: UploadLimits,
) -> Result<()> {
    let store_error = |source| Error::ObjectStore {
        location_type: location_type.to_string(),
        source,
    };
    let io_error = |source| Error::Io {
        path: file.path.to_path_buf(),
        source,
    };
    let key = object_store::path::Path::from(key);

    if file.size <= limits.multipart_threshold {
        let bytes = tokio::fs::read(file.path).await.map_err(io_error)?;
        store
            .put(&key, PutPayload::from(bytes))
            .await
            .map_err(store_error)?;
        debug!(location_type, parts = 1, "stage upload done");
        return Ok(());
    }

    let part_size = limits.part_size.max(1);
    let upload = store.put_multipart(&key).await.map_err(store_error)?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, part_size);
    match write_parts(&mut writer, file, part_size).await {
        Ok(()) => {}
        Err(e) => {
            // Abort so the storage drops the parts already sent; the load is retried later.
            let _ = writer.abort().await;
            return Err(match e {
                PartError::Io(source) => io_error(source),
                PartError::Store(source) => store_error(source),
            });
        }
    }
    writer.finish().await.map_err(store_error)?;
    debug!(
        location_type,
        parts = file.size.div_ceil(part_size as u64),
        "stage upload done"
    );
    Ok(())
}

enum PartError {
    Io(std::io::Error),
    Store(object_store::Error),
}

/// Feed the file to `writer` one part at a time, keeping at most a few parts in memory.
async fn write_parts(
    writer: &mut WriteMultipart,
    file: &LocalFile<'_>,
    part_size: usize,
) -> std::result::Result<(), PartError> {
    let mut reader = tokio::fs::File::open(file.path)
        .await
        .map_err(PartError::Io)?;
    let mut buf = vec![0_u8; part_size];
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            let n = reader
                .read(&mut buf[filled..])
                .await
                .map_err(PartError::Io)?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            return Ok(());
        }
        writer
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(PartError::Store)?;
        writer.write(&buf[..filled]);
        if filled < buf.len() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_statement_names_the_file_and_stage_folder() {
        assert_eq!(
            put_statement("/tmp/j/1.parquet", "@\"d\".\"s\".\"_JAS_STAGE\"/BOARD/1/"),
            "PUT 'file:///tmp/j/1.parquet' @\"d\".\"s\".\"_JAS_STAGE\"/BOARD/1/ \
             AUTO_COMPRESS=FALSE OVERWRITE=TRUE"
        );
    }

    #[test]
    fn local_paths_that_cannot_be_quoted_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("it's.parquet");
        std::fs::write(&odd, b"x").unwrap();
        assert!(matches!(
            checked_local_file(&odd),
            Err(Error::LocalFile { .. })
        ));
        assert!(checked_local_file(Path::new("relative.parquet")).is_err());
    }

    #[test]
    fn location_splits_into_bucket_and_prefix() {
        assert_eq!(split_location("b/p/q/"), ("b", "p/q/".to_string()));
        assert_eq!(split_location("b/p"), ("b", "p/".to_string()));
        assert_eq!(split_location("b"), ("b", String::new()));
    }

    fn info_with_endpoint(end_point: &str) -> StageInfo {
        StageInfo {
            end_point: Some(end_point.to_string()),
            ..StageInfo::default()
        }
    }

    #[test]
    fn endpoint_host_is_https_and_urls_only_on_loopback() {
        assert_eq!(
            stage_endpoint(&StageInfo::default(), "S3", false).unwrap(),
            StageEndpoint::Default
        );
        assert_eq!(
            stage_endpoint(&info_with_endpoint("blob.core.windows.net"), "AZURE", false).unwrap(),
            StageEndpoint::Host("blob.core.windows.net".to_string())
        );
        let local = info_with_endpoint("http://127.0.0.1:9000");
        assert!(matches!(
            stage_endpoint(&local, "S3", true).unwrap(),
            StageEndpoint::Loopback(_)
        ));

        // A real account never gets to send an upload to plain HTTP or to a URL of its choice.
        for (info, server_loopback) in [
            (local, false),
            (info_with_endpoint("http://storage.example.com"), true),
            (info_with_endpoint("https://storage.example.com"), true),
            (info_with_endpoint("ftp://127.0.0.1/"), true),
            (info_with_endpoint("evil.example.com/path"), false),
        ] {
            let err = stage_endpoint(&info, "S3", server_loopback).unwrap_err();
            assert!(matches!(err, Error::UnsupportedStage { .. }), "{err:?}");
        }
    }

    #[test]
    fn plain_http_is_allowed_only_for_a_loopback_endpoint() {
        let loopback = StageEndpoint::Loopback(url::Url::parse("http://127.0.0.1:1").unwrap());
        let allowed = |e: &StageEndpoint| {
            store_client_options(e)
                .get_config_value(&object_store::ClientConfigKey::AllowHttp)
                .as_deref()
                == Some("true")
        };
        assert!(allowed(&loopback));
        assert!(!allowed(&StageEndpoint::Host("s3.amazonaws.com".into())));
        assert!(!allowed(&StageEndpoint::Default));
    }
}
