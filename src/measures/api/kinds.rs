//! `/v1/measure-kinds`: the measure catalogue (see [`super::super::service::kinds`]).

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpResponse};

use super::super::model::{MeasureKind, MeasureKindPatch, NewMeasureKind};
use super::super::service::kinds;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db::{self, Connection};
use crate::error::{ApiError, ApiResult};
use crate::http::body::{ParsedJson, ValidJson};
use crate::http::concurrency::{IfMatch, IfMatchHeader};
use crate::http::idempotency::{Creation, IdempotencyHeader, StoredResponse};
use crate::http::pagination::PageOf;
use crate::state::AppState;

fn kind_response(status: StatusCode, k: &MeasureKind) -> StoredResponse {
    StoredResponse::versioned(status, k, k.version)
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
    let items = kinds::list(&mut conn, &caller).await?;
    Ok(HttpResponse::Ok().json(PageOf {
        items,
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
    let kind = kinds::get(&mut conn, &code.into_inner()).await?;
    Ok(kind_response(StatusCode::OK, &kind).into_response(false))
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
    creation: Creation<ParsedJson<NewMeasureKind>>,
) -> ApiResult<HttpResponse> {
    let admin_department = {
        let mut conn = db::conn(&state.pool).await?;
        kinds::caller_department(&mut conn, &caller).await?
    };
    authorize(
        &caller,
        Action::ManageMeasureKind {
            department_code: creation.body.0.department_code.clone(),
            admin_department,
        },
    )?;
    creation
        .run(
            &state,
            &caller,
            async move |conn: &mut Connection, new, field_errors| {
                let kind = kinds::create(conn, new, field_errors).await?;
                let location = format!("/v1/measure-kinds/{}", kind.code);
                Ok(kind_response(StatusCode::CREATED, &kind).header("location", location))
            },
        )
        .await
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
    let admin_department = kinds::caller_department(&mut conn, &caller).await?;
    let p = body.0;
    let response = db::transaction(&mut conn, async move |conn: &mut Connection| {
        let kind = kinds::update(conn, &caller, admin_department, &code, &if_match, p).await?;
        Ok::<_, ApiError>(kind_response(StatusCode::OK, &kind))
    })
    .await?;
    Ok(response.into_response(false))
}
