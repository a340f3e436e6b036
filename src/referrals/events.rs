//! The payloads (`data`) of this domain's events, as the feed and webhooks carry them;
//! their types and meanings are listed in [`crate::events::catalogue::EVENT_KINDS`], and
//! `openapi` registers each payload in the spec's `Event` union.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::{DeclineReason, ReferralRow, ReferralStatus};

/// `data` of `referral.<status>`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralEventData {
    pub id: Uuid,
    pub household_id: Uuid,
    pub status: ReferralStatus,
    pub measure_kind: String,
    /// Set on `referral.declined`.
    pub decline_reason: Option<DeclineReason>,
    pub version: i32,
}

impl From<&ReferralRow> for ReferralEventData {
    fn from(row: &ReferralRow) -> Self {
        ReferralEventData {
            id: row.id,
            household_id: row.household_id,
            status: row.status,
            measure_kind: row.measure_kind.clone(),
            decline_reason: row.decline_reason,
            version: row.version,
        }
    }
}

/// `data` of `referral.commented`: the referral and the comment (read it with
/// `GET /v1/referrals/{id}/comments`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralCommentEventData {
    pub id: Uuid,
    pub comment_id: Uuid,
}
