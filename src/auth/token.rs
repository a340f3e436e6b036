//! `POST /v1/auth/token`: the OAuth 2.0 token endpoint (RFC 6749), the one endpoint whose
//! errors are OAuth's (`{"error": "invalid_grant", …}`) rather than problem+json.

use actix_web::http::{header, StatusCode};
use actix_web::{post, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::caller::{issue_access_token, Subject};
use crate::auth::policy::effective_scopes;
use crate::auth::{secrets, throttle};
use crate::db;
use crate::error::ApiError;
use crate::http::body::{is_json_content_type, parse_value, read_body};
use crate::identity::model::{AccountKind, AccountRow, Scope};
use crate::schema::{accounts, refresh_tokens, sessions};
use crate::state::AppState;

/// The grants the token endpoint answers (RFC 6749 §4.3, §4.4, §6), as the spec types
/// `grant_type`: read as text, so that another value is OAuth's `unsupported_grant_type`.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum GrantType {
    Password,
    ClientCredentials,
    RefreshToken,
}

/// A token request, as JSON or `application/x-www-form-urlencoded`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"grant_type": "client_credentials", "client_id": "pcl_Qm9uam91cg-Hb3Rj", "client_secret": "Zr4v…"}))]
pub struct TokenRequest {
    /// `password`, `client_credentials` or `refresh_token`.
    #[schema(required = true, nullable = false, value_type = GrantType, example = "password")]
    pub grant_type: Option<String>,
    /// `password`: the person's email.
    pub username: Option<String>,
    /// `password`: the person's password.
    pub password: Option<String>,
    /// `client_credentials`: the system's client id (or use HTTP Basic authentication).
    pub client_id: Option<String>,
    /// `client_credentials`: the system's client secret.
    pub client_secret: Option<String>,
    /// `refresh_token`: the refresh token received last.
    pub refresh_token: Option<String>,
    /// Optional: space-separated scopes. `password` and `client_credentials`: a subset of
    /// the account's (default: all of them). `refresh_token`: a subset of those the sign-in
    /// session was first granted (default: all of those, as far as the account still holds
    /// them); more is `invalid_scope`, and the refresh token stays usable.
    pub scope: Option<String>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6…", "token_type": "Bearer",
    "expires_in": 900, "refresh_token": "q8Xv…", "scope": "accounts:read events:read organisations:read"}))]
pub struct TokenResponse {
    /// A JWT signed with EdDSA; send it as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// For `password` and `refresh_token` grants: single use; each use returns a new one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The scopes the access token carries.
    pub scope: String,
}

/// An OAuth error (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"error": "invalid_grant", "error_description": "the username or password is wrong"}))]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unsupported_grant_type`,
    /// `invalid_scope`; `server_error` (500) and `temporarily_unavailable` (503).
    pub error: &'static str,
    pub error_description: String,
    #[serde(skip)]
    status: u16,
    #[serde(skip)]
    retry_after: Option<u64>,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            error,
            error_description: description.into(),
            status,
            retry_after: None,
        }
    }
    pub(crate) fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", d)
    }
    fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(400, "invalid_grant", d)
    }
    fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(401, "invalid_client", d)
    }
    fn throttled(seconds: u64) -> Self {
        let mut e = Self::new(
            429,
            "invalid_grant",
            format!("too many failed attempts; retry in {seconds} seconds"),
        );
        e.retry_after = Some(seconds);
        e
    }

    /// The response; a 401 challenges for Basic only when the client authenticated with
    /// Basic (RFC 6749 §5.2): a secret sent in the body that turns out wrong must not make a
    /// browser open its login dialog.
    pub(crate) fn into_response(self, used_basic: bool) -> HttpResponse {
        let mut res = HttpResponse::build(
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST),
        );
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        if self.status == 401 && used_basic {
            res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"passerelle\""));
        }
        if let Some(s) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, s.to_string()));
        }
        res.json(self)
    }
}

impl From<ApiError> for OAuthError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::PayloadTooLarge { limit } => OAuthError::invalid_request(format!(
                "the request body is larger than {limit} bytes"
            )),
            ApiError::BadRequest { detail, .. } => OAuthError::invalid_request(detail),
            ApiError::Unavailable(cause) => {
                log::warn!("token endpoint: database unavailable: {cause}");
                let mut e = OAuthError::new(
                    503,
                    "temporarily_unavailable",
                    "the service is unavailable; retry later",
                );
                e.retry_after = Some(5);
                e
            }
            other => {
                let p = other.to_problem();
                log::error!("token endpoint failed (request {}): {other}", p.request_id);
                OAuthError::new(500, "server_error", "an unexpected error occurred")
            }
        }
    }
}

