//! What each party is shown of a measure (the table of `measures::service`): the parts
//! a party's side opens.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::*;
use crate::households::model::HouseholdType;
use crate::schema::households;

/// The household as the funder and the operator see it on a measure: name and make-up.
#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = households)]
pub struct HouseholdComposition {
    pub id: Uuid,
    #[diesel(column_name = head_last_name)]
    pub last_name: String,
    #[diesel(column_name = head_first_names)]
    pub first_names: String,
    pub household_type: HouseholdType,
    /// Adults, the head included.
    pub adults: i32,
    /// Children (minors).
    pub children: i32,
}

/// What the operator, the funder and the referrer see of a measure.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeasureDetails {
    /// A code of the catalogue (`GET /v1/measure-kinds`).
    pub kind: String,
    pub household_id: Uuid,
    pub operator_organisation_id: Uuid,
    /// The organisation that funds it and decides its start (when the kind needs a
    /// decision) and renewals; `null` until set.
    pub funder_organisation_id: Option<Uuid>,
    /// The referral it came from; `null` when the operator opened it directly.
    pub origin_referral_id: Option<Uuid>,
    /// The programme that funds it (`GET /v1/programmes/{id}`); `null`: none.
    pub programme_id: Option<Uuid>,
    pub referrer_organisation_id: Option<Uuid>,
    /// When it starts (or started); a proposed measure's planned start.
    pub starts_on: NaiveDate,
    /// When it was closed.
    pub ended_on: Option<NaiveDate>,
    /// How it ended (closed measures).
    pub outcomes: Vec<OutcomeCode>,
    /// Why it was given up (cancelled measures).
    pub cancellation_reason: Option<CancellationReason>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// What the operator and the funder see: the household, the rules, the follow-up counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeasureFunding {
    pub household: HouseholdComposition,
    /// The rules it keeps from its kind (a later catalogue change does not change them).
    pub rules: MeasureRules,
    /// Contacts logged so far (missed appointments included).
    pub contacts_count: i32,
    /// While suspended: the day it was.
    pub suspended_on: Option<NaiveDate>,
    /// While suspended: the latest day the current suspension may last to; `null`
    /// otherwise.
    pub suspended_until: Option<NaiveDate>,
    /// Days suspended in all (completed suspensions).
    pub suspended_days: i32,
    /// Renewals granted so far.
    pub renewals_granted: i32,
}

/// What the operator alone sees: the worker, the rhythm, the reasons.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeasureFollowUp {
    /// The worker in charge (*référent*): an account of the operator.
    pub worker_account_id: Option<Uuid>,
    /// The latest contact held (a missed appointment is none).
    pub last_contact_on: Option<NaiveDate>,
    /// When the next contact that counts for the kind's rhythm is due; `null` without a
    /// rhythm.
    pub next_contact_due_on: Option<NaiveDate>,
    /// Active and its next contact was due before today (French legal date).
    pub contact_overdue: bool,
    /// While suspended: why.
    pub suspension_reason: Option<SuspensionReason>,
    /// The comment of the close or the cancellation.
    pub closing_comment: Option<String>,
}

/// A support measure, as one of its parties sees it: `details` for its operator, funder and
/// referrer; `funding` for its operator and funder; `follow_up` for its operator alone; the
/// landlord of a sub-lease that names it sees its `status` and `planned_end_on` only. A
/// section a party may not see is absent.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5ff-0000-7000-8000-000000000001", "status": "active", "planned_end_on": "2027-07-04",
    "details": {"kind": "asll", "household_id": "0193a5d0-0000-7000-8000-000000000001",
        "operator_organisation_id": "0193a5c2-0000-7000-8000-0000000000cc",
        "funder_organisation_id": "0193a5c2-0000-7000-8000-0000000000dd", "origin_referral_id": null, "programme_id": null,
        "referrer_organisation_id": null, "starts_on": "2027-01-04", "ended_on": null, "outcomes": [],
        "cancellation_reason": null,
        "created_at": "2026-12-20T10:00:00Z"},
    "funding": {"household": {"id": "0193a5d0-0000-7000-8000-000000000001", "last_name": "Martin", "first_names": "Julie",
        "household_type": "single_parent_family", "adults": 1, "children": 2},
        "rules": {"kind_version": 1, "duration_months": 6, "needs_decision": true,
            "renewal_policy": [{"months": 3, "exceptional": false}, {"months": 3, "exceptional": true}],
            "contact_every_days": 14, "contact_kinds": ["home_visit"],
            "outcome_codes": ["accessed_housing", "kept_housing", "rehoused", "left_without_solution", "moved_away", "ended_by_household", "deceased"],
            "exclusive_outcomes": [["accessed_housing", "kept_housing", "rehoused", "left_without_solution", "moved_away", "deceased"],
                ["ended_by_household", "deceased"]],
            "max_total_months": null, "max_suspension_days": 92, "renewal_window_months": 3},
        "contacts_count": 3, "suspended_on": null, "suspended_until": null, "suspended_days": 0, "renewals_granted": 0},
    "follow_up": {"worker_account_id": "0193a5c2-0000-7000-8000-0000000000ce", "last_contact_on": "2027-01-28",
        "next_contact_due_on": "2027-02-11", "contact_overdue": false, "suspension_reason": null, "closing_comment": null},
    "allowed_actions": ["suspend", "close"], "version": 4, "updated_at": "2027-01-28T17:00:00Z"
}))]
pub struct Measure {
    pub id: Uuid,
    pub status: MeasureStatus,
    /// The planned end, always counted from the start: `starts_on` + (the rules'
    /// `duration_months` + the months renewals granted) + the days suspended (a running
    /// suspension counts until its `suspended_until`). Month arithmetic keeps the day of the
    /// month, or the month's last day when it has none: a measure started on 31 August for
    /// 6 months ends on 28 February, and on 31 May after a 3-month renewal. `null`: no
    /// limit.
    pub planned_end_on: Option<NaiveDate>,
    /// Shown to the operator, the funder and the referrer; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub details: Option<MeasureDetails>,
    /// Shown to the operator and the funder; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub funding: Option<MeasureFunding>,
    /// Shown to the operator alone; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub follow_up: Option<MeasureFollowUp>,
    /// What the caller's organisation may do now (`POST /v1/measures/{id}/{action}`).
    pub allowed_actions: Vec<MeasureAction>,
    pub version: i32,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}
