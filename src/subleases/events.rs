//! The payloads (`data`) of this domain's events, as the feed and webhooks carry them;
//! their types and meanings are listed in [`crate::events::catalogue::EVENT_KINDS`], and
//! `openapi` registers each payload in the spec's `Event` union.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::{EndReason, SubleaseRow, SubleaseStatus};

/// `data` of `sublease.planned`, `sublease.activated`, `sublease.glided` and `sublease.ended`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubleaseEventData {
    pub id: Uuid,
    pub unit_id: Uuid,
    pub household_id: Uuid,
    pub status: SubleaseStatus,
    /// Set on `sublease.ended`.
    pub end_reason: Option<EndReason>,
    pub version: i32,
}

impl From<&SubleaseRow> for SubleaseEventData {
    fn from(row: &SubleaseRow) -> Self {
        SubleaseEventData {
            id: row.id,
            unit_id: row.unit_id,
            household_id: row.household_id,
            status: row.status,
            end_reason: row.end_reason,
            version: row.version,
        }
    }
}

/// `data` of `sublease.arrears_recorded`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArrearsEventData {
    /// The sub-lease.
    pub id: Uuid,
    pub arrears_id: Uuid,
    pub household_id: Uuid,
    /// The amount owed, in euro cents.
    pub amount_cents: i64,
    /// How many months of rent it amounts to.
    pub months: i32,
}
