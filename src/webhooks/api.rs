//! `/v1/webhook-endpoints` and `/v1/webhook-deliveries`: an organisation's endpoints, their
//! secrets and their deliveries. Only the organisation's admins (people) and its partner
//! systems granted `webhooks:read` / `webhooks:write` reach them; another organisation's
//! endpoint is a 404.

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use uuid::Uuid;

use super::model::*;
use super::rules::check_event_types;
use super::service::{self, deliveries, EndpointAction};
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db::{self, Connection};
use crate::error::{ApiError, ApiResult};
use crate::http::body::{ActionBody, ParsedJson};
use crate::http::concurrency::{IfMatch, IfMatchHeader};
use crate::http::extractors::ListQuery;
use crate::http::idempotency::{ActionTarget, Creation, IdempotencyHeader, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::state::AppState;

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
    creation: Creation<ParsedJson<NewWebhookEndpoint>>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ManageWebhooks)?;
    caller.partner_organisation()?;
    let mut errors = creation.body.field_errors();
    let new = &creation.body.0;
    let allow_private = state.config.webhooks_allow_private;
    let url = service::check_url(allow_private, "url", &new.url, &mut errors).await;
    check_event_types("event_types", &new.event_types, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let sealing_key = state.keys.sealing_key;
    let now = crate::calendar::now();
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, new, _| {
                let r = service::create(conn, &caller, &sealing_key, new, url, now).await?;
                let location = format!("/v1/webhook-endpoints/{}", r.endpoint.id);
                Ok(secret_response(StatusCode::CREATED, r.endpoint, r.secret)
                    .header("location", location))
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
    caller.partner_organisation()?;
    let page = query.page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let page = service::list(&mut conn, &caller, page).await?;
    Ok(HttpResponse::Ok().json(page))
}

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
    caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let e = service::get(&mut conn, &caller, id.into_inner()).await?;
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
    caller.partner_organisation()?;
    let id = id.into_inner();
    let mut errors = body.field_errors();
    let p = body.0;
    let allow_private = state.config.webhooks_allow_private;
    let new_url = match &p.url {
        Some(url) => service::check_url(allow_private, "url", url, &mut errors).await,
        None => None,
    };
    if let Some(types) = &p.event_types {
        check_event_types("event_types", types, &mut errors);
    }
    let mut conn = db::conn(&state.pool).await?;
    let response = db::transaction(&mut conn, async move |conn: &mut Connection| {
        let e = service::update(conn, &caller, id, &if_match, p, new_url, errors).await?;
        Ok::<_, ApiError>(endpoint_response(StatusCode::OK, &e))
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
    caller.partner_organisation()?;
    let id = id.into_inner();
    let mut conn = db::conn(&state.pool).await?;
    db::transaction(&mut conn, async move |conn: &mut Connection| {
        service::delete(conn, &caller, id, &if_match).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn act(
    state: &AppState,
    caller: Caller,
    target: ActionTarget,
    action: EndpointAction,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ManageWebhooks)?;
    caller.partner_organisation()?;
    let sealing_key = state.keys.sealing_key;
    target
        .run(
            state,
            &caller.clone(),
            async move |conn: &mut Connection, id: Uuid, if_match: IfMatch| {
                let (endpoint, secret) =
                    service::act(conn, &caller, &sealing_key, id, &if_match, action).await?;
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
    id: web::Path<Uuid>,
    creation: Creation<ActionBody>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ManageWebhooks)?;
    caller.partner_organisation()?;
    let id = id.into_inner();
    // Microseconds, as the feed's timestamps (PostgreSQL's).
    let now = chrono::SubsecRound::trunc_subsecs(crate::calendar::now(), 6);
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, _, _| {
                let d = deliveries::test(conn, &caller, id, now).await?;
                let location = format!("/v1/webhook-deliveries/{}", d.id);
                Ok(StoredResponse::json(StatusCode::ACCEPTED, &d).header("location", location))
            },
        )
        .await
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
    caller.partner_organisation()?;
    let ListQuery { filters, page } = query;
    let page = page.page()?;
    if let Some(t) = &filters.event_type {
        deliveries::check_event_type_filter(t)?;
    }
    let mut conn = db::conn(&state.pool).await?;
    let page = deliveries::list(&mut conn, &caller, id.into_inner(), &filters, page).await?;
    Ok(HttpResponse::Ok().json(page))
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
    caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let d = deliveries::get(&mut conn, &caller, id.into_inner()).await?;
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
    id: web::Path<Uuid>,
    creation: Creation<ActionBody>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ManageWebhooks)?;
    caller.partner_organisation()?;
    let id = id.into_inner();
    let now = crate::calendar::now();
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, _, _| {
                let d = deliveries::redeliver(conn, &caller, id, now).await?;
                Ok(StoredResponse::json(StatusCode::ACCEPTED, &d))
            },
        )
        .await
}
