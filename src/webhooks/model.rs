//! Webhook endpoints and deliveries, as stored and as the API shows them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::http::patch;
use crate::schema::{webhook_attempts, webhook_deliveries, webhook_endpoints};
use crate::text_enum;

/// The longest URL an endpoint may have, in characters.
pub const MAX_URL_LENGTH: usize = 2048;

text_enum! {
    /// Whether an endpoint receives deliveries.
    pub enum WebhookEndpointStatus {
        /// Deliveries are sent.
        Enabled = "enabled",
        /// No delivery is sent (nor queued for the events that happen meanwhile); see
        /// `disabled_reason`. `POST …/enable` sends again what was pending.
        Disabled = "disabled",
    }
}

text_enum! {
    /// Why an endpoint is disabled.
    pub enum WebhookDisabledReason {
        /// Your organisation disabled it (`POST …/disable`).
        ByRequest = "by_request",
        /// It answered `410 Gone`.
        Gone = "gone",
        /// It failed for 5 days without a single success.
        Failing = "failing",
    }
}

text_enum! {
    /// Where a delivery stands.
    pub enum WebhookDeliveryStatus {
        /// Waiting for its next attempt (`next_attempt_at`).
        Pending = "pending",
        /// An attempt got a 2xx answer.
        Succeeded = "succeeded",
        /// Every attempt of the schedule failed, or the endpoint answered `410 Gone`.
        Failed = "failed",
    }
}

text_enum! {
    /// Why an attempt failed.
    pub enum WebhookAttemptError {
        /// No complete answer in time (15 seconds by default).
        Timeout = "timeout",
        /// The endpoint's host refused the connection.
        ConnectionRefused = "connection_refused",
        /// Another connection failure (reset, unreachable network).
        Connection = "connection",
        /// The TLS handshake failed (certificate not valid for the host, expired, untrusted).
        Tls = "tls",
        /// The host name does not resolve.
        Dns = "dns",
        /// The host resolves only to loopback, private, link-local, metadata or other
        /// non-public addresses, which webhooks never reach.
        ForbiddenAddress = "forbidden_address",
        /// The endpoint answered with a redirect (3xx), which is not followed.
        Redirect = "redirect",
        /// The endpoint answered with a status other than 2xx.
        HttpStatus = "http_status",
    }
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub created_by_account_id: Uuid,
    pub url: String,
    pub description: String,
    pub event_types: serde_json::Value,
    pub status: WebhookEndpointStatus,
    pub disabled_reason: Option<WebhookDisabledReason>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub secret_sealed: Vec<u8>,
    pub previous_secret_sealed: Option<Vec<u8>>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EndpointRow {
    pub fn event_types(&self) -> Vec<String> {
        serde_json::from_value(self.event_types.clone()).unwrap_or_default()
    }
}

/// A new endpoint.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://hooks.bailleur.example/passerelle",
    "description": "Our letting software", "event_types": ["proposal.*", "sublease.*"]}))]
pub struct NewWebhookEndpoint {
    /// Where deliveries are `POST`ed: an absolute `https` URL (1 to 2048 characters), with
    /// no user name or password, whose host resolves to public addresses only. Stored and
    /// shown as it is used (normalised: `HTTPS://Host/a b` is `https://host/a%20b`).
    #[validate(length(min = 1, max = 2048))]
    #[schema(min_length = 1, max_length = 2048, format = "uri")]
    pub url: String,
    /// For your own people (at most 500 characters).
    #[serde(default)]
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub description: String,
    /// The events to send: exact types (`referral.accepted`) or a prefix and `*`
    /// (`referral.*`), at most 100, each once. Empty (the default): every event your
    /// organisation's feed receives. An unknown type is a 422 naming it.
    #[serde(default)]
    #[validate(length(max = 100))]
    #[schema(max_items = 100)]
    pub event_types: Vec<String>,
}

/// Changes to an endpoint, as a JSON Merge Patch (RFC 7396).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"event_types": ["referral.*"]}))]
pub struct WebhookEndpointPatch {
    #[validate(length(min = 1, max = 2048))]
    #[schema(min_length = 1, max_length = 2048, format = "uri", nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub url: Option<String>,
    /// `""` empties it.
    #[validate(length(max = 500))]
    #[schema(max_length = 500, nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub description: Option<String>,
    /// The new list, replacing the old; `[]`: every event.
    #[validate(length(max = 100))]
    #[schema(max_items = 100, nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub event_types: Option<Vec<String>>,
}

/// The body of `rotate-secret` (optional).
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"previous_secret_valid_for_seconds": 86400}))]
pub struct WebhookSecretRotation {
    /// How long the old secret keeps signing beside the new one, in seconds: 0 to 604 800
    /// (7 days); 86 400 (24 hours) when absent.
    #[serde(default)]
    #[validate(range(min = 0, max = 604_800))]
    #[schema(minimum = 0, maximum = 604_800)]
    pub previous_secret_valid_for_seconds: Option<i64>,
}

