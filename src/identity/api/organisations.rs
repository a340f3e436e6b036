//! `/v1/organisations`: the directory of partners, created by a platform admin.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpResponse};
use uuid::Uuid;

use super::super::model::Organisation;
use super::super::requests::{NewOrganisation, OrganisationFilters, OrganisationPatch};
use super::super::{queries, rules, service};
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db::{self, Connection};
use crate::error::{ApiError, ApiResult};
use crate::http::body::ValidJson;
use crate::http::concurrency::{IfMatch, IfMatchHeader};
use crate::http::extractors::ListQuery;
use crate::http::idempotency::{Creation, IdempotencyHeader, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::state::AppState;

pub(crate) fn organisation_response(status: StatusCode, org: &Organisation) -> StoredResponse {
    StoredResponse::versioned(status, org, org.version)
}

/// Create an organisation
///
/// Registers a partner organisation (platform admins only). Its first admin account is
/// then created with `POST /v1/organisations/{id}/accounts`. A SIRET can be registered once.
#[utoipa::path(
    tag = "organisations",
    operation_id = "create_organisation",
    request_body = NewOrganisation,
    params(IdempotencyHeader),
    security(("oauth2" = ["accounts:write"])),
    responses(
        (status = 201, description = "Created", body = Organisation,
         headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new organisation"))),
        (status = 409, description = "An organisation with this SIRET exists, or the key is in use", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organisations")]
pub async fn create_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    creation: Creation<ValidJson<NewOrganisation>>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::CreateOrganisation)?;
    let new = &creation.body.0;
    let errors = rules::commission_errors(new.kind, &new.commissions);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, new, _| {
                let org = service::create_organisation(conn, &caller, new).await?;
                let location = format!("/v1/organisations/{}", org.id);
                Ok(organisation_response(StatusCode::CREATED, &org).header("location", location))
            },
        )
        .await
}

/// List organisations
///
/// The directory of partner organisations, visible to every partner (a referral needs an
/// addressee). Ordered by id; filter by kind and département.
#[utoipa::path(
    tag = "organisations",
    operation_id = "list_organisations",
    params(OrganisationFilters, PageParams),
    security(("oauth2" = ["organisations:read"])),
    responses((status = 200, description = "A page of organisations", body = PageOf<Organisation>))
)]
#[get("/organisations")]
pub async fn list_organisations(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<OrganisationFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadOrganisations)?;
    let page = page.page()?;
    if let Some(code) = &filters.department_code {
        if !rules::department_code_is_valid(code) {
            return Err(ApiError::bad_request(
                "department_code",
                "department_code",
                "département code must be 01 to 95, 2A, 2B or 971 to 978",
            ));
        }
    }
    let mut conn = db::conn(&state.pool).await?;
    let rows = queries::list_organisations(
        &mut conn,
        page,
        filters.kind,
        filters.department_code.as_deref(),
    )
    .await?;
    let rows: Vec<Organisation> = rows.into_iter().map(Organisation::from).collect();
    Ok(HttpResponse::Ok().json(PageOf::from_rows(rows, page, |o| o.id)))
}

/// Get an organisation
#[utoipa::path(
    tag = "organisations",
    operation_id = "get_organisation",
    params(("id" = Uuid, Path, description = "The organisation's id")),
    security(("oauth2" = ["organisations:read"])),
    responses((status = 200, description = "The organisation", body = Organisation,
               headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/organisations/{id}")]
pub async fn get_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadOrganisations)?;
    let mut conn = db::conn(&state.pool).await?;
    let org = Organisation::from(queries::find_organisation(&mut conn, *id).await?);
    Ok(organisation_response(StatusCode::OK, &org).into_response(false))
}

/// Update an organisation
///
/// Changes an organisation's name, département or contact email (its admins or a platform
/// admin), or the commissions it is the secretariat of (a platform admin only). Kind and
/// SIRET are fixed. Requires `If-Match` with the current `ETag`.
#[utoipa::path(
    tag = "organisations",
    operation_id = "update_organisation",
    request_body = OrganisationPatch,
    params(
        ("id" = Uuid, Path, description = "The organisation's id"),
        IfMatchHeader,
    ),
    security(("oauth2" = ["accounts:write"])),
    responses(
        (status = 200, description = "Updated", body = Organisation, headers(("ETag" = String, description = "The new version"))),
    )
)]
#[patch("/organisations/{id}")]
pub async fn update_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<OrganisationPatch>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let mut conn = db::conn(&state.pool).await?;
    // Existence first (404 for nobody's organisation), then the right to change it.
    queries::find_organisation(&mut conn, id).await?;
    authorize(&caller, Action::UpdateOrganisation { organisation: id })?;
    let patch = body.0;
    if patch.commissions.is_some() {
        authorize(&caller, Action::DesignateCommissions)?;
    }
    let response = db::transaction(&mut conn, async move |conn: &mut Connection| {
        let org = service::update_organisation(conn, &caller, id, &if_match, patch).await?;
        Ok::<_, ApiError>(organisation_response(StatusCode::OK, &org))
    })
    .await?;
    Ok(response.into_response(false))
}
