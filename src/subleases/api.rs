//! `/v1/subleases`: parse, authorise, call [`super::service`], present. No statement here.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use uuid::Uuid;

use super::model::{
    Ending, NewArrears, NewSublease, RentArrears, Sublease, SubleaseAction, SubleaseFilters,
    SubleaseRow, SubleaseTransition,
};
use super::service;
use crate::action_endpoint;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::cases;
use crate::db::{self, Connection};
use crate::error::ApiResult;
use crate::http::body::{ParsedJson, ValidJson};
use crate::http::extractors::{ListQuery, Query};
use crate::http::idempotency::IdempotencyHeader;
use crate::http::idempotency::{ActionTarget, Creation, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::state::AppState;

fn sublease_response(status: StatusCode, s: &Sublease) -> StoredResponse {
    StoredResponse::versioned(status, s, s.version)
}

/// Plan a sub-lease
///
/// The main tenant (an association) sub-lets a unit it sees through an active agreement
/// (or a private owner's unit it manages) to a household it follows. The residual charge
/// (rent + charges − housing benefit) is computed and returned. The unit is `reserved`
/// until the household moves in. Two sub-leases of a unit never overlap: the database
/// refuses the second, also when two requests race (409 `overlapping_sublease`).
#[utoipa::path(
    tag = "subleases",
    operation_id = "create_sublease",
    request_body = NewSublease,
    params(IdempotencyHeader),
    security(("oauth2" = ["housing:write"])),
    responses(
        (status = 201, description = "Planned", body = Sublease,
         headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new sub-lease"))),
        (status = 409, description = "The unit is unavailable, kept for another household, or already sub-let over part of the period", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/subleases")]
pub async fn create_sublease(
    state: web::Data<AppState>,
    caller: Caller,
    creation: Creation<ParsedJson<NewSublease>>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    caller.partner_organisation()?;
    service::check_main_tenant(&caller)?;
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, new, field_errors| {
                let view = service::create(conn, &caller, new, field_errors).await?;
                let location = format!("/v1/subleases/{}", view.id);
                Ok(sublease_response(StatusCode::CREATED, &view).header("location", location))
            },
        )
        .await
}

/// Get a sub-lease
#[utoipa::path(
    tag = "subleases",
    operation_id = "get_sublease",
    params(("id" = Uuid, Path, description = "The sub-lease's id")),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "The sub-lease", body = Sublease, headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/subleases/{id}")]
pub async fn get_sublease(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHousing)?;
    caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let view = service::get(&mut conn, &caller, id.into_inner()).await?;
    Ok(sublease_response(StatusCode::OK, &view).into_response(false))
}

/// List sub-leases
///
/// The sub-leases your organisation is party to (as main tenant or landlord), by id.
#[utoipa::path(
    tag = "subleases",
    operation_id = "list_subleases",
    params(SubleaseFilters, PageParams),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "A page of sub-leases", body = PageOf<Sublease>))
)]
#[get("/subleases")]
pub async fn list_subleases(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<SubleaseFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadHousing)?;
    caller.partner_organisation()?;
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let page = service::list(&mut conn, &caller, &filters, page).await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn act(
    state: &AppState,
    caller: Caller,
    target: ActionTarget,
    action: SubleaseAction,
    ending: Option<Ending>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    caller.partner_organisation()?;
    target
        .run(
            state,
            &caller.clone(),
            async move |conn: &mut Connection, id: Uuid, if_match| {
                let view = service::act(conn, &caller, id, &if_match, action, ending).await?;
                Ok(sublease_response(StatusCode::OK, &view))
            },
        )
        .await
}

action_endpoint! {
    /// Activate a sub-lease
    ///
    /// The main tenant: the household has moved in. The unit becomes `occupied`.
    activate_sublease: "/subleases/{id}/activate", tag "subleases", scope "housing:write",
    id "The sub-lease's id", returns Sublease,
    |state, caller, target| act(&state, caller, target, SubleaseAction::Activate, None)
}

action_endpoint! {
    /// Glide a sliding lease
    ///
    /// The landlord: the lease passes to the household, which becomes its direct tenant. The
    /// sub-lease ends today (`glided`); the unit stays `occupied`, in the household's name.
    /// Only a `sliding_lease` glides (409 for another kind).
    glide_sublease: "/subleases/{id}/glide", tag "subleases", scope "housing:write",
    id "The sub-lease's id", returns Sublease,
    |state, caller, target| act(&state, caller, target, SubleaseAction::Glide, None)
}

action_endpoint! {
    /// End a sub-lease
    ///
    /// Either party ends a planned or active sub-lease, with a coded reason (`other` needs a
    /// comment). The unit is free again (`available`, or `unavailable` when its energy class
    /// may no longer be let) unless another sub-lease of it is planned.
    end_sublease: "/subleases/{id}/end", tag "subleases", scope "housing:write",
    id "The sub-lease's id", returns Sublease, body Ending,
    |state, caller, target, ending| act(&state, caller, target, SubleaseAction::End, Some(ending))
}

/// A sub-lease's history
///
/// Every transition, oldest first, with its actor, organisation, time and comment.
#[utoipa::path(
    tag = "subleases",
    operation_id = "list_sublease_history",
    params(("id" = Uuid, Path, description = "The sub-lease's id")),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "The transitions", body = PageOf<SubleaseTransition>))
)]
#[get("/subleases/{id}/history")]
pub async fn sublease_history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHousing)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let page =
        cases::history::<SubleaseRow, SubleaseTransition>(&mut conn, org, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Record rent arrears
///
/// The landlord or the main tenant records arrears on an active sub-lease; the other party
/// is told through the feed (`sublease.arrears_recorded`). This is where eviction
/// prevention starts: a referral to a prevention measure can follow.
#[utoipa::path(
    tag = "subleases",
    operation_id = "create_rent_arrears",
    request_body = NewArrears,
    params(
        ("id" = Uuid, Path, description = "The sub-lease's id"),
        IdempotencyHeader,
    ),
    security(("oauth2" = ["housing:write"])),
    responses(
        (status = 201, description = "Recorded", body = RentArrears),
        (status = 409, description = "The sub-lease is not active", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/subleases/{id}/arrears")]
pub async fn create_arrears(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    creation: Creation<ValidJson<NewArrears>>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    caller.partner_organisation()?;
    let id = id.into_inner();
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, new, _| {
                let arrears: RentArrears = service::record_arrears(conn, &caller, id, &new).await?;
                Ok(StoredResponse::json(StatusCode::CREATED, &arrears))
            },
        )
        .await
}

/// A sub-lease's rent arrears
#[utoipa::path(
    tag = "subleases",
    operation_id = "list_rent_arrears",
    params(("id" = Uuid, Path, description = "The sub-lease's id"), PageParams),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "A page of arrears, oldest first", body = PageOf<RentArrears>))
)]
#[get("/subleases/{id}/arrears")]
pub async fn list_arrears(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    page: Query<PageParams>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHousing)?;
    caller.partner_organisation()?;
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let arrears = service::arrears(&mut conn, &caller, id.into_inner(), page).await?;
    Ok(HttpResponse::Ok().json(arrears))
}
