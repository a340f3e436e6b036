//! Every diesel statement of webhooks: endpoints and deliveries as the API reads and writes
//! them; the delivery worker's statements in [`worker`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::model::*;
use crate::db::{Connection, Keyset};
use crate::error::ApiError;
use crate::http::pagination::Page;
use crate::schema::{webhook_attempts, webhook_deliveries, webhook_endpoints};

pub mod worker;

/// An endpoint of the organisation, or 404 (another organisation's is never revealed).
/// `lock` takes it `FOR UPDATE`.
pub async fn find_own(
    conn: &mut Connection,
    organisation: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<EndpointRow, ApiError> {
    let q = webhook_endpoints::table
        .filter(webhook_endpoints::id.eq(id))
        .filter(webhook_endpoints::organisation_id.eq(organisation))
        .select(EndpointRow::as_select());
    let row = if lock {
        q.for_update().first(conn).await
    } else {
        q.first(conn).await
    };
    Ok(row?)
}

/// Holds the organisation's endpoints until the transaction ends (one registration at a
/// time, so the limit holds under concurrency), and counts them.
pub async fn lock_and_count(conn: &mut Connection, org: Uuid) -> Result<i64, ApiError> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))")
        .bind::<diesel::sql_types::Uuid, _>(org)
        .execute(conn)
        .await?;
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::organisation_id.eq(org))
        .count()
        .get_result(conn)
        .await?)
}

/// A new endpoint (its secret sealed).
pub struct NewEndpoint<'a> {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub created_by: Uuid,
    pub url: &'a str,
    pub description: &'a str,
    pub event_types: serde_json::Value,
    pub secret_sealed: Vec<u8>,
}

pub async fn insert_endpoint(
    conn: &mut Connection,
    e: NewEndpoint<'_>,
) -> Result<EndpointRow, ApiError> {
    Ok(diesel::insert_into(webhook_endpoints::table)
        .values((
            webhook_endpoints::id.eq(e.id),
            webhook_endpoints::organisation_id.eq(e.organisation_id),
            webhook_endpoints::created_by_account_id.eq(e.created_by),
            webhook_endpoints::url.eq(e.url),
            webhook_endpoints::description.eq(e.description),
            webhook_endpoints::event_types.eq(e.event_types),
            webhook_endpoints::secret_sealed.eq(e.secret_sealed),
        ))
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .await?)
}

/// A page of the organisation's endpoints, by id.
pub async fn list_endpoints(
    conn: &mut Connection,
    org: Uuid,
    page: Page,
) -> Result<Vec<EndpointRow>, ApiError> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::organisation_id.eq(org))
        .select(EndpointRow::as_select())
        .into_boxed()
        .keyset(webhook_endpoints::id, page)
        .load(conn)
        .await?)
}

