//! Support measures: stored rows, enumerations, and the rules a measure keeps from its kind.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::schema::{measure_contacts, measures, objectives, renewals};
use crate::text_enum;

mod kinds;
mod requests;
mod views;

pub use kinds::*;
pub use requests::*;
pub use views::*;

text_enum! {
    /// Where a measure stands.
    pub enum MeasureStatus {
        /// Waiting for the funder's (or its commission's) decision.
        Proposed = "proposed",
        /// Decided and running (from `starts_on`).
        Active = "active",
        /// Paused, with a reason, until `suspended_until` at the latest; the planned end moves
        /// by the suspension's length.
        Suspended = "suspended",
        /// Ended, with its outcomes and date.
        Closed = "closed",
        /// Never started (the decision was negative, or the operator gave it up).
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// What a party can do to a measure (`POST /v1/measures/{id}/{action}`).
    pub enum MeasureAction {
        /// The decision: a proposed measure becomes active. By the funder when the kind needs
        /// a decision, else by the operator.
        Start = "start",
        /// The operator pauses an active measure.
        Suspend = "suspend",
        /// The operator resumes a suspended measure.
        Resume = "resume",
        /// The operator ends an active or suspended measure with its outcomes.
        Close = "close",
        /// The operator or the funder gives up a proposed measure.
        Cancel = "cancel",
    }
}

text_enum! {
    /// How a measure ended. A measure may close with several (an AGIR exit needs a lasting
    /// home and a lasting job or training: each target is counted on its own).
    pub enum OutcomeCode {
        AccessedHousing = "accessed_housing",
        KeptHousing = "kept_housing",
        Rehoused = "rehoused",
        LeftWithoutSolution = "left_without_solution",
        MovedAway = "moved_away",
        /// The household ended the support (it is voluntary).
        EndedByHousehold = "ended_by_household",
        EmploymentOrTraining = "employment_or_training",
        Deceased = "deceased",
    }
}

text_enum! {
    /// Why a proposed measure was given up.
    pub enum CancellationReason {
        /// The funder's (or its commission's) decision was negative.
        FunderRefused = "funder_refused",
        /// The household did not want the support (it is voluntary).
        HouseholdDeclined = "household_declined",
        /// The household could not be reached.
        HouseholdUnreachable = "household_unreachable",
        /// The household left the territory.
        HouseholdMovedAway = "household_moved_away",
        /// Another support suits the household better.
        OtherSupport = "other_support",
        /// Opened twice by mistake.
        Duplicate = "duplicate",
        /// Needs a comment.
        Other = "other",
    }
}

text_enum! {
    /// Why a measure is suspended.
    pub enum SuspensionReason {
        /// The household asked for a pause.
        HouseholdRequest = "household_request",
        /// The household is away for a while.
        HouseholdAbsent = "household_absent",
        /// No worker can follow the household for a while.
        WorkerUnavailable = "worker_unavailable",
        /// Needs a comment.
        Other = "other",
    }
}

text_enum! {
    /// A contact between the worker and the household.
    pub enum ContactKind {
        HomeVisit = "home_visit",
        OfficeMeeting = "office_meeting",
        Phone = "phone",
        Video = "video",
        /// The household did not come: logged, never counted for the rhythm.
        MissedAppointment = "missed_appointment",
    }
}

text_enum! {
    /// What an objective is about.
    pub enum ObjectiveTheme {
        HousingAccess = "housing_access",
        KeepingTheHome = "keeping_the_home",
        Budget = "budget",
        Rights = "rights",
        Health = "health",
        EmploymentOrTraining = "employment_or_training",
        SocialTies = "social_ties",
    }
}

text_enum! {
    /// Where an objective stands.
    pub enum ObjectiveStatus {
        InProgress = "in_progress",
        Achieved = "achieved",
        Abandoned = "abandoned",
    }
}

text_enum! {
    /// Where a renewal request stands.
    pub enum RenewalStatus {
        /// Waiting for the decider (overdue after 10 days).
        Requested = "requested",
        /// Granted: the measure's planned end moved by its length.
        Granted = "granted",
        /// Refused, with a coded reason and an explanation.
        Refused = "refused",
        /// Taken back by the operator before the decision.
        Withdrawn = "withdrawn",
    }
}

text_enum! {
    /// What a party does to a renewal request (`POST /v1/renewals/{id}/{action}`): the
    /// decider grants or refuses it, the operator may withdraw it while it waits.
    pub enum RenewalAction {
        Grant = "grant",
        Refuse = "refuse",
        Withdraw = "withdraw",
    }
}

text_enum! {
    /// Why a renewal is refused.
    pub enum RenewalRefusalReason {
        /// The measure's objectives are met: the household goes on without it.
        ObjectivesMet = "objectives_met",
        /// The request does not show why more time is needed.
        NotJustified = "not_justified",
        /// The household no longer takes part.
        HouseholdNotEngaged = "household_not_engaged",
        /// Another measure suits the household better.
        OtherSupportBetter = "other_support_better",
        /// See the explanation.
        Other = "other",
    }
}

/// One renewal a kind allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"months": 3, "exceptional": true}))]
pub struct RenewalStep {
    /// Its length in months: 1 to 60.
    pub months: i32,
    /// Needs a written justification.
    pub exceptional: bool,
}

/// The rules of a kind that a measure keeps from its opening (proposed measures included):
/// changing the catalogue never changes a measure already opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MeasureRules {
    /// The kind's version when the measure was opened.
    pub kind_version: i32,
    /// Months from the start to the planned end; `null`: no limit.
    pub duration_months: Option<i32>,
    /// Whether the start needs the funder's decision.
    pub needs_decision: bool,
    /// The renewals allowed, in order.
    pub renewal_policy: Vec<RenewalStep>,
    /// One counting contact every so many days; `null`: no rhythm.
    pub contact_every_days: Option<i32>,
    /// The contact kinds that count for the rhythm; empty: every kind but a missed
    /// appointment.
    pub contact_kinds: Vec<ContactKind>,
    /// The outcomes it may close with (one at least).
    pub outcome_codes: Vec<OutcomeCode>,
    /// Groups of outcomes that exclude each other: it closes with at most one code of each
    /// (kept housing and left without solution cannot both be true).
    #[serde(default)]
    pub exclusive_outcomes: Vec<Vec<OutcomeCode>>,
    /// The longest it may last, renewals included; `null`: no limit.
    pub max_total_months: Option<i32>,
    /// The longest it may be suspended in all, in days.
    pub max_suspension_days: i32,
    /// A renewal may be asked in the last so many months before the planned end.
    #[serde(default = "default_renewal_window")]
    pub renewal_window_months: i32,
}