/// Reads an OAuth request's parameters: form-encoded as RFC 6749 says, or a JSON object.
/// One of the `known` parameters sent twice is `invalid_request` (RFC 6749 §3.2), so is one
/// whose value holds NUL; other parameters are ignored, as §3.1 requires.
pub(crate) fn read_form<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
    known: &[&str],
) -> Result<T, OAuthError> {
    let nul = || OAuthError::invalid_request("parameters must not contain the NUL character");
    let parsed: T = if is_json_content_type(req) {
        let invalid = |e: String| {
            OAuthError::invalid_request(format!("the body is not a valid request: {e}"))
        };
        let (value, repeated) = parse_value(body).map_err(|e| invalid(e.to_problem().detail))?;
        if let Some(key) = repeated.iter().find(|k| known.contains(&k.field.as_str())) {
            return Err(OAuthError::invalid_request(format!(
                "the parameter `{}` is sent more than once",
                key.field
            )));
        }
        let known_nul = value.as_object().is_some_and(|o| {
            o.iter()
                .any(|(k, v)| known.contains(&k.as_str()) && v.to_string().contains("\\u0000"))
        });
        if known_nul {
            return Err(nul());
        }
        serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?
    } else if req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
    {
        // RFC 6749 §3.2: parameters must not be included more than once.
        let mut seen = std::collections::HashSet::new();
        for (name, value) in form_urlencoded::parse(body) {
            if known.contains(&name.as_ref()) && value.contains('\0') {
                return Err(nul());
            }
            if known.contains(&name.as_ref()) && !seen.insert(name.clone()) {
                return Err(OAuthError::invalid_request(format!(
                    "the parameter `{name}` is sent more than once"
                )));
            }
        }
        serde_urlencoded::from_bytes(body).map_err(|e| {
            OAuthError::invalid_request(format!("the form is not a valid request: {e}"))
        })?
    } else {
        return Err(OAuthError::invalid_request(
            "send the request as application/x-www-form-urlencoded or application/json",
        ));
    };
    Ok(parsed)
}

fn parse_request(req: &HttpRequest, body: &[u8]) -> Result<TokenRequest, OAuthError> {
    let mut parsed: TokenRequest = read_form(
        req,
        body,
        &[
            "grant_type",
            "username",
            "password",
            "client_id",
            "client_secret",
            "refresh_token",
            "scope",
        ],
    )?;
    // RFC 6749 §2.3.1: client credentials may come as HTTP Basic authentication.
    if let Some(basic) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| crate::auth::caller::credentials_of_scheme(v, "basic"))
    {
        let decoded = STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| OAuthError::invalid_client("the Basic credentials are malformed"))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| OAuthError::invalid_client("the Basic credentials are malformed"))?;
        // RFC 6749 §2.3: one authentication method per request. A secret in the body as
        // well, or another client named there, is a request that says two things.
        if parsed.client_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "the client authenticates once: with HTTP Basic or with client_secret in the body, not both",
            ));
        }
        if parsed
            .client_id
            .as_deref()
            .is_some_and(|body_id| body_id != id)
        {
            return Err(OAuthError::invalid_request(
                "client_id in the body names another client than the Basic credentials",
            ));
        }
        parsed.client_id = Some(id.to_owned());
        parsed.client_secret = Some(secret.to_owned());
    }
    Ok(parsed)
}

/// Whether the client authenticates with HTTP Basic (RFC 6749 §2.3.1).
fn uses_basic(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| crate::auth::caller::credentials_of_scheme(v, "basic"))
        .is_some()
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
    match value.as_deref() {
        None | Some("") => Err(OAuthError::invalid_request(format!("{name} is required"))),
        Some(v) if v.len() > MAX_PARAMETER_BYTES => Err(OAuthError::invalid_request(format!(
            "{name} is longer than {MAX_PARAMETER_BYTES} bytes"
        ))),
        Some(v) => Ok(v),
    }
}

/// The longest parameter value the token endpoint reads.
const MAX_PARAMETER_BYTES: usize = 1024;

