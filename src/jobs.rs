//! Background jobs, run by every instance on a schedule and safe when several run at once:
//! each job takes a PostgreSQL advisory lock for its run, so one instance does it at a time.

use std::time::Duration;

use diesel::sql_types::{BigInt, Bool};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::DbPool;
use crate::error::ApiError;

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// A stable advisory-lock key for a job name (FNV-1a).
fn lock_key(name: &str) -> i64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h as i64
}

/// Runs `job` in a transaction holding the job's advisory lock; does nothing when another
/// instance holds it.
pub async fn run_exclusive<F>(pool: &DbPool, name: &'static str, job: F) -> Result<bool, ApiError>
where
    F: AsyncFnOnce(&mut AsyncPgConnection) -> Result<(), ApiError>,
{
    let mut conn = crate::db::conn(pool).await?;
    crate::db::transaction(&mut conn, async move |c: &mut AsyncPgConnection| {
        let l: Locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
            .bind::<BigInt, _>(lock_key(name))
            .get_result(c)
            .await?;
        if !l.locked {
            return Ok(false);
        }
        job(c).await?;
        diesel::sql_query(
            "INSERT INTO job_runs (job_name, last_run_at) VALUES ($1, now()) \
             ON CONFLICT (job_name) DO UPDATE SET last_run_at = now()",
        )
        .bind::<diesel::sql_types::Text, _>(name)
        .execute(c)
        .await?;
        Ok(true)
    })
    .await
}

/// The housekeeping of the foundation: forget idempotency keys past 24 h, failed sign-ins
/// past their window, refresh tokens long expired.
pub async fn housekeeping(pool: &DbPool) -> Result<(), ApiError> {
    run_exclusive(pool, "housekeeping", async |c: &mut AsyncPgConnection| {
        crate::http::idempotency::purge_expired(c).await?;
        crate::auth::throttle::purge(c).await?;
        diesel::sql_query("DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day'")
            .execute(c)
            .await?;
        Ok(())
    })
    .await?;
    Ok(())
}

/// Expires the referrals left unanswered past their deadline and the grace period, as of
/// `today` (the French legal date: `calendar::today()` when scheduled).
pub async fn expire_referrals(
    pool: &DbPool,
    today: chrono::NaiveDate,
    grace_days: i64,
) -> Result<(), ApiError> {
    run_exclusive(
        pool,
        "referral_expiry",
        async |c: &mut AsyncPgConnection| {
            let n = crate::referrals::service::expire_overdue(c, today, grace_days).await?;
            if n > 0 {
                log::info!("expired {n} referral(s)");
            }
            Ok(())
        },
    )
    .await?;
    Ok(())
}

/// Expires the active agreements whose `ends_on` has passed as of `today` (the French
/// legal date: `calendar::today()` when scheduled); their units leave them.
pub async fn expire_agreements(pool: &DbPool, today: chrono::NaiveDate) -> Result<(), ApiError> {
    run_exclusive(
        pool,
        "agreement_expiry",
        async |c: &mut AsyncPgConnection| {
            let n = crate::units::service::agreements::expire_ended(c, today).await?;
            if n > 0 {
                log::info!("expired {n} agreement(s)");
            }
            Ok(())
        },
    )
    .await?;
    Ok(())
}

/// Deletes the webhook deliveries (and their attempts) queued more than 30 days before
/// `now`, 5 000 at a time, each batch in its own transaction under the job's lock.
pub async fn purge_webhook_deliveries(
    pool: &DbPool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, ApiError> {
    let mut total = 0;
    loop {
        let mut deleted = 0;
        let ran = run_exclusive(
            pool,
            "webhook_delivery_purge",
            async |c: &mut AsyncPgConnection| {
                deleted = crate::webhooks::worker::purge_batch(c, now).await?;
                Ok(())
            },
        )
        .await?;
        total += deleted;
        if !ran || deleted < crate::webhooks::worker::PURGE_BATCH {
            if total > 0 {
                log::info!("purged {total} webhook deliveries");
            }
            return Ok(total);
        }
    }
}

/// Spawns the scheduler on the current runtime; `clock` is the server's.
pub fn spawn(pool: DbPool, referral_expiry_grace_days: i64, clock: crate::calendar::Clock) {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let now = clock.now();
            let today = crate::calendar::date_at(now);
            if let Err(e) = housekeeping(&pool).await {
                log::warn!("housekeeping failed: {e}");
            }
            if let Err(e) = expire_referrals(&pool, today, referral_expiry_grace_days).await {
                log::warn!("referral expiry failed: {e}");
            }
            if let Err(e) = expire_agreements(&pool, today).await {
                log::warn!("agreement expiry failed: {e}");
            }
            if let Err(e) = purge_webhook_deliveries(&pool, now).await {
                log::warn!("webhook delivery purge failed: {e}");
            }
        }
    });
}
