//! `/v1/measures`, `/v1/renewals`, `/v1/objectives`: support measures, their renewals,
//! contacts and objectives.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::catalogue::{self, MeasureKindRow};
use super::model::*;
use super::rules::{self, MeasureParty, RenewalBlock};
use super::service::{self, Measure, Opening, Payload};
use crate::action_endpoint;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::cases::{self, CaseTransition, Step};
use crate::db;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::events;
use crate::households::model as households_model;
use crate::http::body::{ParsedJson, ValidJson};
use crate::http::concurrency::{IfMatch, IfMatchHeader};
use crate::http::extractors::ListQuery;
use crate::http::idempotency::{
    self, ActionTarget, IdempotencyHeader, IdempotencyKey, StoredResponse,
};
use crate::http::pagination::{PageOf, PageParams};
use crate::http::patch;
use crate::identity::model::{AccountKind, OrganisationKind, OrganisationRow};
use crate::identity::organisations::validate_not_blank;
use crate::programmes;
use crate::schema::{
    accounts, measure_contacts, measure_kinds, measures, objectives, organisations, renewals,
};
use crate::state::AppState;

/// A measure the operator opens directly, for a household it holds.
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

/// The decision to start a proposed measure.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"starts_on": "2027-01-04", "comment": "Validated by the CUD of 2026-12-18"}))]
pub struct MeasureStart {
    /// Within a year of today either way (`out_of_range`); default: the planned start, or
    /// today if it is past.
    #[validate(custom(function = "crate::calendar::validate_within_a_year"))]
    pub starts_on: Option<NaiveDate>,
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
    /// 1 to 4 distinct codes among the rules' `outcome_codes` (any, when empty).
    #[validate(length(min = 1, max = 4))]
    #[schema(min_items = 1, max_items = 4)]
    pub outcomes: Vec<OutcomeCode>,
    /// Default: today; not before the start, not in the future (`in_future`).
    pub ended_on: Option<NaiveDate>,
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub comment: Option<String>,
}

/// A comment on an action.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"comment": "The household moved to another département"}))]
pub struct ActionComment {
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub comment: Option<String>,
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

/// A refusal, with its coded reason and explanation.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "objectives_met", "explanation": "The household has kept its home and pays its rent"}))]
pub struct RenewalRefusal {
    pub reason: RenewalRefusalReason,
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub explanation: String,
}

/// A contact to log.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"occurred_on": "2027-01-14", "kind": "home_visit", "duration_minutes": 60,
    "note": "Budget reviewed together; the FSL file is ready"}))]
