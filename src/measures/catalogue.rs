//! The measure catalogue (`/v1/measure-kinds`): each kind carries its rules as data, and the
//! code reads them instead of knowing any kind by name.
//!
//! A rule left empty (`null`, `[]`) is one the sources do not give: nothing is enforced for
//! it (no duration: no planned end; no rhythm: no contact is due). Outcome codes are never
//! empty: they feed funders' targets, with the groups that exclude each other. A
//! kind is national (`department_code` `null`, managed by platform admins) or a
//! département's own (managed by the admins of that département's department, offered only
//! to organisations of that département). A measure copies its kind's rules when it is
//! opened ([`MeasureKindRow::rules`]): a later change of the catalogue never changes it.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use super::model::{
    ContactKind, MeasureRules, OutcomeCode, RenewalStep, DEFAULT_RENEWAL_WINDOW_MONTHS,
};
use super::rules::{self, DEFAULT_MAX_SUSPENSION_DAYS};
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::fields::validate_not_blank;
use crate::http::body::{ParsedJson, ValidJson};
use crate::http::concurrency::{IfMatch, IfMatchHeader};
use crate::http::idempotency::{self, IdempotencyHeader, IdempotencyKey, StoredResponse};
use crate::http::pagination::PageOf;
use crate::http::patch;
use crate::identity::model::{OrganisationKind, OrganisationRow};
use crate::schema::{measure_kinds, organisations};
use crate::state::AppState;

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

fn list<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Vec<T> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

impl MeasureKindRow {
    /// The rules a measure of this kind keeps from its opening.
    pub fn rules(&self) -> MeasureRules {
        MeasureRules {
            kind_version: self.version,
            duration_months: self.duration_months,
            needs_decision: self.needs_decision,
            renewal_policy: list(&self.renewal_policy),
            contact_every_days: self.contact_every_days,
            contact_kinds: list(&self.contact_kinds),
            outcome_codes: list(&self.outcome_codes),
            exclusive_outcomes: list(&self.exclusive_outcomes),
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
        list(&self.operator_kinds)
    }

    pub fn funder_kinds(&self) -> Vec<OrganisationKind> {
        list(&self.funder_kinds)
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
            renewal_policy: list(&r.renewal_policy),
            contact_kinds: list(&r.contact_kinds),
            outcome_codes: list(&r.outcome_codes),
            exclusive_outcomes: list(&r.exclusive_outcomes),
            renewal_window_months: r.renewal_window_months,
            operator_kinds: list(&r.operator_kinds),
            funder_kinds: list(&r.funder_kinds),
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
    crate::identity::organisations::validate_department_code(code)
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

/// The caller's organisation's département (none for a platform admin).
async fn caller_department(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
) -> Result<Option<String>, ApiError> {
    let Some(org) = caller.organisation_id else {
        return Ok(None);
    };
    let row: OrganisationRow = organisations::table
        .find(org)
        .select(OrganisationRow::as_select())
        .first(conn)
        .await?;
    Ok(Some(row.department_code))
}

/// A kind the caller is offered (national, or its département's), or `None`.
pub async fn find_offered(
    conn: &mut AsyncPgConnection,
    code: &str,
    department_code: &str,
) -> Result<Option<MeasureKindRow>, ApiError> {
    let row: Option<MeasureKindRow> = measure_kinds::table
        .find(code)
        .filter(measure_kinds::active.eq(true))
        .select(MeasureKindRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.filter(|k| k.offered_in(department_code)))
}

/// Checks a kind named by a request's field, for an organisation of `department_code`:
/// unknown, withdrawn or another département's kind is `unknown_measure_kind`.
pub async fn check_offered(
    conn: &mut AsyncPgConnection,
    field: &str,
    code: &str,
    department_code: &str,
    errors: &mut Vec<FieldError>,
) -> Result<Option<MeasureKindRow>, ApiError> {
    let kind = find_offered(conn, code, department_code).await?;
    if kind.is_none() {
        errors.push(FieldError::new(
            field,
            "unknown_measure_kind",
            format!("no such measure kind offered in département {department_code} (see GET /v1/measure-kinds)"),
        ));
    }
    Ok(kind)
}

/// Checks a list's measure-kind filter: a malformed code is a 400 (`pattern`), a code the
/// catalogue never held a 422 (`unknown_measure_kind`), both naming `field`; a withdrawn
/// kind or another département's is a real filter (measures of it may still run).
pub async fn check_kind_filter(
    conn: &mut AsyncPgConnection,
    field: &str,
    code: &str,
) -> Result<(), ApiError> {
    if !crate::referrals::rules::measure_kind_code_is_valid(code) {
        return Err(ApiError::bad_request(
            field,
            "pattern",
            "a measure kind's code (see /v1/measure-kinds): a lower-case letter, then 1 to 39 \
             lower-case letters, digits or underscores",
        ));
    }
    let known: bool = diesel::select(diesel::dsl::exists(measure_kinds::table.find(code)))
        .get_result(conn)
        .await?;
    if known {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            "unknown_measure_kind",
            format!("the catalogue holds no measure kind `{code}` (see GET /v1/measure-kinds)"),
        ))
    }
}

/// The sides of a measure an organisation of some kind can take, by the active catalogue:
/// the operator of some kind, the funder of some kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSides {
    pub operates: bool,
    pub funds: bool,
}

