//! The payloads (`data`) of this domain's events, as the feed and webhooks carry them;
//! their types and meanings are listed in [`crate::events::catalogue::EVENT_KINDS`], and
//! `openapi` registers each payload in the spec's `Event` union.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::{
    AgreementRow, AgreementStatus, ProposalDeclineReason, ProposalRow, ProposalStatus, UnitRow,
    UnitStatus,
};

/// `data` of `unit.*`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitEventData {
    pub id: Uuid,
    pub status: UnitStatus,
    pub agreement_id: Option<Uuid>,
    pub version: i32,
}

impl From<&UnitRow> for UnitEventData {
    fn from(row: &UnitRow) -> Self {
        UnitEventData {
            id: row.id,
            status: row.status,
            agreement_id: row.agreement_id,
            version: row.version,
        }
    }
}

/// `data` of `agreement.*`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgreementEventData {
    pub id: Uuid,
    pub status: AgreementStatus,
    /// How many units the agreement covers.
    pub units_covered: i32,
    pub version: i32,
    /// On `agreement.units_attached`: the units attached by this change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_ids: Option<Vec<Uuid>>,
}

impl AgreementEventData {
    pub fn of(row: &AgreementRow, unit_ids: Option<Vec<Uuid>>) -> Self {
        AgreementEventData {
            id: row.id,
            status: row.status,
            units_covered: row.units_covered,
            version: row.version,
            unit_ids,
        }
    }
}

/// `data` of `proposal.*`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalEventData {
    pub id: Uuid,
    pub unit_id: Uuid,
    pub household_id: Uuid,
    pub status: ProposalStatus,
    /// Set on `proposal.declined`.
    pub decline_reason: Option<ProposalDeclineReason>,
    pub version: i32,
}

impl From<&ProposalRow> for ProposalEventData {
    fn from(row: &ProposalRow) -> Self {
        ProposalEventData {
            id: row.id,
            unit_id: row.unit_id,
            household_id: row.household_id,
            status: row.status,
            decline_reason: row.decline_reason,
            version: row.version,
        }
    }
}
