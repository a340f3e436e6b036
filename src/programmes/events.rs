//! The payloads (`data`) of this domain's events, as the feed and webhooks carry them;
//! their types and meanings are listed in [`crate::events::catalogue::EVENT_KINDS`], and
//! `openapi` registers each payload in the spec's `Event` union.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// `data` of `programme.*`: its name and places per kind (fetch it for the rest).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeEventData {
    pub id: Uuid,
    pub name: String,
    pub capacity: Vec<crate::programmes::model::ProgrammeCapacity>,
    pub version: i32,
}
