//! The payloads (`data`) of this domain's events, as the feed and webhooks carry them;
//! their types and meanings are listed in [`crate::events::catalogue::EVENT_KINDS`], and
//! `openapi` registers each payload in the spec's `Event` union.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// `data` of `webhook_endpoint.*`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointEventData {
    pub id: Uuid,
    /// Where it sends.
    pub url: String,
    pub status: crate::webhooks::model::WebhookEndpointStatus,
    pub disabled_reason: Option<crate::webhooks::model::WebhookDisabledReason>,
    pub version: i32,
}