/// The months before the planned end in which a renewal may be asked, when the kind says
/// nothing: three, as les-emplois opens PASS IAE prolongations.
/// The platform's limit on a measure's suspensions, in days, when its kind sets none: three
/// months, the shortest period a measure is granted or renewed for in the sources (ASLL).
pub const DEFAULT_MAX_SUSPENSION_DAYS: i32 = 92;

pub const DEFAULT_RENEWAL_WINDOW_MONTHS: i32 = 3;

fn default_renewal_window() -> i32 {
    DEFAULT_RENEWAL_WINDOW_MONTHS
}

impl MeasureRules {
    /// Whether a contact of this kind keeps the rhythm.
    pub fn counts(&self, kind: ContactKind) -> bool {
        kind != ContactKind::MissedAppointment
            && (self.contact_kinds.is_empty() || self.contact_kinds.contains(&kind))
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = measures)]
pub struct MeasureRow {
    pub id: Uuid,
    pub kind: String,
    pub rules: serde_json::Value,
    pub household_id: Uuid,
    pub operator_organisation_id: Uuid,
    pub worker_account_id: Option<Uuid>,
    pub origin_referral_id: Option<Uuid>,
    pub referrer_organisation_id: Option<Uuid>,
    pub funder_organisation_id: Option<Uuid>,
    pub status: MeasureStatus,
    pub starts_on: NaiveDate,
    pub planned_end_on: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
    pub outcomes: serde_json::Value,
    pub closing_comment: Option<String>,
    pub suspended_on: Option<NaiveDate>,
    pub suspended_until: Option<NaiveDate>,
    pub suspension_reason: Option<SuspensionReason>,
    pub suspended_days: i32,
    pub last_contact_on: Option<NaiveDate>,
    pub next_contact_due_on: Option<NaiveDate>,
    pub contacts_count: i32,
    pub renewals_granted: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub programme_id: Option<Uuid>,
    pub contact_rhythm_missed: i32,
    /// Months granted by renewals, in all: the planned end counts them from the start.
    pub renewed_months: i32,
    pub cancellation_reason: Option<CancellationReason>,
}

