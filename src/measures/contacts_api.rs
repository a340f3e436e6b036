//! `/v1/measures/{id}/contacts` and `/v1/contacts`: the operator's log of its contacts with
//! the household. A repeated contact is refused unless it says it is another; one logged
//! by mistake is corrected or removed with a reason, kept in its history, and the measure's
//! rhythm is computed again.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::contacts::{self, ContactCase, ContactEntry, Correction};
use super::handlers::{check_worker, not_now, operator_only};
use super::model::*;
use crate::action_endpoint;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::cases::{self, CaseTransition};
use crate::db;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::fields::validate_not_blank;
use crate::http::body::ParsedJson;
use crate::http::concurrency::IfMatch;
use crate::http::idempotency::{
    self, ActionTarget, IdempotencyHeader, IdempotencyKey, StoredResponse,
};
use crate::http::pagination::{PageOf, PageParams};
use crate::http::patch;
use crate::state::AppState;

/// A contact to log.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"occurred_on": "2027-01-14", "kind": "home_visit", "duration_minutes": 60,
    "note": "Budget reviewed together; the FSL file is ready"}))]
pub struct NewContact {
    /// Not in the future (`in_future`), not before the measure's start (`before_start`),
    /// not after a closed measure's end (`after_end`).
    #[validate(custom(function = "crate::calendar::validate_not_future"))]
    pub occurred_on: NaiveDate,
    pub kind: ContactKind,
    /// 1 to 720 minutes.
    #[validate(range(min = 1, max = 720))]
    #[schema(minimum = 1, maximum = 720)]
    pub duration_minutes: Option<i32>,
    /// An account of the operator; default: the measure's worker, else you.
    pub worker_account_id: Option<Uuid>,
    /// The operator's alone: never shown to another organisation, never in an event.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub note: Option<String>,
    /// `true`: another contact than the one already logged for this measure, kind, day and
    /// worker (two home visits on one day). Without it, such a contact is a 409 `duplicate`
    /// naming the one logged (`existing_id`): the same visit entered twice.
    #[serde(default)]
    pub distinct: bool,
}

/// A correction of a contact: the values it should have had (an absent field keeps its
/// value; `null` clears `duration_minutes` or `note`), and why.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"occurred_on": "2027-01-15", "reason": "Logged on the wrong day"}))]
pub struct ContactCorrection {
    /// Not in the future (`in_future`), not before the measure's start (`before_start`),
    /// not after a closed measure's end (`after_end`).
    #[validate(custom(function = "crate::calendar::validate_not_future"))]
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub occurred_on: Option<NaiveDate>,
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub kind: Option<ContactKind>,
    #[validate(range(min = 1, max = 720))]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 720)]
    #[serde(default, deserialize_with = "patch::nullable")]
    pub duration_minutes: Option<Option<i32>>,
    /// An active account of the operator.
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub worker_account_id: Option<Uuid>,
    #[validate(length(min = 1, max = 4000))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 4000)]
    #[serde(default, deserialize_with = "patch::nullable")]
    pub note: Option<Option<String>>,
    /// Why it is corrected: kept in the contact's history with the values it replaced.
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub reason: String,
    /// As for a new contact: `true` when the corrected contact is another than one already
    /// logged for the same measure, kind, day and worker.
    #[serde(default)]
    pub distinct: bool,
}