/// The scopes of a new token: those asked for, which must all be among `allowed`; all of
/// `allowed` when none are asked for. More is `invalid_scope` (RFC 6749 §3.3, §6).
fn granted_scopes(allowed: Vec<Scope>, requested: Option<&str>) -> Result<Vec<Scope>, OAuthError> {
    match requested.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(allowed),
        Some(req) => {
            let mut out = Vec::new();
            for s in req.split_whitespace() {
                match s.parse::<Scope>() {
                    Ok(scope) if allowed.contains(&scope) => {
                        if !out.contains(&scope) {
                            out.push(scope)
                        }
                    }
                    _ => {
                        return Err(OAuthError::new(
                            400,
                            "invalid_scope",
                            format!("scope {s} is not granted to this account or session"),
                        ))
                    }
                }
            }
            Ok(out)
        }
    }
}

/// What an account's tokens may carry now: its role's scopes (a partner system: those it was
/// granted, within its role's).
fn account_scopes(account: &AccountRow) -> Vec<Scope> {
    effective_scopes(account.kind, account.role, &account.scope_list())
}

/// The response of every grant: a signed access token, and the refresh token if any.
fn token_response(
    state: &AppState,
    account: &AccountRow,
    scopes: &[Scope],
    session_id: Option<Uuid>,
    refresh_token: Option<String>,
) -> Result<TokenResponse, OAuthError> {
    let (access_token, expires_in) = issue_access_token(
        state,
        Subject {
            account_id: account.id,
            organisation_id: account.organisation_id,
            role: account.role,
            credentials_version: account.credentials_version,
            scopes,
            session_id,
        },
    )?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        refresh_token,
        scope: crate::identity::model::join_scopes(scopes),
    })
}

/// The address a request comes from: the peer's, or behind `PASSERELLE_TRUSTED_PROXY_HOPS`
/// proxies the entry of `X-Forwarded-For` that the nearest of them received it from (an
/// entry further left could be written by the client itself).
fn client_address(state: &AppState, req: &HttpRequest) -> String {
    let peer = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let hops = state.config.trusted_proxy_hops;
    if hops == 0 {
        return peer;
    }
    let forwarded: Vec<String> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
        .collect();
    forwarded
        .len()
        .checked_sub(hops)
        .map(|i| forwarded[i].clone())
        .unwrap_or(peer)
}

/// Issue a token
///
/// The OAuth 2.0 token endpoint, form-encoded as RFC 6749 says (the same parameters are also
/// read from a JSON object). `client_credentials` for partner systems (client id and
/// secret in the body or as HTTP Basic, not both); `password` and `refresh_token` for people using
/// the front-end. Refresh tokens are single use: each use returns a new one, and presenting
/// a used one again revokes the whole session. Failed attempts slow down the address they come
/// from, never the account (429 with `Retry-After`): five on one account from one address,
/// then that address waits until the first of them is 15 minutes old; past ten on any accounts,
/// each attempt from the address waits twice as long as the last. A refresh gives the scopes
/// the sign-in session was first granted, or fewer (`scope`); more is `invalid_scope`, and a
/// refused refresh leaves its refresh token usable. Errors follow RFC 6749 §5.2, not
/// problem+json.
#[utoipa::path(
    tag = "auth",
    operation_id = "create_token",
    request_body(content(
        (TokenRequest = "application/x-www-form-urlencoded"),
    )),
    security(()),
    responses(
        (status = 200, description = "A token", body = TokenResponse),
        (status = 400, description = "invalid_request, invalid_grant, unsupported_grant_type or invalid_scope", body = OAuthError,
         example = json!({"error": "invalid_grant", "error_description": "the username or password is wrong"})),
        (status = 401, description = "invalid_client: unknown client or wrong secret. The Basic challenge comes only when the client authenticated with HTTP Basic", body = OAuthError,
         headers(("WWW-Authenticate" = String, description = "Basic realm=\"passerelle\", when the client used HTTP Basic")),
         example = json!({"error": "invalid_client", "error_description": "unknown client or wrong secret"})),
        (status = 429, description = "Too many failed attempts from this address (on this account, or on any): wait `Retry-After` seconds. Another address is not held back", body = OAuthError,
         headers(("Retry-After" = String, description = "Seconds to wait")),
         example = json!({"error": "invalid_grant", "error_description": "too many failed attempts; retry in 60 seconds"})),
        (status = 500, description = "server_error", body = OAuthError,
         example = json!({"error": "server_error", "error_description": "an unexpected error occurred"})),
        (status = 503, description = "temporarily_unavailable: the database is unreachable", body = OAuthError,
         headers(("Retry-After" = String, description = "Seconds to wait")),
         example = json!({"error": "temporarily_unavailable", "error_description": "the service is unavailable; retry later"})),
    )
)]
#[post("/auth/token")]
pub async fn create_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let mut payload = payload.into_inner();
    let result = async {
        // RFC 6749 §3.2: the parameters travel in the body, never in the URI.
        crate::http::routes::check_query(&req)?;
        let body = read_body(&req, &mut payload).await?;
        let token_request = parse_request(&req, &body)?;
        let grant = required(&token_request.grant_type, "grant_type")?;
        match grant {
            "password" => password_grant(&state, &req, &token_request).await,
            "client_credentials" => client_credentials_grant(&state, &req, &token_request).await,
            "refresh_token" => refresh_token_grant(&state, &token_request).await,
            other => Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                format!("grant_type {other} is not supported"),
            )),
        }
    }
    .await;
    match result {
        Ok(token) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(token),
        Err(e) => e.into_response(uses_basic(&req)),
    }
}

