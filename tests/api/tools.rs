//! The API as partners' tools see it (issue 10): the docs at the address printed, OAuth 2.0
//! in the spec, scopes before bodies, challenges, caching and conditional requests,
//! compression, the feed's polling hint.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::households::household;

#[actix_web::test]
async fn the_docs_answer_where_the_banner_points() {
    let app = spawn_app().await;
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for method in [Method::GET, Method::HEAD] {
        let r = plain
            .request(method.clone(), app.url("/docs"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT, "{method}");
        assert_eq!(r.headers()["location"], "/docs/");
    }
    // As a browser follows it.
    let r = reqwest::get(app.url("/docs")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.url().path(), "/docs/");
    assert!(r.text().await.unwrap().contains("swagger"), "Swagger UI");
}

#[actix_web::test]
async fn the_spec_describes_oauth_with_every_scope() {
    let app = spawn_app().await;
    let spec: Value = app.public_json("/openapi.json").await;
    let scheme = &spec["components"]["securitySchemes"]["oauth2"];
    assert_eq!(scheme["type"], "oauth2");
    for flow in ["clientCredentials", "password"] {
        assert_eq!(
            scheme["flows"][flow]["tokenUrl"], "/v1/auth/token",
            "{flow}"
        );
        let scopes = scheme["flows"][flow]["scopes"].as_object().unwrap();
        for scope in passerelle::identity::model::Scope::ALL {
            let meaning = scopes[scope.as_str()].as_str().unwrap();
            assert!(!meaning.is_empty(), "{scope}");
        }
    }
    assert_eq!(spec["info"]["license"]["identifier"], "AGPL-3.0-or-later");
    assert!(!spec["servers"].as_array().unwrap().is_empty());
    // Every operation that needs a token names the scheme; the token endpoint's body has one
    // media type (two made generated clients fail at import).
    let mut secured = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for requirement in op["security"].as_array().unwrap() {
                for name in requirement.as_object().unwrap().keys() {
                    assert_eq!(name, "oauth2", "{method} {path}");
                    secured += 1;
                }
            }
        }
    }
    assert!(secured > 50, "{secured}");
    let token_body = &spec["paths"]["/v1/auth/token"]["post"]["requestBody"]["content"];
    assert_eq!(
        token_body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["application/x-www-form-urlencoded"]
    );
}

#[actix_web::test]
async fn scopes_come_before_bodies_with_the_bearer_challenge() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let (_, viewer) = app.person(&org.admin_token, org.id, "viewer").await;
    // A viewer may not write households: told so before anything about the body, the
    // query or If-Match, with RFC 6750's challenge naming the scope.
    for (method, path, body) in [
        (Method::POST, "/v1/households".to_owned(), json!({})),
        (Method::POST, "/v1/households?zz=1".to_owned(), json!([1])),
        (
            Method::PATCH,
            format!("/v1/households/{}", uuid::Uuid::now_v7()),
            json!({"adults": "two"}),
        ),
    ] {
        let r = app
            .request(method.clone(), &path, Some(&viewer))
            .json(&body)
            .send()
            .await
            .unwrap();
        let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );
        assert!(
            challenge.contains("scope=\"households:write\""),
            "{challenge}"
        );
        let p = problem(r, 403).await;
        assert_eq!(
            p["type"], "/problems/insufficient-scope",
            "{method} {path}: {p}"
        );
        assert_eq!(p["required_scopes"], json!(["households:write"]));
    }
    // A partner system granted events:read only, on a list it may not read.
    let system = app
        .system(&org.admin_token, org.id, "worker", &["events:read"])
        .await;
    let token = &app.system_token(&system).await;
    let p = problem(app.get("/v1/referrals?box=nowhere", token).await, 403).await;
    assert_eq!(p["required_scopes"], json!(["referrals:read"]));
    // With the scope, the same mistakes are what is reported.
    let p = problem(
        app.post("/v1/households", &org.admin_token, &json!({}))
            .await,
        422,
    )
    .await;
    assert!(fields(&p).contains(&"head".to_owned()), "{p}");
}

