//! An endpoint's deliveries: a test message queued, the list with each delivery's
//! attempts, one delivery, and a delivery sent again.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::super::model::*;
use super::super::queries;
use super::super::rules::{check_event_types, MAX_EVENT_TYPE_LENGTH};
use super::find_own;
use crate::auth::caller::Caller;
use crate::db::Connection;
use crate::error::{ApiError, FieldError};
use crate::http::pagination::{Page, PageOf};

/// A delivery of the caller's organisation, or 404.
async fn find_delivery(
    conn: &mut Connection,
    org: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<(DeliveryRow, EndpointRow), ApiError> {
    let row = queries::find_delivery(conn, id, lock).await?;
    let endpoint = find_own(conn, org, row.endpoint_id, false).await?;
    Ok((row, endpoint))
}

/// Deliveries with their attempts, in the order given.
async fn with_attempts(
    conn: &mut Connection,
    rows: Vec<DeliveryRow>,
) -> Result<Vec<WebhookDelivery>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let attempts = queries::attempts_of(conn, &ids).await?;
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

/// Queues a `webhook.test` message for an enabled endpoint of the caller's organisation
/// (409 when disabled), due at `now` (microseconds, as the feed's timestamps).
pub async fn test(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<WebhookDelivery, ApiError> {
    let org = caller.partner_organisation()?;
    let actor = crate::events::EventActor {
        account_id: Some(caller.account_id),
        organisation_id: caller.organisation_id,
    };
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
    let row =
        queries::insert_test_delivery(conn, id, event_id, crate::events::data(&message)?, now)
            .await?;
    Ok(WebhookDelivery::from_parts(row, Vec::new()))
}

/// Checks a deliveries list's `event_type` filter: too long is a 400, a well-formed value
/// that names no type (nor `webhook.test`) a 422.
pub fn check_event_type_filter(t: &str) -> Result<(), ApiError> {
    crate::http::extractors::check_length("event_type", t, 1, MAX_EVENT_TYPE_LENGTH)?;
    let mut unknown = Vec::new();
    if t != "webhook.test" {
        check_event_types(
            "event_type",
            std::slice::from_ref(&t.to_owned()),
            &mut unknown,
        );
    }
    // A well-formed value that names no type: a rule broken, 422.
    if let Some(e) = unknown.into_iter().next() {
        return Err(ApiError::Validation(vec![FieldError::new(
            "event_type",
            e.code,
            e.message,
        )]));
    }
    Ok(())
}

/// A page of an endpoint's deliveries (an endpoint of the caller's organisation), each
/// with its attempts.
pub async fn list(
    conn: &mut Connection,
    caller: &Caller,
    endpoint_id: Uuid,
    filters: &DeliveryFilters,
    page: Page,
) -> Result<PageOf<WebhookDelivery>, ApiError> {
    let org = caller.partner_organisation()?;
    let endpoint = find_own(conn, org, endpoint_id, false).await?;
    let rows = queries::list_deliveries(conn, endpoint.id, filters, page).await?;
    let (rows, more) = page.split(rows);
    let items = with_attempts(conn, rows).await?;
    Ok(PageOf::new(items, more, |d| d.id))
}

/// A delivery of the caller's organisation, with its attempts.
pub async fn get(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
) -> Result<WebhookDelivery, ApiError> {
    let org = caller.partner_organisation()?;
    let (row, _) = find_delivery(conn, org, id, false).await?;
    Ok(with_attempts(conn, vec![row]).await?.remove(0))
}

/// A delivery due again now, whatever its status (409 when its endpoint is disabled).
pub async fn redeliver(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<WebhookDelivery, ApiError> {
    let org = caller.partner_organisation()?;
    let (_, endpoint) = find_delivery(conn, org, id, true).await?;
    if endpoint.status == WebhookEndpointStatus::Disabled {
        return Err(ApiError::conflict(
            "the endpoint is disabled: enable it first",
        ));
    }
    let row = queries::requeue(conn, id, now).await?;
    Ok(with_attempts(conn, vec![row]).await?.remove(0))
}
