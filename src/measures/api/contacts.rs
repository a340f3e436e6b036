//! `/v1/measures/{id}/contacts` and `/v1/contacts`: the operator's log of its contacts with
//! the household. A repeated contact is refused unless it says it is another; one logged
//! by mistake is corrected or removed with a reason, kept in its history, and the measure's
//! rhythm is computed again.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use uuid::Uuid;

use super::super::model::*;
use super::super::service::contacts::{self, ContactChange};
use crate::action_endpoint;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::cases::CaseTransition;
use crate::db::{self, Connection};
use crate::error::ApiResult;
use crate::http::body::ParsedJson;
use crate::http::concurrency::IfMatch;
use crate::http::extractors::ListQuery;
use crate::http::idempotency::{ActionTarget, Creation, IdempotencyHeader, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::state::AppState;

fn contact_response(status: StatusCode, c: &Contact) -> StoredResponse {
    StoredResponse::versioned(status, c, c.version)
}

/// Log a contact
///
/// The operator logs a contact with the household, on a running measure (or on a closed
/// one, up to its end: a later day is a 422 `after_end`; a measure not started or cancelled
/// is a 409). A contact of a kind the rules count moves the next contact's due
/// date by the rhythm. The same contact twice (this measure, kind, day and worker) is a
/// 409 `duplicate` naming the first (`existing_id`), unless the body says `distinct`. The
/// funder sees the count; the note is the operator's alone (never in an event).
#[utoipa::path(
    tag = "measures",
    operation_id = "create_contact",
    request_body = NewContact,
    params(("id" = Uuid, Path, description = "The measure's id"), IdempotencyHeader),
    security(("oauth2" = ["measures:write"])),
    responses(
        (status = 201, description = "Logged", body = Contact,
         headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new contact"))),
        (status = 409, description = "The same contact is already logged (`existing_id`), or the measure's state forbids it",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/measures/{id}/contacts")]
pub async fn create_contact(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    creation: Creation<ParsedJson<NewContact>>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    caller.partner_organisation()?;
    let id = id.into_inner();
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, new, field_errors| {
                let contact = contacts::create(conn, &caller, id, new, field_errors).await?;
                let location = format!("/v1/contacts/{}", contact.id);
                Ok(contact_response(StatusCode::CREATED, &contact).header("location", location))
            },
        )
        .await
}

/// A measure's contacts
///
/// The operator's log, by id (oldest first), paged; the contacts removed only with
/// `include_removed=true`.
#[utoipa::path(
    tag = "measures",
    operation_id = "list_contacts",
    params(("id" = Uuid, Path, description = "The measure's id"), ContactFilters, PageParams),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "A page of contacts", body = PageOf<Contact>))
)]
#[get("/measures/{id}/contacts")]
pub async fn list_contacts(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    query: ListQuery<ContactFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadMeasures)?;
    caller.partner_organisation()?;
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let with_removed = filters.include_removed == Some(true);
    let page = contacts::list(&mut conn, &caller, id.into_inner(), with_removed, page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Get a contact
///
/// The operator's, removed or not.
#[utoipa::path(
    tag = "measures",
    operation_id = "get_contact",
    params(("id" = Uuid, Path, description = "The contact's id")),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "The contact", body = Contact,
               headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/contacts/{id}")]
pub async fn get_contact(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadMeasures)?;
    let mut conn = db::conn(&state.pool).await?;
    let contact = contacts::get(&mut conn, &caller, id.into_inner()).await?;
    Ok(contact_response(StatusCode::OK, &contact).into_response(false))
}

/// A contact's history
///
/// Its record, corrections (each with its reason and, in `details`, the values it
/// replaced) and removal, oldest first.
#[utoipa::path(
    tag = "measures",
    operation_id = "list_contact_history",
    params(("id" = Uuid, Path, description = "The contact's id")),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "The steps", body = PageOf<CaseTransition>))
)]
#[get("/contacts/{id}/history")]
pub async fn contact_history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadMeasures)?;
    let mut conn = db::conn(&state.pool).await?;
    let page = contacts::history(&mut conn, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn change(
    state: &AppState,
    caller: Caller,
    target: ActionTarget,
    what: ContactChange,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    caller.partner_organisation()?;
    target
        .run(
            state,
            &caller.clone(),
            async move |conn: &mut Connection, id: Uuid, if_match: IfMatch| {
                let contact = contacts::change(conn, &caller, id, &if_match, what).await?;
                Ok(contact_response(StatusCode::OK, &contact))
            },
        )
        .await
}

action_endpoint! {
    /// Correct a contact
    ///
    /// The operator corrects a contact logged with a mistake (its day, kind, length, worker
    /// or note), saying why: the reason and the values it replaced are kept in its history,
    /// and the measure's rhythm is computed again (`measure.contact_corrected`). A removed
    /// contact is not corrected (409).
    correct_contact: "/contacts/{id}/correct", tag "measures", scope "measures:write",
    id "The contact's id", returns Contact, body ContactCorrection,
    |state, caller, target, correction| change(&state, caller, target, ContactChange::Correct(correction))
}

action_endpoint! {
    /// Remove a contact
    ///
    /// The operator removes a contact logged by mistake, saying why: it stays in the log as
    /// removed (`include_removed=true`), no longer counts, and the measure's rhythm and
    /// count are computed again (`measure.contact_removed`).
    remove_contact: "/contacts/{id}/remove", tag "measures", scope "measures:write",
    id "The contact's id", returns Contact, body ContactRemoval,
    |state, caller, target, removal| change(&state, caller, target, ContactChange::Remove(removal))
}
