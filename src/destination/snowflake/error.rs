//! Errors of the Snowflake destination.

use std::path::PathBuf;

/// What can go wrong talking to Snowflake. Variants never carry a secret or SQL data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot be used (for example a base URL that cannot take a path).
    #[error("snowflake configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// The private key is in PKCS#1 form (`BEGIN RSA PRIVATE KEY`), which is not accepted.
    #[error(
        "the Snowflake private key is PKCS#1 (BEGIN RSA PRIVATE KEY); convert it to PKCS#8 with \
         `openssl pkcs8 -topk8 -inform PEM -in rsa_key.p1 -out rsa_key.p8 -nocrypt`, or with \
         `-v2 aes-256-cbc` in place of `-nocrypt` to keep it encrypted (then set \
         snowflake.private_key_password)"
    )]
    Pkcs1Key,
    /// The private key is encrypted and no password was configured.
    #[error(
        "the Snowflake private key is encrypted: set snowflake.private_key_password \
         (or SNOWFLAKE_PRIVATE_KEY_PASSWORD)"
    )]
    KeyPasswordMissing,
    /// The encrypted private key could not be opened with the configured password.
    #[error(
        "cannot decrypt the Snowflake private key: wrong snowflake.private_key_password (or \
         SNOWFLAKE_PRIVATE_KEY_PASSWORD); `openssl pkey -in rsa_key.p8 -noout` asks for the \
         password and says whether it opens the key"
    )]
    WrongKeyPassword,
    /// The encrypted private key uses a scheme we cannot decrypt (PBES1, DES, ...).
    #[error(
        "the Snowflake private key is encrypted with a scheme this client cannot open (only \
         PBES2 with AES-CBC is supported); re-encrypt it with \
         `openssl pkcs8 -topk8 -v2 aes-256-cbc -in rsa_key.p8 -out rsa_key_aes.p8`"
    )]
    UnsupportedKeyEncryption,
    /// The private key is not a PEM RSA key we can read.
    #[error("invalid Snowflake private key: {message}")]
    InvalidKey {
        /// What the parser said (never the key).
        message: String,
    },
    /// The JWT could not be signed.
    #[error("cannot sign the Snowflake login JWT")]
    Sign,
    /// The OAuth token file of SNOWFLAKE_MANAGED_TOKEN could not be read.
    #[error("cannot read the Snowflake token file {path}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A request failed in transport (connect, timeout, reset) after all retries.
    #[error("snowflake request to {endpoint} failed after {attempts} attempts")]
    Transport {
        /// The endpoint path (no query string).
        endpoint: String,
        /// Attempts made.
        attempts: u32,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an HTTP status we do not accept (after retries for 5xx/429).
    #[error("snowflake answered HTTP {status} on {endpoint}")]
    Status {
        /// The endpoint path (no query string).
        endpoint: String,
        /// HTTP status.
        status: u16,
    },
    /// The response body is not the JSON shape we expect.
    #[error("unexpected snowflake response from {endpoint}: {message}")]
    Response {
        /// The endpoint path (no query string).
        endpoint: String,
        /// What is wrong (never the body).
        message: String,
    },
    /// Login was refused.
    #[error("snowflake login failed: {code} {message}")]
    Login {
        /// Snowflake's error code.
        code: String,
        /// Snowflake's message.
        message: String,
    },
    /// A statement failed (`success: false`).
    #[error("snowflake statement failed: {code} {message} (query id {})", query_id.as_deref().unwrap_or("none"))]
    Statement {
        /// Snowflake's error code (`002003`).
        code: String,
        /// Snowflake's message.
        message: String,
        /// The query id, when Snowflake gave one.
        query_id: Option<String>,
        /// SQLSTATE, when given.
        sql_state: Option<String>,
    },
    /// A query was still running when the configured deadline passed.
    #[error("snowflake query {query_id} still running after {waited_ms} ms")]
    QueryTimeout {
        /// The query id.
        query_id: String,
        /// Time waited.
        waited_ms: u128,
    },
    /// The result set could not be decoded.
    #[error("cannot decode snowflake result: {message}")]
    Decode {
        /// What is wrong.
        message: String,
    },
    /// The Arrow IPC result could not be read.
    #[error("cannot read snowflake Arrow result")]
    Arrow {
        /// Cause.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// The stage is client-side encrypted; we only upload to server-side encrypted stages.
    #[error(
        "the stage is client-side encrypted (PUT answered with encryption material); \
         recreate it with ENCRYPTION = (TYPE = 'SNOWFLAKE_SSE')"
    )]
    EncryptedStage,
    /// The stage's storage is of a kind this client cannot upload to.
    #[error("uploading to a {location_type} stage is not supported: {detail}")]
    UnsupportedStage {
        /// `locationType` from the PUT response.
        location_type: String,
        /// What is missing.
        detail: String,
    },
    /// The local file to upload is unusable.
    #[error("cannot upload {path}: {message}")]
    LocalFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Reading or copying a file failed.
    #[error("file I/O on {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The object store upload failed.
    #[error("stage upload to {location_type} failed")]
    ObjectStore {
        /// `locationType`.
        location_type: String,
        /// Cause.
        #[source]
        source: object_store::Error,
    },
}

impl Error {
    /// True when trying again later may succeed (transport trouble, server errors, timeouts).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::QueryTimeout { .. } | Error::ObjectStore { .. } => {
                true
            }
            Error::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// Snowflake's error code, when the server gave one.
    pub fn snowflake_code(&self) -> Option<&str> {
        match self {
            Error::Login { code, .. } | Error::Statement { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Result alias for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;
