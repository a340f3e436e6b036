//! What webhooks are, as pure functions and constants: secrets (new, sealed at rest),
//! Standard Webhooks signatures, which event types an endpoint asks for, the retry
//! schedule, and an endpoint's state table.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sha2::Sha256;
use uuid::Uuid;

use super::model::WebhookEndpointStatus;
use crate::error::{ApiError, FieldError};
use crate::events::catalogue::EVENT_KINDS;

/// The most endpoints an organisation may have.
pub const MAX_ENDPOINTS: i64 = 20;

/// The longest event type a filter takes.
pub const MAX_EVENT_TYPE_LENGTH: usize = 100;

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// When a failed delivery is tried again, after its 1st, 2nd… failure (each with up to 10 %
/// of jitter either way): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. After the 8th attempt
/// fails, the delivery is `failed`. (The schedule Svix publishes, from which Standard
/// Webhooks came.)
pub const RETRY_SCHEDULE: [TimeDelta; 7] = [
    TimeDelta::seconds(5),
    TimeDelta::minutes(5),
    TimeDelta::minutes(30),
    TimeDelta::hours(2),
    TimeDelta::hours(5),
    TimeDelta::hours(10),
    TimeDelta::hours(10),
];

/// How long an endpoint fails without a single success before it is disabled.
pub const FAILING_DAYS_BEFORE_DISABLED: i64 = 5;

/// How long the secret replaced by a rotation keeps signing, unless the rotation says.
pub const DEFAULT_PREVIOUS_SECRET_SECONDS: i64 = 24 * 3600;

/// How long deliveries (and their attempts) are kept.
pub const DELIVERY_RETENTION_DAYS: i64 = 30;

/// The `User-Agent` of every delivery.
pub const USER_AGENT: &str = concat!(
    "passerelle-webhooks/",
    env!("CARGO_PKG_VERSION"),
    " (Standard Webhooks)"
);

/// A new signing secret: what the partner is shown (`whsec_` and the base64 of 32 random
/// bytes) and the key bytes.
pub fn new_secret() -> (String, Vec<u8>) {
    let mut key = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    (format!("{SECRET_PREFIX}{}", STANDARD.encode(&key)), key)
}

/// The first byte of a sealed secret.
const SEALED_V1: u8 = 1;

/// Seals an endpoint's secret with the service's sealing key (XChaCha20-Poly1305 with a
/// random nonce; the endpoint's id is the associated data, so a sealed secret copied to
/// another row does not open).
pub fn seal_secret(key: &[u8; 32], endpoint: Uuid, secret: &[u8]) -> Result<Vec<u8>, ApiError> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: secret,
                aad: endpoint.as_bytes(),
            },
        )
        .map_err(|_| ApiError::internal("sealing a webhook secret failed"))?;
    let mut out = Vec::with_capacity(1 + nonce.len() + sealed.len());
    out.push(SEALED_V1);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens a sealed secret; `None` when it was sealed under another key (or altered).
pub fn open_secret(key: &[u8; 32], endpoint: Uuid, sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.first() != Some(&SEALED_V1) || sealed.len() < 25 {
        return None;
    }
    let nonce: [u8; 24] = sealed[1..25].try_into().ok()?;
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &sealed[25..],
                aad: endpoint.as_bytes(),
            },
        )
        .ok()
}

/// One Standard Webhooks signature: `v1,` and the base64 of the HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` under the secret's key bytes.
pub fn sign(key: &[u8], message_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one signature per valid secret, space-separated.
pub fn signature_header(keys: &[Vec<u8>], message_id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|k| sign(k, message_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether an event type is asked for by an endpoint's list (exact types and `prefix.*`;
/// an empty list asks for every type). The dispatcher's SQL applies the same rule.
pub fn wants(event_types: &[String], event_type: &str) -> bool {
    event_types.is_empty()
        || event_types.iter().any(|t| match t.strip_suffix('*') {
            Some(prefix) => event_type.starts_with(prefix),
            None => t == event_type,
        })
}

/// The field errors of an endpoint's `event_types` (`field` names the list): each an event
/// type of the catalogue, or a prefix of some (`referral.*`), once.
pub fn check_event_types(field: &str, event_types: &[String], errors: &mut Vec<FieldError>) {
    for (i, t) in event_types.iter().enumerate() {
        let name = format!("{field}[{i}]");
        let known = match t.strip_suffix(".*") {
            Some(prefix) => EVENT_KINDS
                .iter()
                .any(|k| k.name.starts_with(prefix) && k.name[prefix.len()..].starts_with('.')),
            None => EVENT_KINDS.iter().any(|k| k.name == t),
        };
        if !known {
            errors.push(FieldError::new(
                name,
                "unknown_event_type",
                format!(
                    "{t:?} is no event type nor a prefix of one like \"referral.*\" (the event types are listed in the spec's `Event`)"
                ),
            ));
        } else if event_types[..i].contains(t) {
            errors.push(FieldError::new(name, "duplicate", "each type once"));
        }
    }
}

/// The next attempt after the `failures`-th failure at `at`, with up to 10 % of jitter
/// either way; `None` when the schedule is over.
pub fn next_attempt(at: DateTime<Utc>, failures: i32) -> Option<DateTime<Utc>> {
    let wait = RETRY_SCHEDULE.get(usize::try_from(failures - 1).ok()?)?;
    let jitter = rand::thread_rng().gen_range(0.9..=1.1);
    let ms = (wait.num_milliseconds() as f64 * jitter) as i64;
    Some(at + TimeDelta::milliseconds(ms))
}

/// What an endpoint in this state allows (for a 409's `allowed_actions`).
pub fn allowed_actions(status: WebhookEndpointStatus) -> &'static [&'static str] {
    match status {
        WebhookEndpointStatus::Enabled => &["disable", "rotate-secret", "test"],
        WebhookEndpointStatus::Disabled => &["enable", "rotate-secret"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_reference_implementations_vector() {
        // The test vector of the Standard Webhooks reference libraries (`test_sign`).
        let key = STANDARD.decode("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        assert_eq!(
            sign(&key, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_endpoint() {
        let key = [7u8; 32];
        let endpoint = Uuid::now_v7();
        let (_, secret) = new_secret();
        let sealed = seal_secret(&key, endpoint, &secret).unwrap();
        assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_slice()));
        assert_eq!(open_secret(&key, endpoint, &sealed).unwrap(), secret);
        assert!(open_secret(&[8u8; 32], endpoint, &sealed).is_none());
        assert!(open_secret(&key, Uuid::now_v7(), &sealed).is_none());
    }

    #[test]
    fn event_type_filters() {
        let types = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(wants(&[], "referral.accepted"));
        assert!(wants(&types(&["referral.*"]), "referral.accepted"));
        assert!(!wants(&types(&["referral.*"]), "sublease.ended"));
        assert!(wants(&types(&["sublease.ended"]), "sublease.ended"));
        let mut errors = Vec::new();
        check_event_types(
            "event_types",
            &types(&[
                "referral.*",
                "referral.accepted",
                "nope",
                "referral.*",
                "ref.*",
                "*",
            ]),
            &mut errors,
        );
        let got: Vec<_> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("event_types[2]", "unknown_event_type"),
                ("event_types[3]", "duplicate"),
                ("event_types[4]", "unknown_event_type"),
                ("event_types[5]", "unknown_event_type"),
            ]
        );
    }
}
