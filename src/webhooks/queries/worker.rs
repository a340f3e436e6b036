//! The delivery worker's statements (see `super::super::worker`): dispatching the
//! outbox's events into deliveries, claiming due deliveries under a lease, recording a
//! batch of attempts and the endpoints' health, and purging old deliveries.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::sql_types::{
    Array, BigInt, Bool, Bytea, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::RunQueryDsl;
use serde_json::Value;
use uuid::Uuid;

use super::super::model::{EndpointRow, Outcome};
use super::super::rules::{DELIVERY_RETENTION_DAYS, FAILING_DAYS_BEFORE_DISABLED};
use crate::db::Connection;
use crate::error::ApiError;

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

#[derive(diesel::QueryableByName)]
struct Dispatched {
    #[diesel(sql_type = BigInt)]
    events: i64,
}

/// The advisory lock of the dispatcher (a fixed key: "passerelle webhooks dispatch").
const DISPATCH_LOCK: i64 = 0x7061_7373_7768_6b64;

/// Queues the deliveries of the next `batch` events of the outbox, in the caller's
/// transaction, unless another instance is dispatching (then 0); returns how many events
/// it read.
pub async fn dispatch(c: &mut Connection, batch: i64, now: DateTime<Utc>) -> Result<i64, ApiError> {
    let l: Locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
        .bind::<BigInt, _>(DISPATCH_LOCK)
        .get_result(c)
        .await?;
    if !l.locked {
        return Ok(0);
    }
    let d: Dispatched = diesel::sql_query(DISPATCH_SQL)
        .bind::<BigInt, _>(batch)
        .bind::<Timestamptz, _>(now)
        .get_result(c)
        .await?;
    Ok(d.events)
}

/// The events past the position, within the feed's horizon; their deliveries (an event
/// type asked for exactly, by prefix, or every type); the position moved to the last.
const DISPATCH_SQL: &str = "\
    WITH position AS (SELECT tx_id, seq FROM webhook_dispatch_position), \
    batch AS ( \
        SELECT e.tx_id, e.seq, e.id, e.event_type FROM events e, position p \
        WHERE (e.tx_id, e.seq) > (p.tx_id, p.seq) \
          AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
        ORDER BY e.tx_id, e.seq LIMIT $1), \
    queued AS ( \
        INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, event_seq, \
                                        event_tx_id, next_attempt_at, created_at, updated_at) \
        SELECT passerelle_uuid_v7(), w.id, b.id, b.event_type, b.seq, b.tx_id, $2, $2, $2 \
        FROM batch b \
        JOIN event_recipients r ON r.seq = b.seq \
        JOIN webhook_endpoints w ON w.organisation_id = r.organisation_id AND w.status = 'enabled' \
        WHERE w.event_types = '[]' \
           OR w.event_types ? b.event_type \
           OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(w.event_types) t \
                      WHERE right(t, 1) = '*' AND starts_with(b.event_type, left(t, -1))) \
        ON CONFLICT DO NOTHING \
        RETURNING 1), \
    last AS (SELECT tx_id, seq FROM batch ORDER BY tx_id DESC, seq DESC LIMIT 1), \
    moved AS (UPDATE webhook_dispatch_position SET tx_id = last.tx_id, seq = last.seq \
              FROM last RETURNING 1) \
    SELECT (SELECT count(*) FROM batch) AS events, (SELECT count(*) FROM queued) AS queued, \
           (SELECT count(*) FROM moved) AS moved";

/// A delivery taken by this worker, with what sending it needs.
#[derive(diesel::QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub claim_token: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub endpoint_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub event_id: Uuid,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub event_seq: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub event_tx_id: Option<i64>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub payload: Option<Value>,
    #[diesel(sql_type = Integer)]
    pub attempt_count: i32,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Bytea)]
    pub secret_sealed: Vec<u8>,
    #[diesel(sql_type = Nullable<Bytea>)]
    pub previous_secret_sealed: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub occurred_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub subject_type: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub subject_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub actor_account_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub actor_organisation_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub data: Option<Value>,
}