#[actix_web::test]
async fn a_basic_challenge_only_answers_basic() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let system = app
        .system(&org.admin_token, org.id, "worker", &["events:read"])
        .await;
    let id = system["client_id"].as_str().unwrap();
    // A wrong secret in the form or in JSON: 401 invalid_client, no Basic challenge.
    let r = app
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", "wrong"),
        ])
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(!r.headers().contains_key("www-authenticate"));
    let r = app
        .client
        .post(app.url("/v1/auth/token"))
        .json(
            &json!({"grant_type": "client_credentials", "client_id": id, "client_secret": "wrong"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(!r.headers().contains_key("www-authenticate"));
    // A wrong secret sent with Basic: the Basic challenge (RFC 6749 §5.2).
    let r = app
        .client
        .post(app.url("/v1/auth/token"))
        .basic_auth(id, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic "));
}

#[actix_web::test]
async fn personal_data_is_not_stored_and_validators_answer_304() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let token = &org.admin_token;
    let created: Value = app
        .post(
            "/v1/households",
            token,
            &household("Cache", "Control", "1982-02-02"),
        )
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/v1/households/{}", created["id"].as_str().unwrap());
    // Every answer under /v1 says no-store: a resource, a list, an error.
    for r in [
        app.get(&path, token).await,
        app.get("/v1/households", token).await,
        app.get("/v1/households?zz=1", token).await,
    ] {
        assert_eq!(r.headers()["cache-control"], "no-store", "{}", r.url());
    }
    // A resource's ETag (its version) and a list's (weak, from its content) validate.
    for target in [path.clone(), "/v1/households".to_owned()] {
        let first = app.get(&target, token).await;
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        let r = app
            .request(Method::GET, &target, Some(token))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{target}");
        assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
        assert!(r.bytes().await.unwrap().is_empty());
        let r = app
            .request(Method::GET, &target, Some(token))
            .header("if-none-match", "\"999\", W/\"other\"")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{target}");
    }
    // Once the household changes, the old validators no longer match.
    let etag = app.get(&path, token).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let list_etag = app.get("/v1/households", token).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let r = app
        .request(Method::PATCH, &path, Some(token))
        .header("if-match", &etag)
        .json(&json!({"adults": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    for (target, old) in [(path.as_str(), etag), ("/v1/households", list_etag)] {
        let r = app
            .request(Method::GET, target, Some(token))
            .header("if-none-match", old)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{target}");
    }
}

#[actix_web::test]
async fn large_answers_are_compressed_when_asked() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    for i in 0..30 {
        let r = app
            .post(
                "/v1/households",
                &org.admin_token,
                &household("Compression", &format!("Numéro {i}"), "1975-03-03"),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    for encoding in ["gzip", "br"] {
        let r = app
            .request(
                Method::GET,
                "/v1/households?limit=30",
                Some(&org.admin_token),
            )
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-encoding"], encoding);
        let compressed = r.bytes().await.unwrap().len();
        let plain = app
            .get("/v1/households?limit=30", &org.admin_token)
            .await
            .bytes()
            .await
            .unwrap()
            .len();
        assert!(
            compressed * 3 < plain,
            "{encoding}: {compressed} of {plain} bytes"
        );
    }
}

#[actix_web::test]
async fn the_feed_says_when_to_poll_again() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    for i in 0..3 {
        app.post(
            "/v1/households",
            &org.admin_token,
            &household("Flux", &format!("Numéro {i}"), "1980-01-01"),
        )
        .await;
    }
    // Once the feed shows them (it shows what committed before every running transaction)…
    app.feed_until(&org.admin_token, "three households", |events| {
        events
            .iter()
            .filter(|e| e["type"] == "household.created")
            .count()
            >= 3
    })
    .await;
    // …a full page: ask again at once.
    let r = app.get("/v1/events?limit=2", &org.admin_token).await;
    assert_eq!(r.headers()["retry-after"], "0");
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["poll_after_seconds"], 0);
    // Caught up: wait a few seconds.
    let mut after = page["next_cursor"].as_str().unwrap().to_owned();
    loop {
        let r = app
            .get(
                &format!("/v1/events?limit=200&after={after}"),
                &org.admin_token,
            )
            .await;
        let retry = r.headers()["retry-after"].to_str().unwrap().to_owned();
        let page: Value = r.json().await.unwrap();
        if page["items"].as_array().unwrap().len() < 200 {
            assert_eq!(page["poll_after_seconds"], 5);
            assert_eq!(retry, "5");
            break;
        }
        after = page["next_cursor"].as_str().unwrap().to_owned();
    }
}

#[actix_web::test]
async fn oauth_libraries_find_the_server_metadata() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let m: Value = r.json().await.unwrap();
    let base = app.address.clone();
    // The issuer is the service's address, the tokens' `iss` (RFC 8414 §3.3).
    assert_eq!(m["issuer"], base);
    let token = app.platform_token().await;
    let claims = token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], m["issuer"]);
    assert_eq!(m["token_endpoint"], format!("{base}/v1/auth/token"));
    assert_eq!(m["revocation_endpoint"], format!("{base}/v1/auth/revoke"));
    assert_eq!(m["jwks_uri"], format!("{base}/.well-known/jwks.json"));
    // The document does not depend on the request's Host.
    assert!(!r_vary(&app).await.contains("Host"));
    let grants: Vec<&str> = m["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert_eq!(grants, ["client_credentials", "password", "refresh_token"]);
    assert_eq!(
        m["scopes_supported"].as_array().unwrap().len(),
        passerelle::identity::model::Scope::ALL.len()
    );
    // A forged X-Forwarded-Host is not believed (no proxy is trusted), and a cache keeps one
    // document per Host.
    let forged: Value = app
        .client
        .get(app.url("/.well-known/oauth-authorization-server"))
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(forged["token_endpoint"], format!("{base}/v1/auth/token"));
    // Each URL it gives answers.
    for key in ["token_endpoint", "jwks_uri", "service_documentation"] {
        let url = m[key].as_str().unwrap();
        let r = reqwest::get(url).await.unwrap();
        assert_ne!(r.status(), StatusCode::NOT_FOUND, "{key}: {url}");
    }
}

#[actix_web::test]
async fn revocation_ends_a_session() {
    let app = spawn_app().await;
    let revoke = |form: Vec<(&'static str, String)>| {
        app.client
            .post(app.url("/v1/auth/revoke"))
            .form(&form)
            .send()
    };
    // A refresh token: its session ends, access tokens of the session included.
    let signed_in = app.password_token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let access = signed_in["access_token"].as_str().unwrap().to_owned();
    let refresh = signed_in["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/v1/me", &access).await.status(), StatusCode::OK);
    let r = revoke(vec![
        ("token", refresh.clone()),
        ("token_type_hint", "refresh_token".into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(
        app.get("/v1/me", &access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = app
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let refused: Value = r.json().await.unwrap();
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{refused}"
    );
    // A person's access token ends its session the same way.
    let signed_in = app.password_token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let access = signed_in["access_token"].as_str().unwrap().to_owned();
    let refresh = signed_in["refresh_token"].as_str().unwrap().to_owned();
    let r = revoke(vec![("token", access.clone())]).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.get("/v1/me", &access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = app
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Unknown or already revoked: 200 all the same (RFC 7009 §2.2).
    for token in ["nothing-of-ours", refresh.as_str()] {
        let r = revoke(vec![("token", token.to_owned())]).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{token}");
    }
    // A partner system's access token has no session: it stays valid until it expires.
    let org = app.organisation("association").await;
    let system = app
        .system(&org.admin_token, org.id, "worker", &["events:read"])
        .await;
    let system_token = app.system_token(&system).await;
    let r = revoke(vec![("token", system_token.clone())]).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.get("/v1/me", &system_token).await.status(),
        StatusCode::OK
    );
    // No token: invalid_request.
    let r = revoke(vec![("token_type_hint", "refresh_token".into())])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
}

/// Checks an event against the served spec's union: its type is a kind of the union, and its
/// `data` has every property its kind's schema requires and none it does not list.
fn check_event(spec: &Value, event: &Value) -> String {
    let schemas = &spec["components"]["schemas"];
    let kind = event["type"].as_str().unwrap();
    let mapping = &schemas["Event"]["discriminator"]["mapping"];
    let target = mapping[kind]
        .as_str()
        .unwrap_or_else(|| panic!("{kind} is not in the union"));
    let schema = &schemas[target.rsplit('/').next().unwrap()];
    assert_eq!(schema["properties"]["type"]["enum"], json!([kind]));
    let data_ref = schema["properties"]["data"]["$ref"].as_str().unwrap();
    let data_schema = &schemas[data_ref.rsplit('/').next().unwrap()];
    let listed: Vec<&str> = data_schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let data = event["data"].as_object().unwrap();
    for key in data.keys() {
        assert!(
            listed.contains(&key.as_str()),
            "{kind}: `{key}` is not in {data_ref}"
        );
    }
    for required in data_schema["required"].as_array().into_iter().flatten() {
        assert!(
            data.contains_key(required.as_str().unwrap()),
            "{kind}: `{required}` missing from {event}"
        );
    }
    kind.to_owned()
}

#[actix_web::test]
async fn events_are_typed_as_the_spec_says() {
    let w = crate::housing::world().await;
    let app = &w.app;
    let spec = serde_json::to_value(passerelle::openapi::document()).unwrap();
    // The union lists every kind of the catalogue.
    let mapping = spec["components"]["schemas"]["Event"]["discriminator"]["mapping"]
        .as_object()
        .unwrap();
    assert_eq!(
        mapping.len(),
        passerelle::events::catalogue::EVENT_KINDS.len()
    );
    assert_eq!(
        spec["components"]["schemas"]["EventPage"]["properties"]["items"]["items"]["$ref"],
        "#/components/schemas/Event"
    );

    // A unit offered through an agreement, a household proposed and sub-let, a referral.
    let unit = w.available_unit().await;
    let household = w.household("Typée", true).await;
    let proposal = crate::housing::created(
        app.post(
            &format!("/v1/units/{}/proposals", unit["id"].as_str().unwrap()),
            &w.association.admin_token,
            &json!({"household_id": household["id"]}),
        )
        .await,
    )
    .await;
    crate::housing::ok(
        w.act(
            &w.landlord.admin_token,
            &format!("/v1/proposals/{}/accept", proposal["id"].as_str().unwrap()),
            &proposal["version"],
            None,
        )
        .await,
    )
    .await;
    crate::housing::created(
        w.sublease(&unit, &household, "iml", "2027-01-01", "2028-01-01")
            .await,
    )
    .await;
    let referral = crate::housing::created(
        app.post(
            "/v1/referrals",
            &w.association.admin_token,
            &json!({"household_id": household["id"], "addressee_organisation_id": w.other_association.id,
                    "measure_kind": "avdl", "reason": "Accompagnement vers le logement"}),
        )
        .await,
    )
    .await;
    let rid = referral["id"].as_str().unwrap();
    app.post(
        &format!("/v1/referrals/{rid}/comments"),
        &w.association.admin_token,
        &json!({"body": "Pièces jointes envoyées"}),
    )
    .await;
    let acknowledged = crate::housing::ok(
        w.act(
            &w.other_association.admin_token,
            &format!("/v1/referrals/{rid}/acknowledge"),
            &referral["version"],
            None,
        )
        .await,
    )
    .await;
    crate::housing::ok(
        w.act(
            &w.other_association.admin_token,
            &format!("/v1/referrals/{rid}/decline"),
            &acknowledged["version"],
            Some(json!({"reason": "no_capacity"})),
        )
        .await,
    )
    .await;

    let mut kinds = std::collections::BTreeSet::new();
    // The feed shows what committed before every running transaction of the cluster (other
    // tests' included): wait until the last of each organisation's events is there.
    let last_of = [
        (&w.landlord, "sublease.planned"),
        (&w.association, "referral.declined"),
        (&w.other_association, "referral.declined"),
    ];
    for (org, last) in last_of {
        let feed = app
            .feed_until(&org.admin_token, last, |events| {
                events.iter().any(|e| e["type"] == last)
            })
            .await;
        for event in feed {
            kinds.insert(check_event(&spec, &event));
        }
    }
    for expected in [
        "account.created",
        "unit.created",
        "unit.status_changed",
        "agreement.proposed",
        "agreement.accepted",
        "agreement.units_attached",
        "household.created",
        "household.consent_recorded",
        "proposal.submitted",
        "proposal.accepted",
        "sublease.planned",
        "referral.submitted",
        "referral.commented",
        "referral.declined",
    ] {
        assert!(kinds.contains(expected), "{expected} not seen: {kinds:?}");
    }
}

async fn r_vary(app: &TestApp) -> String {
    let r = app
        .client
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    r.headers()
        .get("vary")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[actix_web::test]
async fn the_metadata_issuer_is_the_tokens_issuer() {
    let issuer = "https://passerelle.example.fr";
    let app = spawn_app_configured(fresh_database().await, |c| c.jwt_issuer = issuer.into()).await;
    let m: Value = app
        .public_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(m["issuer"], issuer);
    assert_eq!(m["token_endpoint"], format!("{issuer}/v1/auth/token"));
    let token = app.platform_token().await;
    let claims = token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], issuer);
    // The default issuer is the address the service listens on, as a URL (what `make run`
    // serves, where the metadata is read).
    if std::env::var_os("PASSERELLE_JWT_ISSUER").is_none() {
        let defaults = passerelle::config::Config::from_env().unwrap();
        assert_eq!(defaults.jwt_issuer, format!("http://{}", defaults.bind));
    }
}

#[actix_web::test]
async fn the_demo_feed_starts_where_the_demo_data_does() {
    let database_url = fresh_database().await;
    passerelle::bootstrap::load_demo(&database_url)
        .await
        .unwrap();
    let app = spawn_app_on(database_url).await;
    let spec = serde_json::to_value(passerelle::openapi::document()).unwrap();
    let expected = [
        "household.created",
        "referral.submitted",
        "unit.created",
        "agreement.accepted",
        "proposal.accepted",
        "sublease.planned",
    ];
    let mut tokens = Vec::new();
    for slug in ["departement", "ddets", "association", "bailleur"] {
        let (client_id, secret) = passerelle::bootstrap::demo_client(slug);
        tokens.push(
            app.system_token(&json!({"client_id": client_id, "client_secret": secret}))
                .await,
        );
    }
    // The feed shows what committed before every running transaction of the cluster (other
    // tests' too): read again until the demo's events are all there.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mut kinds = std::collections::BTreeSet::new();
        for token in &tokens {
            for event in app.feed(token, 200).await {
                kinds.insert(check_event(&spec, &event));
            }
        }
        if expected.iter().all(|e| kinds.contains(*e)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not all of {expected:?} in the demo feeds: {kinds:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The demo is what the README says, told through the API with realistic dates: its units,
/// agreement and planned sub-lease; the measures of SCENARIOS.md §1 and §5 (a visit late, a
/// renewal late); the programmes' places, funders, delays and targets; histories spread over
/// the months.
#[actix_web::test]
async fn the_demo_is_what_the_readme_says() {
    let database_url = fresh_database().await;
    passerelle::bootstrap::load_demo(&database_url)
        .await
        .unwrap();
    let app = spawn_app_on(database_url).await;
    let today = passerelle::calendar::today();
    let sign_in = |slug: &'static str| {
        let app = &app;
        async move {
            app.password_token(
                &passerelle::bootstrap::demo_email(
                    passerelle::identity::model::Role::Coordinator,
                    slug,
                ),
                passerelle::bootstrap::DEMO_PASSWORD,
            )
            .await
        }
    };
    let landlord = sign_in("bailleur").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let association_session = sign_in("association").await;
    let association = association_session["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let department = sign_in("departement").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let pas_de_calais = sign_in("departement-62").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ddets = sign_in("ddets").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let get = |token: String, path: String| {
        let app = &app;
        async move {
            let r = app.get(&path, &token).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            r.json::<Value>().await.unwrap()
        }
    };

    // Housing: three units, an agreement covering 5 with two attached, the couple's
    // sub-lease planned in 25 days (190 € to pay) with its IML measure running.
    let units = app.list_all(&landlord, "/v1/units", 50).await;
    let mut statuses: Vec<(String, String)> = units
        .iter()
        .map(|u| {
            (
                u["holder_reference"].as_str().unwrap().to_owned(),
                u["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        vec![
            ("T1-CHALON-3".into(), "unavailable".into()),
            ("T2-CHALON-12".into(), "reserved".into()),
            ("T3-MONTLUCON-4".into(), "available".into()),
        ]
    );
    let agreements = app.list_all(&landlord, "/v1/agreements", 10).await;
    assert_eq!(
        (
            agreements[0]["status"].clone(),
            agreements[0]["units_covered"].clone(),
            agreements[0]["units_attached"].clone()
        ),
        (json!("active"), json!(5), json!(2))
    );
    let subleases = app.list_all(&landlord, "/v1/subleases", 10).await;
    assert_eq!(subleases.len(), 1);
    let s = &subleases[0];
    assert_eq!(s["status"], "planned");
    assert_eq!(
        s["starts_on"],
        (today + chrono::Duration::days(25)).to_string()
    );
    assert_eq!(s["residual_charge_cents"], 19000);
    assert_eq!(s["support_measure"]["status"], "active");

    // §1 and §5: the EMPEX measure's two visits and objective; Lucas's late visit in the
    // coordinator's caseload and his late renewal in the department's list; Inès waiting.
    let me = get(association.clone(), "/v1/me".into()).await;
    let worker = me["account"]["id"].as_str().unwrap().to_owned();
    let empex = app
        .list_all(&association, "/v1/measures?as=operator&kind=empex", 10)
        .await;
    assert_eq!(empex.len(), 1);
    assert_eq!(empex[0]["funding"]["contacts_count"], 2);
    let late = app
        .list_all(
            &association,
            &format!("/v1/measures?worker_account_id={worker}&contact_overdue=true"),
            10,
        )
        .await;
    assert_eq!(late.len(), 1);
    assert_eq!(late[0]["details"]["kind"], "asll");
    let renewals = app
        .list_all(&department, "/v1/renewals?as=decider&overdue=true", 10)
        .await;
    assert_eq!(renewals.len(), 1);
    assert_eq!(
        renewals[0]["requested_on"],
        (today - chrono::Duration::days(12)).to_string()
    );
    let waiting = app
        .list_all(&department, "/v1/referrals?box=sent&status=submitted", 10)
        .await;
    assert_eq!(waiting.len(), 1);

    // §4: places in use, every measure funded (its funder lists them all and reads each),
    // the delays of the department's referrals, and AGIR's two targets.
    let programmes = app.list_all(&pas_de_calais, "/v1/programmes", 10).await;
    let call = &programmes[0];
    let capacity: Vec<(Value, Value, Value)> = call["capacity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].clone(), c["used"].clone(), c["funded"].clone()))
        .collect();
    assert_eq!(
        capacity,
        vec![
            (json!("aml_logement_dabord"), json!(20), json!(58)),
            (json!("asrl"), json!(31), json!(45)),
        ]
    );
    let funded = app
        .list_all(
            &pas_de_calais,
            &format!(
                "/v1/measures?as=funder&programme_id={}",
                call["id"].as_str().unwrap()
            ),
            200,
        )
        .await;
    assert_eq!(funded.len(), 51);
    let one = get(
        pas_de_calais.clone(),
        format!("/v1/measures/{}", funded[0]["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        one["details"]["funder_organisation_id"],
        call["funder_organisation_id"]
    );
    let indicators = get(
        pas_de_calais.clone(),
        format!("/v1/programmes/{}/indicators", call["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        indicators["delays"]["submitted_to_started"]["count"], 10,
        "{indicators}"
    );
    assert_eq!(
        indicators["delays"]["submitted_to_started"]["p50_days"],
        7.0
    );
    let agir = app.list_all(&ddets, "/v1/programmes?as=funder", 10).await;
    let agir_indicators = get(
        ddets.clone(),
        format!(
            "/v1/programmes/{}/indicators",
            agir[0]["id"].as_str().unwrap()
        ),
    )
    .await;
    let targets: Vec<(Value, Value, Value)> = agir_indicators["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["closed"].clone(), t["meeting"].clone(), t["met"].clone()))
        .collect();
    assert_eq!(
        targets,
        vec![
            (json!(5), json!(4), json!(true)),
            (json!(5), json!(3), json!(false))
        ]
    );

    // The couple's journey spans two months, step by step.
    let couple = subleases[0]["household"]["id"].as_str().unwrap().to_owned();
    let journey = get(
        association.clone(),
        format!("/v1/households/{couple}/journey"),
    )
    .await;
    let days: Vec<i64> = journey["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let at: chrono::DateTime<chrono::Utc> =
                s["occurred_at"].as_str().unwrap().parse().unwrap();
            (chrono::Utc::now() - at).num_days()
        })
        .collect();
    assert_eq!(days.first(), Some(&60), "{journey}");
    assert_eq!(days.last(), Some(&10), "{journey}");
    assert!(days.windows(2).all(|w| w[0] >= w[1]), "{days:?}");
}
