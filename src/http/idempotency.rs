//! `Idempotency-Key`: a retried `POST` replays the first response instead of acting twice.
//!
//! The key is claimed in its own short transaction (so a concurrent retry sees it and gets
//! 409), then the work and the stored response commit together in one transaction. Keys
//! are scoped to the calling account and kept 24 hours.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::{self, DbPool};
use crate::error::ApiError;
use crate::schema::idempotency_keys;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// How long a key is remembered.
pub const RETENTION_HOURS: i64 = 24;
/// A request still marked running after this long is taken to have died.
const LEASE_SECONDS: i64 = 60;

/// The `Idempotency-Key` header, when sent: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.headers().get(HEADER) {
            None => Ok(IdempotencyKey(None)),
            Some(v) => match v.to_str() {
                Ok(s)
                    if !s.is_empty()
                        && s.len() <= 255
                        && s.bytes().all(|b| (0x21..=0x7e).contains(&b)) =>
                {
                    Ok(IdempotencyKey(Some(s.to_owned())))
                }
                _ => Err(ApiError::bad_request(
                    "Idempotency-Key",
                    "invalid_header",
                    "Idempotency-Key must be 1 to 255 visible ASCII characters",
                )),
            },
        })
    }
}

/// `Idempotency-Key` as the spec documents it, on every creating or transition `POST`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyHeader {
    /// Makes a retry safe: the same key and body replay the first response.
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 255,
        pattern = r"^[\x21-\x7e]+$"
    )]
    pub idempotency_key: Option<String>,
}

/// A response a handler produced, in a form that can be stored and replayed.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// What to keep for replays when it must differ from `body` (a secret shown once).
    pub stored_body: Option<Vec<u8>>,
}

impl StoredResponse {
    pub fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Self {
        StoredResponse {
            status,
            headers: Vec::new(),
            body: serde_json::to_vec(body).unwrap_or_default(),
            stored_body: None,
        }
    }

    /// Keeps these top-level fields out of what a replay returns: a secret shown once, or
    /// special-category data whose every read must be journalled (a replay is not).
    pub fn not_replayed(mut self, fields: &[&str]) -> Self {
        if let Ok(serde_json::Value::Object(mut map)) = serde_json::from_slice::<serde_json::Value>(
            self.stored_body.as_ref().unwrap_or(&self.body),
        ) {
            for f in fields {
                map.remove(*f);
            }
            self.stored_body = serde_json::to_vec(&serde_json::Value::Object(map)).ok();
        }
        self
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn into_response(self, replayed: bool) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.content_type("application/json");
        for (k, v) in &self.headers {
            res.insert_header((k.as_str(), v.as_str()));
        }
        if replayed {
            res.insert_header((REPLAYED_HEADER, "true"));
        }
        res.body(self.body)
    }
}

/// Sorts object keys so that the same JSON written differently has the same fingerprint.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<_> = map.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&map[k]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The fingerprint of a request: its method, path and body (JSON compared by value).
pub fn fingerprint(req: &HttpRequest, body: &[u8]) -> Vec<u8> {
    let body = match serde_json::from_slice::<Value>(body) {
        Ok(v) => serde_json::to_vec(&canonical(&v)).unwrap_or_default(),
        Err(_) => body.to_vec(),
    };
    let mut h = Sha256::new();
    h.update(req.method().as_str());
    h.update([0]);
    h.update(req.path());
    h.update([0]);
    h.update(&body);
    h.finalize().to_vec()
}

enum Claim {
    Proceed,
    Replay(StoredResponse),
}

#[derive(Queryable)]
struct KeyRow {
    request_hash: Vec<u8>,
    state: String,
    lease_expired: bool,
    response_status: Option<i16>,
    response_headers: Option<Value>,
    response_body: Option<Vec<u8>>,
}