pub struct NewContact {
    /// Not in the future (`in_future`), not before the measure's start.
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
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeasureFilters {
    /// Your organisation's side: `operator`, `funder` or `referrer`; all three when absent.
    #[param(value_type = Option<String>, pattern = "^(operator|funder|referrer)$")]
    pub r#as: Option<ListedAs>,
    pub status: Option<MeasureStatus>,
    /// A measure kind's code.
    #[param(pattern = "^[a-z][a-z0-9_]{1,39}$")]
    pub kind: Option<String>,
    pub household_id: Option<Uuid>,
    /// The referral a measure came from.
    pub referral_id: Option<Uuid>,
    /// The programme that funds it (`GET /v1/programmes`).
    pub programme_id: Option<Uuid>,
    /// A worker's caseload: only measures your organisation operates.
    pub worker_account_id: Option<Uuid>,
    /// `true`: active measures your organisation operates whose next contact was due before
    /// today; `false`: the others it operates. Only measures your organisation operates.
    pub contact_overdue: Option<bool>,
    /// Only measures planned to end before this date.
    pub ending_before: Option<NaiveDate>,
    /// Only measures changed at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
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
    /// `decider` (your decisions) or `operator` (your requests); both when absent.
    #[param(value_type = Option<String>, pattern = "^(decider|operator)$")]
    pub r#as: Option<RenewalSide>,
    pub status: Option<RenewalStatus>,
    /// `true`: requests waiting more than 10 days; `false`: the others.
    pub overdue: Option<bool>,
    pub measure_id: Option<Uuid>,
}

fn measure_response(status: StatusCode, m: &Measure) -> StoredResponse {
    StoredResponse::versioned(status, m, m.version)
}

/// A measure just written, as the party that wrote it sees it.
async fn present_one(
    conn: &mut AsyncPgConnection,
    row: MeasureRow,
    party: MeasureParty,
) -> Result<Measure, ApiError> {
    let household = service::household_of(conn, &row).await?;
    service::view(row, household, party, crate::calendar::today())
}

/// Checks a worker: an active account of the operator.
async fn check_worker(
    conn: &mut AsyncPgConnection,
    field: &str,
    operator: Uuid,
    worker: Uuid,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    let ok: bool = diesel::select(diesel::dsl::exists(
        accounts::table
            .filter(accounts::id.eq(worker))
            .filter(accounts::organisation_id.eq(operator))
            .filter(accounts::active.eq(true)),
    ))
    .get_result(conn)
    .await?;
    if !ok {
        errors.push(FieldError::new(
            field,
            "not_in_organisation",
            "not an active account of the measure's operator",
        ));
    }
    Ok(())
}

/// Checks a funder: an organisation, of one of the kind's funder kinds (when the kind is
/// known).
async fn check_funder(
    conn: &mut AsyncPgConnection,
    field: &str,
    kind: Option<&MeasureKindRow>,
    funder: Uuid,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    let org: Option<OrganisationRow> = organisations::table
        .find(funder)
        .select(OrganisationRow::as_select())
        .first(conn)
        .await
        .optional()?;
    match (org, kind) {
        (None, _) => errors.push(FieldError::new(
            field,
            "unknown_organisation",
            "no such organisation",
        )),
        (Some(o), Some(kind)) if !kind.funder_kinds().contains(&o.kind) => {
            errors.push(FieldError::new(
                field,
                "not_a_funder",
                format!(
                    "a measure of kind {} is funded by an organisation of kind {}",
                    kind.code,
                    kind.funder_kinds()
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            ))
        }
        _ => {}
    }
    Ok(())
}

/// The measure a referral's acceptance starts, in the acceptance's transaction: `proposed`
/// when its kind needs a decision, else `active` from the desired start (today if that is
/// past). The referrer funds it when its kind is one of the kind's funder kinds (a CCAPEX for
/// EMPEX, a CUD for ASLL); the accepting person is its worker.
pub async fn open_from_referral(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    referral: &crate::referrals::model::ReferralRow,
) -> Result<MeasureRow, ApiError> {
    let kind: MeasureKindRow = measure_kinds::table
        .find(&referral.measure_kind)
        .select(MeasureKindRow::as_select())
        .first(conn)
        .await?;
    let referrer_kind: OrganisationKind = organisations::table
        .find(referral.referrer_organisation_id)
        .select(organisations::kind)
        .first(conn)
        .await?;
    let funder = kind
        .funder_kinds()
        .contains(&referrer_kind)
        .then_some(referral.referrer_organisation_id);
    let today = crate::calendar::today();
    service::open(
        conn,
        Some(caller),
        Opening {
            kind,
            household_id: referral.household_id,
            operator: referral.addressee_organisation_id,
            worker: (caller.kind == AccountKind::Person).then_some(caller.account_id),
            funder,
            origin_referral: Some((referral.id, referral.referrer_organisation_id)),
            starts_on: referral.desired_start.unwrap_or(today).max(today),
            programme: None,
        },
    )
    .await
}

/// Open a measure
///
/// An operator opens a measure directly for a household it holds. It is `proposed` when
/// its kind needs a decision (the funder starts it), else `active` from `starts_on`. The
/// funder (and the operator) are told through the feed (`measure.proposed` or
/// `measure.started`). A measure also opens when its operator accepts a referral.
#[utoipa::path(
    tag = "measures",
    operation_id = "create_measure",
    request_body = NewMeasure,
    params(IdempotencyHeader),
    security(("oauth2" = ["measures:write"])),
    responses((status = 201, description = "Opened", body = Measure,
               headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new measure"))))
)]
#[post("/measures")]
pub async fn create_measure(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: ParsedJson<NewMeasure>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    let org = caller.partner_organisation()?;
    let field_errors = body.field_errors();
    let ParsedJson(new, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let mut errors = field_errors;
            let department = catalogue::department_of(conn, org).await?;
            let household = households_model::find_visible(conn, org, new.household_id, false)
                .await
                .optional_found()?;
            if household.is_none() {
                errors.push(FieldError::new(
                    "household_id",
                    "unknown_household",
                    "no household your organisation sees has this id",
                ));
            }
            let kind =
                catalogue::check_offered(conn, "kind", &new.kind, &department, &mut errors).await?;
            if let Some(f) = new.funder_organisation_id {
                check_funder(
                    conn,
                    "funder_organisation_id",
                    kind.as_ref(),
                    f,
                    &mut errors,
                )
                .await?;
            }
            if let Some(k) = &kind {
                if !caller
                    .organisation_kind
                    .is_some_and(|o| k.operator_kinds().contains(&o))
                {
                    errors.push(FieldError::new(
                        "kind",
                        "not_an_operator",
                        format!(
                            "your organisation's kind does not operate {} measures",
                            k.code
                        ),
                    ));
                }
                if new.funder_organisation_id.is_none()
                    && new.programme_id.is_none()
                    && k.needs_decision
                {
                    errors.push(FieldError::new(
                        "funder_organisation_id",
                        "required",
                        format!(
                            "a measure of kind {} starts on its funder's decision: name the funder",
                            k.code
                        ),
                    ));
                }
            }
            let worker = match new.worker_account_id {
                Some(w) => {
                    check_worker(conn, "worker_account_id", org, w, &mut errors).await?;
                    Some(w)
                }
                None => (caller.kind == AccountKind::Person).then_some(caller.account_id),
            };
            let starts_on = new.starts_on.unwrap_or_else(crate::calendar::today);
            let mut funder = new.funder_organisation_id;
            if let (Some(p), Some(k)) = (new.programme_id, &kind) {
                let eligible = programmes::check_eligible(
                    conn,
                    "programme_id",
                    p,
                    programmes::Eligibility {
                        kind: &k.code,
                        operator: org,
                        starts_on,
                        funder,
                    },
                    &mut errors,
                )
                .await?;
                if let Some(programme) = eligible {
                    funder = Some(programme.funder_organisation_id);
                }
            }
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            let row = service::open(
                conn,
                Some(&caller),
                Opening {
                    kind: kind.expect("checked above"),
                    household_id: new.household_id,
                    operator: org,
                    worker,
                    funder,
                    origin_referral: None,
                    starts_on,
                    programme: new.programme_id,
                },
            )
            .await?;
            let id = row.id;
            let view = present_one(conn, row, MeasureParty::Operator).await?;
            Ok(measure_response(StatusCode::CREATED, &view)
                .header("location", format!("/v1/measures/{id}")))
        },
    )
    .await
}

/// `NotFound` as `None`, for a lookup whose absence is a field error.
trait OptionalFound<T> {
    fn optional_found(self) -> Result<Option<T>, ApiError>;
}

impl<T> OptionalFound<T> for Result<T, ApiError> {
    fn optional_found(self) -> Result<Option<T>, ApiError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(ApiError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Get a measure
///
/// As your organisation's part allows (see `Measure`): the operator sees everything, the
/// funder the household's name and make-up, the rules and the counts, the referrer the
/// dates and outcomes, the landlord of a sub-lease that names it its status and planned end.
#[utoipa::path(
    tag = "measures",
    operation_id = "get_measure",
    params(("id" = Uuid, Path, description = "The measure's id")),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "The measure", body = Measure,
               headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/measures/{id}")]
pub async fn get_measure(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadMeasures)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    // The measure and its household in one statement; the party from the row (or, for a
    // landlord, its sub-lease).
    let (row, household) = service::load_with_household(&mut conn, id.into_inner())
        .await?
        .ok_or(ApiError::NotFound)?;
    let party = cases::Case::party_of(&row, &mut conn, org)
        .await?
        .ok_or(ApiError::NotFound)?;
    let view = service::view(row, household, party, crate::calendar::today())?;
    Ok(measure_response(StatusCode::OK, &view).into_response(false))
}

/// List measures
///
/// The measures your organisation operates, funds or referred (`as`), by id. A worker's
/// caseload: `worker_account_id` (with `contact_overdue=true`: the measures whose visit is late).
#[utoipa::path(
    tag = "measures",
    operation_id = "list_measures",
    params(MeasureFilters, PageParams),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "A page of measures", body = PageOf<Measure>))
)]
#[get("/measures")]
pub async fn list_measures(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<MeasureFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadMeasures)?;
    let org = caller.partner_organisation()?;
    let page = page.page()?;
    let mut q = service::with_household().into_boxed();
    q = match filters.r#as {
        Some(ListedAs::Operator) => q.filter(measures::operator_organisation_id.eq(org)),
        Some(ListedAs::Funder) => q.filter(measures::funder_organisation_id.eq(org)),
        Some(ListedAs::Referrer) => q.filter(measures::referrer_organisation_id.eq(org)),
        None => q.filter(
            measures::operator_organisation_id
                .eq(org)
                .or(measures::funder_organisation_id.eq(org))
                .or(measures::referrer_organisation_id.eq(org)),
        ),
    };
    // The follow-up is the operator's: its filters keep to the measures the organisation
    // operates (a funder does not learn a worker's caseload or who is late).
    if filters.worker_account_id.is_some() || filters.contact_overdue.is_some() {
        q = q.filter(measures::operator_organisation_id.eq(org));
    }
    if let Some(after) = page.after {
        q = q.filter(measures::id.gt(after));
    }
    if let Some(s) = filters.status {
        q = q.filter(measures::status.eq(s));
    }
    if let Some(kind) = &filters.kind {
        if !crate::referrals::rules::measure_kind_code_is_valid(kind) {
            return Err(ApiError::bad_request(
                "kind",
                "pattern",
                "a measure kind's code (see /v1/measure-kinds)",
            ));
        }
        q = q.filter(measures::kind.eq(kind.clone()));
    }
    if let Some(h) = filters.household_id {
        q = q.filter(measures::household_id.eq(h));
    }
    if let Some(r) = filters.referral_id {
        q = q.filter(measures::origin_referral_id.eq(r));
    }
    if let Some(p) = filters.programme_id {
        q = q.filter(measures::programme_id.eq(p));
    }
    if let Some(w) = filters.worker_account_id {
        q = q.filter(measures::worker_account_id.eq(w));
    }
    let today = crate::calendar::today();
    match filters.contact_overdue {
        Some(true) => {
            q = q
                .filter(measures::status.eq(MeasureStatus::Active))
                .filter(measures::next_contact_due_on.lt(today))
        }
        Some(false) => {
            q = q.filter(
                measures::status
                    .ne(MeasureStatus::Active)
                    .or(measures::next_contact_due_on.is_null())
                    .or(measures::next_contact_due_on.ge(today)),
            )
        }
        None => {}
    }
    if let Some(d) = filters.ending_before {
        q = q.filter(measures::planned_end_on.lt(d));
    }
    if let Some(since) = filters.updated_since {
        q = q.filter(measures::updated_at.ge(since));
    }
    let mut conn = db::conn(&state.pool).await?;
    let rows: Vec<service::MeasureWithHousehold> = q
        .order(measures::id.asc())
        .limit(page.limit + 1)
        .load(&mut conn)
        .await?;
    let (rows, more) = page.split(rows);
    let views = service::views(org, rows)?;
    Ok(HttpResponse::Ok().json(PageOf::new(views, more, |v| v.id)))
}