/// Takes up to `limit` due deliveries of enabled endpoints, at most `per_endpoint` in
/// flight per endpoint (`busy`: this instance's counts), endpoints in random order.
const CLAIM_SQL: &str = "\
    WITH busy AS (SELECT * FROM unnest($2::uuid[], $3::int[]) AS b (endpoint_id, n)), \
    picked AS ( \
        SELECT d.id FROM \
            (SELECT w.id FROM webhook_endpoints w WHERE w.status = 'enabled' ORDER BY random()) w \
            LEFT JOIN busy b ON b.endpoint_id = w.id \
            CROSS JOIN LATERAL ( \
                SELECT d.id FROM webhook_deliveries d \
                WHERE d.endpoint_id = w.id AND d.status = 'pending' AND d.next_attempt_at <= $1 \
                  AND (d.claimed_until IS NULL OR d.claimed_until < $1) \
                ORDER BY d.next_attempt_at \
                LIMIT greatest(0, $4 - coalesce(b.n, 0)) \
                FOR UPDATE SKIP LOCKED) d \
        LIMIT $5), \
    claimed AS ( \
        UPDATE webhook_deliveries d \
        SET claimed_until = $1 + make_interval(secs => $6), claim_token = gen_random_uuid() \
        FROM picked WHERE d.id = picked.id \
        RETURNING d.id, d.claim_token, d.endpoint_id, d.event_id, d.event_type, d.event_seq, \
                  d.event_tx_id, d.payload, d.attempt_count) \
    SELECT c.*, w.url, w.secret_sealed, w.previous_secret_sealed, w.previous_secret_expires_at, \
           e.occurred_at, e.subject_type, e.subject_id, e.actor_account_id, \
           e.actor_organisation_id, e.data \
    FROM claimed c JOIN webhook_endpoints w ON w.id = c.endpoint_id \
    LEFT JOIN events e ON e.seq = c.event_seq";

/// Takes up to `limit` due deliveries at `now` under a lease of `lease_seconds`, at most
/// `per_endpoint` in flight per endpoint (`busy`: this instance's counts).
pub async fn claim(
    conn: &mut Connection,
    now: DateTime<Utc>,
    busy: &[(Uuid, i32)],
    per_endpoint: i32,
    limit: usize,
    lease_seconds: f64,
) -> Result<Vec<Claimed>, ApiError> {
    Ok(diesel::sql_query(CLAIM_SQL)
        .bind::<Timestamptz, _>(now)
        .bind::<Array<SqlUuid>, _>(busy.iter().map(|b| b.0).collect::<Vec<_>>())
        .bind::<Array<Integer>, _>(busy.iter().map(|b| b.1).collect::<Vec<_>>())
        .bind::<Integer, _>(per_endpoint)
        .bind::<BigInt, _>(limit as i64)
        .bind::<diesel::sql_types::Double, _>(lease_seconds)
        .load(conn)
        .await?)
}

