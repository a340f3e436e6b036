//! `/v1/measures`, `/v1/renewals`, `/v1/objectives`: support measures, their renewals,
//! contacts and objectives.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::catalogue::{self, MeasureKindRow};
use super::model::*;
use super::rules::{self, MeasureParty};
use super::service::{
    self, Measure, MeasureCancellation, MeasureClosing, MeasureStart, Opening, Payload, Suspension,
};
use crate::action_endpoint;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::cases::{self, CaseTransition, Step};
use crate::db;
use crate::error::{ApiError, ApiResult, FieldError, OptionalFound};
use crate::events;
use crate::fields::validate_not_blank;
use crate::http::body::{ParsedJson, ValidJson};
use crate::http::concurrency::{IfMatch, IfMatchHeader};
use crate::http::extractors::ListQuery;
use crate::http::idempotency::{
    self, ActionTarget, IdempotencyHeader, IdempotencyKey, StoredResponse,
};
use crate::http::pagination::{PageOf, PageParams};
use crate::http::patch;
use crate::identity::model::AccountKind;
use crate::programmes;
use crate::schema::{accounts, measure_kinds, measures, objectives};
use crate::state::AppState;

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
    fn side(self) -> MeasureParty {
        match self {
            ListedAs::Operator => MeasureParty::Operator,
            ListedAs::Funder => MeasureParty::Funder,
            ListedAs::Referrer => MeasureParty::Referrer,
            ListedAs::Landlord => MeasureParty::Landlord,
        }
    }

    fn as_str(self) -> &'static str {
        self.side().as_str()
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

fn measure_response(status: StatusCode, m: &Measure) -> StoredResponse {
    StoredResponse::versioned(status, m, m.version)
}

/// A measure just written, as the caller's organisation (this party) sees it.
async fn present_one(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    row: MeasureRow,
    party: MeasureParty,
) -> Result<Measure, ApiError> {
    let household = service::household_of(conn, &row).await?;
    let actions = service::allowed_actions(conn, caller, &row, party).await?;
    service::view(row, household, party, crate::calendar::today(), actions)
}

/// Checks a worker: an active account of the operator.
pub(crate) async fn check_worker(
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

/// Open a measure
///
/// An operator opens a measure directly for a household it sees. It is `proposed` when
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
            let household =
                crate::households::queries::find_visible(conn, org, new.household_id, false)
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
            let mut shared = None;
            let mut programme_checked = false;
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
                    // The programme's funder funds it, for the départements it covers.
                    funder = Some(programme.funder_organisation_id);
                    shared = service::check_funder(
                        conn,
                        "programme_id",
                        kind.as_ref(),
                        programme.funder_organisation_id,
                        household.as_ref(),
                        org,
                        Some(&programme.department_codes()),
                        &mut errors,
                    )
                    .await?;
                }
                programme_checked = true;
            }
            if let (Some(f), false) = (new.funder_organisation_id, programme_checked) {
                shared = service::check_funder(
                    conn,
                    "funder_organisation_id",
                    kind.as_ref(),
                    f,
                    household.as_ref(),
                    org,
                    None,
                    &mut errors,
                )
                .await?;
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
            service::record_funder_sharing(conn, &caller, &row, shared.as_ref()).await?;
            let id = row.id;
            let view = present_one(conn, &caller, row, MeasureParty::Operator).await?;
            Ok(measure_response(StatusCode::CREATED, &view)
                .header("location", format!("/v1/measures/{id}")))
        },
    )
    .await
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
    let actions = service::allowed_actions(&mut conn, &caller, &row, party).await?;
    let view = service::view(row, household, party, crate::calendar::today(), actions)?;
    Ok(measure_response(StatusCode::OK, &view).into_response(false))
}

