//! `/v1/webhook-endpoints` and `/v1/webhook-deliveries`: an organisation's endpoints, their
//! secrets and their deliveries. Only the organisation's admins (people) and its partner
//! systems granted `webhooks:read` / `webhooks:write` reach them; another organisation's
//! endpoint is a 404.

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::*;
use super::{check_event_types, find_own, new_secret, seal_secret, target};
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db;
use crate::db::Keyset;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::{ActionBody, ParsedJson};
use crate::http::concurrency::{IfMatch, IfMatchHeader};
use crate::http::extractors::ListQuery;
use crate::http::idempotency::{self, IdempotencyHeader, IdempotencyKey, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::schema::{webhook_attempts, webhook_deliveries, webhook_endpoints};
use crate::state::AppState;

/// The most endpoints an organisation may have.
pub const MAX_ENDPOINTS: i64 = 20;

fn endpoint_response(status: StatusCode, e: &WebhookEndpoint) -> StoredResponse {
    StoredResponse::versioned(status, e, e.version)
}

/// The answer that shows a secret: the secret in what the caller receives, never in what is
/// kept for an idempotent replay.
fn secret_response(
    status: StatusCode,
    endpoint: WebhookEndpoint,
    secret: String,
) -> StoredResponse {
    let version = endpoint.version;
    let redacted = WebhookEndpointWithSecret {
        endpoint: endpoint.clone(),
        secret: None,
    };
    let full = WebhookEndpointWithSecret {
        endpoint,
        secret: Some(secret),
    };
    let mut response = StoredResponse::versioned(status, &full, version);
    response.stored_body = Some(serde_json::to_vec(&redacted).unwrap_or_default());
    response
}

/// The URL rules beyond its length: its form and where it resolves (`target`). The URL as
/// it will be used (normalised), to store and show; `None` with its field error.
async fn check_url(
    state: &AppState,
    field: &str,
    url: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    if url.chars().count() > MAX_URL_LENGTH || url.is_empty() {
        return None; // the field rules' `length`
    }
    match target::check(url, state.config.webhooks_allow_private).await {
        Ok(normalised) => Some(normalised),
        Err(r) => {
            errors.push(FieldError::new(field, r.code, r.message));
            None
        }
    }
}

/// Register a webhook endpoint
///
/// Events of your organisation's feed are then `POST`ed to `url` as they happen (those of
/// `event_types`, or all), signed as Standard Webhooks says: verify each with a Standard
/// Webhooks library and the `secret` of this answer, shown this once. At most 20 endpoints
/// per organisation (409 beyond). The URL must be `https`, without credentials, and resolve
/// to public addresses only (422 `https_required`, `credentials_in_url`,
/// `forbidden_address`, `unresolvable_host`, `invalid_url` on `url`).
#[utoipa::path(
    tag = "webhooks",
    operation_id = "create_webhook_endpoint",
    request_body = NewWebhookEndpoint,
    params(IdempotencyHeader),
    security(("oauth2" = ["webhooks:write"])),
    responses((status = 201, description = "Registered; the secret is shown this once", body = WebhookEndpointWithSecret,
               headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new endpoint"))),
              (status = 409, description = "The organisation has 20 endpoints already", body = crate::error::Problem, content_type = "application/problem+json"))
)]
#[post("/webhook-endpoints")]
pub async fn create_webhook_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: ParsedJson<NewWebhookEndpoint>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ManageWebhooks)?;
    let org = caller.partner_organisation()?;
    let mut errors = body.field_errors();
    let ParsedJson(new, raw) = body;
    let url = check_url(&state, "url", &new.url, &mut errors).await;
    check_event_types("event_types", &new.event_types, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let fingerprint = idempotency::fingerprint(&req, &raw);
    let sealing_key = state.keys.sealing_key;
    let now = crate::calendar::now();
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            // One at a time per organisation, so the limit holds under concurrency.
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))")
                .bind::<diesel::sql_types::Uuid, _>(org)
                .execute(conn)
                .await?;
            let count: i64 = webhook_endpoints::table
                .filter(webhook_endpoints::organisation_id.eq(org))
                .count()
                .get_result(conn)
                .await?;
            if count >= MAX_ENDPOINTS {
                return Err(ApiError::conflict(format!(
                    "your organisation has {MAX_ENDPOINTS} webhook endpoints already: delete one first"
                )));
            }
            let id = Uuid::now_v7();
            let (secret, key_bytes) = new_secret();
            let row: EndpointRow = diesel::insert_into(webhook_endpoints::table)
                .values((
                    webhook_endpoints::id.eq(id),
                    webhook_endpoints::organisation_id.eq(org),
                    webhook_endpoints::created_by_account_id.eq(caller.account_id),
                    webhook_endpoints::url.eq(url.as_deref().unwrap_or(&new.url)),
                    webhook_endpoints::description.eq(new.description.trim()),
                    webhook_endpoints::event_types.eq(crate::events::data(&new.event_types)?),
                    webhook_endpoints::secret_sealed.eq(seal_secret(&sealing_key, id, &key_bytes)?),
                ))
                .returning(EndpointRow::as_returning())
                .get_result(conn)
                .await?;
            super::endpoint_event(conn, Some(&caller), "webhook_endpoint.created", &row).await?;
            Ok(
                secret_response(StatusCode::CREATED, WebhookEndpoint::from_row(&row, now), secret)
                    .header("location", format!("/v1/webhook-endpoints/{id}")),
            )
        },
    )
    .await
}

