//! The contract pieces every endpoint shares: errors, idempotency, pagination, the event
//! feed, request ids, CORS, the committed spec.

use diesel_async::{AsyncConnection, RunQueryDsl};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashSet;
use uuid::Uuid;

use crate::helpers::*;

fn new_org() -> Value {
    json!({"kind": "association", "name": "Association du Bocage", "siret": siret(),
           "department_code": "53", "contact_email": "bocage@example.org"})
}

#[actix_web::test]
async fn errors_are_problem_json_everywhere() {
    let app = spawn_app().await;
    let token = app.platform_token().await;
    // Malformed JSON: 400 with line and column.
    let r = app
        .request(Method::POST, "/v1/organisations", Some(&token))
        .header("content-type", "application/json")
        .body("{\n  \"kind\": \"association\",\n  \"name\": }")
        .send()
        .await
        .unwrap();
    let p = problem(r, 400).await;
    assert!(
        p["detail"].as_str().unwrap().contains("line 3"),
        "{}",
        p["detail"]
    );
    assert!(
        p["detail"].as_str().unwrap().contains("column"),
        "{}",
        p["detail"]
    );
    // Not JSON at all.
    let r = app
        .request(Method::POST, "/v1/organisations", Some(&token))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    problem(r, 415).await;
    // Unknown route, wrong method with Allow.
    problem(app.get("/v1/nothing-here", &token).await, 404).await;
    problem(
        app.client.get(app.url("/nothing")).send().await.unwrap(),
        404,
    )
    .await;
    let r = app
        .request(Method::DELETE, "/v1/organisations", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["allow"], "GET, HEAD, POST");
    problem(r, 405).await;
    let r = app
        .request(
            Method::PUT,
            &format!("/v1/organisations/{}", Uuid::now_v7()),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["allow"], "GET, HEAD, PATCH");
    problem(r, 405).await;
    // Bad path and query parameters.
    problem(app.get("/v1/organisations/not-a-uuid", &token).await, 400).await;
    let p = problem(app.get("/v1/organisations?limit=abc", &token).await, 400).await;
    assert_eq!(p["errors"][0]["field"], "limit");
    let p = problem(app.get("/v1/organisations?limit=500", &token).await, 400).await;
    assert_eq!(p["errors"][0]["field"], "limit");
    let p = problem(
        app.get("/v1/organisations?cursor=%21%21", &token).await,
        400,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "cursor");
    // A parameter the endpoint does not take is refused, named, with what it takes: a
    // misspelt filter or the feed's `after` on a list would otherwise be ignored.
    let org = app.organisation("association").await;
    for (path, token, unknown, taken) in [
        (
            "/v1/organisations?kind=association&after=x",
            &token,
            "after",
            "`cursor`",
        ),
        ("/v1/organisations?knd=association", &token, "knd", "`kind`"),
        (
            &format!("/v1/organisations/{}/accounts?status=active", org.id) as &str,
            &org.admin_token,
            "status",
            "`limit`, `cursor`",
        ),
        ("/v1/events?cursor=x", &org.admin_token, "cursor", "`after`"),
    ] {
        let p = problem(app.get(path, token).await, 400).await;
        assert_eq!(
            (
                p["errors"][0]["field"].as_str(),
                p["errors"][0]["code"].as_str()
            ),
            (Some(unknown), Some("unknown_parameter")),
            "{path}"
        );
        assert!(p["detail"].as_str().unwrap().contains(taken), "{path}: {p}");
    }
    // A NUL character in a value (PostgreSQL's text refuses it) is the caller's error.
    let p = problem(
        app.get("/v1/organisations?department_code=5%003", &token)
            .await,
        400,
    )
    .await;
    assert_eq!(
        (
            p["errors"][0]["field"].as_str(),
            p["errors"][0]["code"].as_str()
        ),
        (Some("department_code"), Some("nul_character"))
    );
    // The parameters taken, together, still work.
    let r = app
        .get("/v1/organisations?kind=association&limit=1", &token)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Body too large.
    let big = json!({"kind": "association", "name": "x".repeat(2 * 1024 * 1024), "siret": siret(), "department_code": "53", "contact_email": "a@b.example"});
    problem(app.post("/v1/organisations", &token, &big).await, 413).await;
    // Bad Idempotency-Key header.
    let r = app
        .request(Method::POST, "/v1/organisations", Some(&token))
        .header("idempotency-key", "x".repeat(300))
        .json(&new_org())
        .send()
        .await
        .unwrap();
    problem(r, 400).await;
}

#[actix_web::test]
async fn request_ids_are_kept_or_made_and_returned() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "partner-req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "partner-req-42");
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "spaces are not kept")
        .send()
        .await
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(Uuid::parse_str(&id).is_ok(), "{id}");
    let r = app
        .client
        .get(app.url("/v1/me"))
        .header("x-request-id", "abc-1")
        .send()
        .await
        .unwrap();
    let p = problem(r, 401).await;
    assert_eq!(p["request_id"], "abc-1");
    assert_eq!(p["instance"], "/v1/me");
}

