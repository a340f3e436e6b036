//! Webhooks' use cases: an organisation's endpoints (registration under its limit, changes,
//! deletion, disabling, enabling, a new secret, a test message) and their deliveries
//! ([`deliveries`]), each in the transaction its caller gives.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::model::*;
use super::queries;
use super::rules::{self, new_secret, seal_secret, DEFAULT_PREVIOUS_SECRET_SECONDS, MAX_ENDPOINTS};
use super::target;
use crate::auth::caller::Caller;
use crate::db::Connection;
use crate::error::{ApiError, FieldError};
use crate::http::concurrency::IfMatch;
use crate::http::pagination::{Page, PageOf};

pub mod deliveries;

/// Tells the endpoint's organisation (its feed, and so its other endpoints) what happened to
/// it, and who did it (`actor`; none for the service).
pub async fn endpoint_event(
    conn: &mut Connection,
    actor: Option<&crate::auth::caller::Caller>,
    event_type: &'static str,
    row: &EndpointRow,
) -> Result<(), ApiError> {
    crate::events::append(
        conn,
        actor,
        crate::events::NewEvent {
            event_type,
            subject_type: "webhook_endpoint",
            subject_id: row.id,
            data: crate::events::data(&crate::webhooks::events::WebhookEndpointEventData {
                id: row.id,
                url: row.url.clone(),
                status: row.status,
                disabled_reason: row.disabled_reason,
                version: row.version,
            })?,
            recipients: vec![row.organisation_id],
            for_platform: false,
        },
    )
    .await
}

