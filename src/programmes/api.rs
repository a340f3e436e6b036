//! `/v1/programmes`: funders create and change their programmes; funders and the operators
//! they fund read them. Parse, authorise, call [`super::service`], present.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpResponse};
use uuid::Uuid;

use super::indicators::{self, IndicatorQuery, Indicators};
use super::model::{NewProgramme, Programme, ProgrammeFilters, ProgrammePatch};
use super::service;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db::{self, Connection};
use crate::error::ApiResult;
use crate::http::body::ParsedJson;
use crate::http::concurrency::{IfMatch, IfMatchHeader};
use crate::http::extractors::{ListQuery, Query};
use crate::http::idempotency::{Creation, IdempotencyHeader, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::state::AppState;

fn programme_response(status: StatusCode, p: &Programme) -> StoredResponse {
    StoredResponse::versioned(status, p, p.version)
}

/// Create a programme
///
/// A department or a State service funds, over a period and for a budget, a number of
/// measures per kind run by the operators it names, with outcome targets. Its operators
/// learn of it in their feed (`programme.created`) and put their measures under it
/// (`programme_id` of a measure). A department covers its own département.
#[utoipa::path(
    tag = "programmes",
    operation_id = "create_programme",
    request_body = NewProgramme,
    params(IdempotencyHeader),
    security(("oauth2" = ["programmes:write"])),
    responses((status = 201, description = "Created", body = Programme,
               headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new programme"))))
)]
#[post("/programmes")]
pub async fn create_programme(
    state: web::Data<AppState>,
    caller: Caller,
    creation: Creation<ParsedJson<NewProgramme>>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ManageProgrammes)?;
    caller.partner_organisation()?;
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, new, field_errors| {
                let p = service::create(conn, &caller, &new, field_errors).await?;
                Ok(programme_response(StatusCode::CREATED, &p)
                    .header("location", format!("/v1/programmes/{}", p.id)))
            },
        )
        .await
}

/// List programmes
///
/// The programmes your organisation funds or is funded by, oldest first.
#[utoipa::path(
    tag = "programmes",
    operation_id = "list_programmes",
    params(ProgrammeFilters, PageParams),
    security(("oauth2" = ["measures:read"])),
    responses(
        (status = 200, description = "A page of programmes", body = PageOf<Programme>),
        (status = 422, description = "A side your organisation's kind never takes (`not_your_side`)",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programmes")]
pub async fn list_programmes(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<ProgrammeFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadProgrammes)?;
    caller.partner_organisation()?;
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let page = service::list(&mut conn, &caller, &filters, page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Get a programme
///
/// Its places per kind ("31 of 45 ASRL measures in use": `used` 31, `funded` 45), its
/// operators, budget and targets. For its funder and the operators it funds; 404 for
/// anyone else.
#[utoipa::path(
    tag = "programmes",
    operation_id = "get_programme",
    params(("id" = Uuid, Path, description = "The programme's id")),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "The programme", body = Programme,
               headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/programmes/{id}")]
pub async fn get_programme(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadProgrammes)?;
    caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let p = service::get(&mut conn, &caller, id.into_inner()).await?;
    Ok(programme_response(StatusCode::OK, &p).into_response(false))
}

/// Change a programme
///
/// By its funder, with `If-Match`: raise (or lower, never below the measures started) the
/// number funded per kind, add a kind, take away one no measure has used, extend the period,
/// change the operators, the budget, the targets. The operators are told
/// (`programme.updated`).
#[utoipa::path(
    tag = "programmes",
    operation_id = "update_programme",
    request_body = ProgrammePatch,
    params(("id" = Uuid, Path, description = "The programme's id"), IfMatchHeader),
    security(("oauth2" = ["programmes:write"])),
    responses((status = 200, description = "Changed", body = Programme,
               headers(("ETag" = String, description = "The new version"))))
)]
#[patch("/programmes/{id}")]
pub async fn update_programme(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ParsedJson<ProgrammePatch>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ManageProgrammes)?;
    caller.partner_organisation()?;
    let id = id.into_inner();
    // The field rules are reported with the programme's own rules, all at once.
    let field_errors = body.field_errors();
    let p = body.0;
    let mut conn = db::conn(&state.pool).await?;
    let updated = db::transaction(&mut conn, async move |conn: &mut Connection| {
        service::update(conn, &caller, id, &if_match, p, field_errors).await
    })
    .await?;
    Ok(programme_response(StatusCode::OK, &updated).into_response(false))
}

/// A programme's indicators
///
/// Over a period (default: the programme's): measures started, active and closed per kind;
/// the programme's referrals and their declines by reason; the delays from a referral's
/// submission to its acknowledgement, decision and measure start (median and 90th
/// percentile, from the history, never from editable dates); outcomes against the
/// programme's targets; renewals; the share of measures whose contact rhythm was kept; the
/// share of households housed with rent arrears within 12 months; the days from a
/// household's first referral to a home of its own. Each figure's schema says how it is
/// counted; milestones are the times of the history's steps, and the period's days are
/// French legal dates, both included.
///
/// For the funder (all measures, or one operator's with `operator_organisation_id`) and for
/// each operator it funds (its own measures only; another operator's id is 403). No
/// household appears. 422 when `to` is before `from` or the period spans more than 10
/// years.
#[utoipa::path(
    tag = "programmes",
    operation_id = "programme_indicators",
    params(("id" = Uuid, Path, description = "The programme's id"), IndicatorQuery),
    security(("oauth2" = ["measures:read"])),
    responses(
        (status = 200, description = "The indicators", body = Indicators),
        (status = 422, description = "`to` before `from`, or a period of more than 10 years",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programmes/{id}/indicators")]
pub async fn programme_indicators(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    query: Query<IndicatorQuery>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadProgrammes)?;
    caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let indicators = indicators::indicators(&mut conn, &caller, id.into_inner(), query.0).await?;
    Ok(HttpResponse::Ok().json(indicators))
}
