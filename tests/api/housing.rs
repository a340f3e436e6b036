//! Units, agreements, proposals and sub-leases: state tables over HTTP, the agreement quota,
//! the energy-class rule, overlapping sub-leases (also racing), isolation, field rules.

use diesel_async::RunQueryDsl;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::*;
use crate::households::household;

/// Two landlords and two associations; the first pair has an active agreement.
pub struct World {
    pub app: TestApp,
    pub landlord: Org,
    pub other_landlord: Org,
    pub association: Org,
    pub other_association: Org,
}

pub async fn world() -> World {
    let app = spawn_app().await;
    let landlord = app.organisation("social_landlord").await;
    let other_landlord = app.organisation("social_landlord").await;
    let association = app.organisation("association").await;
    let other_association = app.organisation("association").await;
    World {
        app,
        landlord,
        other_landlord,
        association,
        other_association,
    }
}

pub fn unit_body(
    insee: &str,
    postcode: &str,
    unit_type: &str,
    rent: i64,
    energy: &str,
    status: &str,
) -> Value {
    json!({
        "owner_kind": "social_landlord", "holder_reference": "LOT-1",
        "address_lines": ["12 rue des Tilleuls"], "postcode": postcode, "commune": "Commune test",
        "insee_code": insee, "unit_type": unit_type, "area_m2": 48.5, "floor": 2, "lift": false,
        "accessible": true, "rent_cents": rent, "charges_cents": 6000, "financing": "plai",
        "energy_class": energy, "energy_assessed_on": "2024-03-01", "status": status
    })
}

