//! `/v1/measures/{id}/renewals` and `/v1/renewals`: the operator asks for a measure's next
//! renewal, the decider (the measure's funder) grants or refuses it, the operator may
//! withdraw it while it waits.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use uuid::Uuid;

use super::super::model::*;
use super::super::service::renewals::{self, Decision};
use crate::action_endpoint;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db::{self, Connection};
use crate::error::ApiResult;
use crate::http::body::ActionBody;
use crate::http::concurrency::IfMatch;
use crate::http::extractors::ListQuery;
use crate::http::idempotency::{ActionTarget, Creation, IdempotencyHeader, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::state::AppState;

fn renewal_response(status: StatusCode, r: &Renewal) -> StoredResponse {
    StoredResponse::versioned(status, r, r.version)
}

/// Ask for a renewal
///
/// The operator asks the funder for the next renewal the measure's rules allow (its length
/// comes from the policy), in the renewal window: the last `renewal_window_months` months
/// (3 by default) before the planned end, that day included. One request at a time (409
/// with `existing_id`); outside the window, beyond the policy, or past the kind's maximum
/// length, 422 naming the rule (`measure.rules.renewal_window_months`,
/// `measure.rules.renewal_policy`, `measure.rules.max_total_months`); an exceptional
/// renewal needs a `justification`.
#[utoipa::path(
    tag = "measures",
    operation_id = "create_renewal",
    request_body = Option<NewRenewal>,
    params(("id" = Uuid, Path, description = "The measure's id"), IdempotencyHeader),
    security(("oauth2" = ["measures:write"])),
    responses((status = 201, description = "Asked", body = Renewal,
               headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new request"))))
)]
#[post("/measures/{id}/renewals")]
pub async fn create_renewal(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    creation: Creation<ActionBody<NewRenewal>>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    caller.partner_organisation()?;
    let id = id.into_inner();
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, new, _| {
                let view = renewals::create(conn, &caller, id, new).await?;
                let location = format!("/v1/renewals/{}", view.id);
                Ok(renewal_response(StatusCode::CREATED, &view).header("location", location))
            },
        )
        .await
}

/// A measure's renewals
///
/// For its operator and its funder, oldest first.
#[utoipa::path(
    tag = "measures",
    operation_id = "list_measure_renewals",
    params(("id" = Uuid, Path, description = "The measure's id")),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "The renewals", body = PageOf<Renewal>))
)]
#[get("/measures/{id}/renewals")]
pub async fn list_measure_renewals(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadMeasures)?;
    let mut conn = db::conn(&state.pool).await?;
    let page = renewals::of_measure(&mut conn, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// List renewals
///
/// The requests waiting for your organisation's decision (`as=decider&status=requested`;
/// `overdue=true`: waiting more than 10 days) and those it asked for (`as=operator`), by id.
/// A `measure_id` must be a measure your organisation operates or funds (422
/// `unknown_measure` for one it is no party to, 403 for one it refers or lets the home
/// of), and agree with `as` (422 `not_your_side`).
#[utoipa::path(
    tag = "measures",
    operation_id = "list_renewals",
    params(RenewalFilters, PageParams),
    security(("oauth2" = ["measures:read"])),
    responses(
        (status = 200, description = "A page of renewals", body = PageOf<Renewal>),
        (status = 403, description = "`measure_id` names a measure your organisation refers or lets the home of",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A side your organisation's kind never takes, `measure_id` naming no measure of yours, or disagreeing with `as` (`not_your_side`)",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/renewals")]
pub async fn list_renewals(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<RenewalFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadMeasures)?;
    caller.partner_organisation()?;
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let page = renewals::list(&mut conn, &caller, &filters, page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Get a renewal
#[utoipa::path(
    tag = "measures",
    operation_id = "get_renewal",
    params(("id" = Uuid, Path, description = "The renewal's id")),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "The renewal", body = Renewal,
               headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/renewals/{id}")]
pub async fn get_renewal(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadMeasures)?;
    let mut conn = db::conn(&state.pool).await?;
    let view = renewals::get(&mut conn, &caller, id.into_inner()).await?;
    Ok(renewal_response(StatusCode::OK, &view).into_response(false))
}

async fn decide(
    state: &AppState,
    caller: Caller,
    target: ActionTarget,
    action: RenewalAction,
    decision: Decision,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    caller.partner_organisation()?;
    target
        .run(
            state,
            &caller.clone(),
            async move |conn: &mut Connection, id: Uuid, if_match: IfMatch| {
                let view = renewals::act(conn, &caller, id, &if_match, action, decision).await?;
                Ok(renewal_response(StatusCode::OK, &view))
            },
        )
        .await
}

action_endpoint! {
    /// Grant a renewal
    ///
    /// The decider (the measure's funder) grants a waiting request, recording its
    /// commission's decision (`decided_on`, `decision_reference`, `comment`), and may grant
    /// fewer months than asked (`months`). The measure's planned end is counted again from
    /// its start, with the months granted (`measure.extended`): the renewal runs from the
    /// previous planned end (`starts_on`) to the new one (`ends_on`). 409 while the measure
    /// is not active (a suspended measure's end is not settled until it resumes).
    grant_renewal: "/renewals/{id}/grant", tag "measures", scope "measures:write",
    id "The renewal's id", returns Renewal, optional body RenewalGrant,
    |state, caller, target, grant| decide(&state, caller, target, RenewalAction::Grant, Decision {
        decided_on: grant.decided_on,
        reference: grant.decision_reference,
        comment: grant.comment,
        months: grant.months,
        refusal_reason: None,
    })
}

action_endpoint! {
    /// Refuse a renewal
    ///
    /// The decider refuses a waiting request, with a coded reason and an explanation the
    /// operator sees, and its commission's decision (`decided_on`, `decision_reference`).
    refuse_renewal: "/renewals/{id}/refuse", tag "measures", scope "measures:write",
    id "The renewal's id", returns Renewal, body RenewalRefusal,
    |state, caller, target, refusal| decide(&state, caller, target, RenewalAction::Refuse, Decision {
        decided_on: refusal.decided_on,
        reference: refusal.decision_reference,
        comment: Some(refusal.explanation),
        months: None,
        refusal_reason: Some(refusal.reason),
    })
}

action_endpoint! {
    /// Withdraw a renewal
    ///
    /// The operator takes back a request that waits for its decision (`renewal.withdrawn`);
    /// the measure may then ask again, in its renewal window.
    withdraw_renewal: "/renewals/{id}/withdraw", tag "measures", scope "measures:write",
    id "The renewal's id", returns Renewal, optional body RenewalWithdrawal,
    |state, caller, target, withdrawal| decide(&state, caller, target, RenewalAction::Withdraw, Decision {
        comment: withdrawal.comment,
        ..Decision::default()
    })
}