impl MeasureRow {
    /// The rules it keeps (stored by the service: a failure to read them is ours).
    pub fn rules(&self) -> Result<MeasureRules, crate::error::ApiError> {
        serde_json::from_value(self.rules.clone()).map_err(crate::error::ApiError::internal)
    }

    pub fn outcome_codes(&self) -> Vec<OutcomeCode> {
        serde_json::from_value(self.outcomes.clone()).unwrap_or_default()
    }

    /// Active and its next contact was due before `today`.
    pub fn contact_overdue(&self, today: NaiveDate) -> bool {
        self.status == MeasureStatus::Active && self.next_contact_due_on.is_some_and(|d| d < today)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = renewals)]
pub struct RenewalRow {
    pub id: Uuid,
    pub measure_id: Uuid,
    pub household_id: Uuid,
    pub operator_organisation_id: Uuid,
    pub decider_organisation_id: Uuid,
    pub ordinal: i32,
    pub months: i32,
    pub exceptional: bool,
    pub justification: Option<String>,
    pub status: RenewalStatus,
    pub requested_by_account_id: Uuid,
    pub requested_on: NaiveDate,
    pub decided_on: Option<NaiveDate>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub refusal_reason: Option<RenewalRefusalReason>,
    pub refusal_explanation: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub granted_months: Option<i32>,
    pub decision_reference: Option<String>,
    pub decision_comment: Option<String>,
}

/// A request waits this many days for its decision before it shows as overdue.
pub const RENEWAL_DECISION_DAYS: i64 = 10;

impl RenewalRow {
    /// Still waiting more than [`RENEWAL_DECISION_DAYS`] after it was asked.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status == RenewalStatus::Requested
            && today > self.requested_on + chrono::Duration::days(RENEWAL_DECISION_DAYS)
    }
}