/// Change a measure
///
/// The operator names the worker in charge, or the funder (while the measure is proposed or
/// has none). `If-Match` with its `ETag`.
#[utoipa::path(
    tag = "measures",
    operation_id = "update_measure",
    request_body = MeasurePatch,
    params(("id" = Uuid, Path, description = "The measure's id"), IfMatchHeader),
    security(("oauth2" = ["measures:write"])),
    responses(
        (status = 200, description = "Changed", body = Measure,
         headers(("ETag" = String, description = "The new version"))),
        (status = 409, description = "The funder of a started measure does not change; a closed measure's programme does not change; the programme joined has no place left (`programme_full`)",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/measures/{id}")]
pub async fn update_measure(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ParsedJson<MeasurePatch>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    // The field rules are reported with the measure's own rules, all at once.
    let field_errors = body.field_errors();
    let p = body.0;
    let mut conn = db::conn(&state.pool).await?;
    let response = db::transaction(&mut conn, async move |conn: &mut AsyncPgConnection| {
        let (row, party) = cases::find_as_party::<MeasureRow>(conn, org, id, true).await?;
        operator_only(party, "changes a measure")?;
        if_match.check(row.version)?;
        let mut errors = field_errors;
        let worker = patch::merge(&p.worker_account_id, &row.worker_account_id);
        if let Some(Some(w)) = p.worker_account_id {
            check_worker(conn, "worker_account_id", org, w, &mut errors).await?;
        }
        let mut funder = p.funder_organisation_id.or(row.funder_organisation_id);
        if let Some(f) = p
            .funder_organisation_id
            .filter(|f| Some(*f) != row.funder_organisation_id)
        {
            let settled =
                row.status != MeasureStatus::Proposed && row.funder_organisation_id.is_some();
            if settled || matches!(row.status, MeasureStatus::Closed | MeasureStatus::Cancelled) {
                return Err(ApiError::conflict(format!(
                    "the funder of a {} measure does not change (it does while the measure is \
                     proposed, or has none and still runs)",
                    row.status
                )));
            }
            let kind: MeasureKindRow = measure_kinds::table
                .find(&row.kind)
                .select(MeasureKindRow::as_select())
                .first(conn)
                .await?;
            check_funder(conn, "funder_organisation_id", Some(&kind), f, &mut errors).await?;
        }
        let programme = patch::merge(&p.programme_id, &row.programme_id);
        if programme != row.programme_id {
            if matches!(row.status, MeasureStatus::Closed | MeasureStatus::Cancelled) {
                return Err(ApiError::conflict(format!(
                    "the programme of a {} measure does not change",
                    row.status
                )));
            }
            if let Some(to) = programme {
                let eligible = programmes::check_eligible(
                    conn,
                    "programme_id",
                    to,
                    programmes::Eligibility {
                        kind: &row.kind,
                        operator: org,
                        starts_on: row.starts_on,
                        funder,
                    },
                    &mut errors,
                )
                .await?;
                if let Some(programme) = eligible {
                    funder = Some(programme.funder_organisation_id);
                }
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        if (worker, funder, programme)
            == (
                row.worker_account_id,
                row.funder_organisation_id,
                row.programme_id,
            )
        {
            return Ok(measure_response(
                StatusCode::OK,
                &present_one(conn, row, party).await?,
            ));
        }
        // A started measure moves its place from the programme it leaves to the one it joins.
        if programme != row.programme_id
            && matches!(row.status, MeasureStatus::Active | MeasureStatus::Suspended)
        {
            if let Some(from) = row.programme_id {
                programmes::release_place(conn, from, &row.kind).await?;
            }
            if let Some(to) = programme {
                programmes::take_place(conn, to, &row.kind).await?;
            }
        }
        let updated: MeasureRow = diesel::update(measures::table.find(id))
            .set((
                measures::worker_account_id.eq(worker),
                measures::funder_organisation_id.eq(funder),
                measures::programme_id.eq(programme),
                measures::version.eq(row.version + 1),
                measures::updated_at.eq(diesel::dsl::now),
            ))
            .returning(MeasureRow::as_returning())
            .get_result(conn)
            .await?;
        events::append(
            conn,
            Some(&caller),
            service::measure_event("measure.updated", &updated)?,
        )
        .await?;
        let view = present_one(conn, updated, party).await?;
        Ok::<_, ApiError>(measure_response(StatusCode::OK, &view))
    })
    .await?;
    Ok(response.into_response(false))
}

/// 409: the measure's state forbids it; `allowed_actions` are what the party may do now.
fn not_now(
    measure: &MeasureRow,
    party: MeasureParty,
    detail: String,
) -> Result<ApiError, ApiError> {
    let allowed = rules::allowed_actions(measure.status, party, measure.rules()?.needs_decision);
    Ok(ApiError::not_now(
        detail,
        measure.status.as_str(),
        &allowed.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
    ))
}

/// 403 unless the operator: what only the operator does (`what`: "logs contacts").
fn operator_only(party: MeasureParty, what: &str) -> Result<(), ApiError> {
    if party == MeasureParty::Operator {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "the operator of a measure {what}; your organisation is its {}",
            party.as_str()
        )))
    }
}

async fn act(
    state: &AppState,
    caller: Caller,
    target: ActionTarget,
    action: MeasureAction,
    payload: Payload,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    let org = caller.partner_organisation()?;
    target
        .run(
            state,
            &caller.clone(),
            async move |conn: &mut AsyncPgConnection, id: Uuid, if_match: IfMatch| {
                let (row, party) = cases::find_as_party::<MeasureRow>(conn, org, id, true).await?;
                if_match.check(row.version)?;
                let to = rules::transition(row.status, action, party, row.rules()?.needs_decision)
                    .map_err(|r| cases::refusal_error(r, "a measure", action, party.as_str()))?;
                let updated = service::perform(
                    conn,
                    Some(&caller),
                    &row,
                    action,
                    to,
                    &payload,
                    crate::calendar::today(),
                )
                .await?;
                let view = present_one(conn, updated, party).await?;
                Ok(measure_response(StatusCode::OK, &view))
            },
        )
        .await
}

action_endpoint! {
    /// MeasureStart a measure
    ///
    /// The decision: a proposed measure becomes active from `starts_on`, its planned end set
    /// by its rules. By the funder when the kind needs a decision (ASLL: the CUD validates),
    /// else by the operator.
    start_measure: "/measures/{id}/start", tag "measures", scope "measures:write",
    id "The measure's id", returns Measure, body MeasureStart,
    |state, caller, target, payload| act(&state, caller, target, MeasureAction::Start, Payload::Start(payload))
}

action_endpoint! {
    /// Suspend a measure
    ///
    /// The operator pauses an active measure with a reason, until a date at the latest; the
    /// planned end moves by the suspension's length.
    suspend_measure: "/measures/{id}/suspend", tag "measures", scope "measures:write",
    id "The measure's id", returns Measure, body Suspension,
    |state, caller, target, payload| act(&state, caller, target, MeasureAction::Suspend, Payload::Suspend(payload))
}

action_endpoint! {
    /// Resume a measure
    ///
    /// The operator resumes a suspended measure; the planned end keeps the days actually
    /// suspended, and the next contact is due a rhythm's length from today.
    resume_measure: "/measures/{id}/resume", tag "measures", scope "measures:write",
    id "The measure's id", returns Measure,
    |state, caller, target| act(&state, caller, target, MeasureAction::Resume, Payload::Resume)
}

action_endpoint! {
    /// Close a measure
    ///
    /// The operator ends an active or suspended measure with its outcomes (one or more of
    /// its rules' `outcome_codes`). The funder and the referrer see them in their feed
    /// (`measure.closed`).
    close_measure: "/measures/{id}/close", tag "measures", scope "measures:write",
    id "The measure's id", returns Measure, body MeasureClosing,
    |state, caller, target, payload| act(&state, caller, target, MeasureAction::Close, Payload::Close(payload))
}

action_endpoint! {
    /// Cancel a measure
    ///
    /// The operator or the funder gives up a proposed measure (the decision was negative,
    /// the household declined).
    cancel_measure: "/measures/{id}/cancel", tag "measures", scope "measures:write",
    id "The measure's id", returns Measure, body ActionComment,
    |state, caller, target, payload| act(&state, caller, target, MeasureAction::Cancel, Payload::Cancel(payload))
}

/// A measure's history
///
/// Every step, oldest first, with its actor, organisation, time, comment and coded reason
/// (a suspension's); renewals granted appear as `renew` steps.
#[utoipa::path(
    tag = "measures",
    operation_id = "list_measure_history",
    params(("id" = Uuid, Path, description = "The measure's id")),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "The steps", body = PageOf<CaseTransition>))
)]
#[get("/measures/{id}/history")]
pub async fn measure_history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadMeasures)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let (row, party) =
        cases::find_as_party::<MeasureRow>(&mut conn, org, id.into_inner(), false).await?;
    if party == MeasureParty::Landlord {
        return Err(ApiError::Forbidden(
            "a landlord sees a measure's status and planned end, not its history".into(),
        ));
    }
    let mut items: Vec<CaseTransition> = cases::steps(&mut conn, row.id)
        .await?
        .into_iter()
        .map(CaseTransition::from)
        .collect();
    // An organisation's words (comments) and reasons (a suspension's may touch on health)
    // are the operator's and, for its own steps, the organisation that wrote them.
    if party != MeasureParty::Operator {
        for t in items
            .iter_mut()
            .filter(|t| t.actor_organisation_id != Some(org))
        {
            t.comment = None;
            t.reason_code = None;
        }
    }
    Ok(HttpResponse::Ok().json(PageOf {
        items,
        next_cursor: None,
    }))
}

