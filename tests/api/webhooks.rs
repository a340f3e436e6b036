//! Signed webhooks: a real receiver on loopback, each delivery verified with an independent
//! Standard Webhooks implementation (the `standardwebhooks` crate, not the service's code).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::households::household;
use crate::housing::{created, id, ok};

/// One request the receiver got.
#[derive(Clone)]
struct Received {
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> String {
        self.headers[name].to_str().unwrap().to_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Verified as a partner's code would, with the `whsec_` secret it was shown.
    fn verify(&self, secret: &str) -> Result<(), standardwebhooks::WebhookError> {
        standardwebhooks::Webhook::new(secret)?.verify(&self.body, &self.headers)
    }
}

#[derive(Default)]
struct ReceiverState {
    got: Mutex<Vec<Received>>,
    /// Statuses to answer, in order; then `otherwise`.
    answers: Mutex<VecDeque<u16>>,
    otherwise: Mutex<u16>,
}

/// An HTTP server on loopback that records what it receives and answers as told.
struct Receiver {
    url: String,
    port: u16,
    state: Arc<ReceiverState>,
}

async fn receive(req: HttpRequest, body: web::Bytes, st: web::Data<ReceiverState>) -> HttpResponse {
    let mut headers = http::HeaderMap::new();
    for (k, v) in req.headers() {
        headers.append(
            http::HeaderName::from_bytes(k.as_str().as_bytes()).unwrap(),
            http::HeaderValue::from_bytes(v.as_bytes()).unwrap(),
        );
    }
    st.got.lock().unwrap().push(Received {
        headers,
        body: body.to_vec(),
    });
    let status = st
        .answers
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(*st.otherwise.lock().unwrap());
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .body(format!("receiver says {status}"))
}

impl Receiver {
    async fn start() -> Receiver {
        let state = Arc::new(ReceiverState::default());
        *state.otherwise.lock().unwrap() = 200;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        Receiver {
            url: format!("http://127.0.0.1:{port}/hooks"),
            port,
            state,
        }
    }

    fn answer(&self, statuses: &[u16], otherwise: u16) {
        self.state.answers.lock().unwrap().extend(statuses);
        *self.state.otherwise.lock().unwrap() = otherwise;
    }

    fn got(&self) -> Vec<Received> {
        self.state.got.lock().unwrap().clone()
    }

