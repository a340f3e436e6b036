//! What partners send about measures: request bodies, action payloads and list filters
//! (measures, objectives, renewals, contacts). Checked against stored data by the service.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::*;
use crate::fields::validate_not_blank;
use crate::http::patch;

/// A measure the operator opens directly, for a household it sees.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "household_id": "0193a5d0-0000-7000-8000-000000000001", "kind": "asll",
    "funder_organisation_id": "0193a5c2-0000-7000-8000-0000000000dd",
    "worker_account_id": "0193a5c2-0000-7000-8000-0000000000ce", "starts_on": "2027-01-04"
}))]
pub struct NewMeasure {
    /// A household your organisation sees.
    pub household_id: Uuid,
    /// A code of `GET /v1/measure-kinds` offered to your organisation, which must be of one
    /// of the kind's `operator_kinds`.
    #[validate(length(min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40)]
    pub kind: String,
    /// An organisation of one of the kind's `funder_kinds`; required when the kind needs a
    /// decision (it decides the start and the renewals).
    pub funder_organisation_id: Option<Uuid>,
    /// An active account of your organisation; default: you, if you are a person.
    pub worker_account_id: Option<Uuid>,
    /// The (planned) start, within a year of today either way (`out_of_range`; a measure
    /// under way elsewhere is recorded from its real start); default: today (French legal
    /// date).
    #[validate(custom(function = "crate::calendar::validate_within_a_year"))]
    pub starts_on: Option<NaiveDate>,
    /// A programme funding your organisation and this kind, running on `starts_on`, whose
    /// funder is the measure's (it becomes the funder when none is named). A measure that
    /// opens `active` takes a place at once (409 `programme_full` when none is left).
    pub programme_id: Option<Uuid>,
}

/// Changes to a measure by its operator, as a JSON Merge Patch (RFC 7396).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"worker_account_id": "0193a5c2-0000-7000-8000-0000000000cf"}))]
pub struct MeasurePatch {
    /// The worker in charge: an active account of the operator; `null`: none.
    #[schema(value_type = Option<Uuid>)]
    #[serde(default, deserialize_with = "patch::nullable")]
    pub worker_account_id: Option<Option<Uuid>>,
    /// The funder, while the measure is proposed or has none (409 otherwise).
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub funder_organisation_id: Option<Uuid>,
    /// The programme that funds it (see `NewMeasure`), while it is proposed, active or
    /// suspended (409 once closed or cancelled); `null`: none. A started measure gives back
    /// its place in the programme it leaves and takes one in the programme it joins (409
    /// `programme_full` when none is left).
    #[schema(value_type = Option<Uuid>)]
    #[serde(default, deserialize_with = "patch::nullable")]
    pub programme_id: Option<Option<Uuid>>,
}

/// An objective to set.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"theme": "budget", "description": "Pay the rent arrears back under the FSL plan"}))]
pub struct NewObjective {
    pub theme: ObjectiveTheme,
    #[validate(length(min = 1, max = 2000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 2000, pattern = "\\S")]
    pub description: String,
}

/// Changes to an objective, as a JSON Merge Patch; a status change is a step of its history.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "achieved", "comment": "Arrears cleared in May"}))]
pub struct ObjectivePatch {
    #[validate(length(min = 1, max = 2000), custom(function = "validate_not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 2000, pattern = "\\S")]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub description: Option<String>,
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub status: Option<ObjectiveStatus>,
    /// Recorded with a status change (422 `without_status_change` otherwise).
    #[validate(length(min = 1, max = 4000))]
    #[schema(nullable = false, min_length = 1, max_length = 4000)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub comment: Option<String>,
}

/// A measure's side, as a list filter.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ListedAs {
    Operator,
    Funder,
    Referrer,
    /// The landlord of a sub-lease that names the measure.
    Landlord,
}

