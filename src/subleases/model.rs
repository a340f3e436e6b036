//! The types of sub-leases, their transitions and rent arrears: rows, wire shapes (what
//! partners send and are shown), enumerations.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::fields::validate_not_blank;
use crate::households::model::HouseholdSummary;
use crate::schema::{rent_arrears, subleases};
use crate::text_enum;

text_enum! {
    /// The legal form of the sub-lease.
    pub enum SubleaseKind {
        /// Intermediated rental (*intermédiation locative*): the association rents and
        /// sub-lets, for a limited time.
        Iml = "iml",
        /// Sliding lease (*bail glissant*): the lease passes to the household when it is ready.
        SlidingLease = "sliding_lease",
        /// Management mandate (*mandat de gestion*) of a private owner's unit.
        ManagementMandate = "management_mandate",
    }
}

text_enum! {
    /// Where a sub-lease stands.
    pub enum SubleaseStatus {
        /// Signed or agreed, not started: the unit is `reserved`.
        Planned = "planned",
        /// The household lives there: the unit is `occupied`.
        Active = "active",
        /// A sliding lease that glided: the household is now the landlord's direct tenant
        /// (the unit stays `occupied`, in its name).
        Glided = "glided",
        /// Over, with a reason.
        Ended = "ended",
    }
}

text_enum! {
    /// What a party can do to a sub-lease.
    pub enum SubleaseAction {
        /// The main tenant: the household moved in.
        Activate = "activate",
        /// The landlord: the lease passes to the household (sliding leases only).
        Glide = "glide",
        /// Either party: the sub-lease is over (or will not start), with a reason.
        End = "end",
    }
}

text_enum! {
    /// Why a sub-lease ended.
    pub enum EndReason {
        /// The household was rehoused (in its own name, elsewhere).
        Rehoused = "rehoused",
        /// The household left.
        Left = "left",
        /// The household was evicted.
        Evicted = "evicted",
        Deceased = "deceased",
        /// Needs a comment.
        Other = "other",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subleases)]
pub struct SubleaseRow {
    pub id: Uuid,
    pub unit_id: Uuid,
    pub main_tenant_organisation_id: Uuid,
    pub landlord_organisation_id: Uuid,
    pub household_id: Uuid,
    pub kind: SubleaseKind,
    pub starts_on: NaiveDate,
    pub planned_end_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub rent_cents: i64,
    pub charges_cents: i64,
    pub housing_benefit_cents: i64,
    pub deposit_cents: i64,
    pub status: SubleaseStatus,
    pub end_reason: Option<EndReason>,
    pub closing_comment: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub measure_id: Option<Uuid>,
}

impl SubleaseRow {
    /// What the household pays each month: rent and charges less the housing benefit.
    pub fn residual_charge_cents(&self) -> i64 {
        self.rent_cents + self.charges_cents - self.housing_benefit_cents
    }
}

/// A sub-lease of a unit to a household.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5f3-0000-7000-8000-000000000001", "unit_id": "0193a5f0-0000-7000-8000-000000000001",
    "main_tenant_organisation_id": "0193a5c2-0000-7000-8000-0000000000cc",
    "landlord_organisation_id": "0193a5c2-0000-7000-8000-0000000000dd",
    "household": {"id": "0193a5d0-0000-7000-8000-000000000001", "last_name": "Exemple", "first_names": "Alice",
                  "household_type": "single_parent_family", "adults": 1, "children": 2,
                  "members": [{"relation": "child", "birth_year": 2015}],
                  "monthly_resources_cents": 118000, "resource_kinds": ["rsa"]},
    "kind": "sliding_lease", "starts_on": "2026-12-01", "planned_end_on": "2028-11-30", "ended_on": null,
    "rent_cents": 41000, "charges_cents": 6000, "housing_benefit_cents": 32000, "deposit_cents": 0,
    "residual_charge_cents": 15000, "status": "planned", "end_reason": null, "closing_comment": null,
    "allowed_actions": ["activate", "end"],
    "version": 1, "created_at": "2026-11-22T18:51:05Z", "updated_at": "2026-11-22T18:51:05Z"
}))]
pub struct Sublease {
    pub id: Uuid,
    pub unit_id: Uuid,
    /// The association that sub-lets (the main tenant).
    pub main_tenant_organisation_id: Uuid,
    /// The unit's holder.
    pub landlord_organisation_id: Uuid,
    /// What the landlord needs of the household: name, composition, resources.
    pub household: HouseholdSummary,
    pub kind: SubleaseKind,
    pub starts_on: NaiveDate,
    pub planned_end_on: NaiveDate,
    /// When it ended (or glided).
    pub ended_on: Option<NaiveDate>,
    /// Monthly rent the household owes, excluding charges, in cents.
    pub rent_cents: i64,
    /// Monthly charges the household owes, in cents.
    pub charges_cents: i64,
    /// Estimated monthly housing benefit (APL/ALS), in cents.
    pub housing_benefit_cents: i64,
    pub deposit_cents: i64,
    /// What is left for the household to pay each month: rent + charges − housing benefit.
    pub residual_charge_cents: i64,
    pub status: SubleaseStatus,
    pub end_reason: Option<EndReason>,
    pub closing_comment: Option<String>,
    /// The support measure that goes with it (IML, sliding lease), as both parties see it:
    /// whether it runs and until when; `null` when none is named.
    pub support_measure: Option<SupportMeasure>,
    /// What your organisation may do to it now.
    pub allowed_actions: Vec<SubleaseAction>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A step in a sub-lease's life.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubleaseTransition {
    pub id: Uuid,
    pub sublease_id: Uuid,
    /// `plan`, `activate`, `glide` or `end`.
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_account_id: Option<Uuid>,
    pub actor_organisation_id: Option<Uuid>,
    pub comment: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

impl From<crate::cases::TransitionRow> for SubleaseTransition {
    fn from(t: crate::cases::TransitionRow) -> Self {
        SubleaseTransition {
            id: t.id,
            sublease_id: t.case_id,
            action: t.action,
            from_status: t.from_status,
            to_status: t.to_status,
            actor_account_id: t.actor_account_id,
            actor_organisation_id: t.actor_organisation_id,
            comment: t.comment,
            occurred_at: t.occurred_at,
        }
    }
}

/// Rent arrears recorded on a sub-lease.
#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = rent_arrears)]
#[schema(example = json!({
    "id": "0193a5f4-0000-7000-8000-000000000001", "sublease_id": "0193a5f3-0000-7000-8000-000000000001",
    "amount_cents": 45000, "months": 3, "comment": "No payment since September",
    "recorded_by_account_id": "0193a5c2-0000-7000-8000-0000000000ce",
    "recorded_by_organisation_id": "0193a5c2-0000-7000-8000-0000000000cc",
    "recorded_at": "2026-11-22T18:51:05Z"
}))]
pub struct RentArrears {
    pub id: Uuid,
    pub sublease_id: Uuid,
    /// The amount owed, in cents.
    pub amount_cents: i64,
    /// How many months of rent it covers.
    pub months: i32,
    pub comment: Option<String>,
    pub recorded_by_account_id: Uuid,
    pub recorded_by_organisation_id: Uuid,
    pub recorded_at: DateTime<Utc>,
}