/// An endpoint's new URL, description and event types, with a new version.
pub async fn update_endpoint(
    conn: &mut Connection,
    id: Uuid,
    url: &str,
    description: &str,
    event_types: serde_json::Value,
) -> Result<EndpointRow, ApiError> {
    Ok(diesel::update(webhook_endpoints::table.find(id))
        .set((
            webhook_endpoints::url.eq(url),
            webhook_endpoints::description.eq(description),
            webhook_endpoints::event_types.eq(event_types),
            crate::db::bump(webhook_endpoints::version, webhook_endpoints::updated_at),
        ))
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Deletes an endpoint (its deliveries with it).
pub async fn delete_endpoint(conn: &mut Connection, id: Uuid) -> Result<(), ApiError> {
    diesel::delete(webhook_endpoints::table.find(id))
        .execute(conn)
        .await?;
    Ok(())
}

/// An endpoint disabled at the organisation's request, at `now`.
pub async fn disable(
    conn: &mut Connection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<EndpointRow, ApiError> {
    Ok(diesel::update(webhook_endpoints::table.find(id))
        .set((
            webhook_endpoints::status.eq(WebhookEndpointStatus::Disabled),
            webhook_endpoints::disabled_reason.eq(Some(WebhookDisabledReason::ByRequest)),
            webhook_endpoints::disabled_at.eq(Some(now)),
            crate::db::bump(webhook_endpoints::version, webhook_endpoints::updated_at),
        ))
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .await?)
}

/// An endpoint enabled again (healthy until its next failure); what was pending when it
/// was disabled is due at `now`.
pub async fn enable(
    conn: &mut Connection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<EndpointRow, ApiError> {
    let row = diesel::update(webhook_endpoints::table.find(id))
        .set((
            webhook_endpoints::status.eq(WebhookEndpointStatus::Enabled),
            webhook_endpoints::disabled_reason.eq(None::<WebhookDisabledReason>),
            webhook_endpoints::disabled_at.eq(None::<DateTime<Utc>>),
            webhook_endpoints::failing_since.eq(None::<DateTime<Utc>>),
            crate::db::bump(webhook_endpoints::version, webhook_endpoints::updated_at),
        ))
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .await?;
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::endpoint_id.eq(id))
            .filter(webhook_deliveries::status.eq(WebhookDeliveryStatus::Pending)),
    )
    .set(webhook_deliveries::next_attempt_at.eq(Some(now)))
    .execute(conn)
    .await?;
    Ok(row)
}

/// An endpoint's new secret (sealed), and the previous one kept until `until` (or none).
pub async fn rotate(
    conn: &mut Connection,
    id: Uuid,
    sealed: Vec<u8>,
    previous: Option<Vec<u8>>,
    until: Option<DateTime<Utc>>,
) -> Result<EndpointRow, ApiError> {
    Ok(diesel::update(webhook_endpoints::table.find(id))
        .set((
            webhook_endpoints::secret_sealed.eq(sealed),
            webhook_endpoints::previous_secret_sealed.eq(previous),
            webhook_endpoints::previous_secret_expires_at.eq(until),
            crate::db::bump(webhook_endpoints::version, webhook_endpoints::updated_at),
        ))
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The delivery `id` (404 when there is none), locked `FOR UPDATE` when `lock`.
pub async fn find_delivery(
    conn: &mut Connection,
    id: Uuid,
    lock: bool,
) -> Result<DeliveryRow, ApiError> {
    let q = webhook_deliveries::table
        .find(id)
        .select(DeliveryRow::as_select());
    Ok(if lock {
        q.for_update().first(conn).await?
    } else {
        q.first(conn).await?
    })
}

/// The attempts of these deliveries, by delivery then time.
pub async fn attempts_of(conn: &mut Connection, ids: &[Uuid]) -> Result<Vec<AttemptRow>, ApiError> {
    Ok(webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(ids))
        .order((
            webhook_attempts::delivery_id,
            webhook_attempts::attempted_at,
        ))
        .select(AttemptRow::as_select())
        .load(conn)
        .await?)
}

/// A test delivery of `message` (event `event_id`) to the endpoint, due at `now`.
pub async fn insert_test_delivery(
    conn: &mut Connection,
    endpoint: Uuid,
    event_id: Uuid,
    message: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<DeliveryRow, ApiError> {
    Ok(diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::id.eq(Uuid::now_v7()),
            webhook_deliveries::endpoint_id.eq(endpoint),
            webhook_deliveries::event_id.eq(event_id),
            webhook_deliveries::event_type.eq("webhook.test"),
            webhook_deliveries::payload.eq(Some(message)),
            webhook_deliveries::next_attempt_at.eq(Some(now)),
            webhook_deliveries::created_at.eq(now),
            webhook_deliveries::updated_at.eq(now),
        ))
        .returning(DeliveryRow::as_returning())
        .get_result(conn)
        .await?)
}

/// A page of an endpoint's deliveries, by id, with the list's filters (an event type, or
/// a prefix ending in `*`).
pub async fn list_deliveries(
    conn: &mut Connection,
    endpoint: Uuid,
    filters: &DeliveryFilters,
    page: Page,
) -> Result<Vec<DeliveryRow>, ApiError> {
    let mut q = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint))
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
    Ok(q.keyset(webhook_deliveries::id, page).load(conn).await?)
}

/// A delivery due again at `now`, pending, its lease dropped (an attempt in flight keeps
/// going, but no longer decides the status).
pub async fn requeue(
    conn: &mut Connection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<DeliveryRow, ApiError> {
    Ok(diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq(WebhookDeliveryStatus::Pending),
            webhook_deliveries::next_attempt_at.eq(Some(now)),
            webhook_deliveries::claimed_until.eq(None::<DateTime<Utc>>),
            webhook_deliveries::claim_token.eq(None::<Uuid>),
            webhook_deliveries::updated_at.eq(now),
        ))
        .returning(DeliveryRow::as_returning())
        .get_result(conn)
        .await?)
}
