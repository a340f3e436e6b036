//! `POST /v1/auth/token`: the OAuth 2.0 token endpoint (RFC 6749), the one endpoint whose
//! errors are OAuth's (`{"error": "invalid_grant", …}`) rather than problem+json.

use crate::db::Connection;
use actix_web::http::header;
use actix_web::{post, web, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::auth::caller::{issue_access_token, Subject};
use crate::auth::oauth::{
    parse_request, required, uses_basic, OAuthError, TokenRequest, TokenResponse,
};
use crate::auth::{secrets, sessions, throttle};
use crate::db;
use crate::error::ApiError;
use crate::http::body::read_body;
use crate::identity::model::{AccountRow, Scope};
use crate::identity::rules::effective_scopes;
use crate::state::AppState;

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

/// Checks a secret against the account found (or a dummy), counting failures against the
/// attempt's address (`auth::throttle`).
async fn check_credentials(
    conn: &mut Connection,
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
    let account = crate::identity::queries::person_by_email(&mut conn, &username).await?;
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
    let (session_id, refresh) = sessions::open(&mut conn, state, account.id, &scopes).await?;
    token_response(state, &account, &scopes, Some(session_id), Some(refresh))
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
    let account = crate::identity::queries::system_by_client_id(&mut conn, &client_id).await?;
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
    let outcome = db::transaction(&mut conn, async |c: &mut Connection| {
        let Some(token) = sessions::lock_refresh_token(c, &hash).await? else {
            return refused("the refresh token is unknown");
        };
        let sessions::PresentedToken {
            id: token_id,
            account_id,
            family,
            expired,
            revoked,
            used,
            session_revoked,
            granted,
        } = token;
        if revoked || session_revoked {
            // Signed out (RFC 7009 revocation, a deactivation) or ended after a reuse.
            return refused("the refresh token was revoked: its session has ended; sign in again");
        }
        if used {
            // A used token presented again: it may have been stolen. End the session.
            sessions::end_session(c, family).await?;
            return refused("the refresh token was already used; the session is revoked");
        }
        if expired {
            return refused("the refresh token has expired");
        }
        let account = crate::identity::queries::find_account(c, account_id).await?;
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
        sessions::spend_refresh_token(c, token_id).await?;
        let next = sessions::new_refresh_token(c, state, account_id, family).await?;
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