async fn claim(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    key: &str,
    hash: &[u8],
) -> Result<Claim, ApiError> {
    use diesel::dsl::{now, sql};
    use diesel::sql_types::{Bool, Timestamptz};
    use idempotency_keys::dsl as k;

    // Forget keys past retention before looking: an expired key is a new key.
    diesel::delete(
        k::idempotency_keys
            .filter(k::account_id.eq(account))
            .filter(k::idempotency_key.eq(key)),
    )
    .filter(sql::<Bool>(&format!(
        "created_at < now() - interval '{RETENTION_HOURS} hours'"
    )))
    .execute(conn)
    .await?;
    let lease = sql::<Timestamptz>(&format!("now() + interval '{LEASE_SECONDS} seconds'"));
    let inserted = diesel::insert_into(k::idempotency_keys)
        .values((
            k::account_id.eq(account),
            k::idempotency_key.eq(key),
            k::request_hash.eq(hash),
            k::state.eq("running"),
            k::lease_until.eq(lease.clone()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 1 {
        return Ok(Claim::Proceed);
    }
    let row: KeyRow = k::idempotency_keys
        .filter(k::account_id.eq(account))
        .filter(k::idempotency_key.eq(key))
        .select((
            k::request_hash,
            k::state,
            k::lease_until.lt(now),
            k::response_status,
            k::response_headers,
            k::response_body,
        ))
        .first(conn)
        .await?;
    if row.request_hash != hash {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "reused_with_different_request",
            "this Idempotency-Key was already used with a different request",
        ));
    }
    if row.state == "completed" {
        let headers = row
            .response_headers
            .and_then(|h| serde_json::from_value::<Vec<(String, String)>>(h).ok())
            .unwrap_or_default();
        return Ok(Claim::Replay(StoredResponse {
            status: StatusCode::from_u16(row.response_status.unwrap_or(200) as u16)
                .unwrap_or(StatusCode::OK),
            headers,
            body: row.response_body.unwrap_or_default(),
            stored_body: None,
        }));
    }
    if row.lease_expired {
        // The first request died mid-way: take its place, unless another retry just did.
        let taken = diesel::update(
            k::idempotency_keys
                .filter(k::account_id.eq(account))
                .filter(k::idempotency_key.eq(key))
                .filter(k::state.eq("running"))
                .filter(k::lease_until.lt(now)),
        )
        .set(k::lease_until.eq(lease))
        .execute(conn)
        .await?;
        if taken == 1 {
            return Ok(Claim::Proceed);
        }
    }
    Err(ApiError::conflict(
        "a request with this Idempotency-Key is still being processed; retry shortly",
    ))
}

/// The resource an action (`POST /…/{id}/{action}`) is on, with the request's concurrency
/// and retry headers.
pub struct ActionTarget {
    pub id: Uuid,
    pub if_match: crate::http::concurrency::IfMatch,
    pub key: IdempotencyKey,
    pub fingerprint: Vec<u8>,
}

impl ActionTarget {
    /// Runs the action in one transaction under the request's `Idempotency-Key`: `work`
    /// gets the connection, the target's id and the request's `If-Match`.
    pub async fn run<F>(
        self,
        pool: &DbPool,
        account: Uuid,
        work: F,
    ) -> Result<HttpResponse, ApiError>
    where
        F: AsyncFnOnce(
            &mut AsyncPgConnection,
            Uuid,
            crate::http::concurrency::IfMatch,
        ) -> Result<StoredResponse, ApiError>,
    {
        let ActionTarget {
            id,
            if_match,
            key,
            fingerprint,
        } = self;
        run(
            pool,
            account,
            &key,
            fingerprint,
            async move |conn: &mut AsyncPgConnection| work(conn, id, if_match).await,
        )
        .await
    }

    pub fn new(
        req: &HttpRequest,
        body: &[u8],
        id: Uuid,
        if_match: crate::http::concurrency::IfMatch,
        key: IdempotencyKey,
    ) -> Self {
        ActionTarget {
            id,
            if_match,
            key,
            fingerprint: fingerprint(req, body),
        }
    }
}

/// Runs `work` in one transaction, honouring the caller's `Idempotency-Key` when given.
pub async fn run<F>(
    pool: &DbPool,
    account: Uuid,
    key: &IdempotencyKey,
    fingerprint: Vec<u8>,
    work: F,
) -> Result<HttpResponse, ApiError>
where
    F: AsyncFnOnce(&mut AsyncPgConnection) -> Result<StoredResponse, ApiError>,
{
    let mut conn = db::conn(pool).await?;
    let Some(key) = key.0.as_deref() else {
        let response = db::transaction(&mut conn, work).await?;
        return Ok(response.into_response(false));
    };
    match claim(&mut conn, account, key, &fingerprint).await? {
        Claim::Replay(stored) => return Ok(stored.into_response(true)),
        Claim::Proceed => {}
    }
    let key_owned = key.to_owned();
    let result = db::transaction(&mut conn, async move |c: &mut AsyncPgConnection| {
        let response = work(c).await?;
        use idempotency_keys::dsl as k;
        diesel::update(
            k::idempotency_keys
                .filter(k::account_id.eq(account))
                .filter(k::idempotency_key.eq(&key_owned)),
        )
        .set((
            k::state.eq("completed"),
            k::response_status.eq(response.status.as_u16() as i16),
            k::response_headers.eq(serde_json::to_value(&response.headers).unwrap_or(Value::Null)),
            k::response_body.eq(response.stored_body.as_ref().unwrap_or(&response.body)),
        ))
        .execute(c)
        .await?;
        Ok::<_, ApiError>(response)
    })
    .await;
    match result {
        Ok(response) => Ok(response.into_response(false)),
        Err(e) => {
            // Release the key so that the client may retry once the cause is fixed.
            use idempotency_keys::dsl as k;
            let _ = diesel::delete(
                k::idempotency_keys
                    .filter(k::account_id.eq(account))
                    .filter(k::idempotency_key.eq(key))
                    .filter(k::state.eq("running")),
            )
            .execute(&mut conn)
            .await;
            Err(e)
        }
    }
}

/// Deletes keys past retention (a background job).
pub async fn purge_expired(conn: &mut AsyncPgConnection) -> Result<usize, ApiError> {
    use diesel::dsl::sql;
    use diesel::sql_types::Bool;
    Ok(diesel::delete(idempotency_keys::table)
        .filter(sql::<Bool>(&format!(
            "created_at < now() - interval '{RETENTION_HOURS} hours'"
        )))
        .execute(conn)
        .await?)
}
