//! `/v1/households`: parse, authorise, call [`super::service`], present. No statement here.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpResponse};
use uuid::Uuid;

use super::journal::JournalEntry;
use super::journey::Journey;
use super::model::{Household, HouseholdFilters, HouseholdPatch, NewConsent, NewHousehold};
use super::service;
use super::sharing::HouseholdSharing;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db::{self, Connection};
use crate::error::ApiResult;
use crate::http::body::ValidJson;
use crate::http::concurrency::{IfMatch, IfMatchHeader};
use crate::http::extractors::{ListQuery, Query};
use crate::http::idempotency::IdempotencyHeader;
use crate::http::idempotency::{Creation, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::state::AppState;

/// The stored response of a household: versioned, carrying its special-category grounds (a
/// replay is a read, journalled again).
fn household_response(status: StatusCode, h: &Household) -> StoredResponse {
    StoredResponse::versioned(status, h, h.version).carrying(vec![(
        h.id,
        h.special_category_grounds.clone().unwrap_or_default(),
    )])
}

/// A change in its own transaction, answered with the household.
async fn changed(
    state: &AppState,
    change: impl AsyncFnOnce(&mut Connection) -> Result<Household, crate::error::ApiError>,
) -> ApiResult<HttpResponse> {
    let mut conn = db::conn(&state.pool).await?;
    let view = db::transaction(&mut conn, change).await?;
    Ok(household_response(StatusCode::OK, &view).into_response(false))
}

/// Create a household
///
/// Registers a household your organisation follows. A household whose head has the same
/// last name, first names and birth date as one your organisation already sees (accents,
/// case and spaces ignored) is a duplicate: 409 with `existing_id`.
#[utoipa::path(
    tag = "households",
    operation_id = "create_household",
    request_body = NewHousehold,
    params(IdempotencyHeader),
    security(("oauth2" = ["households:write"])),
    responses(
        (status = 201, description = "Created", body = Household,
         headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new household"))),
        (status = 409, description = "A duplicate of a household you see, or the key is in use", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/households")]
pub async fn create_household(
    state: web::Data<AppState>,
    caller: Caller,
    creation: Creation<ValidJson<NewHousehold>>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHouseholds)?;
    caller.partner_organisation()?;
    let sends_special = !creation.body.0.special_category_grounds.is_empty();
    service::check_special_grounds(&caller, sends_special)?;
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, new, _| {
                let view = service::create(conn, &caller, new).await?;
                let location = format!("/v1/households/{}", view.id);
                Ok(household_response(StatusCode::CREATED, &view).header("location", location))
            },
        )
        .await
}

/// Get a household
///
/// The household as your organisation may see it. When the response carries
/// special-category grounds, the read is recorded in the household's journal.
#[utoipa::path(
    tag = "households",
    operation_id = "get_household",
    params(("id" = Uuid, Path, description = "The household's id")),
    security(("oauth2" = ["households:read"])),
    responses((status = 200, description = "The household", body = Household,
               headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/households/{id}")]
pub async fn get_household(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHouseholds)?;
    caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let view = service::get(&mut conn, &caller, id.into_inner()).await?;
    Ok(household_response(StatusCode::OK, &view).into_response(false))
}

/// List households
///
/// The households your organisation may see: those it created and those of a referral it
/// is party to. Filter by the head's name and birth date, or by change time to sync.
#[utoipa::path(
    tag = "households",
    operation_id = "list_households",
    params(HouseholdFilters, PageParams),
    security(("oauth2" = ["households:read"])),
    responses((status = 200, description = "A page of households", body = PageOf<Household>))
)]
#[get("/households")]
pub async fn list_households(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<HouseholdFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadHouseholds)?;
    caller.partner_organisation()?;
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let page = service::list(&mut conn, &caller, &filters, page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Update a household
///
/// Changes what you send (composition, resources, situation, grounds…). Requires
/// `If-Match`. The organisations party to its referrals are told through the feed.
#[utoipa::path(
    tag = "households",
    operation_id = "update_household",
    request_body = HouseholdPatch,
    params(
        ("id" = Uuid, Path, description = "The household's id"),
        IfMatchHeader,
    ),
    security(("oauth2" = ["households:write"])),
    responses((status = 200, description = "Updated", body = Household, headers(("ETag" = String, description = "The new version"))))
)]
#[patch("/households/{id}")]
pub async fn update_household(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<HouseholdPatch>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHouseholds)?;
    let patch = body.0;
    caller.partner_organisation()?;
    let id = id.into_inner();
    changed(&state, async |conn: &mut Connection| {
        service::update(conn, &caller, id, &if_match, patch).await
    })
    .await
}

