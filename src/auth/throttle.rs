//! Failed sign-ins, counted in PostgreSQL so that every instance shares the count.

use diesel::sql_types::{BigInt, Double, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::error::ApiError;

/// The window failures are counted over.
pub const WINDOW_SECONDS: i64 = 15 * 60;
/// Failures allowed per account (username or client id) in the window.
pub const PER_ACCOUNT: i64 = 5;
/// Failures allowed per client address in the window.
pub const PER_ADDRESS: i64 = 30;

pub fn account_key(username: &str) -> String {
    format!("account:{}", username.trim().to_lowercase())
}

pub fn address_key(address: &str) -> String {
    format!("address:{address}")
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    failures: i64,
    #[diesel(sql_type = Nullable<Double>)]
    seconds_left: Option<f64>,
}

/// `Some(seconds)` to wait when a key has used its allowance.
pub async fn blocked_for(
    conn: &mut AsyncPgConnection,
    keys: &[(String, i64)],
) -> Result<Option<u64>, ApiError> {
    for (key, limit) in keys {
        // The oldest failure that still counts decides when one more attempt is allowed.
        let c: Count = diesel::sql_query(
            "SELECT count(*) AS failures, \
                    EXTRACT(EPOCH FROM (min(failed_at) + make_interval(secs => $2) - now()))::float8 AS seconds_left \
             FROM (SELECT failed_at FROM sign_in_failures \
                   WHERE throttle_key = $1 AND failed_at > now() - make_interval(secs => $2) \
                   ORDER BY failed_at DESC LIMIT $3) recent",
        )
        .bind::<Text, _>(key)
        .bind::<Double, _>(WINDOW_SECONDS as f64)
        .bind::<BigInt, _>(*limit)
        .get_result(conn)
        .await?;
        if c.failures >= *limit {
            return Ok(Some(c.seconds_left.unwrap_or(1.0).ceil().max(1.0) as u64));
        }
    }
    Ok(None)
}

pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    keys: &[(String, i64)],
) -> Result<(), ApiError> {
    for (key, _) in keys {
        diesel::sql_query("INSERT INTO sign_in_failures (throttle_key) VALUES ($1)")
            .bind::<Text, _>(key)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// A successful sign-in clears the account's count (not the address's).
pub async fn clear(conn: &mut AsyncPgConnection, key: &str) -> Result<(), ApiError> {
    diesel::sql_query("DELETE FROM sign_in_failures WHERE throttle_key = $1")
        .bind::<Text, _>(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets failures older than the window (a background job).
pub async fn purge(conn: &mut AsyncPgConnection) -> Result<usize, ApiError> {
    Ok(diesel::sql_query(
        "DELETE FROM sign_in_failures WHERE failed_at < now() - make_interval(secs => $1)",
    )
    .bind::<Double, _>(WINDOW_SECONDS as f64)
    .execute(conn)
    .await?)
}
