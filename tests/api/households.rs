//! Households: creation, duplicates, validation, who sees what, the read journal.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

pub fn household(last: &str, first: &str, birth: &str) -> Value {
    json!({
        "partner_reference": "DOS-1",
        "head": {"last_name": last, "first_names": first, "birth_date": birth},
        "members": [{"relation": "child", "birth_year": 2015}],
        "household_type": "single_parent_family", "adults": 1, "children": 1,
        "monthly_resources_cents": 118000, "resource_kinds": ["rsa"],
        "housing_situation": "ordinary_housing_under_threat",
        "priority_grounds": ["eviction_threat"],
        "special_category_grounds": ["domestic_violence_victim"]
    })
}

#[actix_web::test]
async fn create_read_update_and_duplicates() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let (_, worker) = app.person(&org.admin_token, org.id, "worker").await;
    let r = app
        .post(
            "/v1/households",
            &worker,
            &household("Lefèvre", "Éloïse Marie", "1990-04-12"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
    assert_eq!(r.headers()["etag"], "\"1\"");
    let h: Value = r.json().await.unwrap();
    assert_eq!(h["head"]["last_name"], "Lefèvre");
    assert_eq!(
        h["special_category_grounds"],
        json!(["domestic_violence_victim"])
    );
    assert_eq!(h["partner_reference"], "DOS-1");
    assert!(h["consent"].is_null());
    let id = h["id"].as_str().unwrap().to_owned();

    // Same person written otherwise: 409 naming the existing household.
    let p = problem(
        app.post(
            "/v1/households",
            &worker,
            &household(" LEFEVRE", "eloise-marie", "1990-04-12"),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["existing_id"], id.as_str());
    // Another organisation does not see it, so it is no duplicate there.
    let other = app.organisation("association").await;
    let r = app
        .post(
            "/v1/households",
            &other.admin_token,
            &household("Lefevre", "Eloise Marie", "1990-04-12"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    problem(
        app.get(&format!("/v1/households/{id}"), &other.admin_token)
            .await,
        404,
    )
    .await;

    // Update with If-Match.
    let path = format!("/v1/households/{id}");
    let r = app
        .request(Method::PATCH, &path, Some(&worker))
        .json(&json!({"housing_situation": "emergency_shelter"}))
        .send()
        .await
        .unwrap();
    problem(r, 428).await;
    let r = app
        .request(Method::PATCH, &path, Some(&worker))
        .header("if-match", "\"1\"")
        .json(&json!({"housing_situation": "emergency_shelter", "monthly_resources_cents": 95000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h: Value = r.json().await.unwrap();
    assert_eq!(h["version"], 2);
    assert_eq!(h["housing_situation"], "emergency_shelter");
    assert_eq!(h["monthly_resources_cents"], 95000);

    // List with filters.
    let page: Value = app
        .get("/v1/households?name=lefev", &worker)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let page: Value = app
        .get("/v1/households?birth_date=1990-04-13", &worker)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    let page: Value = app
        .get("/v1/households?updated_since=2000-01-01T00:00:00Z", &worker)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    // Viewers read, never write; platform admins never see cases.
    let (_, viewer) = app.person(&org.admin_token, org.id, "viewer").await;
    assert_eq!(app.get(&path, &viewer).await.status(), StatusCode::OK);
    problem(
        app.post(
            "/v1/households",
            &viewer,
            &household("Autre", "Personne", "1980-01-01"),
        )
        .await,
        403,
    )
    .await;
    let platform = app.platform_token().await;
    problem(app.get(&path, &platform).await, 403).await;
}

#[actix_web::test]
async fn each_field_rule_is_reported_and_nothing_is_written() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "head.birth_date",
            json!({"head": {"last_name": "A", "first_names": "B", "birth_date": "2999-01-01"}}),
            "in_future",
        ),
        (
            "head.last_name",
            json!({"head": {"last_name": " ", "first_names": "B", "birth_date": "1990-01-01"}}),
            "blank",
        ),
        ("adults", json!({"adults": 0}), "range"),
        ("children", json!({"children": -1}), "range"),
        (
            "monthly_resources_cents",
            json!({"monthly_resources_cents": -5}),
            "range",
        ),
        (
            "members[0].birth_year",
            json!({"members": [{"relation": "child", "birth_year": 1800}]}),
            "range",
        ),
        (
            "housing_situation",
            json!({"housing_situation": "castle"}),
            "unknown_value",
        ),
        (
            "special_category_grounds[0]",
            json!({"special_category_grounds": ["gossip"]}),
            "unknown_value",
        ),
    ];
    let before = app.count("households").await;
    for (field, change, code) in cases {
        let mut body = household("Durand", "Paul", "1985-06-01");
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let p = problem(
            app.post("/v1/households", &org.admin_token, &body).await,
            422,
        )
        .await;
        assert_eq!(fields(&p), vec![field.to_string()], "{field}: {p}");
        assert_eq!(p["errors"][0]["code"], code, "{field}");
    }
    // Several at once.
    let mut body = household("Durand", "Paul", "2999-01-01");
    body["adults"] = json!(0);
    body["monthly_resources_cents"] = json!(-1);
    let p = problem(
        app.post("/v1/households", &org.admin_token, &body).await,
        422,
    )
    .await;
    assert_eq!(
        fields(&p),
        vec!["adults", "head.birth_date", "monthly_resources_cents"]
    );
    assert_eq!(app.count("households").await, before);
}

#[actix_web::test]
async fn consent_is_recorded_and_withdrawn() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let h: Value = app
        .post(
            "/v1/households",
            &org.admin_token,
            &household("Martin", "Léa", "1995-02-03"),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = h["id"].as_str().unwrap();
    let r = app
        .request(
            Method::POST,
            &format!("/v1/households/{id}/consent"),
            Some(&org.admin_token),
        )
        .header("if-match", "\"1\"")
        .json(&json!({"given_on": "2999-01-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fields(&problem(r, 422).await), vec!["given_on"]);
    let r = app
        .request(
            Method::POST,
            &format!("/v1/households/{id}/consent"),
            Some(&org.admin_token),
        )
        .header("if-match", "\"1\"")
        .json(&json!({"given_on": "2026-11-02", "scope": "prévention des expulsions"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h: Value = r.json().await.unwrap();
    assert_eq!(h["consent"]["given_on"], "2026-11-02");
    assert!(h["consent"]["withdrawn_at"].is_null());
    let r = app
        .request(
            Method::POST,
            &format!("/v1/households/{id}/consent/withdraw"),
            Some(&org.admin_token),
        )
        .header("if-match", "\"2\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h: Value = r.json().await.unwrap();
    assert!(h["consent"]["withdrawn_at"].is_string());
    let r = app
        .request(
            Method::POST,
            &format!("/v1/households/{id}/consent/withdraw"),
            Some(&org.admin_token),
        )
        .header("if-match", "\"3\"")
        .send()
        .await
        .unwrap();
    problem(r, 409).await;
}

#[actix_web::test]
async fn every_special_category_read_is_journalled() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let (_, worker) = app.person(&org.admin_token, org.id, "worker").await;
    let before = app.count("special_category_reads").await;
    let h: Value = app
        .post(
            "/v1/households",
            &worker,
            &household("Petit", "Jean", "1970-07-07"),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = h["id"].as_str().unwrap();
    // One without special grounds: no journal entry for it.
    let mut plain = household("Grand", "Jacques", "1971-07-07");
    plain["special_category_grounds"] = json!([]);
    app.post("/v1/households", &worker, &plain).await;
    app.get(&format!("/v1/households/{id}"), &worker).await;
    app.get("/v1/households", &worker).await;
    // create + get + list (one household with special grounds in the page) = 3 reads.
    assert_eq!(app.count("special_category_reads").await, before + 3);
    // The creating organisation's admin reads the journal; a worker may not.
    problem(
        app.get(&format!("/v1/households/{id}/access-log"), &worker)
            .await,
        403,
    )
    .await;
    let r = app
        .get(&format!("/v1/households/{id}/access-log"), &org.admin_token)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let log: Value = r.json().await.unwrap();
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    for e in items {
        assert_eq!(e["categories"], json!(["violence"]));
        assert_eq!(e["organisation_id"], org.id.to_string());
        assert!(!e["request_id"].as_str().unwrap().is_empty());
    }
}

#[actix_web::test]
async fn a_page_journals_the_households_it_returns_and_no_other() {
    let app = spawn_app().await;
    let org = app.organisation("association").await;
    let mut first = household("Aubert", "Lina", "1980-01-01");
    first["special_category_grounds"] = json!(["domestic_violence_victim", "psychiatric_disorder"]);
    let first: Value = app
        .post("/v1/households", &org.admin_token, &first)
        .await
        .json()
        .await
        .unwrap();
    app.post(
        "/v1/households",
        &org.admin_token,
        &household("Bernard", "Noé", "1981-01-01"),
    )
    .await;
    let before = app.count("special_category_reads").await;
    // A page of one reads one row more (to know that another page follows): that row is
    // not returned, so it is not journalled.
    let page: Value = app
        .get("/v1/households?limit=1", &org.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next_cursor"].is_string(), "{page}");
    assert_eq!(app.count("special_category_reads").await, before + 1);
    let shown = page["items"][0]["id"].as_str().unwrap();
    assert_eq!(shown, first["id"].as_str().unwrap());
    // The entry names both categories, once each and sorted; entries keep the reads' order.
    let log: Value = app
        .get(
            &format!("/v1/households/{shown}/access-log"),
            &org.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the creation and the page: {log}");
    assert_eq!(items[1]["categories"], json!(["health", "violence"]));
    // Listed by id, the entries are in the order of the reads (ids made by PostgreSQL for
    // the page's entry, by the service for the creation's: both time-ordered).
    let at = |i: usize| {
        chrono::DateTime::parse_from_rfc3339(items[i]["read_at"].as_str().unwrap()).unwrap()
    };
    assert!(at(0) <= at(1), "{log}");
}
