//! `/v1/units/{id}/proposals` and `/v1/proposals`: an association proposes a household it
//! follows for a unit it sees; the landlord accepts (the unit is `reserved`) or declines
//! with a coded reason; the association may withdraw it. Parse, authorise, call
//! [`crate::units::service::proposals`], present.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use uuid::Uuid;

use crate::action_endpoint;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db::{self, Connection};
use crate::error::ApiResult;
use crate::http::body::ParsedJson;
use crate::http::extractors::ListQuery;
use crate::http::idempotency::IdempotencyHeader;
use crate::http::idempotency::{ActionTarget, Creation, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::referrals::model::Withdrawal;
use crate::state::AppState;
use crate::units::model::{NewProposal, Proposal, ProposalDecline, ProposalFilters};
use crate::units::service::proposals::{self as service, Answer};

fn proposal_response(status: StatusCode, p: &Proposal) -> StoredResponse {
    StoredResponse::versioned(status, p, p.version)
}

/// Propose a household for a unit
///
/// An association proposes a household it follows for an `available` unit that an active
/// agreement of its makes available. The household's consent to sharing must be in force:
/// the landlord will see its name, composition and resources. The landlord is told through
/// the feed (`proposal.submitted`).
#[utoipa::path(
    tag = "units",
    operation_id = "create_proposal",
    request_body = NewProposal,
    params(
        ("id" = Uuid, Path, description = "The unit's id"),
        IdempotencyHeader,
    ),
    security(("oauth2" = ["housing:write"])),
    responses(
        (status = 201, description = "Proposed", body = Proposal,
         headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new proposal"))),
        (status = 409, description = "The unit is not available, or the household is already proposed for it (`existing_id`)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/units/{id}/proposals")]
pub async fn create_proposal(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    creation: Creation<ParsedJson<NewProposal>>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    caller.partner_organisation()?;
    service::check_association(&caller)?;
    let unit_id = id.into_inner();
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, new, field_errors| {
                let view = service::create(conn, &caller, unit_id, new, field_errors).await?;
                let location = format!("/v1/proposals/{}", view.id);
                Ok(proposal_response(StatusCode::CREATED, &view).header("location", location))
            },
        )
        .await
}

/// Get a proposal
#[utoipa::path(
    tag = "units",
    operation_id = "get_proposal",
    params(("id" = Uuid, Path, description = "The proposal's id")),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "The proposal", body = Proposal, headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/proposals/{id}")]
pub async fn get_proposal(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHousing)?;
    caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let view = service::get(&mut conn, &caller, id.into_inner()).await?;
    Ok(proposal_response(StatusCode::OK, &view).into_response(false))
}

/// List proposals
///
/// The proposals your organisation made (an association) or received (a landlord), by id.
#[utoipa::path(
    tag = "units",
    operation_id = "list_proposals",
    params(ProposalFilters, PageParams),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "A page of proposals", body = PageOf<Proposal>))
)]
#[get("/proposals")]
pub async fn list_proposals(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<ProposalFilters>,
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
    answer: Answer,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    caller.partner_organisation()?;
    target
        .run(
            state,
            &caller.clone(),
            async move |conn: &mut Connection, id: Uuid, if_match| {
                let view = service::act(conn, &caller, id, &if_match, answer).await?;
                Ok(proposal_response(StatusCode::OK, &view))
            },
        )
        .await
}

action_endpoint! {
    /// Accept a proposal
    ///
    /// The landlord keeps the unit for the household: the unit becomes `reserved` and the
    /// unit's other open proposals are declined (`unit_no_longer_available`). 409 when the
    /// proposal was answered or withdrawn, or the unit is no longer available.
    accept_proposal: "/proposals/{id}/accept", tag "units", scope "housing:write",
    id "The proposal's id", returns Proposal,
    |state, caller, target| act(&state, caller, target, Answer::Accept)
}

action_endpoint! {
    /// Decline a proposal
    ///
    /// The landlord says no, with a coded reason (`other` needs a comment).
    decline_proposal: "/proposals/{id}/decline", tag "units", scope "housing:write",
    id "The proposal's id", returns Proposal, body ProposalDecline,
    |state, caller, target, decline| act(&state, caller, target, Answer::Decline(decline))
}

action_endpoint! {
    /// Withdraw a proposal
    ///
    /// The association takes the household back, with its reason: before the landlord answers,
    /// or after an acceptance as long as the unit has not been sub-let to the household (once
    /// it is, the proposal cannot be withdrawn, 409: end the sub-lease instead). A unit kept for the household is free again
    /// (`available`, or `unavailable` when its energy class may no longer be let). The landlord
    /// is told through the feed (`proposal.withdrawn`).
    withdraw_proposal: "/proposals/{id}/withdraw", tag "units", scope "housing:write",
    id "The proposal's id", returns Proposal, body Withdrawal,
    |state, caller, target, withdrawal| act(&state, caller, target, Answer::Withdraw(withdrawal))
}
