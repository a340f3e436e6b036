//! Programmes as stored and as the API shows them.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::fields::validate_not_blank;
use crate::http::patch;
use crate::measures::model::OutcomeCode;
use crate::schema::{programme_kinds, programmes};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = programmes)]
pub struct ProgrammeRow {
    pub id: Uuid,
    pub name: String,
    pub funder_organisation_id: Uuid,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub department_codes: serde_json::Value,
    pub budget_cents: i64,
    pub targets: serde_json::Value,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ProgrammeRow {
    pub fn department_codes(&self) -> Vec<String> {
        serde_json::from_value(self.department_codes.clone()).unwrap_or_default()
    }

    pub fn targets(&self) -> Vec<OutcomeTarget> {
        serde_json::from_value(self.targets.clone()).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = programme_kinds)]
pub struct ProgrammeKindRow {
    pub programme_id: Uuid,
    pub kind: String,
    pub funded: i32,
    pub used: i32,
}

/// An outcome target: of the measures (of `kind`, or of every kind) closed over a period,
/// at least `at_least_percent` % closed with one of `outcomes` (AGIR: 60 % to employment or
/// training, 80 % to housing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "agir", "outcomes": ["employment_or_training"], "at_least_percent": 60}))]
pub struct OutcomeTarget {
    /// A kind the programme funds; `null`: the measures of every kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// A closed measure meets the target with any one of them (1 to 8, each once).
    #[validate(length(min = 1, max = 8))]
    #[schema(min_items = 1, max_items = 8)]
    pub outcomes: Vec<OutcomeCode>,
    /// 1 to 100.
    #[validate(range(min = 1, max = 100))]
    #[schema(minimum = 1, maximum = 100)]
    pub at_least_percent: i32,
}

/// A new programme, created by its funder (a department or a State service).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Appel à projets Logement d'abord 2026-2027", "starts_on": "2026-01-01", "ends_on": "2027-12-31",
    "department_codes": ["62"], "operator_organisation_ids": ["0193a5c2-0000-7000-8000-0000000000cc"],
    "funded": {"asrl": 45, "aml_logement_dabord": 58}, "budget_cents": 51500000, "targets": []}))]
pub struct NewProgramme {
    /// 1 to 200 characters.
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub starts_on: NaiveDate,
    /// On or after `starts_on`, within 10 years of it.
    pub ends_on: NaiveDate,
    /// The départements it covers (1 to 20, each once); a department covers its own.
    #[validate(length(min = 1, max = 20))]
    #[schema(min_items = 1, max_items = 20)]
    pub department_codes: Vec<String>,
    /// The associations it funds (at most 200, each once); `PATCH` changes the list (the
    /// whole list).
    #[serde(default)]
    #[validate(length(max = 200))]
    #[schema(max_items = 200)]
    pub operator_organisation_ids: Vec<Uuid>,
    /// Per measure kind, the number of measures funded (0 to 100 000): kinds the funder's
    /// organisation kind funds (`funder_kinds` of the catalogue), offered in every
    /// département covered. 1 to 20 kinds.
    #[validate(length(min = 1, max = 20))]
    pub funded: BTreeMap<String, i32>,
    /// The budget in euro cents, 0 to 10^12.
    #[validate(range(min = 0, max = 1_000_000_000_000i64))]
    #[schema(minimum = 0, maximum = 1_000_000_000_000i64)]
    pub budget_cents: i64,
    /// Outcome targets (at most 10).
    #[serde(default)]
    #[validate(length(max = 10), nested)]
    #[schema(max_items = 10)]
    pub targets: Vec<OutcomeTarget>,
}

