//! Login credentials: the KEY_PAIR JWT and the SNOWFLAKE_MANAGED_TOKEN OAuth token.
//!
//! Snowflake's key-pair authentication:
//! <https://docs.snowflake.com/en/user-guide/key-pair-auth>. The JWT is RS256 with
//! `iss = ACCOUNT.USER.SHA256:<fingerprint>` and `sub = ACCOUNT.USER`, both upper-case.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use sha2::{Digest, Sha256};

use super::error::{Error, Result};

/// Lifetime of a login JWT; Snowflake accepts at most one hour.
const JWT_LIFETIME_SECS: i64 = 59 * 60;

/// A parsed key pair, ready to sign login JWTs.
pub(crate) struct KeyPair {
    key: RsaPrivateKey,
    fingerprint: String,
    account: String,
    user: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("account", &self.account)
            .field("user", &self.user)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// Parse the PEM key (opening an encrypted one with `password`) for `account` and `user`.
    pub(crate) fn try_new(
        pem: &str,
        password: Option<&str>,
        account_identifier: &str,
        user: &str,
    ) -> Result<Self> {
        let key = parse_private_key(pem, password)?;
        let fingerprint = public_key_fingerprint(&key)?;
        Ok(KeyPair {
            key,
            fingerprint,
            account: jwt_account(account_identifier),
            user: user.to_uppercase(),
        })
    }

    /// `SHA256:<base64>` of the public key's DER (SubjectPublicKeyInfo).
    pub(crate) fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The account part of the claims (upper-case, without region).
    pub(crate) fn account(&self) -> &str {
        &self.account
    }

    /// The upper-case user name.
    pub(crate) fn user(&self) -> &str {
        &self.user
    }

    /// A signed JWT issued at `now` (seconds since the epoch).
    pub(crate) fn jwt(&self, now: i64) -> Result<String> {
        let qualified = format!("{}.{}", self.account, self.user);
        let header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
        let claims = serde_json::json!({
            "iss": format!("{qualified}.{}", self.fingerprint),
            "sub": qualified,
            "iat": now,
            "exp": now + JWT_LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );

        let signer = SigningKey::<Sha256>::new(self.key.clone());
        let signature = signer
            .try_sign(signing_input.as_bytes())
            .map_err(|_| Error::Sign)?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        ))
    }
}

/// The account as the JWT claims name it: for a locator with a region (`xy12345.us-east-1`)
/// the part before the first dot, for `<org>-<account>` the whole identifier; upper-case.
pub(crate) fn jwt_account(account_identifier: &str) -> String {
    account_identifier
        .split('.')
        .next()
        .unwrap_or(account_identifier)
        .to_uppercase()
}

fn parse_private_key(pem: &str, password: Option<&str>) -> Result<RsaPrivateKey> {
    // A key passed through an environment variable often arrives with `\n` escapes in place
    // of line breaks; PEM needs the real ones.
    let unescaped;
    let mut pem = pem.trim();
    if !pem.contains('\n') && pem.contains("\\n") {
        unescaped = pem.replace("\\n", "\n");
        pem = &unescaped;
    }

    if pem.contains("BEGIN RSA PRIVATE KEY") {
        return Err(Error::Pkcs1Key);
    }
    if pem.contains("BEGIN ENCRYPTED PRIVATE KEY") {
        let password = password.ok_or(Error::KeyPasswordMissing)?;
        return decrypt_private_key(pem, password);
    }
    if pem.contains("BEGIN PRIVATE KEY") {
        return RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| Error::InvalidKey {
            message: e.to_string(),
        });
    }
    Err(Error::InvalidKey {
        message: "expected a PKCS#8 PEM key (BEGIN PRIVATE KEY or BEGIN ENCRYPTED PRIVATE KEY)"
            .to_string(),
    })
}

/// Open an encrypted PKCS#8 key, telling a wrong password from a scheme we cannot decrypt.
fn decrypt_private_key(pem: &str, password: &str) -> Result<RsaPrivateKey> {
    use pkcs8::{pkcs5, EncryptedPrivateKeyInfo, SecretDocument};

    let (_, document) = SecretDocument::from_pem(pem).map_err(|e| Error::InvalidKey {
        message: e.to_string(),
    })?;
    // The structure names the scheme; one we cannot even read (PBES1 with a PKCS#12 cipher,
    // for example) fails here, before any password is tried.
    let info = EncryptedPrivateKeyInfo::try_from(document.as_bytes())
        .map_err(|_| Error::UnsupportedKeyEncryption)?;
    let decrypted = info.decrypt(password).map_err(|e| match e {
        rsa::pkcs8::Error::EncryptedPrivateKey(
            pkcs5::Error::UnsupportedAlgorithm { .. }
            | pkcs5::Error::AlgorithmParametersInvalid { .. }
            | pkcs5::Error::NoPbes1CryptSupport,
        ) => Error::UnsupportedKeyEncryption,
        // A wrong password fails the padding check (reported as a cipher failure).
        _ => Error::WrongKeyPassword,
    })?;
    // Rarely a wrong password passes the padding check and yields bytes that are no key.
    RsaPrivateKey::from_pkcs8_der(decrypted.as_bytes()).map_err(|_| Error::WrongKeyPassword)
}