impl From<diesel::result::Error> for OAuthError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError::from(e).into()
    }
}

/// Checks a secret against the account found (or a dummy), counting failures against the
/// attempt's address (`auth::throttle`).
async fn check_credentials(
    conn: &mut AsyncPgConnection,
    attempt: &throttle::Attempt,
    secret: String,
    hash: Option<String>,
) -> Result<bool, OAuthError> {
    if let Some(seconds) = throttle::blocked_for(conn, attempt).await? {
        return Err(OAuthError::throttled(seconds));
    }
    let ok = secrets::verify(secret, hash).await?;
    if ok {
        throttle::clear(conn, attempt).await?;
    } else {
        throttle::record_failure(conn, attempt).await?;
    }
    Ok(ok)
}

async fn password_grant(
    state: &AppState,
    req: &HttpRequest,
    r: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let username = required(&r.username, "username")?.trim().to_lowercase();
    let password = required(&r.password, "password")?.to_owned();
    let mut conn = db::conn(&state.pool).await?;
    let account: Option<AccountRow> = accounts::table
        .filter(accounts::email.eq(&username))
        .filter(accounts::kind.eq(AccountKind::Person))
        .select(AccountRow::as_select())
        .first(&mut conn)
        .await
        .optional()?;
    let attempt = throttle::Attempt::new(&client_address(state, req), &username);
    let hash = account.as_ref().and_then(|a| a.password_hash.clone());
    if !check_credentials(&mut conn, &attempt, password, hash).await? {
        return Err(OAuthError::invalid_grant(
            "the username or password is wrong",
        ));
    }
    let account = account.expect("a verified password belongs to an account");
    if !account.active {
        return Err(OAuthError::invalid_grant("the account is deactivated"));
    }
    let scopes = granted_scopes(account_scopes(&account), r.scope.as_deref())?;
    let session_id = Uuid::now_v7();
    let refresh = db::transaction(&mut conn, async |c: &mut AsyncPgConnection| {
        // The session keeps the scopes first granted: a refresh gets those or fewer.
        diesel::insert_into(sessions::table)
            .values((
                sessions::id.eq(session_id),
                sessions::account_id.eq(account.id),
                sessions::scopes.eq(Some(crate::identity::model::join_scopes(&scopes))),
            ))
            .execute(c)
            .await?;
        Ok(new_refresh_token(c, state, account.id, session_id).await?)
    })
    .await?;
    token_response(state, &account, &scopes, Some(session_id), Some(refresh))
}

async fn new_refresh_token(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    account_id: Uuid,
    session_id: Uuid,
) -> Result<String, diesel::result::Error> {
    let token = secrets::random_token(32);
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::now_v7()),
            refresh_tokens::account_id.eq(account_id),
            refresh_tokens::family_id.eq(session_id),
            refresh_tokens::token_hash.eq(secrets::sha256(&token)),
            refresh_tokens::expires_at
                .eq(Utc::now() + Duration::seconds(state.config.refresh_token_ttl)),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}

