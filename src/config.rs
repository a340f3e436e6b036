//! Typed configuration, read once from the environment at start-up.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Every setting of the service. `Debug` never shows a secret.
#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`: an external PostgreSQL; unset, the service runs its own.
    pub database_url: Option<String>,
    /// `PASSERELLE_BIND`.
    pub bind: SocketAddr,
    /// `PASSERELLE_DATA_DIR`: the embedded database, the generated signing key.
    pub data_dir: PathBuf,
    /// `PASSERELLE_POSTGRES_DIR`: the embedded cluster (default `<data dir>/postgres`).
    pub postgres_dir: PathBuf,
    /// `PASSERELLE_BOOTSTRAP_ADMIN_EMAIL` / `_PASSWORD`: the first platform admin.
    pub bootstrap_admin_email: Option<String>,
    pub bootstrap_admin_password: Option<String>,
    /// `PASSERELLE_DEMO_DATA`: load the demo organisations and accounts at start-up.
    pub demo_data: bool,
    /// `PASSERELLE_JWT_PRIVATE_KEY_FILE`: PKCS#8 PEM Ed25519 key; default generated in the data dir.
    pub jwt_private_key_file: Option<PathBuf>,
    /// `PASSERELLE_JWT_ISSUER`: an absolute `http(s)` URL, the service's public address
    /// (default `http://` and the bound address). Tokens' `iss`, the OAuth metadata's
    /// `issuer` (RFC 8414 §3.3 wants them identical) and the base of the endpoints it lists.
    /// And `PASSERELLE_JWT_AUDIENCE`.
    pub jwt_issuer: String,
    pub jwt_audience: String,
    /// `PASSERELLE_ACCESS_TOKEN_TTL` (seconds).
    pub access_token_ttl: i64,
    /// `PASSERELLE_REFRESH_TOKEN_TTL` (seconds).
    pub refresh_token_ttl: i64,
    /// `PASSERELLE_CORS_ORIGINS`: comma-separated origins of the front-end.
    pub cors_origins: Vec<String>,
    /// `PASSERELLE_MAX_BODY_BYTES`.
    pub max_body_bytes: usize,
    /// `PASSERELLE_DB_POOL_SIZE`: connections per instance. Default: 16 with `DATABASE_URL`;
    /// with the embedded database, which runs on this machine's cores, four per core: more
    /// backends than that only queue in the kernel's scheduler, and their turns show as
    /// latency tails (`make bench`, README).
    pub db_pool_size: usize,
    /// `PASSERELLE_WORKERS`: HTTP worker threads (default: one per core).
    pub workers: usize,
    /// `PASSERELLE_JOBS`: run the background jobs in this instance (default true).
    pub run_jobs: bool,
    /// `PASSERELLE_REFERRAL_EXPIRY_GRACE_DAYS`: days after its deadline an unanswered
    /// referral stays open (and overdue) before the service expires it.
    pub referral_expiry_grace_days: i64,
    /// `PASSERELLE_SECRETS_KEY_FILE`: the key sealing the webhook secrets (the base64 of 32
    /// bytes, `openssl rand -base64 32`); default generated in the data folder. Instances
    /// behind one load balancer must share it.
    pub secrets_key_file: Option<PathBuf>,
    /// `PASSERELLE_WEBHOOKS_ALLOW_PRIVATE`: let webhooks go to loopback and private
    /// addresses, over plain `http` too. For development and the tests only: in production
    /// it opens the service's network to whoever registers an endpoint.
    pub webhooks_allow_private: bool,
    /// `PASSERELLE_WEBHOOKS_CONCURRENCY`: deliveries in flight at once per instance (64).
    pub webhooks_concurrency: usize,
    /// `PASSERELLE_WEBHOOKS_ENDPOINT_CONCURRENCY`: deliveries in flight at once to one
    /// endpoint per instance (32: with 16, one endpoint drained 1 150 deliveries a second
    /// on the benchmark machine, with 32, 1 680).
    pub webhooks_endpoint_concurrency: usize,
    /// `PASSERELLE_WEBHOOKS_TIMEOUT_SECONDS`: how long an attempt may take (15).
    pub webhooks_timeout_seconds: u64,
    /// `PASSERELLE_TRUSTED_PROXY_HOPS`: how many proxies (load balancers) stand in front of
    /// the service, each appending to `X-Forwarded-For`; the sign-in throttle counts the
    /// address the nearest one received the request from. Default 0: the peer's address
    /// (with a proxy and 0, every client would share the proxy's address).
    pub trusted_proxy_hops: usize,
    /// This server's clock (`calendar::now`): the system clock, except in tests, which set
    /// it rather than wait for midnight or a retry. Read from no environment variable.
    pub clock: crate::calendar::Clock,
}

/// The largest request body accepted, unless `PASSERELLE_MAX_BODY_BYTES` says otherwise
/// (1 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &self.database_url.as_ref().map(|_| "<set>"))
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("postgres_dir", &self.postgres_dir)
            .field("bootstrap_admin_email", &self.bootstrap_admin_email)
            .field(
                "bootstrap_admin_password",
                &self.bootstrap_admin_password.as_ref().map(|_| "<set>"),
            )
            .field("demo_data", &self.demo_data)
            .field("jwt_private_key_file", &self.jwt_private_key_file)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("cors_origins", &self.cors_origins)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("db_pool_size", &self.db_pool_size)
            .field("workers", &self.workers)
            .field("run_jobs", &self.run_jobs)
            .field("trusted_proxy_hops", &self.trusted_proxy_hops)
            .field("secrets_key_file", &self.secrets_key_file)
            .field("webhooks_allow_private", &self.webhooks_allow_private)
            .field("webhooks_concurrency", &self.webhooks_concurrency)
            .field(
                "webhooks_endpoint_concurrency",
                &self.webhooks_endpoint_concurrency,
            )
            .field("webhooks_timeout_seconds", &self.webhooks_timeout_seconds)
            .field(
                "referral_expiry_grace_days",
                &self.referral_expiry_grace_days,
            )
            .field("clock", &self.clock)
            .finish()
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parsed<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}: cannot parse {v:?}")),
    }
}

