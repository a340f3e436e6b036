//! `Idempotency-Key`: a retried `POST` replays the first response instead of acting twice.
//!
//! The key is claimed in its own short transaction (so a concurrent retry sees it and gets
//! 409), then the work and the stored response commit together in one transaction. Keys
//! are scoped to the calling account and kept 24 hours.
//!
//! A replay is the first response again: its status, headers and body byte for byte,
//! special-category grounds included, and those are journalled as the read they are. The
//! kept response is sealed (ChaCha20-Poly1305, under `Keys::replay_key`), so that neither
//! special-category data nor any other personal datum lies in clear outside its table. One
//! exception, documented on the operations concerned: a secret shown once (a partner
//! system's client secret, a temporary password) is not kept, and its replay lacks it.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::caller::Caller;
use crate::db;
use crate::error::ApiError;
use crate::households::model::SpecialGround;
use crate::schema::idempotency_keys;
use crate::state::AppState;

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
    /// Makes a retry safe: the same key and body replay the first response (keys are your
    /// account's, kept 24 hours); the same key with another request is a 422
    /// `reused_with_different_request`, and a 409 with `Retry-After` while the first request
    /// still runs.
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
    /// The special-category grounds the body carries, by household: journalled again
    /// whenever the response is replayed.
    pub reads: Vec<(Uuid, Vec<SpecialGround>)>,
}

impl StoredResponse {
    pub fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Self {
        StoredResponse {
            status,
            headers: Vec::new(),
            body: serde_json::to_vec(body).unwrap_or_default(),
            stored_body: None,
            reads: Vec::new(),
        }
    }

    /// A versioned resource: its JSON and its version as a strong `ETag`, for `If-Match`.
    pub fn versioned<T: serde::Serialize>(status: StatusCode, body: &T, version: i32) -> Self {
        Self::json(status, body).header("etag", crate::http::concurrency::etag(version))
    }