/// A removal of a contact logged by mistake.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Logged on the wrong measure"}))]
pub struct ContactRemoval {
    /// Why it is removed: kept with it and in its history.
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactFilters {
    /// `true`: the contacts removed (logged by mistake) as well; default: only those that
    /// count.
    pub include_removed: Option<bool>,
}

fn contact_response(status: StatusCode, c: &Contact) -> StoredResponse {
    StoredResponse::versioned(status, c, c.version)
}

/// Checks a contact's day (within the measure's start and, once closed, its end) and worker
/// against its measure; the worker as given or defaulted.
async fn check_entry(
    conn: &mut AsyncPgConnection,
    measure: &MeasureRow,
    occurred_on: NaiveDate,
    worker: Uuid,
    worker_given: bool,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    if occurred_on < measure.starts_on {
        errors.push(FieldError::new(
            "occurred_on",
            "before_start",
            format!("the measure started on {}", measure.starts_on),
        ));
    }
    if let Some(end) = measure.ended_on.filter(|end| occurred_on > *end) {
        errors.push(FieldError::new(
            "occurred_on",
            "after_end",
            format!("the measure ended on {end}"),
        ));
    }
    if worker_given {
        check_worker(
            conn,
            "worker_account_id",
            measure.operator_organisation_id,
            worker,
            errors,
        )
        .await?;
    }
    Ok(())
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
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: ParsedJson<NewContact>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    let field_errors = body.field_errors();
    let ParsedJson(new, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let (measure, party) = cases::find_as_party::<MeasureRow>(conn, org, id, true).await?;
            operator_only(party, "logs its contacts")?;
            // A closed measure takes the contacts of its last days, logged late (a day
            // after its end is a 422 `after_end` on `occurred_on`).
            if !matches!(
                measure.status,
                MeasureStatus::Active | MeasureStatus::Suspended | MeasureStatus::Closed
            ) {
                return Err(not_now(
                    conn,
                    &measure,
                    &caller,
                    party,
                    format!(
                        "contacts are logged on a running measure, or on a closed one up to its \
                         end; this one is {}",
                        measure.status
                    ),
                )
                .await?);
            }
            let mut errors = field_errors;
            let worker = new
                .worker_account_id
                .or(measure.worker_account_id)
                .unwrap_or(caller.account_id);
            check_entry(
                conn,
                &measure,
                new.occurred_on,
                worker,
                new.worker_account_id.is_some(),
                &mut errors,
            )
            .await?;
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            let entry = ContactEntry {
                occurred_on: new.occurred_on,
                kind: new.kind,
                duration_minutes: new.duration_minutes,
                worker,
                note: new.note,
            };
            contacts::refuse_repeat(conn, measure.id, &entry, None, new.distinct).await?;
            let contact = contacts::log(conn, &caller, &measure, entry).await?;
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
    query: crate::http::extractors::ListQuery<ContactFilters>,
) -> ApiResult<HttpResponse> {
    let crate::http::extractors::ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadMeasures)?;
    let org = caller.partner_organisation()?;
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let (measure, party) =
        cases::find_as_party::<MeasureRow>(&mut conn, org, id.into_inner(), false).await?;
    operator_only(party, "reads its contacts")?;
    let rows = contacts::of_measure(
        &mut conn,
        measure.id,
        filters.include_removed == Some(true),
        page,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageOf::from_rows(rows, page, |c| c.id)))
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
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let (case, ()) =
        cases::find_as_party::<ContactCase>(&mut conn, org, id.into_inner(), false).await?;
    Ok(contact_response(StatusCode::OK, &case.row).into_response(false))
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
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let page =
        cases::history::<ContactCase, CaseTransition>(&mut conn, org, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// What a contact action carries.
enum ContactChange {
    Correct(ContactCorrection),
    Remove(ContactRemoval),
}

async fn change(
    state: &AppState,
    caller: Caller,
    target: ActionTarget,
    what: ContactChange,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    let org = caller.partner_organisation()?;
    target
        .run(
            state,
            &caller.clone(),
            async move |conn: &mut AsyncPgConnection, id: Uuid, if_match: IfMatch| {
                let (case, ()) = cases::find_as_party::<ContactCase>(conn, org, id, false).await?;
                // The measure first, then the contact: the order every change of a
                // measure's follow-up locks in.
                let (measure, _) =
                    cases::find_as_party::<MeasureRow>(conn, org, case.row.measure_id, true)
                        .await?;
                let (case, ()) = cases::find_as_party::<ContactCase>(conn, org, id, true).await?;
                if_match.check(case.row.version)?;
                if case.row.removed_at.is_some() {
                    return Err(ApiError::not_now(
                        "the contact was removed: it is kept as it was",
                        "removed",
                        &[],
                    ));
                }
                let contact = match what {
                    ContactChange::Remove(r) => {
                        contacts::remove(conn, &caller, &measure, case.row, &r.reason).await?
                    }
                    ContactChange::Correct(c) => {
                        let current = &case.row;
                        let entry = ContactEntry {
                            occurred_on: c.occurred_on.unwrap_or(current.occurred_on),
                            kind: c.kind.unwrap_or(current.kind),
                            duration_minutes: patch::merge(
                                &c.duration_minutes,
                                &current.duration_minutes,
                            ),
                            worker: c.worker_account_id.unwrap_or(current.worker_account_id),
                            note: patch::merge(&c.note, &current.note),
                        };
                        let mut errors = Vec::new();
                        check_entry(
                            conn,
                            &measure,
                            entry.occurred_on,
                            entry.worker,
                            c.worker_account_id.is_some(),
                            &mut errors,
                        )
                        .await?;
                        if !errors.is_empty() {
                            return Err(ApiError::Validation(errors));
                        }
                        contacts::refuse_repeat(
                            conn,
                            measure.id,
                            &entry,
                            Some(current.id),
                            c.distinct,
                        )
                        .await?;
                        contacts::correct(
                            conn,
                            &caller,
                            &measure,
                            case.row,
                            Correction {
                                entry,
                                reason: c.reason,
                            },
                        )
                        .await?
                    }
                };
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
