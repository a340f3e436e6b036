//! The wire of the OAuth 2.0 endpoints (RFC 6749): their requests, responses and errors
//! (`{"error": "invalid_grant", …}` rather than problem+json), and how their form-encoded
//! (or JSON) parameters are read. Below the endpoints that use them
//! ([`token`](super::token), [`discovery`](super::discovery)).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::http::body::is_json_content_type;
use crate::http::json::parse_value;

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
    pub fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
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
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(400, "invalid_grant", d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(401, "invalid_client", d)
    }
    pub fn throttled(seconds: u64) -> Self {
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

pub fn parse_request(req: &HttpRequest, body: &[u8]) -> Result<TokenRequest, OAuthError> {
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
pub fn uses_basic(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| crate::auth::caller::credentials_of_scheme(v, "basic"))
        .is_some()
}

pub fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
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

impl From<diesel::result::Error> for OAuthError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError::from(e).into()
    }
}