/// List webhook endpoints
///
/// Your organisation's endpoints, oldest first (never their secrets).
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhook_endpoints",
    params(PageParams),
    security(("oauth2" = ["webhooks:read"])),
    responses((status = 200, description = "A page of endpoints", body = PageOf<WebhookEndpoint>))
)]
#[get("/webhook-endpoints")]
pub async fn list_webhook_endpoints(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<NoFilters>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadWebhooks)?;
    let org = caller.partner_organisation()?;
    let page = query.page.page()?;
    let q = webhook_endpoints::table
        .filter(webhook_endpoints::organisation_id.eq(org))
        .select(EndpointRow::as_select())
        .into_boxed();
    let mut conn = db::conn(&state.pool).await?;
    let rows: Vec<EndpointRow> = q
        .keyset(webhook_endpoints::id, page)
        .load(&mut conn)
        .await?;
    let now = crate::calendar::now();
    let items: Vec<WebhookEndpoint> = rows
        .iter()
        .map(|r| WebhookEndpoint::from_row(r, now))
        .collect();
    Ok(HttpResponse::Ok().json(PageOf::from_rows(items, page, |e| e.id)))
}

/// A list without filters of its own.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NoFilters {}

/// Get a webhook endpoint
#[utoipa::path(
    tag = "webhooks",
    operation_id = "get_webhook_endpoint",
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    security(("oauth2" = ["webhooks:read"])),
    responses((status = 200, description = "The endpoint", body = WebhookEndpoint,
               headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/webhook-endpoints/{id}")]
pub async fn get_webhook_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadWebhooks)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let row = find_own(&mut conn, org, id.into_inner(), false).await?;
    let e = WebhookEndpoint::from_row(&row, crate::calendar::now());
    Ok(endpoint_response(StatusCode::OK, &e).into_response(false))
}