    /// Declares the special-category grounds the body carries (household, grounds), so that
    /// a replay journals them as the first response did.
    pub fn carrying(mut self, reads: Vec<(Uuid, Vec<SpecialGround>)>) -> Self {
        self.reads = reads.into_iter().filter(|(_, g)| !g.is_empty()).collect();
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

/// The first byte of a sealed kept response (what came before it was kept in clear).
const SEALED_V1: u8 = 1;

/// `SEALED_V1`, a random nonce, then the reads (as JSON, with their length) and the body,
/// encrypted and authenticated with `key`.
fn seal(
    key: &[u8; 32],
    reads: &[(Uuid, Vec<SpecialGround>)],
    body: &[u8],
) -> Result<Vec<u8>, ApiError> {
    use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
    use chacha20poly1305::ChaCha20Poly1305;
    let reads = serde_json::to_vec(reads).map_err(ApiError::internal)?;
    let mut plain = Vec::with_capacity(4 + reads.len() + body.len());
    plain.extend_from_slice(&(reads.len() as u32).to_be_bytes());
    plain.extend_from_slice(&reads);
    plain.extend_from_slice(body);
    let cipher = ChaCha20Poly1305::new(key.into());
    let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
    let sealed = cipher
        .encrypt(&nonce, plain.as_slice())
        .map_err(|_| ApiError::internal("sealing a kept response failed"))?;
    let mut out = Vec::with_capacity(1 + nonce.len() + sealed.len());
    out.push(SEALED_V1);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

type Opened = (Vec<(Uuid, Vec<SpecialGround>)>, Vec<u8>);

/// The reads and body of a kept response; `None` when it cannot be opened (sealed under
/// another signing key).
fn open(key: &[u8; 32], kept: Vec<u8>) -> Option<Opened> {
    use chacha20poly1305::aead::{Aead, KeyInit};
    use chacha20poly1305::{ChaCha20Poly1305, Nonce};
    if kept.as_slice().first() != Some(&SEALED_V1) {
        // Kept in clear before responses were sealed (within the last 24 hours).
        return Some((Vec::new(), kept));
    }
    if kept.len() < 13 {
        return None;
    }
    let cipher = ChaCha20Poly1305::new(key.into());
    let nonce: [u8; 12] = kept[1..13].try_into().ok()?;
    let plain = cipher.decrypt(&Nonce::from(nonce), &kept[13..]).ok()?;
    let length = u32::from_be_bytes(plain.get(..4)?.try_into().ok()?) as usize;
    let reads = serde_json::from_slice(plain.get(4..4 + length)?).ok()?;
    Some((reads, plain[4 + length..].to_vec()))
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
    replay_key: &[u8; 32],
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
        let Some((reads, body)) = open(replay_key, row.response_body.unwrap_or_default()) else {
            return Err(ApiError::conflict(
                "the first response to this Idempotency-Key was kept under a signing key this service no longer has: it cannot be replayed",
            ));
        };
        return Ok(Claim::Replay(StoredResponse {
            status: StatusCode::from_u16(row.response_status.unwrap_or(200) as u16)
                .unwrap_or(StatusCode::OK),
            headers,
            body,
            stored_body: None,
            reads,
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
    Err(ApiError::still_processing())
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
        state: &AppState,
        caller: &Caller,
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
            state,
            caller,
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

/// An idempotent create's request: its body `B` (a [`crate::http::body::ParsedJson`] or a
/// [`crate::http::body::ValidJson`]), its `Idempotency-Key`, and the fingerprint that ties
/// the key to this request (method, path, canonical body). Extracted as the key then the
/// body would be (a malformed key is refused first).
pub struct Creation<B> {
    pub body: B,
    key: IdempotencyKey,
    fingerprint: Vec<u8>,
}

impl<B> FromRequest for Creation<B>
where
    B: FromRequest<Error = ApiError> + crate::http::body::RequestBody + 'static,
{
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let key = IdempotencyKey::from_request(req, payload).into_inner();
        let body = B::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let key = key?;
            let body = body.await?;
            let fingerprint = fingerprint(&req, body.raw());
            Ok(Creation {
                body,
                key,
                fingerprint,
            })
        })
    }
}

impl<B: crate::http::body::RequestBody> Creation<B> {
    /// Runs the create in one transaction under the request's `Idempotency-Key` (a retry
    /// answers the first response): `work` gets the connection, the body's value and the
    /// field rules it breaks (to report with the rules only the database can check).
    pub async fn run<F>(
        self,
        state: &AppState,
        caller: &Caller,
        work: F,
    ) -> Result<HttpResponse, ApiError>
    where
        F: AsyncFnOnce(
            &mut AsyncPgConnection,
            B::Value,
            Vec<crate::error::FieldError>,
        ) -> Result<StoredResponse, ApiError>,
    {
        let Creation {
            body,
            key,
            fingerprint,
        } = self;
        run(
            state,
            caller,
            &key,
            fingerprint,
            async move |conn: &mut AsyncPgConnection| {
                let (value, errors) = body.into_parts();
                work(conn, value, errors).await
            },
        )
        .await
    }
}

/// Runs `work` in one transaction, honouring the caller's `Idempotency-Key` when given.
pub async fn run<F>(
    state: &AppState,
    caller: &Caller,
    key: &IdempotencyKey,
    fingerprint: Vec<u8>,
    work: F,
) -> Result<HttpResponse, ApiError>
where
    F: AsyncFnOnce(&mut AsyncPgConnection) -> Result<StoredResponse, ApiError>,
{
    let account = caller.account_id;
    let replay_key = state.keys.replay_key;
    let mut conn = db::conn(&state.pool).await?;
    let Some(key) = key.0.as_deref() else {
        let response = db::transaction(&mut conn, work).await?;
        return Ok(response.into_response(false));
    };
    match claim(&mut conn, account, key, &fingerprint, &replay_key).await? {
        Claim::Replay(stored) => {
            // A replay sends the special-category grounds again: a read, journalled.
            crate::households::journal::record(&mut conn, caller, &stored.reads).await?;
            return Ok(stored.into_response(true));
        }
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
            k::response_body.eq(seal(
                &replay_key,
                &response.reads,
                response.stored_body.as_ref().unwrap_or(&response.body),
            )?),
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