impl ListedAs {
    /// The side's name, as error messages say it.
    pub fn as_str(self) -> &'static str {
        match self {
            ListedAs::Operator => "operator",
            ListedAs::Funder => "funder",
            ListedAs::Referrer => "referrer",
            ListedAs::Landlord => "landlord",
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeasureFilters {
    /// Your organisation's side: `operator`, `funder`, `referrer` or `landlord` (of a
    /// sub-lease that names the measure); all four when absent. A side your organisation's
    /// kind never takes (`funder` for an association) is a 422 `not_your_side`.
    #[param(value_type = Option<String>, pattern = "^(operator|funder|referrer|landlord)$")]
    pub r#as: Option<ListedAs>,
    /// Only measures in this status.
    pub status: Option<MeasureStatus>,
    /// A measure kind's code: one the catalogue holds or held (422 `unknown_measure_kind`
    /// otherwise).
    #[param(pattern = "^[a-z][a-z0-9_]{1,39}$")]
    pub kind: Option<String>,
    /// Only this household's measures.
    pub household_id: Option<Uuid>,
    /// The referral a measure came from.
    pub referral_id: Option<Uuid>,
    /// The programme that funds it (`GET /v1/programmes`).
    pub programme_id: Option<Uuid>,
    /// A worker's caseload: an account of your organisation (`not_in_organisation`
    /// otherwise); only measures your organisation operates (see the operation).
    pub worker_account_id: Option<Uuid>,
    /// `true`: active measures your organisation operates whose next contact was due before
    /// today; `false`: the others it operates. Only measures your organisation operates
    /// (see the operation).
    pub contact_overdue: Option<bool>,
    /// Only measures planned to end before this date.
    pub ending_before: Option<NaiveDate>,
    /// Only measures changed at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
}
/// The decision to start a proposed measure.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"starts_on": "2027-01-04", "comment": "Validated by the CUD of 2026-12-18"}))]
pub struct MeasureStart {
    /// Within a year of today either way (`out_of_range`); default: the planned start, or
    /// today if it is past.
    #[validate(custom(function = "crate::calendar::validate_within_a_year"))]
    pub starts_on: Option<NaiveDate>,
    /// The decision's comment (its commission, its date), kept in the history.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub comment: Option<String>,
}

/// A suspension: its reason and the latest day it may last to.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "household_absent", "until": "2027-03-01", "comment": "Stay with family abroad"}))]
pub struct Suspension {
    pub reason: SuspensionReason,
    /// After today; the measure's suspensions may not add up to more than its rules'
    /// `max_suspension_days`. The planned end moves by the suspension's length (adjusted at
    /// resumption to the days actually suspended).
    pub until: NaiveDate,
    /// Required when `reason` is `other`.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub comment: Option<String>,
}

/// A closing, with its outcomes.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"outcomes": ["kept_housing"], "ended_on": "2027-06-30", "comment": "Arrears cleared, lease kept"}))]
pub struct MeasureClosing {
    /// 1 to 4 distinct codes among the rules' `outcome_codes`, at most one of each group
    /// of the rules' `exclusive_outcomes` (`exclusive`: kept housing and left without
    /// solution cannot both be true).
    #[validate(length(min = 1, max = 4))]
    #[schema(min_items = 1, max_items = 4)]
    pub outcomes: Vec<OutcomeCode>,
    /// Default: today; not before the start, not in the future (`in_future`).
    pub ended_on: Option<NaiveDate>,
    /// How it ended, in words; the funder and the referrer do not see it.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub comment: Option<String>,
}

/// A cancellation, with its coded reason.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "household_declined", "comment": "The household prefers to go on with its own social worker"}))]
pub struct MeasureCancellation {
    pub reason: CancellationReason,
    /// Required when `reason` is `other`.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub comment: Option<String>,
}

/// What an action carries.
pub enum Payload {
    Start(MeasureStart),
    Suspend(Suspension),
    Resume,
    Close(MeasureClosing),
    Cancel(MeasureCancellation),
}
/// A renewal request: the next renewal of the measure's policy.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"justification": "The rehousing is set for March; the visits must go on until then"}))]
pub struct NewRenewal {
    /// Required for an exceptional renewal.
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub justification: Option<String>,
}

/// A grant: the decision as the decider's commission took it. Every field is optional.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"months": 2, "decided_on": "2027-06-20", "decision_reference": "CUD-71-2027-118",
    "comment": "Two months to finish the rehousing file"}))]
pub struct RenewalGrant {
    /// The months granted: 1 to the months asked (`beyond_asked`); default: those asked.
    #[validate(range(min = 1, max = 120))]
    #[schema(minimum = 1, maximum = 120)]
    pub months: Option<i32>,
    /// The day the decision was taken: not in the future (`in_future`), not before the
    /// request (`before_request`); default: today.
    pub decided_on: Option<NaiveDate>,
    /// The decision's reference, as the commission records it.
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub decision_reference: Option<String>,
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub comment: Option<String>,
}

