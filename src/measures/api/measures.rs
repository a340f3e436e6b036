//! `/v1/measures`: support measures and their actions and history (see
//! [`super::super::service`]).

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpResponse};
use uuid::Uuid;

use super::super::model::*;
use super::super::service;
use crate::action_endpoint;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::cases::CaseTransition;
use crate::db::{self, Connection};
use crate::error::{ApiError, ApiResult};
use crate::http::body::ParsedJson;
use crate::http::concurrency::{IfMatch, IfMatchHeader};
use crate::http::extractors::ListQuery;
use crate::http::idempotency::{ActionTarget, Creation, IdempotencyHeader, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::state::AppState;

fn measure_response(status: StatusCode, m: &Measure) -> StoredResponse {
    StoredResponse::versioned(status, m, m.version)
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
    creation: Creation<ParsedJson<NewMeasure>>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    caller.partner_organisation()?;
    // Field rules and database rules are reported together.
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, new, field_errors| {
                let view = service::create(conn, &caller, new, field_errors).await?;
                let location = format!("/v1/measures/{}", view.id);
                Ok(measure_response(StatusCode::CREATED, &view).header("location", location))
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
    caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let view = service::get(&mut conn, &caller, id.into_inner()).await?;
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
    caller.partner_organisation()?;
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let page = service::list(&mut conn, &caller, &filters, page).await?;
    Ok(HttpResponse::Ok().json(page))
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
    caller.partner_organisation()?;
    let id = id.into_inner();
    // The field rules are reported with the measure's own rules, all at once.
    let field_errors = body.field_errors();
    let p = body.0;
    let mut conn = db::conn(&state.pool).await?;
    let response = db::transaction(&mut conn, async move |conn: &mut Connection| {
        let view = service::update(conn, &caller, id, &if_match, p, field_errors).await?;
        Ok::<_, ApiError>(measure_response(StatusCode::OK, &view))
    })
    .await?;
    Ok(response.into_response(false))
}

async fn act(
    state: &AppState,
    caller: Caller,
    target: ActionTarget,
    action: MeasureAction,
    payload: Payload,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    caller.partner_organisation()?;
    target
        .run(
            state,
            &caller.clone(),
            async move |conn: &mut Connection, id: Uuid, if_match: IfMatch| {
                let view = service::act(conn, &caller, id, &if_match, action, payload).await?;
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
    caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let page = service::history(&mut conn, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}
