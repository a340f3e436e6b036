//! Tokens: every grant, every rejection, throttling.

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use passerelle::auth::claims::Claims;
use passerelle::auth::keys::Keys;
use passerelle::identity::model::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::*;

fn claims(app: &TestApp, sub: Uuid, org: Option<Uuid>, role: Role) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        iss: app.config.jwt_issuer.clone(),
        aud: app.config.jwt_audience.clone(),
        sub,
        org,
        role,
        scope: "accounts:read events:read organisations:read".into(),
        exp: now + 600,
        nbf: now,
        iat: now,
        jti: Uuid::now_v7(),
        sid: None,
        cv: 1,
    }
}

fn sign(keys: &Keys, kid: &str, claims: &Claims) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &keys.encoding).unwrap()
}

async fn assert_rejected(app: &TestApp, token: &str, why: &str) {
    let r = app.get("/v1/me", token).await;
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = problem(r, 401).await;
    let challenge = challenge.unwrap_or_else(|| panic!("{why}: no WWW-Authenticate"));
    assert!(challenge.starts_with("Bearer "), "{why}: {challenge}");
    assert_eq!(body["type"], "/problems/unauthorized", "{why}");
}

#[actix_web::test]
async fn client_credentials_password_and_refresh_grants() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let system = app
        .system(
            &org.admin_token,
            org.id,
            "worker",
            &["events:read", "organisations:read"],
        )
        .await;
    let client_id = system["client_id"].as_str().unwrap();
    let secret = system["client_secret"].as_str().unwrap();

    // Form body.
    let r = app
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 900);
    assert!(
        t.get("refresh_token").is_none(),
        "no refresh token for client credentials"
    );
    assert_eq!(t["scope"], "events:read organisations:read");
    let me: Value = app
        .get("/v1/me", t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["account"]["client_id"], client_id);
    assert_eq!(me["organisation"]["id"], org.id.to_string());

    // JSON body.
    let r = app
        .client
        .post(app.url("/v1/auth/token"))
        .json(&json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // HTTP Basic.
    let r = app
        .client
        .post(app.url("/v1/auth/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The claims carry what the issue names, signed with the published key.
    let token = t["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    let jwks: Value = app.public_json("/.well-known/jwks.json").await;
    assert_eq!(jwks["keys"][0]["kid"], header.kid.unwrap());
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
    let payload = token.split('.').nth(1).unwrap();
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    for claim in [
        "iss", "aud", "sub", "org", "role", "scope", "exp", "nbf", "iat", "jti",
    ] {
        assert!(payload.get(claim).is_some(), "claim {claim}");
    }

    // Password, then refresh: the refresh token rotates.
    let (_, _) = app.person(&org.admin_token, org.id, "worker").await;
    let platform = app.password_token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let refresh = platform["refresh_token"].as_str().unwrap().to_owned();
    let r = app
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let next: Value = r.json().await.unwrap();
    assert_ne!(next["refresh_token"], refresh.as_str());
    assert_eq!(
        app.get("/v1/me", next["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
}

#[actix_web::test]
async fn each_bad_token_is_refused_with_401_and_a_challenge() {
    let app = spawn_app().await;
    let org = app.organisation("department").await;
    let (worker_id, worker_token) = app.person(&org.admin_token, org.id, "worker").await;
    let kid = app.keys.kid.clone();
    let good = claims(&app, worker_id, Some(org.id), Role::Worker);
    // The forged-token machinery is right: a well-formed token passes.
    assert_eq!(
        app.get("/v1/me", &sign(&app.keys, &kid, &good))
            .await
            .status(),
        StatusCode::OK
    );

    let mut c = good.clone();
    c.exp = chrono::Utc::now().timestamp() - 3600;
    assert_rejected(&app, &sign(&app.keys, &kid, &c), "expired").await;

    let mut c = good.clone();
    c.nbf = chrono::Utc::now().timestamp() + 3600;
    c.exp = c.nbf + 600;
    assert_rejected(&app, &sign(&app.keys, &kid, &c), "not yet valid").await;

    let mut c = good.clone();
    c.aud = "another-api".into();
    assert_rejected(&app, &sign(&app.keys, &kid, &c), "wrong aud").await;

    let mut c = good.clone();
    c.iss = "someone-else".into();
    assert_rejected(&app, &sign(&app.keys, &kid, &c), "wrong iss").await;

    assert_rejected(&app, &sign(&app.keys, "unknown-kid", &good), "unknown kid").await;

    let other = Keys::generate();
    assert_rejected(&app, &sign(&other, &kid, &good), "another key").await;

    // alg changed to HS256, keyed with the public key (the classic confusion attack).
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.clone());
    let x = app.keys.jwks.keys[0].x.clone();
    let hs = jsonwebtoken::encode(&header, &good, &EncodingKey::from_secret(x.as_bytes())).unwrap();
    assert_rejected(&app, &hs, "alg HS256").await;

    // alg none.
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "kid": kid})),
        b64(&serde_json::to_value(&good).unwrap())
    );
    assert_rejected(&app, &none, "alg none").await;

    // Tampered payload: a role raised to admin under the original signature.
    let token = sign(&app.keys, &kid, &good);
    let parts: Vec<&str> = token.split('.').collect();
    let mut raised = serde_json::to_value(&good).unwrap();
    raised["role"] = json!("admin");
    let tampered = format!("{}.{}.{}", parts[0], b64(&raised), parts[2]);
    assert_rejected(&app, &tampered, "tampered payload").await;

    assert_rejected(&app, "not-a-jwt", "garbage").await;
    // No token at all: a challenge without an error code (RFC 6750 §3.1), while a bad token
    // says `invalid_token`.
    let r = app.client.get(app.url("/v1/me")).send().await.unwrap();
    assert_eq!(
        r.headers()["www-authenticate"],
        "Bearer realm=\"passerelle\""
    );
    problem(r, 401).await;
    let r = app.get("/v1/me", "not-a-jwt").await;
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));

    // Deactivated: the token that worked a moment ago stops at once.
    assert_eq!(
        app.get("/v1/me", &worker_token).await.status(),
        StatusCode::OK
    );
    let account: Value = app
        .get(
            &format!("/v1/organisations/{}/accounts/{worker_id}", org.id),
            &org.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .request(
            reqwest::Method::POST,
            &format!(
                "/v1/organisations/{}/accounts/{worker_id}/deactivate",
                org.id
            ),
            Some(&org.admin_token),
        )
        .header("if-match", format!("\"{}\"", account["version"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_rejected(&app, &worker_token, "deactivated account").await;
}

#[actix_web::test]
async fn a_reused_refresh_token_revokes_its_session() {
    let app = spawn_app().await;
    let first = app.password_token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let refresh = first["refresh_token"].as_str().unwrap().to_owned();
    let r = app
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    let second: Value = r.json().await.unwrap();
    let access = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/v1/me", &access).await.status(), StatusCode::OK);

    // The first refresh token again: refused (RFC 6749 invalid_grant), and the session ends.
    let r = app
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    // Every token of the session now fails: the access token and the newest refresh token.
    assert_rejected(&app, &access, "token of a revoked session").await;
    assert_rejected(
        &app,
        first["access_token"].as_str().unwrap(),
        "first token of a revoked session",
    )
    .await;
    let r = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", second["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Another sign-in is unaffected.
    let fresh = app.platform_token().await;
    assert_eq!(app.get("/v1/me", &fresh).await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn token_endpoint_errors_follow_rfc_6749() {
    let app = spawn_app().await;
    type Form<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(Form, u16, &str)> = vec![
        (vec![], 400, "invalid_request"),
        (
            vec![("grant_type", "authorization_code")],
            400,
            "unsupported_grant_type",
        ),
        (
            vec![("grant_type", "password"), ("username", ADMIN_EMAIL)],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("username", ADMIN_EMAIL),
                ("password", "wrong"),
            ],
            400,
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("username", "nobody@x.example"),
                ("password", "x"),
            ],
            400,
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "pcl_nope"),
                ("client_secret", "x"),
            ],
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", "never-issued"),
            ],
            400,
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("username", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
                ("scope", "units:write"),
            ],
            400,
            "invalid_scope",
        ),
    ];
    for (form, status, error) in cases {
        let r = app.token(&form).await;
        assert_eq!(r.status().as_u16(), status, "{form:?}");
        if status == 401 {
            // Credentials sent in the form: no Basic challenge (a browser would open its
            // login dialog); see the_token_endpoint_takes_one_way_of_authenticating.
            assert!(!r.headers().contains_key("www-authenticate"), "{form:?}");
        }
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], error, "{form:?}");
        assert!(body["error_description"].is_string());
    }
    let r = app
        .client
        .post(app.url("/v1/auth/token"))
        .body("grant_type=password")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "no content type");
}

