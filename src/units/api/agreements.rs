//! `/v1/agreements`: a landlord proposes, the association accepts or declines, either ends
//! it; the landlord attaches units up to the number it covers. Parse, authorise, call
//! [`crate::units::service::agreements`], present.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use uuid::Uuid;

use crate::action_endpoint;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db::{self, Connection};
use crate::error::ApiResult;
use crate::http::body::{ParsedJson, ValidJson};
use crate::http::extractors::ListQuery;
use crate::http::idempotency::IdempotencyHeader;
use crate::http::idempotency::{ActionTarget, Creation, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::state::AppState;
use crate::units::model::{
    Agreement, AgreementAction, AgreementFilters, Attachment, Closing, NewAgreement,
};
use crate::units::service::agreements as service;

fn agreement_response(status: StatusCode, a: &Agreement) -> StoredResponse {
    StoredResponse::versioned(status, a, a.version)
}

/// Propose an agreement
///
/// A landlord offers an association a number of units under an agreement (*convention*);
/// the units can be named now or attached later as they free up. The association is told
/// through the feed (`agreement.proposed`) and accepts or declines.
#[utoipa::path(
    tag = "agreements",
    operation_id = "create_agreement",
    request_body = NewAgreement,
    params(IdempotencyHeader),
    security(("oauth2" = ["housing:write"])),
    responses((status = 201, description = "Proposed", body = Agreement,
               headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new agreement"))))
)]
#[post("/agreements")]
pub async fn create_agreement(
    state: web::Data<AppState>,
    caller: Caller,
    creation: Creation<ParsedJson<NewAgreement>>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    caller.partner_organisation()?;
    service::check_landlord(&caller)?;
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, new, field_errors| {
                let view = service::create(conn, &caller, new, field_errors).await?;
                let location = format!("/v1/agreements/{}", view.id);
                Ok(agreement_response(StatusCode::CREATED, &view).header("location", location))
            },
        )
        .await
}

/// Get an agreement
#[utoipa::path(
    tag = "agreements",
    operation_id = "get_agreement",
    params(("id" = Uuid, Path, description = "The agreement's id")),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "The agreement", body = Agreement, headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/agreements/{id}")]
pub async fn get_agreement(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHousing)?;
    caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let view = service::get(&mut conn, &caller, id.into_inner()).await?;
    Ok(agreement_response(StatusCode::OK, &view).into_response(false))
}

/// List agreements
///
/// The agreements your organisation is party to, by id.
#[utoipa::path(
    tag = "agreements",
    operation_id = "list_agreements",
    params(AgreementFilters, PageParams),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "A page of agreements", body = PageOf<Agreement>))
)]
#[get("/agreements")]
pub async fn list_agreements(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<AgreementFilters>,
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
    action: AgreementAction,
    comment: Option<String>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    caller.partner_organisation()?;
    target
        .run(
            state,
            &caller.clone(),
            async move |conn: &mut Connection, id: Uuid, if_match| {
                let view = service::act(conn, &caller, id, &if_match, action, comment).await?;
                Ok(agreement_response(StatusCode::OK, &view))
            },
        )
        .await
}

action_endpoint! {
    /// Accept an agreement
    ///
    /// The association accepts a proposed agreement: it becomes `active`, and the association
    /// sees the units attached to it.
    accept_agreement: "/agreements/{id}/accept", tag "agreements", scope "housing:write",
    id "The agreement's id", returns Agreement,
    |state, caller, target| act(&state, caller, target, AgreementAction::Accept, None)
}

action_endpoint! {
    /// Decline an agreement
    ///
    /// The association declines a proposed agreement.
    decline_agreement: "/agreements/{id}/decline", tag "agreements", scope "housing:write",
    id "The agreement's id", returns Agreement, optional body Closing,
    |state, caller, target, closing| {
        act(&state, caller, target, AgreementAction::Decline, closing.comment)
    }
}

action_endpoint! {
    /// Terminate an agreement
    ///
    /// Either party ends an active agreement (the landlord may also withdraw one not yet
    /// answered). Its units leave it: the association no longer sees them, except those it
    /// sub-lets, and its open proposals for them are declined (`unit_no_longer_available`).
    /// Sub-leases in progress go on.
    terminate_agreement: "/agreements/{id}/terminate", tag "agreements", scope "housing:write",
    id "The agreement's id", returns Agreement, optional body Closing,
    |state, caller, target, closing| {
        act(&state, caller, target, AgreementAction::Terminate, closing.comment)
    }
}

/// Attach units to an agreement
///
/// The agreement's landlord names units it holds, as they free up; the association sees
/// them from then on and is told through the feed (`agreement.units_attached`). The
/// agreement must be `active`, and never covers more units than `units_covered`: a request
/// that would go beyond is refused whole (409, with `units_covered` and `units_attached`).
#[utoipa::path(
    tag = "agreements",
    operation_id = "attach_agreement_units",
    request_body = Attachment,
    params(
        ("id" = Uuid, Path, description = "The agreement's id"),
        IdempotencyHeader,
    ),
    security(("oauth2" = ["housing:write"])),
    responses(
        (status = 200, description = "Attached: the agreement with its new count", body = Agreement),
        (status = 409, description = "The agreement is not active, or the units would exceed what it covers", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/agreements/{id}/units")]
pub async fn attach_units(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    creation: Creation<ValidJson<Attachment>>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    caller.partner_organisation()?;
    let id = id.into_inner();
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, attachment, _| {
                let view = service::attach(conn, &caller, id, &attachment).await?;
                Ok(StoredResponse::json(StatusCode::OK, &view))
            },
        )
        .await
}