/// List measures
///
/// The measures your organisation operates, funds, referred or lets the home of (`as`;
/// all four when absent), by id. A worker's caseload: `worker_account_id` (with
/// `contact_overdue=true`: the measures whose next contact is overdue). The follow-up
/// filters (`worker_account_id`, `contact_overdue`) are the operator's: they keep to the
/// measures your organisation operates, with `as=operator` or without `as`; with another
/// `as` they are a 422 naming the filter, and for an organisation whose kind operates no
/// measure kind a 403 naming it (a funder does not learn who is late).
#[utoipa::path(
    tag = "measures",
    operation_id = "list_measures",
    params(MeasureFilters, PageParams),
    security(("oauth2" = ["measures:read"])),
    responses(
        (status = 200, description = "A page of measures", body = PageOf<Measure>),
        (status = 403, description = "A follow-up filter for an organisation that operates no measure kind",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A side your organisation's kind never takes (`not_your_side`), a kind the catalogue never held, a follow-up filter with `as` other than `operator`, or a worker who is not one of your organisation's accounts",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
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
    let mut conn = db::conn(&state.pool).await?;
    if let Some(kind) = &filters.kind {
        catalogue::check_kind_filter(&mut conn, "kind", kind).await?;
    }
    let sides = catalogue::sides_of(&mut conn, caller.organisation_kind).await?;
    if let Some(side) = filters.r#as {
        let refusal = match side {
            ListedAs::Operator if !sides.operates => Some(
                "the operator of a measure is of a kind the catalogue names to operate it \
                 (see GET /v1/measure-kinds)",
            ),
            ListedAs::Funder if !sides.funds => Some(
                "the funder of a measure is of a kind the catalogue names to fund it \
                 (see GET /v1/measure-kinds)",
            ),
            ListedAs::Landlord
                if crate::units::rules::registers_units_of(caller.organisation_kind).is_none() =>
            {
                Some(
                    "the landlord of a sub-lease holds its unit: a social landlord, or an \
                     association for a private owner's unit",
                )
            }
            _ => None,
        };
        if let Some(why) = refusal {
            return Err(crate::cases::not_your_side(
                "as",
                format!(
                    "your organisation's kind never takes the `{}` side: {why}",
                    side.as_str()
                ),
            ));
        }
    }
    // The follow-up filters are the operator's: refused, naming them, where they cannot
    // apply (never a silently empty page).
    let follow_up: Vec<&str> = [
        ("worker_account_id", filters.worker_account_id.is_some()),
        ("contact_overdue", filters.contact_overdue.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, used)| used.then_some(f))
    .collect();
    if !follow_up.is_empty() {
        if let Some(side) = filters.r#as.filter(|a| *a != ListedAs::Operator) {
            return Err(ApiError::Validation(
                follow_up
                    .iter()
                    .map(|f| {
                        FieldError::new(
                            *f,
                            "operator_only",
                            format!(
                                "a measure's follow-up is its operator's: `{f}` goes with \
                                 `as=operator` (or no `as`), not `as={}`",
                                side.as_str()
                            ),
                        )
                    })
                    .collect(),
            ));
        }
        if !sides.operates {
            return Err(ApiError::Forbidden(format!(
                "`{}`: a measure's follow-up is its operator's, and your organisation's kind \
                 operates no measure kind",
                follow_up.join("`, `")
            )));
        }
        if let Some(w) = filters.worker_account_id {
            if !crate::identity::model::is_account_of(&mut conn, w, org).await? {
                return Err(ApiError::invalid(
                    "worker_account_id",
                    "not_in_organisation",
                    "not an account of your organisation: a caseload is one of your workers'",
                ));
            }
        }
    }
    let rows = service::list(
        &mut conn,
        service::MeasureList {
            org,
            side: filters.r#as.map(ListedAs::side),
            operated_only: !follow_up.is_empty(),
            status: filters.status,
            kind: filters.kind.clone(),
            household_id: filters.household_id,
            referral_id: filters.referral_id,
            programme_id: filters.programme_id,
            worker_account_id: filters.worker_account_id,
            contact_overdue: filters.contact_overdue,
            ending_before: filters.ending_before,
            updated_since: filters.updated_since,
            today: crate::calendar::today(),
        },
        page,
    )
    .await?;
    let (rows, more) = page.split(rows);
    let views = service::views(&mut conn, &caller, org, rows).await?;
    Ok(HttpResponse::Ok().json(PageOf::new(views, more, |v| v.id)))
}