/// The support measure of a sub-lease, as the landlord sees it: that it runs, and until when.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SupportMeasure {
    pub id: Uuid,
    pub status: crate::measures::model::MeasureStatus,
    /// `null`: no limit.
    pub planned_end_on: Option<NaiveDate>,
}

/// A new sub-lease.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "unit_id": "0193a5f0-0000-7000-8000-000000000001", "household_id": "0193a5d0-0000-7000-8000-000000000001",
    "kind": "sliding_lease", "starts_on": "2026-12-01", "planned_end_on": "2028-11-30",
    "rent_cents": 41000, "charges_cents": 6000, "housing_benefit_cents": 32000, "deposit_cents": 0
}))]
pub struct NewSublease {
    /// A unit your organisation sees through an active agreement, or holds (a private
    /// owner's unit under a mandate).
    pub unit_id: Uuid,
    /// A household your organisation sees, whose consent to sharing is in force.
    pub household_id: Uuid,
    pub kind: SubleaseKind,
    /// The first day: within the period of the agreement that makes the unit available, and
    /// a day on which the unit's energy class may still be let.
    pub starts_on: NaiveDate,
    /// The day it ends (the household no longer lives there): after `starts_on`, and at
    /// the latest on the agreement's `ends_on`. Two sub-leases of a unit never overlap (one
    /// may start the day another ends).
    pub planned_end_on: NaiveDate,
    /// Monthly rent the household owes, excluding charges, in cents.
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub rent_cents: i64,
    /// Monthly charges the household owes, in cents.
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub charges_cents: i64,
    /// Estimated monthly housing benefit, in cents: at most rent plus charges.
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub housing_benefit_cents: i64,
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub deposit_cents: i64,
    /// The support measure that goes with it: one your organisation operates for this
    /// household, not closed or cancelled. The landlord then sees that it runs and until when.
    pub measure_id: Option<Uuid>,
}

/// The end of a sub-lease.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "rehoused", "ended_on": "2027-06-30", "comment": "Social housing in her own name"}))]
pub struct Ending {
    pub reason: EndReason,
    /// The last day is the day before; default today. Not before the start (a planned
    /// sub-lease that will not start ends on its start date).
    pub ended_on: Option<NaiveDate>,
    /// Required when `reason` is `other`.
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub comment: Option<String>,
}

/// Rent arrears to record.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount_cents": 45000, "months": 3, "comment": "No payment since September"}))]
pub struct NewArrears {
    /// The amount owed, in cents: more than 0.
    #[validate(range(min = 1, max = 100_000_000))]
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub amount_cents: i64,
    /// How many months of rent it covers: 1 to 120.
    #[validate(range(min = 1, max = 120))]
    #[schema(minimum = 1, maximum = 120)]
    pub months: i32,
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubleaseFilters {
    pub unit_id: Option<Uuid>,
    pub household_id: Option<Uuid>,
    pub status: Option<SubleaseStatus>,
}