/// The attempts of a batch, with each delivery's next attempt (none: settled); a delivery
/// deleted meanwhile keeps none.
pub async fn insert_attempts(
    c: &mut Connection,
    batch: &[Outcome],
    next: &[Option<DateTime<Utc>>],
) -> Result<(), ApiError> {
    diesel::sql_query(
        "INSERT INTO webhook_attempts (id, delivery_id, attempted_at, duration_ms, \
             response_status, response_body, error, error_detail, next_attempt_at) \
         SELECT passerelle_uuid_v7(), u.delivery_id, u.attempted_at, u.duration_ms, \
                u.response_status, u.response_body, u.error, u.error_detail, u.next_attempt_at \
         FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::int[], $5::text[], \
                     $6::text[], $7::text[], $8::timestamptz[]) \
              AS u (delivery_id, attempted_at, duration_ms, response_status, response_body, \
                    error, error_detail, next_attempt_at) \
         WHERE EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = u.delivery_id)",
    )
    .bind::<Array<SqlUuid>, _>(batch.iter().map(|o| o.delivery_id).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(batch.iter().map(|o| o.attempted_at).collect::<Vec<_>>())
    .bind::<Array<Integer>, _>(batch.iter().map(|o| o.duration_ms).collect::<Vec<_>>())
    .bind::<Array<Nullable<Integer>>, _>(
        batch.iter().map(|o| o.response_status).collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(
        batch
            .iter()
            .map(|o| o.response_body.clone())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(
        batch
            .iter()
            .map(|o| o.error.map(|e| e.as_str().to_owned()))
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(
        batch
            .iter()
            .map(|o| o.error_detail.clone())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Timestamptz>>, _>(next.to_vec())
    .execute(c)
    .await?;
    Ok(())
}

/// Each delivery of a batch settled (its status, attempts and next attempt), unless
/// another claim took it meanwhile (its token changed).
pub async fn settle_deliveries(
    c: &mut Connection,
    batch: &[Outcome],
    status: Vec<String>,
    next: Vec<Option<DateTime<Utc>>>,
) -> Result<(), ApiError> {
    diesel::sql_query(
        "UPDATE webhook_deliveries d \
         SET status = u.status, attempt_count = u.attempts, next_attempt_at = u.next, \
             claimed_until = NULL, claim_token = NULL, updated_at = u.at \
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::timestamptz[], \
                     $6::timestamptz[]) AS u (id, token, status, attempts, next, at) \
         WHERE d.id = u.id AND d.claim_token = u.token",
    )
    .bind::<Array<SqlUuid>, _>(batch.iter().map(|o| o.delivery_id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(batch.iter().map(|o| o.claim_token).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(status)
    .bind::<Array<Integer>, _>(batch.iter().map(|o| o.attempt_number).collect::<Vec<_>>())
    .bind::<Array<Nullable<Timestamptz>>, _>(next)
    .bind::<Array<Timestamptz>, _>(batch.iter().map(|o| o.attempted_at).collect::<Vec<_>>())
    .execute(c)
    .await?;
    Ok(())
}

/// An endpoint's health in a batch: its last success, and its first failure after that.
pub type Health = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The endpoints' last success and failing time, from a batch's health (`failing_since`
/// is part of the endpoint as shown: its changes are new versions).
pub async fn update_health(
    c: &mut Connection,
    health: &HashMap<Uuid, Health>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let ids: Vec<Uuid> = health.keys().copied().collect();
    let succeeded: Vec<Option<DateTime<Utc>>> = ids.iter().map(|i| health[i].0).collect();
    let failing: Vec<Option<DateTime<Utc>>> = ids.iter().map(|i| health[i].1).collect();
    // `failing_since` is part of the endpoint as shown: its changes are new versions.
    diesel::sql_query(
        "WITH n AS ( \
             SELECT w.id, u.succeeded, w.failing_since AS was, \
                    CASE WHEN u.failing IS NULL THEN NULL::timestamptz \
                         WHEN u.succeeded IS NOT NULL THEN u.failing \
                         ELSE coalesce(w.failing_since, u.failing) END AS failing_since \
             FROM webhook_endpoints w \
             JOIN unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) \
                  AS u (id, succeeded, failing) ON u.id = w.id \
             FOR UPDATE OF w) \
         UPDATE webhook_endpoints w \
         SET last_success_at = CASE WHEN n.succeeded IS NULL THEN w.last_success_at \
                                    ELSE greatest(w.last_success_at, n.succeeded) END, \
             failing_since = n.failing_since, \
             version = w.version + CASE WHEN n.failing_since IS DISTINCT FROM n.was \
                                        THEN 1 ELSE 0 END, \
             updated_at = CASE WHEN n.failing_since IS DISTINCT FROM n.was \
                               THEN $4 ELSE w.updated_at END \
         FROM n WHERE w.id = n.id",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Nullable<Timestamptz>>, _>(succeeded)
    .bind::<Array<Nullable<Timestamptz>>, _>(failing)
    .bind::<Timestamptz, _>(now)
    .execute(c)
    .await?;
    Ok(())
}

/// Disables the endpoints that answered 410 (`gone`) or have failed for
/// [`FAILING_DAYS_BEFORE_DISABLED`] days (among `failed`); returns them.
pub async fn disable_failing(
    c: &mut Connection,
    gone: Vec<Uuid>,
    failed: Vec<Uuid>,
    now: DateTime<Utc>,
) -> Result<Vec<EndpointRow>, ApiError> {
    Ok(diesel::sql_query(
        "UPDATE webhook_endpoints \
         SET status = 'disabled', \
             disabled_reason = CASE WHEN id = ANY ($1) THEN 'gone' ELSE 'failing' END, \
             disabled_at = $3, version = version + 1, updated_at = $3 \
         WHERE status = 'enabled' \
           AND (id = ANY ($1) \
                OR (id = ANY ($2) AND failing_since <= $3 - make_interval(days => $4))) \
         RETURNING *",
    )
    .bind::<Array<SqlUuid>, _>(gone)
    .bind::<Array<SqlUuid>, _>(failed)
    .bind::<Timestamptz, _>(now)
    .bind::<Integer, _>(FAILING_DAYS_BEFORE_DISABLED as i32)
    .load(c)
    .await?)
}

/// Deliveries deleted per purge transaction.
pub const PURGE_BATCH: usize = 5000;

/// Deletes up to [`PURGE_BATCH`] deliveries (and their attempts) queued more than 30 days
/// before `now`; returns how many.
pub async fn purge_batch(conn: &mut Connection, now: DateTime<Utc>) -> Result<usize, ApiError> {
    let cutoff = now - TimeDelta::days(DELIVERY_RETENTION_DAYS);
    Ok(diesel::sql_query(
        "DELETE FROM webhook_deliveries WHERE id IN \
         (SELECT id FROM webhook_deliveries WHERE created_at < $1 LIMIT $2)",
    )
    .bind::<Timestamptz, _>(cutoff)
    .bind::<BigInt, _>(PURGE_BATCH as i64)
    .execute(conn)
    .await?)
}
