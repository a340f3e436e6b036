//! What OAuth libraries look for before their first request: the authorization server's
//! metadata (RFC 8414), and token revocation (RFC 7009).

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::caller::verify_access_token;
use crate::auth::secrets;
use crate::db;
use crate::identity::model::Scope;
use crate::state::AppState;

/// The authorization server's metadata (RFC 8414 §2).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "issuer": "https://passerelle.example.fr", "token_endpoint": "https://passerelle.example.fr/v1/auth/token",
    "revocation_endpoint": "https://passerelle.example.fr/v1/auth/revoke",
    "jwks_uri": "https://passerelle.example.fr/.well-known/jwks.json",
    "scopes_supported": ["organisations:read", "events:read"], "response_types_supported": [],
    "grant_types_supported": ["client_credentials", "password", "refresh_token"],
    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    "revocation_endpoint_auth_methods_supported": ["none"],
    "service_documentation": "https://passerelle.example.fr/docs/"
}))]
pub struct ServerMetadata {
    /// The issuer: `PASSERELLE_JWT_ISSUER`, identical to the `iss` of access tokens (RFC
    /// 8414 §3.3): the service's public URL in production; by default `http://` and the
    /// address the service listens on.
    pub issuer: String,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
    pub jwks_uri: String,
    pub scopes_supported: Vec<&'static str>,
    /// None: there is no authorization endpoint; people sign in with the password grant.
    pub response_types_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Revocation needs no client authentication: what is revoked is a person's session,
    /// which its refresh token (or access token) proves.
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    pub service_documentation: String,
}

/// Where the endpoints are: under the issuer, the service's public URL
/// (`PASSERELLE_JWT_ISSUER`, an absolute URL checked at start-up), whatever `Host` or
/// forwarded header a request carries, so that none can point partners' libraries
/// elsewhere.
fn base_url(state: &AppState) -> &str {
    state.config.jwt_issuer.trim_end_matches('/')
}

/// Authorization server metadata
///
/// RFC 8414: where the token, revocation and key endpoints are, and what they support, for
/// OAuth libraries that configure themselves from it.
#[utoipa::path(
    tag = "auth",
    operation_id = "get_authorization_server_metadata",
    security(()),
    responses((status = 200, description = "The metadata", body = ServerMetadata))
)]
#[get("/.well-known/oauth-authorization-server")]
pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let base = base_url(&state);
    // RFC 8414 §3.3: identical to the `iss` of the tokens.
    let issuer = state.config.jwt_issuer.clone();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(ServerMetadata {
            issuer,
            token_endpoint: format!("{base}{}", crate::openapi::TOKEN_URL),
            revocation_endpoint: format!("{base}/v1/auth/revoke"),
            jwks_uri: format!("{base}/.well-known/jwks.json"),
            scopes_supported: Scope::ALL.iter().map(|s| s.as_str()).collect(),
            response_types_supported: Vec::new(),
            grant_types_supported: vec!["client_credentials", "password", "refresh_token"],
            token_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
            ],
            revocation_endpoint_auth_methods_supported: vec!["none"],
            service_documentation: format!("{base}/docs/"),
        })
}

/// A revocation request (RFC 7009 §2.1), form-encoded.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"token": "q8Xv…", "token_type_hint": "refresh_token"}))]
pub struct RevocationRequest {
    /// The refresh token (or a person's access token) to revoke. Anything else, of any
    /// length, is answered 200 with nothing revoked (RFC 7009 §2.2).
    #[schema(min_length = 1)]
    pub token: String,
    /// `refresh_token` or `access_token`: where to look first (both are looked at).
    pub token_type_hint: Option<String>,
}

/// Revoke a token
///
/// RFC 7009. A refresh token ends the sign-in session it belongs to: the refresh token, the
/// others of its session, and the access tokens issued in it stop working (sign-out). A
/// person's access token does the same for its session. A partner system's access token
/// (client credentials) has no session: it stays valid until it expires (`expires_in`, 15
/// minutes by default); deactivate the account or rotate its secret to stop a system at once.
/// As RFC 7009 §2.2 says, an unknown, expired or already revoked token is answered 200 too.
#[utoipa::path(
    tag = "auth",
    operation_id = "revoke_token",
    request_body(content((RevocationRequest = "application/x-www-form-urlencoded"))),
    security(()),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke"),
        (status = 400, description = "invalid_request: no token", body = crate::auth::oauth::OAuthError,
         example = json!({"error": "invalid_request", "error_description": "token is required"})),
        (status = 503, description = "temporarily_unavailable", body = crate::auth::oauth::OAuthError,
         headers(("Retry-After" = String, description = "Seconds to wait")),
         example = json!({"error": "temporarily_unavailable", "error_description": "the service is unavailable; retry later"})),
    )
)]
#[post("/auth/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let mut payload = payload.into_inner();
    let result = async {
        crate::http::routes::check_query(&req)?;
        let body = crate::http::body::read_body(&req, &mut payload).await?;
        let request: RevocationRequest =
            crate::auth::oauth::read_form(&req, &body, &["token", "token_type_hint"])?;
        if request.token.is_empty() {
            return Err(crate::auth::oauth::OAuthError::invalid_request(
                "token is required",
            ));
        }
        // Longer than any token of ours: nothing to revoke (RFC 7009 §2.2 answers 200).
        if request.token.len() > 4096 {
            return Ok(());
        }
        let token = request.token;
        let mut conn = db::conn(&state.pool).await?;
        // A refresh token is looked up by its hash; anything else may be an access token.
        let session =
            crate::auth::sessions::family_of_refresh_token(&mut conn, &secrets::sha256(&token))
                .await?;
        let session = session.or_else(|| {
            verify_access_token(&state, &token)
                .ok()
                .and_then(|claims| claims.sid)
        });
        if let Some(session) = session {
            crate::auth::sessions::end_session(&mut conn, session).await?;
        }
        Ok::<_, crate::auth::oauth::OAuthError>(())
    }
    .await;
    match result {
        Ok(()) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Err(e) => e.into_response(false),
    }
}
