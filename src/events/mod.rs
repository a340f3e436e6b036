//! The outbox: every change appends its events in the same transaction ([`append`]), and
//! partners read them in order from `GET /v1/events` ([`api`], its statements in [`feed`]).
//! Below the domains: each declares its events' payloads, and [`catalogue`] names no
//! domain.

pub mod api;
pub mod catalogue;
pub mod feed;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::schema::{event_recipients, events};

/// An event to append: what happened, to what, and which organisations are told.
pub struct NewEvent {
    /// One of `catalogue::EVENT_KINDS`.
    pub event_type: &'static str,
    pub subject_type: &'static str,
    pub subject_id: Uuid,
    /// The kind's data (`catalogue`), serialised: [`data`].
    pub data: Value,
    /// The organisations whose feed receives it.
    pub recipients: Vec<Uuid>,
    /// Whether platform admins' feed receives it.
    pub for_platform: bool,
}

/// An event's data as stored: one of the `catalogue`'s shapes, serialised.
pub fn data<T: Serialize>(data: &T) -> Result<Value, ApiError> {
    serde_json::to_value(data).map_err(ApiError::internal)
}

/// Appends an event inside the caller's transaction. A type outside the catalogue is a fault
/// of ours (500): the spec would not describe it.
pub async fn append(
    conn: &mut AsyncPgConnection,
    actor: Option<&Caller>,
    event: NewEvent,
) -> Result<(), ApiError> {
    if catalogue::kind_of(event.event_type).is_none() {
        return Err(ApiError::internal(format!(
            "event type {} is not in the catalogue",
            event.event_type
        )));
    }
    let seq: i64 = diesel::insert_into(events::table)
        .values((
            events::id.eq(Uuid::now_v7()),
            events::event_type.eq(event.event_type),
            events::subject_type.eq(event.subject_type),
            events::subject_id.eq(event.subject_id),
            events::actor_account_id.eq(actor.map(|a| a.account_id)),
            events::actor_organisation_id.eq(actor.and_then(|a| a.organisation_id)),
            events::data.eq(&event.data),
            events::for_platform.eq(event.for_platform),
        ))
        .returning(events::seq)
        .get_result(conn)
        .await?;
    let mut recipients = event.recipients;
    recipients.sort();
    recipients.dedup();
    let rows: Vec<_> = recipients
        .iter()
        .map(|org| {
            (
                event_recipients::organisation_id.eq(*org),
                event_recipients::seq.eq(seq),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(event_recipients::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// What an event is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventSubject {
    /// `organisation`, `account`, `household`, `referral`, `unit`, `agreement`, `proposal`,
    /// `sublease`, `measure`, `renewal`, `objective`, `programme` or `webhook_endpoint`.
    #[serde(rename = "type")]
    pub subject_type: String,
    /// The subject's id: fetch it to see what your part allows.
    pub id: Uuid,
}

/// Who caused an event (`null` members for the service itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventActor {
    pub account_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
}

/// One event of the feed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5c3-1f00-7a2b-b1c4-5d6e7f809a1b", "type": "account.created",
    "occurred_at": "2026-11-22T18:51:05Z",
    "subject": {"type": "account", "id": "0193a5c2-8a40-7c11-8e0f-3b5d2c1a9e77"},
    "actor": {"account_id": "0193a5c2-1111-7c11-8e0f-3b5d2c1a9e77", "organisation_id": "0193a5c2-7d1e-7b3a-9c4f-2f0e8d6b1a22"},
    "data": {"id": "0193a5c2-8a40-7c11-8e0f-3b5d2c1a9e77", "kind": "person", "role": "worker"}
}))]
pub struct Event {
    /// The event's id, unique and stable: use it to deduplicate.
    pub id: Uuid,
    /// `<subject>.<what happened>`: one of `events::catalogue::EVENT_KINDS`. In the spec,
    /// `Event` is a union discriminated by this field, one schema a kind with its `data`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the change was committed (UTC).
    pub occurred_at: DateTime<Utc>,
    /// What the event is about.
    pub subject: EventSubject,
    /// Who caused it.
    pub actor: EventActor,
    /// What the kind of event carries (its schema in the union): for organisations and
    /// accounts, the subject as it was after the change; for cases and housing, ids,
    /// statuses and coded reasons only.
    pub data: Value,
}
