//! The delivery worker: each instance runs one (with its background jobs), and any number
//! of instances share the queue in PostgreSQL.
//!
//! One loop, every `POLL` (at once again after a full batch):
//! 1. **dispatch**: under an advisory lock (one instance at a time), the outbox's events past
//!    the dispatch position and older than every running transaction (the feed's own
//!    horizon: an event is never sent before `GET /v1/events` can show it, nor skipped when
//!    its transaction commits late) become deliveries, one per enabled endpoint of each
//!    organisation the event is for whose `event_types` asks for it; the position moves in
//!    the same transaction, so each event is queued once;
//! 2. **claim**: due deliveries are taken with `FOR UPDATE SKIP LOCKED` (no two instances
//!    take the same) under a lease (`claimed_until`): a crashed instance's deliveries are
//!    taken over when it runs out. Each endpoint has at most `per_endpoint` deliveries in
//!    flight from this instance, and the endpoints are served in random order, so a slow
//!    or dead endpoint holds only its own slots and never delays another's deliveries;
//!    `concurrency` bounds the requests in flight overall;
//! 3. **send**: each delivery is a task: the request, signed, through the guarded client
//!    (`target`); its outcome goes to
//! 4. **record**: one task writes outcomes in batches (one transaction per batch): the
//!    attempts, each delivery's new status and next attempt (`RETRY_SCHEDULE`), the
//!    endpoints' health, and the disabling of endpoints that answered 410 or failed for
//!    five days (with `webhook_endpoint.disabled` in their organisation's feed).
//!
//! Times (due, lease, schedule) are read from the server's clock, which tests move; the
//! `webhook-timestamp` header is the system's, as receivers check it against theirs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::{mpsc, Notify, Semaphore};
use uuid::Uuid;

use super::model::{Outcome, WebhookAttemptError, WebhookDeliveryStatus, WebhookMessage};
use super::queries::worker::{self as queries, Claimed, Health};
use super::rules::{next_attempt, open_secret, signature_header, USER_AGENT};
use super::target;
use crate::calendar::Clock;
use crate::db::{Connection, DbPool};
use crate::error::ApiError;
use crate::events::{self, Event, EventActor, EventSubject};

pub use super::queries::worker::{purge_batch, PURGE_BATCH};

/// How the worker runs.
#[derive(Clone)]
pub struct Settings {
    /// Requests in flight at once from this instance (`PASSERELLE_WEBHOOKS_CONCURRENCY`).
    pub concurrency: usize,
    /// Requests in flight at once to one endpoint from this instance
    /// (`PASSERELLE_WEBHOOKS_ENDPOINT_CONCURRENCY`).
    pub per_endpoint: usize,
    /// How long an attempt may take (`PASSERELLE_WEBHOOKS_TIMEOUT_SECONDS`, 15).
    pub timeout: Duration,
    /// `PASSERELLE_WEBHOOKS_ALLOW_PRIVATE`: loopback, private addresses and plain `http`
    /// allowed (development and tests only).
    pub allow_private: bool,
    /// Opens the endpoints' secrets.
    pub sealing_key: [u8; 32],
    pub clock: Clock,
}

/// How long the worker waits when nothing was due.
const POLL: Duration = Duration::from_millis(100);
/// Events read from the outbox per dispatch transaction.
const DISPATCH_BATCH: i64 = 2000;
/// Deliveries taken per claim.
const CLAIM_BATCH: usize = 500;
/// Outcomes written per transaction.
const RECORD_BATCH: usize = 1000;
/// A claim's lease beyond the attempt's timeout: time to record the outcome.
const LEASE_MARGIN: Duration = Duration::from_secs(45);
/// The first bytes of an answer kept with its attempt.
const RESPONSE_KEPT: usize = 1024;

/// The HTTP client of deliveries: rustls, no redirect followed, no proxy from the
/// environment, the guarded resolver, the attempt's timeout.
pub fn client(settings: &Settings) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(USER_AGENT)
        .dns_resolver(Arc::new(target::GuardedResolver {
            allow_private: settings.allow_private,
        }))
        .build()
        .map_err(|e| format!("cannot build the webhook client: {e}"))
}