/// Change a webhook endpoint
///
/// Its `url`, `description` or `event_types` (JSON Merge Patch, with `If-Match`). A new URL
/// is checked as at registration. Deliveries already queued go to the new URL.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "update_webhook_endpoint",
    request_body = WebhookEndpointPatch,
    params(("id" = Uuid, Path, description = "The endpoint's id"), IfMatchHeader),
    security(("oauth2" = ["webhooks:write"])),
    responses((status = 200, description = "Changed", body = WebhookEndpoint,
               headers(("ETag" = String, description = "The new version"))))
)]
#[patch("/webhook-endpoints/{id}")]
pub async fn update_webhook_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ParsedJson<WebhookEndpointPatch>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ManageWebhooks)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    let mut errors = body.field_errors();
    let p = body.0;
    let new_url = match &p.url {
        Some(url) => check_url(&state, "url", url, &mut errors).await,
        None => None,
    };
    if let Some(types) = &p.event_types {
        check_event_types("event_types", types, &mut errors);
    }
    let now = crate::calendar::now();
    let mut conn = db::conn(&state.pool).await?;
    let response = db::transaction(&mut conn, async move |conn: &mut AsyncPgConnection| {
        let row = find_own(conn, org, id, true).await?;
        if_match.check(row.version)?;
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let url = new_url.clone().unwrap_or_else(|| row.url.clone());
        let description = match &p.description {
            None => row.description.clone(),
            Some(d) => d.trim().to_owned(),
        };
        let event_types = p.event_types.clone().unwrap_or_else(|| row.event_types());
        if url == row.url && description == row.description && event_types == row.event_types() {
            return Ok(endpoint_response(
                StatusCode::OK,
                &WebhookEndpoint::from_row(&row, now),
            ));
        }
        let row: EndpointRow = diesel::update(webhook_endpoints::table.find(id))
            .set((
                webhook_endpoints::url.eq(&url),
                webhook_endpoints::description.eq(&description),
                webhook_endpoints::event_types.eq(crate::events::data(&event_types)?),
                webhook_endpoints::version.eq(row.version + 1),
                webhook_endpoints::updated_at.eq(now),
            ))
            .returning(EndpointRow::as_returning())
            .get_result(conn)
            .await?;
        super::endpoint_event(conn, Some(&caller), "webhook_endpoint.updated", &row).await?;
        Ok(endpoint_response(
            StatusCode::OK,
            &WebhookEndpoint::from_row(&row, now),
        ))
    })
    .await?;
    Ok(response.into_response(false))
}

