//! Test harness: one throw-away PostgreSQL cluster per test run, a migrated template
//! database, and for each test its own database copied from the template and its own
//! server on a free port, driven over HTTP.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use passerelle::auth::keys::Keys;
use passerelle::config::Config;
use passerelle::embedded_pg::{self, EmbeddedPostgres};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

pub const ADMIN_EMAIL: &str = "platform@passerelle.test";
pub const ADMIN_PASSWORD: &str = "platform-admin-password";

struct TestServer {
    /// URL of the maintenance database, where test databases are created.
    admin_url: String,
    base_url: String,
}

static SERVER: OnceLock<TestServer> = OnceLock::new();
static CLUSTER: Mutex<Option<EmbeddedPostgres>> = Mutex::new(None);
static CLUSTER_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

extern "C" fn stop_cluster() {
    if let Ok(mut guard) = CLUSTER.lock() {
        if let Some(mut pg) = guard.take() {
            pg.stop();
        }
    }
    if let Ok(guard) = CLUSTER_DIR.lock() {
        if let Some(dir) = guard.as_ref() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A directory every account can reach (the cluster may run as `postgres`).
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "passerelle-{name}-{}-{}",
        std::process::id(),
        Uuid::now_v7()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn server() -> &'static TestServer {
    SERVER.get_or_init(|| {
        // Built on a plain thread: migrations block, and must not run inside a test's runtime.
        std::thread::spawn(|| {
            let admin_url = match std::env::var("PASSERELLE_TEST_DATABASE_URL") {
                Ok(url) => url,
                Err(_) => {
                    let dir = scratch_dir("tests");
                    let pg =
                        EmbeddedPostgres::start(&dir.join("cluster"), &dir.join("password"), true)
                            .expect("start the test cluster");
                    let url = pg.url("postgres");
                    *CLUSTER.lock().unwrap() = Some(pg);
                    *CLUSTER_DIR.lock().unwrap() = Some(dir);
                    unsafe { libc::atexit(stop_cluster) };
                    url
                }
            };
            let base_url = admin_url.rsplit_once('/').unwrap().0.to_string();
            let template = format!("{base_url}/passerelle_template");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut conn = AsyncPgConnection::establish(&admin_url).await.unwrap();
                diesel::sql_query("DROP DATABASE IF EXISTS passerelle_template")
                    .execute(&mut conn)
                    .await
                    .unwrap();
            });
            rt.block_on(embedded_pg::ensure_database(
                &admin_url,
                "passerelle_template",
            ))
            .unwrap();
            drop(rt);
            passerelle::migrate::run_blocking(&template).expect("migrate the template");
            TestServer {
                admin_url,
                base_url,
            }
        })
        .join()
        .expect("test database server")
    })
}