/// Starts the worker on the current runtime.
pub fn spawn(pool: DbPool, settings: Settings) -> Result<(), String> {
    let (outcomes, received) = mpsc::unbounded_channel::<Outcome>();
    actix_web::rt::spawn(recorder(pool.clone(), settings.clock.clone(), received));
    let worker = Worker {
        client: client(&settings)?,
        permits: Arc::new(Semaphore::new(settings.concurrency.max(1))),
        in_flight: Arc::default(),
        freed: Arc::new(Notify::new()),
        pool,
        settings,
        outcomes,
    };
    actix_web::rt::spawn(async move {
        // The outbox is read every POLL, or at once again while it has more.
        let mut next_dispatch = Instant::now();
        loop {
            let dispatch = Instant::now() >= next_dispatch;
            let busy = match worker.turn(dispatch).await {
                Ok((busy, more_events)) => {
                    if dispatch {
                        next_dispatch =
                            Instant::now() + if more_events { Duration::ZERO } else { POLL };
                    }
                    busy || more_events
                }
                Err(e) => {
                    log::warn!("webhook delivery: {e}");
                    false
                }
            };
            if !busy {
                tokio::select! {
                    _ = worker.freed.notified() => {}
                    _ = actix_web::rt::time::sleep(POLL) => {}
                }
            }
        }
    });
    Ok(())
}

/// A worker's state: nothing another instance needs (the queue is in PostgreSQL).
struct Worker {
    pool: DbPool,
    settings: Settings,
    client: reqwest::Client,
    /// Requests in flight overall.
    permits: Arc<Semaphore>,
    /// Requests in flight per endpoint.
    in_flight: Arc<Mutex<HashMap<Uuid, i32>>>,
    /// Told when an attempt ends: an endpoint at its limit may take another delivery.
    freed: Arc<Notify>,
    outcomes: mpsc::UnboundedSender<Outcome>,
}

impl Worker {
    /// One turn: dispatch (when `dispatch`), claim, send. Whether more deliveries may be
    /// due at once, and whether the outbox has more events past the batch dispatched.
    async fn turn(&self, dispatch: bool) -> Result<(bool, bool), ApiError> {
        let settings = &self.settings;
        let more_events =
            dispatch && self::dispatch(&self.pool, settings.clock.now()).await? >= DISPATCH_BATCH;
        // Wait for a free slot before claiming: what is claimed is sent at once.
        let free = match self.permits.available_permits() {
            0 => {
                drop(self.permits.acquire().await);
                self.permits.available_permits()
            }
            n => n,
        };
        let busy: Vec<(Uuid, i32)> = self
            .in_flight
            .lock()
            .expect("in-flight counts")
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect();
        let limit = free.min(CLAIM_BATCH);
        let claimed = claim(&self.pool, settings, settings.clock.now(), limit, &busy).await?;
        let full = claimed.len() >= limit;
        for delivery in claimed {
            let permit = self
                .permits
                .clone()
                .acquire_owned()
                .await
                .map_err(ApiError::internal)?;
            *self
                .in_flight
                .lock()
                .expect("in-flight counts")
                .entry(delivery.endpoint_id)
                .or_default() += 1;
            let client = self.client.clone();
            let settings = settings.clone();
            let in_flight = self.in_flight.clone();
            let outcomes = self.outcomes.clone();
            let freed = self.freed.clone();
            actix_web::rt::spawn(async move {
                let outcome = attempt(&client, &settings, &delivery).await;
                {
                    let mut counts = in_flight.lock().expect("in-flight counts");
                    if let Some(n) = counts.get_mut(&delivery.endpoint_id) {
                        *n -= 1;
                        if *n <= 0 {
                            counts.remove(&delivery.endpoint_id);
                        }
                    }
                }
                let _ = outcomes.send(outcome);
                drop(permit);
                freed.notify_one();
            });
        }
        Ok((full, more_events))
    }
}

/// Queues the deliveries of the next events of the outbox (see the module); returns how
/// many events it read (0 when another instance is dispatching).
pub async fn dispatch(pool: &DbPool, now: DateTime<Utc>) -> Result<i64, ApiError> {
    let mut conn = crate::db::conn(pool).await?;
    crate::db::transaction(&mut conn, async move |c: &mut Connection| {
        queries::dispatch(c, DISPATCH_BATCH, now).await
    })
    .await
}

async fn claim(
    pool: &DbPool,
    settings: &Settings,
    now: DateTime<Utc>,
    limit: usize,
    busy: &[(Uuid, i32)],
) -> Result<Vec<Claimed>, ApiError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let lease = (settings.timeout + LEASE_MARGIN).as_secs_f64();
    let mut conn = crate::db::conn(pool).await?;
    queries::claim(
        &mut conn,
        now,
        busy,
        settings.per_endpoint as i32,
        limit,
        lease,
    )
    .await
}

