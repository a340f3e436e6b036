//! The contract's edges (issue 9): every failing field at once, repeated keys, PATCH as JSON
//! Merge Patch, uniqueness under concurrency, French names and places, the French legal
//! date, HTTP as RFC 9110 reads it, one sharing rule, replays, the embedded database's
//! recovery, a signing key standard tools read. Where a rule holds for every endpoint, the
//! test walks the endpoints from the served spec, so that a new one is covered too.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::*;
use crate::households::household;
use crate::housing::unit_body;

/// Every operation of the served spec with a JSON request body: (method, path, body schema).
fn json_bodies() -> Vec<(Method, String, Value)> {
    let spec = serde_json::to_value(passerelle::openapi::document()).unwrap();
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema")
            else {
                continue;
            };
            let method: Method = method.to_uppercase().parse().unwrap();
            out.push((method, path.clone(), resolve(&spec, schema)));
        }
    }
    assert!(out.len() >= 20, "the spec lists {} JSON bodies", out.len());
    out
}

fn resolve(spec: &Value, schema: &Value) -> Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            resolve(spec, &spec["components"]["schemas"][name])
        }
        None => schema.clone(),
    }
}

/// The path with a new id in each template segment.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if s.starts_with('{') {
                Uuid::now_v7().to_string()
            } else {
                s.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[actix_web::test]
async fn every_body_reports_every_missing_field_and_every_repeated_key_at_once() {
    let app = spawn_app().await;
    let platform = app.platform_token().await;
    // An organisation's admin holds every scope: the scope check (403) comes before the
    // body's, so the walk needs a token that passes it.
    let admin = app.organisation("association").await.admin_token;
    let mut checked = 0;
    for (method, path, schema) in json_bodies() {
        if path == "/v1/auth/token" {
            continue; // OAuth's own errors (RFC 6749), below.
        }
        let url = concrete(&path);
        let required: Vec<String> = schema["required"]
            .as_array()
            .map(|r| r.iter().map(|f| f.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        if !required.is_empty() {
            let r = app
                .request(method.clone(), &url, Some(&admin))
                .header("if-match", "\"1\"")
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let p = problem(r, 422).await;
            let named = fields(&p);
            for f in &required {
                assert!(named.contains(f), "{method} {path}: {f} not named in {p}");
            }
            assert_eq!(
                p["detail"],
                if named.len() == 1 {
                    "1 field is invalid".to_owned()
                } else {
                    format!("{} fields are invalid", named.len())
                },
                "{method} {path}"
            );
            checked += 1;
        }
        // A repeated key, whichever property it is, wherever it comes.
        let property = schema["properties"]
            .as_object()
            .and_then(|p| p.keys().next().cloned())
            .unwrap_or_else(|| "comment".into());
        let raw = format!(r#"{{"{property}": "a", "{property}": "b"}}"#);
        let r = app
            .request(method.clone(), &url, Some(&admin))
            .header("if-match", "\"1\"")
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let p = problem(r, 422).await;
        assert!(
            p["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == property.as_str() && e["code"] == "duplicate_key"),
            "{method} {path}: {p}"
        );
    }
    assert!(checked >= 10, "{checked} bodies with required fields");

    // The example of the issue: five fields missing, five named, in one answer.
    let p = problem(
        app.post("/v1/organisations", &platform, &json!({})).await,
        422,
    )
    .await;
    assert_eq!(
        fields(&p),
        ["contact_email", "department_code", "kind", "name", "siret"]
    );
    assert_eq!(p["detail"], "5 fields are invalid");
    // Missing, mistyped and rule-breaking fields together; the stand-in of a missing field
    // breaks no rule of its own.
    let p = problem(
        app.post(
            "/v1/organisations",
            &platform,
            &json!({"kind": "charity", "name": "  ", "siret": 12, "contact_email": "nope"}),
        )
        .await,
        422,
    )
    .await;
    let codes = field_codes(&p);
    for expected in [
        ("department_code", "required"),
        ("kind", "unknown_value"),
        ("siret", "invalid_type"),
        ("contact_email", "email"),
    ] {
        assert!(
            codes.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {codes:?}"
        );
    }
    assert!(codes.iter().any(|(f, _)| f == "name"), "{codes:?}");
    assert!(
        !codes.contains(&("department_code".into(), "department_code".into())),
        "a stand-in's rule is not reported: {codes:?}"
    );

    // The unit of the issue: `rent_cents` twice is refused whatever the order, nothing stored.
    let landlord = app.organisation("social_landlord").await;
    let units_before = app.count("units").await;
    for (first, second) in [("-5", "41000"), ("41000", "-5")] {
        let body = unit_body("71076", "71100", "t2", 41000, "c", "available").to_string();
        let body = body.replacen(
            "\"rent_cents\":41000",
            &format!("\"rent_cents\":{first},\"rent_cents\":{second}"),
            1,
        );
        assert!(body.matches("rent_cents").count() == 2, "{body}");
        let r = app
            .request(Method::POST, "/v1/units", Some(&landlord.admin_token))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let p = problem(r, 422).await;
        assert_eq!(p["errors"][0]["field"], "rent_cents", "{p}");
        assert_eq!(p["errors"][0]["code"], "duplicate_key", "{p}");
    }
    assert_eq!(app.count("units").await, units_before);

    // The token endpoint: a parameter sent twice is `invalid_request` (RFC 6749 §3.2), in a
    // form as in JSON.
    for (content_type, body) in [
        (
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials&client_id=a&client_id=b&client_secret=c",
        ),
        (
            "application/json",
            r#"{"grant_type": "client_credentials", "client_id": "a", "client_id": "b", "client_secret": "c"}"#,
        ),
    ] {
        let r = app
            .client
            .post(app.url("/v1/auth/token"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{content_type}");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"], "invalid_request");
        assert!(b["error_description"]
            .as_str()
            .unwrap()
            .contains("client_id"));
    }
}

/// Sends a PATCH with the resource's current ETag; returns the status and body.
async fn patch(app: &TestApp, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
    let r = app.get(path, token).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let r = app
        .request(Method::PATCH, path, Some(token))
        .header("if-match", etag)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

#[actix_web::test]
async fn every_patch_is_a_merge_patch() {
    let app = spawn_app().await;
    let platform = app.platform_token().await;
    let association = app.organisation("association").await;
    let landlord = app.organisation("social_landlord").await;
    let (account, _) = app
        .person(&association.admin_token, association.id, "worker")
        .await;
    // With its consent to sharing: the measure below names a funder.
    let h = household_with_consent(
        &app,
        &association.admin_token,
        &household("Merge", "Patch", "1980-01-01"),
        "2026-11-02",
    )
    .await;
    let r = app
        .post(
            "/v1/units",
            &landlord.admin_token,
            &unit_body("71076", "71100", "t2", 41000, "c", "available"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let u: Value = r.json().await.unwrap();
    let state = app.organisation("state_service").await;
    let r = app
        .post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": h["id"], "kind": "avdl", "funder_organisation_id": state.id}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let m: Value = r.json().await.unwrap();
    let r = app
        .post(
            &format!("/v1/measures/{}/objectives", m["id"].as_str().unwrap()),
            &association.admin_token,
            &json!({"theme": "budget", "description": "Tenir un budget"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let o: Value = r.json().await.unwrap();
    let r = app
        .post(
            "/v1/programmes",
            &state.admin_token,
            &json!({"name": "AVDL 2027", "starts_on": "2027-01-01", "ends_on": "2027-12-31",
                    "department_codes": ["53"], "operator_organisation_ids": [association.id],
                    "funded": {"avdl": 30}, "budget_cents": 9_000_000,
                    "targets": [{"outcomes": ["kept_housing"], "at_least_percent": 70}]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let programme: Value = r.json().await.unwrap();
    let r = app
        .post(
            "/v1/webhook-endpoints",
            &association.admin_token,
            &json!({"url": "http://127.0.0.1:9/merge", "description": "merge", "event_types": ["referral.*"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let endpoint: Value = r.json().await.unwrap();
    // Each PATCH endpoint of the spec, with a resource of its kind and who may change it.
    let targets = [
        (
            "/v1/households/{id}".to_owned(),
            format!("/v1/households/{}", h["id"].as_str().unwrap()),
            association.admin_token.clone(),
        ),
        (
            "/v1/units/{id}".to_owned(),
            format!("/v1/units/{}", u["id"].as_str().unwrap()),
            landlord.admin_token.clone(),
        ),
        (
            "/v1/organisations/{id}".to_owned(),
            format!("/v1/organisations/{}", association.id),
            platform.clone(),
        ),
        (
            "/v1/organisations/{id}/accounts/{account_id}".to_owned(),
            format!("/v1/organisations/{}/accounts/{account}", association.id),
            association.admin_token.clone(),
        ),
        (
            "/v1/measure-kinds/{code}".to_owned(),
            "/v1/measure-kinds/asll".to_owned(),
            platform.clone(),
        ),
        (
            "/v1/measures/{id}".to_owned(),
            format!("/v1/measures/{}", m["id"].as_str().unwrap()),
            association.admin_token.clone(),
        ),
        (
            "/v1/programmes/{id}".to_owned(),
            format!("/v1/programmes/{}", programme["id"].as_str().unwrap()),
            state.admin_token.clone(),
        ),
        (
            "/v1/objectives/{id}".to_owned(),
            format!("/v1/objectives/{}", o["id"].as_str().unwrap()),
            association.admin_token.clone(),
        ),
        (
            "/v1/webhook-endpoints/{id}".to_owned(),
            format!("/v1/webhook-endpoints/{}", endpoint["id"].as_str().unwrap()),
            association.admin_token.clone(),
        ),
    ];
    let patches: Vec<(String, Value)> = json_bodies()
        .into_iter()
        .filter(|(m, _, _)| *m == Method::PATCH)
        .map(|(_, p, s)| (p, s))
        .collect();
    assert_eq!(
        patches.len(),
        targets.len(),
        "a PATCH endpoint without its test"
    );
    for (template, schema) in patches {
        let (_, path, token) = targets
            .iter()
            .find(|(t, _, _)| *t == template)
            .unwrap_or_else(|| panic!("no target for {template}"));
        for (name, property) in schema["properties"].as_object().unwrap() {
            let nullable = property["type"]
                .as_array()
                .is_some_and(|t| t.contains(&json!("null")))
                || property["oneOf"]
                    .as_array()
                    .is_some_and(|o| o.iter().any(|s| s["type"] == "null"));
            if name == "scopes" && template.contains("accounts") {
                // Not applicable to a person (the account here): a 422 either way.
                continue;
            }
            let (status, body) = patch(&app, token, path, &json!({ name: null })).await;
            if nullable {
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "{template} {name}: null clears: {body}"
                );
                assert!(body[name.as_str()].is_null(), "{template} {name}: {body}");
            } else {
                assert_eq!(
                    status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{template} {name}: null refused: {body}"
                );
                assert_eq!(body["errors"][0]["field"], name.as_str(), "{body}");
                assert_eq!(body["errors"][0]["code"], "not_nullable", "{body}");
            }
        }
        // Nothing sent, or what is stored sent again: same version, no event.
        let events = app.count("events").await;
        let before: Value = app.get(path, token).await.json().await.unwrap();
        let (status, after) = patch(&app, token, path, &json!({})).await;
        assert_eq!(status, StatusCode::OK, "{template}: {after}");
        assert_eq!(after["version"], before["version"], "{template}");
        let same = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| !before[k.as_str()].is_null() && *k != "scopes")
            .map(|k| (k.clone(), before[k.as_str()].clone()))
            .collect::<serde_json::Map<_, _>>();
        let (status, after) = patch(&app, token, path, &Value::Object(same.clone())).await;
        assert_eq!(status, StatusCode::OK, "{template} {same:?}: {after}");
        assert_eq!(after["version"], before["version"], "{template}: {same:?}");
        assert_eq!(app.count("events").await, events, "{template}: no event");
    }

    // The issue's example: `partner_reference: null` clears it, and a new version says so.
    let path = format!("/v1/households/{}", h["id"].as_str().unwrap());
    let (status, cleared) = patch(
        &app,
        &association.admin_token,
        &path,
        &json!({"partner_reference": "DOS-9"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, cleared2) = patch(
        &app,
        &association.admin_token,
        &path,
        &json!({"partner_reference": null}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(cleared2["partner_reference"].is_null());
    assert_eq!(
        cleared2["version"].as_i64().unwrap(),
        cleared["version"].as_i64().unwrap() + 1
    );
    let stored: Value = app
        .get(&path, &association.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(stored["partner_reference"].is_null());
}

/// Sends `n` copies of a request at once; returns each status and body.
async fn race(
    app: &TestApp,
    n: usize,
    method: Method,
    path: &str,
    token: &str,
    body: &Value,
) -> Vec<(u16, Value)> {
    let requests = (0..n).map(|_| {
        app.request(method.clone(), path, Some(token))
            .json(body)
            .send()
    });
    let mut out = Vec::new();
    for r in futures::future::join_all(requests).await {
        let r = r.unwrap();
        out.push((r.status().as_u16(), r.json().await.unwrap()));
    }
    out
}

/// One 201 and the rest 409 naming the one created.
fn one_wins(results: &[(u16, Value)], what: &str) {
    let created: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(created.len(), 1, "{what}: {results:?}");
    for (status, body) in results.iter().filter(|(s, _)| *s != 201) {
        assert_eq!(*status, 409, "{what}: {body}");
        assert_eq!(body["existing_id"], created[0]["id"], "{what}: {body}");
    }
}

#[actix_web::test]
async fn only_one_holds_when_requests_race() {
    let w = crate::housing::world().await;
    let app = &w.app;
    let platform = app.platform_token().await;

    // Twelve identical households, no Idempotency-Key.
    let before = app.count("households").await;
    let results = race(
        app,
        12,
        Method::POST,
        "/v1/households",
        &w.association.admin_token,
        &household("Course", "Simultanée", "1975-05-05"),
    )
    .await;
    one_wins(&results, "households");
    assert_eq!(app.count("households").await, before + 1);

    // Eight organisations with one SIRET.
    let siret = siret();
    let results = race(
        app,
        8,
        Method::POST,
        "/v1/organisations",
        &platform,
        &json!({"kind": "association", "name": "Course", "siret": siret,
                "department_code": "53", "contact_email": "course@org.example"}),
    )
    .await;
    one_wins(&results, "organisations");

    // Eight accounts with one email (the unique index decides; the answer is a 409).
    let results = race(
        app,
        8,
        Method::POST,
        &format!("/v1/organisations/{}/accounts", w.association.id),
        &w.association.admin_token,
        &json!({"kind": "person", "name": "Course", "email": "course@org.example", "role": "worker"}),
    )
    .await;
    assert_eq!(
        results.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "{results:?}"
    );
    assert!(
        results.iter().all(|(s, _)| *s == 201 || *s == 409),
        "{results:?}"
    );

    // Eight proposals of one household for one unit.
    let unit = w.available_unit().await;
    let h = w.household("Proposée", true).await;
    let results = race(
        app,
        8,
        Method::POST,
        &format!("/v1/units/{}/proposals", unit["id"].as_str().unwrap()),
        &w.association.admin_token,
        &json!({"household_id": h["id"]}),
    )
    .await;
    one_wins(&results, "proposals");
}

#[actix_web::test]
async fn names_are_compared_as_french_names_are_typed() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let r = app
        .post(
            "/v1/households",
            &org.admin_token,
            &household("Lœuillet", "Bénédicte", "1966-07-08"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let first: Value = r.json().await.unwrap();
    for (last, given) in [
        ("Loeuillet", "Benedicte"),
        ("LŒUILLET", "BÉNÉDICTE"),
        ("Lœuillet", "Be\u{301}ne\u{301}dicte"),
    ] {
        let p = problem(
            app.post(
                "/v1/households",
                &org.admin_token,
                &household(last, given, "1966-07-08"),
            )
            .await,
            409,
        )
        .await;
        assert_eq!(p["existing_id"], first["id"], "{last} {given}");
    }
    for name in ["Loeuillet", "LOEUILLET", "lœuil", "L%C5%93uillet"] {
        let page: Value = app
            .get(
                &format!("/v1/households?name={name}&birth_date=1966-07-08"),
                &org.admin_token,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "?name={name}");
        assert_eq!(page["items"][0]["id"], first["id"]);
        // Shown as typed.
        assert_eq!(page["items"][0]["head"]["last_name"], "Lœuillet");
    }
}

#[actix_web::test]
async fn real_places_and_organisations_are_accepted() {
    let app = spawn_app().await;
    let platform = app.platform_token().await;
    // The collectivities of Saint-Pierre-et-Miquelon, Saint-Barthélemy and Saint-Martin, and
    // La Poste's head office (Luhn, not the digit sum).
    for (code, siret) in [
        ("975", siret()),
        ("977", siret()),
        ("978", siret()),
        ("53", "35600000000048".to_owned()),
    ] {
        let r = app
            .post(
                "/v1/organisations",
                &platform,
                &json!({"kind": "department", "name": format!("Collectivité {code}"),
                        "siret": siret, "department_code": code,
                        "contact_email": "contact@collectivite.example"}),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{code} {siret}: {:?}",
            r.text().await
        );
    }
    let p = problem(
        app.post(
            "/v1/organisations",
            &platform,
            &json!({"kind": "department", "name": "Nulle part", "siret": siret(),
                    "department_code": "979", "contact_email": "contact@collectivite.example"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["department_code"]);

    let landlord = app.organisation("social_landlord").await;
    for (insee, postcode) in [("97801", "97150"), ("97701", "97133"), ("04058", "05110")] {
        let r = app
            .post(
                "/v1/units",
                &landlord.admin_token,
                &unit_body(insee, postcode, "t2", 41000, "c", "available"),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{insee} {postcode}: {:?}",
            r.text().await
        );
    }
    // What the official table shows certainly wrong, named.
    for (insee, postcode, code) in [
        ("71076", "03100", "not_served_by_postcode"),
        ("71076", "71000", "not_served_by_postcode"),
        ("97801", "97133", "not_served_by_postcode"),
        ("03999", "71100", "not_in_postcode_department"),
    ] {
        let p = problem(
            app.post(
                "/v1/units",
                &landlord.admin_token,
                &unit_body(insee, postcode, "t2", 41000, "c", "available"),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(p["errors"][0]["field"], "insee_code", "{p}");
        assert_eq!(p["errors"][0]["code"], code, "{insee} {postcode}: {p}");
    }
}

#[actix_web::test]
async fn calendar_rules_use_the_french_legal_date() {
    // 23:30 UTC on 31 December 2027: 00:30 on 1 January 2028 in France.
    let app = spawn_app_at("2027-12-31T23:30:00Z").await;
    let ccapex = app.organisation("state_service").await;
    app.designate_commissions(ccapex.id, &["ccapex"]).await;
    let operator = app.organisation("association").await;
    let landlord = app.organisation("social_landlord").await;
    let h: Value = app
        .post(
            "/v1/households",
            &ccapex.admin_token,
            &household("Minuit", "Sylvestre", "1970-01-01"),
        )
        .await
        .json()
        .await
        .unwrap();
    let refer = |due: &str| {
        json!({"household_id": h["id"], "addressee_organisation_id": operator.id,
               "measure_kind": "avdl", "reason": "Expulsion annoncée", "response_due_on": due,
               "mandate": {"commission": "ccapex", "decision_reference": "CCAPEX-53-1", "decided_on": "2027-12-20"}})
    };
    // The last day of 2027 is over in France.
    let p = problem(
        app.post("/v1/referrals", &ccapex.admin_token, &refer("2027-12-31"))
            .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "response_due_on", "{p}");
    assert_eq!(p["errors"][0]["code"], "in_past");
    let r = app
        .post("/v1/referrals", &ccapex.admin_token, &refer("2028-01-01"))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let referral: Value = r.json().await.unwrap();
    assert_eq!(referral["overdue"], false);
    // A deadline of 31 December is overdue now; the flag and the filter agree.
    let mut conn = app.db().await;
    use diesel_async::RunQueryDsl;
    diesel::sql_query(format!(
        "UPDATE referrals SET response_due_on = '2027-12-31' WHERE id = '{}'",
        referral["id"].as_str().unwrap()
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let page: Value = app
        .get("/v1/referrals?overdue=true", &operator.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["overdue"], true);
    // A birth on 1 January 2028 has happened.
    let r = app
        .post(
            "/v1/households",
            &ccapex.admin_token,
            &household("Nouvelan", "Jeanne", "2028-01-01"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
    let p = problem(
        app.post(
            "/v1/households",
            &ccapex.admin_token,
            &household("Demain", "Jean", "2028-01-02"),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "head.birth_date");
    // Class F may no longer be let from 1 January 2028, and it is 1 January in France.
    let p = problem(
        app.post(
            "/v1/units",
            &landlord.admin_token,
            &unit_body("71076", "71100", "t2", 41000, "f", "available"),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "status", "{p}");
    // The jobs are handed the French date: an hour earlier it was still 2027 in France.
    assert_eq!(
        passerelle::calendar::date_at("2027-12-31T22:30:00Z".parse().unwrap()).to_string(),
        "2027-12-31"
    );
}

#[actix_web::test]
async fn an_hour_earlier_it_is_still_2027() {
    let app = spawn_app_at("2027-12-31T22:30:00Z").await;
    let landlord = app.organisation("social_landlord").await;
    let r = app
        .post(
            "/v1/units",
            &landlord.admin_token,
            &unit_body("71076", "71100", "t2", 41000, "f", "available"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
}

#[actix_web::test]
async fn head_works_wherever_get_does_and_schemes_ignore_case() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let token = org.admin_token.clone();
    let spec = serde_json::to_value(passerelle::openapi::document()).unwrap();
    let mut paths: Vec<String> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, item)| item.get("get").is_some())
        .map(|(p, _)| concrete(p))
        .collect();
    paths.extend(["/docs/".to_owned(), "/openapi.json".to_owned()]);
    assert!(paths.len() > 20);
    for path in &paths {
        let get = app.get(path, &token).await;
        let (status, headers) = (get.status(), get.headers().clone());
        let body = get.bytes().await.unwrap();
        let head = app
            .request(Method::HEAD, path, Some(&token))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), status, "HEAD {path}");
        for name in ["content-type", "etag", "allow"] {
            assert_eq!(
                head.headers().get(name),
                headers.get(name),
                "HEAD {path}: {name}"
            );
        }
        if let Some(length) = head.headers().get("content-length") {
            assert_eq!(
                length.to_str().unwrap(),
                body.len().to_string(),
                "HEAD {path}"
            );
        }
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path}: no content"
        );
    }
    // A household read by HEAD sends none of its special categories: no journal entry.
    let h: Value = app
        .post(
            "/v1/households",
            &token,
            &household("Tête", "Seule", "1985-02-02"),
        )
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/v1/households/{}", h["id"].as_str().unwrap());
    let journal = app.count("special_category_reads").await;
    let r = app
        .request(Method::HEAD, &path, Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["etag"], "\"1\"");
    assert_eq!(app.count("special_category_reads").await, journal);
    // 405 lists HEAD beside GET; HEAD where only POST is: 405.
    let r = app
        .request(Method::DELETE, "/v1/households", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["allow"], "GET, HEAD, POST");
    let r = app
        .request(Method::HEAD, "/v1/auth/token", None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["allow"], "POST");

    // Scheme names are case-insensitive (RFC 9110 §11.1), on the API and the token endpoint.
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = app
            .client
            .get(app.url("/v1/me"))
            .header("authorization", format!("{scheme}  {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{scheme}");
    }
    let system = app
        .system(&token, org.id, "coordinator", &["households:read"])
        .await;
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        system["client_id"].as_str().unwrap(),
        system["client_secret"].as_str().unwrap()
    ));
    for scheme in ["Basic", "basic", "BASIC"] {
        let r = app
            .client
            .post(app.url("/v1/auth/token"))
            .header("authorization", format!("{scheme} {basic}"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{scheme}");
    }
    // Media types and their parameters ignore case too.
    let r = app
        .request(Method::POST, "/v1/households", Some(&token))
        .header("content-type", "Application/JSON; Charset=UTF-8")
        .body(household("Casse", "Mixte", "1985-02-02").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[actix_web::test]
async fn every_sharing_path_needs_consent_or_a_commission_mandate() {
    use crate::housing::{created, id, ok};
    let w = crate::housing::world().await;
    let app = &w.app;
    let (a, b) = (&w.association, &w.other_association);
    let c = app.organisation("association").await;
    let unit = w.available_unit().await;
    let h = w.household("Consentement", true).await;
    let hid = id(&h);
    // Referred to B while the consent was in force.
    let referral = created(
        app.post(
            "/v1/referrals",
            &a.admin_token,
            &json!({"household_id": hid, "addressee_organisation_id": b.id,
                    "measure_kind": "avdl", "reason": "Accompagnement vers le logement"}),
        )
        .await,
    )
    .await;
    let current: Value = app
        .get(&format!("/v1/households/{hid}"), &a.admin_token)
        .await
        .json()
        .await
        .unwrap();
    ok(w.act(
        &a.admin_token,
        &format!("/v1/households/{hid}/consent/withdraw"),
        &current["version"],
        None,
    )
    .await)
    .await;

    // Then every path that would show it to another organisation is refused.
    let refused = |p: &Value, field: &str| {
        assert!(
            p["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field && e["code"] == "consent_required"),
            "{field}: {p}"
        )
    };
    // A referral to C.
    let p = problem(
        app.post(
            "/v1/referrals",
            &a.admin_token,
            &json!({"household_id": hid, "addressee_organisation_id": c.id,
                    "measure_kind": "avdl", "reason": "Autre opérateur"}),
        )
        .await,
        422,
    )
    .await;
    refused(&p, "household_id");
    // B transferring its referral to C.
    let p = problem(
        w.act(
            &b.admin_token,
            &format!("/v1/referrals/{}/transfer", id(&referral)),
            &referral["version"],
            Some(json!({"addressee_organisation_id": c.id})),
        )
        .await,
        422,
    )
    .await;
    refused(&p, "addressee_organisation_id");
    problem(
        app.get(&format!("/v1/households/{hid}"), &c.admin_token)
            .await,
        404,
    )
    .await;
    assert!(app
        .feed(&c.admin_token, 100)
        .await
        .iter()
        .all(|e| e["subject_id"] != hid.as_str()));
    // A proposal to the landlord.
    let p = problem(
        app.post(
            &format!("/v1/units/{}/proposals", id(&unit)),
            &a.admin_token,
            &json!({"household_id": hid}),
        )
        .await,
        422,
    )
    .await;
    refused(&p, "household_id");
    // A sub-lease (the landlord would see it).
    let p = problem(
        w.sublease(&unit, &h, "sliding_lease", "2026-12-01", "2027-11-30")
            .await,
        422,
    )
    .await;
    refused(&p, "household_id");
    problem(
        app.get(&format!("/v1/households/{hid}"), &w.landlord.admin_token)
            .await,
        404,
    )
    .await;

    // The one exception: a commission, under its mandate (a State service is none by its
    // kind alone).
    let ccapex = app.organisation("state_service").await;
    let sans: Value = created(
        app.post(
            "/v1/households",
            &ccapex.admin_token,
            &household("Mandat", "Commission", "1979-09-09"),
        )
        .await,
    )
    .await;
    assert!(sans["consent"].is_null());
    let saisine = json!({"household_id": sans["id"], "addressee_organisation_id": b.id,
                         "measure_kind": "avdl", "reason": "Saisine CCAPEX"});
    let p = problem(
        app.post("/v1/referrals", &ccapex.admin_token, &saisine)
            .await,
        422,
    )
    .await;
    refused(&p, "household_id");
    app.designate_commissions(ccapex.id, &["ccapex"]).await;
    let mut with_mandate = saisine.clone();
    with_mandate["mandate"] = json!({"commission": "ccapex", "decision_reference": "CCAPEX-53-77",
                                     "decided_on": "2026-11-18"});
    created(
        app.post("/v1/referrals", &ccapex.admin_token, &with_mandate)
            .await,
    )
    .await;
    // The referral stays the commission's when its operator hands it on: under its mandate.
    let received = app
        .list_all(&b.admin_token, "/v1/referrals?box=received", 50)
        .await;
    let from_ccapex = received
        .iter()
        .find(|r| r["household_id"] == sans["id"])
        .unwrap();
    let transferred = ok(w
        .act(
            &b.admin_token,
            &format!("/v1/referrals/{}/transfer", id(from_ccapex)),
            &from_ccapex["version"],
            Some(json!({"addressee_organisation_id": c.id})),
        )
        .await)
    .await;
    assert_eq!(transferred["status"], "transferred");
}

#[actix_web::test]
async fn a_replay_is_the_first_response_again_and_a_journalled_read() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let operator = app.organisation("association").await;
    let send = |key: &'static str, path: &str, body: &Value, if_match: Option<&str>| {
        let mut r = app
            .request(Method::POST, path, Some(&org.admin_token))
            .header("idempotency-key", key)
            .header("x-request-id", format!("req-{}", Uuid::now_v7().simple()))
            .json(body);
        if let Some(m) = if_match {
            r = r.header("if-match", m);
        }
        r.send()
    };
    let body = household("Rejoué", "Paul", "1982-08-08");
    let first = send("create-1", "/v1/households", &body, None)
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let (first_headers, first_body) = (first.headers().clone(), first.bytes().await.unwrap());
    let created: Value = serde_json::from_slice(&first_body).unwrap();
    assert_eq!(
        created["special_category_grounds"],
        json!(["domestic_violence_victim"])
    );
    let hid = created["id"].as_str().unwrap().to_owned();
    let journal = || async {
        app.list_all(
            &org.admin_token,
            &format!("/v1/households/{hid}/access-log"),
            50,
        )
        .await
    };
    let before = journal().await.len();

    let again = send("create-1", "/v1/households", &body, None)
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    for name in ["etag", "location", "content-type"] {
        assert_eq!(again.headers()[name], first_headers[name], "{name}");
    }
    let replay_id = again.headers()["x-request-id"].to_str().unwrap().to_owned();
    // The same bytes: every field (the special categories too), in the same order.
    assert_eq!(again.bytes().await.unwrap(), first_body);
    // Journalled as the read it is, under the replay's request id.
    let entries = journal().await;
    assert_eq!(entries.len(), before + 1);
    assert_eq!(entries.last().unwrap()["request_id"], replay_id.as_str());
    assert_eq!(entries.last().unwrap()["categories"], json!(["violence"]));

    // Kept sealed: neither the name nor the grounds lie in clear in the key's row.
    #[derive(diesel::QueryableByName)]
    struct Kept {
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        response_body: Vec<u8>,
    }
    let mut conn = app.db().await;
    use diesel_async::RunQueryDsl;
    let kept: Vec<Kept> = diesel::sql_query("SELECT response_body FROM idempotency_keys")
        .load(&mut conn)
        .await
        .unwrap();
    assert!(!kept.is_empty());
    for k in &kept {
        let text = String::from_utf8_lossy(&k.response_body);
        assert!(
            !text.contains("Rejou") && !text.contains("domestic_violence"),
            "{text}"
        );
    }

    // An action's replay too: a referral sent, then withdrawn twice with one key.
    let consent: Value = app
        .request(
            Method::POST,
            &format!("/v1/households/{hid}/consent"),
            Some(&org.admin_token),
        )
        .header("if-match", "\"1\"")
        .json(&json!({"given_on": "2026-11-02"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(consent["version"], 2);
    let referral: Value = send(
        "refer-1",
        "/v1/referrals",
        &json!({"household_id": hid, "addressee_organisation_id": operator.id,
                "measure_kind": "avdl", "reason": "Rejeu"}),
        None,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let path = format!(
        "/v1/referrals/{}/withdraw",
        referral["id"].as_str().unwrap()
    );
    let reason = json!({"reason": "Le ménage a trouvé une solution"});
    let first = send("withdraw-1", &path, &reason, Some("\"1\""))
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let first_body = first.bytes().await.unwrap();
    let body: Value = serde_json::from_slice(&first_body).unwrap();
    assert_eq!(
        body["special_category_grounds"],
        json!(["domestic_violence_victim"])
    );
    let again = send("withdraw-1", &path, &reason, Some("\"1\""))
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.bytes().await.unwrap(), first_body);
}

/// The operations of the served spec: (method, path, whether a bearer token is needed,
/// whether it reads a JSON body).
fn operations() -> Vec<(Method, String, bool, bool)> {
    let spec = serde_json::to_value(passerelle::openapi::document()).unwrap();
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            // `[{}]` is "no token needed".
            let secured = op["security"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
            });
            let body = op["requestBody"].is_object();
            out.push((
                method.to_uppercase().parse().unwrap(),
                path.clone(),
                secured,
                body,
            ));
        }
    }
    out
}

#[actix_web::test]
async fn bodies_and_queries_are_read_as_the_spec_says_and_no_further() {
    let app = spawn_app().await;
    // Every scope, so that what is checked after the scopes is reached.
    let admin = app.organisation("association").await.admin_token;
    let mut bodies = 0;
    let mut bodyless_actions = 0;
    let mut queried = 0;
    for (method, path, secured, has_body) in operations() {
        let url = concrete(&path);
        // An array where the spec says object is refused, never read field by field.
        // OAuth endpoints answer OAuth errors (RFC 6749 §5.2), tested in auth.rs and tools.rs.
        if has_body && !path.starts_with("/v1/auth/") {
            let r = app
                .request(method.clone(), &url, Some(&admin))
                .header("if-match", "\"1\"")
                .json(&json!(["a", "b", 1]))
                .send()
                .await
                .unwrap();
            let p = problem(r, 422).await;
            assert_eq!(p["errors"][0]["field"], "body", "{method} {path}: {p}");
            assert_eq!(
                p["errors"][0]["code"], "invalid_type",
                "{method} {path}: {p}"
            );
            bodies += 1;
        }
        // An action that reads no body refuses one, naming its fields; `{}` and nothing are
        // no body.
        if !has_body && method == Method::POST && !path.ends_with('}') && path.contains('{') {
            let r = app
                .request(method.clone(), &url, Some(&admin))
                .header("if-match", "\"1\"")
                .json(&json!({"comment": "ignored?"}))
                .send()
                .await
                .unwrap();
            let p = problem(r, 422).await;
            assert_eq!(p["errors"][0]["field"], "comment", "{method} {path}: {p}");
            assert_eq!(
                p["errors"][0]["code"], "unknown_field",
                "{method} {path}: {p}"
            );
            for empty in ["{}", ""] {
                let r = app
                    .request(method.clone(), &url, Some(&admin))
                    .header("if-match", "\"1\"")
                    .header("content-type", "application/json")
                    .body(empty)
                    .send()
                    .await
                    .unwrap();
                assert_ne!(
                    r.status(),
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{method} {path} {empty:?}"
                );
                assert_ne!(
                    r.status(),
                    StatusCode::BAD_REQUEST,
                    "{method} {path} {empty:?}"
                );
            }
            bodyless_actions += 1;
        }
        // A query parameter the operation does not document is refused on every method.
        if secured {
            let r = app
                .request(method.clone(), &format!("{url}?zz_unknown=1"), Some(&admin))
                .header("if-match", "\"1\"")
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let p = problem(r, 400).await;
            assert_eq!(
                p["errors"][0]["field"], "zz_unknown",
                "{method} {path}: {p}"
            );
            assert_eq!(
                p["errors"][0]["code"], "unknown_parameter",
                "{method} {path}: {p}"
            );
            queried += 1;
        }
    }
    assert!(bodies >= 20, "{bodies} bodies");
    assert!(
        bodyless_actions >= 8,
        "{bodyless_actions} actions without a body"
    );
    assert!(queried >= 50, "{queried} operations");

    // The token endpoint takes its parameters in the body only (RFC 6749 §3.2).
    let r = app
        .client
        .post(app.url("/v1/auth/token?grant_type=client_credentials"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");

    // A parameter sent twice is named as such.
    let p = problem(app.get("/v1/households?limit=1&limit=2", &admin).await, 400).await;
    assert_eq!(p["errors"][0]["field"], "limit", "{p}");
    assert_eq!(p["errors"][0]["code"], "duplicate_parameter", "{p}");
}

#[actix_web::test]
async fn rules_of_dates_and_kinds_come_with_the_type_errors() {
    let w = crate::housing::world().await;
    let app = &w.app;
    // A unit: a mistyped rent, a diagnosis in the future and a status the holder cannot
    // set, in one answer.
    let mut body = unit_body("71076", "71100", "t2", 41000, "c", "occupied");
    body["rent_cents"] = json!("cher");
    body["energy_assessed_on"] = json!("2999-01-01");
    let p = problem(
        app.post("/v1/units", &w.landlord.admin_token, &body).await,
        422,
    )
    .await;
    let codes = field_codes(&p);
    for expected in [
        ("rent_cents", "invalid_type"),
        ("energy_assessed_on", "in_future"),
        ("status", "not_settable"),
    ] {
        assert!(
            codes.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {codes:?}"
        );
    }
    assert_eq!(p["detail"], "3 fields are invalid");

    // A referral: a deadline in the past and a missing reason together.
    let h = w.household("Délai", true).await;
    let p = problem(
        app.post(
            "/v1/referrals",
            &w.association.admin_token,
            &json!({"household_id": h["id"], "addressee_organisation_id": w.other_association.id,
                    "measure_kind": "avdl", "response_due_on": "2000-01-01"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["reason", "response_due_on"], "{p}");

    // An account: every field its kind needs, and those it does not take, at once.
    let accounts = format!("/v1/organisations/{}/accounts", w.association.id);
    let token = &w.association.admin_token;
    let p = problem(app.post(&accounts, token, &json!({})).await, 422).await;
    for f in ["kind", "name", "role"] {
        assert!(fields(&p).contains(&f.to_owned()), "{f} in {p}");
    }
    let p = problem(
        app.post(&accounts, token, &json!({"kind": "person"})).await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["email", "name", "role"], "{p}");
    let p = problem(
        app.post(
            &accounts,
            token,
            &json!({"kind": "system", "name": "Logiciel", "role": "worker",
                                          "email": "x@org.example"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        [
            ("email".to_owned(), "not_allowed".to_owned()),
            ("scopes".to_owned(), "required".to_owned())
        ],
        "{p}"
    );
    let p = problem(
        app.post(
            &accounts,
            token,
            &json!({"kind": "person", "name": 3, "role": "boss",
                                          "email": "not-an-email", "scopes": []}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["email", "name", "role", "scopes"], "{p}");
    // The same email twice in one organisation names the account that has it.
    let (existing, _) = app.person(token, w.association.id, "worker").await;
    let email: Value = app
        .get(&format!("{accounts}/{existing}"), token)
        .await
        .json()
        .await
        .unwrap();
    let p = problem(
        app.post(
            &accounts,
            token,
            &json!({"kind": "person", "name": "Bis", "role": "worker",
                                          "email": email["email"]}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["existing_id"], existing.to_string(), "{p}");
    // In another organisation, the email is taken, and nothing says where.
    let other = format!("/v1/organisations/{}/accounts", w.other_association.id);
    let p = problem(
        app.post(
            &other,
            &w.other_association.admin_token,
            &json!({"kind": "person", "name": "Ter", "role": "worker", "email": email["email"]}),
        )
        .await,
        409,
    )
    .await;
    assert!(p.get("existing_id").is_none(), "{p}");

    // A SIRET of zeros passes the check digit and names no one.
    let platform = app.platform_token().await;
    let p = problem(
        app.post(
            "/v1/organisations",
            &platform,
            &json!({"kind": "association", "name": "Zéro", "siret": "00000000000000",
                         "department_code": "53", "contact_email": "zero@org.example"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "not_attributed", "{p}");
}

#[actix_web::test]
async fn a_head_is_merged_and_stays_unique_and_sets_ignore_order() {
    let w = crate::housing::world().await;
    let app = &w.app;
    let token = &w.association.admin_token;
    let a = w.household("Premier", true).await;
    let b = w.household("Second", true).await;
    let path_a = format!("/v1/households/{}", a["id"].as_str().unwrap());
    let path_b = format!("/v1/households/{}", b["id"].as_str().unwrap());

    // Only the last name changes; the rest of the head stays.
    let (status, changed) = patch(
        app,
        token,
        &path_a,
        &json!({"head": {"last_name": "Premier-Bis"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["head"]["last_name"], "Premier-Bis");
    assert_eq!(changed["head"]["first_names"], a["head"]["first_names"]);
    assert_eq!(changed["head"]["birth_date"], a["head"]["birth_date"]);
    let p = problem_of(
        patch(app, token, &path_a, &json!({"head": {"first_names": null}})).await,
        422,
    );
    assert_eq!(p["errors"][0]["field"], "head.first_names", "{p}");
    assert_eq!(p["errors"][0]["code"], "not_nullable", "{p}");

    // Renamed into another household's head: a duplicate, as on creation, naming it.
    let (status, p) = patch(
        app,
        token,
        &path_b,
        &json!({"head": {
        "last_name": "PREMIER BIS", "first_names": a["head"]["first_names"],
        "birth_date": a["head"]["birth_date"]}}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{p}");
    assert_eq!(p["existing_id"], a["id"], "{p}");

    // Two households renamed at once into one new head: one wins.
    let target = json!({"head": {"last_name": "Cible", "first_names": "Commune", "birth_date": "1977-07-07"}});
    let mut requests = Vec::new();
    for path in [&path_a, &path_b] {
        let etag = app.get(path, token).await.headers()["etag"]
            .to_str()
            .unwrap()
            .to_owned();
        requests.push(
            app.request(Method::PATCH, path, Some(token))
                .header("if-match", etag)
                .json(&target)
                .send(),
        );
    }
    let mut statuses: Vec<u16> = futures::future::join_all(requests)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    statuses.sort();
    assert_eq!(statuses, [200, 409]);

    // Grounds sent again in another order are no change: same version.
    let (_, before) = patch(
        app,
        token,
        &path_a,
        &json!({"priority_grounds": ["eviction_threat", "pdalpd"]}),
    )
    .await;
    let (status, after) = patch(
        app,
        token,
        &path_a,
        &json!({"priority_grounds": ["pdalpd", "eviction_threat"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["version"], before["version"], "{after}");

    // If-Match lists several tags: any of them may be the current one.
    let current = app.get(&path_a, token).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let r = app
        .request(Method::PATCH, &path_a, Some(token))
        .header("if-match", format!("\"999\", W/\"1\", {current}"))
        .json(&json!({"adults": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .request(Method::PATCH, &path_a, Some(token))
        .header("if-match", format!("\"999\", W/{current}"))
        .json(&json!({"adults": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);

    // A reference shown only to its owner: `null` for the owner when cleared, absent for
    // anyone else.
    let unit = w.unit(&w.landlord, "c", "available").await;
    let unit_path = format!("/v1/units/{}", unit["id"].as_str().unwrap());
    let (status, cleared) = patch(
        app,
        &w.landlord.admin_token,
        &unit_path,
        &json!({"holder_reference": null}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert!(
        cleared
            .as_object()
            .unwrap()
            .contains_key("holder_reference"),
        "{cleared}"
    );
    assert_eq!(cleared["holder_reference"], Value::Null);
    let (status, cleared) = patch(app, token, &path_a, &json!({"partner_reference": null})).await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert!(
        cleared
            .as_object()
            .unwrap()
            .contains_key("partner_reference"),
        "{cleared}"
    );
}

fn problem_of((status, body): (StatusCode, Value), expected: u16) -> Value {
    assert_eq!(status.as_u16(), expected, "{body}");
    body
}

#[actix_web::test]
async fn the_token_endpoint_takes_one_way_of_authenticating() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let system = app
        .system(&org.admin_token, org.id, "worker", &["events:read"])
        .await;
    let id = system["client_id"].as_str().unwrap();
    let secret = system["client_secret"].as_str().unwrap();
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let send = |form: Vec<(&'static str, String)>| {
        app.client
            .post(app.url("/v1/auth/token"))
            .header("authorization", format!("Basic {basic}"))
            .form(&form)
            .send()
    };
    // Basic alone, or with the same client_id in the body: a token.
    let r = send(vec![("grant_type", "client_credentials".into())])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = send(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", id.into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Basic and a secret in the body; Basic and another client named in the body.
    for form in [
        vec![
            ("grant_type", "client_credentials".into()),
            ("client_secret", secret.to_owned()),
        ],
        vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", "pcl_someone_else".into()),
        ],
    ] {
        let r = send(form).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    }
}