/// A fresh database copied from the migrated template.
pub async fn fresh_database() -> String {
    let server = server();
    let name = format!("test_{}", Uuid::now_v7().simple());
    let mut conn = AsyncPgConnection::establish(&server.admin_url)
        .await
        .unwrap();
    diesel::sql_query(format!(
        "CREATE DATABASE {name} TEMPLATE passerelle_template"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    format!("{}/{name}", server.base_url)
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub database_url: String,
    pub keys: Arc<Keys>,
    pub config: Arc<Config>,
}

/// Starts the real server on a free port, against a fresh database with a platform admin.
pub async fn spawn_app() -> TestApp {
    let database_url = fresh_database().await;
    spawn_app_on(database_url).await
}

pub async fn spawn_app_on(database_url: String) -> TestApp {
    spawn_app_configured(database_url, |_| {}).await
}

/// A server whose clock reads `instant` now (and runs on from there): the calendar rules
/// are tested at the instants that matter, not by waiting for them.
pub async fn spawn_app_at(instant: &str) -> TestApp {
    let instant: chrono::DateTime<chrono::Utc> = instant.parse().unwrap();
    let database_url = fresh_database().await;
    spawn_app_configured(database_url, |c| {
        c.clock = passerelle::calendar::Clock::at(instant)
    })
    .await
}

pub async fn spawn_app_configured(
    database_url: String,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    // The service's log, shown for a failing test (RUST_LOG to choose; warnings by default).
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .is_test(true)
        .try_init();
    {
        let mut conn = AsyncPgConnection::establish(&database_url).await.unwrap();
        passerelle::bootstrap::ensure_platform_admin(
            &mut conn,
            Some(ADMIN_EMAIL),
            Some(ADMIN_PASSWORD),
        )
        .await
        .unwrap();
    }
    let mut config = Config::for_tests(
        database_url.clone(),
        std::env::temp_dir().join("passerelle-test-data"),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    // The issuer is where the service is served, as in production (a test may set another).
    config.jwt_issuer = address.clone();
    configure(&mut config);
    let config = Arc::new(config);
    let keys = Arc::new(Keys::generate());
    let server =
        passerelle::startup::serve(listener, config.clone(), &database_url, keys.clone()).unwrap();
    actix_web::rt::spawn(server);
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        database_url,
        keys,
        config,
    }
}

impl TestApp {
    /// Another server on the same database and keys (a token of one is good at the other)
    /// whose clock reads `instant`: the same world, later.
    pub async fn at(&self, instant: &str) -> TestApp {
        let instant: chrono::DateTime<chrono::Utc> = instant.parse().unwrap();
        self.twin(|c| c.clock = passerelle::calendar::Clock::at(instant))
    }

    /// Another server on the same database and keys, configured otherwise.
    pub fn twin(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = (*self.config).clone();
        configure(&mut config);
        let config = Arc::new(config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let server = passerelle::startup::serve(
            listener,
            config.clone(),
            &self.database_url,
            self.keys.clone(),
        )
        .unwrap();
        actix_web::rt::spawn(server);
        TestApp {
            address,
            client: self.client.clone(),
            database_url: self.database_url.clone(),
            keys: self.keys.clone(),
            config,
        }
    }
}

/// A SIRET that passes the check digit, different at each call.
pub fn siret() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let random = Uuid::new_v4().as_u128() as u64 % 1_000_000_000;
    let base = format!(
        "{:013}",
        1_000_000_000_000 + (random * 1000 + n % 1000) % 9_000_000_000_000
    );
    for d in 0..10 {
        let candidate = format!("{base}{d}");
        if passerelle::identity::rules::siret_is_valid(&candidate) {
            return candidate;
        }
    }
    unreachable!("one check digit always fits")
}

/// The same number with a wrong check digit.
pub fn bad_siret() -> String {
    let good = siret();
    let last = good.as_bytes()[13] - b'0';
    format!("{}{}", &good[..13], (last + 1) % 10)
}

pub struct Org {
    pub id: Uuid,
    pub admin_token: String,
    pub admin_id: Uuid,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let mut r = self.client.request(method, self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token))
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, Some(token))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url("/v1/auth/token"))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn password_token(&self, email: &str, password: &str) -> Value {
        let r = self
            .token(&[
                ("grant_type", "password"),
                ("username", email),
                ("password", password),
            ])
            .await;
        assert_eq!(r.status(), StatusCode::OK, "sign-in of {email}");
        r.json().await.unwrap()
    }

    pub async fn platform_token(&self) -> String {
        self.password_token(ADMIN_EMAIL, ADMIN_PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A new organisation of the kind, with its first admin signed in.
    pub async fn organisation(&self, kind: &str) -> Org {
        self.organisation_in(kind, "53").await
    }

    /// An organisation of the kind in a département, with an admin.
    pub async fn organisation_in(&self, kind: &str, department: &str) -> Org {
        let platform = self.platform_token().await;
        let r = self
            .post(
                "/v1/organisations",
                &platform,
                &json!({"kind": kind, "name": format!("Organisation {kind} {}", Uuid::now_v7()),
                        "siret": siret(), "department_code": department, "contact_email": "contact@org.example"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let org: Value = r.json().await.unwrap();
        let id: Uuid = org["id"].as_str().unwrap().parse().unwrap();
        let (admin_id, admin_token) = self.person(&platform, id, "admin").await;
        Org {
            id,
            admin_token,
            admin_id,
        }
    }

    /// The platform admins say the organisation is the secretariat of these commissions
    /// (`ccapex`, `dalo_mediation`, `cud`, `pdalpd`).
    pub async fn designate_commissions(&self, org: Uuid, commissions: &[&str]) {
        let platform = self.platform_token().await;
        let path = format!("/v1/organisations/{org}");
        let current: Value = self.get(&path, &platform).await.json().await.unwrap();
        let r = self
            .request(Method::PATCH, &path, Some(&platform))
            .header("if-match", format!("\"{}\"", current["version"]))
            .json(&json!({"commissions": commissions}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    }

    /// Creates a person with the role in the organisation (as `creator`); returns its id and a token.
    pub async fn person(&self, creator: &str, org: Uuid, role: &str) -> (Uuid, String) {
        let email = format!("{role}.{}@org.example", Uuid::now_v7().simple());
        let r = self
            .post(
                &format!("/v1/organisations/{org}/accounts"),
                creator,
                &json!({"kind": "person", "name": "Dominique Test", "email": email, "role": role}),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "create {role}: {}",
            r.text().await.unwrap()
        );
        let account: Value = r.json().await.unwrap();
        let password = account["temporary_password"].as_str().unwrap().to_owned();
        let token = self.password_token(&email, &password).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        (account["id"].as_str().unwrap().parse().unwrap(), token)
    }

    /// Creates a partner system; returns its account JSON (with the secret).
    pub async fn system(&self, creator: &str, org: Uuid, role: &str, scopes: &[&str]) -> Value {
        let r = self
            .post(
                &format!("/v1/organisations/{org}/accounts"),
                creator,
                &json!({"kind": "system", "name": "Logiciel de test", "role": role, "scopes": scopes}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json().await.unwrap()
    }

    /// A public JSON document of the service (no token): the spec, the keys, the metadata.
    pub async fn public_json(&self, path: &str) -> Value {
        let r = self.client.get(self.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.json().await.unwrap()
    }

    /// An access token of a partner system (as `system` returned it), by client credentials.
    pub async fn system_token(&self, system: &Value) -> String {
        let r = self
            .token(&[
                ("grant_type", "client_credentials"),
                ("client_id", system["client_id"].as_str().unwrap()),
                ("client_secret", system["client_secret"].as_str().unwrap()),
            ])
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let token: Value = r.json().await.unwrap();
        token["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn db(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.database_url)
            .await
            .unwrap()
    }

    /// Every event the token's organisation sees now, read page after page of `limit`.
    pub async fn feed(&self, token: &str, limit: usize) -> Vec<Value> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let path = match &after {
                Some(a) => format!("/v1/events?limit={limit}&after={a}"),
                None => format!("/v1/events?limit={limit}"),
            };
            let r = self.get(&path, token).await;
            assert_eq!(r.status(), StatusCode::OK);
            let page: Value = r.json().await.unwrap();
            let items = page["items"].as_array().unwrap().clone();
            if items.is_empty() {
                // An empty page hands back the position it was asked for.
                assert_eq!(page["next_cursor"].as_str(), after.as_deref());
                return all;
            }
            assert!(items.len() <= limit);
            after = Some(page["next_cursor"].as_str().unwrap().to_owned());
            all.extend(items);
        }
    }

    /// Every item of a list, read `limit` at a time by following `next_cursor`; `path` may
    /// carry filters (`/v1/units?status=available`). Fails past 100 pages (a cursor that
    /// does not move).
    pub async fn list_all(&self, token: &str, path: &str, limit: usize) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let page_path = match &cursor {
                Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
                None => format!("{path}{sep}limit={limit}"),
            };
            let r = self.get(&page_path, token).await;
            assert_eq!(r.status(), StatusCode::OK, "{page_path}");
            let page: Value = r.json().await.unwrap();
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= limit);
            all.extend(items.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return all,
            }
        }
        panic!("{path}: more than 100 pages");
    }

    /// The feed, once it shows what `done` waits for.
    ///
    /// The feed holds an event back until every transaction older than it has ended, and the
    /// tests running side by side share one cluster, whose transactions all count (creating a
    /// test database is one): an event committed a moment ago may come a poll later, as it
    /// would to a partner. Panics with the feed's types when it has not come in 30 s.
    pub async fn feed_until(
        &self,
        token: &str,
        what: &str,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let feed = self.feed(token, 200).await;
            if done(&feed) {
                return feed;
            }
            let types: Vec<&str> = feed.iter().filter_map(|e| e["type"].as_str()).collect();
            assert!(
                Instant::now() < deadline,
                "the feed never showed {what}: {types:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The feed's event types, once every one of `types` is among them.
    pub async fn feed_types_with(&self, token: &str, types: &[&str]) -> Vec<String> {
        let feed = self
            .feed_until(token, &types.join(", "), |feed| {
                types.iter().all(|t| feed.iter().any(|e| e["type"] == *t))
            })
            .await;
        feed.iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `SELECT count(*)` of a table.
    pub async fn count(&self, table: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct C {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.db().await;
        let c: C = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result(&mut conn)
            .await
            .unwrap();
        c.n
    }
}

/// Asserts a problem+json response of the status; returns its body.
pub async fn problem(r: Response, status: u16) -> Value {
    assert_eq!(r.status().as_u16(), status, "status of {}", r.url());
    let ct = r
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(ct, "application/problem+json");
    assert!(r.headers().contains_key("x-request-id"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().unwrap().starts_with("/problems/"));
    assert!(body["title"].is_string() && body["detail"].is_string());
    assert!(!body["request_id"].as_str().unwrap().is_empty());
    body
}

/// Each error of a problem as (field, code), in the order given.
pub fn field_codes(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The fields named by a 422's errors, sorted, each once (a field may break several rules).
pub fn fields(problem: &Value) -> Vec<String> {
    let mut f: Vec<String> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    f.sort();
    f.dedup();
    f
}

/// A `POST` action on a versioned resource: `If-Match` on its `version`, a JSON body.
pub async fn act(app: &TestApp, token: &str, path: &str, version: &Value, body: Value) -> Response {
    app.request(Method::POST, path, Some(token))
        .header("if-match", format!("\"{version}\""))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A `PATCH` of a versioned resource: `If-Match` on its `version`.
pub async fn patch(
    app: &TestApp,
    token: &str,
    path: &str,
    version: &Value,
    body: Value,
) -> Response {
    app.request(Method::PATCH, path, Some(token))
        .header("if-match", format!("\"{version}\""))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A household the token's organisation registers (`body`, as `households::household`
/// makes it), then its consent to sharing given on `given_on`: the household as it is then.
pub async fn household_with_consent(
    app: &TestApp,
    token: &str,
    body: &Value,
    given_on: &str,
) -> Value {
    let h = crate::housing::created(app.post("/v1/households", token, body).await).await;
    crate::housing::ok(
        act(
            app,
            token,
            &format!("/v1/households/{}/consent", crate::housing::id(&h)),
            &h["version"],
            json!({ "given_on": given_on }),
        )
        .await,
    )
    .await
}
