//! `/v1/referrals`: parse, authorise, call [`super::service`], present. No statement here.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use uuid::Uuid;

use super::model::{
    Comment, Decline, NewComment, NewReferral, Referral, ReferralAction, ReferralFilters,
    ReferralRow, Transfer, Transition, Withdrawal,
};
use super::service::{self, Payload};
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

/// The stored response of a referral: versioned, carrying its special-category grounds (a
/// replay is a read, journalled again).
fn referral_response(status: StatusCode, r: &Referral) -> StoredResponse {
    StoredResponse::versioned(status, r, r.version).carrying(vec![(
        r.household_id,
        r.special_category_grounds.clone().unwrap_or_default(),
    )])
}

/// Send a referral
///
/// Asks an operator to take a household on for a measure. Sharing the household with
/// another organisation needs its consent in force (422 `consent_required` on
/// `household_id`), or the `mandate` of a commission your organisation is the secretariat
/// of (`Organisation.commissions`; 422 `not_your_commission` on `mandate.commission`
/// otherwise): being a department or a State service is no mandate. The sharing is
/// recorded for the DPO (`GET /v1/households/{id}/sharings`). Both parties are told
/// through the feed (`referral.submitted`).
#[utoipa::path(
    tag = "referrals",
    operation_id = "create_referral",
    request_body = NewReferral,
    params(IdempotencyHeader),
    security(("oauth2" = ["referrals:write"])),
    responses((status = 201, description = "Sent", body = Referral,
               headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new referral"))))
)]
#[post("/referrals")]
pub async fn create_referral(
    state: web::Data<AppState>,
    caller: Caller,
    creation: Creation<ParsedJson<NewReferral>>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteReferrals)?;
    caller.partner_organisation()?;
    // Field rules and database rules are reported together.
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, new, field_errors| {
                let view = service::create(conn, &caller, new, field_errors).await?;
                let location = format!("/v1/referrals/{}", view.id);
                Ok(referral_response(StatusCode::CREATED, &view).header("location", location))
            },
        )
        .await
}

