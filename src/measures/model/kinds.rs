//! The measure catalogue's types: a kind as stored (its rules as data), as shown, and as an
//! admin adds or changes it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use super::{
    ContactKind, MeasureRules, OutcomeCode, RenewalStep, DEFAULT_MAX_SUSPENSION_DAYS,
    DEFAULT_RENEWAL_WINDOW_MONTHS,
};
use crate::fields::validate_not_blank;
use crate::http::patch;
use crate::identity::model::OrganisationKind;
use crate::schema::measure_kinds;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = measure_kinds)]
pub struct MeasureKindRow {
    pub code: String,
    pub name: String,
    pub funder: String,
    pub description: String,
    pub default_response_days: Option<i32>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub duration_months: Option<i32>,
    pub needs_decision: bool,
    pub renewal_policy: serde_json::Value,
    pub contact_every_days: Option<i32>,
    pub contact_kinds: serde_json::Value,
    pub outcome_codes: serde_json::Value,
    pub max_total_months: Option<i32>,
    pub max_suspension_days: Option<i32>,
    pub operator_kinds: serde_json::Value,
    pub funder_kinds: serde_json::Value,
    pub department_code: Option<String>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    pub renewal_window_months: Option<i32>,
    pub exclusive_outcomes: serde_json::Value,
}

/// A list as its JSON column stores it (empty when unreadable: the service wrote it).
pub fn json_list<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Vec<T> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

impl MeasureKindRow {
    /// The rules a measure of this kind keeps from its opening.
    pub fn rules(&self) -> MeasureRules {
        MeasureRules {
            kind_version: self.version,
            duration_months: self.duration_months,
            needs_decision: self.needs_decision,
            renewal_policy: json_list(&self.renewal_policy),
            contact_every_days: self.contact_every_days,
            contact_kinds: json_list(&self.contact_kinds),
            outcome_codes: json_list(&self.outcome_codes),
            exclusive_outcomes: json_list(&self.exclusive_outcomes),
            max_total_months: self.max_total_months,
            max_suspension_days: self
                .max_suspension_days
                .unwrap_or(DEFAULT_MAX_SUSPENSION_DAYS),
            renewal_window_months: self
                .renewal_window_months
                .unwrap_or(DEFAULT_RENEWAL_WINDOW_MONTHS),
        }
    }

    pub fn operator_kinds(&self) -> Vec<OrganisationKind> {
        json_list(&self.operator_kinds)
    }

    pub fn funder_kinds(&self) -> Vec<OrganisationKind> {
        json_list(&self.funder_kinds)
    }

    /// Whether an organisation of this département may use the kind.
    pub fn offered_in(&self, department_code: &str) -> bool {
        self.department_code
            .as_deref()
            .is_none_or(|d| d == department_code)
    }
}

/// A kind of support measure of the catalogue, with its rules.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"code": "asll", "name": "Accompagnement social lié au logement", "funder": "Department (FSL)",
    "description": "Validated by a commission; 6 months, renewable", "default_response_days": null,
    "duration_months": 6, "needs_decision": true,
    "renewal_policy": [{"months": 3, "exceptional": false}, {"months": 3, "exceptional": true}],
    "contact_every_days": 14, "contact_kinds": ["home_visit"],
    "outcome_codes": ["accessed_housing", "kept_housing", "rehoused", "left_without_solution", "moved_away", "ended_by_household", "deceased"],
    "exclusive_outcomes": [["accessed_housing", "kept_housing", "rehoused", "left_without_solution", "moved_away", "deceased"],
        ["ended_by_household", "deceased"]],
    "max_total_months": null, "max_suspension_days": null, "renewal_window_months": null,
    "operator_kinds": ["association"], "funder_kinds": ["department"], "department_code": null,
    "active": true, "version": 1, "updated_at": "2026-12-01T00:00:00Z"}))]