/// A refusal, with its coded reason and explanation.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "objectives_met", "explanation": "The household has kept its home and pays its rent",
    "decided_on": "2027-06-20", "decision_reference": "CUD-71-2027-119"}))]
pub struct RenewalRefusal {
    pub reason: RenewalRefusalReason,
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub explanation: String,
    /// The day the decision was taken (see `RenewalGrant`); default: today.
    pub decided_on: Option<NaiveDate>,
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub decision_reference: Option<String>,
}

/// A withdrawal of a waiting request by the operator.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"comment": "The household has found a home: the measure closes at its end"}))]
pub struct RenewalWithdrawal {
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub comment: Option<String>,
}

/// A renewal's side, as a list filter.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RenewalSide {
    /// Renewals waiting for (or given) your organisation's decision.
    Decider,
    /// Renewals your organisation asked for.
    Operator,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RenewalFilters {
    /// `decider` (your decisions) or `operator` (your requests); both when absent. A side
    /// your organisation's kind never takes, or not its side of `measure_id`, is a 422
    /// `not_your_side`.
    #[param(value_type = Option<String>, pattern = "^(decider|operator)$")]
    pub r#as: Option<RenewalSide>,
    /// Only renewals in this status.
    pub status: Option<RenewalStatus>,
    /// `true`: requests waiting more than 10 days; `false`: the others.
    pub overdue: Option<bool>,
    /// One measure's renewals: a measure your organisation operates or funds.
    pub measure_id: Option<Uuid>,
}
/// A contact to log.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"occurred_on": "2027-01-14", "kind": "home_visit", "duration_minutes": 60,
    "note": "Budget reviewed together; the FSL file is ready"}))]
pub struct NewContact {
    /// Not in the future (`in_future`), not before the measure's start (`before_start`),
    /// not after a closed measure's end (`after_end`).
    #[validate(custom(function = "crate::calendar::validate_not_future"))]
    pub occurred_on: NaiveDate,
    pub kind: ContactKind,
    /// 1 to 720 minutes.
    #[validate(range(min = 1, max = 720))]
    #[schema(minimum = 1, maximum = 720)]
    pub duration_minutes: Option<i32>,
    /// An account of the operator; default: the measure's worker, else you.
    pub worker_account_id: Option<Uuid>,
    /// The operator's alone: never shown to another organisation, never in an event.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub note: Option<String>,
    /// `true`: another contact than the one already logged for this measure, kind, day and
    /// worker (two home visits on one day). Without it, such a contact is a 409 `duplicate`
    /// naming the one logged (`existing_id`): the same visit entered twice.
    #[serde(default)]
    pub distinct: bool,
}

/// A correction of a contact: the values it should have had (an absent field keeps its
/// value; `null` clears `duration_minutes` or `note`), and why.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"occurred_on": "2027-01-15", "reason": "Logged on the wrong day"}))]
pub struct ContactCorrection {
    /// Not in the future (`in_future`), not before the measure's start (`before_start`),
    /// not after a closed measure's end (`after_end`).
    #[validate(custom(function = "crate::calendar::validate_not_future"))]
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub occurred_on: Option<NaiveDate>,
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub kind: Option<ContactKind>,
    #[validate(range(min = 1, max = 720))]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 720)]
    #[serde(default, deserialize_with = "patch::nullable")]
    pub duration_minutes: Option<Option<i32>>,
    /// An active account of the operator.
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub worker_account_id: Option<Uuid>,
    #[validate(length(min = 1, max = 4000))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 4000)]
    #[serde(default, deserialize_with = "patch::nullable")]
    pub note: Option<Option<String>>,
    /// Why it is corrected: kept in the contact's history with the values it replaced.
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub reason: String,
    /// As for a new contact: `true` when the corrected contact is another than one already
    /// logged for the same measure, kind, day and worker.
    #[serde(default)]
    pub distinct: bool,
}

/// A removal of a contact logged by mistake.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Logged on the wrong measure"}))]
pub struct ContactRemoval {
    /// Why it is removed: kept with it and in its history.
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactFilters {
    /// `true`: the contacts removed (logged by mistake) as well; default: only those that
    /// count.
    pub include_removed: Option<bool>,
}