/// The sides of a measure an organisation of this kind can take (none for a platform admin).
pub async fn sides_of(
    conn: &mut AsyncPgConnection,
    kind: Option<OrganisationKind>,
) -> Result<KindSides, ApiError> {
    let Some(kind) = kind else {
        return Ok(KindSides {
            operates: false,
            funds: false,
        });
    };
    let kinds: Vec<(serde_json::Value, serde_json::Value)> = measure_kinds::table
        .filter(measure_kinds::active.eq(true))
        .select((measure_kinds::operator_kinds, measure_kinds::funder_kinds))
        .load(conn)
        .await?;
    Ok(KindSides {
        operates: kinds
            .iter()
            .any(|(o, _)| list::<OrganisationKind>(o).contains(&kind)),
        funds: kinds
            .iter()
            .any(|(_, f)| list::<OrganisationKind>(f).contains(&kind)),
    })
}

/// The département of an organisation.
pub async fn department_of(
    conn: &mut AsyncPgConnection,
    org: uuid::Uuid,
) -> Result<String, ApiError> {
    Ok(organisations::table
        .find(org)
        .select(organisations::department_code)
        .first(conn)
        .await?)
}

fn kind_response(status: StatusCode, k: &MeasureKind) -> StoredResponse {
    StoredResponse::versioned(status, k, k.version)
}

/// Cross-field rules of a kind.
fn kind_errors(duration: Option<i32>, max_total: Option<i32>) -> Vec<FieldError> {
    match (duration, max_total) {
        (Some(d), Some(m)) if m < d => vec![FieldError::new(
            "max_total_months",
            "below_duration",
            "the maximum length is at least the kind's duration",
        )],
        (None, Some(_)) => vec![FieldError::new(
            "max_total_months",
            "without_duration",
            "a kind without a duration has no maximum length",
        )],
        _ => Vec::new(),
    }
}