/// The issuer, as RFC 8414 §2 wants it: an absolute URL (`http` for development), no query
/// or fragment; kept without a trailing slash.
fn issuer(value: String) -> Result<String, String> {
    let url = url::Url::parse(&value)
        .map_err(|e| format!("PASSERELLE_JWT_ISSUER must be an absolute URL ({e}): {value}"))?;
    if !matches!(url.scheme(), "https" | "http")
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(format!(
            "PASSERELLE_JWT_ISSUER must be an http(s) URL without query or fragment: {value}"
        ));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

fn flag(name: &str, default: bool) -> Result<bool, String> {
    match var(name).map(|v| v.to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
        Some(v) => Err(format!("{name}: expected true or false, got {v:?}")),
    }
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let data_dir =
            PathBuf::from(var("PASSERELLE_DATA_DIR").unwrap_or_else(|| ".passerelle".into()));
        let postgres_dir = var("PASSERELLE_POSTGRES_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("postgres"));
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let database_url = var("DATABASE_URL");
        let default_pool = if database_url.is_some() { 16 } else { 4 * cpus };
        let bind = parsed("PASSERELLE_BIND", SocketAddr::from(([127, 0, 0, 1], 8080)))?;
        Ok(Config {
            database_url,
            bind,
            data_dir,
            postgres_dir,
            bootstrap_admin_email: var("PASSERELLE_BOOTSTRAP_ADMIN_EMAIL"),
            bootstrap_admin_password: var("PASSERELLE_BOOTSTRAP_ADMIN_PASSWORD"),
            demo_data: flag("PASSERELLE_DEMO_DATA", false)?,
            jwt_private_key_file: var("PASSERELLE_JWT_PRIVATE_KEY_FILE").map(PathBuf::from),
            // By default the address the service listens on, as a URL: RFC 8414 and RFC 9068
            // want the issuer to be where the metadata is read.
            jwt_issuer: issuer(
                var("PASSERELLE_JWT_ISSUER").unwrap_or_else(|| format!("http://{bind}")),
            )?,
            jwt_audience: var("PASSERELLE_JWT_AUDIENCE").unwrap_or_else(|| "passerelle-api".into()),
            access_token_ttl: parsed("PASSERELLE_ACCESS_TOKEN_TTL", 900)?,
            refresh_token_ttl: parsed("PASSERELLE_REFRESH_TOKEN_TTL", 12 * 3600)?,
            cors_origins: var("PASSERELLE_CORS_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            max_body_bytes: parsed("PASSERELLE_MAX_BODY_BYTES", DEFAULT_BODY_LIMIT)?,
            db_pool_size: parsed("PASSERELLE_DB_POOL_SIZE", default_pool)?,
            workers: parsed("PASSERELLE_WORKERS", cpus)?,
            run_jobs: flag("PASSERELLE_JOBS", true)?,
            referral_expiry_grace_days: parsed("PASSERELLE_REFERRAL_EXPIRY_GRACE_DAYS", 15)?,
            trusted_proxy_hops: parsed("PASSERELLE_TRUSTED_PROXY_HOPS", 0)?,
            secrets_key_file: var("PASSERELLE_SECRETS_KEY_FILE").map(PathBuf::from),
            webhooks_allow_private: flag("PASSERELLE_WEBHOOKS_ALLOW_PRIVATE", false)?,
            webhooks_concurrency: parsed("PASSERELLE_WEBHOOKS_CONCURRENCY", 64)?,
            webhooks_endpoint_concurrency: parsed("PASSERELLE_WEBHOOKS_ENDPOINT_CONCURRENCY", 32)?,
            webhooks_timeout_seconds: parsed("PASSERELLE_WEBHOOKS_TIMEOUT_SECONDS", 15)?,
            clock: crate::calendar::Clock::default(),
        })
    }

    /// A configuration for tests and tools: embedded defaults, no environment read.
    pub fn for_tests(database_url: String, data_dir: PathBuf) -> Config {
        Config {
            database_url: Some(database_url),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            postgres_dir: data_dir.join("postgres"),
            data_dir,
            bootstrap_admin_email: None,
            bootstrap_admin_password: None,
            demo_data: false,
            jwt_private_key_file: None,
            // The tests' servers set it to the address they listen on, as production does.
            jwt_issuer: "http://127.0.0.1".into(),
            jwt_audience: "passerelle-api".into(),
            access_token_ttl: 900,
            refresh_token_ttl: 12 * 3600,
            cors_origins: vec!["http://localhost:5173".into()],
            max_body_bytes: DEFAULT_BODY_LIMIT,
            db_pool_size: 4,
            workers: 1,
            run_jobs: false,
            referral_expiry_grace_days: 15,
            trusted_proxy_hops: 0,
            secrets_key_file: None,
            // The tests' receivers listen on loopback, over plain HTTP.
            webhooks_allow_private: true,
            webhooks_concurrency: 64,
            webhooks_endpoint_concurrency: 32,
            webhooks_timeout_seconds: 15,
            clock: crate::calendar::Clock::default(),
        }
    }
}
