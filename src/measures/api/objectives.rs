//! `/v1/measures/{id}/objectives` and `/v1/objectives`: a measure's objectives with the
//! household (see [`super::super::service::objectives`]).

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpResponse};
use uuid::Uuid;

use super::super::model::{NewObjective, Objective, ObjectivePatch};
use super::super::service::objectives;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db::{self, Connection};
use crate::error::{ApiError, ApiResult};
use crate::http::body::ValidJson;
use crate::http::concurrency::{IfMatch, IfMatchHeader};
use crate::http::idempotency::{Creation, IdempotencyHeader, StoredResponse};
use crate::http::pagination::PageOf;
use crate::state::AppState;

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
    id: web::Path<Uuid>,
    creation: Creation<ValidJson<NewObjective>>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    caller.partner_organisation()?;
    let id = id.into_inner();
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, new, _| {
                let view = objectives::create(conn, &caller, id, new).await?;
                let location = format!("/v1/objectives/{}", view.id);
                Ok(objective_response(StatusCode::CREATED, &view).header("location", location))
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
    let mut conn = db::conn(&state.pool).await?;
    let page = objectives::list(&mut conn, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
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
    let mut conn = db::conn(&state.pool).await?;
    let view = objectives::get(&mut conn, &caller, id.into_inner()).await?;
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
    caller.partner_organisation()?;
    let id = id.into_inner();
    let p = body.0;
    let mut conn = db::conn(&state.pool).await?;
    let response = db::transaction(&mut conn, async move |conn: &mut Connection| {
        let view = objectives::update(conn, &caller, id, &if_match, p).await?;
        Ok::<_, ApiError>(objective_response(StatusCode::OK, &view))
    })
    .await?;
    Ok(response.into_response(false))
}