/// List the measure catalogue
///
/// The kinds of support measure offered to your organisation: the national ones and your
/// département's own (a platform admin sees every kind), each with its rules.
#[utoipa::path(
    tag = "measures",
    operation_id = "list_measure_kinds",
    security(("oauth2" = ["referrals:read"])),
    responses((status = 200, description = "The catalogue", body = PageOf<MeasureKind>))
)]
#[get("/measure-kinds")]
pub async fn list_measure_kinds(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadCatalogue)?;
    let mut conn = db::conn(&state.pool).await?;
    let department = caller_department(&mut conn, &caller).await?;
    let mut q = measure_kinds::table
        .filter(measure_kinds::active.eq(true))
        .select(MeasureKindRow::as_select())
        .into_boxed();
    if let Some(d) = department {
        q = q.filter(
            measure_kinds::department_code
                .is_null()
                .or(measure_kinds::department_code.eq(d)),
        );
    }
    let rows: Vec<MeasureKindRow> = q.order(measure_kinds::code.asc()).load(&mut conn).await?;
    Ok(HttpResponse::Ok().json(PageOf {
        items: rows.into_iter().map(MeasureKind::from).collect::<Vec<_>>(),
        next_cursor: None,
    }))
}

/// Get a measure kind
///
/// Any kind of the catalogue, withdrawn or not, another département's too (an operator runs
/// measures of the kinds its referrers' départements offer).
#[utoipa::path(
    tag = "measures",
    operation_id = "get_measure_kind",
    params(("code" = String, Path, description = "The kind's code", pattern = "^[a-z][a-z0-9_]{1,39}$")),
    security(("oauth2" = ["referrals:read"])),
    responses((status = 200, description = "The kind", body = MeasureKind,
               headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/measure-kinds/{code}")]
pub async fn get_measure_kind(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadCatalogue)?;
    let mut conn = db::conn(&state.pool).await?;
    let row: MeasureKindRow = measure_kinds::table
        .find(code.into_inner())
        .select(MeasureKindRow::as_select())
        .first(&mut conn)
        .await?;
    Ok(kind_response(StatusCode::OK, &row.into()).into_response(false))
}

/// Add a measure kind
///
/// A platform admin adds a national kind; a department's admin adds its département's own
/// (`department_code` its own). The rules are data: leave empty what the sources do not say.
#[utoipa::path(
    tag = "measures",
    operation_id = "create_measure_kind",
    request_body = NewMeasureKind,
    params(IdempotencyHeader),
    security(("oauth2" = ["catalogue:write"])),
    responses((status = 201, description = "Added", body = MeasureKind,
               headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new kind"))))
)]
#[post("/measure-kinds")]
pub async fn create_measure_kind(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: ParsedJson<NewMeasureKind>,
) -> ApiResult<HttpResponse> {
    let mut errors = body.field_errors();
    let ParsedJson(new, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    let admin_department = {
        let mut conn = db::conn(&state.pool).await?;
        caller_department(&mut conn, &caller).await?
    };
    authorize(
        &caller,
        Action::ManageMeasureKind {
            department_code: new.department_code.clone(),
            admin_department,
        },
    )?;
    errors.extend(kind_errors(new.duration_months, new.max_total_months));
    let exclusive = new
        .exclusive_outcomes
        .clone()
        .unwrap_or_else(|| rules::default_exclusive_outcomes(&new.outcome_codes));
    errors.extend(rules::outcome_rule_errors(&new.outcome_codes, &exclusive));
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let exists: bool =
                diesel::select(diesel::dsl::exists(measure_kinds::table.find(&new.code)))
                    .get_result(conn)
                    .await?;
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            if exists {
                return Err(ApiError::conflict(format!(
                    "a kind of the catalogue has the code {}: codes are national, choose another",
                    new.code
                )));
            }
            let row: MeasureKindRow = diesel::insert_into(measure_kinds::table)
                .values((
                    measure_kinds::code.eq(&new.code),
                    measure_kinds::name.eq(new.name.trim()),
                    measure_kinds::funder.eq(new.funder.trim()),
                    measure_kinds::description.eq(new.description.trim()),
                    measure_kinds::default_response_days.eq(new.default_response_days),
                    measure_kinds::duration_months.eq(new.duration_months),
                    measure_kinds::needs_decision.eq(new.needs_decision),
                    measure_kinds::renewal_policy.eq(to_json(&new.renewal_policy)),
                    measure_kinds::contact_every_days.eq(new.contact_every_days),
                    measure_kinds::contact_kinds.eq(to_json(&new.contact_kinds)),
                    measure_kinds::outcome_codes.eq(to_json(&new.outcome_codes)),
                    measure_kinds::exclusive_outcomes.eq(to_json(&exclusive)),
                    measure_kinds::renewal_window_months.eq(new.renewal_window_months),
                    measure_kinds::max_total_months.eq(new.max_total_months),
                    measure_kinds::max_suspension_days.eq(new.max_suspension_days),
                    measure_kinds::operator_kinds.eq(to_json(
                        &new.operator_kinds
                            .clone()
                            .unwrap_or(vec![OrganisationKind::Association]),
                    )),
                    measure_kinds::funder_kinds.eq(to_json(&new.funder_kinds)),
                    measure_kinds::department_code.eq(&new.department_code),
                ))
                .returning(MeasureKindRow::as_returning())
                .get_result(conn)
                .await?;
            let code = row.code.clone();
            Ok(kind_response(StatusCode::CREATED, &row.into())
                .header("location", format!("/v1/measure-kinds/{code}")))
        },
    )
    .await
}