    /// Waits (at most 20 s) until `n` requests came.
    async fn until(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver got {} request(s), not {n}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A server running its background work (the webhook worker among it).
async fn app_with_worker() -> TestApp {
    spawn_app_configured(fresh_database().await, |c| c.run_jobs = true).await
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    version: Option<i64>,
) -> Response {
    let mut r = app.request(method, path, Some(token));
    if let Some(v) = version {
        r = r.header("If-Match", format!("\"{v}\""));
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap()
}

/// Registers an endpoint; returns it with its secret.
async fn endpoint(app: &TestApp, token: &str, url: &str, event_types: &[&str]) -> Value {
    created(
        app.post(
            "/v1/webhook-endpoints",
            token,
            &json!({"url": url, "description": "test receiver", "event_types": event_types}),
        )
        .await,
    )
    .await
}

async fn new_household(app: &TestApp, org: &Org, last: &str) -> Value {
    created(
        app.post(
            "/v1/households",
            &org.admin_token,
            &household(last, "Camille", "1988-02-03"),
        )
        .await,
    )
    .await
}

async fn deliveries(app: &TestApp, token: &str, endpoint: &Value) -> Vec<Value> {
    app.list_all(
        token,
        &format!("/v1/webhook-endpoints/{}/deliveries", id(endpoint)),
        200,
    )
    .await
}

/// Waits until the endpoint's deliveries satisfy `done`.
async fn deliveries_until(
    app: &TestApp,
    token: &str,
    endpoint: &Value,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let d = deliveries(app, token, endpoint).await;
        if done(&d) {
            return d;
        }
        assert!(Instant::now() < deadline, "never {what}: {d:#?}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// Each event of the feed with the cursor that stands right after it.
async fn feed_positions(app: &TestApp, token: &str) -> HashMap<String, String> {
    let mut positions = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/v1/events?limit=1&after={a}"),
            None => "/v1/events?limit=1".into(),
        };
        let page = ok(app.get(&path, token).await).await;
        let Some(e) = page["items"].as_array().unwrap().first() else {
            return positions;
        };
        let cursor = page["next_cursor"].as_str().unwrap().to_owned();
        positions.insert(id(e), cursor.clone());
        after = Some(cursor);
    }
}

#[actix_web::test]
async fn deliveries_are_signed_as_standard_webhooks_and_verified_by_an_independent_library() {
    let app = app_with_worker().await;
    let receiver = Receiver::start().await;
    let association = app.organisation("association").await;
    let ep = endpoint(
        &app,
        &association.admin_token,
        &receiver.url,
        &["household.*"],
    )
    .await;
    let secret = ep["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let key = base64_decode(&secret["whsec_".len()..]);
    assert_eq!(key.len(), 32);
    assert_eq!(ep["status"], "enabled");
    // The secret is shown once: neither a read nor a list shows it.
    let read = ok(app
        .get(
            &format!("/v1/webhook-endpoints/{}", id(&ep)),
            &association.admin_token,
        )
        .await)
    .await;
    assert!(read.get("secret").is_none());
    assert!(!read.to_string().contains(&secret[6..]));

    // A database dump alone does not reveal it: no column of the row holds it.
    let mut conn = app.db().await;
    #[derive(diesel::QueryableByName)]
    struct Dump {
        #[diesel(sql_type = diesel::sql_types::Text)]
        row: String,
    }
    let dump: Vec<Dump> = diesel_async::RunQueryDsl::load(
        diesel::sql_query("SELECT w::text AS row FROM webhook_endpoints w"),
        &mut conn,
    )
    .await
    .unwrap();
    assert_eq!(dump.len(), 1);
    assert!(!dump[0].row.contains(&secret[6..]));
    assert!(!dump[0].row.contains(&hex::encode(&key)));

    let h = new_household(&app, &association, "Signé").await;
    let got = receiver.until(1).await;
    let r = &got[0];
    r.verify(&secret).expect("the delivery verifies");
    assert_eq!(r.header("content-type"), "application/json");
    assert!(r.header("user-agent").starts_with("passerelle-webhooks/"));
    let body = r.json();
    assert_eq!(body["type"], "household.created");
    assert_eq!(body["subject"]["id"], id(&h));
    assert_eq!(r.header("webhook-id"), body["id"].as_str().unwrap());
    let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
    assert!((Utc::now().timestamp() - ts).abs() < 30);
    // The event exactly as the feed shows it, plus its position in the feed.
    let feed = app.feed(&association.admin_token, 200).await;
    let in_feed = feed.iter().find(|e| e["id"] == body["id"]).unwrap();
    let mut without_position = body.clone();
    let position = without_position
        .as_object_mut()
        .unwrap()
        .remove("feed_position")
        .unwrap();
    assert_eq!(&without_position, in_feed);
    let positions = feed_positions(&app, &association.admin_token).await;
    assert_eq!(position.as_str().unwrap(), positions[&id(&body)]);

    // Tampered with, it no longer verifies; nor with another secret.
    let mut tampered = r.clone();
    tampered.body = String::from_utf8(r.body.clone())
        .unwrap()
        .replace("household.created", "household.updated")
        .into_bytes();
    assert!(matches!(
        tampered.verify(&secret),
        Err(standardwebhooks::WebhookError::InvalidSignature)
    ));
    let other = ok(app
        .get(
            &format!("/v1/webhook-endpoints/{}", id(&ep)),
            &association.admin_token,
        )
        .await)
    .await;
    assert_eq!(other["version"], 1);
    assert!(r
        .verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo=")
        .is_err());

    // The delivery is recorded as succeeded, with its attempt.
    let d = deliveries_until(&app, &association.admin_token, &ep, "succeeded", |d| {
        d.len() == 1 && d[0]["status"] == "succeeded"
    })
    .await;
    assert_eq!(d[0]["event_id"], body["id"]);
    assert_eq!(d[0]["event_type"], "household.created");
    assert_eq!(d[0]["feed_position"], position);
    // Filtered by type, exactly or by prefix; an unknown type is refused.
    let path = format!("/v1/webhook-endpoints/{}/deliveries", id(&ep));
    for (filter, n) in [
        ("household.created", 1),
        ("household.*", 1),
        ("referral.*", 0),
    ] {
        let page = ok(app
            .get(
                &format!("{path}?event_type={filter}"),
                &association.admin_token,
            )
            .await)
        .await;
        assert_eq!(page["items"].as_array().unwrap().len(), n, "{filter}");
    }
    let p = problem(
        app.get(&format!("{path}?event_type=nope"), &association.admin_token)
            .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("event_type".to_owned(), "unknown_event_type".to_owned())]
    );
    assert_eq!(d[0]["attempt_count"], 1);
    let attempt = &d[0]["attempts"][0];
    assert_eq!(attempt["response_status"], 200);
    assert_eq!(attempt["response_body"], "receiver says 200");
    assert_eq!(attempt["error"], Value::Null);
    assert_eq!(attempt["next_attempt_at"], Value::Null);

    // A test event, sent now, signed the same way.
    let r = app
        .request(
            Method::POST,
            &format!("/v1/webhook-endpoints/{}/test", id(&ep)),
            Some(&association.admin_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let test: Value = r.json().await.unwrap();
    assert_eq!(test["event_type"], "webhook.test");
    assert_eq!(test["status"], "pending");
    let got = receiver.until(2).await;
    got[1].verify(&secret).unwrap();
    let body = got[1].json();
    assert_eq!(body["type"], "webhook.test");
    assert_eq!(
        body["subject"],
        json!({"type": "webhook_endpoint", "id": id(&ep)})
    );
    assert_eq!(body["feed_position"], Value::Null);
    assert_eq!(
        got[1].header("webhook-id"),
        test["event_id"].as_str().unwrap()
    );

    // Rotation: the new secret shown once; both sign for the overlap; the old and the new
    // receivers both verify.
    let rotated = ok(send(
        &app,
        Method::POST,
        &format!("/v1/webhook-endpoints/{}/rotate-secret", id(&ep)),
        &association.admin_token,
        None,
        Some(1),
    )
    .await)
    .await;
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    let expires = at(&rotated["previous_secret_expires_at"]);
    let expected = Utc::now() + TimeDelta::hours(24);
    assert!((expires - expected).num_seconds().abs() < 60, "{expires}");
    new_household(&app, &association, "Tournant").await;
    let got = receiver.until(3).await;
    let r = &got[2];
    assert_eq!(r.header("webhook-signature").split(' ').count(), 2);
    r.verify(&secret)
        .expect("a receiver still holding the old secret verifies");
    r.verify(&new_secret)
        .expect("a receiver holding the new secret verifies");

    // A rotation that stops the old secret at once: only the newest signs.
    let rotated = ok(send(
        &app,
        Method::POST,
        &format!("/v1/webhook-endpoints/{}/rotate-secret", id(&ep)),
        &association.admin_token,
        Some(json!({"previous_secret_valid_for_seconds": 0})),
        Some(2),
    )
    .await)
    .await;
    assert_eq!(rotated["previous_secret_expires_at"], Value::Null);
    let newest = rotated["secret"].as_str().unwrap().to_owned();
    new_household(&app, &association, "Dernier").await;
    let got = receiver.until(4).await;
    let r = &got[3];
    assert_eq!(r.header("webhook-signature").split(' ').count(), 1);
    r.verify(&newest).unwrap();
    assert!(r.verify(&new_secret).is_err());
    assert!(r.verify(&secret).is_err());
}

/// A name part for a number: a, b, …, z, ba, bb…
fn letters(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'a' + (i % 26) as u8);
        i /= 26;
        if i == 0 {
            break;
        }
    }
    s.reverse();
    String::from_utf8(s).unwrap()
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[actix_web::test]
async fn a_failed_delivery_is_retried_with_the_same_id_on_the_schedule_the_test_runs_through() {
    let app = app_with_worker().await;
    let clock = app.config.clock.clone();
    let receiver = Receiver::start().await;
    receiver.answer(&[500], 200);
    let association = app.organisation("association").await;
    let token = association.admin_token.clone();
    let ep = endpoint(&app, &token, &receiver.url, &["household.*"]).await;
    let secret = ep["secret"].as_str().unwrap().to_owned();
    new_household(&app, &association, "Réessai").await;
    let d = deliveries_until(&app, &token, &ep, "a failed first attempt", |d| {
        d.len() == 1 && d[0]["attempt_count"] == 1
    })
    .await;
    let first = &d[0]["attempts"][0];
    assert_eq!(d[0]["status"], "pending");
    assert_eq!(first["response_status"], 500);
    assert_eq!(first["response_body"], "receiver says 500");
    assert_eq!(first["error"], "http_status");
    let gap = at(&d[0]["next_attempt_at"]) - at(&first["attempted_at"]);
    assert!(
        gap >= TimeDelta::milliseconds(4500) && gap <= TimeDelta::milliseconds(5500),
        "{gap}"
    );
    assert_eq!(first["next_attempt_at"], d[0]["next_attempt_at"]);
    // The endpoint is failing since that attempt (a new version of it).
    let e = ok(app
        .get(&format!("/v1/webhook-endpoints/{}", id(&ep)), &token)
        .await)
    .await;
    assert_eq!(e["failing_since"], first["attempted_at"]);
    assert_eq!(e["version"], 2);
    // Nothing happens before the time: the clock is moved, not slept through.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.got().len(), 1);
    clock.set_to(at(&d[0]["next_attempt_at"]) + TimeDelta::milliseconds(100));
    let got = receiver.until(2).await;
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert_eq!(got[0].body, got[1].body);
    got[0].verify(&secret).unwrap();
    got[1].verify(&secret).unwrap();
    let d = deliveries_until(&app, &token, &ep, "succeeded", |d| {
        d[0]["status"] == "succeeded"
    })
    .await;
    assert_eq!(d[0]["attempt_count"], 2);
    let e = ok(app
        .get(&format!("/v1/webhook-endpoints/{}", id(&ep)), &token)
        .await)
    .await;
    assert_eq!(e["failing_since"], Value::Null);
    assert_eq!(e["version"], 3);

    // Always failing: eight attempts, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h apart (±10 %),
    // then `failed`.
    receiver.answer(&[], 503);
    new_household(&app, &association, "Échec").await;
    let schedule = [5, 300, 1800, 7200, 18000, 36000, 36000];
    let started = clock.now();
    for (n, seconds) in schedule.iter().enumerate() {
        let d = deliveries_until(&app, &token, &ep, "the next attempt", |d| {
            d.len() == 2 && d[1]["attempt_count"] == n as i64 + 1
        })
        .await;
        let last = &d[1]["attempts"][n];
        let gap =
            (at(&d[1]["next_attempt_at"]) - at(&last["attempted_at"])).num_milliseconds() as f64;
        let expected = *seconds as f64 * 1000.0;
        assert!(
            gap >= expected * 0.9 - 1.0 && gap <= expected * 1.1 + 1.0,
            "after failure {}: {gap} ms, expected {expected} ms ± 10 %",
            n + 1
        );
        clock.set_to(at(&d[1]["next_attempt_at"]) + TimeDelta::milliseconds(100));
    }
    let d = deliveries_until(&app, &token, &ep, "failed", |d| d[1]["status"] == "failed").await;
    assert_eq!(d[1]["attempt_count"], 8);
    assert_eq!(d[1]["next_attempt_at"], Value::Null);
    assert_eq!(d[1]["attempts"].as_array().unwrap().len(), 8);
    assert_eq!(d[1]["attempts"][7]["next_attempt_at"], Value::Null);
    let ids: HashSet<String> = receiver.got()[2..]
        .iter()
        .map(|r| r.header("webhook-id"))
        .collect();
    assert_eq!(ids.len(), 1, "every retry carries the same webhook-id");
    assert_eq!(receiver.got().len(), 2 + 8);
    // Not yet 5 days of failures (about 28 hours): still enabled.
    let e = ok(app
        .get(&format!("/v1/webhook-endpoints/{}", id(&ep)), &token)
        .await)
    .await;
    assert_eq!(e["status"], "enabled");
    let failing_since = at(&e["failing_since"]);
    assert!(failing_since >= started - TimeDelta::seconds(1));

    // Redelivered by hand: one more attempt now, which succeeds.
    receiver.answer(&[200], 503);
    let r = app
        .request(
            Method::POST,
            &format!("/v1/webhook-deliveries/{}/redeliver", id(&d[1])),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let d = deliveries_until(&app, &token, &ep, "redelivered", |d| {
        d[1]["status"] == "succeeded"
    })
    .await;
    assert_eq!(d[1]["attempt_count"], 9);
    assert_eq!(
        receiver.got().last().unwrap().header("webhook-id"),
        receiver.got()[2].header("webhook-id")
    );

    // Five days of failures without a success disable it, and its feed says so.
    let e = ok(app
        .get(&format!("/v1/webhook-endpoints/{}", id(&ep)), &token)
        .await)
    .await;
    assert_eq!(e["failing_since"], Value::Null);
    new_household(&app, &association, "Lundi").await;
    let d = deliveries_until(&app, &token, &ep, "a new failure", |d| {
        d.len() == 3 && d[2]["attempt_count"] == 1
    })
    .await;
    let since = at(&d[2]["attempts"][0]["attempted_at"]);
    clock.set_to(since + TimeDelta::days(5) + TimeDelta::minutes(1));
    new_household(&app, &association, "Samedi").await;
    let feed = app
        .feed_until(&token, "webhook_endpoint.disabled", |f| {
            f.iter().any(|e| e["type"] == "webhook_endpoint.disabled")
        })
        .await;
    let event = feed
        .iter()
        .find(|e| e["type"] == "webhook_endpoint.disabled")
        .unwrap();
    assert_eq!(
        event["subject"],
        json!({"type": "webhook_endpoint", "id": id(&ep)})
    );
    assert_eq!(event["data"]["disabled_reason"], "failing");
    let e = ok(app
        .get(&format!("/v1/webhook-endpoints/{}", id(&ep)), &token)
        .await)
    .await;
    assert_eq!(e["status"], "disabled");
    assert_eq!(e["disabled_reason"], "failing");
    assert_eq!(event["data"]["version"], e["version"]);
}

#[actix_web::test]
async fn gone_disables_the_endpoint_at_once_and_enabling_sends_what_was_pending() {
    let app = app_with_worker().await;
    let receiver = Receiver::start().await;
    receiver.answer(&[410], 200);
    let association = app.organisation("association").await;
    let token = association.admin_token.clone();
    let ep = endpoint(&app, &token, &receiver.url, &["household.created"]).await;
    new_household(&app, &association, "Parti").await;
    let feed = app
        .feed_until(&token, "webhook_endpoint.disabled", |f| {
            f.iter().any(|e| e["type"] == "webhook_endpoint.disabled")
        })
        .await;
    let event = feed
        .iter()
        .find(|e| e["type"] == "webhook_endpoint.disabled")
        .unwrap();
    assert_eq!(event["data"]["disabled_reason"], "gone");
    let e = ok(app
        .get(&format!("/v1/webhook-endpoints/{}", id(&ep)), &token)
        .await)
    .await;
    assert_eq!(e["status"], "disabled");
    assert_eq!(e["disabled_reason"], "gone");
    let d = deliveries(&app, &token, &ep).await;
    assert_eq!(d[0]["status"], "failed");
    assert_eq!(d[0]["attempts"][0]["response_status"], 410);
    // Disabled: nothing more is queued or sent.
    new_household(&app, &association, "Absent").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.got().len(), 1);
    assert_eq!(deliveries(&app, &token, &ep).await.len(), 1);
    // Testing or redelivering to a disabled endpoint is a conflict.
    let r = app
        .request(
            Method::POST,
            &format!("/v1/webhook-endpoints/{}/test", id(&ep)),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    problem(r, 409).await;
    let r = app
        .request(
            Method::POST,
            &format!("/v1/webhook-deliveries/{}/redeliver", id(&d[0])),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    problem(r, 409).await;
    // Enabled again by the organisation: new events go out.
    let version = e["version"].as_i64().unwrap();
    let enabled = ok(send(
        &app,
        Method::POST,
        &format!("/v1/webhook-endpoints/{}/enable", id(&ep)),
        &token,
        None,
        Some(version),
    )
    .await)
    .await;
    assert_eq!(enabled["status"], "enabled");
    assert_eq!(enabled["disabled_reason"], Value::Null);
    let p = problem(
        send(
            &app,
            Method::POST,
            &format!("/v1/webhook-endpoints/{}/enable", id(&ep)),
            &token,
            None,
            Some(version + 1),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["current_status"], "enabled");
    assert_eq!(
        p["allowed_actions"],
        json!(["disable", "rotate-secret", "test"])
    );
    new_household(&app, &association, "Revenu").await;
    let got = receiver.until(2).await;
    assert_eq!(got[1].json()["type"], "household.created");
    // Disabled by request: the reason says so; then deleted, with its deliveries.
    let disabled = ok(send(
        &app,
        Method::POST,
        &format!("/v1/webhook-endpoints/{}/disable", id(&ep)),
        &token,
        None,
        Some(version + 1),
    )
    .await)
    .await;
    assert_eq!(disabled["disabled_reason"], "by_request");
    let r = send(
        &app,
        Method::DELETE,
        &format!("/v1/webhook-endpoints/{}", id(&ep)),
        &token,
        None,
        None,
    )
    .await;
    problem(r, 428).await;
    let r = send(
        &app,
        Method::DELETE,
        &format!("/v1/webhook-endpoints/{}", id(&ep)),
        &token,
        None,
        Some(version + 2),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    problem(
        app.get(&format!("/v1/webhook-endpoints/{}", id(&ep)), &token)
            .await,
        404,
    )
    .await;
    assert_eq!(app.count("webhook_deliveries").await, 0);
    assert_eq!(app.count("webhook_attempts").await, 0);
    // The organisation's feed tells who registered, changed and deleted it, and where it
    // sent (a data protection officer's question).
    let feed = app.feed(&token, 200).await;
    let about: Vec<&Value> = feed
        .iter()
        .filter(|e| e["subject"]["id"] == id(&ep))
        .collect();
    let types: Vec<&str> = about.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        vec![
            "webhook_endpoint.created",
            "webhook_endpoint.disabled",
            "webhook_endpoint.updated",
            "webhook_endpoint.updated",
            "webhook_endpoint.deleted"
        ]
    );
    assert_eq!(
        about[0]["actor"]["account_id"],
        association.admin_id.to_string()
    );
    assert_eq!(about[0]["data"]["url"], receiver.url);
    assert_eq!(
        about[1]["actor"]["account_id"],
        Value::Null,
        "disabled by the service"
    );
    assert_eq!(
        about[4]["actor"]["account_id"],
        association.admin_id.to_string()
    );
    assert_eq!(
        ep["created_by_account_id"],
        association.admin_id.to_string()
    );
}

#[actix_web::test]
async fn two_instances_on_one_database_deliver_each_event_exactly_once() {
    let first = app_with_worker().await;
    let second = first.at(&Utc::now().to_rfc3339()).await;
    assert!(second.config.run_jobs);
    let receiver = Receiver::start().await;
    let association = first.organisation("association").await;
    let ep = endpoint(
        &first,
        &association.admin_token,
        &receiver.url,
        &["household.created"],
    )
    .await;
    let secret = ep["secret"].as_str().unwrap().to_owned();
    let n = 120;
    let bodies: Vec<Value> = (0..n)
        .map(|i| household(&format!("Double{}", letters(i)), "Camille", "1988-02-03"))
        .collect();
    let mut writes = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let app = if i % 2 == 0 { &first } else { &second };
        writes.push(app.post("/v1/households", &association.admin_token, body));
    }
    for r in futures::future::join_all(writes).await {
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let got = receiver.until(n).await;
    // A moment more: nothing comes twice.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got_now = receiver.got();
    assert_eq!(got_now.len(), got.len());
    let ids: HashSet<String> = got_now.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids.len(), n, "each event once");
    assert_eq!(got_now.len(), n);
    for r in &got_now {
        r.verify(&secret).unwrap();
    }
    let d = deliveries(&first, &association.admin_token, &ep).await;
    assert_eq!(d.len(), n);
    assert!(d
        .iter()
        .all(|d| d["status"] == "succeeded" && d["attempt_count"] == 1));
}

#[actix_web::test]
async fn an_endpoint_receives_only_what_its_organisation_may_see_and_asked_for() {
    let app = app_with_worker().await;
    let a_receiver = Receiver::start().await;
    let b_receiver = Receiver::start().await;
    let filtered_receiver = Receiver::start().await;
    let a = app.organisation("association").await;
    let b = app.organisation("association").await;
    endpoint(&app, &a.admin_token, &a_receiver.url, &[]).await;
    endpoint(&app, &b.admin_token, &b_receiver.url, &[]).await;
    endpoint(
        &app,
        &b.admin_token,
        &filtered_receiver.url,
        &["referral.*"],
    )
    .await;
    for i in 0..3 {
        new_household(&app, &a, &format!("Alpha{}", letters(i))).await;
    }
    let hb = new_household(&app, &b, "Beta").await;
    // A reads every event of its own feed; B its own: never the other's.
    let a_feed: HashSet<String> = app.feed(&a.admin_token, 200).await.iter().map(id).collect();
    let b_feed: HashSet<String> = app.feed(&b.admin_token, 200).await.iter().map(id).collect();
    // What each endpoint got is of its organisation's feed, every household it created
    // among it (the events before the endpoint existed may or may not be: the dispatcher
    // may have passed them already).
    let households = |r: &Receiver| {
        r.got()
            .iter()
            .filter(|r| r.json()["type"] == "household.created")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while households(&a_receiver) < 3 || households(&b_receiver) < 1 {
        assert!(Instant::now() < deadline, "the households never all came");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let a_got = a_receiver.got();
    let b_got = b_receiver.got();
    let a_ids: HashSet<String> = a_got.iter().map(|r| r.header("webhook-id")).collect();
    let b_ids: HashSet<String> = b_got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(a_ids.is_subset(&a_feed), "{a_ids:?} {a_feed:?}");
    assert!(b_ids.is_subset(&b_feed), "{b_ids:?} {b_feed:?}");
    assert_eq!(
        a_got
            .iter()
            .filter(|r| r.json()["type"] == "household.created")
            .count(),
        3
    );
    assert_eq!(a_ids.len(), a_receiver.got().len(), "each once");
    assert!(a_ids.is_disjoint(&b_ids));
    assert!(a_got.iter().all(|r| r.json()["subject"]["id"] != id(&hb)));
    assert!(b_got.iter().any(|r| r.json()["subject"]["id"] == id(&hb)));
    // The endpoint asking for referrals only got none of these.
    assert!(filtered_receiver.got().is_empty());
    // Another organisation's endpoint is not found.
    let b_endpoints = app
        .list_all(&b.admin_token, "/v1/webhook-endpoints", 200)
        .await;
    assert_eq!(b_endpoints.len(), 2);
    for e in &b_endpoints {
        problem(
            app.get(&format!("/v1/webhook-endpoints/{}", id(e)), &a.admin_token)
                .await,
            404,
        )
        .await;
        problem(
            app.get(
                &format!("/v1/webhook-endpoints/{}/deliveries", id(e)),
                &a.admin_token,
            )
            .await,
            404,
        )
        .await;
    }
    let b_delivery = deliveries(&app, &b.admin_token, &b_endpoints[0]).await;
    problem(
        app.get(
            &format!("/v1/webhook-deliveries/{}", id(&b_delivery[0])),
            &a.admin_token,
        )
        .await,
        404,
    )
    .await;
    let r = app
        .request(
            Method::POST,
            &format!("/v1/webhook-deliveries/{}/redeliver", id(&b_delivery[0])),
            Some(&a.admin_token),
        )
        .send()
        .await
        .unwrap();
    problem(r, 404).await;
}

#[actix_web::test]
async fn forbidden_addresses_are_refused_at_creation_and_at_delivery() {
    let database = fresh_database().await;
    // The strict server delivers; a development server on the same database (private
    // targets allowed, no worker) registers what the strict one would refuse.
    let strict = spawn_app_configured(database, |c| {
        c.run_jobs = true;
        c.webhooks_allow_private = false;
    })
    .await;
    let lax = strict.twin(|c| {
        c.run_jobs = false;
        c.webhooks_allow_private = true;
    });
    let receiver = Receiver::start().await;
    let org = strict.organisation("association").await;
    let p = receiver.port;
    for (url, code) in [
        (format!("http://hooks.example.org:{p}/"), "https_required"),
        (format!("https://127.0.0.1:{p}/"), "forbidden_address"),
        (format!("https://localhost:{p}/"), "forbidden_address"),
        ("https://10.0.0.7/".into(), "forbidden_address"),
        ("https://172.16.5.4/".into(), "forbidden_address"),
        ("https://192.168.1.20/".into(), "forbidden_address"),
        ("https://100.64.0.1/".into(), "forbidden_address"),
        (
            "https://169.254.169.254/latest/meta-data/".into(),
            "forbidden_address",
        ),
        ("https://0.0.0.0/".into(), "forbidden_address"),
        ("https://[::1]/".into(), "forbidden_address"),
        ("https://[fe80::1]/".into(), "forbidden_address"),
        ("https://[fd00:ec2::254]/".into(), "forbidden_address"),
        ("https://[::ffff:127.0.0.1]/".into(), "forbidden_address"),
        // Every IPv6 form carrying a loopback IPv4 address.
        ("https://[::127.0.0.1]/".into(), "forbidden_address"),
        ("https://[::ffff:0:127.0.0.1]/".into(), "forbidden_address"),
        (
            format!("https://[64:ff9b::7f00:1]:{p}/"),
            "forbidden_address",
        ),
        (
            "https://[2a00:1450::5efe:127.0.0.1]/".into(),
            "forbidden_address",
        ),
        ("https://[2002:7f00:1::1]/".into(), "forbidden_address"),
        (
            "https://user:secret@hooks.example.org/".into(),
            "credentials_in_url",
        ),
        ("hooks.example.org".into(), "invalid_url"),
    ] {
        let r = strict
            .post(
                "/v1/webhook-endpoints",
                &org.admin_token,
                &json!({"url": url}),
            )
            .await;
        let p = problem(r, 422).await;
        assert_eq!(
            field_codes(&p),
            vec![("url".to_owned(), code.to_owned())],
            "{url}"
        );
    }
    assert_eq!(strict.count("webhook_endpoints").await, 0);

    // At delivery: each address the strict server refuses, registered through the lax one,
    // gets an attempt refused before any connection (the receiver hears nothing).
    let mut registered = Vec::new();
    for url in [
        format!("https://127.0.0.1:{p}/hooks"),
        format!("https://localhost:{p}/hooks"),
        format!("http://127.0.0.1:{p}/hooks"),
        format!("https://[::1]:{p}/hooks"),
        format!("https://[::127.0.0.1]:{p}/hooks"),
        format!("https://[::ffff:0:127.0.0.1]:{p}/hooks"),
        "https://169.254.169.254/latest/meta-data/".into(),
        "https://10.0.0.7/hooks".into(),
        "https://[fd00:ec2::254]/".into(),
    ] {
        registered.push(endpoint(&lax, &org.admin_token, &url, &["household.created"]).await);
    }
    new_household(&strict, &org, "Refusé").await;
    for ep in &registered {
        let d = deliveries_until(&strict, &org.admin_token, ep, "a refused attempt", |d| {
            d.len() == 1 && d[0]["attempt_count"] == 1
        })
        .await;
        let attempt = &d[0]["attempts"][0];
        assert_eq!(
            attempt["error"], "forbidden_address",
            "{}: {attempt}",
            ep["url"]
        );
        assert_eq!(attempt["response_status"], Value::Null);
        assert_eq!(d[0]["status"], "pending");
    }
    assert!(
        receiver.got().is_empty(),
        "nothing reached the loopback receiver"
    );
}

#[actix_web::test]
async fn each_field_rule_is_a_422_naming_the_field_and_only_admins_and_granted_systems_manage_endpoints(
) {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let token = org.admin_token.clone();
    let long = format!("http://127.0.0.1/{}", "a".repeat(2048));
    let r = app
        .post(
            "/v1/webhook-endpoints",
            &token,
            &json!({"url": long, "description": "d".repeat(501),
                    "event_types": ["referral.*", "nope.*", "referral.accepted", "referral.*", "household", "*"]}),
        )
        .await;
    let p = problem(r, 422).await;
    let mut codes = field_codes(&p);
    codes.sort();
    assert_eq!(
        codes,
        vec![
            ("description".to_owned(), "length".to_owned()),
            ("event_types[1]".to_owned(), "unknown_event_type".to_owned()),
            ("event_types[3]".to_owned(), "duplicate".to_owned()),
            ("event_types[4]".to_owned(), "unknown_event_type".to_owned()),
            ("event_types[5]".to_owned(), "unknown_event_type".to_owned()),
            ("url".to_owned(), "length".to_owned()),
        ]
    );
    let p = problem(
        app.post("/v1/webhook-endpoints", &token, &json!({})).await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("url".to_owned(), "required".to_owned())]
    );
    assert_eq!(app.count("webhook_endpoints").await, 0);

    let ep = endpoint(&app, &token, "http://127.0.0.1:9/hooks", &["referral.*"]).await;
    let path = format!("/v1/webhook-endpoints/{}", id(&ep));
    // PATCH: every rule at once, nothing changed.
    let r = send(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(json!({"event_types": ["sublease.nope"], "description": "x".repeat(501)})),
        Some(1),
    )
    .await;
    let p = problem(r, 422).await;
    let mut codes = field_codes(&p);
    codes.sort();
    assert_eq!(
        codes,
        vec![
            ("description".to_owned(), "length".to_owned()),
            ("event_types[0]".to_owned(), "unknown_event_type".to_owned()),
        ]
    );
    let r = send(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(json!({"url": null})),
        Some(1),
    )
    .await;
    assert_eq!(
        field_codes(&problem(r, 422).await),
        vec![("url".to_owned(), "not_nullable".to_owned())]
    );
    let r = send(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(json!({"url": "ftp://x.example/"})),
        Some(1),
    )
    .await;
    assert_eq!(
        field_codes(&problem(r, 422).await),
        vec![("url".to_owned(), "https_required".to_owned())]
    );
    problem(
        send(
            &app,
            Method::PATCH,
            &path,
            &token,
            Some(json!({"description": "x"})),
            None,
        )
        .await,
        428,
    )
    .await;
    problem(
        send(
            &app,
            Method::PATCH,
            &path,
            &token,
            Some(json!({"description": "x"})),
            Some(7),
        )
        .await,
        412,
    )
    .await;
    let same = ok(send(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(json!({"event_types": ["referral.*"]})),
        Some(1),
    )
    .await)
    .await;
    assert_eq!(
        same["version"], 1,
        "a PATCH that changes nothing keeps the version"
    );
    let changed = ok(send(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(json!({"event_types": [], "description": ""})),
        Some(1),
    )
    .await)
    .await;
    assert_eq!(changed["event_types"], json!([]));
    assert_eq!(changed["description"], "");
    assert_eq!(changed["version"], 2);
    let r = send(
        &app,
        Method::POST,
        &format!("{path}/rotate-secret"),
        &token,
        Some(json!({"previous_secret_valid_for_seconds": 604_801})),
        Some(2),
    )
    .await;
    assert_eq!(
        field_codes(&problem(r, 422).await),
        vec![(
            "previous_secret_valid_for_seconds".to_owned(),
            "range".to_owned()
        )]
    );
    let p = problem(
        app.get(&format!("{path}/deliveries?status=sent"), &token)
            .await,
        400,
    )
    .await;
    assert_eq!(fields(&p), vec!["status".to_owned()]);
    let long = "a".repeat(101);
    let p = problem(
        app.get(&format!("{path}/deliveries?event_type={long}"), &token)
            .await,
        400,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("event_type".to_owned(), "length".to_owned())]
    );

    // Who: a worker or a viewer (people) may not; a system needs the scope; a platform
    // admin has no endpoints; another organisation does not see it.
    let platform = app.platform_token().await;
    let (_, worker) = app.person(&token, org.id, "worker").await;
    let (_, coordinator) = app.person(&token, org.id, "coordinator").await;
    for t in [&worker, &coordinator] {
        problem(app.get("/v1/webhook-endpoints", t).await, 403).await;
        problem(
            app.post(
                "/v1/webhook-endpoints",
                t,
                &json!({"url": "http://127.0.0.1:9/"}),
            )
            .await,
            403,
        )
        .await;
    }
    problem(app.get("/v1/webhook-endpoints", &platform).await, 403).await;
    let reader = app
        .system(&token, org.id, "worker", &["webhooks:read"])
        .await;
    let reader = app.system_token(&reader).await;
    assert_eq!(
        ok(app.get("/v1/webhook-endpoints", &reader).await).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    problem(
        app.post(
            "/v1/webhook-endpoints",
            &reader,
            &json!({"url": "http://127.0.0.1:9/"}),
        )
        .await,
        403,
    )
    .await;
    // Pointing the feed somewhere needs the feed's scope too.
    let blind = app
        .system(
            &token,
            org.id,
            "worker",
            &["webhooks:read", "webhooks:write"],
        )
        .await;
    let blind = app.system_token(&blind).await;
    problem(
        app.post(
            "/v1/webhook-endpoints",
            &blind,
            &json!({"url": "http://127.0.0.1:9/"}),
        )
        .await,
        403,
    )
    .await;
    let writer = app
        .system(
            &token,
            org.id,
            "worker",
            &["webhooks:read", "webhooks:write", "events:read"],
        )
        .await;
    let writer = app.system_token(&writer).await;
    // The URL is stored as it is used.
    let other = endpoint(&app, &writer, " HTTP://127.0.0.1:9/Other hook", &[]).await;
    assert_eq!(other["url"], "http://127.0.0.1:9/Other%20hook");
    let stranger = app.organisation("social_landlord").await;
    problem(app.get(&path, &stranger.admin_token).await, 404).await;
    problem(
        send(
            &app,
            Method::PATCH,
            &path,
            &stranger.admin_token,
            Some(json!({"description": "x"})),
            Some(2),
        )
        .await,
        404,
    )
    .await;

    // At most 20 per organisation.
    for i in 2..20 {
        endpoint(&app, &token, &format!("http://127.0.0.1:9/{i}"), &[]).await;
    }
    let r = app
        .post(
            "/v1/webhook-endpoints",
            &token,
            &json!({"url": "http://127.0.0.1:9/21"}),
        )
        .await;
    problem(r, 409).await;
    assert_eq!(app.count("webhook_endpoints").await, 20);
}

#[actix_web::test]
async fn deliveries_older_than_thirty_days_are_purged() {
    let app = app_with_worker().await;
    let receiver = Receiver::start().await;
    let org = app.organisation("association").await;
    let ep = endpoint(&app, &org.admin_token, &receiver.url, &["household.*"]).await;
    new_household(&app, &org, "Ancien").await;
    deliveries_until(&app, &org.admin_token, &ep, "delivered", |d| {
        !d.is_empty() && d.iter().all(|d| d["status"] == "succeeded")
    })
    .await;
    let kept = app.count("webhook_deliveries").await;
    assert!(kept >= 1);
    let pool = passerelle::db::pool(&app.database_url, 1, "tests").unwrap();
    let now = Utc::now();
    assert_eq!(
        passerelle::jobs::purge_webhook_deliveries(&pool, now + TimeDelta::days(29))
            .await
            .unwrap(),
        0
    );
    assert_eq!(app.count("webhook_deliveries").await, kept);
    let purged = passerelle::jobs::purge_webhook_deliveries(&pool, now + TimeDelta::days(31))
        .await
        .unwrap();
    assert_eq!(purged as i64, kept);
    assert_eq!(app.count("webhook_deliveries").await, 0);
    assert_eq!(app.count("webhook_attempts").await, 0);
}

#[actix_web::test]
async fn an_event_is_sent_no_sooner_than_the_feed_shows_it_and_a_late_commit_is_not_skipped() {
    use diesel::sql_types::Uuid as SqlUuid;
    use diesel_async::RunQueryDsl;
    let app = app_with_worker().await;
    let receiver = Receiver::start().await;
    let org = app.organisation("association").await;
    endpoint(&app, &org.admin_token, &receiver.url, &["household.*"]).await;
    // A transaction that starts first and commits last, with an event for the organisation
    // (as a slow request of the service would write it).
    let mut slow = app.db().await;
    diesel::sql_query("BEGIN").execute(&mut slow).await.unwrap();
    let late = uuid::Uuid::now_v7();
    diesel::sql_query(
        "WITH e AS (INSERT INTO events (id, event_type, subject_type, subject_id, data) \
                    VALUES ($1, 'household.updated', 'household', $1, '{}') RETURNING seq) \
         INSERT INTO event_recipients (organisation_id, seq) SELECT $2, seq FROM e",
    )
    .bind::<SqlUuid, _>(late)
    .bind::<SqlUuid, _>(org.id)
    .execute(&mut slow)
    .await
    .unwrap();
    // A later transaction commits first: neither the feed nor the endpoint gets its event
    // while the older one runs (it would pass the older event by).
    let h = new_household(&app, &org, "Pressé").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(receiver.got().is_empty(), "sent before the feed shows it");
    let feed = app.feed(&org.admin_token, 200).await;
    assert!(feed.iter().all(|e| e["subject"]["id"] != id(&h)));
    diesel::sql_query("COMMIT")
        .execute(&mut slow)
        .await
        .unwrap();
    // Once it commits, both come: the late one is not skipped.
    let got = receiver.until(2).await;
    let ids: HashSet<String> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(
        ids.contains(&late.to_string()),
        "the late commit was skipped"
    );
    assert!(got.iter().any(|r| r.json()["subject"]["id"] == id(&h)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.got().len(), 2);
}

#[actix_web::test]
async fn a_crashed_instances_deliveries_are_taken_over_when_its_lease_runs_out() {
    use diesel::sql_types::{Timestamptz, Uuid as SqlUuid};
    use diesel_async::RunQueryDsl;
    // No worker here: the delivery is queued, then taken by an instance that "crashes".
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let org = app.organisation("association").await;
    // (Referrals only: the organisation's own creation events stay out of the way.)
    let ep = endpoint(&app, &org.admin_token, &receiver.url, &["referral.*"]).await;
    let r = app
        .request(
            Method::POST,
            &format!("/v1/webhook-endpoints/{}/test", id(&ep)),
            Some(&org.admin_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let queued: Value = r.json().await.unwrap();
    // Its lease, as the claim writes it (the attempt's timeout and a margin: 60 s).
    let now = Utc::now();
    let mut conn = app.db().await;
    let taken = diesel::sql_query(
        "UPDATE webhook_deliveries SET claimed_until = $1, claim_token = gen_random_uuid() WHERE id = $2",
    )
    .bind::<Timestamptz, _>(now + TimeDelta::seconds(60))
    .bind::<SqlUuid, _>(id(&queued).parse::<uuid::Uuid>().unwrap())
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(taken, 1);
    // Another instance: nothing while the lease holds…
    let other = app.twin(|c| c.run_jobs = true);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(receiver.got().is_empty());
    // …and the delivery once it has run out.
    other.config.clock.set_to(now + TimeDelta::seconds(61));
    let got = receiver.until(1).await;
    assert_eq!(
        got[0].header("webhook-id"),
        queued["event_id"].as_str().unwrap()
    );
    got[0].verify(ep["secret"].as_str().unwrap()).unwrap();
    deliveries_until(&app, &org.admin_token, &ep, "taken over", |d| {
        d[0]["status"] == "succeeded"
    })
    .await;
}
