use actix_web::{get, web, HttpResponse};
use diesel::sql_types::{BigInt, Bool, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Event, EventActor, EventSubject};
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::http::extractors::Query;
use crate::http::pagination;
use crate::identity::model::Role;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// The `next_cursor` of the last page you processed; omit it to start from the beginning.
    #[param(min_length = 22, max_length = 22, pattern = "^[A-Za-z0-9_-]{22}$")]
    pub after: Option<String>,
    /// How many events to return (1 to 200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// Events in the order they were committed.
    pub items: Vec<Event>,
    /// Where this page ends: pass it as `after` next time. When the page is empty it is the
    /// `after` you sent (`null` if you sent none and there is no event yet).
    pub next_cursor: Option<String>,
    /// How long to wait before asking again, in seconds: `0` when the page is full (more
    /// may be waiting: ask at once), otherwise 5 (you are up to date;
    /// polling faster finds nothing sooner). Also sent as `Retry-After`.
    #[schema(minimum = 0, example = 5)]
    pub poll_after_seconds: u32,
}

/// What a caught-up poller is asked to wait, in seconds.
pub const POLL_AFTER_SECONDS: u32 = 5;

#[derive(diesel::QueryableByName)]
struct EventRow {
    #[diesel(sql_type = BigInt)]
    tx_id: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Timestamptz)]
    occurred_at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = Text)]
    subject_type: String,
    #[diesel(sql_type = SqlUuid)]
    subject_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    actor_account_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    actor_organisation_id: Option<Uuid>,
    #[diesel(sql_type = Jsonb)]
    data: serde_json::Value,
}

/// A position in the feed: the (transaction, sequence) of an event, as a cursor.
pub fn encode_feed_position(tx_id: i64, seq: i64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&tx_id.to_be_bytes());
    bytes[8..].copy_from_slice(&seq.to_be_bytes());
    pagination::encode_position(bytes)
}

fn decode_feed_position(cursor: &str) -> Result<(i64, i64), ApiError> {
    let bytes = pagination::decode_position("after", cursor)?;
    let tx_id = i64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
    let seq = i64::from_be_bytes(bytes[8..].try_into().expect("8 bytes"));
    Ok((tx_id, seq))
}

/// Events are returned only up to the oldest transaction still running, so an event that
/// commits late is never skipped by a reader that already moved on.
const ORGANISATION_FEED: &str = "\
    SELECT r.tx_id, r.seq, e.id, e.event_type, e.occurred_at, e.subject_type, e.subject_id, \
           e.actor_account_id, e.actor_organisation_id, e.data \
    FROM event_recipients r JOIN events e ON e.seq = r.seq \
    WHERE r.organisation_id = $1 AND (r.tx_id, r.seq) > ($2, $3) \
      AND r.tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
    ORDER BY r.tx_id, r.seq LIMIT $4";

const PLATFORM_FEED: &str = "\
    SELECT e.tx_id, e.seq, e.id, e.event_type, e.occurred_at, e.subject_type, e.subject_id, \
           e.actor_account_id, e.actor_organisation_id, e.data \
    FROM events e \
    WHERE e.for_platform = $1 AND (e.tx_id, e.seq) > ($2, $3) \
      AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
    ORDER BY e.tx_id, e.seq LIMIT $4";

/// Read the event feed
///
/// The events your organisation may see (see `Event`: its organisation and accounts,
/// households, referrals, housing, measures, programmes and webhook endpoints), in commit
/// order, none missing. Poll with `after` set to the `next_cursor` of
/// the last page you processed. A page holds only events whose transaction is older than
/// every transaction still running, so a page may be empty, or shorter than `limit`,
/// while writes are in flight: the events come on the next poll. Each event's `id` is
/// stable, for deduplication. `poll_after_seconds` (and `Retry-After`) says when to ask
/// again: at once after a full page, a few seconds once you are up to date.
#[utoipa::path(
    tag = "events",
    operation_id = "list_events",
    params(FeedParams),
    security(("oauth2" = ["events:read"])),
    responses((status = 200, description = "A page of events", body = EventPage,
        headers(("Retry-After" = String, description = "Seconds before the next poll: `poll_after_seconds`"))))
)]
#[get("/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    caller: Caller,
    params: Query<FeedParams>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadEvents)?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request(
            "limit",
            "out_of_range",
            "limit must be between 1 and 200",
        ));
    }
    let mut conn = db::conn(&state.pool).await?;
    let (tx_id, seq) = match &params.after {
        None => (i64::MIN, i64::MIN),
        Some(after) => decode_feed_position(after)?,
    };
    let rows: Vec<EventRow> = match (caller.role, caller.organisation_id) {
        (Role::PlatformAdmin, _) | (_, None) => {
            diesel::sql_query(PLATFORM_FEED)
                .bind::<Bool, _>(true)
                .bind::<BigInt, _>(tx_id)
                .bind::<BigInt, _>(seq)
                .bind::<BigInt, _>(limit)
                .load(&mut conn)
                .await?
        }
        (_, Some(org)) => {
            diesel::sql_query(ORGANISATION_FEED)
                .bind::<SqlUuid, _>(org)
                .bind::<BigInt, _>(tx_id)
                .bind::<BigInt, _>(seq)
                .bind::<BigInt, _>(limit)
                .load(&mut conn)
                .await?
        }
    };
    let full = rows.len() as i64 >= limit;
    let next_cursor = match rows.last() {
        Some(last) => Some(encode_feed_position(last.tx_id, last.seq)),
        None => params.after.clone(),
    };
    let items: Vec<Event> = rows
        .into_iter()
        .map(|r| Event {
            id: r.id,
            event_type: r.event_type,
            occurred_at: r.occurred_at,
            subject: EventSubject {
                subject_type: r.subject_type,
                id: r.subject_id,
            },
            actor: EventActor {
                account_id: r.actor_account_id,
                organisation_id: r.actor_organisation_id,
            },
            data: r.data,
        })
        .collect();
    let poll_after_seconds = if full { 0 } else { POLL_AFTER_SECONDS };
    Ok(HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::RETRY_AFTER,
            poll_after_seconds.to_string(),
        ))
        .json(EventPage {
            items,
            next_cursor,
            poll_after_seconds,
        }))
}