#[actix_web::test]
async fn cors_allows_only_the_front_end_origins() {
    let app = spawn_app().await;
    let allowed = &app.config.cors_origins[0];
    let r = app
        .client
        .request(Method::OPTIONS, app.url("/v1/me"))
        .header("origin", allowed)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["access-control-allow-origin"], allowed.as_str());
    let r = app
        .client
        .request(Method::OPTIONS, app.url("/v1/me"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    problem(r, 400).await;
    // A simple request from elsewhere is served, without the header that lets a browser read it.
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

/// Every header the contract defines crosses origins: a browser's preflight asking for each
/// request header the spec documents (and `Accept-Language`) is allowed, and each response
/// header the spec documents is exposed to the front-end's script, so that the documented
/// 304s (`If-None-Match`) and retries (`Idempotency-Key`, `Retry-After`) work from a browser.
#[actix_web::test]
async fn cors_lets_the_front_end_use_every_header_of_the_contract() {
    let app = spawn_app().await;
    let origin = &app.config.cors_origins[0];
    let spec = serde_json::to_value(passerelle::openapi::document()).unwrap();
    let (mut request_headers, mut response_headers) = (
        std::collections::BTreeSet::new(),
        std::collections::BTreeSet::new(),
    );
    for ops in spec["paths"].as_object().unwrap().values() {
        for op in ops.as_object().unwrap().values().filter(|o| o.is_object()) {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "header" {
                    request_headers.insert(p["name"].as_str().unwrap().to_ascii_lowercase());
                }
            }
            for r in op["responses"]
                .as_object()
                .into_iter()
                .flat_map(|r| r.values())
            {
                for h in r["headers"].as_object().into_iter().flat_map(|h| h.keys()) {
                    response_headers.insert(h.to_ascii_lowercase());
                }
            }
        }
    }
    assert!(
        request_headers.contains("if-none-match"),
        "{request_headers:?}"
    );
    request_headers.extend(["authorization", "content-type", "accept-language"].map(String::from));
    for header in &request_headers {
        let r = app
            .client
            .request(Method::OPTIONS, app.url("/v1/households"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", header.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "preflight with {header}");
        let allowed = r.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(
            allowed.contains(header.as_str()),
            "{header} not in {allowed}"
        );
    }
    // All of them at once, as a front-end's conditional GET sends them.
    let r = app
        .client
        .request(Method::OPTIONS, app.url("/v1/households"))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header(
            "access-control-request-headers",
            "authorization,if-none-match,accept-language",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A response carries the documented headers the script may read.
    let token = app.platform_token().await;
    let r = app
        .client
        .get(app.url("/v1/organisations"))
        .bearer_auth(&token)
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], origin.as_str());
    let exposed = r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for header in &response_headers {
        assert!(
            exposed.contains(header.as_str()),
            "{header} not exposed: {exposed}"
        );
    }
}

#[actix_web::test]
async fn idempotent_retries_replay_conflict_and_refuse_another_body() {
    let app = spawn_app().await;
    let token = app.platform_token().await;
    let body = new_org();
    let send = |b: &Value, key: &str| {
        app.request(Method::POST, "/v1/organisations", Some(&token))
            .header("idempotency-key", key)
            .json(b)
            .send()
    };
    let first = send(&body, "key-1").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let etag = first.headers()["etag"].clone();
    let first: Value = first.json().await.unwrap();
    let again = send(&body, "key-1").await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["etag"], etag);
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(app.count("organisations").await, 1);
    // The same JSON written otherwise is the same request.
    let reordered: Value = serde_json::from_str(&serde_json::to_string(&body).unwrap()).unwrap();
    assert_eq!(
        send(&reordered, "key-1").await.unwrap().status(),
        StatusCode::CREATED
    );
    // Same key, another body: 422.
    let mut other = body.clone();
    other["name"] = json!("Autre nom");
    let p = problem(send(&other, "key-1").await.unwrap(), 422).await;
    assert_eq!(p["errors"][0]["field"], "Idempotency-Key");
    // Keys are per account: another caller's same key is a new request.
    let (admin, admin_token) = {
        let o = app.organisation("association").await;
        (o.admin_id, o.admin_token)
    };
    let _ = admin;
    let r = app
        .request(
            Method::POST,
            &format!(
                "/v1/organisations/{}/accounts",
                first["id"].as_str().unwrap()
            ),
            Some(&admin_token),
        )
        .header("idempotency-key", "key-1")
        .json(&json!({"kind": "person", "name": "X", "email": "x@example.org", "role": "viewer"}))
        .send()
        .await
        .unwrap();
    problem(r, 404).await;
    // While the first request with a key runs, a retry gets 409.
    let platform_id: Uuid = {
        let me: Value = app.get("/v1/me", &token).await.json().await.unwrap();
        me["account"]["id"].as_str().unwrap().parse().unwrap()
    };
    let mut conn = app.db().await;
    diesel::sql_query(
        "INSERT INTO idempotency_keys (account_id, idempotency_key, request_hash, state, lease_until) \
         VALUES ($1, 'key-running', '\\x00', 'running', now() + interval '1 minute')",
    )
    .bind::<diesel::sql_types::Uuid, _>(platform_id)
    .execute(&mut conn)
    .await
    .unwrap();
    // (the stored fingerprint differs, so make it match the request first)
    let fresh = new_org();
    let r = send(&fresh, "key-probe").await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    diesel::sql_query(
        "UPDATE idempotency_keys SET request_hash = (SELECT request_hash FROM idempotency_keys WHERE idempotency_key = 'key-probe') \
         WHERE idempotency_key = 'key-running'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    problem(send(&fresh, "key-running").await.unwrap(), 409).await;
    // A key older than 24 hours is forgotten: the request runs anew (and here meets the SIRET).
    diesel::sql_query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE idempotency_key = 'key-1'")
        .execute(&mut conn)
        .await
        .unwrap();
    let p = problem(send(&body, "key-1").await.unwrap(), 409).await;
    assert_eq!(p["existing_id"], first["id"]);
    // Concurrent retries of one creation create one organisation.
    let body = new_org();
    let before = app.count("organisations").await;
    let results = futures::future::join_all((0..5).map(|_| send(&body, "key-concurrent"))).await;
    let statuses: Vec<u16> = results
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201));
    assert_eq!(app.count("organisations").await, before + 1);
}