/// An endpoint of the caller's organisation, or 404 (another organisation's is never
/// revealed). `lock` takes it `FOR UPDATE`.
pub async fn find_own(
    conn: &mut Connection,
    organisation: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<EndpointRow, ApiError> {
    queries::find_own(conn, organisation, id, lock).await
}

/// The URL rules beyond its length: its form and where it resolves (`target`). The URL as
/// it will be used (normalised), to store and show; `None` with its field error.
pub async fn check_url(
    allow_private: bool,
    field: &str,
    url: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    if url.chars().count() > MAX_URL_LENGTH || url.is_empty() {
        return None; // the field rules' `length`
    }
    match target::check(url, allow_private).await {
        Ok(normalised) => Some(normalised),
        Err(r) => {
            errors.push(FieldError::new(field, r.code, r.message));
            None
        }
    }
}

/// An endpoint just registered, with its secret (shown this once).
pub struct Registered {
    pub endpoint: WebhookEndpoint,
    pub secret: String,
}

/// Registers an endpoint (its URL and event types already checked: `url` normalised) for
/// the caller's organisation: 409 beyond [`MAX_ENDPOINTS`]; `webhook_endpoint.created`.
pub async fn create(
    conn: &mut Connection,
    caller: &Caller,
    sealing_key: &[u8; 32],
    new: NewWebhookEndpoint,
    url: Option<String>,
    now: DateTime<Utc>,
) -> Result<Registered, ApiError> {
    let org = caller.partner_organisation()?;
    if queries::lock_and_count(conn, org).await? >= MAX_ENDPOINTS {
        return Err(ApiError::conflict(format!(
            "your organisation has {MAX_ENDPOINTS} webhook endpoints already: delete one first"
        )));
    }
    let id = Uuid::now_v7();
    let (secret, key_bytes) = new_secret();
    let row = queries::insert_endpoint(
        conn,
        queries::NewEndpoint {
            id,
            organisation_id: org,
            created_by: caller.account_id,
            url: url.as_deref().unwrap_or(&new.url),
            description: new.description.trim(),
            event_types: crate::events::data(&new.event_types)?,
            secret_sealed: seal_secret(sealing_key, id, &key_bytes)?,
        },
    )
    .await?;
    endpoint_event(conn, Some(caller), "webhook_endpoint.created", &row).await?;
    Ok(Registered {
        endpoint: WebhookEndpoint::from_row(&row, now),
        secret,
    })
}

/// A page of the caller's organisation's endpoints, oldest first.
pub async fn list(
    conn: &mut Connection,
    caller: &Caller,
    page: Page,
) -> Result<PageOf<WebhookEndpoint>, ApiError> {
    let org = caller.partner_organisation()?;
    let rows = queries::list_endpoints(conn, org, page).await?;
    let now = crate::calendar::now();
    let items: Vec<WebhookEndpoint> = rows
        .iter()
        .map(|r| WebhookEndpoint::from_row(r, now))
        .collect();
    Ok(PageOf::from_rows(items, page, |e| e.id))
}

/// An endpoint of the caller's organisation (404 otherwise).
pub async fn get(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
) -> Result<WebhookEndpoint, ApiError> {
    let org = caller.partner_organisation()?;
    let row = find_own(conn, org, id, false).await?;
    Ok(WebhookEndpoint::from_row(&row, crate::calendar::now()))
}

/// Changes an endpoint's URL (already checked: `new_url`), description or event types, in
/// the caller's transaction (`If-Match`, then the field errors); nothing changes when
/// nothing differs; `webhook_endpoint.updated`.
pub async fn update(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
    p: WebhookEndpointPatch,
    new_url: Option<String>,
    errors: Vec<FieldError>,
) -> Result<WebhookEndpoint, ApiError> {
    let org = caller.partner_organisation()?;
    let now = crate::calendar::now();
    let row = find_own(conn, org, id, true).await?;
    if_match.check(row.version)?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let url = new_url.unwrap_or_else(|| row.url.clone());
    let description = match &p.description {
        None => row.description.clone(),
        Some(d) => d.trim().to_owned(),
    };
    let event_types = p.event_types.clone().unwrap_or_else(|| row.event_types());
    if url == row.url && description == row.description && event_types == row.event_types() {
        return Ok(WebhookEndpoint::from_row(&row, now));
    }
    let row = queries::update_endpoint(
        conn,
        id,
        &url,
        &description,
        crate::events::data(&event_types)?,
    )
    .await?;
    endpoint_event(conn, Some(caller), "webhook_endpoint.updated", &row).await?;
    Ok(WebhookEndpoint::from_row(&row, now))
}

/// Deletes an endpoint (`If-Match`), its deliveries with it; `webhook_endpoint.deleted`.
pub async fn delete(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    let org = caller.partner_organisation()?;
    let row = find_own(conn, org, id, true).await?;
    if_match.check(row.version)?;
    queries::delete_endpoint(conn, id).await?;
    endpoint_event(conn, Some(caller), "webhook_endpoint.deleted", &row).await
}

/// What an action on an endpoint does, in the transaction that holds it.
pub enum EndpointAction {
    Disable,
    Enable,
    Rotate(WebhookSecretRotation),
}

/// An action on an endpoint, in the caller's transaction: `If-Match`, the state table
/// ([`rules::allowed_actions`]: 409 when it is already so), the change,
/// `webhook_endpoint.updated`. The endpoint, and the new secret of a rotation.
pub async fn act(
    conn: &mut Connection,
    caller: &Caller,
    sealing_key: &[u8; 32],
    id: Uuid,
    if_match: &IfMatch,
    action: EndpointAction,
) -> Result<(WebhookEndpoint, Option<String>), ApiError> {
    let org = caller.partner_organisation()?;
    let now = crate::calendar::now();
    let row = find_own(conn, org, id, true).await?;
    if_match.check(row.version)?;
    let refused = |what: &str| {
        ApiError::not_now(
            format!("the endpoint is already {what}"),
            row.status.as_str(),
            rules::allowed_actions(row.status),
        )
    };
    let (row, secret) = match action {
        EndpointAction::Disable => {
            if row.status == WebhookEndpointStatus::Disabled {
                return Err(refused("disabled"));
            }
            (queries::disable(conn, id, now).await?, None)
        }
        EndpointAction::Enable => {
            if row.status == WebhookEndpointStatus::Enabled {
                return Err(refused("enabled"));
            }
            // What was pending when it was disabled goes out now.
            (queries::enable(conn, id, now).await?, None)
        }
        EndpointAction::Rotate(rotation) => {
            let (secret, key_bytes) = new_secret();
            let keep = rotation
                .previous_secret_valid_for_seconds
                .unwrap_or(DEFAULT_PREVIOUS_SECRET_SECONDS);
            // One previous secret: the one replaced now.
            let (previous, until) = if keep > 0 {
                (
                    Some(row.secret_sealed.clone()),
                    Some(now + TimeDelta::seconds(keep)),
                )
            } else {
                (None, None)
            };
            let sealed = seal_secret(sealing_key, id, &key_bytes)?;
            (
                queries::rotate(conn, id, sealed, previous, until).await?,
                Some(secret),
            )
        }
    };
    endpoint_event(conn, Some(caller), "webhook_endpoint.updated", &row).await?;
    Ok((WebhookEndpoint::from_row(&row, now), secret))
}