/// Delete a webhook endpoint
///
/// With `If-Match`. Nothing more is sent to it; its deliveries are deleted with it.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "delete_webhook_endpoint",
    params(("id" = Uuid, Path, description = "The endpoint's id"), IfMatchHeader),
    security(("oauth2" = ["webhooks:write"])),
    responses((status = 204, description = "Deleted"))
)]
#[delete("/webhook-endpoints/{id}")]
pub async fn delete_webhook_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ManageWebhooks)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    let mut conn = db::conn(&state.pool).await?;
    db::transaction(&mut conn, async move |conn: &mut AsyncPgConnection| {
        let row = find_own(conn, org, id, true).await?;
        if_match.check(row.version)?;
        diesel::delete(webhook_endpoints::table.find(id))
            .execute(conn)
            .await?;
        super::endpoint_event(conn, Some(&caller), "webhook_endpoint.deleted", &row).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// What an action on an endpoint does, in the transaction that holds it.
enum EndpointAction {
    Disable,
    Enable,
    Rotate(WebhookSecretRotation),
}

/// What an endpoint in this state allows (for a 409's `allowed_actions`).
fn allowed_actions(status: WebhookEndpointStatus) -> &'static [&'static str] {
    match status {
        WebhookEndpointStatus::Enabled => &["disable", "rotate-secret", "test"],
        WebhookEndpointStatus::Disabled => &["enable", "rotate-secret"],
    }
}

async fn act(
    state: &AppState,
    caller: Caller,
    target: crate::http::idempotency::ActionTarget,
    action: EndpointAction,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ManageWebhooks)?;
    let org = caller.partner_organisation()?;
    let sealing_key = state.keys.sealing_key;
    let now = crate::calendar::now();
    let actor = caller.clone();
    target
        .run(
            state,
            &caller,
            async move |conn: &mut AsyncPgConnection, id: Uuid, if_match: IfMatch| {
                let row = find_own(conn, org, id, true).await?;
                if_match.check(row.version)?;
                let refused = |what: &str| {
                    ApiError::not_now(
                        format!("the endpoint is already {what}"),
                        row.status.as_str(),
                        allowed_actions(row.status),
                    )
                };
                let bump = (
                    webhook_endpoints::version.eq(row.version + 1),
                    webhook_endpoints::updated_at.eq(now),
                );
                let update = diesel::update(webhook_endpoints::table.find(id));
                let (row, secret): (EndpointRow, Option<String>) = match action {
                    EndpointAction::Disable => {
                        if row.status == WebhookEndpointStatus::Disabled {
                            return Err(refused("disabled"));
                        }
                        let row = update
                            .set((
                                webhook_endpoints::status.eq(WebhookEndpointStatus::Disabled),
                                webhook_endpoints::disabled_reason
                                    .eq(Some(WebhookDisabledReason::ByRequest)),
                                webhook_endpoints::disabled_at.eq(Some(now)),
                                bump,
                            ))
                            .returning(EndpointRow::as_returning())
                            .get_result(conn)
                            .await?;
                        (row, None)
                    }
                    EndpointAction::Enable => {
                        if row.status == WebhookEndpointStatus::Enabled {
                            return Err(refused("enabled"));
                        }
                        let row = update
                            .set((
                                webhook_endpoints::status.eq(WebhookEndpointStatus::Enabled),
                                webhook_endpoints::disabled_reason
                                    .eq(None::<WebhookDisabledReason>),
                                webhook_endpoints::disabled_at.eq(None::<DateTime<Utc>>),
                                webhook_endpoints::failing_since.eq(None::<DateTime<Utc>>),
                                bump,
                            ))
                            .returning(EndpointRow::as_returning())
                            .get_result(conn)
                            .await?;
                        // What was pending when it was disabled goes out now.
                        diesel::update(
                            webhook_deliveries::table
                                .filter(webhook_deliveries::endpoint_id.eq(id))
                                .filter(
                                    webhook_deliveries::status.eq(WebhookDeliveryStatus::Pending),
                                ),
                        )
                        .set(webhook_deliveries::next_attempt_at.eq(Some(now)))
                        .execute(conn)
                        .await?;
                        (row, None)
                    }
                    EndpointAction::Rotate(rotation) => {
                        let (secret, key_bytes) = new_secret();
                        let keep = rotation
                            .previous_secret_valid_for_seconds
                            .unwrap_or(super::DEFAULT_PREVIOUS_SECRET_SECONDS);
                        // One previous secret: the one replaced now.
                        let (previous, until) = if keep > 0 {
                            (
                                Some(row.secret_sealed.clone()),
                                Some(now + TimeDelta::seconds(keep)),
                            )
                        } else {
                            (None, None)
                        };
                        let row = update
                            .set((
                                webhook_endpoints::secret_sealed.eq(seal_secret(
                                    &sealing_key,
                                    id,
                                    &key_bytes,
                                )?),
                                webhook_endpoints::previous_secret_sealed.eq(previous),
                                webhook_endpoints::previous_secret_expires_at.eq(until),
                                bump,
                            ))
                            .returning(EndpointRow::as_returning())
                            .get_result(conn)
                            .await?;
                        (row, Some(secret))
                    }
                };
                super::endpoint_event(conn, Some(&actor), "webhook_endpoint.updated", &row).await?;
                let endpoint = WebhookEndpoint::from_row(&row, now);
                Ok(match secret {
                    Some(secret) => secret_response(StatusCode::OK, endpoint, secret),
                    None => endpoint_response(StatusCode::OK, &endpoint),
                })
            },
        )
        .await
}

crate::action_endpoint! {
    /// Disable a webhook endpoint
    ///
    /// Nothing is sent to it until it is enabled again; the events that happen meanwhile
    /// are not queued for it (read them from the feed, from the last `feed_position` you
    /// received). 409 when it is disabled already.
    disable_webhook_endpoint: "/webhook-endpoints/{id}/disable", tag "webhooks", scope "webhooks:write",
    id "The endpoint's id", returns WebhookEndpoint,
    |state, caller, target| act(&state, caller, target, EndpointAction::Disable)
}