/// A webhook endpoint of your organisation. Its signing secret is never shown again after
/// its creation or rotation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a600-0000-7000-8000-0000000000e1", "organisation_id": "0193a5c2-7d1e-7b3a-9c4f-2f0e8d6b1a22",
    "created_by_account_id": "0193a5c2-1111-7c11-8e0f-3b5d2c1a9e77", "url": "https://hooks.bailleur.example/passerelle", "description": "Our letting software",
    "event_types": ["proposal.*", "sublease.*"], "status": "enabled", "disabled_reason": null,
    "disabled_at": null, "previous_secret_expires_at": null, "failing_since": null,
    "version": 1,
    "created_at": "2026-12-01T08:59:00Z", "updated_at": "2026-12-01T08:59:00Z"}))]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub organisation_id: Uuid,
    /// The account that registered it. The endpoint is the organisation's: it goes on
    /// after that account is deactivated.
    pub created_by_account_id: Uuid,
    pub url: String,
    pub description: String,
    /// Exact types and prefixes (`referral.*`); empty: every event of your feed.
    pub event_types: Vec<String>,
    pub status: WebhookEndpointStatus,
    pub disabled_reason: Option<WebhookDisabledReason>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Until when the secret replaced by the last rotation still signs (each delivery
    /// then carries two signatures); `null` when only one secret signs.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Since when every attempt has failed (`null` after a success): 5 days of it disable
    /// the endpoint. Each of its changes (failing, succeeding again) is a new `version`.
    pub failing_since: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    /// The endpoint as of `now` (a previous secret past its time is no longer shown).
    pub fn from_row(row: &EndpointRow, now: DateTime<Utc>) -> WebhookEndpoint {
        WebhookEndpoint {
            id: row.id,
            organisation_id: row.organisation_id,
            created_by_account_id: row.created_by_account_id,
            url: row.url.clone(),
            description: row.description.clone(),
            event_types: row.event_types(),
            status: row.status,
            disabled_reason: row.disabled_reason,
            disabled_at: row.disabled_at,
            previous_secret_expires_at: row.previous_secret_expires_at.filter(|t| *t > now),
            failing_since: row.failing_since,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// An endpoint with its signing secret: the answer to its creation and to a rotation, the
/// only times the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a600-0000-7000-8000-0000000000e1", "organisation_id": "0193a5c2-7d1e-7b3a-9c4f-2f0e8d6b1a22",
    "created_by_account_id": "0193a5c2-1111-7c11-8e0f-3b5d2c1a9e77", "url": "https://hooks.bailleur.example/passerelle", "description": "Our letting software",
    "event_types": ["proposal.*", "sublease.*"], "status": "enabled", "disabled_reason": null,
    "disabled_at": null, "previous_secret_expires_at": null, "failing_since": null,
    "version": 1,
    "created_at": "2026-12-01T08:59:00Z", "updated_at": "2026-12-01T08:59:00Z",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw3cnxrHpuRmE="}))]
pub struct WebhookEndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_` and the base64 of 32 random bytes: give it to your Standard Webhooks
    /// library to verify each delivery. Shown this once: a replayed request (same
    /// `Idempotency-Key`) returns `null` (rotate the secret if you lost it).
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub event_seq: Option<i64>,
    pub event_tx_id: Option<i64>,
    pub status: WebhookDeliveryStatus,
    pub attempt_count: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_attempts)]
pub struct AttemptRow {
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub attempted_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub error: Option<WebhookAttemptError>,
    pub error_detail: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// One attempt to deliver.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"attempted_at": "2026-12-01T09:00:00Z", "duration_ms": 412,
    "response_status": 500, "response_body": "{\"error\": \"database down\"}",
    "error": "http_status", "error_detail": null, "next_attempt_at": "2026-12-01T09:00:05Z"}))]
pub struct WebhookAttempt {
    pub attempted_at: DateTime<Utc>,
    /// From sending the request to the end of the answer's first KiB, in milliseconds.
    pub duration_ms: i32,
    /// The endpoint's HTTP status; `null` when no answer came.
    pub response_status: Option<i32>,
    /// The first KiB of the answer's body, as text (invalid UTF-8 replaced).
    pub response_body: Option<String>,
    /// Why it failed; `null` for a success.
    pub error: Option<WebhookAttemptError>,
    /// What the HTTP client said of a failure without an answer (no personal data).
    pub error_detail: Option<String>,
    /// When the next attempt was scheduled by this one's failure (`null`: none).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl From<AttemptRow> for WebhookAttempt {
    fn from(r: AttemptRow) -> WebhookAttempt {
        WebhookAttempt {
            attempted_at: r.attempted_at,
            duration_ms: r.duration_ms,
            response_status: r.response_status,
            response_body: r.response_body,
            error: r.error,
            error_detail: r.error_detail,
            next_attempt_at: r.next_attempt_at,
        }
    }
}

/// One event sent (or to send) to one endpoint, with every attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a601-0000-7000-8000-0000000000f1", "endpoint_id": "0193a600-0000-7000-8000-0000000000e1",
    "event_id": "0193a5c3-1f00-7a2b-b1c4-5d6e7f809a1b", "event_type": "referral.accepted",
    "feed_position": "AAAAAAAAA-gAAAAAAAAAKg", "status": "pending", "attempt_count": 1,
    "next_attempt_at": "2026-12-01T09:00:05Z", "created_at": "2026-12-01T09:00:00Z",
    "updated_at": "2026-12-01T09:00:00Z",
    "attempts": [{"attempted_at": "2026-12-01T09:00:00Z", "duration_ms": 412, "response_status": 500,
        "response_body": "{\"error\": \"database down\"}", "error": "http_status", "error_detail": null,
        "next_attempt_at": "2026-12-01T09:00:05Z"}]}))]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// The event's id: the `webhook-id` header, the same on every attempt.
    pub event_id: Uuid,
    /// The event's `type` (`webhook.test` for a test).
    pub event_type: String,
    /// The event's position in the feed (`GET /v1/events?after=`); `null` for a test.
    pub feed_position: Option<String>,
    pub status: WebhookDeliveryStatus,
    pub attempt_count: i32,
    /// When the next attempt is due (`null` unless `pending`).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every attempt, oldest first.
    pub attempts: Vec<WebhookAttempt>,
}

impl WebhookDelivery {
    pub fn from_parts(row: DeliveryRow, attempts: Vec<WebhookAttempt>) -> WebhookDelivery {
        WebhookDelivery {
            id: row.id,
            endpoint_id: row.endpoint_id,
            event_id: row.event_id,
            event_type: row.event_type,
            feed_position: row
                .event_tx_id
                .zip(row.event_seq)
                .map(|(tx, seq)| crate::events::feed::encode_feed_position(tx, seq)),
            status: row.status,
            attempt_count: row.attempt_count,
            next_attempt_at: row.next_attempt_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            attempts,
        }
    }
}

/// What a delivery's body holds: the event exactly as the feed shows it, and where it
/// stands in the feed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5c3-1f00-7a2b-b1c4-5d6e7f809a1b", "type": "referral.accepted",
    "occurred_at": "2026-12-01T09:00:00Z",
    "subject": {"type": "referral", "id": "0193a5c2-8a40-7c11-8e0f-3b5d2c1a9e77"},
    "actor": {"account_id": "0193a5c2-1111-7c11-8e0f-3b5d2c1a9e77", "organisation_id": "0193a5c2-7d1e-7b3a-9c4f-2f0e8d6b1a22"},
    "data": {"id": "0193a5c2-8a40-7c11-8e0f-3b5d2c1a9e77", "household_id": "0193a5c2-9999-7c11-8e0f-3b5d2c1a9e77",
             "status": "accepted", "measure_kind": "asll", "decline_reason": null, "version": 3},
    "feed_position": "AAAAAAAAA-gAAAAAAAAAKg"}))]
pub struct WebhookMessage {
    #[serde(flatten)]
    pub event: crate::events::Event,
    /// The event's position in the feed: a receiver that missed deliveries reads on from
    /// `GET /v1/events?after=` with it. `null` for `webhook.test`.
    pub feed_position: Option<String>,
}

/// What one attempt gave.
pub struct Outcome {
    pub delivery_id: Uuid,
    pub claim_token: Uuid,
    pub endpoint_id: Uuid,
    pub attempt_number: i32,
    pub attempted_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub error: Option<WebhookAttemptError>,
    pub error_detail: Option<String>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }

    pub fn gone(&self) -> bool {
        self.response_status == Some(410)
    }
}

/// A list without filters of its own.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NoFilters {}

/// Filters of an endpoint's deliveries.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilters {
    /// `pending`, `succeeded` or `failed`.
    #[param(value_type = Option<String>, pattern = "^(pending|succeeded|failed)$")]
    pub status: Option<WebhookDeliveryStatus>,
    /// An event type (`referral.accepted`, `webhook.test`) or a prefix (`referral.*`); one
    /// that names no type is a 422.
    #[param(min_length = 1, max_length = 100)]
    pub event_type: Option<String>,
    /// Deliveries queued at or after this instant.
    pub since: Option<DateTime<Utc>>,
}