fn renewal_view(row: RenewalRow, is_decider: bool, today: NaiveDate) -> Renewal {
    Renewal {
        overdue: row.is_overdue(today),
        allowed_actions: rules::renewal_actions(row.status, is_decider),
        id: row.id,
        measure_id: row.measure_id,
        operator_organisation_id: row.operator_organisation_id,
        decider_organisation_id: row.decider_organisation_id,
        ordinal: row.ordinal,
        months: row.months,
        exceptional: row.exceptional,
        justification: row.justification,
        status: row.status,
        requested_on: row.requested_on,
        decided_on: row.decided_on,
        starts_on: row.starts_on,
        ends_on: row.ends_on,
        refusal_reason: row.refusal_reason,
        refusal_explanation: row.refusal_explanation,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn renewal_response(status: StatusCode, r: &Renewal) -> StoredResponse {
    StoredResponse::versioned(status, r, r.version)
}

/// Ask for a renewal
///
/// The operator asks the funder for the next renewal the measure's rules allow (its length
/// comes from the policy). One request at a time (409 with `existing_id`); beyond the
/// policy, or past the kind's maximum length, 422 naming the rule
/// (`measure.rules.renewal_policy`, `measure.rules.max_total_months`); an exceptional
/// renewal needs a `justification`.
#[utoipa::path(
    tag = "measures",
    operation_id = "create_renewal",
    request_body = NewRenewal,
    params(("id" = Uuid, Path, description = "The measure's id"), IdempotencyHeader),
    security(("oauth2" = ["measures:write"])),
    responses((status = 201, description = "Asked", body = Renewal,
               headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new request"))))
)]
#[post("/measures/{id}/renewals")]
pub async fn create_renewal(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: crate::http::body::ActionBody<NewRenewal>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    let crate::http::body::ActionBody(new, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let (measure, party) = cases::find_as_party::<MeasureRow>(conn, org, id, true).await?;
            operator_only(party, "asks for its renewals")?;
            // A suspended measure's end is not settled until it resumes.
            if measure.status != MeasureStatus::Active {
                return Err(not_now(
                    &measure,
                    party,
                    format!("renewals are asked for an active measure; this one is {}", measure.status),
                )?);
            }
            let Some(decider) = measure.funder_organisation_id else {
                return Err(ApiError::conflict(
                    "the measure has no funder to decide: set its funder_organisation_id first",
                ));
            };
            let pending: Option<Uuid> = renewals::table
                .filter(renewals::measure_id.eq(id))
                .filter(renewals::status.eq(RenewalStatus::Requested))
                .select(renewals::id)
                .first(conn)
                .await
                .optional()?;
            if let Some(existing) = pending {
                return Err(ApiError::duplicate(
                    "a renewal of this measure is already waiting for its decision",
                    existing,
                ));
            }
            let granted = i64::from(measure.renewals_granted);
            let rules_ = measure.rules()?;
            let step = rules::next_renewal(
                &rules_,
                granted as usize,
                measure.starts_on,
                measure.planned_end_on,
                measure.suspended_days,
            )
            .map_err(|b| renewal_refused(&measure.kind, b, granted))?;
            if step.exceptional && new.justification.is_none() {
                return Err(ApiError::invalid(
                    "justification",
                    "required",
                    format!(
                        "renewal {} of a measure of kind {} is exceptional: it needs a written justification",
                        granted + 1,
                        measure.kind
                    ),
                ));
            }
            let row = service::request_renewal(
                conn,
                &caller,
                &measure,
                decider,
                granted as i32 + 1,
                step,
                new.justification.as_deref(),
            )
            .await?;
            let rid = row.id;
            let view = renewal_view(row, false, crate::calendar::today());
            Ok(renewal_response(StatusCode::CREATED, &view)
                .header("location", format!("/v1/renewals/{rid}")))
        },
    )
    .await
}

/// A renewal the rules refuse: 422 naming the rule.
fn renewal_refused(kind: &str, block: RenewalBlock, granted: i64) -> ApiError {
    match block {
        RenewalBlock::NoDuration => ApiError::invalid(
            "measure.rules.duration_months",
            "no_duration",
            format!("a measure of kind {kind} has no time limit: there is nothing to renew"),
        ),
        RenewalBlock::PolicyExhausted { policy } => ApiError::invalid(
            "measure.rules.renewal_policy",
            "beyond_renewal_policy",
            format!(
                "the {kind} renewal policy allows {} renewal(s) ({}); {granted} granted already",
                policy.len(),
                policy
                    .iter()
                    .map(|s| format!(
                        "{} months{}",
                        s.months,
                        if s.exceptional { " exceptionally" } else { "" }
                    ))
                    .collect::<Vec<_>>()
                    .join(", then ")
            ),
        ),
        RenewalBlock::BeyondMaximum {
            max_total_months,
            latest_end,
        } => ApiError::invalid(
            "measure.rules.max_total_months",
            "beyond_max_total_length",
            format!(
                "a measure of kind {kind} lasts {max_total_months} months at most (until {latest_end} for this one)"
            ),
        ),
    }
}

/// A measure's renewals
///
/// For its operator and its funder, oldest first.
#[utoipa::path(
    tag = "measures",
    operation_id = "list_measure_renewals",
    params(("id" = Uuid, Path, description = "The measure's id")),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "The renewals", body = PageOf<Renewal>))
)]
#[get("/measures/{id}/renewals")]
pub async fn list_measure_renewals(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadMeasures)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let (measure, party) =
        cases::find_as_party::<MeasureRow>(&mut conn, org, id.into_inner(), false).await?;
    if !matches!(party, MeasureParty::Operator | MeasureParty::Funder) {
        return Err(ApiError::Forbidden(
            "a measure's renewals are its operator's and its funder's".into(),
        ));
    }
    let today = crate::calendar::today();
    let items: Vec<Renewal> = renewals::table
        .filter(renewals::measure_id.eq(measure.id))
        .select(RenewalRow::as_select())
        .order(renewals::id.asc())
        .load(&mut conn)
        .await?
        .into_iter()
        .map(|r| {
            let decider = r.decider_organisation_id == org;
            renewal_view(r, decider, today)
        })
        .collect();
    Ok(HttpResponse::Ok().json(PageOf {
        items,
        next_cursor: None,
    }))
}