crate::action_endpoint! {
    /// Enable a webhook endpoint
    ///
    /// After a disabling (yours, a `410 Gone`, or five days of failures): deliveries still
    /// pending are sent at once, and new events are queued again. 409 when it is enabled.
    enable_webhook_endpoint: "/webhook-endpoints/{id}/enable", tag "webhooks", scope "webhooks:write",
    id "The endpoint's id", returns WebhookEndpoint,
    |state, caller, target| act(&state, caller, target, EndpointAction::Enable)
}

crate::action_endpoint! {
    /// Rotate a webhook endpoint's secret
    ///
    /// A new secret, shown this once. The old one keeps signing beside it for
    /// `previous_secret_valid_for_seconds` (24 hours by default, 7 days at most; 0 stops it
    /// at once): meanwhile each delivery's `webhook-signature` carries both signatures,
    /// space-separated, so receivers still holding the old secret go on verifying while you
    /// deploy the new one.
    rotate_webhook_endpoint_secret: "/webhook-endpoints/{id}/rotate-secret", tag "webhooks",
    scope "webhooks:write", id "The endpoint's id", returns WebhookEndpointWithSecret, optional body WebhookSecretRotation,
    |state, caller, target, rotation| act(&state, caller, target, EndpointAction::Rotate(rotation))
}

/// A delivery of the caller's organisation, or 404.
async fn find_delivery(
    conn: &mut AsyncPgConnection,
    org: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<(DeliveryRow, EndpointRow), ApiError> {
    let row: DeliveryRow = {
        let q = webhook_deliveries::table
            .find(id)
            .select(DeliveryRow::as_select());
        if lock {
            q.for_update().first(conn).await?
        } else {
            q.first(conn).await?
        }
    };
    let endpoint = find_own(conn, org, row.endpoint_id, false).await?;
    Ok((row, endpoint))
}

/// Deliveries with their attempts, in the order given.
async fn with_attempts(
    conn: &mut AsyncPgConnection,
    rows: Vec<DeliveryRow>,
) -> Result<Vec<WebhookDelivery>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let attempts: Vec<AttemptRow> = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(&ids))
        .order((
            webhook_attempts::delivery_id,
            webhook_attempts::attempted_at,
        ))
        .select(AttemptRow::as_select())
        .load(conn)
        .await?;
    let mut by_delivery: std::collections::HashMap<Uuid, Vec<WebhookAttempt>> = Default::default();
    for a in attempts {
        by_delivery.entry(a.delivery_id).or_default().push(a.into());
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let a = by_delivery.remove(&r.id).unwrap_or_default();
            WebhookDelivery::from_parts(r, a)
        })
        .collect())
}

