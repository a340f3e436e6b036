//! The Ed25519 key that signs access tokens, and the JWKS that publishes it.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// One public key in JWK form (RFC 8037: `OKP`, `Ed25519`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "Qm9vM2Jh…", "alg": "EdDSA", "use": "sig"}))]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    /// The public key, base64url.
    pub x: String,
    /// The key id, its RFC 7638 thumbprint.
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub key_use: &'static str,
}

/// `/.well-known/jwks.json`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

pub struct Keys {
    /// Seals what the service must read back but a database dump must not reveal (the
    /// webhook endpoints' signing secrets): 32 bytes from `PASSERELLE_SECRETS_KEY_FILE`, or
    /// generated once in the data folder ([`load_or_generate_sealing_key`]). Every
    /// instance must share it.
    pub sealing_key: [u8; 32],
    /// Seals the responses kept for idempotent replays (`http::idempotency`): derived from
    /// the signing key (HKDF-SHA256), so every instance sharing the signing key opens what
    /// another sealed, and nothing else is to configure.
    pub replay_key: [u8; 32],
    pub kid: String,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    pub jwks: JwkSet,
}

/// The key as `openssl genpkey -algorithm ed25519` writes it: PKCS#8 v1 (RFC 8410 §7,
/// `PrivateKeyInfo` without the public key), PEM `PRIVATE KEY`. ed25519-dalek's own
/// encoding is the v2 `OneAsymmetricKey`, which OpenSSL 3 and Python's `cryptography`
/// refuse; both forms are read.
pub fn private_key_pem(key: &SigningKey) -> Result<String, String> {
    let bytes = ed25519_dalek::pkcs8::KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    bytes
        .to_pkcs8_pem(LineEnding::LF)
        .map(|pem| pem.to_string())
        .map_err(|e| e.to_string())
}

impl Keys {
    pub fn from_signing_key(key: &SigningKey) -> Result<Keys, String> {
        let pem = private_key_pem(key)?;
        let encoding = EncodingKey::from_ed_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        let x = URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
        // RFC 7638: SHA-256 over the required members in lexicographic order.
        let thumbprint_input = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint_input.as_bytes()));
        let decoding = DecodingKey::from_ed_components(&x).map_err(|e| e.to_string())?;
        let jwk = Jwk {
            kty: "OKP",
            crv: "Ed25519",
            x,
            kid: kid.clone(),
            alg: "EdDSA",
            key_use: "sig",
        };
        let mut replay_key = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(None, &key.to_bytes())
            .expand(b"passerelle idempotency replay v1", &mut replay_key)
            .map_err(|e| e.to_string())?;
        let mut sealing_key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut sealing_key);
        Ok(Keys {
            sealing_key,
            replay_key,
            kid,
            encoding,
            decoding,
            jwks: JwkSet { keys: vec![jwk] },
        })
    }

    pub fn generate() -> Keys {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        Keys::from_signing_key(&key).expect("a fresh key encodes")
    }

    /// Reads a PKCS#8 PEM key (v1 as OpenSSL writes it, or v2 with its public key).
    pub fn from_pem_file(path: &Path) -> Result<Keys, String> {
        let pem = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
            format!(
                "{} is not a PKCS#8 Ed25519 private key: {e}",
                path.display()
            )
        })?;
        Keys::from_signing_key(&key)
    }

    /// Reads the key at `path`, generating it (mode 0600) on first use.
    pub fn load_or_generate(path: &Path) -> Result<Keys, String> {
        if path.exists() {
            return Keys::from_pem_file(path);
        }
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let pem = private_key_pem(&key)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        write_private_file(path, pem.as_bytes())?;
        log::info!("generated a new token signing key in {}", path.display());
        Keys::from_signing_key(&key)
    }
}

/// The sealing key of [`Keys::sealing_key`]: the base64 of 32 bytes in `path`, which is
/// generated (mode 0600) on first use.
pub fn load_or_generate_sealing_key(path: &Path) -> Result<[u8; 32], String> {
    use base64::engine::general_purpose::STANDARD;
    if path.exists() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|e| format!("{} must hold the base64 of 32 bytes: {e}", path.display()))?;
        return <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
            format!(
                "{} must hold the base64 of 32 bytes (`openssl rand -base64 32`)",
                path.display()
            )
        });
    }
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    write_private_file(path, format!("{}\n", STANDARD.encode(key)).as_bytes())?;
    log::info!("generated a new sealing key in {}", path.display());
    Ok(key)
}

/// Writes a file only its owner can read.
pub fn write_private_file(path: &Path, content: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    f.write_all(content)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_round_trips_through_pem() {
        let dir = std::env::temp_dir().join(format!("passerelle-keys-{}", uuid::Uuid::now_v7()));
        let path = dir.join("key.pem");
        let a = Keys::load_or_generate(&path).unwrap();
        let b = Keys::load_or_generate(&path).unwrap();
        assert_eq!(a.kid, b.kid);
        assert_eq!(a.jwks.keys[0].x, b.jwks.keys[0].x);
        assert_eq!(a.kid.len(), 43);
        // What standard tools read: OpenSSL 3 loads the generated key and derives the same
        // public key as the JWKS shows.
        let out = std::process::Command::new("openssl")
            .args(["pkey", "-pubout", "-outform", "DER", "-in"])
            .arg(&path)
            .output()
            .expect("openssl (scripts/install-deps.sh installs it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            URL_SAFE_NO_PAD.encode(&out.stdout[out.stdout.len() - 32..]),
            a.jwks.keys[0].x
        );
        // And a key OpenSSL made is read.
        let theirs = dir.join("openssl.pem");
        let status = std::process::Command::new("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&theirs)
            .status()
            .unwrap();
        assert!(status.success());
        Keys::from_pem_file(&theirs).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// RFC 8410 §10.3's example key, byte for byte as OpenSSL writes it.
    #[test]
    fn the_pem_is_the_rfc_8410_form() {
        let rfc = "-----BEGIN PRIVATE KEY-----\n\
                   MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
                   -----END PRIVATE KEY-----\n";
        let key = SigningKey::from_pkcs8_pem(rfc).unwrap();
        assert_eq!(private_key_pem(&key).unwrap(), rfc);
        // The v2 form ed25519-dalek wrote before is still read.
        let v2 = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        assert_eq!(
            SigningKey::from_pkcs8_pem(&v2).unwrap().to_bytes(),
            key.to_bytes()
        );
    }
}
