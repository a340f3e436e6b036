//! `/healthz`, `/readyz` and `/.well-known/jwks.json`: outside `/v1`, no token.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::keys::JwkSet;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::{db, migrate};

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// `ok` (the process answers) or `ready` (the database answers, migrations applied).
    pub status: &'static str,
}

/// Liveness
///
/// The process answers. Never touches the database.
#[utoipa::path(
    tag = "operations",
    operation_id = "get_healthz",
    security(()),
    responses((status = 200, description = "The process is alive", body = Health))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness
///
/// The database answers and every migration is applied; 503 otherwise.
#[utoipa::path(
    tag = "operations",
    operation_id = "get_readyz",
    security(()),
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "The database is unreachable or not migrated", body = crate::error::Problem,
         content_type = "application/problem+json",
         headers(("Retry-After" = String, description = "Seconds to wait"))),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let mut conn = db::conn(&state.pool).await?;
    if !migrate::all_applied(&mut conn).await? {
        return Err(ApiError::Unavailable(
            "migrations are not all applied".into(),
        ));
    }
    Ok(HttpResponse::Ok().json(Health { status: "ready" }))
}

/// Public keys of access tokens
///
/// The JWK set of the keys that sign access tokens (EdDSA, Ed25519), for partners that
/// verify tokens themselves.
#[utoipa::path(
    tag = "auth",
    operation_id = "get_jwks",
    security(()),
    responses((status = 200, description = "The JWK set", body = JwkSet))
)]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(&state.keys.jwks)
}
