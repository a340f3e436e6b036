//! Building the application and serving it: used by the binary and, on port 0, by the tests.

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::{header, Method};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::claims::VerifiedTokens;
use crate::auth::keys::Keys;
use crate::config::Config;
use crate::db;
use crate::http::body::BodyLimit;
use crate::http::{caching, extractors, request_context, routes};
use crate::state::AppState;
use crate::{api, jobs, webhooks};

/// The request headers a browser may send across origins: those the contract defines
/// (every header parameter of the spec, checked by a test), and `Accept-Language`, which a
/// front-end sends with every request.
pub const CORS_REQUEST_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "accept-language",
    "if-match",
    "if-none-match",
    "idempotency-key",
    "x-request-id",
];

/// The response headers a browser's script may read: every response header the spec
/// documents (checked by a test), and `Allow` of a 405.
pub const CORS_EXPOSED_HEADERS: &[&str] = &[
    "etag",
    "location",
    "retry-after",
    "www-authenticate",
    "x-request-id",
    "idempotent-replayed",
    "allow",
];

fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
        ])
        .allowed_headers(
            CORS_REQUEST_HEADERS
                .iter()
                .map(|h| header::HeaderName::from_static(h)),
        )
        .expose_headers(
            CORS_EXPOSED_HEADERS
                .iter()
                .map(|h| header::HeaderName::from_static(h)),
        )
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// `/docs` → `/docs/` (308: a method-preserving permanent redirect).
async fn docs_redirect() -> actix_web::HttpResponse {
    actix_web::HttpResponse::PermanentRedirect()
        .insert_header((actix_web::http::header::LOCATION, "/docs/"))
        .finish()
}

/// Starts the HTTP server on an already bound listener.
///
/// Each worker thread has its own connection pool (`PASSERELLE_DB_POOL_SIZE` shared between
/// them): a PostgreSQL connection is driven by a task of the thread that opened it, so a
/// connection shared between threads costs two thread wake-ups per query.
pub fn serve(
    listener: TcpListener,
    config: Arc<Config>,
    database_url: &str,
    keys: Arc<Keys>,
) -> std::io::Result<Server> {
    let api = crate::openapi::document();
    routes::register_routes(&api, &["/openapi.json", "/docs", "/docs/{rest}"]);
    let workers = config.workers.max(1);
    let per_worker = config.db_pool_size.div_ceil(workers).max(1);
    // Checked once here, so that building each worker's pool cannot fail.
    db::pool(database_url, per_worker, "http").map_err(std::io::Error::other)?;
    if config.run_jobs {
        background(&config, database_url, &keys).map_err(std::io::Error::other)?;
    }
    let database_url = database_url.to_owned();
    let verified_tokens = Arc::new(VerifiedTokens::default());
    let body_limit = config.max_body_bytes;
    let server = HttpServer::new(move || {
        let state = web::Data::new(AppState {
            pool: db::pool(&database_url, per_worker, "http")
                .expect("the pool settings were checked"),
            keys: keys.clone(),
            config: config.clone(),
            verified_tokens: verified_tokens.clone(),
        });
        App::new()
            .into_utoipa_app()
            .app_data(state)
            .app_data(BodyLimit(body_limit))
            .app_data(web::PayloadConfig::new(body_limit))
            .app_data(extractors::path_config())
            .app_data(extractors::form_config(body_limit))
            .configure(api::routes)
            .into_app()
            .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api.clone()))
            // The address the README and the start-up banner print: Swagger UI lives under
            // `/docs/`, whose relative links need the slash.
            .route("/docs", web::get().to(docs_redirect))
            .default_service(web::to(routes::not_matched))
            .wrap(from_fn(caching::middleware))
            .wrap(cors(&config.cors_origins))
            .wrap(from_fn(request_context::middleware))
            // gzip, brotli or zstd as the client accepts (actix-web's own encoder).
            .wrap(actix_web::middleware::Compress::default())
    })
    .workers(workers)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Starts the background work of an instance on the current runtime: the scheduled jobs
/// (`jobs`) and the webhook worker (`webhooks::worker`), each with its own few connections
/// (the HTTP workers have their own pools). Safe with several instances: see each.
pub fn background(config: &Config, database_url: &str, keys: &Keys) -> Result<(), String> {
    jobs::spawn(
        db::pool(database_url, 2, "jobs")?,
        config.referral_expiry_grace_days,
        config.clock.clone(),
    );
    webhooks::worker::spawn(
        db::pool(database_url, 4, "webhooks")?,
        webhooks::worker::Settings {
            concurrency: config.webhooks_concurrency.max(1),
            per_endpoint: config.webhooks_endpoint_concurrency.max(1),
            timeout: std::time::Duration::from_secs(config.webhooks_timeout_seconds.max(1)),
            allow_private: config.webhooks_allow_private,
            sealing_key: keys.sealing_key,
            clock: config.clock.clone(),
        },
    )
}
