//! Every kind of event, with the shape of its `data`: one place that the code appends from
//! and the spec describes (`Event` is a union discriminated by `type`, one schema a kind).
//!
//! Case and housing events carry ids, statuses and coded reasons only: each party fetches
//! the subject to see what its part allows (and a read of special categories is journalled).

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::households::model::HouseholdRow;
use crate::measures::model::{
    ContactKind, MeasureRow, MeasureStatus, ObjectiveStatus, OutcomeCode, RenewalRefusalReason,
    RenewalRow, RenewalStatus,
};
use crate::referrals::model::{DeclineReason, ReferralRow, ReferralStatus};
use crate::subleases::model::{EndReason, SubleaseRow, SubleaseStatus};
use crate::units::model::{
    AgreementRow, AgreementStatus, ProposalDeclineReason, ProposalRow, ProposalStatus, UnitRow,
    UnitStatus,
};

/// A kind of event: its `type`, the component that describes its `data`, what it means.
pub struct EventKind {
    pub name: &'static str,
    pub data: &'static str,
    pub meaning: &'static str,
}

const fn kind(name: &'static str, data: &'static str, meaning: &'static str) -> EventKind {
    EventKind {
        name,
        data,
        meaning,
    }
}

/// Every event the service emits. `events::append` refuses any other type.
pub const EVENT_KINDS: &[EventKind] = &[
    kind(
        "organisation.created",
        "Organisation",
        "An organisation joined the platform",
    ),
    kind(
        "organisation.updated",
        "Organisation",
        "An organisation's details changed",
    ),
    kind(
        "account.created",
        "Account",
        "An account was created in your organisation",
    ),
    kind(
        "account.updated",
        "Account",
        "An account's name, role or scopes changed",
    ),
    kind(
        "account.deactivated",
        "Account",
        "An account was deactivated: its tokens stopped working",
    ),
    kind(
        "account.reactivated",
        "Account",
        "An account was reactivated",
    ),
    kind(
        "account.credentials_reset",
        "Account",
        "A password was reset or a client secret rotated",
    ),
    kind(
        "household.created",
        "HouseholdEventData",
        "A household was registered",
    ),
    kind(
        "household.updated",
        "HouseholdEventData",
        "A household's details changed",
    ),
    kind(
        "household.consent_recorded",
        "HouseholdEventData",
        "The household's consent to sharing was recorded",
    ),
    kind(
        "household.consent_withdrawn",
        "HouseholdEventData",
        "The household withdrew its consent to sharing",
    ),
    kind(
        "referral.submitted",
        "ReferralEventData",
        "A referral was sent",
    ),
    kind(
        "referral.acknowledged",
        "ReferralEventData",
        "The addressee is looking into the referral",
    ),
    kind(
        "referral.accepted",
        "ReferralEventData",
        "The addressee takes the household on",
    ),
    kind(
        "referral.declined",
        "ReferralEventData",
        "The addressee declined, with a coded reason",
    ),
    kind(
        "referral.withdrawn",
        "ReferralEventData",
        "The referrer took the referral back",
    ),
    kind(
        "referral.transferred",
        "ReferralEventData",
        "The addressee passed the referral on (a new one follows)",
    ),
    kind(
        "referral.expired",
        "ReferralEventData",
        "Unanswered past its deadline and grace, the referral expired",
    ),
    kind(
        "referral.obsolete",
        "ReferralEventData",
        "Another referral of the household for the same measure kind was accepted",
    ),
    kind(
        "referral.commented",
        "ReferralCommentEventData",
        "A comment was added to the referral",
    ),
    kind("unit.created", "UnitEventData", "A unit was registered"),
    kind(
        "unit.updated",
        "UnitEventData",
        "A unit's details or agreement changed",
    ),
    kind(
        "unit.status_changed",
        "UnitEventData",
        "A unit became available, reserved, occupied or unavailable",
    ),
    kind(
        "agreement.proposed",
        "AgreementEventData",
        "A landlord proposed an agreement",
    ),
    kind(
        "agreement.accepted",
        "AgreementEventData",
        "The association accepted the agreement",
    ),
    kind(
        "agreement.declined",
        "AgreementEventData",
        "The association declined the agreement",
    ),
    kind(
        "agreement.terminated",
        "AgreementEventData",
        "A party ended the agreement",
    ),
    kind(
        "agreement.expired",
        "AgreementEventData",
        "The agreement's period ended",
    ),
    kind(
        "agreement.units_attached",
        "AgreementEventData",
        "Units were attached to the agreement (`unit_ids`)",
    ),
    kind(
        "proposal.submitted",
        "ProposalEventData",
        "An association proposed a household for a unit",
    ),
    kind(
        "proposal.accepted",
        "ProposalEventData",
        "The landlord accepted the proposal: the unit is reserved",
    ),
    kind(
        "proposal.declined",
        "ProposalEventData",
        "The landlord declined the proposal",
    ),
    kind(
        "proposal.withdrawn",
        "ProposalEventData",
        "The association withdrew the proposal",
    ),
    kind(
        "sublease.planned",
        "SubleaseEventData",
        "A sub-lease was signed, to start on its date",
    ),
    kind(
        "sublease.activated",
        "SubleaseEventData",
        "The household moved in",
    ),
    kind(
        "sublease.glided",
        "SubleaseEventData",
        "The lease glided to the household's own name",
    ),
    kind(
        "sublease.ended",
        "SubleaseEventData",
        "The sub-lease ended, with a coded reason",
    ),
    kind(
        "sublease.arrears_recorded",
        "ArrearsEventData",
        "Rent arrears were recorded on the sub-lease",
    ),
    kind(
        "measure.proposed",
        "MeasureEventData",
        "A measure was opened and waits for the funder's decision",
    ),
    kind(
        "measure.started",
        "MeasureEventData",
        "A measure started (opened active, decided, or resumed)",
    ),
    kind(
        "measure.suspended",
        "MeasureEventData",
        "A measure was suspended: its planned end moved",
    ),
    kind(
        "measure.closed",
        "MeasureEventData",
        "A measure ended, with its outcomes",
    ),
    kind(
        "measure.cancelled",
        "MeasureEventData",
        "A proposed measure was given up",
    ),
    kind(
        "measure.extended",
        "MeasureEventData",
        "A renewal was granted: the planned end moved",
    ),
    kind(
        "measure.updated",
        "MeasureEventData",
        "A measure's worker, funder or programme changed",
    ),
    kind(
        "measure.contact_recorded",
        "MeasureContactEventData",
        "A contact with the household was logged (its note never leaves the operator)",
    ),
    kind(
        "measure.contact_corrected",
        "MeasureContactEventData",
        "The operator corrected a contact logged with a mistake: the rhythm was computed again",
    ),
    kind(
        "measure.contact_removed",
        "MeasureContactEventData",
        "The operator removed a contact logged by mistake: the rhythm and the count were computed again",
    ),
    kind(
        "renewal.requested",
        "RenewalEventData",
        "The operator asked the funder to renew a measure",
    ),
    kind(
        "renewal.granted",
        "RenewalEventData",
        "The funder granted a renewal",
    ),
    kind(
        "renewal.refused",
        "RenewalEventData",
        "The funder refused a renewal, with a coded reason",
    ),
    kind(
        "renewal.withdrawn",
        "RenewalEventData",
        "The operator withdrew a renewal request before its decision",
    ),
    kind(
        "objective.created",
        "ObjectiveEventData",
        "An objective was set (the operator's feed only)",
    ),
    kind(
        "objective.updated",
        "ObjectiveEventData",
        "An objective changed (the operator's feed only)",
    ),
    kind(
        "programme.created",
        "ProgrammeEventData",
        "A programme was created (its funder's and its operators' feeds)",
    ),
    kind(
        "programme.updated",
        "ProgrammeEventData",
        "A programme changed: places, period, operators (an operator taken away is told too)",
    ),
    kind(
        "webhook_endpoint.created",
        "WebhookEndpointEventData",
        "A webhook endpoint was registered for your organisation (the actor says by whom)",
    ),
    kind(
        "webhook_endpoint.updated",
        "WebhookEndpointEventData",
        "A webhook endpoint of your organisation changed: URL, types, enabled or disabled by request, secret rotated",
    ),
    kind(
        "webhook_endpoint.deleted",
        "WebhookEndpointEventData",
        "A webhook endpoint of your organisation was deleted",
    ),
    kind(
        "webhook_endpoint.disabled",
        "WebhookEndpointEventData",
        "A webhook endpoint of your organisation was disabled: it answered 410 Gone, or failed for 5 days without a success (`disabled_reason`)",
    ),
];

/// The kind of a type, if the service emits it.
pub fn kind_of(name: &str) -> Option<&'static EventKind> {
    EVENT_KINDS.iter().find(|k| k.name == name)
}

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

/// `data` of `programme.*`: its name and places per kind (fetch it for the rest).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeEventData {
    pub id: Uuid,
    pub name: String,
    pub capacity: Vec<crate::programmes::model::ProgrammeCapacity>,
    pub version: i32,
}

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
