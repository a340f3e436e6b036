//! `passerelle [serve|migrate|openapi]`.

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use passerelle::auth::keys::Keys;
use passerelle::config::Config;
use passerelle::embedded_pg::{self, EmbeddedPostgres};
use passerelle::{bootstrap, openapi, startup};

const USAGE: &str = "usage: passerelle [serve|migrate|openapi]\n\
  serve    run the API (default)\n\
  migrate  apply the database migrations and exit\n\
  openapi  print the OpenAPI document";

fn main() -> ExitCode {
    // glibc raises its mmap threshold after large blocks are freed; from then on Argon2's
    // 19 MiB blocks come from per-thread arenas and stay resident. A fixed threshold keeps
    // them mmapped, so they go back to the system when freed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    let result = match command.as_str() {
        "serve" => serve(),
        "migrate" => migrate(),
        "openapi" => {
            print!("{}", openapi::document_json());
            Ok(())
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("passerelle: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The database to use: `DATABASE_URL`, or the embedded cluster started here.
fn database(
    config: &Config,
    rt: &tokio::runtime::Runtime,
) -> Result<(String, Option<EmbeddedPostgres>), String> {
    if let Some(url) = &config.database_url {
        return Ok((url.clone(), None));
    }
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        format!(
            "cannot create the data folder {}: {e}",
            config.data_dir.display()
        )
    })?;
    let pg = EmbeddedPostgres::start(
        &config.postgres_dir,
        &config.data_dir.join("postgres.password"),
        false,
    )?;
    rt.block_on(embedded_pg::ensure_database(
        &pg.url("postgres"),
        "passerelle",
    ))?;
    Ok((pg.url("passerelle"), Some(pg)))
}

fn setup_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn migrate() -> Result<(), String> {
    let config = Config::from_env()?;
    let rt = setup_runtime()?;
    let (url, _pg) = database(&config, &rt)?;
    let applied = passerelle::migrate::run_blocking(&url)?;
    println!("{} migration(s) applied", applied.len());
    Ok(())
}

fn serve() -> Result<(), String> {
    let config = Arc::new(Config::from_env()?);
    log::debug!("configuration: {config:?}");
    let rt = setup_runtime()?;
    let (url, pg) = database(&config, &rt)?;
    // The embedded server is watched and started again if it dies (embedded_pg::supervise).
    let mut supervisor = pg.map(EmbeddedPostgres::supervise);
    let applied = passerelle::migrate::run_blocking(&url)?;
    if !applied.is_empty() {
        log::info!("applied {} migration(s)", applied.len());
    }
    rt.block_on(async {
        let mut conn = AsyncPgConnection::establish(&url)
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        bootstrap::ensure_platform_admin(
            &mut conn,
            config.bootstrap_admin_email.as_deref(),
            config.bootstrap_admin_password.as_deref(),
        )
        .await?;
        Ok::<_, String>(())
    })?;
    drop(rt);
    if config.demo_data {
        // Told through the API, by a server of its own (it needs an actix system).
        bootstrap::load_demo_blocking(&url)?;
    }
    let mut keys = match &config.jwt_private_key_file {
        Some(path) => Keys::from_pem_file(path)?,
        None => {
            if config.database_url.is_some() {
                log::warn!(
                    "PASSERELLE_JWT_PRIVATE_KEY_FILE is not set: using a key kept in the data folder; instances behind one load balancer must share one key file"
                );
            }
            Keys::load_or_generate(&config.data_dir.join("jwt-ed25519.pem"))?
        }
    };
    keys.sealing_key = match &config.secrets_key_file {
        Some(path) => passerelle::auth::keys::load_or_generate_sealing_key(path)?,
        None => {
            if config.database_url.is_some() {
                log::warn!(
                    "PASSERELLE_SECRETS_KEY_FILE is not set: using a key kept in the data folder; instances behind one load balancer must share one key file"
                );
            }
            passerelle::auth::keys::load_or_generate_sealing_key(
                &config.data_dir.join("secrets.key"),
            )?
        }
    };
    let keys = Arc::new(keys);
    let listener = TcpListener::bind(config.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let result = actix_web::rt::System::new().block_on(async {
        let server = startup::serve(listener, config.clone(), &url, keys).map_err(|e| e.to_string())?;
        println!("passerelle is listening on http://{addr}");
        println!("  API docs:    http://{addr}/docs   (OpenAPI: http://{addr}/openapi.json)");
        if config.demo_data {
            println!("  demo token:  curl -s http://{addr}/v1/auth/token -d grant_type=client_credentials -d client_id=demo-association -d client_secret=demo-secret-association");
            println!("  demo people: <role>@<association|departement|ddets|bailleur>.demo.passerelle.test, password {} (see README)", bootstrap::DEMO_PASSWORD);
        } else {
            println!("  get a token: curl -s http://{addr}/v1/auth/token -d grant_type=client_credentials -d client_id=<id> -d client_secret=<secret>");
        }
        server.await.map_err(|e| e.to_string())
    });
    if let Some(supervisor) = supervisor.as_mut() {
        supervisor.stop();
    }
    result
}
