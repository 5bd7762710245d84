//! Stage upload: `PUT` is sent as a statement, and the answer's `stageInfo` says where the
//! client itself uploads the file (DESIGN.md section 7, "Stage upload").
//!
//! The client uploads exactly the local file it named in the statement, under that file's name;
//! it never reads a path the server names. Supported storage: a GCS-style `presignedUrl` (plain
//! HTTP PUT; what the Snowflake-protocol test server answers), `LOCAL_FS` (copy; only for a
//! server on loopback), S3 and Azure via object_store with the temporary credentials. A stage
//! whose answer carries `encryptionMaterial` is client-side encrypted and is refused.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use object_store::aws::AmazonS3Builder;
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::{ObjectStore, PutPayload};
use serde::Deserialize;
use tracing::{debug, instrument};

use super::client::SnowflakeClient;
use super::error::{Error, Result};

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
        let bytes = tokio::fs::read(local).await.map_err(|source| Error::Io {
            path: local.to_path_buf(),
            source,
        })?;
        tracing::Span::current().record("bytes", bytes.len());

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

        let location_type = info.location_type.clone().unwrap_or_default();
        debug!(location_type, "uploading to stage");
        match location_type.to_ascii_uppercase().as_str() {
            _ if info.presigned_url.as_deref().is_some_and(|u| !u.is_empty()) => {
                self.upload_presigned(&info, bytes).await
            }
            "LOCAL_FS" => self.upload_local_fs(&info, local, &file_name),
            "S3" => upload_s3(&info, &file_name, bytes).await,
            "AZURE" => upload_azure(&info, &file_name, bytes).await,
            "GCS" => Err(Error::UnsupportedStage {
                location_type,
                detail: "no presignedUrl in the PUT answer (GCS access tokens are not supported)"
                    .to_string(),
            }),
            _ => Err(Error::UnsupportedStage {
                location_type,
                detail: "unknown locationType".to_string(),
            }),
        }
    }

    async fn upload_presigned(&self, info: &StageInfo, bytes: Vec<u8>) -> Result<()> {
        let url = info
            .presigned_url
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .ok_or_else(|| Error::Response {
                endpoint: "/queries/v1/query-request".to_string(),
                message: "presignedUrl is not a URL".to_string(),
            })?;
        let body = bytes::Bytes::from(bytes);
        let (status, _) = self
            .send("presignedUrl", |_| {
                self.http
                    .put(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                    .body(body.clone())
            })
            .await?;
        if !status.is_success() {
            return Err(Error::Status {
                endpoint: "presignedUrl".to_string(),
                status: status.as_u16(),
            });
        }
        Ok(())
    }

    fn upload_local_fs(&self, info: &StageInfo, local: &Path, file_name: &str) -> Result<()> {
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
        let target = dir.join(file_name);
        std::fs::copy(local, &target).map_err(|source| Error::Io {
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

async fn upload_s3(info: &StageInfo, file_name: &str, bytes: Vec<u8>) -> Result<()> {
    let missing = |what: &str| Error::UnsupportedStage {
        location_type: "S3".to_string(),
        detail: format!("the PUT answer has no {what}"),
    };
    let location = info
        .location
        .as_deref()
        .ok_or_else(|| missing("location"))?;
    let (bucket, prefix) = split_location(location);
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_access_key_id(
            info.cred("AWS_KEY_ID")
                .ok_or_else(|| missing("AWS_KEY_ID"))?,
        )
        .with_secret_access_key(
            info.cred("AWS_SECRET_KEY")
                .ok_or_else(|| missing("AWS_SECRET_KEY"))?,
        );
    if let Some(token) = info.cred("AWS_TOKEN") {
        builder = builder.with_token(token);
    }
    if let Some(region) = info.region.as_deref().filter(|r| !r.is_empty()) {
        builder = builder.with_region(region);
    }
    if let Some(ep) = info.end_point.as_deref().filter(|e| !e.is_empty()) {
        builder = builder.with_endpoint(format!("https://{ep}"));
    }
    let store = builder.build().map_err(|source| Error::ObjectStore {
        location_type: "S3".to_string(),
        source,
    })?;
    put_object(&store, "S3", &format!("{prefix}{file_name}"), bytes).await
}

async fn upload_azure(info: &StageInfo, file_name: &str, bytes: Vec<u8>) -> Result<()> {
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
        .ok_or_else(|| missing("storageAccount"))?;
    let sas = info
        .cred("AZURE_SAS_TOKEN")
        .ok_or_else(|| missing("AZURE_SAS_TOKEN"))?;
    let mut builder = MicrosoftAzureBuilder::new()
        .with_account(account)
        .with_container_name(container)
        .with_config(AzureConfigKey::SasKey, sas.trim_start_matches('?'));
    if let Some(ep) = info.end_point.as_deref().filter(|e| !e.is_empty()) {
        builder = builder.with_endpoint(format!("https://{account}.{ep}"));
    }
    let store = builder.build().map_err(|source| Error::ObjectStore {
        location_type: "AZURE".to_string(),
        source,
    })?;
    put_object(&store, "AZURE", &format!("{prefix}{file_name}"), bytes).await
}

async fn put_object(
    store: &dyn ObjectStore,
    location_type: &str,
    key: &str,
    bytes: Vec<u8>,
) -> Result<()> {
    store
        .put(
            &object_store::path::Path::from(key),
            PutPayload::from(bytes),
        )
        .await
        .map_err(|source| Error::ObjectStore {
            location_type: location_type.to_string(),
            source,
        })?;
    Ok(())
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
}