/// Send a test event
///
/// Queues a `webhook.test` message for the endpoint, sent within a second: its body is
/// shaped as every delivery's (`subject` the endpoint, `data` `{"endpoint_id": …}`,
/// `feed_position` `null`), signed the same way. Follow it with
/// `GET /v1/webhook-deliveries/{id}`. 409 when the endpoint is disabled.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "test_webhook_endpoint",
    params(("id" = Uuid, Path, description = "The endpoint's id"), IdempotencyHeader),
    security(("oauth2" = ["webhooks:write"])),
    responses((status = 202, description = "Queued", body = WebhookDelivery,
               headers(("Location" = String, description = "The delivery"))),
              (status = 409, description = "The endpoint is disabled", body = crate::error::Problem, content_type = "application/problem+json"))
)]
#[post("/webhook-endpoints/{id}/test")]
pub async fn test_webhook_endpoint(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: ActionBody,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ManageWebhooks)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    let fingerprint = idempotency::fingerprint(&req, &body.1);
    // Microseconds, as the feed's timestamps (PostgreSQL's).
    let now = chrono::SubsecRound::trunc_subsecs(crate::calendar::now(), 6);
    let actor = crate::events::EventActor {
        account_id: Some(caller.account_id),
        organisation_id: caller.organisation_id,
    };
    idempotency::run(
        &state,
        &caller,
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let endpoint = find_own(conn, org, id, false).await?;
            if endpoint.status == WebhookEndpointStatus::Disabled {
                return Err(ApiError::conflict(
                    "the endpoint is disabled: enable it to test it",
                ));
            }
            let event_id = Uuid::now_v7();
            let message = WebhookMessage {
                event: crate::events::Event {
                    id: event_id,
                    event_type: "webhook.test".into(),
                    occurred_at: now,
                    subject: crate::events::EventSubject {
                        subject_type: "webhook_endpoint".into(),
                        id,
                    },
                    actor,
                    data: serde_json::json!({ "endpoint_id": id }),
                },
                feed_position: None,
            };
            let row: DeliveryRow = diesel::insert_into(webhook_deliveries::table)
                .values((
                    webhook_deliveries::id.eq(Uuid::now_v7()),
                    webhook_deliveries::endpoint_id.eq(id),
                    webhook_deliveries::event_id.eq(event_id),
                    webhook_deliveries::event_type.eq("webhook.test"),
                    webhook_deliveries::payload.eq(Some(crate::events::data(&message)?)),
                    webhook_deliveries::next_attempt_at.eq(Some(now)),
                    webhook_deliveries::created_at.eq(now),
                    webhook_deliveries::updated_at.eq(now),
                ))
                .returning(DeliveryRow::as_returning())
                .get_result(conn)
                .await?;
            let d = WebhookDelivery::from_parts(row, Vec::new());
            Ok(StoredResponse::json(StatusCode::ACCEPTED, &d)
                .header("location", format!("/v1/webhook-deliveries/{}", d.id)))
        },
    )
    .await
}

/// The longest event type a filter takes.
const MAX_EVENT_TYPE_LENGTH: usize = 100;

/// Filters of an endpoint's deliveries.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilters {
    /// `pending`, `succeeded` or `failed`.
    #[param(value_type = Option<String>, pattern = "^(pending|succeeded|failed)$")]
    pub status: Option<WebhookDeliveryStatus>,
    /// An event type (`referral.accepted`, `webhook.test`) or a prefix (`referral.*`); one
    /// that names no type is a 422.
    #[param(min_length = 1, max_length = 100)]
    pub event_type: Option<String>,
    /// Deliveries queued at or after this instant.
    pub since: Option<DateTime<Utc>>,
}

/// List an endpoint's deliveries
///
/// Oldest first, each with every attempt (time, status, duration, the first KiB of the
/// answer, the error) and the next attempt's time. Deliveries are kept 30 days.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhook_deliveries",
    params(("id" = Uuid, Path, description = "The endpoint's id"), DeliveryFilters, PageParams),
    security(("oauth2" = ["webhooks:read"])),
    responses((status = 200, description = "A page of deliveries", body = PageOf<WebhookDelivery>),
              (status = 422, description = "`event_type` names no event type", body = crate::error::Problem, content_type = "application/problem+json"))
)]
#[get("/webhook-endpoints/{id}/deliveries")]
pub async fn list_webhook_deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    query: ListQuery<DeliveryFilters>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadWebhooks)?;
    let org = caller.partner_organisation()?;
    let ListQuery { filters, page } = query;
    let page = page.page()?;
    if let Some(t) = &filters.event_type {
        crate::http::extractors::check_length("event_type", t, 1, MAX_EVENT_TYPE_LENGTH)?;
        let mut unknown = Vec::new();
        if t != "webhook.test" {
            check_event_types("event_type", std::slice::from_ref(t), &mut unknown);
        }
        // A well-formed value that names no type: a rule broken, 422.
        if let Some(e) = unknown.into_iter().next() {
            return Err(ApiError::Validation(vec![FieldError::new(
                "event_type",
                e.code,
                e.message,
            )]));
        }
    }
    let mut conn = db::conn(&state.pool).await?;
    let endpoint = find_own(&mut conn, org, id.into_inner(), false).await?;
    let mut q = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint.id))
        .select(DeliveryRow::as_select())
        .into_boxed();
    if let Some(s) = filters.status {
        q = q.filter(webhook_deliveries::status.eq(s));
    }
    if let Some(t) = &filters.event_type {
        q = match t.strip_suffix('*') {
            Some(prefix) => q.filter(webhook_deliveries::event_type.like(format!("{prefix}%"))),
            None => q.filter(webhook_deliveries::event_type.eq(t.clone())),
        };
    }
    if let Some(since) = filters.since {
        q = q.filter(webhook_deliveries::created_at.ge(since));
    }
    let rows: Vec<DeliveryRow> = q
        .keyset(webhook_deliveries::id, page)
        .load(&mut conn)
        .await?;
    let (rows, more) = page.split(rows);
    let items = with_attempts(&mut conn, rows).await?;
    Ok(HttpResponse::Ok().json(PageOf::new(items, more, |d| d.id)))
}

