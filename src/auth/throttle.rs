//! Failed sign-ins, counted in PostgreSQL so that every instance shares the count.
//!
//! The attacker is throttled, not the victim: failures count against the address they come
//! from (`address_key`), and against that address's attempts on one account
//! (`attempt_key`), never against the account alone. Someone who knows a partner system's
//! client id, or a person's email, and sends wrong secrets slows themselves down; the
//! system or the person, from its own address, signs in as before.
//!
//! - One address on one account: `PER_ATTEMPT` failures in the window, then it waits until
//!   the oldest of them leaves the window.
//! - One address on any accounts: `ADDRESS_FREE` failures in the window, then each further
//!   attempt waits twice as long as the one before after the latest failure (1 s, 2 s, 4 s…,
//!   at most the window): guessing across many accounts gets slow, a mistyped password does
//!   not lock anyone out.
//!
//! Behind a load balancer the address is the client's as `X-Forwarded-For` gives it, once
//! `PASSERELLE_TRUSTED_PROXY_HOPS` says how many proxies there are (see `client_address`).

use diesel::sql_types::{BigInt, Double, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::error::ApiError;

/// The window failures are counted over.
pub const WINDOW_SECONDS: i64 = 15 * 60;
/// Failures allowed from one address on one account in the window.
pub const PER_ATTEMPT: i64 = 5;
/// Failures from one address (on any accounts) before each attempt backs off.
pub const ADDRESS_FREE: i64 = 10;

/// The key of an address's failures.
pub fn address_key(address: &str) -> String {
    format!("address:{address}")
}

/// The key of an address's failures on one account (a username or a client id).
pub fn attempt_key(address: &str, account: &str) -> String {
    format!("attempt:{address}:{}", account.trim().to_lowercase())
}

/// What an attempt is counted under.
pub struct Attempt {
    address: String,
    attempt: String,
}

impl Attempt {
    pub fn new(address: &str, account: &str) -> Self {
        Attempt {
            address: address_key(address),
            attempt: attempt_key(address, account),
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    failures: i64,
    /// Seconds until the oldest failure counted leaves the window.
    #[diesel(sql_type = Nullable<Double>)]
    oldest_leaves_in: Option<f64>,
    /// Seconds since the latest failure.
    #[diesel(sql_type = Nullable<Double>)]
    since_latest: Option<f64>,
}

async fn count(conn: &mut AsyncPgConnection, key: &str) -> Result<Count, ApiError> {
    Ok(diesel::sql_query(
        "SELECT count(*) AS failures, \
                EXTRACT(EPOCH FROM (min(failed_at) + make_interval(secs => $2) - now()))::float8 AS oldest_leaves_in, \
                EXTRACT(EPOCH FROM (now() - max(failed_at)))::float8 AS since_latest \
         FROM sign_in_failures \
         WHERE throttle_key = $1 AND failed_at > now() - make_interval(secs => $2)",
    )
    .bind::<Text, _>(key)
    .bind::<Double, _>(WINDOW_SECONDS as f64)
    .get_result(conn)
    .await?)
}

/// How long an address that failed `failures` times in the window waits after its latest
/// failure: nothing up to `ADDRESS_FREE`, then 1 s, doubling, at most the window.
pub fn backoff_seconds(failures: i64) -> f64 {
    if failures < ADDRESS_FREE {
        return 0.0;
    }
    let doublings = (failures - ADDRESS_FREE).min(20) as i32;
    2f64.powi(doublings).min(WINDOW_SECONDS as f64)
}

/// `Some(seconds)` to wait when this attempt may not be made now.
pub async fn blocked_for(
    conn: &mut AsyncPgConnection,
    attempt: &Attempt,
) -> Result<Option<u64>, ApiError> {
    let mut wait: f64 = 0.0;
    let on_account = count(conn, &attempt.attempt).await?;
    if on_account.failures >= PER_ATTEMPT {
        wait = wait.max(on_account.oldest_leaves_in.unwrap_or(1.0));
    }
    let from_address = count(conn, &attempt.address).await?;
    let backoff = backoff_seconds(from_address.failures);
    if backoff > 0.0 {
        wait = wait.max(backoff - from_address.since_latest.unwrap_or(backoff));
    }
    Ok((wait > 0.0).then(|| wait.ceil().max(1.0) as u64))
}

pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    attempt: &Attempt,
) -> Result<(), ApiError> {
    for key in [&attempt.address, &attempt.attempt] {
        diesel::sql_query("INSERT INTO sign_in_failures (throttle_key) VALUES ($1)")
            .bind::<Text, _>(key)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// A successful sign-in clears this address's count on the account (not the address's own).
pub async fn clear(conn: &mut AsyncPgConnection, attempt: &Attempt) -> Result<(), ApiError> {
    diesel::sql_query("DELETE FROM sign_in_failures WHERE throttle_key = $1")
        .bind::<Text, _>(&attempt.attempt)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_window() {
        assert_eq!(backoff_seconds(ADDRESS_FREE - 1), 0.0);
        assert_eq!(backoff_seconds(ADDRESS_FREE), 1.0);
        assert_eq!(backoff_seconds(ADDRESS_FREE + 3), 8.0);
        assert_eq!(backoff_seconds(ADDRESS_FREE + 40), WINDOW_SECONDS as f64);
        assert_ne!(
            attempt_key("10.0.0.1", "A@x"),
            attempt_key("10.0.0.2", "a@x")
        );
        assert_eq!(
            attempt_key("10.0.0.1", " A@x"),
            attempt_key("10.0.0.1", "a@x")
        );
    }
}