/// Record the household's consent to sharing
///
/// Without a consent in force, the household is shown to no other organisation (a
/// referral, a transfer, a proposal, a sub-lease, a measure's funder), except by a
/// commission's secretariat under the commission's decision (`mandate`; see
/// `Organisation.commissions`). Requires `If-Match`.
#[utoipa::path(
    tag = "households",
    operation_id = "record_household_consent",
    request_body = NewConsent,
    params(
        ("id" = Uuid, Path, description = "The household's id"),
        IfMatchHeader,
    ),
    security(("oauth2" = ["households:write"])),
    responses((status = 200, description = "Recorded", body = Household, headers(("ETag" = String, description = "The new version"))))
)]
#[post("/households/{id}/consent")]
pub async fn record_consent(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<NewConsent>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHouseholds)?;
    let consent = body.0;
    caller.partner_organisation()?;
    let id = id.into_inner();
    changed(&state, async |conn: &mut Connection| {
        service::record_consent(conn, &caller, id, &if_match, consent).await
    })
    .await
}

/// Withdraw the household's consent
///
/// From now on the household cannot be shared anew on the strength of its consent.
/// Existing referrals stay. Requires `If-Match`.
#[utoipa::path(
    tag = "households",
    operation_id = "withdraw_household_consent",
    params(
        ("id" = Uuid, Path, description = "The household's id"),
        IfMatchHeader,
    ),
    security(("oauth2" = ["households:write"])),
    responses(
        (status = 200, description = "Withdrawn", body = Household, headers(("ETag" = String, description = "The new version"))),
        (status = 409, description = "No consent in force", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/households/{id}/consent/withdraw")]
pub async fn withdraw_consent(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    _nothing: crate::http::body::ActionBody,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHouseholds)?;
    caller.partner_organisation()?;
    let id = id.into_inner();
    changed(&state, async |conn: &mut Connection| {
        service::withdraw_consent(conn, &caller, id, &if_match).await
    })
    .await
}

/// Read a household's journal of special-category reads
///
/// Who received the household's special-category grounds, from which organisation, when
/// and through which request. For the admins of the organisation that created it.
#[utoipa::path(
    tag = "households",
    operation_id = "list_household_access_log",
    params(("id" = Uuid, Path, description = "The household's id"), PageParams),
    security(("oauth2" = ["households:read"])),
    responses((status = 200, description = "A page of the journal, oldest first", body = PageOf<JournalEntry>))
)]
#[get("/households/{id}/access-log")]
pub async fn household_access_log(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    page: Query<PageParams>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHouseholds)?;
    caller.partner_organisation()?;
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let log: PageOf<JournalEntry> =
        service::access_log(&mut conn, &caller, id.into_inner(), page).await?;
    Ok(HttpResponse::Ok().json(log))
}

/// Read a household's record of sharings
///
/// Every time the household became visible to another organisation: to whom, on whose
/// behalf, through which case (a referral, a transfer, a proposal, a sub-lease, a measure's
/// funder) and on which basis (its consent, or a commission's mandate with the decision's
/// commission, reference and date), oldest first. For the data protection officer: the
/// admins of the organisation that created the household see every sharing; the admins of
/// another organisation that sees it, the sharings it made or received.
#[utoipa::path(
    tag = "households",
    operation_id = "list_household_sharings",
    params(("id" = Uuid, Path, description = "The household's id")),
    security(("oauth2" = ["households:read"])),
    responses((status = 200, description = "The sharings, oldest first", body = PageOf<HouseholdSharing>))
)]
#[get("/households/{id}/sharings")]
pub async fn household_sharings(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHouseholds)?;
    caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let sharings: PageOf<HouseholdSharing> =
        service::sharings(&mut conn, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(sharings))
}

/// A household's journey
///
/// Every step of the household's path across organisations, oldest first: referrals and
/// their answers, measures and their renewals, proposals, sub-leases and their ends. The
/// steps of your organisation's cases come whole (without comments: each case's history
/// has them); another organisation's appear as their case type, action and date alone, or
/// not at all when even that would reveal special-category data (a referral carrying such
/// grounds, and the measure it opened; objectives); a social landlord sees its own cases'
/// steps only. `cases` says where each case stands now: a referrer sees where the
/// household is without asking anyone. For an organisation that sees the household or is
/// party to one of its cases; 404 otherwise. Nothing here is special-category data, so
/// the read is not journalled.
#[utoipa::path(
    tag = "households",
    operation_id = "household_journey",
    params(("id" = Uuid, Path, description = "The household's id")),
    security(("oauth2" = ["households:read"])),
    responses((status = 200, description = "The journey", body = Journey))
)]
#[get("/households/{id}/journey")]
pub async fn household_journey(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHouseholds)?;
    caller.partner_organisation()?;
    let id = id.into_inner();
    let mut conn = db::conn(&state.pool).await?;
    let journey = super::journey::journey(&mut conn, &caller, id).await?;
    Ok(HttpResponse::Ok().json(journey))
}
