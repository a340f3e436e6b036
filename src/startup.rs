//! Building the application and serving it: used by the binary and, on port 0, by the tests.

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::{header, Method};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use utoipa_actix_web::{scope, AppExt};
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::caller::VerifiedTokens;
use crate::auth::keys::Keys;
use crate::config::Config;
use crate::db;
use crate::http::body::BodyLimit;
use crate::http::{caching, extractors, request_context, routes};
use crate::state::AppState;
use crate::{
    auth, events, health, households, identity, jobs, measures, programmes, referrals, subleases,
    units, webhooks,
};

/// Every documented route. New domains register their handlers here.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(health::jwks)
        .service(auth::discovery::metadata)
        .service(
            scope("/v1")
                .service(auth::token::create_token)
                .service(auth::discovery::revoke)
                .service(identity::me::get_me)
                .service(identity::me::change_my_password)
                .service(identity::organisations::create_organisation)
                .service(identity::organisations::list_organisations)
                .service(identity::organisations::get_organisation)
                .service(identity::organisations::update_organisation)
                .service(identity::accounts::create_account)
                .service(identity::accounts::list_accounts)
                .service(identity::accounts::get_account)
                .service(identity::accounts::update_account)
                .service(identity::accounts::deactivate_account)
                .service(identity::accounts::reactivate_account)
                .service(identity::accounts::reset_password)
                .service(identity::accounts::rotate_secret)
                .service(events::handlers::list_events)
                .service(households::handlers::create_household)
                .service(households::handlers::list_households)
                .service(households::handlers::get_household)
                .service(households::handlers::update_household)
                .service(households::handlers::record_consent)
                .service(households::handlers::withdraw_consent)
                .service(households::handlers::household_access_log)
                .service(households::handlers::household_sharings)
                .service(measures::catalogue::list_measure_kinds)
                .service(measures::catalogue::get_measure_kind)
                .service(measures::catalogue::create_measure_kind)
                .service(measures::catalogue::update_measure_kind)
                .service(measures::handlers::create_measure)
                .service(measures::handlers::list_measures)
                .service(measures::handlers::get_measure)
                .service(measures::handlers::update_measure)
                .service(measures::handlers::start_measure)
                .service(measures::handlers::suspend_measure)
                .service(measures::handlers::resume_measure)
                .service(measures::handlers::close_measure)
                .service(measures::handlers::cancel_measure)
                .service(measures::handlers::measure_history)
                .service(measures::renewals_api::create_renewal)
                .service(measures::renewals_api::list_measure_renewals)
                .service(measures::renewals_api::list_renewals)
                .service(measures::renewals_api::get_renewal)
                .service(measures::renewals_api::grant_renewal)
                .service(measures::renewals_api::refuse_renewal)
                .service(measures::renewals_api::withdraw_renewal)
                .service(measures::contacts_api::create_contact)
                .service(measures::contacts_api::list_contacts)
                .service(measures::contacts_api::get_contact)
                .service(measures::contacts_api::contact_history)
                .service(measures::contacts_api::correct_contact)
                .service(measures::contacts_api::remove_contact)
                .service(measures::handlers::create_objective)
                .service(measures::handlers::list_objectives)
                .service(measures::handlers::get_objective)
                .service(measures::handlers::update_objective)
                .service(programmes::handlers::create_programme)
                .service(programmes::handlers::list_programmes)
                .service(programmes::handlers::get_programme)
                .service(programmes::handlers::update_programme)
                .service(programmes::indicators::programme_indicators)
                .service(households::journey::household_journey)
                .service(referrals::handlers::create_referral)
                .service(referrals::handlers::list_referrals)
                .service(referrals::handlers::get_referral)
                .service(referrals::handlers::acknowledge_referral)
                .service(referrals::handlers::accept_referral)
                .service(referrals::handlers::decline_referral)
                .service(referrals::handlers::withdraw_referral)
                .service(referrals::handlers::transfer_referral)
                .service(referrals::handlers::referral_history)
                .service(referrals::handlers::create_comment)
                .service(units::handlers::create_unit)
                .service(units::handlers::list_units)
                .service(units::handlers::get_unit)
                .service(units::handlers::update_unit)
                .service(units::proposals::create_proposal)
                .service(units::proposals::list_proposals)
                .service(units::proposals::get_proposal)
                .service(units::proposals::accept_proposal)
                .service(units::proposals::decline_proposal)
                .service(units::proposals::withdraw_proposal)
                .service(units::agreements::create_agreement)
                .service(units::agreements::list_agreements)
                .service(units::agreements::get_agreement)
                .service(units::agreements::accept_agreement)
                .service(units::agreements::decline_agreement)
                .service(units::agreements::terminate_agreement)
                .service(units::agreements::attach_units)
                .service(subleases::handlers::create_sublease)
                .service(subleases::handlers::list_subleases)
                .service(subleases::handlers::get_sublease)
                .service(subleases::handlers::activate_sublease)
                .service(subleases::handlers::glide_sublease)
                .service(subleases::handlers::end_sublease)
                .service(subleases::handlers::sublease_history)
                .service(subleases::handlers::create_arrears)
                .service(subleases::handlers::list_arrears)
                .service(referrals::handlers::list_comments)
                .service(webhooks::handlers::create_webhook_endpoint)
                .service(webhooks::handlers::list_webhook_endpoints)
                .service(webhooks::handlers::get_webhook_endpoint)
                .service(webhooks::handlers::update_webhook_endpoint)
                .service(webhooks::handlers::delete_webhook_endpoint)
                .service(webhooks::handlers::disable_webhook_endpoint)
                .service(webhooks::handlers::enable_webhook_endpoint)
                .service(webhooks::handlers::rotate_webhook_endpoint_secret)
                .service(webhooks::handlers::test_webhook_endpoint)
                .service(webhooks::handlers::list_webhook_deliveries)
                .service(webhooks::handlers::get_webhook_delivery)
                .service(webhooks::handlers::redeliver_webhook_delivery),
        );
}

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
            .configure(routes)
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