/// A renewal request, as the operator and the decider see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a600-0000-7000-8000-000000000001", "measure_id": "0193a5ff-0000-7000-8000-000000000001",
    "operator_organisation_id": "0193a5c2-0000-7000-8000-0000000000cc",
    "decider_organisation_id": "0193a5c2-0000-7000-8000-0000000000dd",
    "ordinal": 2, "months": 3, "exceptional": true,
    "justification": "The household's rehousing is set for March; the visits must go on until then",
    "status": "requested", "requested_on": "2027-09-01", "overdue": false,
    "decided_on": null, "granted_months": null, "decision_reference": null, "decision_comment": null,
    "starts_on": null, "ends_on": null, "refusal_reason": null, "refusal_explanation": null,
    "allowed_actions": ["grant", "refuse"], "version": 1,
    "created_at": "2027-09-01T09:00:00Z", "updated_at": "2027-09-01T09:00:00Z"
}))]
pub struct Renewal {
    pub id: Uuid,
    pub measure_id: Uuid,
    pub operator_organisation_id: Uuid,
    /// The organisation that decides: the measure's funder.
    pub decider_organisation_id: Uuid,
    /// Its place in the kind's renewal policy (1: the first renewal).
    pub ordinal: i32,
    /// The months asked: the policy's step.
    pub months: i32,
    /// An exceptional renewal, asked with a written justification.
    pub exceptional: bool,
    /// Why more time is needed (required for an exceptional renewal).
    pub justification: Option<String>,
    pub status: RenewalStatus,
    /// The day it was asked.
    pub requested_on: NaiveDate,
    /// Requested more than 10 days ago and still waiting.
    pub overdue: bool,
    /// The day the decider (its commission) decided: granted or refused.
    pub decided_on: Option<NaiveDate>,
    /// When granted: the months granted, at most `months`.
    pub granted_months: Option<i32>,
    /// The decision's reference, as the decider's commission records it.
    pub decision_reference: Option<String>,
    /// When granted: the decider's comment.
    pub decision_comment: Option<String>,
    /// When granted: the measure's planned end at the time.
    pub starts_on: Option<NaiveDate>,
    /// When granted: the measure's new planned end, counted from its start (see
    /// `Measure.planned_end_on`).
    pub ends_on: Option<NaiveDate>,
    pub refusal_reason: Option<RenewalRefusalReason>,
    pub refusal_explanation: Option<String>,
    /// What the caller may do now: exactly the actions that would succeed (state, role,
    /// scope, and the measure's state).
    pub allowed_actions: Vec<RenewalAction>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A contact with the household, as its operator alone sees it.
#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = measure_contacts)]
#[schema(example = json!({
    "id": "0193a601-0000-7000-8000-000000000001", "measure_id": "0193a5ff-0000-7000-8000-000000000001",
    "occurred_on": "2027-01-14", "kind": "home_visit",
    "duration_minutes": 60, "worker_account_id": "0193a5c2-0000-7000-8000-0000000000ce",
    "note": "Budget reviewed together; the FSL file is ready", "recorded_by_account_id": "0193a5c2-0000-7000-8000-0000000000ce",
    "removed_at": null, "removal_reason": null, "version": 1,
    "created_at": "2027-01-14T16:02:11Z", "updated_at": "2027-01-14T16:02:11Z"
}))]
pub struct Contact {
    pub id: Uuid,
    pub measure_id: Uuid,
    pub occurred_on: NaiveDate,
    pub kind: ContactKind,
    /// Minutes, when known.
    pub duration_minutes: Option<i32>,
    /// The worker who met the household.
    pub worker_account_id: Uuid,
    /// The operator's alone: never shown to another organisation, never in an event.
    pub note: Option<String>,
    pub recorded_by_account_id: Uuid,
    pub created_at: DateTime<Utc>,
    /// Changes with each correction (send it as `If-Match`).
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    /// When the operator removed it (logged by mistake): it no longer counts.
    pub removed_at: Option<DateTime<Utc>>,
    /// Why it was removed.
    pub removal_reason: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = objectives)]
pub struct ObjectiveRow {
    pub id: Uuid,
    pub measure_id: Uuid,
    pub household_id: Uuid,
    pub theme: ObjectiveTheme,
    pub description: String,
    pub status: ObjectiveStatus,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An objective of the measure, as its operator sees it, with its history.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a602-0000-7000-8000-000000000001", "measure_id": "0193a5ff-0000-7000-8000-000000000001",
    "theme": "budget", "description": "Pay the rent arrears back under the FSL plan",
    "status": "in_progress", "version": 1,
    "history": [{"id": "0193a602-0000-7000-8000-0000000000a1", "action": "set", "from_status": null, "to_status": "in_progress",
                 "actor_account_id": "0193a5c2-0000-7000-8000-0000000000ce", "actor_organisation_id": "0193a5c2-0000-7000-8000-0000000000cc",
                 "comment": null, "reason_code": null, "occurred_at": "2027-01-14T16:02:11Z"}],
    "created_at": "2027-01-14T16:02:11Z", "updated_at": "2027-01-14T16:02:11Z"
}))]
pub struct Objective {
    pub id: Uuid,
    pub measure_id: Uuid,
    pub theme: ObjectiveTheme,
    pub description: String,
    pub status: ObjectiveStatus,
    pub version: i32,
    /// Every change of its status, oldest first.
    pub history: Vec<crate::cases::CaseTransition>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