/// The body of a delivery: the event as the feed shows it and its feed position, or the
/// stored message of a test.
fn body(d: &Claimed) -> Result<Vec<u8>, String> {
    let message = match (&d.payload, d.event_seq, d.event_tx_id) {
        (Some(payload), _, _) => return serde_json::to_vec(payload).map_err(|e| e.to_string()),
        (None, Some(seq), Some(tx)) => WebhookMessage {
            event: Event {
                id: d.event_id,
                event_type: d.event_type.clone(),
                occurred_at: d.occurred_at.ok_or("the event is gone")?,
                subject: EventSubject {
                    subject_type: d.subject_type.clone().unwrap_or_default(),
                    id: d.subject_id.unwrap_or_default(),
                },
                actor: EventActor {
                    account_id: d.actor_account_id,
                    organisation_id: d.actor_organisation_id,
                },
                data: d.data.clone().unwrap_or(Value::Null),
            },
            feed_position: Some(events::feed::encode_feed_position(tx, seq)),
        },
        _ => return Err("a delivery without its event".into()),
    };
    serde_json::to_vec(&message).map_err(|e| e.to_string())
}

/// Sends one delivery and says how it went.
async fn attempt(client: &reqwest::Client, settings: &Settings, d: &Claimed) -> Outcome {
    let attempted_at = settings.clock.now();
    let started = Instant::now();
    let mut outcome = Outcome {
        delivery_id: d.id,
        claim_token: d.claim_token,
        endpoint_id: d.endpoint_id,
        attempt_number: d.attempt_count + 1,
        attempted_at,
        duration_ms: 0,
        response_status: None,
        response_body: None,
        error: None,
        error_detail: None,
    };
    let fail = |mut o: Outcome, error: WebhookAttemptError, detail: String| {
        o.error = Some(error);
        o.error_detail = Some(detail);
        o.duration_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
        o
    };
    // The URL was checked at creation; the rules (or the configuration) may have changed.
    if let Err(refusal) = target::check_form(&d.url, settings.allow_private) {
        return fail(
            outcome,
            WebhookAttemptError::ForbiddenAddress,
            refusal.message,
        );
    }
    let body = match body(d) {
        Ok(b) => b,
        Err(e) => {
            return fail(
                outcome,
                WebhookAttemptError::Connection,
                format!("not sent: {e}"),
            )
        }
    };
    let mut keys = Vec::with_capacity(2);
    match open_secret(&settings.sealing_key, d.endpoint_id, &d.secret_sealed) {
        Some(k) => keys.push(k),
        None => {
            log::error!(
                "webhook endpoint {}: its secret does not open with this instance's sealing key (PASSERELLE_SECRETS_KEY_FILE)",
                d.endpoint_id
            );
            return fail(
                outcome,
                WebhookAttemptError::Connection,
                "not sent: the service cannot sign for this endpoint (its operators are told)"
                    .into(),
            );
        }
    }
    if let (Some(sealed), Some(until)) = (&d.previous_secret_sealed, d.previous_secret_expires_at) {
        if until > attempted_at {
            keys.extend(open_secret(&settings.sealing_key, d.endpoint_id, sealed));
        }
    }
    let message_id = d.event_id.to_string();
    let timestamp = Utc::now().timestamp();
    let signature = signature_header(&keys, &message_id, timestamp, &body);
    let sent = client
        .post(&d.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let mut response = match sent {
        Ok(r) => r,
        Err(e) => {
            // The URL (its query may carry a token) is the endpoint's, not the attempt's.
            let (kind, detail) = classify(&e.without_url());
            return fail(outcome, kind, detail);
        }
    };
    let status = response.status();
    let mut kept: Vec<u8> = Vec::new();
    while kept.len() < RESPONSE_KEPT {
        match response.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
            _ => break,
        }
    }
    kept.truncate(RESPONSE_KEPT);
    outcome.duration_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
    outcome.response_status = Some(status.as_u16() as i32);
    outcome.response_body = Some(String::from_utf8_lossy(&kept).replace('\0', ""));
    if status.is_redirection() {
        outcome.error = Some(WebhookAttemptError::Redirect);
    } else if !status.is_success() {
        outcome.error = Some(WebhookAttemptError::HttpStatus);
    }
    outcome
}