/// Get a delivery
#[utoipa::path(
    tag = "webhooks",
    operation_id = "get_webhook_delivery",
    params(("id" = Uuid, Path, description = "The delivery's id")),
    security(("oauth2" = ["webhooks:read"])),
    responses((status = 200, description = "The delivery, with its attempts", body = WebhookDelivery))
)]
#[get("/webhook-deliveries/{id}")]
pub async fn get_webhook_delivery(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadWebhooks)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let (row, _) = find_delivery(&mut conn, org, id.into_inner(), false).await?;
    let d = with_attempts(&mut conn, vec![row]).await?.remove(0);
    Ok(HttpResponse::Ok().json(d))
}

/// Send a delivery again
///
/// One more attempt, now, whatever its status (a `failed` delivery whose receiver is
/// fixed, a `succeeded` one whose receiver lost it); it keeps its `webhook-id`. If that
/// attempt fails, the retry schedule goes on from where the delivery was (a delivery past
/// its 8th attempt is `failed` again). 409 when the endpoint is disabled.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "redeliver_webhook_delivery",
    params(("id" = Uuid, Path, description = "The delivery's id"), IdempotencyHeader),
    security(("oauth2" = ["webhooks:write"])),
    responses((status = 202, description = "Queued for now", body = WebhookDelivery),
              (status = 409, description = "The endpoint is disabled", body = crate::error::Problem, content_type = "application/problem+json"))
)]
#[post("/webhook-deliveries/{id}/redeliver")]
pub async fn redeliver_webhook_delivery(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: ActionBody,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ManageWebhooks)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    let fingerprint = idempotency::fingerprint(&req, &body.1);
    let now = crate::calendar::now();
    idempotency::run(
        &state,
        &caller,
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let (_, endpoint) = find_delivery(conn, org, id, true).await?;
            if endpoint.status == WebhookEndpointStatus::Disabled {
                return Err(ApiError::conflict(
                    "the endpoint is disabled: enable it first",
                ));
            }
            // An attempt in flight keeps going, but no longer decides the status.
            let row: DeliveryRow = diesel::update(webhook_deliveries::table.find(id))
                .set((
                    webhook_deliveries::status.eq(WebhookDeliveryStatus::Pending),
                    webhook_deliveries::next_attempt_at.eq(Some(now)),
                    webhook_deliveries::claimed_until.eq(None::<DateTime<Utc>>),
                    webhook_deliveries::claim_token.eq(None::<Uuid>),
                    webhook_deliveries::updated_at.eq(now),
                ))
                .returning(DeliveryRow::as_returning())
                .get_result(conn)
                .await?;
            let d = with_attempts(conn, vec![row]).await?.remove(0);
            Ok(StoredResponse::json(StatusCode::ACCEPTED, &d))
        },
    )
    .await
}
