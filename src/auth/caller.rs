//! Access tokens: their claims, how they are signed, and the `Caller` extractor that turns a
//! bearer token into an authenticated account (so "signed in" is a handler argument).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use jsonwebtoken::{Algorithm, Header, Validation};
use uuid::Uuid;

use crate::auth::claims::{Claims, LEEWAY_SECONDS};
use crate::db;
use crate::error::ApiError;
use crate::http::request_context::LoggedAccount;
use crate::identity::model::{parse_scopes, AccountKind, OrganisationKind, Role, Scope};
use crate::identity::rules::effective_scopes;
use crate::schema::{accounts, organisations, sessions};
use crate::state::AppState;

/// Who a token is issued to, and under which credentials and session.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub account_id: Uuid,
    pub organisation_id: Option<Uuid>,
    pub role: Role,
    pub credentials_version: i32,
    pub scopes: &'a [Scope],
    pub session_id: Option<Uuid>,
}

/// Signs an access token for an account; returns the token and its lifetime in seconds.
pub fn issue_access_token(state: &AppState, to: Subject<'_>) -> Result<(String, i64), ApiError> {
    let now = chrono::Utc::now().timestamp();
    let ttl = state.config.access_token_ttl;
    let claims = Claims {
        iss: state.config.jwt_issuer.clone(),
        aud: state.config.jwt_audience.clone(),
        sub: to.account_id,
        org: to.organisation_id,
        role: to.role,
        scope: crate::identity::model::join_scopes(to.scopes),
        exp: now + ttl,
        nbf: now,
        iat: now,
        jti: Uuid::now_v7(),
        sid: to.session_id,
        cv: to.credentials_version,
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(state.keys.kid.clone());
    header.typ = Some("at+jwt".into());
    let token =
        jsonwebtoken::encode(&header, &claims, &state.keys.encoding).map_err(ApiError::internal)?;
    Ok((token, ttl))
}

/// The clock skew allowed on `exp` and `nbf`.
/// Checks signature, algorithm, key id, issuer, audience and validity period.
pub fn verify_access_token(state: &AppState, token: &str) -> Result<Claims, ApiError> {
    use jsonwebtoken::errors::ErrorKind;
    let invalid = |why: &str| ApiError::Unauthorized(why.to_owned());
    let header =
        jsonwebtoken::decode_header(token).map_err(|_| invalid("the token is malformed"))?;
    if header.alg != Algorithm::EdDSA {
        return Err(invalid("the token's algorithm is not accepted"));
    }
    if header.kid.as_deref() != Some(state.keys.kid.as_str()) {
        return Err(invalid("the token was signed by an unknown key"));
    }
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[&state.config.jwt_issuer]);
    validation.set_audience(&[&state.config.jwt_audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECONDS;
    jsonwebtoken::decode::<Claims>(token, &state.keys.decoding, &validation)
        .map(|d| d.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => invalid("the token has expired"),
            ErrorKind::ImmatureSignature => invalid("the token is not valid yet"),
            ErrorKind::InvalidIssuer => invalid("the token was issued by another issuer"),
            ErrorKind::InvalidAudience => invalid("the token is meant for another audience"),
            ErrorKind::InvalidSignature => invalid("the token's signature is wrong"),
            _ => invalid("the token is invalid"),
        })
}

/// The authenticated caller of a request. Role, organisation, scopes, active state and
/// credentials version are read from the database at each request: a deactivated account, a
/// revoked session, a rotated secret or a reset password stops its tokens at once, on every
/// instance, and a changed role or scope list applies at the next request, whatever the
/// token says.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: Uuid,
    pub organisation_id: Option<Uuid>,
    pub organisation_kind: Option<OrganisationKind>,
    pub role: Role,
    pub kind: AccountKind,
    pub scopes: Vec<Scope>,
    pub session_id: Option<Uuid>,
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized(crate::error::NO_TOKEN.into()))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is malformed".into()))?;
    credentials_of_scheme(value, "bearer")
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })
}

/// The credentials of an `Authorization` value if its scheme is `scheme`: RFC 9110 §11.1
/// compares scheme names without regard to case (`Bearer`, `bearer`, `BEARER`), and one or
/// more spaces separate them from the credentials. `None` for another scheme or none.
pub fn credentials_of_scheme<'v>(value: &'v str, scheme: &str) -> Option<&'v str> {
    let (name, credentials) = value.trim().split_once(' ')?;
    let credentials = credentials.trim();
    (name.eq_ignore_ascii_case(scheme) && !credentials.is_empty()).then_some(credentials)
}