/// List renewals
///
/// The requests waiting for your organisation's decision (`as=decider&status=requested`;
/// `overdue=true`: waiting more than 10 days) and those it asked for (`as=operator`), by id.
#[utoipa::path(
    tag = "measures",
    operation_id = "list_renewals",
    params(RenewalFilters, PageParams),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "A page of renewals", body = PageOf<Renewal>))
)]
#[get("/renewals")]
pub async fn list_renewals(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<RenewalFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadMeasures)?;
    let org = caller.partner_organisation()?;
    let page = page.page()?;
    let mut q = renewals::table.select(RenewalRow::as_select()).into_boxed();
    q = match filters.r#as {
        Some(RenewalSide::Decider) => q.filter(renewals::decider_organisation_id.eq(org)),
        Some(RenewalSide::Operator) => q.filter(renewals::operator_organisation_id.eq(org)),
        None => q.filter(
            renewals::decider_organisation_id
                .eq(org)
                .or(renewals::operator_organisation_id.eq(org)),
        ),
    };
    if let Some(after) = page.after {
        q = q.filter(renewals::id.gt(after));
    }
    if let Some(s) = filters.status {
        q = q.filter(renewals::status.eq(s));
    }
    if let Some(m) = filters.measure_id {
        q = q.filter(renewals::measure_id.eq(m));
    }
    let today = crate::calendar::today();
    let limit = today - Duration::days(RENEWAL_DECISION_DAYS);
    match filters.overdue {
        Some(true) => {
            q = q
                .filter(renewals::status.eq(RenewalStatus::Requested))
                .filter(renewals::requested_on.lt(limit))
        }
        Some(false) => {
            q = q.filter(
                renewals::status
                    .ne(RenewalStatus::Requested)
                    .or(renewals::requested_on.ge(limit)),
            )
        }
        None => {}
    }
    let mut conn = db::conn(&state.pool).await?;
    let rows: Vec<RenewalRow> = q
        .order(renewals::id.asc())
        .limit(page.limit + 1)
        .load(&mut conn)
        .await?;
    let (rows, more) = page.split(rows);
    let views: Vec<Renewal> = rows
        .into_iter()
        .map(|r| {
            let decider = r.decider_organisation_id == org;
            renewal_view(r, decider, today)
        })
        .collect();
    Ok(HttpResponse::Ok().json(PageOf::new(views, more, |v| v.id)))
}

