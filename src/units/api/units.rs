//! `/v1/units`: the housing units landlords hold and make available. Parse, authorise,
//! call [`crate::units::service::units`], present.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpResponse};
use uuid::Uuid;

use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db::{self, Connection};
use crate::error::ApiResult;
use crate::http::body::{ParsedJson, ValidJson};
use crate::http::concurrency::{IfMatch, IfMatchHeader};
use crate::http::extractors::ListQuery;
use crate::http::idempotency::IdempotencyHeader;
use crate::http::idempotency::{Creation, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::state::AppState;
use crate::units::model::{NewUnit, Unit, UnitFilters, UnitPatch};
use crate::units::service::units as service;

fn unit_response(status: StatusCode, unit: &Unit) -> StoredResponse {
    StoredResponse::versioned(status, unit, unit.version)
}

/// Register a unit
///
/// A landlord registers its social units (`owner_kind` `social_landlord`); an association
/// registers a private owner's unit it manages under a mandate (`private_owner`). A unit
/// whose energy class may not be let on a lease starting today cannot be `available`
/// (G from 2025-01-01, F from 2028-01-01, E from 2034-01-01).
#[utoipa::path(
    tag = "units",
    operation_id = "create_unit",
    request_body = NewUnit,
    params(IdempotencyHeader),
    security(("oauth2" = ["housing:write"])),
    responses((status = 201, description = "Registered", body = Unit,
               headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new unit"))))
)]
#[post("/units")]
pub async fn create_unit(
    state: web::Data<AppState>,
    caller: Caller,
    creation: Creation<ParsedJson<NewUnit>>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    caller.partner_organisation()?;
    service::check_new(&caller, &creation.body.0, creation.body.field_errors())?;
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, new, _| {
                let view = service::create(conn, &caller, &new).await?;
                let location = format!("/v1/units/{}", view.id);
                Ok(unit_response(StatusCode::CREATED, &view).header("location", location))
            },
        )
        .await
}

/// Get a unit
///
/// A unit your organisation holds, sees through an active agreement, or sub-lets.
#[utoipa::path(
    tag = "units",
    operation_id = "get_unit",
    params(("id" = Uuid, Path, description = "The unit's id")),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "The unit", body = Unit, headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/units/{id}")]
pub async fn get_unit(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHousing)?;
    caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let view = service::get(&mut conn, &caller, id.into_inner()).await?;
    Ok(unit_response(StatusCode::OK, &view).into_response(false))
}

/// Update a unit
///
/// Its holder changes what it sends. `status` may be set to `available` or `unavailable`,
/// except on a unit `occupied` or `reserved` for a planned sub-lease: those follow the
/// sub-leases (409). A reservation from an accepted proposal alone may be lifted.
/// Requires `If-Match`.
#[utoipa::path(
    tag = "units",
    operation_id = "update_unit",
    request_body = UnitPatch,
    params(
        ("id" = Uuid, Path, description = "The unit's id"),
        IfMatchHeader,
    ),
    security(("oauth2" = ["housing:write"])),
    responses(
        (status = 200, description = "Updated", body = Unit, headers(("ETag" = String, description = "The new version"))),
        (status = 409, description = "The unit is occupied or reserved for a planned sub-lease: its status follows its sub-leases", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/units/{id}")]
pub async fn update_unit(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UnitPatch>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    caller.partner_organisation()?;
    let patch = body.0;
    let id = id.into_inner();
    let mut conn = db::conn(&state.pool).await?;
    let view = db::transaction(&mut conn, async |conn: &mut Connection| {
        service::update(conn, &caller, id, &if_match, &patch).await
    })
    .await?;
    Ok(unit_response(StatusCode::OK, &view).into_response(false))
}

/// Search units
///
/// The units your organisation sees (held, made available through an active agreement, or
/// sub-let), by id, with the filters given.
#[utoipa::path(
    tag = "units",
    operation_id = "list_units",
    params(UnitFilters, PageParams),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "A page of units", body = PageOf<Unit>))
)]
#[get("/units")]
pub async fn list_units(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<UnitFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadHousing)?;
    caller.partner_organisation()?;
    let page = page.page()?;
    service::check_filters(&filters)?;
    let mut conn = db::conn(&state.pool).await?;
    let page = service::list(&mut conn, &caller, &filters, page).await?;
    Ok(HttpResponse::Ok().json(page))
}