/// A list as its JSON column stores it.
fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// Change a measure kind
///
/// Its manager (see `create_measure_kind`) changes its rules; `If-Match` with its `ETag`.
/// Measures already opened (proposed ones included) keep their rules; measures opened later
/// take the new ones.
#[utoipa::path(
    tag = "measures",
    operation_id = "update_measure_kind",
    request_body = MeasureKindPatch,
    params(
        ("code" = String, Path, description = "The kind's code", pattern = "^[a-z][a-z0-9_]{1,39}$"),
        IfMatchHeader,
    ),
    security(("oauth2" = ["catalogue:write"])),
    responses((status = 200, description = "Changed", body = MeasureKind,
               headers(("ETag" = String, description = "The new version"))))
)]
#[patch("/measure-kinds/{code}")]
pub async fn update_measure_kind(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    if_match: IfMatch,
    body: ValidJson<MeasureKindPatch>,
) -> ApiResult<HttpResponse> {
    let code = code.into_inner();
    let mut conn = db::conn(&state.pool).await?;
    let admin_department = caller_department(&mut conn, &caller).await?;
    let p = body.0;
    let response = db::transaction(&mut conn, async move |conn: &mut AsyncPgConnection| {
        let current: MeasureKindRow = measure_kinds::table
            .find(&code)
            .select(MeasureKindRow::as_select())
            .for_update()
            .first(conn)
            .await?;
        authorize(
            &caller,
            Action::ManageMeasureKind {
                department_code: current.department_code.clone(),
                admin_department,
            },
        )?;
        if_match.check(current.version)?;
        let duration = patch::merge(&p.duration_months, &current.duration_months);
        let max_total = patch::merge(&p.max_total_months, &current.max_total_months);
        let mut errors = kind_errors(duration, max_total);
        let codes: Vec<OutcomeCode> = p
            .outcome_codes
            .clone()
            .unwrap_or_else(|| list(&current.outcome_codes));
        let exclusive: Vec<Vec<OutcomeCode>> = p
            .exclusive_outcomes
            .clone()
            .unwrap_or_else(|| list(&current.exclusive_outcomes));
        errors.extend(rules::outcome_rule_errors(&codes, &exclusive));
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let next = MeasureKindRow {
            name: p
                .name
                .as_deref()
                .map_or(current.name.clone(), |s| s.trim().to_owned()),
            funder: p
                .funder
                .as_deref()
                .map_or(current.funder.clone(), |s| s.trim().to_owned()),
            description: p
                .description
                .as_deref()
                .map_or(current.description.clone(), |s| s.trim().to_owned()),
            default_response_days: patch::merge(
                &p.default_response_days,
                &current.default_response_days,
            ),
            duration_months: duration,
            needs_decision: p.needs_decision.unwrap_or(current.needs_decision),
            renewal_policy: p
                .renewal_policy
                .as_ref()
                .map_or(current.renewal_policy.clone(), to_json),
            contact_every_days: patch::merge(&p.contact_every_days, &current.contact_every_days),
            contact_kinds: p
                .contact_kinds
                .as_ref()
                .map_or(current.contact_kinds.clone(), to_json),
            outcome_codes: p
                .outcome_codes
                .as_ref()
                .map_or(current.outcome_codes.clone(), to_json),
            exclusive_outcomes: to_json(&exclusive),
            renewal_window_months: patch::merge(
                &p.renewal_window_months,
                &current.renewal_window_months,
            ),
            max_total_months: max_total,
            max_suspension_days: patch::merge(&p.max_suspension_days, &current.max_suspension_days),
            operator_kinds: p
                .operator_kinds
                .as_ref()
                .map_or(current.operator_kinds.clone(), to_json),
            funder_kinds: p
                .funder_kinds
                .as_ref()
                .map_or(current.funder_kinds.clone(), to_json),
            active: p.active.unwrap_or(current.active),
            ..current.clone()
        };
        if same_rules(&next, &current) {
            return Ok(kind_response(StatusCode::OK, &current.into()));
        }
        let row: MeasureKindRow = diesel::update(measure_kinds::table.find(&code))
            .set((
                measure_kinds::name.eq(&next.name),
                measure_kinds::funder.eq(&next.funder),
                measure_kinds::description.eq(&next.description),
                measure_kinds::default_response_days.eq(next.default_response_days),
                measure_kinds::duration_months.eq(next.duration_months),
                measure_kinds::needs_decision.eq(next.needs_decision),
                measure_kinds::renewal_policy.eq(&next.renewal_policy),
                measure_kinds::contact_every_days.eq(next.contact_every_days),
                measure_kinds::contact_kinds.eq(&next.contact_kinds),
                measure_kinds::outcome_codes.eq(&next.outcome_codes),
                measure_kinds::exclusive_outcomes.eq(&next.exclusive_outcomes),
                measure_kinds::renewal_window_months.eq(next.renewal_window_months),
                measure_kinds::max_total_months.eq(next.max_total_months),
                measure_kinds::max_suspension_days.eq(next.max_suspension_days),
                measure_kinds::operator_kinds.eq(&next.operator_kinds),
                measure_kinds::funder_kinds.eq(&next.funder_kinds),
                measure_kinds::active.eq(next.active),
                crate::db::bump(measure_kinds::version, measure_kinds::updated_at),
            ))
            .returning(MeasureKindRow::as_returning())
            .get_result(conn)
            .await?;
        Ok::<_, ApiError>(kind_response(StatusCode::OK, &row.into()))
    })
    .await?;
    Ok(response.into_response(false))
}

/// Whether a change stores nothing new (lists compared as sets where they are sets).
fn same_rules(a: &MeasureKindRow, b: &MeasureKindRow) -> bool {
    a.name == b.name
        && a.funder == b.funder
        && a.description == b.description
        && a.default_response_days == b.default_response_days
        && a.duration_months == b.duration_months
        && a.needs_decision == b.needs_decision
        && a.renewal_policy == b.renewal_policy
        && a.contact_every_days == b.contact_every_days
        && patch::same_set(&a.contact_kinds, &b.contact_kinds)
        && patch::same_set(&a.outcome_codes, &b.outcome_codes)
        && a.exclusive_outcomes == b.exclusive_outcomes
        && a.renewal_window_months == b.renewal_window_months
        && a.max_total_months == b.max_total_months
        && a.max_suspension_days == b.max_suspension_days
        && patch::same_set(&a.operator_kinds, &b.operator_kinds)
        && patch::same_set(&a.funder_kinds, &b.funder_kinds)
        && a.active == b.active
}