async fn authenticate(state: web::Data<AppState>, token: String) -> Result<Caller, ApiError> {
    let claims = match state.verified_tokens.get(&token) {
        Some(claims) => claims,
        None => {
            let claims = verify_access_token(&state, &token)?;
            state.verified_tokens.insert(&token, &claims);
            claims
        }
    };
    let mut conn = db::conn(&state.pool).await?;
    type Row = (
        bool,
        Role,
        Option<Uuid>,
        AccountKind,
        String,
        i32,
        Option<Uuid>,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<OrganisationKind>,
    );
    let sid = claims.sid.unwrap_or(Uuid::nil());
    let row: Option<Row> = accounts::table
        .left_join(organisations::table)
        .left_join(
            sessions::table.on(sessions::id
                .eq(sid)
                .and(sessions::account_id.eq(accounts::id))),
        )
        .filter(accounts::id.eq(claims.sub))
        .select((
            accounts::active,
            accounts::role,
            accounts::organisation_id,
            accounts::kind,
            accounts::scopes,
            accounts::credentials_version,
            sessions::id.nullable(),
            sessions::revoked_at.nullable(),
            organisations::kind.nullable(),
        ))
        .first(&mut conn)
        .await
        .optional()?;
    let Some((
        active,
        role,
        organisation_id,
        kind,
        granted,
        credentials_version,
        session,
        session_revoked,
        organisation_kind,
    )) = row
    else {
        return Err(ApiError::Unauthorized(
            "the token's account does not exist".into(),
        ));
    };
    if !active {
        return Err(ApiError::Unauthorized("the account is deactivated".into()));
    }
    if claims.cv != credentials_version {
        return Err(ApiError::Unauthorized(
            "the account's credentials have changed since the token was issued: get a new token"
                .into(),
        ));
    }
    if claims.sid.is_some() && (session.is_none() || session_revoked.is_some()) {
        return Err(ApiError::Unauthorized(
            "the token's session has been revoked".into(),
        ));
    }
    let allowed = effective_scopes(kind, role, &parse_scopes(&granted));
    let in_token = parse_scopes(&claims.scope);
    let scopes = allowed
        .into_iter()
        .filter(|s| in_token.contains(s))
        .collect();
    Ok(Caller {
        account_id: claims.sub,
        organisation_id,
        organisation_kind,
        role,
        kind,
        scopes,
        session_id: claims.sid,
    })
}

impl Caller {
    /// The caller's organisation, for what only partners handle (cases): a platform admin
    /// has none and gets 403.
    pub fn partner_organisation(&self) -> Result<Uuid, ApiError> {
        self.organisation_id.ok_or_else(|| {
            ApiError::Forbidden(
                "cases belong to partner organisations; a platform admin has none".into(),
            )
        })
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    /// Authenticates (401), then checks the scopes the operation's documentation lists (403
    /// `insufficient_scope`), then the query parameters it takes (400): in that order, and
    /// before the request's other parts are read (see [`after_authorisation`]).
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let caller = async {
                let token = bearer(&req)?;
                let state = req
                    .app_data::<web::Data<AppState>>()
                    .cloned()
                    .ok_or_else(|| ApiError::internal("application state is missing"))?;
                let caller = authenticate(state, token).await?;
                req.extensions_mut()
                    .insert(LoggedAccount(caller.account_id));
                let missing: Vec<String> = crate::http::routes::required_scopes(&req)
                    .unwrap_or_default()
                    .iter()
                    .filter(|s| !caller.scopes.iter().any(|have| have.as_str() == s.as_str()))
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    return Err(ApiError::InsufficientScope(missing));
                }
                crate::http::routes::check_query(&req)?;
                Ok(caller)
            }
            .await;
            gate(&req).open();
            caller
        })
    }
}

/// Whether the request's caller has been authenticated and authorised yet: actix reads a
/// handler's arguments together, and the first to fail answers, so the other parts of a
/// request (body, query, `If-Match`) wait here for the caller to be known. A token without
/// the operation's scope is told so (403) before anything about its body (422).
#[derive(Default)]
struct AuthGate {
    open: std::cell::Cell<bool>,
    opened: tokio::sync::Notify,
}

impl AuthGate {
    fn open(&self) {
        self.open.set(true);
        self.opened.notify_waiters();
    }
}

fn gate(req: &HttpRequest) -> std::rc::Rc<AuthGate> {
    if let Some(gate) = req.extensions().get::<std::rc::Rc<AuthGate>>() {
        return gate.clone();
    }
    let gate = std::rc::Rc::new(AuthGate::default());
    req.extensions_mut().insert(gate.clone());
    gate
}

/// Waits until the `Caller` of this request has been authenticated and its scopes checked
/// (at once for an operation the spec says needs no token: it has no `Caller`).
pub async fn after_authorisation(req: &HttpRequest) {
    if crate::http::routes::required_scopes(req).is_none() {
        return;
    }
    let gate = gate(req);
    let opened = gate.opened.notified();
    tokio::pin!(opened);
    opened.as_mut().enable();
    if gate.open.get() {
        return;
    }
    opened.await;
}