#[actix_web::test]
async fn pagination_walks_every_row_once_while_rows_are_inserted() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let base = format!("/v1/organisations/{}/accounts", org.id);
    let mut existing: HashSet<String> = HashSet::new();
    existing.insert(org.admin_id.to_string());
    for i in 0..23 {
        let r = app
            .post(
                &base,
                &org.admin_token,
                &json!({"kind": "system", "name": format!("s{i}"), "role": "viewer", "scopes": []}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        existing.insert(
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("{base}?limit=5&cursor={c}"),
            None => format!("{base}?limit=5"),
        };
        let page: Value = app.get(&path, &org.admin_token).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 5);
        seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        pages += 1;
        // Rows keep arriving during the walk.
        if pages < 4 {
            for _ in 0..2 {
                app.post(
                    &base,
                    &org.admin_token,
                    &json!({"kind": "system", "name": "late", "role": "viewer", "scopes": []}),
                )
                .await;
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 50);
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no row twice");
    for id in &existing {
        assert!(unique.contains(id), "row {id} missed");
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, seen, "ascending id order");
}

#[actix_web::test]
async fn events_appear_once_in_order_and_only_to_their_organisation() {
    let app = spawn_app().await;
    let platform = app.platform_token().await;
    let org = app.organisation("association").await;
    let other = app.organisation("department").await;
    // Concurrent changes.
    let base = format!("/v1/organisations/{}/accounts", org.id);
    let bodies: Vec<Value> = (0..12)
        .map(|i| json!({"kind": "system", "name": format!("c{i}"), "role": "viewer", "scopes": []}))
        .collect();
    let creations =
        futures::future::join_all(bodies.iter().map(|b| app.post(&base, &org.admin_token, b)))
            .await;
    let created: HashSet<String> = {
        let mut s = HashSet::new();
        for r in creations {
            assert_eq!(r.status(), StatusCode::CREATED);
            s.insert(
                r.json::<Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        s
    };
    // Once the last of them is in the feed (it may come a poll later)...
    app.feed_until(&org.admin_token, "the 12 systems' creation", |f| {
        f.len() >= 14
    })
    .await;
    // ...the feed read four by four holds each once, in order.
    let feed = app.feed(&org.admin_token, 4).await;
    let ids: Vec<&str> = feed.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "each event once"
    );
    // The organisation's own creation first, then its admin, then the 12 systems.
    assert_eq!(feed[0]["type"], "organisation.created");
    assert_eq!(feed[0]["subject"]["id"], org.id.to_string());
    assert_eq!(feed[1]["type"], "account.created");
    let systems: HashSet<String> = feed[2..]
        .iter()
        .filter(|e| e["type"] == "account.created")
        .map(|e| e["subject"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(systems, created);
    assert_eq!(feed.len(), 14);
    // Reading again gives the same order; another page size too.
    let again: Vec<String> = app
        .feed(&org.admin_token, 50)
        .await
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(again, ids.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    // The other organisation sees none of it.
    let theirs = app.feed(&other.admin_token, 50).await;
    assert!(theirs
        .iter()
        .all(|e| e["subject"]["id"] != org.id.to_string()
            && !created.contains(e["subject"]["id"].as_str().unwrap())));
    // Platform admins see organisation events, not accounts.
    let platform_feed = app.feed(&platform, 50).await;
    assert!(platform_feed
        .iter()
        .all(|e| e["type"].as_str().unwrap().starts_with("organisation.")));
    assert_eq!(platform_feed.len(), 2);
    let p = problem(
        app.get("/v1/events?after=not-a-cursor", &org.admin_token)
            .await,
        400,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "after");
}

#[actix_web::test]
async fn an_event_committed_late_is_not_skipped() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    // The feed's position after the organisation's creation and its admin's.
    let seen = app
        .feed_until(&org.admin_token, "the organisation and its admin", |f| {
            f.len() == 2
        })
        .await;
    let last = seen[1]["id"].as_str().unwrap().to_owned();
    let page: Value = app
        .get("/v1/events?limit=2", &org.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][1]["id"], last.as_str());
    let last = page["next_cursor"].as_str().unwrap().to_owned();
    // A transaction writes an event and stays open...
    let mut slow = diesel_async::AsyncPgConnection::establish(&app.database_url)
        .await
        .unwrap();
    diesel::sql_query("BEGIN").execute(&mut slow).await.unwrap();
    diesel::sql_query(
        "WITH e AS (INSERT INTO events (id, event_type, subject_type, subject_id, data) \
                    VALUES ($1, 'test.slow', 'organisation', $2, '{}') RETURNING seq) \
         INSERT INTO event_recipients (organisation_id, seq) SELECT $2, seq FROM e",
    )
    .bind::<diesel::sql_types::Uuid, _>(Uuid::now_v7())
    .bind::<diesel::sql_types::Uuid, _>(org.id)
    .execute(&mut slow)
    .await
    .unwrap();
    // ...while a later change commits.
    let r = app
        .post(
            &format!("/v1/organisations/{}/accounts", org.id),
            &org.admin_token,
            &json!({"kind": "system", "name": "fast", "role": "viewer", "scopes": []}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // The reader is held back rather than moved past the open transaction.
    let page: Value = app
        .get(&format!("/v1/events?after={last}"), &org.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 0, "{page}");
    assert_eq!(page["next_cursor"], last.as_str());
    diesel::sql_query("COMMIT")
        .execute(&mut slow)
        .await
        .unwrap();
    app.feed_until(&org.admin_token, "both events", |f| f.len() == 4)
        .await;
    let page: Value = app
        .get(&format!("/v1/events?after={last}"), &org.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let types: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["test.slow", "account.created"]);
}

#[actix_web::test]
async fn health_docs_and_the_committed_spec() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status": "ready"}));
    let r = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("swagger"));
    let served: Value = app.public_json("/openapi.json").await;
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json is committed (make openapi)"),
    )
    .unwrap();
    assert!(
        served == committed,
        "openapi/openapi.json differs from the served spec: run `make openapi`"
    );
    assert!(
        passerelle::openapi::document_json()
            == std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/openapi/openapi.json"
            ))
            .unwrap(),
        "openapi/openapi.json is not what `passerelle openapi` prints: run `make openapi`"
    );
    // Every operation is complete: id, summary, security, responses with schemas and examples.
    for (path, item) in served["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let what = format!("{method} {path}");
            assert!(op["operationId"].is_string(), "{what}: operationId");
            assert!(op["summary"].is_string(), "{what}: summary");
            assert!(op.get("security").is_some(), "{what}: security");
            // A JSON body is `required` exactly when its schema requires a field (an
            // action whose every field is optional may be sent without one), never `null`.
            if let Some(body) = op.get("requestBody") {
                let schema = &body["content"]["application/json"]["schema"];
                if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
                    let component = &served["components"]["schemas"][name];
                    let requires = component["required"]
                        .as_array()
                        .is_some_and(|r| !r.is_empty())
                        || component.get("oneOf").is_some();
                    let is_patch = method == "patch";
                    assert_eq!(
                        body["required"] == json!(true),
                        requires || is_patch,
                        "{what}: body `required` against schema {name}"
                    );
                }
                assert!(schema.get("oneOf").is_none(), "{what}: body `oneOf`");
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                // No content: 204, 304 (conditional GET), and RFC 7009's 200 to a revocation.
                if status == "204"
                    || status == "304"
                    || (op["operationId"] == "revoke_token" && status == "200")
                {
                    continue;
                }
                let content = response["content"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{what} {status}: content"));
                for (_, media) in content {
                    assert!(media.get("schema").is_some(), "{what} {status}: schema");
                }
            }
        }
    }
}