/// Get a renewal
#[utoipa::path(
    tag = "measures",
    operation_id = "get_renewal",
    params(("id" = Uuid, Path, description = "The renewal's id")),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "The renewal", body = Renewal,
               headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/renewals/{id}")]
pub async fn get_renewal(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadMeasures)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let (row, decider) =
        cases::find_as_party::<RenewalRow>(&mut conn, org, id.into_inner(), false).await?;
    let view = renewal_view(row, decider, crate::calendar::today());
    Ok(renewal_response(StatusCode::OK, &view).into_response(false))
}

async fn decide(
    state: &AppState,
    caller: Caller,
    target: ActionTarget,
    action: RenewalAction,
    refusal: Option<RenewalRefusal>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    let org = caller.partner_organisation()?;
    target
        .run(
            state,
            &caller.clone(),
            async move |conn: &mut AsyncPgConnection, id: Uuid, if_match: IfMatch| {
                let (row, decider) =
                    cases::find_as_party::<RenewalRow>(conn, org, id, true).await?;
                if_match.check(row.version)?;
                let to = rules::renewal_transition(row.status, action, decider).map_err(|r| {
                    cases::refusal_error(
                        r,
                        "a renewal",
                        action,
                        if decider { "decider" } else { "operator" },
                    )
                })?;
                let today = crate::calendar::today();
                let (starts_on, ends_on) = if to == RenewalStatus::Granted {
                    let measure: MeasureRow = measures::table
                        .find(row.measure_id)
                        .select(MeasureRow::as_select())
                        .for_update()
                        .first(conn)
                        .await?;
                    // A suspended measure's end is not settled until it resumes.
                    if measure.status != MeasureStatus::Active {
                        return Err(ApiError::not_now(
                            format!(
                                "the measure is {}: a renewal is granted to an active measure",
                                measure.status
                            ),
                            row.status.as_str(),
                            &["refuse"],
                        ));
                    }
                    let start = measure.planned_end_on.ok_or_else(|| {
                        ApiError::internal("a renewal of a measure without an end")
                    })?;
                    let end = start + chrono::Months::new(row.months.unsigned_abs());
                    let extended: MeasureRow = diesel::update(measures::table.find(measure.id))
                        .set((
                            measures::planned_end_on.eq(Some(end)),
                            measures::renewals_granted.eq(measure.renewals_granted + 1),
                            measures::version.eq(measure.version + 1),
                            measures::updated_at.eq(diesel::dsl::now),
                        ))
                        .returning(MeasureRow::as_returning())
                        .get_result(conn)
                        .await?;
                    cases::record_step(
                        conn,
                        Some(&caller),
                        &extended,
                        Step::new("renew", Some(measure.status.as_str())),
                    )
                    .await?;
                    events::append(
                        conn,
                        Some(&caller),
                        service::measure_event("measure.extended", &extended)?,
                    )
                    .await?;
                    service::tell_landlords(conn, Some(&caller), "measure.extended", &extended)
                        .await?;
                    (Some(start), Some(end))
                } else {
                    (None, None)
                };
                let updated: RenewalRow = diesel::update(renewals::table.find(row.id))
                    .set((
                        renewals::status.eq(to),
                        renewals::decided_on.eq(Some(today)),
                        renewals::starts_on.eq(starts_on),
                        renewals::ends_on.eq(ends_on),
                        renewals::refusal_reason.eq(refusal.as_ref().map(|r| r.reason)),
                        renewals::refusal_explanation
                            .eq(refusal.as_ref().map(|r| r.explanation.trim().to_owned())),
                        renewals::version.eq(row.version + 1),
                        renewals::updated_at.eq(diesel::dsl::now),
                    ))
                    .returning(RenewalRow::as_returning())
                    .get_result(conn)
                    .await?;
                cases::record(
                    conn,
                    Some(&caller),
                    &updated,
                    Step::new(action.as_str(), Some(row.status.as_str()))
                        .comment(refusal.as_ref().map(|r| r.explanation.as_str()))
                        .reason(refusal.as_ref().map(|r| r.reason.as_str())),
                )
                .await?;
                let view = renewal_view(updated, decider, today);
                Ok(renewal_response(StatusCode::OK, &view))
            },
        )
        .await
}