/// A unit (`unit`: its body) of `landlord`, attached to a new agreement (`agreement`: its
/// kind, units covered and start) that `association` accepted.
pub async fn unit_under_agreement(
    app: &TestApp,
    landlord: &Org,
    association: &Org,
    unit: Value,
    agreement: Value,
) -> Value {
    let unit = created(app.post("/v1/units", &landlord.admin_token, &unit).await).await;
    let mut body = agreement;
    body["association_organisation_id"] = json!(association.id);
    let agreement = created(
        app.post("/v1/agreements", &landlord.admin_token, &body)
            .await,
    )
    .await;
    let agreement = ok(app
        .request(
            Method::POST,
            &format!("/v1/agreements/{}/accept", id(&agreement)),
            Some(&association.admin_token),
        )
        .header("if-match", format!("\"{}\"", agreement["version"]))
        .send()
        .await
        .unwrap())
    .await;
    ok(app
        .post(
            &format!("/v1/agreements/{}/units", id(&agreement)),
            &landlord.admin_token,
            &json!({"unit_ids": [id(&unit)]}),
        )
        .await)
    .await;
    unit
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

pub async fn created(r: Response) -> Value {
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    serde_json::from_str(&body).unwrap()
}

pub async fn ok(r: Response) -> Value {
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

impl World {
    pub async fn unit(&self, owner: &Org, energy: &str, status: &str) -> Value {
        created(
            self.app
                .post(
                    "/v1/units",
                    &owner.admin_token,
                    &unit_body("71076", "71100", "t2", 41000, energy, status),
                )
                .await,
        )
        .await
    }

    /// A POST with If-Match on a versioned resource.
    pub async fn act(
        &self,
        token: &str,
        path: &str,
        version: &Value,
        body: Option<Value>,
    ) -> Response {
        let mut r = self
            .app
            .request(Method::POST, path, Some(token))
            .header("if-match", format!("\"{version}\""));
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.unwrap()
    }

    pub async fn agreement(&self, covered: i32, kind: &str) -> Value {
        self.propose_agreement(json!({"kind": kind, "units_covered": covered,
                                      "starts_on": "2024-06-01", "programme_label": "Logement d'abord"}))
            .await
    }

    /// The landlord proposes an agreement to the association (`body` without the association).
    pub async fn propose_agreement(&self, mut body: Value) -> Value {
        body["association_organisation_id"] = json!(self.association.id);
        created(
            self.app
                .post("/v1/agreements", &self.landlord.admin_token, &body)
                .await,
        )
        .await
    }

    /// The association accepts a proposed agreement.
    pub async fn accept_agreement(&self, a: &Value) -> Value {
        let path = format!("/v1/agreements/{}/accept", id(a));
        ok(self
            .act(&self.association.admin_token, &path, &a["version"], None)
            .await)
        .await
    }

    pub async fn active_agreement(&self, covered: i32) -> Value {
        let a = self.agreement(covered, "sliding_lease").await;
        self.accept_agreement(&a).await
    }

    pub async fn attach(&self, agreement: &Value, units: &[&Value]) -> Response {
        let ids: Vec<String> = units.iter().map(|u| id(u)).collect();
        self.app
            .post(
                &format!("/v1/agreements/{}/units", id(agreement)),
                &self.landlord.admin_token,
                &json!({"unit_ids": ids}),
            )
            .await
    }

    /// A household the association created, with consent in force (or not).
    pub async fn household(&self, last: &str, consent: bool) -> Value {
        let body = household(last, "Alice", "1990-04-12");
        let token = &self.association.admin_token;
        if consent {
            household_with_consent(&self.app, token, &body, "2026-11-02").await
        } else {
            created(self.app.post("/v1/households", token, &body).await).await
        }
    }

    /// A unit attached to an active agreement with the association.
    pub async fn available_unit(&self) -> Value {
        let unit = self.unit(&self.landlord, "d", "available").await;
        let agreement = self.active_agreement(1).await;
        ok(self.attach(&agreement, &[&unit]).await).await;
        unit
    }

    pub async fn sublease(
        &self,
        unit: &Value,
        household: &Value,
        kind: &str,
        starts: &str,
        ends: &str,
    ) -> Response {
        self.app
            .post(
                "/v1/subleases",
                &self.association.admin_token,
                &json!({"unit_id": id(unit), "household_id": id(household), "kind": kind,
                        "starts_on": starts, "planned_end_on": ends, "rent_cents": 41000,
                        "charges_cents": 6000, "housing_benefit_cents": 32000, "deposit_cents": 0}),
            )
            .await
    }

    /// `PATCH /v1/units/{id}` with `If-Match: "<version>"`.
    pub async fn patch_unit(
        &self,
        token: &str,
        unit: &Value,
        version: impl std::fmt::Display,
        body: Value,
    ) -> Response {
        self.app
            .request(
                Method::PATCH,
                &format!("/v1/units/{}", id(unit)),
                Some(token),
            )
            .header("if-match", format!("\"{version}\""))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, token: &str, path: &str) -> Value {
        ok(self.app.get(path, token).await).await
    }

    /// The organisation's event types, once every one of `types` is among them.
    pub async fn events_with(&self, org: &Org, types: &[&str]) -> Vec<String> {
        self.app.feed_types_with(&org.admin_token, types).await
    }
}

#[actix_web::test]
async fn units_are_registered_searched_and_changed() {
    let w = world().await;
    let app = &w.app;
    let r = app
        .post(
            "/v1/units",
            &w.landlord.admin_token,
            &unit_body("71076", "71100", "t2", 41000, "d", "available"),
        )
        .await;
    assert_eq!(r.headers()["etag"], "\"1\"");
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let unit = created(r).await;
    assert_eq!(location, format!("/v1/units/{}", id(&unit)));
    assert_eq!(unit["status"], "available");
    assert_eq!(unit["holder_reference"], "LOT-1");
    assert_eq!(unit["address_lines"], json!(["12 rue des Tilleuls"]));

    // Every field rule is a 422 naming its field; nothing is stored.
    let before = app.count("units").await;
    let mut bad = unit_body("03190", "71100", "t2", -1, "d", "reserved");
    bad["address_lines"] = json!([]);
    bad["area_m2"] = json!(0);
    bad["floor"] = json!(101);
    bad["charges_cents"] = json!(-5);
    bad["energy_assessed_on"] = json!("2999-01-01");
    bad["commune"] = json!("");
    let p = problem(
        app.post("/v1/units", &w.landlord.admin_token, &bad).await,
        422,
    )
    .await;
    assert_eq!(
        fields(&p),
        vec![
            "address_lines",
            "area_m2",
            "charges_cents",
            "commune",
            "energy_assessed_on",
            "floor",
            "insee_code",
            "rent_cents",
            "status"
        ]
    );
    for (field, value) in [
        ("postcode", json!("7110")),
        ("insee_code", json!("2C123")),
        ("unit_type", json!("t7")),
        ("financing", json!("hlm")),
    ] {
        let mut b = unit_body("71076", "71100", "t2", 41000, "d", "available");
        b[field] = value;
        let p = problem(
            app.post("/v1/units", &w.landlord.admin_token, &b).await,
            422,
        )
        .await;
        assert_eq!(fields(&p), vec![field.to_string()], "{field}");
    }
    let mut b = unit_body("71076", "71100", "t2", 41000, "d", "available");
    b["surface"] = json!(12);
    assert_eq!(
        fields(
            &problem(
                app.post("/v1/units", &w.landlord.admin_token, &b).await,
                422
            )
            .await
        ),
        vec!["surface"]
    );
    // Corsica and overseas: the INSEE code's département is the postcode's.
    created(
        app.post(
            "/v1/units",
            &w.landlord.admin_token,
            &unit_body("2A004", "20000", "t1", 30000, "c", "available"),
        )
        .await,
    )
    .await;
    created(
        app.post(
            "/v1/units",
            &w.landlord.admin_token,
            &unit_body("97411", "97400", "t3", 50000, "c", "available"),
        )
        .await,
    )
    .await;
    let p = problem(
        app.post(
            "/v1/units",
            &w.landlord.admin_token,
            &unit_body("2A004", "21000", "t1", 1, "c", "available"),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["insee_code"]);
    // A landlord registers social units, an association a private owner's; a department none.
    let p = problem(
        app.post(
            "/v1/units",
            &w.association.admin_token,
            &unit_body("71076", "71100", "t2", 1, "d", "available"),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["owner_kind"]);
    let mut private = unit_body("71076", "71100", "room", 25000, "d", "available");
    private["owner_kind"] = json!("private_owner");
    let managed = created(
        app.post("/v1/units", &w.association.admin_token, &private)
            .await,
    )
    .await;
    assert_eq!(
        managed["holder_organisation_id"],
        w.association.id.to_string()
    );
    let department = app.organisation("department").await;
    problem(
        app.post("/v1/units", &department.admin_token, &private)
            .await,
        403,
    )
    .await;
    assert_eq!(app.count("units").await, before + 3);

    // The energy rule: a G unit is not `available` (since 2025-01-01); the refusal names the rule.
    let p = problem(
        app.post(
            "/v1/units",
            &w.landlord.admin_token,
            &unit_body("71076", "71100", "t2", 1, "g", "available"),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "status");
    assert_eq!(p["errors"][0]["code"], "energy_class_banned");
    assert!(p["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("2025-01-01"));
    let g = w.unit(&w.landlord, "g", "unavailable").await;
    let path = format!("/v1/units/{}", id(&g));
    let patch = |body: Value, version: Option<&str>| {
        let mut r = app
            .request(Method::PATCH, &path, Some(&w.landlord.admin_token))
            .json(&body);
        if let Some(v) = version {
            r = r.header("if-match", v);
        }
        r.send()
    };
    problem(
        patch(json!({"status": "available"}), None).await.unwrap(),
        428,
    )
    .await;
    problem(
        patch(json!({"status": "available"}), Some("\"7\""))
            .await
            .unwrap(),
        412,
    )
    .await;
    let p = problem(
        patch(json!({"status": "available"}), Some("\"1\""))
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["status"]);
    // Renovated to C, it may be offered.
    let r = patch(json!({"status": "available", "energy_class": "c", "energy_assessed_on": "2026-10-01", "rent_cents": 39000}), Some("\"1\"")).await.unwrap();
    assert_eq!(r.headers()["etag"], "\"2\"");
    let g = ok(r).await;
    assert_eq!(
        (
            g["status"].as_str(),
            g["energy_class"].as_str(),
            g["rent_cents"].as_i64()
        ),
        (Some("available"), Some("c"), Some(39000))
    );
    let p = problem(
        patch(json!({"status": "occupied"}), Some("\"2\""))
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["status"]);

    // Search: commune, type, rent plus charges, area, accessibility, status; cursor pages.
    w.unit(&w.landlord, "d", "unavailable").await;
    created(
        app.post(
            "/v1/units",
            &w.landlord.admin_token,
            &unit_body("71076", "71100", "t4", 90000, "b", "available"),
        )
        .await,
    )
    .await;
    let search = async |q: &str| {
        w.get(&w.landlord.admin_token, &format!("/v1/units?{q}"))
            .await
    };
    let ids = |page: &Value| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(id)
            .collect::<Vec<_>>()
    };
    let all = search("insee_code=71076").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 4);
    assert!(all["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["insee_code"] == "71076"));
    let t2_cheap =
        search("insee_code=71076&unit_type=t2&max_total_rent_cents=47000&status=available").await;
    assert_eq!(ids(&t2_cheap), vec![id(&unit), id(&g)]);
    let t2_cheaper =
        search("insee_code=71076&unit_type=t2&max_total_rent_cents=46000&status=available").await;
    assert_eq!(ids(&t2_cheaper), vec![id(&g)]);
    assert_eq!(ids(&search("postcode=97400").await).len(), 1);
    assert_eq!(ids(&search("min_area_m2=49").await).len(), 0);
    assert_eq!(
        ids(&search("accessible=true&status=unavailable").await).len(),
        1
    );
    let first = search("insee_code=71076&limit=3").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let next = search(&format!(
        "insee_code=71076&limit=3&cursor={}",
        first["next_cursor"].as_str().unwrap()
    ))
    .await;
    assert_eq!(next["items"].as_array().unwrap().len(), 1);
    assert!(next["next_cursor"].is_null());
    let p = problem(
        app.get("/v1/units?insee_code=7107", &w.landlord.admin_token)
            .await,
        400,
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "insee_code");
    // A parameter that does not parse is named.
    for (query, field) in [
        ("max_total_rent_cents=abc", "max_total_rent_cents"),
        ("unit_type=t9", "unit_type"),
        ("accessible=oui", "accessible"),
        ("limit=0", "limit"),
    ] {
        let p = problem(
            app.get(&format!("/v1/units?{query}"), &w.landlord.admin_token)
                .await,
            400,
        )
        .await;
        assert_eq!(p["errors"][0]["field"], field, "{query}");
    }
    // Another landlord sees none of them.
    let theirs = w.get(&w.other_landlord.admin_token, "/v1/units").await;
    assert_eq!(theirs["items"], json!([]));
    problem(app.get(&path, &w.other_landlord.admin_token).await, 404).await;
    w.events_with(&w.landlord, &["unit.created"]).await;
}

#[actix_web::test]
async fn a_list_shows_each_unit_seen_once_whichever_way_it_is_seen() {
    let w = world().await;
    let app = &w.app;
    // The association holds one unit (a private owner's), sees three through an agreement,
    // and sub-lets one of those: that one is seen two ways.
    let mut private = unit_body("71076", "71100", "room", 25000, "d", "available");
    private["owner_kind"] = json!("private_owner");
    let held = created(
        app.post("/v1/units", &w.association.admin_token, &private)
            .await,
    )
    .await;
    let agreement = w.active_agreement(3).await;
    let mut attached = Vec::new();
    for _ in 0..3 {
        attached.push(w.unit(&w.landlord, "d", "available").await);
    }
    ok(w.attach(&agreement, &attached.iter().collect::<Vec<_>>())
        .await)
    .await;
    // Units nobody shares with the association are not listed.
    w.unit(&w.landlord, "d", "available").await;
    w.unit(&w.other_landlord, "d", "available").await;
    let household = w.household("Liste", true).await;
    created(
        w.sublease(&attached[0], &household, "iml", "2027-01-01", "2028-01-01")
            .await,
    )
    .await;
    let all_pages = async |query: &str| -> Vec<String> {
        app.list_all(&w.association.admin_token, &format!("/v1/units{query}"), 2)
            .await
            .iter()
            .map(id)
            .collect()
    };
    let mut expected: Vec<String> = std::iter::once(&held).chain(&attached).map(id).collect();
    expected.sort();
    assert_eq!(all_pages("").await, expected);
    // With a filter, each way is filtered alike.
    let reserved = all_pages("?status=reserved").await;
    assert_eq!(reserved, vec![id(&attached[0])]);
    // The agreement ends: the sub-let unit stays, the others go.
    ok(w.act(
        &w.landlord.admin_token,
        &format!("/v1/agreements/{}/terminate", id(&agreement)),
        &agreement["version"],
        Some(json!({})),
    )
    .await)
    .await;
    let mut expected = vec![id(&held), id(&attached[0])];
    expected.sort();
    assert_eq!(all_pages("").await, expected);
}

#[actix_web::test]
async fn agreements_state_table_and_quota() {
    let w = world().await;
    let app = &w.app;
    let a = w.agreement(2, "intermediated_rental").await;
    assert_eq!(
        (
            a["status"].as_str(),
            a["units_covered"].as_i64(),
            a["units_attached"].as_i64()
        ),
        (Some("proposed"), Some(2), Some(0))
    );
    assert_eq!(a["allowed_actions"], json!(["terminate"]));
    let path = |action: &str| format!("/v1/agreements/{}/{action}", id(&a));
    // Only a landlord proposes, to an association.
    let p = problem(
        app.post("/v1/agreements", &w.association.admin_token, &json!({"association_organisation_id": w.other_association.id, "kind": "intermediated_rental", "units_covered": 1, "starts_on": "2026-12-01"})).await,
        403,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("landlord"));
    let p = problem(
        app.post("/v1/agreements", &w.landlord.admin_token, &json!({"association_organisation_id": w.other_landlord.id, "kind": "reservation", "units_covered": 0, "starts_on": "2026-12-01", "ends_on": "2026-11-01"})).await,
        422,
    )
    .await;
    assert_eq!(
        fields(&p),
        vec!["association_organisation_id", "ends_on", "units_covered"]
    );
    // The association sees it and may accept or decline; the landlord may not accept.
    let seen = w
        .get(
            &w.association.admin_token,
            &format!("/v1/agreements/{}", id(&a)),
        )
        .await;
    assert_eq!(seen["allowed_actions"], json!(["accept", "decline"]));
    problem(
        w.act(
            &w.landlord.admin_token,
            &path("accept"),
            &a["version"],
            None,
        )
        .await,
        403,
    )
    .await;
    problem(
        w.act(
            &w.other_association.admin_token,
            &path("accept"),
            &a["version"],
            None,
        )
        .await,
        404,
    )
    .await;
    // Units are attached to an active agreement only.
    let units: Vec<Value> =
        futures::future::join_all((0..4).map(|_| w.unit(&w.landlord, "d", "available"))).await;
    let p = problem(w.attach(&a, &[&units[0]]).await, 409).await;
    assert_eq!(p["current_status"], "proposed");
    let a = ok(w
        .act(
            &w.association.admin_token,
            &path("accept"),
            &a["version"],
            None,
        )
        .await)
    .await;
    assert_eq!(a["status"], "active");
    let p = problem(
        w.act(
            &w.association.admin_token,
            &path("decline"),
            &a["version"],
            Some(json!({})),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(
        (p["current_status"].as_str(), &p["allowed_actions"]),
        (Some("active"), &json!(["terminate"]))
    );
    // Before any unit is named, the association sees none.
    assert_eq!(
        w.get(&w.association.admin_token, "/v1/units").await["items"],
        json!([])
    );
    // The quota: three units do not fit in two, and nothing is attached.
    let p = problem(w.attach(&a, &[&units[0], &units[1], &units[2]]).await, 409).await;
    assert_eq!(
        (p["units_covered"].as_i64(), p["units_attached"].as_i64()),
        (Some(2), Some(0))
    );
    assert_eq!(
        w.get(&w.association.admin_token, "/v1/units").await["items"],
        json!([])
    );
    let after = ok(w.attach(&a, &[&units[0], &units[1]]).await).await;
    assert_eq!(after["units_attached"], 2);
    // Attaching again what is attached changes nothing; one more does not fit.
    assert_eq!(
        ok(w.attach(&a, &[&units[0]]).await).await["units_attached"],
        2
    );
    problem(w.attach(&a, &[&units[2]]).await, 409).await;
    // A unit of another landlord, or one in another agreement, is a field error.
    let theirs = w.unit(&w.other_landlord, "d", "available").await;
    let b = w.active_agreement(5).await;
    let p = problem(w.attach(&b, &[&units[3], &theirs, &units[0]]).await, 422).await;
    assert_eq!(fields(&p), vec!["unit_ids[1]", "unit_ids[2]"]);
    // The association now sees the two units, is told, and the other association is not.
    let visible = w
        .get(
            &w.association.admin_token,
            &format!("/v1/units?agreement_id={}", id(&a)),
        )
        .await;
    assert_eq!(visible["items"].as_array().unwrap().len(), 2);
    assert!(
        visible["items"][0].get("holder_reference").is_none(),
        "the holder's reference is the holder's"
    );
    w.events_with(&w.association, &["agreement.units_attached"])
        .await;
    // The feed is past that event for everyone now: the other association did not get it.
    assert!(!w
        .events_with(&w.other_association, &[])
        .await
        .contains(&"agreement.units_attached".to_string()));
    problem(
        app.get(
            &format!("/v1/units/{}", id(&units[0])),
            &w.other_association.admin_token,
        )
        .await,
        404,
    )
    .await;
    // The association may not change a unit it sees.
    let r = w
        .patch_unit(
            &w.association.admin_token,
            &units[0],
            units[0]["version"].as_i64().unwrap() + 1,
            json!({"rent_cents": 1}),
        )
        .await;
    problem(r, 403).await;
    // Terminated, its units leave it: the association no longer sees them.
    let a = ok(w
        .act(
            &w.association.admin_token,
            &path("terminate"),
            &a["version"],
            Some(json!({"comment": "Fin du programme"})),
        )
        .await)
    .await;
    assert_eq!(
        (
            a["status"].as_str(),
            a["closing_comment"].as_str(),
            a["units_attached"].as_i64()
        ),
        (Some("terminated"), Some("Fin du programme"), Some(0))
    );
    problem(
        app.get(
            &format!("/v1/units/{}", id(&units[0])),
            &w.association.admin_token,
        )
        .await,
        404,
    )
    .await;
    problem(
        w.act(
            &w.landlord.admin_token,
            &path("terminate"),
            &a["version"],
            Some(json!({})),
        )
        .await,
        409,
    )
    .await;

    // Declined, or withdrawn by the landlord before an answer.
    let c = w.agreement(1, "reservation").await;
    let c = ok(w
        .act(
            &w.association.admin_token,
            &format!("/v1/agreements/{}/decline", id(&c)),
            &c["version"],
            Some(json!({"comment": "Pas de travailleur social disponible"})),
        )
        .await)
    .await;
    assert_eq!(c["status"], "declined");
    let d = w.agreement(1, "reservation").await;
    let d = ok(w
        .act(
            &w.landlord.admin_token,
            &format!("/v1/agreements/{}/terminate", id(&d)),
            &d["version"],
            Some(json!({})),
        )
        .await)
    .await;
    assert_eq!(d["status"], "terminated");
    let mine = w
        .get(&w.association.admin_token, "/v1/agreements?status=declined")
        .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        w.get(&w.other_association.admin_token, "/v1/agreements")
            .await["items"],
        json!([])
    );
}

#[actix_web::test]
async fn the_quota_holds_when_attachments_race() {
    let w = world().await;
    let a = w.active_agreement(1).await;
    let x = w.unit(&w.landlord, "d", "available").await;
    let y = w.unit(&w.landlord, "d", "available").await;
    let (xs, ys) = ([&x], [&y]);
    let (r1, r2) = futures::join!(w.attach(&a, &xs), w.attach(&a, &ys));
    let mut statuses = [r1.status().as_u16(), r2.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let agreement = w
        .get(
            &w.landlord.admin_token,
            &format!("/v1/agreements/{}", id(&a)),
        )
        .await;
    assert_eq!(agreement["units_attached"], 1);
    let attached = w
        .get(
            &w.landlord.admin_token,
            &format!("/v1/units?agreement_id={}", id(&a)),
        )
        .await;
    assert_eq!(attached["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn proposals_reserve_units_and_show_landlords_only_what_letting_needs() {
    let w = world().await;
    let app = &w.app;
    let unit = w.available_unit().await;
    let proposals_path = format!("/v1/units/{}/proposals", id(&unit));
    let without_consent = w.household("Sansaccord", false).await;
    let p = problem(
        app.post(
            &proposals_path,
            &w.association.admin_token,
            &json!({"household_id": id(&without_consent)}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "consent_required");
    let p = problem(
        app.post(
            &proposals_path,
            &w.association.admin_token,
            &json!({"household_id": Uuid::now_v7()}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "unknown_household");
    let first = w.household("Premier", true).await;
    let second = w.household("Second", true).await;
    let p1 = created(
        app.post(
            &proposals_path,
            &w.association.admin_token,
            &json!({"household_id": id(&first), "comment": "Sortie de CHRS"}),
        )
        .await,
    )
    .await;
    let p2 = created(
        app.post(
            &proposals_path,
            &w.association.admin_token,
            &json!({"household_id": id(&second)}),
        )
        .await,
    )
    .await;
    // The same household twice: 409 naming the open proposal.
    let p = problem(
        app.post(
            &proposals_path,
            &w.association.admin_token,
            &json!({"household_id": id(&first)}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["existing_id"], id(&p1));
    // A unit the other association does not see; a landlord does not propose.
    problem(
        app.post(
            &proposals_path,
            &w.other_association.admin_token,
            &json!({"household_id": id(&first)}),
        )
        .await,
        404,
    )
    .await;
    problem(
        app.post(
            &proposals_path,
            &w.landlord.admin_token,
            &json!({"household_id": id(&first)}),
        )
        .await,
        403,
    )
    .await;

    // The landlord sees name, composition and resources; never grounds, situation, birth date.
    let seen = w
        .get(
            &w.landlord.admin_token,
            &format!("/v1/proposals/{}", id(&p1)),
        )
        .await;
    let h = &seen["household"];
    assert_eq!(
        (
            h["last_name"].as_str(),
            h["adults"].as_i64(),
            h["children"].as_i64(),
            h["monthly_resources_cents"].as_i64()
        ),
        (Some("Premier"), Some(1), Some(1), Some(118000))
    );
    assert_eq!(
        h["members"],
        json!([{"relation": "child", "birth_year": 2015}])
    );
    let keys: Vec<&String> = h.as_object().unwrap().keys().collect();
    for hidden in [
        "special_category_grounds",
        "priority_grounds",
        "housing_situation",
        "head",
        "birth_date",
        "partner_reference",
        "consent",
    ] {
        assert!(
            !keys.iter().any(|k| k.as_str() == hidden),
            "{hidden} shown to the landlord"
        );
    }
    assert!(!serde_json::to_string(&seen)
        .unwrap()
        .contains("domestic_violence"));
    assert_eq!(seen["allowed_actions"], json!(["accept", "decline"]));
    problem(
        app.get(
            &format!("/v1/households/{}", id(&first)),
            &w.landlord.admin_token,
        )
        .await,
        404,
    )
    .await;
    assert_eq!(
        w.get(
            &w.association.admin_token,
            &format!("/v1/proposals/{}", id(&p1))
        )
        .await["allowed_actions"],
        json!(["withdraw"])
    );
    w.events_with(&w.landlord, &["proposal.submitted"]).await;

    // The association does not answer; `other` needs a comment.
    problem(
        w.act(
            &w.association.admin_token,
            &format!("/v1/proposals/{}/accept", id(&p1)),
            &p1["version"],
            None,
        )
        .await,
        403,
    )
    .await;
    let p = problem(
        w.act(
            &w.landlord.admin_token,
            &format!("/v1/proposals/{}/decline", id(&p2)),
            &p2["version"],
            Some(json!({"reason": "other"})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["comment"]);
    let p = problem(
        w.act(
            &w.landlord.admin_token,
            &format!("/v1/proposals/{}/decline", id(&p2)),
            &p2["version"],
            Some(json!({"reason": "too_poor"})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["reason"]);
    // Accepting one reserves the unit and declines the other.
    let accepted = ok(w
        .act(
            &w.landlord.admin_token,
            &format!("/v1/proposals/{}/accept", id(&p1)),
            &p1["version"],
            None,
        )
        .await)
    .await;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(
        w.get(&w.landlord.admin_token, &format!("/v1/units/{}", id(&unit)))
            .await["status"],
        "reserved"
    );
    let other = w
        .get(
            &w.association.admin_token,
            &format!("/v1/proposals/{}", id(&p2)),
        )
        .await;
    assert_eq!(
        (other["status"].as_str(), other["decline_reason"].as_str()),
        (Some("declined"), Some("unit_no_longer_available"))
    );
    let p = problem(
        w.act(
            &w.landlord.admin_token,
            &format!("/v1/proposals/{}/decline", id(&p2)),
            &other["version"],
            Some(json!({"reason": "household_too_large"})),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(
        (p["current_status"].as_str(), &p["allowed_actions"]),
        (Some("declined"), &json!([]))
    );
    // A reserved unit takes no new proposal.
    let third = w.household("Troisieme", true).await;
    let p = problem(
        app.post(
            &proposals_path,
            &w.association.admin_token,
            &json!({"household_id": id(&third)}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["current_status"], "reserved");
    // Nor a sub-lease for another household than the one it is kept for.
    let p = problem(
        w.sublease(&unit, &third, "iml", "2026-12-01", "2027-12-01")
            .await,
        409,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("another household"));
    let listed = w
        .get(
            &w.landlord.admin_token,
            &format!("/v1/proposals?unit_id={}&status=declined", id(&unit)),
        )
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    // No sub-lease followed: the landlord lifts the reservation.
    let u = w
        .get(&w.landlord.admin_token, &format!("/v1/units/{}", id(&unit)))
        .await;
    let r = w
        .patch_unit(
            &w.landlord.admin_token,
            &unit,
            &u["version"],
            json!({"status": "available"}),
        )
        .await;
    assert_eq!(ok(r).await["status"], "available");
}

#[actix_web::test]
async fn proposals_are_withdrawn_by_their_association() {
    let w = world().await;
    let app = &w.app;
    let unit = w.available_unit().await;
    let proposals_path = format!("/v1/units/{}/proposals", id(&unit));
    let propose = async |last: &str| -> Value {
        let household = w.household(last, true).await;
        created(
            app.post(
                &proposals_path,
                &w.association.admin_token,
                &json!({"household_id": id(&household)}),
            )
            .await,
        )
        .await
    };
    let unit_status = async || -> String {
        w.get(&w.landlord.admin_token, &format!("/v1/units/{}", id(&unit)))
            .await["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let withdraw = async |token: &str, p: &Value, body: Value| -> Response {
        w.act(
            token,
            &format!("/v1/proposals/{}/withdraw", id(p)),
            &p["version"],
            Some(body),
        )
        .await
    };
    let because = json!({"reason": "La famille a trouvé un logement par ses propres moyens"});

    // Before an answer: only the association withdraws, with a reason.
    let p1 = propose("Retrait").await;
    problem(
        withdraw(&w.landlord.admin_token, &p1, because.clone()).await,
        403,
    )
    .await;
    let p = problem(
        withdraw(&w.association.admin_token, &p1, json!({})).await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["reason"]);
    let p = problem(
        withdraw(&w.association.admin_token, &p1, json!({"reason": "  "})).await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["reason"]);
    let withdrawn = ok(withdraw(&w.association.admin_token, &p1, because.clone()).await).await;
    assert_eq!(
        (
            withdrawn["status"].as_str(),
            withdrawn["withdrawal_reason"].as_str(),
            &withdrawn["allowed_actions"]
        ),
        (Some("withdrawn"), because["reason"].as_str(), &json!([]))
    );
    let seen = w
        .get(
            &w.landlord.admin_token,
            &format!("/v1/proposals/{}", id(&p1)),
        )
        .await;
    assert_eq!(
        (seen["status"].as_str(), &seen["allowed_actions"]),
        (Some("withdrawn"), &json!([]))
    );
    let p = problem(
        w.act(
            &w.landlord.admin_token,
            &format!("/v1/proposals/{}/accept", id(&p1)),
            &seen["version"],
            None,
        )
        .await,
        409,
    )
    .await;
    assert_eq!(
        (p["current_status"].as_str(), &p["allowed_actions"]),
        (Some("withdrawn"), &json!([]))
    );
    problem(
        withdraw(&w.association.admin_token, &withdrawn, because.clone()).await,
        409,
    )
    .await;
    w.events_with(&w.landlord, &["proposal.withdrawn"]).await;
    assert_eq!(unit_status().await, "available");

    // After an acceptance: the unit kept for the household is free again.
    let p2 = propose("Accepte").await;
    let accepted = ok(w
        .act(
            &w.landlord.admin_token,
            &format!("/v1/proposals/{}/accept", id(&p2)),
            &p2["version"],
            None,
        )
        .await)
    .await;
    assert_eq!(unit_status().await, "reserved");
    let mine = w
        .get(
            &w.association.admin_token,
            &format!("/v1/proposals/{}", id(&p2)),
        )
        .await;
    assert_eq!(mine["allowed_actions"], json!(["withdraw"]));
    assert_eq!(
        accepted["allowed_actions"],
        json!([]),
        "the landlord's view"
    );
    ok(withdraw(&w.association.admin_token, &mine, because.clone()).await).await;
    assert_eq!(unit_status().await, "available");

    // Once the unit is sub-let to the household, the sub-lease is what ends.
    let p3 = propose("Sousloue").await;
    let p3 = ok(w
        .act(
            &w.landlord.admin_token,
            &format!("/v1/proposals/{}/accept", id(&p3)),
            &p3["version"],
            None,
        )
        .await)
    .await;
    let household = json!({"id": p3["household"]["id"]});
    let s = created(
        w.sublease(&unit, &household, "iml", "2027-01-01", "2028-01-01")
            .await,
    )
    .await;
    let p3 = w
        .get(
            &w.association.admin_token,
            &format!("/v1/proposals/{}", id(&p3)),
        )
        .await;
    assert_eq!(p3["allowed_actions"], json!([]));
    let p = problem(
        withdraw(&w.association.admin_token, &p3, because.clone()).await,
        409,
    )
    .await;
    assert_eq!(
        (p["current_status"].as_str(), &p["allowed_actions"]),
        (Some("accepted"), &json!([]))
    );
    assert!(p["detail"].as_str().unwrap().contains("sub-lease"));
    assert_eq!(unit_status().await, "reserved");
    ok(w.act(
        &w.association.admin_token,
        &format!("/v1/subleases/{}/end", id(&s)),
        &s["version"],
        Some(json!({"reason": "left", "comment": "Le ménage a renoncé"})),
    )
    .await)
    .await;
    // The acceptance led to that sub-lease: once it ends, nothing keeps the unit, and the
    // proposal stays what it was.
    assert_eq!(unit_status().await, "available");
    let p3 = w
        .get(
            &w.association.admin_token,
            &format!("/v1/proposals/{}", id(&p3)),
        )
        .await;
    assert_eq!(
        (p3["status"].as_str(), &p3["allowed_actions"]),
        (Some("accepted"), &json!([]))
    );
    // Nobody else withdraws a proposal, nor sees it.
    for org in [&w.other_association, &w.other_landlord] {
        problem(withdraw(&org.admin_token, &p3, because.clone()).await, 404).await;
    }
}

#[actix_web::test]
async fn agreements_expire_and_bound_their_subleases() {
    let w = world().await;
    let app = &w.app;
    let a = w
        .propose_agreement(json!({"kind": "intermediated_rental", "units_covered": 2,
                                  "starts_on": "2026-01-01", "ends_on": "2029-06-30"}))
        .await;
    let a = w.accept_agreement(&a).await;
    let sublet = w.unit(&w.landlord, "d", "available").await;
    let offered = w.unit(&w.landlord, "d", "available").await;
    ok(w.attach(&a, &[&sublet, &offered]).await).await;
    let household = w.household("Convention", true).await;

    // A sub-lease falls within the agreement's period.
    for (starts, ends, field, code) in [
        ("2025-12-31", "2026-12-31", "starts_on", "outside_agreement"),
        ("2029-06-30", "2029-12-31", "starts_on", "outside_agreement"),
        (
            "2029-01-01",
            "2029-07-01",
            "planned_end_on",
            "after_agreement_end",
        ),
    ] {
        let p = problem(
            w.sublease(&sublet, &household, "iml", starts, ends).await,
            422,
        )
        .await;
        assert_eq!(fields(&p), vec![field], "{starts} {ends}");
        assert_eq!(p["errors"][0]["code"], code);
        assert!(p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("2029-06-30"));
    }
    let s = created(
        w.sublease(&sublet, &household, "iml", "2026-01-01", "2029-06-30")
            .await,
    )
    .await;
    let other = w.household("Ouverte", true).await;
    let open = created(
        app.post(
            &format!("/v1/units/{}/proposals", id(&offered)),
            &w.association.admin_token,
            &json!({"household_id": id(&other)}),
        )
        .await,
    )
    .await;

    // Nothing expires on the last day; the day after, once, even with two runs racing.
    let mut conn = app.db().await;
    let set_end = |days_ago: i32| {
        format!(
            "UPDATE agreements SET ends_on = '{}'::date - {days_ago} WHERE id = '{}'",
            passerelle::calendar::today(),
            id(&a)
        )
    };
    diesel::sql_query(set_end(0))
        .execute(&mut conn)
        .await
        .unwrap();
    let pool = passerelle::db::pool(&app.database_url, 4, "tests").unwrap();
    passerelle::jobs::expire_agreements(&pool, passerelle::calendar::today())
        .await
        .unwrap();
    let path = format!("/v1/agreements/{}", id(&a));
    assert_eq!(
        w.get(&w.landlord.admin_token, &path).await["status"],
        "active"
    );
    diesel::sql_query(set_end(1))
        .execute(&mut conn)
        .await
        .unwrap();
    let (r1, r2) = futures::join!(
        passerelle::jobs::expire_agreements(&pool, passerelle::calendar::today()),
        passerelle::jobs::expire_agreements(&pool, passerelle::calendar::today())
    );
    r1.unwrap();
    r2.unwrap();
    passerelle::jobs::expire_agreements(&pool, passerelle::calendar::today())
        .await
        .unwrap();
    let expired = w.get(&w.association.admin_token, &path).await;
    assert_eq!(
        (
            expired["status"].as_str(),
            &expired["allowed_actions"],
            expired["units_attached"].as_i64(),
            expired["version"].as_i64()
        ),
        (
            Some("expired"),
            &json!([]),
            Some(0),
            Some(a["version"].as_i64().unwrap() + 1)
        )
    );
    let feed = app
        .feed_until(&w.association.admin_token, "agreement.expired", |f| {
            f.iter().any(|e| e["type"] == "agreement.expired")
        })
        .await;
    let expiries: Vec<&Value> = feed
        .iter()
        .filter(|e| e["type"] == "agreement.expired")
        .collect();
    assert_eq!(expiries.len(), 1);
    // The service did it, not a person.
    assert_eq!(
        expiries[0]["actor"],
        json!({"account_id": null, "organisation_id": null})
    );
    // Its units leave it: the association keeps seeing the one it sub-lets, not the other,
    // and its open proposal for that one is declined.
    ok(app
        .get(
            &format!("/v1/units/{}", id(&sublet)),
            &w.association.admin_token,
        )
        .await)
    .await;
    problem(
        app.get(
            &format!("/v1/units/{}", id(&offered)),
            &w.association.admin_token,
        )
        .await,
        404,
    )
    .await;
    let open = w
        .get(
            &w.association.admin_token,
            &format!("/v1/proposals/{}", id(&open)),
        )
        .await;
    assert_eq!(
        (open["status"].as_str(), open["decline_reason"].as_str()),
        (Some("declined"), Some("unit_no_longer_available"))
    );
    // The sub-lease in progress goes on.
    assert_eq!(
        w.get(
            &w.association.admin_token,
            &format!("/v1/subleases/{}", id(&s))
        )
        .await["status"],
        "planned"
    );
    // Nothing more can be done to it.
    let p = problem(
        w.act(
            &w.landlord.admin_token,
            &format!("/v1/agreements/{}/terminate", id(&a)),
            &expired["version"],
            Some(json!({})),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["current_status"], "expired");
}

#[actix_web::test]
async fn subleases_state_table_residual_charge_and_unit_status() {
    let w = world().await;
    let app = &w.app;
    let unit = w.available_unit().await;
    let household = w.household("Locataire", true).await;
    // Field rules, all at once: the end before the start, a benefit above rent and charges.
    let r = app
        .post("/v1/subleases", &w.association.admin_token,
              &json!({"unit_id": id(&unit), "household_id": id(&household), "kind": "iml", "starts_on": "2026-12-01",
                      "planned_end_on": "2026-11-01", "rent_cents": 41000, "charges_cents": 6000,
                      "housing_benefit_cents": 47001, "deposit_cents": -1}))
        .await;
    let p = problem(r, 422).await;
    assert_eq!(
        fields(&p),
        vec!["deposit_cents", "housing_benefit_cents", "planned_end_on"]
    );
    let p = problem(
        app.post("/v1/subleases", &w.association.admin_token,
                 &json!({"unit_id": Uuid::now_v7(), "household_id": id(&household), "kind": "bail", "starts_on": "2026-12-01",
                         "planned_end_on": "2027-11-01", "rent_cents": 1, "charges_cents": 1, "housing_benefit_cents": 0, "deposit_cents": 0})).await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["kind"]);
    // The landlord is not a main tenant.
    let r = app
        .post("/v1/subleases", &w.landlord.admin_token,
              &json!({"unit_id": id(&unit), "household_id": id(&household), "kind": "iml", "starts_on": "2026-12-01",
                      "planned_end_on": "2027-12-01", "rent_cents": 1, "charges_cents": 1, "housing_benefit_cents": 0, "deposit_cents": 0}))
        .await;
    problem(r, 403).await;
    assert_eq!(app.count("subleases").await, 0);

    let r = w
        .sublease(&unit, &household, "iml", "2026-12-01", "2027-12-01")
        .await;
    assert_eq!(r.headers()["etag"], "\"1\"");
    let s = created(r).await;
    assert_eq!(
        (s["status"].as_str(), s["residual_charge_cents"].as_i64()),
        (Some("planned"), Some(15000))
    );
    assert_eq!(s["household"]["last_name"], "Locataire");
    assert_eq!(s["allowed_actions"], json!(["activate", "end"]));
    assert_eq!(
        w.get(&w.landlord.admin_token, &format!("/v1/units/{}", id(&unit)))
            .await["status"],
        "reserved"
    );
    assert_eq!(
        w.get(
            &w.landlord.admin_token,
            &format!("/v1/subleases/{}", id(&s))
        )
        .await["allowed_actions"],
        json!(["end"])
    );
    let u = w
        .get(&w.landlord.admin_token, &format!("/v1/units/{}", id(&unit)))
        .await;
    let r = w
        .patch_unit(
            &w.landlord.admin_token,
            &unit,
            &u["version"],
            json!({"status": "unavailable"}),
        )
        .await;
    assert_eq!(problem(r, 409).await["current_status"], "reserved");
    let path = |action: &str| format!("/v1/subleases/{}/{action}", id(&s));
    // The landlord does not activate; an IML does not glide.
    problem(
        w.act(
            &w.landlord.admin_token,
            &path("activate"),
            &s["version"],
            None,
        )
        .await,
        403,
    )
    .await;
    let s = ok(w
        .act(
            &w.association.admin_token,
            &path("activate"),
            &s["version"],
            None,
        )
        .await)
    .await;
    assert_eq!(s["status"], "active");
    assert_eq!(
        w.get(&w.landlord.admin_token, &format!("/v1/units/{}", id(&unit)))
            .await["status"],
        "occupied"
    );
    let p = problem(
        w.act(&w.landlord.admin_token, &path("glide"), &s["version"], None)
            .await,
        409,
    )
    .await;
    assert_eq!(
        (p["current_status"].as_str(), &p["allowed_actions"]),
        (Some("active"), &json!(["end"]))
    );
    problem(
        w.act(
            &w.association.admin_token,
            &path("activate"),
            &s["version"],
            None,
        )
        .await,
        409,
    )
    .await;
    // A unit whose status follows a sub-lease is not set by hand.
    let u = w
        .get(&w.landlord.admin_token, &format!("/v1/units/{}", id(&unit)))
        .await;
    let r = w
        .patch_unit(
            &w.landlord.admin_token,
            &unit,
            &u["version"],
            json!({"status": "available"}),
        )
        .await;
    assert_eq!(problem(r, 409).await["current_status"], "occupied");
    // Ended with a coded reason (`other` needs a comment): the unit is available again.
    let p = problem(
        w.act(
            &w.association.admin_token,
            &path("end"),
            &s["version"],
            Some(json!({"reason": "other"})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["comment"]);
    let p = problem(
        w.act(
            &w.association.admin_token,
            &path("end"),
            &s["version"],
            Some(json!({"reason": "rehoused", "ended_on": "2026-01-01"})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["ended_on"]);
    let s = ok(w
        .act(
            &w.association.admin_token,
            &path("end"),
            &s["version"],
            Some(json!({"reason": "rehoused", "ended_on": "2027-06-30"})),
        )
        .await)
    .await;
    assert_eq!(
        (
            s["status"].as_str(),
            s["end_reason"].as_str(),
            s["ended_on"].as_str()
        ),
        (Some("ended"), Some("rehoused"), Some("2027-06-30"))
    );
    assert_eq!(s["allowed_actions"], json!([]));
    assert_eq!(
        w.get(&w.landlord.admin_token, &format!("/v1/units/{}", id(&unit)))
            .await["status"],
        "available"
    );
    let history = w.get(&w.landlord.admin_token, &path("history")).await;
    let steps: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["plan", "activate", "end"]);
    w.events_with(
        &w.landlord,
        &[
            "sublease.planned",
            "sublease.activated",
            "sublease.ended",
            "unit.status_changed",
        ],
    )
    .await;

    // A sliding lease glides: the landlord signs, the unit stays occupied in the household's name.
    let next = created(
        w.sublease(
            &unit,
            &household,
            "sliding_lease",
            "2027-07-01",
            "2029-06-30",
        )
        .await,
    )
    .await;
    let next = ok(w
        .act(
            &w.association.admin_token,
            &format!("/v1/subleases/{}/activate", id(&next)),
            &next["version"],
            None,
        )
        .await)
    .await;
    problem(
        w.act(
            &w.association.admin_token,
            &format!("/v1/subleases/{}/glide", id(&next)),
            &next["version"],
            None,
        )
        .await,
        403,
    )
    .await;
    let glided = ok(w
        .act(
            &w.landlord.admin_token,
            &format!("/v1/subleases/{}/glide", id(&next)),
            &next["version"],
            None,
        )
        .await)
    .await;
    assert_eq!(
        (glided["status"].as_str(), glided["ended_on"].as_str()),
        (Some("glided"), Some("2027-07-01"))
    );
    assert_eq!(
        w.get(&w.landlord.admin_token, &format!("/v1/units/{}", id(&unit)))
            .await["status"],
        "occupied"
    );
    problem(
        w.act(
            &w.association.admin_token,
            &format!("/v1/subleases/{}/end", id(&next)),
            &glided["version"],
            Some(json!({"reason": "left"})),
        )
        .await,
        409,
    )
    .await;
    let listed = w
        .get(
            &w.association.admin_token,
            &format!("/v1/subleases?unit_id={}", id(&unit)),
        )
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn overlapping_subleases_are_refused_also_when_racing() {
    let w = world().await;
    let app = &w.app;
    let unit = w.available_unit().await;
    let household = w.household("Chevauchement", true).await;
    let first = created(
        w.sublease(&unit, &household, "iml", "2027-01-01", "2027-12-31")
            .await,
    )
    .await;
    // Overlapping by one day: refused by the database's exclusion constraint.
    let p = problem(
        w.sublease(&unit, &household, "iml", "2027-12-30", "2028-06-30")
            .await,
        409,
    )
    .await;
    assert_eq!(p["code"], "overlapping_sublease");
    let p = problem(
        w.sublease(&unit, &household, "iml", "2026-06-01", "2027-01-02")
            .await,
        409,
    )
    .await;
    assert_eq!(p["code"], "overlapping_sublease");
    // Back to back is not an overlap (the planned end is the first free day).
    created(
        w.sublease(&unit, &household, "iml", "2027-12-31", "2028-06-30")
            .await,
    )
    .await;
    // A planned sub-lease that will not start frees its period.
    let ended = ok(w
        .act(
            &w.association.admin_token,
            &format!("/v1/subleases/{}/end", id(&first)),
            &first["version"],
            Some(json!({"reason": "left"})),
        )
        .await)
    .await;
    assert_eq!(ended["ended_on"], "2027-01-01");
    let february = created(
        w.sublease(&unit, &household, "iml", "2027-02-01", "2027-12-01")
            .await,
    )
    .await;
    // Ending it later than planned would run into the next one: 409, nothing changed.
    let february = ok(w
        .act(
            &w.association.admin_token,
            &format!("/v1/subleases/{}/activate", id(&february)),
            &february["version"],
            None,
        )
        .await)
    .await;
    let p = problem(
        w.act(
            &w.association.admin_token,
            &format!("/v1/subleases/{}/end", id(&february)),
            &february["version"],
            Some(json!({"reason": "left", "ended_on": "2028-01-15"})),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["code"], "overlapping_sublease");
    let still = w
        .get(
            &w.association.admin_token,
            &format!("/v1/subleases/{}", id(&february)),
        )
        .await;
    assert_eq!(
        (still["status"].as_str(), &still["ended_on"]),
        (Some("active"), &Value::Null)
    );

    // Two requests racing for the same period of another unit: exactly one wins.
    let other = w.unit(&w.landlord, "d", "available").await;
    let agreement = w.active_agreement(1).await;
    ok(w.attach(&agreement, &[&other]).await).await;
    let before = app.count("subleases").await;
    let (a, b) = futures::join!(
        w.sublease(&other, &household, "iml", "2027-03-01", "2027-09-01"),
        w.sublease(&other, &household, "iml", "2027-05-01", "2027-11-01"),
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    assert_eq!(app.count("subleases").await, before + 1);
}

#[actix_web::test]
async fn the_energy_class_rule_on_either_side_of_each_threshold() {
    let w = world().await;
    let household = w.household("Energie", true).await;
    let agreement = w.active_agreement(3).await;
    let f = w.unit(&w.landlord, "f", "available").await;
    let e = w.unit(&w.landlord, "e", "available").await;
    // A G unit is unavailable (its class may not be let since 2025).
    let g = w.unit(&w.landlord, "g", "unavailable").await;
    ok(w.attach(&agreement, &[&f, &e, &g]).await).await;
    for (unit, last_allowed, first_banned) in [
        (&f, "2027-12-31", "2028-01-01"),
        (&e, "2033-12-31", "2034-01-01"),
    ] {
        let p = problem(
            w.sublease(unit, &household, "iml", first_banned, "2036-01-01")
                .await,
            422,
        )
        .await;
        assert_eq!(fields(&p), vec!["starts_on"]);
        assert_eq!(p["errors"][0]["code"], "energy_class_banned");
        assert!(p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(first_banned));
        let s = created(
            w.sublease(unit, &household, "iml", last_allowed, "2036-01-01")
                .await,
        )
        .await;
        assert_eq!(s["starts_on"], last_allowed);
    }
    let p = problem(
        w.sublease(&g, &household, "iml", "2025-01-01", "2026-01-01")
            .await,
        422,
    )
    .await;
    assert!(p["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("2025-01-01"));
    // The day before, the class allows it, but the unit is not offered.
    let p = problem(
        w.sublease(&g, &household, "iml", "2024-12-31", "2025-06-01")
            .await,
        409,
    )
    .await;
    assert_eq!(p["current_status"], "unavailable");
}

#[actix_web::test]
async fn arrears_are_recorded_and_the_other_party_told() {
    let w = world().await;
    let app = &w.app;
    let unit = w.available_unit().await;
    let household = w.household("Impaye", true).await;
    let s = created(
        w.sublease(
            &unit,
            &household,
            "sliding_lease",
            "2026-12-01",
            "2028-12-01",
        )
        .await,
    )
    .await;
    let arrears = format!("/v1/subleases/{}/arrears", id(&s));
    let p = problem(
        app.post(
            &arrears,
            &w.landlord.admin_token,
            &json!({"amount_cents": 45000, "months": 3}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["current_status"], "planned");
    ok(w.act(
        &w.association.admin_token,
        &format!("/v1/subleases/{}/activate", id(&s)),
        &s["version"],
        None,
    )
    .await)
    .await;
    let p = problem(
        app.post(
            &arrears,
            &w.landlord.admin_token,
            &json!({"amount_cents": 0, "months": 121}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["amount_cents", "months"]);
    let a = created(
        app.post(
            &arrears,
            &w.landlord.admin_token,
            &json!({"amount_cents": 45000, "months": 3, "comment": "Rien depuis septembre"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (a["amount_cents"].as_i64(), a["months"].as_i64()),
        (Some(45000), Some(3))
    );
    assert_eq!(a["recorded_by_organisation_id"], w.landlord.id.to_string());
    // The association is told, once, with the amount and the months.
    let told = |feed: &[Value]| -> Vec<Value> {
        feed.iter()
            .filter(|e| {
                e["type"] == "sublease.arrears_recorded" && e["data"]["arrears_id"] == a["id"]
            })
            .cloned()
            .collect()
    };
    let feed = w
        .app
        .feed_until(&w.association.admin_token, "the arrears", |f| {
            !told(f).is_empty()
        })
        .await;
    let told = told(&feed);
    assert_eq!(told.len(), 1);
    assert_eq!(
        (&told[0]["data"]["amount_cents"], &told[0]["data"]["months"]),
        (&json!(45000), &json!(3))
    );
    let listed = w.get(&w.association.admin_token, &arrears).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    // Strangers see nothing of it.
    problem(app.get(&arrears, &w.other_landlord.admin_token).await, 404).await;
    problem(
        app.post(
            &arrears,
            &w.other_association.admin_token,
            &json!({"amount_cents": 1, "months": 1}),
        )
        .await,
        404,
    )
    .await;
}

#[actix_web::test]
async fn isolation_between_two_landlords_and_two_associations() {
    let w = world().await;
    let app = &w.app;
    let unit = w.available_unit().await;
    let household = w.household("Isole", true).await;
    let proposal = created(
        app.post(
            &format!("/v1/units/{}/proposals", id(&unit)),
            &w.association.admin_token,
            &json!({"household_id": id(&household)}),
        )
        .await,
    )
    .await;
    let agreement_id = w
        .get(&w.landlord.admin_token, &format!("/v1/units/{}", id(&unit)))
        .await["agreement_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sublease = created(
        w.sublease(&unit, &household, "iml", "2027-01-01", "2027-12-31")
            .await,
    )
    .await;
    for stranger in [&w.other_landlord, &w.other_association] {
        for path in [
            format!("/v1/units/{}", id(&unit)),
            format!("/v1/agreements/{agreement_id}"),
            format!("/v1/proposals/{}", id(&proposal)),
            format!("/v1/subleases/{}", id(&sublease)),
            format!("/v1/subleases/{}/history", id(&sublease)),
        ] {
            problem(app.get(&path, &stranger.admin_token).await, 404).await;
        }
        for list in [
            "/v1/units",
            "/v1/agreements",
            "/v1/proposals",
            "/v1/subleases",
        ] {
            assert_eq!(
                w.get(&stranger.admin_token, list).await["items"],
                json!([]),
                "{list}"
            );
        }
        problem(
            w.act(
                &stranger.admin_token,
                &format!("/v1/subleases/{}/end", id(&sublease)),
                &sublease["version"],
                Some(json!({"reason": "left"})),
            )
            .await,
            404,
        )
        .await;
        problem(
            w.act(
                &stranger.admin_token,
                &format!("/v1/proposals/{}/accept", id(&proposal)),
                &proposal["version"],
                None,
            )
            .await,
            404,
        )
        .await;
        let r = w
            .patch_unit(&stranger.admin_token, &unit, 1, json!({"rent_cents": 1}))
            .await;
        problem(r, 404).await;
    }
    // The parties see theirs.
    for party in [&w.landlord, &w.association] {
        for list in [
            "/v1/units",
            "/v1/agreements",
            "/v1/proposals",
            "/v1/subleases",
        ] {
            assert_eq!(
                w.get(&party.admin_token, list).await["items"]
                    .as_array()
                    .unwrap()
                    .len(),
                1,
                "{list}"
            );
        }
    }
    // A viewer reads but does not write; a system without housing scopes does neither.
    let (_, viewer) = app
        .person(&w.landlord.admin_token, w.landlord.id, "viewer")
        .await;
    w.get(&viewer, &format!("/v1/units/{}", id(&unit))).await;
    problem(
        app.post(
            "/v1/units",
            &viewer,
            &unit_body("71076", "71100", "t2", 1, "d", "available"),
        )
        .await,
        403,
    )
    .await;
    let system = app
        .system(
            &w.landlord.admin_token,
            w.landlord.id,
            "worker",
            &["referrals:read"],
        )
        .await;
    let token = app.system_token(&system).await;
    let p = problem(app.get("/v1/units", &token).await, 403).await;
    assert!(p["detail"].as_str().unwrap().contains("housing:read"));
}