/// What kind of failure a request without an answer had, and the client's words for it.
fn classify(e: &reqwest::Error) -> (WebhookAttemptError, String) {
    let mut detail = e.to_string();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    let mut kind = if e.is_timeout() {
        Some(WebhookAttemptError::Timeout)
    } else {
        None
    };
    while let Some(s) = source {
        if let Some(f) = s.downcast_ref::<target::ForbiddenAddress>() {
            return (WebhookAttemptError::ForbiddenAddress, f.0.clone());
        }
        if let Some(u) = s.downcast_ref::<target::Unresolvable>() {
            return (WebhookAttemptError::Dns, u.0.clone());
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                kind = kind.or(Some(WebhookAttemptError::ConnectionRefused));
            }
            if io.kind() == std::io::ErrorKind::TimedOut {
                kind = kind.or(Some(WebhookAttemptError::Timeout));
            }
        }
        let text = s.to_string();
        let lower = text.to_ascii_lowercase();
        if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
            kind = kind.or(Some(WebhookAttemptError::Tls));
        }
        detail = format!("{detail}: {text}");
        source = s.source();
    }
    detail.truncate(500);
    (kind.unwrap_or(WebhookAttemptError::Connection), detail)
}

async fn recorder(pool: DbPool, clock: Clock, mut received: mpsc::UnboundedReceiver<Outcome>) {
    while let Some(first) = received.recv().await {
        let mut batch = vec![first];
        while batch.len() < RECORD_BATCH {
            match received.try_recv() {
                Ok(o) => batch.push(o),
                Err(_) => break,
            }
        }
        let mut tries = 0;
        loop {
            match record(&pool, &clock, &batch).await {
                Ok(()) => break,
                Err(e) if tries < 5 => {
                    tries += 1;
                    log::warn!(
                        "recording {} webhook attempt(s) failed, again: {e}",
                        batch.len()
                    );
                    actix_web::rt::time::sleep(Duration::from_millis(200 * tries)).await;
                }
                Err(e) => {
                    // Their leases run out: the deliveries are sent again (at least once).
                    log::error!("recording {} webhook attempt(s) failed: {e}", batch.len());
                    break;
                }
            }
        }
    }
}

/// Writes a batch of outcomes in one transaction (see the module).
async fn record(pool: &DbPool, clock: &Clock, batch: &[Outcome]) -> Result<(), ApiError> {
    let now = clock.now();
    let mut next: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(batch.len());
    let mut status: Vec<String> = Vec::with_capacity(batch.len());
    for o in batch {
        let (s, n) = if o.succeeded() {
            (WebhookDeliveryStatus::Succeeded, None)
        } else if o.gone() {
            (WebhookDeliveryStatus::Failed, None)
        } else {
            match next_attempt(o.attempted_at, o.attempt_number) {
                Some(t) => (WebhookDeliveryStatus::Pending, Some(t)),
                None => (WebhookDeliveryStatus::Failed, None),
            }
        };
        status.push(s.as_str().to_owned());
        next.push(n);
    }
    // Per endpoint: its last success in the batch, and its first failure after that.
    let mut health: HashMap<Uuid, Health> = HashMap::new();
    let mut order: Vec<&Outcome> = batch.iter().collect();
    order.sort_by_key(|o| o.attempted_at);
    for o in order {
        let h = health.entry(o.endpoint_id).or_default();
        if o.succeeded() {
            *h = (Some(o.attempted_at), None);
        } else if h.1.is_none() {
            h.1 = Some(o.attempted_at);
        }
    }
    let failed_endpoints: Vec<Uuid> = health
        .iter()
        .filter(|(_, h)| h.1.is_some())
        .map(|(id, _)| *id)
        .collect();
    let gone: Vec<Uuid> = batch
        .iter()
        .filter(|o| o.gone())
        .map(|o| o.endpoint_id)
        .collect();
    let mut conn = crate::db::conn(pool).await?;
    crate::db::transaction(&mut conn, async move |c: &mut Connection| {
        queries::insert_attempts(c, batch, &next).await?;
        queries::settle_deliveries(c, batch, status, next).await?;
        queries::update_health(c, &health, now).await?;
        let disabled = queries::disable_failing(c, gone, failed_endpoints, now).await?;
        for d in disabled {
            log::info!(
                "webhook endpoint {} disabled ({})",
                d.id,
                d.disabled_reason.map(|r| r.as_str()).unwrap_or_default()
            );
            super::service::endpoint_event(c, None, "webhook_endpoint.disabled", &d).await?;
        }
        Ok(())
    })
    .await
}
