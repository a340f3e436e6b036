//! The payloads (`data`) of this domain's events, as the feed and webhooks carry them;
//! their types and meanings are listed in [`crate::events::catalogue::EVENT_KINDS`], and
//! `openapi` registers each payload in the spec's `Event` union.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::HouseholdRow;

/// `data` of `household.*`: the household's id and new version (fetch it to see it).
#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdEventData {
    pub id: Uuid,
    pub version: i32,
}

impl From<&HouseholdRow> for HouseholdEventData {
    fn from(row: &HouseholdRow) -> Self {
        HouseholdEventData {
            id: row.id,
            version: row.version,
        }
    }
}