/// Get a referral
#[utoipa::path(
    tag = "referrals",
    operation_id = "get_referral",
    params(("id" = Uuid, Path, description = "The referral's id")),
    security(("oauth2" = ["referrals:read"])),
    responses((status = 200, description = "The referral", body = Referral, headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/referrals/{id}")]
pub async fn get_referral(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadReferrals)?;
    let mut conn = db::conn(&state.pool).await?;
    let view = service::get(&mut conn, &caller, id.into_inner()).await?;
    Ok(referral_response(StatusCode::OK, &view).into_response(false))
}

/// List referrals
///
/// The referrals your organisation sent (`box=sent`) or received (`box=received`), by id;
/// each says when its answer is due and whether it is overdue.
#[utoipa::path(
    tag = "referrals",
    operation_id = "list_referrals",
    params(ReferralFilters, PageParams),
    security(("oauth2" = ["referrals:read"])),
    responses(
        (status = 200, description = "A page of referrals", body = PageOf<Referral>),
        (status = 422, description = "`box=received` for an organisation that is not an association (`not_your_side`), or a measure kind the catalogue never held",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/referrals")]
pub async fn list_referrals(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<ReferralFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadReferrals)?;
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
    action: ReferralAction,
    payload: Payload,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteReferrals)?;
    caller.partner_organisation()?;
    target
        .run(
            state,
            &caller.clone(),
            async move |conn: &mut Connection, id: Uuid, if_match| {
                let view = service::act(conn, &caller, id, &if_match, action, payload).await?;
                Ok(referral_response(StatusCode::OK, &view))
            },
        )
        .await
}

action_endpoint! {
    /// Acknowledge a referral
    ///
    /// The addressee has seen the referral and is looking into it.
    acknowledge_referral: "/referrals/{id}/acknowledge", tag "referrals", scope "referrals:write",
    id "The referral's id", returns Referral,
    |state, caller, target| act(&state, caller, target, ReferralAction::Acknowledge, Payload::None)
}

action_endpoint! {
    /// Accept a referral
    ///
    /// The addressee takes the household on. The household's other open referrals for the same
    /// measure kind become `obsolete`. A measure opens in the same transaction (`GET
    /// /v1/measures?referral_id=`): `proposed` when its kind needs the funder's decision, else
    /// `active` from the desired start (today if that is past). The referrer becomes its
    /// funder when the referrer's organisation kind is one of the measure kind's
    /// `funder_kinds` and it covers the household's territory (else the operator names the
    /// funder: `PATCH /v1/measures/{id}`), and is told through the feed (`measure.proposed` or
    /// `measure.started`), up to its outcome (`measure.closed`). 409 (`existing_id`) when the
    /// household already has a measure of the kind running with this operator (decline it as
    /// `duplicate`).
    accept_referral: "/referrals/{id}/accept", tag "referrals", scope "referrals:write",
    id "The referral's id", returns Referral,
    |state, caller, target| act(&state, caller, target, ReferralAction::Accept, Payload::None)
}

action_endpoint! {
    /// Decline a referral
    ///
    /// The addressee does not take the household on, with a coded reason (`other` needs a
    /// comment); the referrer always sees it.
    decline_referral: "/referrals/{id}/decline", tag "referrals", scope "referrals:write",
    id "The referral's id", returns Referral, body Decline,
    |state, caller, target, payload| act(&state, caller, target, ReferralAction::Decline, Payload::Decline(payload))
}

action_endpoint! {
    /// Withdraw a referral
    ///
    /// The referrer takes back an open referral, saying why.
    withdraw_referral: "/referrals/{id}/withdraw", tag "referrals", scope "referrals:write",
    id "The referral's id", returns Referral, body Withdrawal,
    |state, caller, target, payload| act(&state, caller, target, ReferralAction::Withdraw, Payload::Withdraw(payload))
}

action_endpoint! {
    /// Transfer a referral
    ///
    /// The addressee forwards an open referral to another operator: this one becomes
    /// `transferred` and a new, linked referral (same referrer) is submitted to that operator.
    transfer_referral: "/referrals/{id}/transfer", tag "referrals", scope "referrals:write",
    id "The referral's id", returns Referral, body Transfer,
    |state, caller, target, payload| act(&state, caller, target, ReferralAction::Transfer, Payload::Transfer(payload))
}

/// A referral's history
///
/// Every transition, oldest first, with its actor, organisation, time and comment.
#[utoipa::path(
    tag = "referrals",
    operation_id = "list_referral_history",
    params(("id" = Uuid, Path, description = "The referral's id")),
    security(("oauth2" = ["referrals:read"])),
    responses((status = 200, description = "The transitions", body = PageOf<Transition>))
)]
#[get("/referrals/{id}/history")]
pub async fn referral_history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadReferrals)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let page = cases::history::<ReferralRow, Transition>(&mut conn, org, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Comment on a referral
///
/// Both parties see the comment; it reaches them through the feed (`referral.commented`).
#[utoipa::path(
    tag = "referrals",
    operation_id = "create_referral_comment",
    request_body = NewComment,
    params(
        ("id" = Uuid, Path, description = "The referral's id"),
        IdempotencyHeader,
    ),
    security(("oauth2" = ["referrals:write"])),
    responses((status = 201, description = "Added", body = Comment))
)]
#[post("/referrals/{id}/comments")]
pub async fn create_comment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    creation: Creation<ValidJson<NewComment>>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteReferrals)?;
    caller.partner_organisation()?;
    let id = id.into_inner();
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, new, _| {
                let comment = service::comment(conn, &caller, id, &new).await?;
                Ok(StoredResponse::json(StatusCode::CREATED, &comment))
            },
        )
        .await
}

/// A referral's comments
#[utoipa::path(
    tag = "referrals",
    operation_id = "list_referral_comments",
    params(("id" = Uuid, Path, description = "The referral's id"), PageParams),
    security(("oauth2" = ["referrals:read"])),
    responses((status = 200, description = "A page of comments, oldest first", body = PageOf<Comment>))
)]
#[get("/referrals/{id}/comments")]
pub async fn list_comments(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    page: Query<PageParams>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadReferrals)?;
    caller.partner_organisation()?;
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let comments = service::comments(&mut conn, &caller, id.into_inner(), page).await?;
    Ok(HttpResponse::Ok().json(comments))
}