action_endpoint! {
    /// Grant a renewal
    ///
    /// The decider (the measure's funder) grants it: the renewal starts exactly on the
    /// measure's planned end, which moves by its length in the same transaction
    /// (`measure.extended`).
    grant_renewal: "/renewals/{id}/grant", tag "measures", scope "measures:write",
    id "The renewal's id", returns Renewal,
    |state, caller, target| decide(&state, caller, target, RenewalAction::Grant, None)
}

action_endpoint! {
    /// Refuse a renewal
    ///
    /// The decider refuses it, with a coded reason and an explanation the operator sees.
    refuse_renewal: "/renewals/{id}/refuse", tag "measures", scope "measures:write",
    id "The renewal's id", returns Renewal, body RenewalRefusal,
    |state, caller, target, payload| decide(&state, caller, target, RenewalAction::Refuse, Some(payload))
}

/// Log a contact
///
/// The operator logs a contact with the household. A contact of a kind the rules count
/// moves the next contact's due date by the rhythm. The funder sees the count; the note is
/// the operator's alone (never in an event).
#[utoipa::path(
    tag = "measures",
    operation_id = "create_contact",
    request_body = NewContact,
    params(("id" = Uuid, Path, description = "The measure's id"), IdempotencyHeader),
    security(("oauth2" = ["measures:write"])),
    responses((status = 201, description = "Logged", body = Contact))
)]
#[post("/measures/{id}/contacts")]
pub async fn create_contact(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: ParsedJson<NewContact>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    let field_errors = body.field_errors();
    let ParsedJson(new, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let (measure, party) = cases::find_as_party::<MeasureRow>(conn, org, id, true).await?;
            operator_only(party, "logs its contacts")?;
            // A closed measure takes the contacts of its last days, logged late.
            let late_for_closed = measure.status == MeasureStatus::Closed
                && measure.ended_on.is_some_and(|e| new.occurred_on <= e);
            if !matches!(
                measure.status,
                MeasureStatus::Active | MeasureStatus::Suspended
            ) && !late_for_closed
            {
                return Err(not_now(
                    &measure,
                    party,
                    format!(
                        "contacts are logged on a running measure, or on a closed one up to its \
                         end; this one is {}",
                        measure.status
                    ),
                )?);
            }
            let mut errors = field_errors;
            if new.occurred_on < measure.starts_on {
                errors.push(FieldError::new(
                    "occurred_on",
                    "before_start",
                    format!("the measure started on {}", measure.starts_on),
                ));
            }
            let worker = match new.worker_account_id {
                Some(w) => {
                    check_worker(conn, "worker_account_id", org, w, &mut errors).await?;
                    w
                }
                None => measure.worker_account_id.unwrap_or(caller.account_id),
            };
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            let contact = service::log_contact(
                conn,
                &caller,
                &measure,
                service::ContactEntry {
                    occurred_on: new.occurred_on,
                    kind: new.kind,
                    duration_minutes: new.duration_minutes,
                    worker,
                    note: new.note.as_deref().map(str::trim),
                },
            )
            .await?;
            Ok(StoredResponse::json(StatusCode::CREATED, &contact))
        },
    )
    .await
}

/// A measure's contacts
///
/// The operator's log, newest first is not promised: by id (oldest first), paged.
#[utoipa::path(
    tag = "measures",
    operation_id = "list_contacts",
    params(("id" = Uuid, Path, description = "The measure's id"), PageParams),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "A page of contacts", body = PageOf<Contact>))
)]
#[get("/measures/{id}/contacts")]
pub async fn list_contacts(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    page: crate::http::extractors::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadMeasures)?;
    let org = caller.partner_organisation()?;
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let (measure, party) =
        cases::find_as_party::<MeasureRow>(&mut conn, org, id.into_inner(), false).await?;
    operator_only(party, "reads its contacts")?;
    let mut q = measure_contacts::table
        .filter(measure_contacts::measure_id.eq(measure.id))
        .select(Contact::as_select())
        .into_boxed();
    if let Some(after) = page.after {
        q = q.filter(measure_contacts::id.gt(after));
    }
    let rows: Vec<Contact> = q
        .order(measure_contacts::id.asc())
        .limit(page.limit + 1)
        .load(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(PageOf::from_rows(rows, page, |c| c.id)))
}