async fn client_credentials_grant(
    state: &AppState,
    req: &HttpRequest,
    r: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let client_id = required(&r.client_id, "client_id")
        .map_err(|e| OAuthError::invalid_client(e.error_description))?
        .to_owned();
    let secret = required(&r.client_secret, "client_secret")
        .map_err(|e| OAuthError::invalid_client(e.error_description))?
        .to_owned();
    let mut conn = db::conn(&state.pool).await?;
    let account: Option<AccountRow> = accounts::table
        .filter(accounts::client_id.eq(&client_id))
        .select(AccountRow::as_select())
        .first(&mut conn)
        .await
        .optional()?;
    let attempt = throttle::Attempt::new(&client_address(state, req), &client_id);
    let hash = account.as_ref().and_then(|a| a.client_secret_hash.clone());
    if !check_credentials(&mut conn, &attempt, secret, hash).await? {
        return Err(OAuthError::invalid_client("unknown client or wrong secret"));
    }
    let account = account.expect("a verified secret belongs to an account");
    if !account.active {
        return Err(OAuthError::invalid_client("the client is deactivated"));
    }
    let scopes = granted_scopes(account_scopes(&account), r.scope.as_deref())?;
    token_response(state, &account, &scopes, None, None)
}

/// A refresh (RFC 6749 §6). The new token carries the scopes the session was first granted
/// (or fewer, when `scope` asks for fewer), within what the account may hold now. A refused
/// refresh changes nothing, so that the client may retry: the refresh token stays usable,
/// except a used one presented again, which may have been stolen and ends its session.
async fn refresh_token_grant(
    state: &AppState,
    r: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let presented = required(&r.refresh_token, "refresh_token")?;
    let hash = secrets::sha256(presented);
    let mut conn = db::conn(&state.pool).await?;
    enum Outcome {
        Issued(Box<AccountRow>, Uuid, String, Vec<Scope>),
        Refused(OAuthError),
    }
    let refused = |why: &str| Ok::<_, ApiError>(Outcome::Refused(OAuthError::invalid_grant(why)));
    let requested = r.scope.as_deref();
    let outcome = db::transaction(&mut conn, async |c: &mut AsyncPgConnection| {
        type Row = (
            Uuid,
            Uuid,
            Uuid,
            bool,
            bool,
            bool,
            Option<chrono::DateTime<Utc>>,
            Option<String>,
        );
        let row: Option<Row> = refresh_tokens::table
            .inner_join(sessions::table)
            .filter(refresh_tokens::token_hash.eq(&hash))
            .select((
                refresh_tokens::id,
                refresh_tokens::account_id,
                refresh_tokens::family_id,
                refresh_tokens::expires_at.lt(diesel::dsl::now),
                refresh_tokens::revoked_at.is_not_null(),
                refresh_tokens::used_at.is_not_null(),
                sessions::revoked_at,
                sessions::scopes,
            ))
            .for_update()
            .first(c)
            .await
            .optional()?;
        let Some((token_id, account_id, family, expired, revoked, used, session_revoked, granted)) =
            row
        else {
            return refused("the refresh token is unknown");
        };
        if revoked || session_revoked.is_some() {
            // Signed out (RFC 7009 revocation, a deactivation) or ended after a reuse.
            return refused("the refresh token was revoked: its session has ended; sign in again");
        }
        if used {
            // A used token presented again: it may have been stolen. End the session.
            crate::auth::discovery::end_session(c, family).await?;
            return refused("the refresh token was already used; the session is revoked");
        }
        if expired {
            return refused("the refresh token has expired");
        }
        let account: AccountRow = accounts::table
            .find(account_id)
            .select(AccountRow::as_select())
            .first(c)
            .await?;
        if !account.active {
            return refused("the account is deactivated");
        }
        // The session's scopes, as far as the account still holds them.
        let now_allowed = account_scopes(&account);
        let session_scopes = match granted {
            Some(g) => crate::identity::model::parse_scopes(&g)
                .into_iter()
                .filter(|s| now_allowed.contains(s))
                .collect(),
            None => now_allowed,
        };
        let scopes = match granted_scopes(session_scopes, requested) {
            Ok(scopes) => scopes,
            Err(e) => return Ok(Outcome::Refused(e)),
        };
        // Single use: the token is spent only now that a new one is issued.
        diesel::update(refresh_tokens::table.find(token_id))
            .set(refresh_tokens::used_at.eq(diesel::dsl::now))
            .execute(c)
            .await?;
        let next = new_refresh_token(c, state, account_id, family).await?;
        Ok(Outcome::Issued(Box::new(account), family, next, scopes))
    })
    .await?;
    match outcome {
        Outcome::Issued(account, session_id, refresh, scopes) => {
            token_response(state, &account, &scopes, Some(session_id), Some(refresh))
        }
        Outcome::Refused(e) => Err(e),
    }
}
