//! The payloads (`data`) of this domain's events, as the feed and webhooks carry them;
//! their types and meanings are listed in [`crate::events::catalogue::EVENT_KINDS`], and
//! `openapi` registers each payload in the spec's `Event` union.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::{
    ContactKind, MeasureRow, MeasureStatus, ObjectiveStatus, OutcomeCode, RenewalRefusalReason,
    RenewalRow, RenewalStatus,
};

/// `data` of `measure.*` (but `measure.contact_*`). The landlord of a sub-lease that names the measure gets the id,
/// status, planned end and version alone; the operator, the funder and the referrer also
/// the kind, the household and the outcomes.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureEventData {
    pub id: Uuid,
    pub status: MeasureStatus,
    /// `null`: no limit.
    pub planned_end_on: Option<chrono::NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub household_id: Option<Uuid>,
    /// How it ended (on `measure.closed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub outcomes: Option<Vec<OutcomeCode>>,
    pub version: i32,
}

impl MeasureEventData {
    /// The event's data; `full` for the operator, the funder and the referrer.
    pub fn of(row: &MeasureRow, full: bool) -> Self {
        MeasureEventData {
            id: row.id,
            status: row.status,
            planned_end_on: row.planned_end_on,
            kind: full.then(|| row.kind.clone()),
            household_id: full.then_some(row.household_id),
            outcomes: full.then(|| row.outcome_codes()),
            version: row.version,
        }
    }
}

/// `data` of `measure.contact_recorded`, `measure.contact_corrected` and
/// `measure.contact_removed`: the contact as it now is (kind, day), never the note.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureContactEventData {
    /// The measure.
    pub id: Uuid,
    pub contact_id: Uuid,
    pub kind: ContactKind,
    pub occurred_on: chrono::NaiveDate,
    /// Contacts that count on the measure now (the removed ones aside).
    pub contacts_count: i32,
}

/// `data` of `renewal.<status>`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenewalEventData {
    pub id: Uuid,
    pub measure_id: Uuid,
    pub status: RenewalStatus,
    /// The months asked.
    pub months: i32,
    /// Set on `renewal.granted`: the months granted (at most those asked).
    pub granted_months: Option<i32>,
    /// Set on `renewal.granted`: the measure's new planned end.
    pub ends_on: Option<chrono::NaiveDate>,
    /// Set on `renewal.refused`.
    pub refusal_reason: Option<RenewalRefusalReason>,
    pub version: i32,
}

impl From<&RenewalRow> for RenewalEventData {
    fn from(row: &RenewalRow) -> Self {
        RenewalEventData {
            id: row.id,
            measure_id: row.measure_id,
            status: row.status,
            months: row.months,
            granted_months: row.granted_months,
            ends_on: row.ends_on,
            refusal_reason: row.refusal_reason,
            version: row.version,
        }
    }
}

/// `data` of `objective.*` (the operator's feed only).
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectiveEventData {
    pub id: Uuid,
    pub measure_id: Uuid,
    pub status: ObjectiveStatus,
}