/// Change a measure
///
/// The operator changes the worker in charge, the funder (while the measure is proposed or
/// has none) or the programme (until it is closed or cancelled). A funder named (directly
/// or by the programme) sees the household: it covers the household's territory and the
/// household's consent is in force (422 `outside_territory`, `consent_required`).
/// `If-Match` with its `ETag`.
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
        let household =
            crate::households::queries::find_visible(conn, org, row.household_id, false).await?;
        let mut shared = None;
        if let Some(f) = p
            .funder_organisation_id
            .filter(|f| Some(*f) != row.funder_organisation_id)
        {
            let settled =
                row.status != MeasureStatus::Proposed && row.funder_organisation_id.is_some();
            if settled || matches!(row.status, MeasureStatus::Closed | MeasureStatus::Cancelled) {
                return Err(ApiError::conflict(format!(
                    "the funder of a measure that is {} does not change (it does while the \
                     measure is proposed, or has none and still runs)",
                    row.status
                )));
            }
            let kind: MeasureKindRow = measure_kinds::table
                .find(&row.kind)
                .select(MeasureKindRow::as_select())
                .first(conn)
                .await?;
            shared = service::check_funder(
                conn,
                "funder_organisation_id",
                Some(&kind),
                f,
                Some(&household),
                org,
                None,
                &mut errors,
            )
            .await?;
        }
        let programme = patch::merge(&p.programme_id, &row.programme_id);
        if programme != row.programme_id {
            if matches!(row.status, MeasureStatus::Closed | MeasureStatus::Cancelled) {
                return Err(ApiError::conflict(format!(
                    "the programme of a measure that is {} does not change",
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
                    let covered = service::check_funder(
                        conn,
                        "programme_id",
                        None,
                        programme.funder_organisation_id,
                        Some(&household),
                        org,
                        Some(&programme.department_codes()),
                        &mut errors,
                    )
                    .await?;
                    if Some(programme.funder_organisation_id) != row.funder_organisation_id {
                        shared = covered;
                    }
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
                &present_one(conn, &caller, row, party).await?,
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
                crate::db::bump(measures::version, measures::updated_at),
            ))
            .returning(MeasureRow::as_returning())
            .get_result(conn)
            .await?;
        service::record_funder_sharing(conn, &caller, &updated, shared.as_ref()).await?;
        events::append(
            conn,
            Some(&caller),
            service::measure_event("measure.updated", &updated)?,
        )
        .await?;
        let view = present_one(conn, &caller, updated, party).await?;
        Ok::<_, ApiError>(measure_response(StatusCode::OK, &view))
    })
    .await?;
    Ok(response.into_response(false))
}

/// 409: the measure's state forbids it; `allowed_actions` are what the party may do now.
pub(crate) async fn not_now(
    conn: &mut AsyncPgConnection,
    measure: &MeasureRow,
    caller: &Caller,
    party: MeasureParty,
    detail: String,
) -> Result<ApiError, ApiError> {
    let allowed = service::allowed_actions(conn, caller, measure, party).await?;
    Ok(ApiError::not_now(
        detail,
        measure.status.as_str(),
        &allowed.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
    ))
}

/// 403 unless the operator: what only the operator does (`what`: "logs contacts").
pub(crate) fn operator_only(party: MeasureParty, what: &str) -> Result<(), ApiError> {
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
                let to =
                    match rules::transition(row.status, action, party, row.rules()?.needs_decision)
                    {
                        Ok(to) => to,
                        Err(cases::Refusal::NotNow { .. }) => {
                            return Err(not_now(
                                conn,
                                &row,
                                &caller,
                                party,
                                format!(
                                    "`{action}` is not possible on a measure that is {}",
                                    row.status
                                ),
                            )
                            .await?)
                        }
                        Err(r) => {
                            return Err(cases::refusal_error(
                                r,
                                "a measure",
                                action,
                                party.as_str(),
                            ))
                        }
                    };
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
                let view = present_one(conn, &caller, updated, party).await?;
                Ok(measure_response(StatusCode::OK, &view))
            },
        )
        .await
}

action_endpoint! {
    /// Start a measure
    ///
    /// The decision: a proposed measure becomes active from `starts_on`, its planned end set
    /// by its rules. By the funder when the kind needs a decision (ASLL: the CUD validates),
    /// else by the operator.
    start_measure: "/measures/{id}/start", tag "measures", scope "measures:write",
    id "The measure's id", returns Measure, optional body MeasureStart,
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
    /// The operator resumes a suspended measure; the planned end is moved by the days
    /// actually suspended (not the length first asked), and the next contact is due a
    /// rhythm's length from today.
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
    id "The measure's id", returns Measure, body MeasureCancellation,
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
                    conn,
                    &measure,
                    &caller,
                    party,
                    format!(
                        "objectives are set on an open measure; this one is {}",
                        measure.status
                    ),
                )
                .await?);
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
                crate::db::bump(objectives::version, objectives::updated_at),
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
