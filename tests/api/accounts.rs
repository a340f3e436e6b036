//! Accounts and who may do what: each role against each endpoint; isolation between
//! organisations.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::*;

async fn status_of(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    if_match: Option<String>,
) -> u16 {
    let mut r = app.request(method, path, Some(token));
    if let Some(b) = body {
        r = r.json(&b);
    }
    if let Some(m) = if_match {
        r = r.header("if-match", m);
    }
    r.send().await.unwrap().status().as_u16()
}

async fn version(app: &TestApp, org: Uuid, account: Uuid, token: &str) -> String {
    let a: Value = app
        .get(
            &format!("/v1/organisations/{org}/accounts/{account}"),
            token,
        )
        .await
        .json()
        .await
        .unwrap();
    format!("\"{}\"", a["version"])
}

#[actix_web::test]
async fn each_role_against_each_account_and_organisation_endpoint() {
    let app = spawn_app().await;
    let mine = app.organisation("association").await;
    let theirs = app.organisation("social_landlord").await;
    let platform = app.platform_token().await;
    let (_, their_worker_token) = app.person(&theirs.admin_token, theirs.id, "worker").await;
    let their_account = app.person(&theirs.admin_token, theirs.id, "viewer").await.0;
    let _ = their_worker_token;

    let mut callers: Vec<(&str, String)> = vec![
        ("platform_admin", platform.clone()),
        ("admin", mine.admin_token.clone()),
    ];
    for role in ["coordinator", "worker", "viewer"] {
        callers.push((role, app.person(&mine.admin_token, mine.id, role).await.1));
    }
    // A partner system with every scope but the role of a worker.
    let system = app
        .system(
            &mine.admin_token,
            mine.id,
            "worker",
            &["organisations:read", "accounts:read", "events:read"],
        )
        .await;
    callers.push(("system_worker", app.system_token(&system).await));

    for (role, token) in &callers {
        let is_platform = *role == "platform_admin";
        let is_admin = *role == "admin" || is_platform;
        let expect = |allowed: bool| if allowed { 200 } else { 403 };

        // Organisations.
        let new_org = json!({"kind": "department", "name": "Département test", "siret": siret(),
                              "department_code": "71", "contact_email": "dep@example.org"});
        assert_eq!(
            status_of(
                &app,
                Method::POST,
                "/v1/organisations",
                token,
                Some(new_org),
                None
            )
            .await,
            if is_platform { 201 } else { 403 },
            "{role} creates an organisation"
        );
        assert_eq!(
            status_of(
                &app,
                Method::GET,
                &format!("/v1/organisations/{}", theirs.id),
                token,
                None,
                None
            )
            .await,
            200,
            "{role} reads the directory"
        );
        assert_eq!(
            status_of(&app, Method::GET, "/v1/organisations", token, None, None).await,
            200,
            "{role} lists the directory"
        );
        let org_version = {
            let o: Value = app
                .get(&format!("/v1/organisations/{}", mine.id), token)
                .await
                .json()
                .await
                .unwrap();
            format!("\"{}\"", o["version"])
        };
        assert_eq!(
            status_of(
                &app,
                Method::PATCH,
                &format!("/v1/organisations/{}", mine.id),
                token,
                Some(json!({"contact_email": "new@example.org"})),
                Some(org_version)
            )
            .await,
            expect(is_admin),
            "{role} updates its organisation"
        );
        let their_version = {
            let o: Value = app
                .get(&format!("/v1/organisations/{}", theirs.id), token)
                .await
                .json()
                .await
                .unwrap();
            format!("\"{}\"", o["version"])
        };
        assert_eq!(
            status_of(
                &app,
                Method::PATCH,
                &format!("/v1/organisations/{}", theirs.id),
                token,
                Some(json!({"contact_email": "new@example.org"})),
                Some(their_version)
            )
            .await,
            expect(is_platform),
            "{role} updates another organisation"
        );

        // Accounts of its own organisation.
        let accounts = format!("/v1/organisations/{}/accounts", mine.id);
        assert_eq!(
            status_of(&app, Method::GET, &accounts, token, None, None).await,
            200,
            "{role} lists its accounts"
        );
        let person = json!({"kind": "person", "name": "Nouvelle Personne", "email": format!("{}@org.example", Uuid::now_v7().simple()), "role": "viewer"});
        assert_eq!(
            status_of(&app, Method::POST, &accounts, token, Some(person), None).await,
            if is_admin { 201 } else { 403 },
            "{role} creates an account"
        );
        let target = app.person(&mine.admin_token, mine.id, "viewer").await.0;
        let target_path = format!("{accounts}/{target}");
        assert_eq!(
            status_of(&app, Method::GET, &target_path, token, None, None).await,
            200,
            "{role} reads an account"
        );
        let v = version(&app, mine.id, target, &mine.admin_token).await;
        assert_eq!(
            status_of(
                &app,
                Method::PATCH,
                &target_path,
                token,
                Some(json!({"name": "Renommée"})),
                Some(v)
            )
            .await,
            expect(is_admin),
            "{role} updates an account"
        );
        let v = version(&app, mine.id, target, &mine.admin_token).await;
        assert_eq!(
            status_of(
                &app,
                Method::POST,
                &format!("{target_path}/reset-password"),
                token,
                None,
                Some(v)
            )
            .await,
            expect(is_admin),
            "{role} resets a password"
        );
        let v = version(&app, mine.id, target, &mine.admin_token).await;
        assert_eq!(
            status_of(
                &app,
                Method::POST,
                &format!("{target_path}/deactivate"),
                token,
                None,
                Some(v)
            )
            .await,
            expect(is_admin),
            "{role} deactivates"
        );
        if is_admin {
            let v = version(&app, mine.id, target, &mine.admin_token).await;
            assert_eq!(
                status_of(
                    &app,
                    Method::POST,
                    &format!("{target_path}/reactivate"),
                    token,
                    None,
                    Some(v)
                )
                .await,
                200,
                "{role} reactivates"
            );
        }

        // Another organisation's accounts: invisible, whatever the path (platform admins excepted).
        let theirs_accounts = format!("/v1/organisations/{}/accounts", theirs.id);
        let hidden = if is_platform { 200 } else { 404 };
        assert_eq!(
            status_of(&app, Method::GET, &theirs_accounts, token, None, None).await,
            hidden,
            "{role} lists theirs"
        );
        assert_eq!(
            status_of(
                &app,
                Method::GET,
                &format!("{theirs_accounts}/{their_account}"),
                token,
                None,
                None
            )
            .await,
            hidden,
            "{role} reads theirs"
        );
        // Their account through my organisation's path: never found.
        assert_eq!(
            status_of(
                &app,
                Method::GET,
                &format!("{accounts}/{their_account}"),
                token,
                None,
                None
            )
            .await,
            404,
            "{role} via my path"
        );
        if !is_platform {
            // A token without `accounts:write` is told so first, whatever the target (the 403
            // says nothing of another organisation's accounts); an admin's meets the 404.
            let hidden_write = if is_admin { 404 } else { 403 };
            let v = "\"1\"".to_string();
            assert_eq!(
                status_of(
                    &app,
                    Method::POST,
                    &format!("{theirs_accounts}/{their_account}/deactivate"),
                    token,
                    None,
                    Some(v.clone())
                )
                .await,
                hidden_write,
                "{role} deactivates theirs"
            );
            assert_eq!(status_of(&app, Method::POST, &theirs_accounts, token,
                                 Some(json!({"kind": "person", "name": "Intrus", "email": "intrus@example.org", "role": "admin"})), None).await, hidden_write, "{role} creates in theirs");
            assert_eq!(
                status_of(
                    &app,
                    Method::PATCH,
                    &format!("{theirs_accounts}/{their_account}"),
                    token,
                    Some(json!({"name": "x"})),
                    Some(v)
                )
                .await,
                hidden_write,
                "{role} updates theirs"
            );
        }
    }
    // Their viewer is untouched.
    let a: Value = app
        .get(
            &format!("/v1/organisations/{}/accounts/{their_account}", theirs.id),
            &theirs.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a["active"], true);
    assert_eq!(a["version"], 1);
}