/// Changes to a programme by its funder, as a JSON Merge Patch (RFC 7396): `funded` merges
/// key by key (`{"funded": {"asrl": 46}}` raises ASRL alone; `null` takes away a kind no
/// measure has used); lists are replaced whole.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"funded": {"asrl": 46}}))]
pub struct ProgrammePatch {
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub name: Option<String>,
    /// On or after `starts_on` (which does not change), within 10 years of it.
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub ends_on: Option<NaiveDate>,
    #[validate(length(min = 1, max = 20))]
    #[schema(min_items = 1, max_items = 20, nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub department_codes: Option<Vec<String>>,
    /// The operators funded from now on (their measures already under the programme stay).
    #[validate(length(max = 200))]
    #[schema(max_items = 200, nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub operator_organisation_ids: Option<Vec<Uuid>>,
    /// Per kind, the new number funded (never below the measures already started: 422
    /// `below_used`), or `null` to take away a kind no measure has used.
    #[schema(value_type = Option<BTreeMap<String, Option<i32>>>, nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub funded: Option<BTreeMap<String, Option<i32>>>,
    #[validate(range(min = 0, max = 1_000_000_000_000i64))]
    #[schema(minimum = 0, maximum = 1_000_000_000_000i64, nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub budget_cents: Option<i64>,
    #[validate(length(max = 10), nested)]
    #[schema(max_items = 10, nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub targets: Option<Vec<OutcomeTarget>>,
}

/// A kind's places in a programme.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"kind": "asrl", "funded": 45, "used": 31, "available": 14}))]
pub struct ProgrammeCapacity {
    pub kind: String,
    /// Measures funded.
    pub funded: i32,
    /// Measures started under the programme (running or closed: a place stays used when its
    /// measure closes, since a programme funds measures, not simultaneous places).
    pub used: i32,
    /// `funded - used`: the starts still possible.
    pub available: i32,
}

/// A programme, as its funder and the operators it funds see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5ff-0000-7000-8000-0000000000a1", "name": "Appel à projets Logement d'abord 2026-2027",
    "funder_organisation_id": "0193a5c2-0000-7000-8000-0000000000dd", "starts_on": "2026-01-01", "ends_on": "2027-12-31",
    "department_codes": ["62"], "operator_organisation_ids": ["0193a5c2-0000-7000-8000-0000000000cc"],
    "capacity": [{"kind": "aml_logement_dabord", "funded": 58, "used": 20, "available": 38},
                 {"kind": "asrl", "funded": 45, "used": 31, "available": 14}],
    "budget_cents": 51500000, "targets": [], "version": 1,
    "created_at": "2026-01-05T09:00:00Z", "updated_at": "2026-01-05T09:00:00Z"}))]
pub struct Programme {
    pub id: Uuid,
    pub name: String,
    pub funder_organisation_id: Uuid,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub department_codes: Vec<String>,
    pub operator_organisation_ids: Vec<Uuid>,
    /// One item per kind funded, ordered by kind code: "31 of 45 ASRL measures in use" is
    /// `{"kind": "asrl", "used": 31, "funded": 45}`.
    pub capacity: Vec<ProgrammeCapacity>,
    pub budget_cents: i64,
    pub targets: Vec<OutcomeTarget>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Programme {
    pub fn from_parts(
        row: ProgrammeRow,
        kinds: Vec<ProgrammeKindRow>,
        operators: Vec<Uuid>,
    ) -> Programme {
        Programme {
            department_codes: row.department_codes(),
            targets: row.targets(),
            id: row.id,
            name: row.name,
            funder_organisation_id: row.funder_organisation_id,
            starts_on: row.starts_on,
            ends_on: row.ends_on,
            operator_organisation_ids: operators,
            capacity: kinds
                .into_iter()
                .map(|k| ProgrammeCapacity {
                    available: k.funded - k.used,
                    kind: k.kind,
                    funded: k.funded,
                    used: k.used,
                })
                .collect(),
            budget_cents: row.budget_cents,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Which programmes to list.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgrammeSide {
    /// The programmes your organisation funds.
    Funder,
    /// The programmes that fund your organisation.
    Operator,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProgrammeFilters {
    /// `funder` (yours) or `operator` (those funding you); both when absent. A side your
    /// organisation's kind never takes (`funder` for an association) is a 422
    /// `not_your_side`.
    #[param(value_type = Option<String>, pattern = "^(funder|operator)$")]
    pub r#as: Option<ProgrammeSide>,
    /// Programmes running on that day (French legal date).
    pub running_on: Option<NaiveDate>,
}