async fn objective_views(
    conn: &mut AsyncPgConnection,
    rows: Vec<ObjectiveRow>,
) -> Result<Vec<Objective>, ApiError> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let history = cases::steps(conn, r.id)
            .await?
            .into_iter()
            .map(CaseTransition::from)
            .collect();
        out.push(Objective {
            id: r.id,
            measure_id: r.measure_id,
            theme: r.theme,
            description: r.description,
            status: r.status,
            version: r.version,
            history,
            created_at: r.created_at,
            updated_at: r.updated_at,
        });
    }
    Ok(out)
}

fn objective_response(status: StatusCode, o: &Objective) -> StoredResponse {
    StoredResponse::versioned(status, o, o.version)
}

/// Set an objective
///
/// The operator sets an objective of the measure with the household (`in_progress`).
#[utoipa::path(
    tag = "measures",
    operation_id = "create_objective",
    request_body = NewObjective,
    params(("id" = Uuid, Path, description = "The measure's id"), IdempotencyHeader),
    security(("oauth2" = ["measures:write"])),
    responses((status = 201, description = "Set", body = Objective,
               headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new objective"))))
)]
#[post("/measures/{id}/objectives")]
pub async fn create_objective(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: ValidJson<NewObjective>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    let ValidJson(new, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let (measure, party) = cases::find_as_party::<MeasureRow>(conn, org, id, false).await?;
            operator_only(party, "sets its objectives")?;
            if matches!(
                measure.status,
                MeasureStatus::Closed | MeasureStatus::Cancelled
            ) {
                return Err(not_now(
                    &measure,
                    party,
                    format!(
                        "objectives are set on an open measure; this one is {}",
                        measure.status
                    ),
                )?);
            }
            let case =
                service::set_objective(conn, &caller, &measure, new.theme, new.description.trim())
                    .await?;
            let oid = case.row.id;
            let view = objective_views(conn, vec![case.row]).await?.remove(0);
            Ok(objective_response(StatusCode::CREATED, &view)
                .header("location", format!("/v1/objectives/{oid}")))
        },
    )
    .await
}

/// A measure's objectives
///
/// The operator's, each with its history, oldest first.
#[utoipa::path(
    tag = "measures",
    operation_id = "list_objectives",
    params(("id" = Uuid, Path, description = "The measure's id")),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "The objectives", body = PageOf<Objective>))
)]
#[get("/measures/{id}/objectives")]
pub async fn list_objectives(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadMeasures)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let (measure, party) =
        cases::find_as_party::<MeasureRow>(&mut conn, org, id.into_inner(), false).await?;
    operator_only(party, "reads its objectives")?;
    let rows: Vec<ObjectiveRow> = objectives::table
        .filter(objectives::measure_id.eq(measure.id))
        .select(ObjectiveRow::as_select())
        .order(objectives::id.asc())
        .load(&mut conn)
        .await?;
    let items = objective_views(&mut conn, rows).await?;
    Ok(HttpResponse::Ok().json(PageOf {
        items,
        next_cursor: None,
    }))
}

/// Get an objective
///
/// The operator's, with its history.
#[utoipa::path(
    tag = "measures",
    operation_id = "get_objective",
    params(("id" = Uuid, Path, description = "The objective's id")),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "The objective", body = Objective,
               headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/objectives/{id}")]
pub async fn get_objective(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadMeasures)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let (case, ()) =
        cases::find_as_party::<service::ObjectiveCase>(&mut conn, org, id.into_inner(), false)
            .await?;
    let view = objective_views(&mut conn, vec![case.row]).await?.remove(0);
    Ok(objective_response(StatusCode::OK, &view).into_response(false))
}

/// Change an objective
///
/// The operator rewords it or changes its status (`achieved`, `abandoned`, back to
/// `in_progress`): each status change is a step of its history. `If-Match` with its `ETag`.
#[utoipa::path(
    tag = "measures",
    operation_id = "update_objective",
    request_body = ObjectivePatch,
    params(("id" = Uuid, Path, description = "The objective's id"), IfMatchHeader),
    security(("oauth2" = ["measures:write"])),
    responses((status = 200, description = "Changed", body = Objective,
               headers(("ETag" = String, description = "The new version"))))
)]
#[patch("/objectives/{id}")]
pub async fn update_objective(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<ObjectivePatch>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    let p = body.0;
    let mut conn = db::conn(&state.pool).await?;
    let response = db::transaction(&mut conn, async move |conn: &mut AsyncPgConnection| {
        let (case, ()) =
            cases::find_as_party::<service::ObjectiveCase>(conn, org, id, true).await?;
        if_match.check(case.row.version)?;
        let current = case.row;
        let description = p
            .description
            .as_deref()
            .map_or(current.description.clone(), |d| d.trim().to_owned());
        let status = p.status.unwrap_or(current.status);
        if p.comment.is_some() && status == current.status {
            return Err(ApiError::invalid(
                "comment",
                "without_status_change",
                "a comment goes with a change of status, in the objective's history",
            ));
        }
        if (&description, status) == (&current.description, current.status) {
            return Ok(objective_response(
                StatusCode::OK,
                &objective_views(conn, vec![current]).await?.remove(0),
            ));
        }
        let row: ObjectiveRow = diesel::update(objectives::table.find(id))
            .set((
                objectives::description.eq(&description),
                objectives::status.eq(status),
                objectives::version.eq(current.version + 1),
                objectives::updated_at.eq(diesel::dsl::now),
            ))
            .returning(ObjectiveRow::as_returning())
            .get_result(conn)
            .await?;
        let case = service::ObjectiveCase { row, operator: org };
        if status != current.status {
            cases::record(
                conn,
                Some(&caller),
                &case,
                Step::new("update", Some(current.status.as_str())).comment(p.comment.as_deref()),
            )
            .await?;
        } else {
            events::append(conn, Some(&caller), cases::Case::status_event(&case)?).await?;
        }
        let view = objective_views(conn, vec![case.row]).await?.remove(0);
        Ok::<_, ApiError>(objective_response(StatusCode::OK, &view))
    })
    .await?;
    Ok(response.into_response(false))
}
