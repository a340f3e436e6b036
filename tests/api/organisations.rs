//! Organisations: creation, the directory, validation, concurrency.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

fn valid() -> Value {
    json!({"kind": "social_landlord", "name": "Office public de l'habitat du Bocage",
           "siret": siret(), "department_code": "2A", "contact_email": "contact@oph-bocage.example"})
}

#[actix_web::test]
async fn a_platform_admin_creates_an_organisation_and_everyone_sees_the_directory() {
    let app = spawn_app().await;
    let platform = app.platform_token().await;
    let body = valid();
    let r = app.post("/v1/organisations", &platform, &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["etag"], "\"1\"");
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let org: Value = r.json().await.unwrap();
    assert_eq!(
        location,
        format!("/v1/organisations/{}", org["id"].as_str().unwrap())
    );
    assert_eq!(org["kind"], "social_landlord");
    assert_eq!(org["department_code"], "2A");
    assert_eq!(org["version"], 1);
    for f in [
        "id",
        "created_at",
        "updated_at",
        "siret",
        "name",
        "contact_email",
    ] {
        assert!(org.get(f).is_some(), "{f}");
    }
    // Same SIRET again: 409 naming the existing one.
    let again = problem(app.post("/v1/organisations", &platform, &body).await, 409).await;
    assert_eq!(again["existing_id"], org["id"]);

    // Another partner reads it and finds it in the directory, filtered by kind.
    let other = app.organisation("association").await;
    let r = app.get(&location, &other.admin_token).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page: Value = app
        .get("/v1/organisations?kind=social_landlord", &other.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], org["id"]);
    assert!(page["next_cursor"].is_null());
    problem(
        app.get("/v1/organisations?kind=castle", &other.admin_token)
            .await,
        400,
    )
    .await;
    problem(
        app.get(
            &format!("/v1/organisations/{}", uuid::Uuid::now_v7()),
            &other.admin_token,
        )
        .await,
        404,
    )
    .await;
}

#[actix_web::test]
async fn each_field_rule_is_reported_by_name_and_nothing_is_written() {
    let app = spawn_app().await;
    let platform = app.platform_token().await;
    let before = app.count("organisations").await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("siret", json!(bad_siret()), "check_digit"),
        ("siret", json!("1234"), "format"),
        ("siret", json!("1234567890123A"), "format"),
        ("department_code", json!("20"), "department_code"),
        ("department_code", json!("96"), "department_code"),
        ("department_code", json!("979"), "department_code"),
        ("department_code", json!("2C"), "department_code"),
        ("contact_email", json!("not-an-email"), "email"),
        (
            "contact_email",
            json!(format!("{}@example.org", "a".repeat(250))),
            "length",
        ),
        ("name", json!(""), "length"),
        ("name", json!("   "), "blank"),
        ("name", json!("x".repeat(201)), "length"),
    ];
    for (field, value, code) in cases {
        let mut body = valid();
        body[field] = value.clone();
        let p = problem(app.post("/v1/organisations", &platform, &body).await, 422).await;
        assert_eq!(fields(&p), vec![field.to_string()], "{field} = {value}");
        let codes: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["code"].as_str().unwrap())
            .collect();
        assert!(codes.contains(&code), "{field} = {value}: {codes:?}");
    }
    // Several bad fields: all reported at once.
    let p = problem(
        app.post(
            "/v1/organisations",
            &platform,
            &json!({"kind": "department", "name": "", "siret": bad_siret(), "department_code": "00", "contact_email": "x"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        fields(&p),
        vec!["contact_email", "department_code", "name", "siret"]
    );
    assert_eq!(p["detail"], "4 fields are invalid");
    // Types and shape: the field is named.
    let mut body = valid();
    body["kind"] = json!("castle");
    assert_eq!(
        fields(&problem(app.post("/v1/organisations", &platform, &body).await, 422).await),
        vec!["kind"]
    );
    let mut body = valid();
    body.as_object_mut().unwrap().remove("siret");
    let p = problem(app.post("/v1/organisations", &platform, &body).await, 422).await;
    assert_eq!(fields(&p), vec!["siret"]);
    assert_eq!(p["errors"][0]["code"], "required");
    let mut body = valid();
    body["surprise"] = json!(1);
    assert_eq!(
        fields(&problem(app.post("/v1/organisations", &platform, &body).await, 422).await),
        vec!["surprise"]
    );
    let mut body = valid();
    body["name"] = json!(42);
    assert_eq!(
        fields(&problem(app.post("/v1/organisations", &platform, &body).await, 422).await),
        vec!["name"]
    );
    assert_eq!(app.count("organisations").await, before, "nothing written");
    assert_eq!(
        app.count("events").await,
        0,
        "no event for a refused request"
    );
}

#[actix_web::test]
async fn updates_require_if_match_and_refuse_stale_versions() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let path = format!("/v1/organisations/{}", org.id);
    let patch = |if_match: Option<&str>, body: Value| {
        let mut r = app
            .request(Method::PATCH, &path, Some(&org.admin_token))
            .json(&body);
        if let Some(m) = if_match {
            r = r.header("if-match", m);
        }
        r.send()
    };
    problem(
        patch(None, json!({"name": "Nouveau nom"})).await.unwrap(),
        428,
    )
    .await;
    let r = patch(Some("\"1\""), json!({"name": "Nouveau nom"}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["etag"], "\"2\"");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["name"], "Nouveau nom");
    assert_eq!(body["version"], 2);
    let stale = problem(
        patch(Some("\"1\""), json!({"name": "Encore"}))
            .await
            .unwrap(),
        412,
    )
    .await;
    assert_eq!(stale["current_version"], 2);
    problem(
        patch(Some("W/\"2\""), json!({"name": "Encore"}))
            .await
            .unwrap(),
        412,
    )
    .await;
    // Validation still names the field, and nothing changes.
    let p = problem(
        patch(Some("\"2\""), json!({"department_code": "99"}))
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["department_code"]);
    let now: Value = app.get(&path, &org.admin_token).await.json().await.unwrap();
    assert_eq!(now["version"], 2);
    assert_eq!(now["name"], "Nouveau nom");
    // Two writers with the same version: exactly one wins.
    let (a, b) = futures::join!(
        patch(Some("\"2\""), json!({"name": "A"})),
        patch(Some("\"2\""), json!({"name": "B"}))
    );
    let mut statuses = vec![a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 412]);
    // `*` (RFC 9110: any current representation) changes whatever version is current.
    let r = patch(Some("*"), json!({"name": "Par étoile"}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["etag"], "\"4\"");
}
