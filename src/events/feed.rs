//! The feed's statements: a page of the events an organisation (or the platform) may see,
//! up to the oldest transaction still running, and the feed position as a cursor.

use diesel::sql_types::{BigInt, Bool, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::{Event, EventActor, EventSubject};
use crate::db::Connection;
use crate::error::ApiError;
use crate::http::pagination;

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

pub fn decode_feed_position(cursor: &str) -> Result<(i64, i64), ApiError> {
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

/// Whose feed a page is read from.
pub enum Reader {
    /// The events for the platform's admins.
    Platform,
    /// The events of which the organisation is a recipient.
    Organisation(Uuid),
}

/// Up to `limit` events of the reader's feed after the position `(tx_id, seq)`, in commit
/// order, each with its position.
pub async fn page(
    conn: &mut Connection,
    reader: Reader,
    (tx_id, seq): (i64, i64),
    limit: i64,
) -> Result<Vec<(Event, String)>, ApiError> {
    let rows: Vec<EventRow> = match reader {
        Reader::Platform => {
            diesel::sql_query(PLATFORM_FEED)
                .bind::<Bool, _>(true)
                .bind::<BigInt, _>(tx_id)
                .bind::<BigInt, _>(seq)
                .bind::<BigInt, _>(limit)
                .load(conn)
                .await?
        }
        Reader::Organisation(org) => {
            diesel::sql_query(ORGANISATION_FEED)
                .bind::<SqlUuid, _>(org)
                .bind::<BigInt, _>(tx_id)
                .bind::<BigInt, _>(seq)
                .bind::<BigInt, _>(limit)
                .load(conn)
                .await?
        }
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let position = encode_feed_position(r.tx_id, r.seq);
            let event = Event {
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
            };
            (event, position)
        })
        .collect())
}