/// A client that connects from another loopback address (Linux routes 127.0.0.0/8 to
/// itself): another machine, as the sign-in throttle sees it.
fn client_from(last_octet: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, last_octet]))
        .build()
        .unwrap()
}

async fn sign_in(
    client: &reqwest::Client,
    app: &TestApp,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(app.url("/v1/auth/token"))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn the_attacker_is_throttled_not_the_victim() {
    use passerelle::auth::throttle::{ADDRESS_FREE, PER_ATTEMPT};
    let app = spawn_app().await;
    let attacker = client_from(66);
    let victim = client_from(77);
    let wrong = [
        ("grant_type", "password"),
        ("username", ADMIN_EMAIL),
        ("password", "wrong"),
    ];
    let right = [
        ("grant_type", "password"),
        ("username", ADMIN_EMAIL),
        ("password", ADMIN_PASSWORD),
    ];
    for _ in 0..PER_ATTEMPT {
        assert_eq!(
            sign_in(&attacker, &app, &wrong).await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    // The attacker's address waits, even with the right password…
    let r = sign_in(&attacker, &app, &right).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900, "{retry}");
    // …and the person, from their own address, signs in.
    assert_eq!(
        sign_in(&victim, &app, &right).await.status(),
        StatusCode::OK
    );

    // A partner system whose client id is known: five wrong secrets from elsewhere do not
    // cut its integration off.
    let org = app.organisation("social_landlord").await;
    let system = app
        .system(&org.admin_token, org.id, "worker", &["events:read"])
        .await;
    let id = system["client_id"].as_str().unwrap();
    let secret = system["client_secret"].as_str().unwrap();
    for _ in 0..PER_ATTEMPT {
        let r = sign_in(
            &attacker,
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", "guess"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = sign_in(
        &victim,
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);

    // One address guessing across accounts backs off, doubling: the attacker's address has
    // failed 2 × PER_ATTEMPT times; past ADDRESS_FREE each attempt waits longer.
    let spray = client_from(88);
    let mut statuses = Vec::new();
    for i in 0..ADDRESS_FREE + 1 {
        let r = sign_in(
            &spray,
            &app,
            &[
                ("grant_type", "password"),
                ("username", &format!("u{i}@x.example")),
                ("password", "wrong"),
            ],
        )
        .await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count() as i64,
        ADDRESS_FREE,
        "{statuses:?}"
    );
    let last = sign_in(&spray, &app, &wrong).await;
    assert_eq!(last.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(last.headers()["retry-after"], "1");
    // After the wait, one more attempt, then twice as long.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = sign_in(
        &spray,
        &app,
        &[
            ("grant_type", "password"),
            ("username", "again@x.example"),
            ("password", "wrong"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = sign_in(&spray, &app, &wrong).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "2");
    // Meanwhile the victim's address is untouched.
    assert_eq!(
        sign_in(&victim, &app, &right).await.status(),
        StatusCode::OK
    );
}

#[actix_web::test]
async fn behind_a_proxy_the_forwarded_address_is_throttled() {
    use passerelle::auth::throttle::PER_ATTEMPT;
    let app = spawn_app_configured(fresh_database().await, |c| c.trusted_proxy_hops = 1).await;
    let from = |address: &'static str, password: &'static str| {
        app.client
            .post(app.url("/v1/auth/token"))
            // The client's own claim (left) is not believed; the proxy's entry (right) is.
            .header("x-forwarded-for", format!("198.51.100.1, {address}"))
            .form(&[
                ("grant_type", "password"),
                ("username", ADMIN_EMAIL),
                ("password", password),
            ])
            .send()
    };
    for _ in 0..PER_ATTEMPT {
        assert_eq!(
            from("203.0.113.9", "wrong").await.unwrap().status(),
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(
        from("203.0.113.9", ADMIN_PASSWORD).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy (same peer address) is not held back.
    assert_eq!(
        from("203.0.113.10", ADMIN_PASSWORD).await.unwrap().status(),
        StatusCode::OK
    );
}

/// The scopes an access token carries, as the token endpoint said.
fn scope_of(token: &Value) -> &str {
    token["scope"].as_str().unwrap()
}

async fn refresh(app: &TestApp, refresh_token: &str, scope: Option<&str>) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    app.token(&form).await
}

/// RFC 6749 §6: a refresh gets the scopes the session was first granted, or fewer; more is
/// `invalid_scope`, and a refused refresh leaves the refresh token usable (the client's
/// retry without `scope` works). A role lowered since the sign-in lowers what a refresh gets.
#[actix_web::test]
async fn a_refresh_keeps_the_sessions_scopes_and_a_refused_one_changes_nothing() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let email = format!("reader.{}@org.example", Uuid::now_v7().simple());
    let r = app
        .post(
            &format!("/v1/organisations/{}/accounts", org.id),
            &org.admin_token,
            &json!({"kind": "person", "name": "Dominique Test", "email": email, "role": "coordinator"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let account: Value = r.json().await.unwrap();
    let password = account["temporary_password"].as_str().unwrap().to_owned();
    let sign_in = app
        .token(&[
            ("grant_type", "password"),
            ("username", &email),
            ("password", &password),
            ("scope", "households:read referrals:read"),
        ])
        .await;
    assert_eq!(sign_in.status(), StatusCode::OK);
    let first: Value = sign_in.json().await.unwrap();
    assert_eq!(scope_of(&first), "households:read referrals:read");
    let household = crate::households::household("Portée", "Alix", "1990-01-01");

    // Asking for more than the session holds: refused, and nothing is used up.
    let rt = first["refresh_token"].as_str().unwrap().to_owned();
    for asked in [
        "households:write",
        "households:read households:write",
        "nonsense:scope",
    ] {
        let r = refresh(&app, &rt, Some(asked)).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{asked}");
        assert_eq!(r.headers()["cache-control"], "no-store");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_scope", "{asked}");
    }
    // The retry without `scope`, as OAuth libraries do: the session's scopes, no more.
    let r = refresh(&app, &rt, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let second: Value = r.json().await.unwrap();
    assert_eq!(scope_of(&second), "households:read referrals:read");
    let access = second["access_token"].as_str().unwrap();
    assert_eq!(app.get("/v1/me", access).await.status(), StatusCode::OK);
    let p = problem(app.post("/v1/households", access, &household).await, 403).await;
    assert_eq!(p["type"], "/problems/insufficient-scope", "{p}");
    assert_eq!(app.count("households").await, 0);

    // Fewer is allowed, and the session keeps what it was first granted.
    let r = refresh(
        &app,
        second["refresh_token"].as_str().unwrap(),
        Some("referrals:read"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let third: Value = r.json().await.unwrap();
    assert_eq!(scope_of(&third), "referrals:read");
    let r = refresh(&app, third["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let fourth: Value = r.json().await.unwrap();
    assert_eq!(scope_of(&fourth), "households:read referrals:read");

    // Other refusals change nothing either: an unknown token, then the real one still works.
    let r = refresh(&app, "not-a-refresh-token", None).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // The account's role is lowered to viewer: still within the session, never more.
    let account_id = account["id"].as_str().unwrap();
    let path = format!("/v1/organisations/{}/accounts/{account_id}", org.id);
    let current: Value = app.get(&path, &org.admin_token).await.json().await.unwrap();
    let r = app
        .request(Method::PATCH, &path, Some(&org.admin_token))
        .header("if-match", format!("\"{}\"", current["version"]))
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = refresh(&app, fourth["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let fifth: Value = r.json().await.unwrap();
    assert_eq!(scope_of(&fifth), "households:read referrals:read");
    let r = refresh(
        &app,
        fifth["refresh_token"].as_str().unwrap(),
        Some("households:write"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // A password sign-in without `scope` holds every scope of the role, and its refreshes too.
    let full = app.password_token(&email, &password).await;
    assert!(scope_of(&full).contains("measures:read"), "{full}");
    let r = refresh(&app, full["refresh_token"].as_str().unwrap(), None).await;
    let refreshed: Value = r.json().await.unwrap();
    assert_eq!(scope_of(&refreshed), scope_of(&full));
}

/// What changes an account's credentials or rights takes effect on its tokens at once, on
/// every instance: a rotated secret stops the system's access tokens (a second instance
/// that already checked the token refuses it too), a reset password a person's, a lowered
/// role the person's writes.
#[actix_web::test]
async fn a_change_of_credentials_or_rights_stops_the_tokens_at_once() {
    let app = spawn_app().await;
    let twin = app.twin(|_| {});
    let org = app.organisation("association").await;
    let system = app
        .system(
            &org.admin_token,
            org.id,
            "coordinator",
            &["households:read", "households:write"],
        )
        .await;
    let before = app.system_token(&system).await;
    let household = crate::households::household("Rotation", "Alix", "1990-01-01");
    assert_eq!(
        app.post("/v1/households", &before, &household)
            .await
            .status(),
        StatusCode::CREATED
    );
    // The second instance has checked (and cached) the token's signature.
    assert_eq!(twin.get("/v1/me", &before).await.status(), StatusCode::OK);

    let account_path = format!(
        "/v1/organisations/{}/accounts/{}",
        org.id,
        system["id"].as_str().unwrap()
    );
    let current: Value = app
        .get(&account_path, &org.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .request(
            Method::POST,
            &format!("{account_path}/rotate-secret"),
            Some(&org.admin_token),
        )
        .header("if-match", format!("\"{}\"", current["version"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let rotated: Value = r.json().await.unwrap();
    for server in [&app, &twin] {
        assert_rejected(server, &before, "token issued before a rotation").await;
        let mut other = household.clone();
        other["head"]["last_name"] = json!("Après");
        problem(server.post("/v1/households", &before, &other).await, 401).await;
    }
    assert_eq!(app.count("households").await, 1);
    // The old secret is refused; the new one gives tokens that work on both instances.
    let old = app
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", system["client_id"].as_str().unwrap()),
            ("client_secret", system["client_secret"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let after = app.system_token(&rotated).await;
    assert_eq!(twin.get("/v1/me", &after).await.status(), StatusCode::OK);

    // A person: a reset password stops every token of theirs, on both instances.
    let (person_id, person) = app.person(&org.admin_token, org.id, "coordinator").await;
    assert_eq!(twin.get("/v1/me", &person).await.status(), StatusCode::OK);
    let person_path = format!("/v1/organisations/{}/accounts/{person_id}", org.id);
    let current: Value = app
        .get(&person_path, &org.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .request(
            Method::POST,
            &format!("{person_path}/reset-password"),
            Some(&org.admin_token),
        )
        .header("if-match", format!("\"{}\"", current["version"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    for server in [&app, &twin] {
        assert_rejected(server, &person, "token of a reset password").await;
    }

    // A lowered role: the token's writes stop at once, its reads go on.
    let (writer_id, writer) = app.person(&org.admin_token, org.id, "coordinator").await;
    let writer_path = format!("/v1/organisations/{}/accounts/{writer_id}", org.id);
    let current: Value = app
        .get(&writer_path, &org.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .request(Method::PATCH, &writer_path, Some(&org.admin_token))
        .header("if-match", format!("\"{}\"", current["version"]))
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut third = household.clone();
    third["head"]["last_name"] = json!("Rôle");
    for server in [&app, &twin] {
        let p = problem(server.post("/v1/households", &writer, &third).await, 403).await;
        assert_eq!(p["type"], "/problems/insufficient-scope", "{p}");
        assert_eq!(
            server.get("/v1/households", &writer).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(app.count("households").await, 1);
}