pub struct MeasureKind {
    /// Its code: `^[a-z][a-z0-9_]{1,39}$`.
    pub code: String,
    pub name: String,
    /// Who funds it, in words.
    pub funder: String,
    pub description: String,
    /// Days an addressee has to answer a referral; `null`: 30.
    pub default_response_days: Option<i32>,
    /// Months from the start to the planned end; `null`: no limit (pension de famille).
    pub duration_months: Option<i32>,
    /// Whether the start needs the funder's (or its commission's) decision: a measure opened
    /// for it is `proposed` until the funder starts it (ASLL: the CUD validates).
    pub needs_decision: bool,
    /// The renewals allowed, in order; a renewal beyond the list is refused.
    pub renewal_policy: Vec<RenewalStep>,
    /// One counting contact every so many days (ASLL: 14, a home visit a fortnight); `null`:
    /// no rhythm.
    pub contact_every_days: Option<i32>,
    /// The contact kinds that count for the rhythm; empty: every kind but a missed
    /// appointment.
    pub contact_kinds: Vec<ContactKind>,
    /// The outcomes a measure of this kind may close with (one at least); they feed
    /// funders' targets.
    pub outcome_codes: Vec<OutcomeCode>,
    /// Groups of outcomes that exclude each other: a measure closes with at most one code
    /// of each group.
    pub exclusive_outcomes: Vec<Vec<OutcomeCode>>,
    /// The longest a measure may last, renewals included, suspensions aside (AGIR: 24);
    /// `null`: no limit.
    pub max_total_months: Option<i32>,
    /// The longest a measure may be suspended in all, in days; `null`: 92 (three months).
    pub max_suspension_days: Option<i32>,
    /// A renewal is asked in the last so many months before the planned end; `null`: 3
    /// (as les-emplois opens PASS IAE prolongations).
    pub renewal_window_months: Option<i32>,
    /// The organisation kinds that may operate it.
    pub operator_kinds: Vec<OrganisationKind>,
    /// The organisation kinds that may fund it (and decide its start and renewals).
    pub funder_kinds: Vec<OrganisationKind>,
    /// `null`: a national kind; else the département whose kind it is, offered only there.
    pub department_code: Option<String>,
    /// Offered for new referrals and measures.
    pub active: bool,
    /// Changes with every change of the kind; measures record the version they were opened
    /// with.
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

impl From<MeasureKindRow> for MeasureKind {
    fn from(r: MeasureKindRow) -> Self {
        MeasureKind {
            renewal_policy: json_list(&r.renewal_policy),
            contact_kinds: json_list(&r.contact_kinds),
            outcome_codes: json_list(&r.outcome_codes),
            exclusive_outcomes: json_list(&r.exclusive_outcomes),
            renewal_window_months: r.renewal_window_months,
            operator_kinds: json_list(&r.operator_kinds),
            funder_kinds: json_list(&r.funder_kinds),
            code: r.code,
            name: r.name,
            funder: r.funder,
            description: r.description,
            default_response_days: r.default_response_days,
            duration_months: r.duration_months,
            needs_decision: r.needs_decision,
            contact_every_days: r.contact_every_days,
            max_total_months: r.max_total_months,
            max_suspension_days: r.max_suspension_days,
            department_code: r.department_code,
            active: r.active,
            version: r.version,
            updated_at: r.updated_at,
        }
    }
}

fn validate_code(code: &str) -> Result<(), ValidationError> {
    if crate::referrals::rules::measure_kind_code_is_valid(code) {
        Ok(())
    } else {
        Err(ValidationError::new("pattern").with_message(
            "a lower-case letter, then 1 to 39 lower-case letters, digits or underscores".into(),
        ))
    }
}

fn validate_policy(policy: &[RenewalStep]) -> Result<(), ValidationError> {
    if policy.iter().all(|s| (1..=60).contains(&s.months)) {
        Ok(())
    } else {
        Err(ValidationError::new("range").with_message("each renewal lasts 1 to 60 months".into()))
    }
}

fn validate_department(code: &str) -> Result<(), ValidationError> {
    crate::identity::requests::validate_department_code(code)
}

/// A new kind of the catalogue.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "asrl", "name": "Accompagnement social renforcé lié au logement",
    "funder": "Department + DIHAL", "description": "Reinforced support under a call for projects",
    "funder_kinds": ["department"], "department_code": "62"}))]