fn public_key_fingerprint(key: &RsaPrivateKey) -> Result<String> {
    let der = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| Error::InvalidKey {
            message: e.to_string(),
        })?;
    let digest = Sha256::digest(der.as_bytes());
    Ok(format!("SHA256:{}", STANDARD.encode(digest)))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::pkcs8::DecodePublicKey;
    use rsa::signature::Verifier;
    use rsa::RsaPublicKey;

    use super::*;

    fn openssl(args: &[&str], dir: &Path) -> Vec<u8> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn generate_key(dir: &Path) -> String {
        openssl(
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                "key.p8",
            ],
            dir,
        );
        std::fs::read_to_string(dir.join("key.p8")).unwrap()
    }

    #[test]
    fn jwt_issuer_fingerprint_matches_openssl_and_signature_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let pem = generate_key(dir.path());

        // Fingerprint as Snowflake's docs compute it, with the openssl CLI.
        let der = openssl(
            &["pkey", "-in", "key.p8", "-pubout", "-outform", "DER"],
            dir.path(),
        );
        let expected = STANDARD.encode(Sha256::digest(&der));
        let piped = Command::new("sh")
            .arg("-c")
            .arg("openssl pkey -in key.p8 -pubout -outform DER | openssl dgst -sha256 -binary | base64")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(piped.stdout).unwrap().trim(), expected);

        let kp = KeyPair::try_new(&pem, None, "myorg-acct1", "etl_user").unwrap();
        assert_eq!(kp.fingerprint(), format!("SHA256:{expected}"));
        let jwt = kp.jwt(1_700_000_000).unwrap();

        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            claims["iss"],
            format!("MYORG-ACCT1.ETL_USER.SHA256:{expected}")
        );
        assert_eq!(claims["sub"], "MYORG-ACCT1.ETL_USER");
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["exp"], 1_700_000_000 + 59 * 60);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");

        // The signature verifies with the public key as openssl exports it.
        let pub_pem =
            String::from_utf8(openssl(&["pkey", "-in", "key.p8", "-pubout"], dir.path())).unwrap();
        let public = RsaPublicKey::from_public_key_pem(&pub_pem).unwrap();
        let verifier = VerifyingKey::<Sha256>::new(public);
        let sig =
            Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice()).unwrap();
        let signing_input = format!("{}.{}", parts[0], parts[1]);
        verifier.verify(signing_input.as_bytes(), &sig).unwrap();
    }

    #[test]
    fn locator_with_region_uses_the_part_before_the_first_dot() {
        assert_eq!(jwt_account("xy12345.us-east-1"), "XY12345");
        assert_eq!(jwt_account("myorg-acct1"), "MYORG-ACCT1");
    }

    #[test]
    fn encrypted_key_opens_with_password_and_refuses_wrong_one() {
        let dir = tempfile::tempdir().unwrap();
        generate_key(dir.path());
        openssl(
            &[
                "pkcs8",
                "-topk8",
                "-in",
                "key.p8",
                "-out",
                "enc.p8",
                "-v2",
                "aes-256-cbc",
                "-passout",
                "pass:s3cret",
            ],
            dir.path(),
        );
        let enc = std::fs::read_to_string(dir.path().join("enc.p8")).unwrap();
        assert!(enc.contains("BEGIN ENCRYPTED PRIVATE KEY"));

        let plain = KeyPair::try_new(
            &std::fs::read_to_string(dir.path().join("key.p8")).unwrap(),
            None,
            "a",
            "u",
        )
        .unwrap();
        let opened = KeyPair::try_new(&enc, Some("s3cret"), "a", "u").unwrap();
        assert_eq!(opened.fingerprint(), plain.fingerprint());

        let wrong = KeyPair::try_new(&enc, Some("nope"), "a", "u").unwrap_err();
        assert!(matches!(wrong, Error::WrongKeyPassword), "{wrong:?}");
        assert!(wrong
            .to_string()
            .contains("wrong snowflake.private_key_password"));

        let missing = KeyPair::try_new(&enc, None, "a", "u").unwrap_err();
        assert!(matches!(missing, Error::KeyPasswordMissing));
    }

    #[test]
    fn pkcs1_key_is_refused_with_conversion_hint() {
        let dir = tempfile::tempdir().unwrap();
        generate_key(dir.path());
        openssl(
            &["rsa", "-in", "key.p8", "-traditional", "-out", "key.p1"],
            dir.path(),
        );
        let p1 = std::fs::read_to_string(dir.path().join("key.p1")).unwrap();
        assert!(p1.contains("BEGIN RSA PRIVATE KEY"));
        let err = KeyPair::try_new(&p1, None, "a", "u").unwrap_err();
        assert!(matches!(err, Error::Pkcs1Key));
        assert!(err
            .to_string()
            .contains("openssl pkcs8 -topk8 -inform PEM -in rsa_key.p1 -out rsa_key.p8 -nocrypt"));
    }

    #[test]
    fn debug_shows_no_key() {
        let dir = tempfile::tempdir().unwrap();
        let pem = generate_key(dir.path());
        let kp = KeyPair::try_new(&pem, None, "a", "u").unwrap();
        let dbg = format!("{kp:?}");
        assert!(!dbg.contains("PRIVATE"));
        assert!(dbg.contains("fingerprint"));
    }
}