#[actix_web::test]
async fn account_life_cycle_and_credentials() {
    let app = spawn_app().await;
    let org = app.organisation("state_service").await;
    let base = format!("/v1/organisations/{}/accounts", org.id);

    // A system: its scopes within its role (a viewer writes nothing), secret shown once.
    let r = app
        .post(
            &base,
            &org.admin_token,
            &json!({"kind": "system", "name": "Trop large", "role": "viewer",
                    "scopes": ["events:read", "accounts:write", "measures:write"]}),
        )
        .await;
    let p = problem(r, 422).await;
    assert_eq!(fields(&p), vec!["scopes[1]", "scopes[2]"]);
    assert_eq!(p["errors"][0]["code"], "beyond_role", "{p}");
    let system = app
        .system(&org.admin_token, org.id, "viewer", &["events:read"])
        .await;
    assert_eq!(system["kind"], "system");
    assert_eq!(system["scopes"], json!(["events:read"]));
    assert!(system["client_id"].as_str().unwrap().starts_with("pcl_"));
    let secret = system["client_secret"].as_str().unwrap().to_owned();
    let client_id = system["client_id"].as_str().unwrap().to_owned();
    let id = system["id"].as_str().unwrap();
    let fetched: Value = app
        .get(&format!("{base}/{id}"), &org.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(fetched.get("client_secret").is_none(), "never shown again");

    // Rotation: the old secret stops, the new works.
    let r = app
        .request(
            Method::POST,
            &format!("{base}/{id}/rotate-secret"),
            Some(&org.admin_token),
        )
        .header("if-match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let rotated: Value = r.json().await.unwrap();
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let old = app
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ])
        .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = app
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", new_secret),
        ])
        .await;
    assert_eq!(new.status(), StatusCode::OK);
    // Wrong kind of reset.
    problem(
        app.request(
            Method::POST,
            &format!("{base}/{id}/reset-password"),
            Some(&org.admin_token),
        )
        .header("if-match", "\"2\"")
        .send()
        .await
        .unwrap(),
        409,
    )
    .await;

    // A person: reset gives a new temporary password and ends the old sessions.
    let (person, person_token) = app.person(&org.admin_token, org.id, "worker").await;
    let r = app
        .request(
            Method::POST,
            &format!("{base}/{person}/reset-password"),
            Some(&org.admin_token),
        )
        .header("if-match", "\"1\"")
        .send()
        .await
        .unwrap();
    let reset: Value = r.json().await.unwrap();
    let temporary = reset["temporary_password"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/v1/me", &person_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let email = reset["email"].as_str().unwrap().to_owned();
    let t = app.password_token(&email, &temporary).await;
    let token = t["access_token"].as_str().unwrap();
    // The person changes it.
    let r = app
        .post(
            "/v1/me/password",
            token,
            &json!({"current_password": "wrong", "new_password": "a long enough passphrase"}),
        )
        .await;
    assert_eq!(fields(&problem(r, 422).await), vec!["current_password"]);
    let r = app
        .post(
            "/v1/me/password",
            token,
            &json!({"current_password": temporary, "new_password": "short"}),
        )
        .await;
    assert_eq!(fields(&problem(r, 422).await), vec!["new_password"]);
    let r = app
        .post(
            "/v1/me/password",
            token,
            &json!({"current_password": temporary, "new_password": "a long enough passphrase"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    app.password_token(&email, "a long enough passphrase").await;

    // Rules: duplicate email, platform_admin not assignable, no self-deactivation, scopes only for systems.
    let r = app.post(&base, &org.admin_token, &json!({"kind": "person", "name": "Doublon", "email": email.to_uppercase(), "role": "viewer"})).await;
    problem(r, 409).await;
    let r = app.post(&base, &org.admin_token, &json!({"kind": "person", "name": "X", "email": "x@example.org", "role": "platform_admin"})).await;
    assert_eq!(fields(&problem(r, 422).await), vec!["role"]);
    let r = app
        .post(
            &base,
            &org.admin_token,
            &json!({"kind": "person", "name": "", "email": "bad", "role": "viewer"}),
        )
        .await;
    assert_eq!(fields(&problem(r, 422).await), vec!["email", "name"]);
    let r = app
        .post(
            &base,
            &org.admin_token,
            &json!({"kind": "robot", "name": "X"}),
        )
        .await;
    problem(r, 422).await;
    let r = app.post(&base, &org.admin_token, &json!({"kind": "person", "name": "X", "email": "y@example.org", "role": "viewer", "scopes": []})).await;
    assert_eq!(fields(&problem(r, 422).await), vec!["scopes"]);
    let v = version(&app, org.id, org.admin_id, &org.admin_token).await;
    let r = app
        .request(
            Method::POST,
            &format!("{base}/{}/deactivate", org.admin_id),
            Some(&org.admin_token),
        )
        .header("if-match", v)
        .send()
        .await
        .unwrap();
    problem(r, 409).await;
    let v = version(&app, org.id, person, &org.admin_token).await;
    let r = app
        .request(
            Method::PATCH,
            &format!("{base}/{person}"),
            Some(&org.admin_token),
        )
        .header("if-match", v)
        .json(&json!({"scopes": ["events:read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(fields(&problem(r, 422).await), vec!["scopes"]);
    let v = version(&app, org.id, person, &org.admin_token).await;
    let r = app
        .request(
            Method::PATCH,
            &format!("{base}/{person}"),
            Some(&org.admin_token),
        )
        .header("if-match", v)
        .json(&json!({"role": "coordinator"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["role"], "coordinator");
}

#[actix_web::test]
async fn a_partner_system_holds_no_scope_beyond_its_role() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let base = format!("/v1/organisations/{}/accounts", org.id);
    let system = app
        .system(
            &org.admin_token,
            org.id,
            "worker",
            &["measures:read", "measures:write", "events:read"],
        )
        .await;
    let id: Uuid = system["id"].as_str().unwrap().parse().unwrap();
    let patch = |body: Value, v: String| {
        app.request(
            Method::PATCH,
            &format!("{base}/{id}"),
            Some(&org.admin_token),
        )
        .header("if-match", v)
        .json(&body)
        .send()
    };

    // Lowered to viewer without a list: the write scope goes, the reads stay.
    let v = version(&app, org.id, id, &org.admin_token).await;
    let r = patch(json!({"role": "viewer"}), v).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["role"], "viewer");
    assert_eq!(a["scopes"], json!(["events:read", "measures:read"]));

    // Raised back: nothing the admin did not send comes back.
    let v = version(&app, org.id, id, &org.admin_token).await;
    let r = patch(json!({"role": "worker"}), v).await.unwrap();
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["scopes"], json!(["events:read", "measures:read"]));
    let r = app
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", system["client_id"].as_str().unwrap()),
            ("client_secret", system["client_secret"].as_str().unwrap()),
        ])
        .await;
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["scope"], "events:read measures:read", "{t}");

    // A list beyond the role (given or kept) is refused, naming each scope; nothing changes.
    let v = version(&app, org.id, id, &org.admin_token).await;
    let r = patch(
        json!({"role": "viewer", "scopes": ["measures:read", "measures:write"]}),
        v.clone(),
    )
    .await
    .unwrap();
    let p = problem(r, 422).await;
    assert_eq!(fields(&p), vec!["scopes[1]"]);
    assert_eq!(p["errors"][0]["code"], "beyond_role");
    let r = patch(json!({"scopes": ["accounts:write"]}), v)
        .await
        .unwrap();
    assert_eq!(fields(&problem(r, 422).await), vec!["scopes[0]"]);
    let a: Value = app
        .get(&format!("{base}/{id}"), &org.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a["role"], "worker");
    assert_eq!(a["scopes"], json!(["events:read", "measures:read"]));
}