pub struct NewMeasureKind {
    #[validate(custom(function = "validate_code"))]
    #[schema(pattern = "^[a-z][a-z0-9_]{1,39}$")]
    pub code: String,
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub funder: String,
    #[validate(length(max = 4000))]
    #[schema(max_length = 4000)]
    #[serde(default)]
    pub description: String,
    #[validate(range(min = 1, max = 365))]
    #[schema(minimum = 1, maximum = 365)]
    pub default_response_days: Option<i32>,
    #[validate(range(min = 1, max = 120))]
    #[schema(minimum = 1, maximum = 120)]
    pub duration_months: Option<i32>,
    #[serde(default)]
    pub needs_decision: bool,
    /// At most 10 steps of 1 to 60 months.
    #[validate(length(max = 10), custom(function = "validate_policy"))]
    #[schema(max_items = 10)]
    #[serde(default)]
    pub renewal_policy: Vec<RenewalStep>,
    #[validate(range(min = 1, max = 365))]
    #[schema(minimum = 1, maximum = 365)]
    pub contact_every_days: Option<i32>,
    #[validate(length(max = 5))]
    #[schema(max_items = 5)]
    #[serde(default)]
    pub contact_kinds: Vec<ContactKind>,
    /// The outcomes its measures close with: 1 to 8 codes.
    #[validate(length(min = 1, max = 8))]
    #[schema(min_items = 1, max_items = 8)]
    pub outcome_codes: Vec<OutcomeCode>,
    /// Groups of `outcome_codes` that exclude each other (two codes or more each); absent:
    /// the platform's (the housing outcomes exclude each other; a death excludes every
    /// other outcome), as far as the kind offers them; `[]`: none.
    #[validate(length(max = 8))]
    #[schema(max_items = 8)]
    pub exclusive_outcomes: Option<Vec<Vec<OutcomeCode>>>,
    /// 1 to 24; absent: 3.
    #[validate(range(min = 1, max = 24))]
    #[schema(minimum = 1, maximum = 24)]
    pub renewal_window_months: Option<i32>,
    /// At least `duration_months`.
    #[validate(range(min = 1, max = 240))]
    #[schema(minimum = 1, maximum = 240)]
    pub max_total_months: Option<i32>,
    #[validate(range(min = 1, max = 365))]
    #[schema(minimum = 1, maximum = 365)]
    pub max_suspension_days: Option<i32>,
    /// Default: `["association"]`.
    #[validate(length(min = 1, max = 4))]
    #[schema(min_items = 1, max_items = 4)]
    pub operator_kinds: Option<Vec<OrganisationKind>>,
    #[validate(length(min = 1, max = 4))]
    #[schema(min_items = 1, max_items = 4)]
    pub funder_kinds: Vec<OrganisationKind>,
    /// A département's own kind; absent: national.
    #[validate(custom(function = "validate_department"))]
    #[schema(pattern = "^(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-8])$")]
    pub department_code: Option<String>,
}

/// Changes to a kind, as a JSON Merge Patch (RFC 7396): measures already opened keep the
/// rules they were opened with. `null` clears a rule that may be empty.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"contact_every_days": 21}))]
pub struct MeasureKindPatch {
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = "\\S")]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub name: Option<String>,
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = "\\S")]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub funder: Option<String>,
    #[validate(length(max = 4000))]
    #[schema(nullable = false, max_length = 4000)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub description: Option<String>,
    #[validate(range(min = 1, max = 365))]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 365)]
    #[serde(default, deserialize_with = "patch::nullable")]
    pub default_response_days: Option<Option<i32>>,
    #[validate(range(min = 1, max = 120))]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 120)]
    #[serde(default, deserialize_with = "patch::nullable")]
    pub duration_months: Option<Option<i32>>,
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub needs_decision: Option<bool>,
    #[validate(length(max = 10), custom(function = "validate_policy"))]
    #[schema(nullable = false, max_items = 10)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub renewal_policy: Option<Vec<RenewalStep>>,
    #[validate(range(min = 1, max = 365))]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 365)]
    #[serde(default, deserialize_with = "patch::nullable")]
    pub contact_every_days: Option<Option<i32>>,
    #[validate(length(max = 5))]
    #[schema(nullable = false, max_items = 5)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub contact_kinds: Option<Vec<ContactKind>>,
    #[validate(length(min = 1, max = 8))]
    #[schema(nullable = false, min_items = 1, max_items = 8)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub outcome_codes: Option<Vec<OutcomeCode>>,
    /// Groups of `outcome_codes` that exclude each other; `[]`: none.
    #[validate(length(max = 8))]
    #[schema(nullable = false, max_items = 8)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub exclusive_outcomes: Option<Vec<Vec<OutcomeCode>>>,
    #[validate(range(min = 1, max = 24))]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 24)]
    #[serde(default, deserialize_with = "patch::nullable")]
    pub renewal_window_months: Option<Option<i32>>,
    #[validate(range(min = 1, max = 240))]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 240)]
    #[serde(default, deserialize_with = "patch::nullable")]
    pub max_total_months: Option<Option<i32>>,
    #[validate(range(min = 1, max = 365))]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 365)]
    #[serde(default, deserialize_with = "patch::nullable")]
    pub max_suspension_days: Option<Option<i32>>,
    #[validate(length(min = 1, max = 4))]
    #[schema(nullable = false, min_items = 1, max_items = 4)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub operator_kinds: Option<Vec<OrganisationKind>>,
    #[validate(length(min = 1, max = 4))]
    #[schema(nullable = false, min_items = 1, max_items = 4)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub funder_kinds: Option<Vec<OrganisationKind>>,
    /// `false` withdraws the kind from new referrals and measures (running ones go on).
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub active: Option<bool>,
}

/// A list as its JSON column stores it.
pub fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}
