//! Passwords and client secrets (Argon2id), random tokens, and their digests.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// Argon2id with the crate's defaults (19 MiB, 2 passes: OWASP's recommendation).
pub fn hash_secret(secret: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .expect("argon2 hashing with default parameters cannot fail")
        .to_string()
}

/// Verifies a secret against its hash; a missing hash still costs one verification, so that
/// timing does not tell whether an account exists.
pub fn verify_secret(secret: &str, hash: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_secret("not a real secret"));
    let (hash, real) = match hash {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let ok = PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    ok && real
}

/// Argon2id costs 19 MiB and tens of milliseconds a call: at most one per core runs at a
/// time, off the HTTP workers, so that a burst of sign-ins neither starves other requests
/// nor multiplies memory.
async fn off_thread<R: Send + 'static>(
    work: impl FnOnce() -> R + Send + 'static,
) -> Result<R, ApiError> {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let slots = SLOTS.get_or_init(|| {
        tokio::sync::Semaphore::new(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        )
    });
    let _permit = slots.acquire().await.map_err(ApiError::internal)?;
    Ok(actix_web::web::block(work).await?)
}

/// `hash_secret`, off the HTTP workers.
pub async fn hash(secret: String) -> Result<String, ApiError> {
    off_thread(move || hash_secret(&secret)).await
}

/// `verify_secret`, off the HTTP workers.
pub async fn verify(secret: String, hash: Option<String>) -> Result<bool, ApiError> {
    off_thread(move || verify_secret(&secret, hash.as_deref())).await
}

/// `bytes` random bytes, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

pub fn sha256(value: &str) -> Vec<u8> {
    Sha256::digest(value.as_bytes()).to_vec()
}

/// A temporary password a person is given by an admin: long, typeable.
pub fn temporary_password() -> String {
    random_token(18)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash_secret("correct horse");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_secret("correct horse", Some(&h)));
        assert!(!verify_secret("wrong", Some(&h)));
        assert!(!verify_secret("correct horse", None));
        assert_ne!(random_token(32), random_token(32));
        assert_eq!(random_token(32).len(), 43);
    }
}
