//! Referrals: the state table over HTTP, isolation, concurrency, field rules, expiry.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::*;
use crate::households::household;

struct World {
    app: TestApp,
    /// A CCAPEX (state_service): refers without consent, under its mandate.
    ccapex: Org,
    operator: Org,
    other_operator: Org,
    landlord: Org,
    stranger: Org,
    household: String,
}

/// The CCAPEX's decision its referrals rely on (the household has not consented).
fn mandate() -> Value {
    json!({"commission": "ccapex", "decision_reference": "CCAPEX-53-2026-0412", "decided_on": "2026-11-18"})
}

async fn world() -> World {
    let app = spawn_app().await;
    let ccapex = app.organisation("state_service").await;
    app.designate_commissions(ccapex.id, &["ccapex"]).await;
    let operator = app.organisation("association").await;
    let other_operator = app.organisation("association").await;
    let landlord = app.organisation("social_landlord").await;
    let stranger = app.organisation("association").await;
    let r = app
        .post(
            "/v1/households",
            &ccapex.admin_token,
            &household("Moreau", "Claire", "1988-03-09"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let household = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        app,
        ccapex,
        operator,
        other_operator,
        landlord,
        stranger,
        household,
    }
}

impl World {
    async fn refer(&self, from: &Org, to: Uuid, kind: &str) -> Value {
        let mut body = json!({"household_id": self.household, "addressee_organisation_id": to,
                              "measure_kind": kind, "reason": "Impayés de loyer depuis trois mois"});
        if from.id == self.ccapex.id {
            body["mandate"] = mandate();
        }
        let r = self
            .app
            .post("/v1/referrals", &from.admin_token, &body)
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
        r.json().await.unwrap()
    }

    async fn act(
        &self,
        token: &str,
        referral: &Value,
        action: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let id = referral["id"].as_str().unwrap();
        let mut r = self
            .app
            .request(
                Method::POST,
                &format!("/v1/referrals/{id}/{action}"),
                Some(token),
            )
            .header("if-match", format!("\"{}\"", referral["version"]));
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.unwrap()
    }

    async fn ok(&self, token: &str, referral: &Value, action: &str, body: Option<Value>) -> Value {
        let r = self.act(token, referral, action, body).await;
        assert_eq!(r.status(), StatusCode::OK, "{action}");
        r.json().await.unwrap()
    }
}

#[actix_web::test]
async fn the_state_table_over_http() {
    let w = world().await;
    let app = &w.app;
    let r = w.refer(&w.ccapex, w.operator.id, "empex").await;
    assert_eq!(r["status"], "submitted");
    assert_eq!(r["allowed_actions"], json!(["withdraw"]));
    assert_eq!(r["overdue"], false);
    // EMPEX answers are due in 15 days (its catalogue default).
    let due = passerelle::calendar::today() + chrono::Duration::days(15);
    assert_eq!(r["response_due_on"], due.to_string());
    let as_addressee: Value = app
        .get(
            &format!("/v1/referrals/{}", r["id"].as_str().unwrap()),
            &w.operator.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        as_addressee["allowed_actions"],
        json!(["acknowledge", "transfer"])
    );

    // Refusals: the wrong party (403), the wrong moment (409 with what is allowed).
    problem(
        w.act(&w.ccapex.admin_token, &r, "acknowledge", None).await,
        403,
    )
    .await;
    let p = problem(
        w.act(&w.operator.admin_token, &r, "accept", None).await,
        409,
    )
    .await;
    assert_eq!(p["current_status"], "submitted");
    assert_eq!(p["allowed_actions"], json!(["acknowledge", "transfer"]));
    problem(
        w.act(
            &w.operator.admin_token,
            &r,
            "decline",
            Some(json!({"reason": "no_capacity"})),
        )
        .await,
        409,
    )
    .await;

    // submitted -> acknowledged -> accepted.
    let r = w.ok(&w.operator.admin_token, &r, "acknowledge", None).await;
    assert_eq!(r["status"], "acknowledged");
    assert_eq!(
        r["allowed_actions"],
        json!(["accept", "decline", "transfer"])
    );
    let r = w.ok(&w.operator.admin_token, &r, "accept", None).await;
    assert_eq!(r["status"], "accepted");
    assert_eq!(r["allowed_actions"], json!([]));
    let p = problem(
        w.act(
            &w.ccapex.admin_token,
            &r,
            "withdraw",
            Some(json!({"reason": "trop tard"})),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["current_status"], "accepted");
    assert_eq!(p["allowed_actions"], json!([]));

    // History: each step with its actor.
    let history: Value = app
        .get(
            &format!("/v1/referrals/{}/history", r["id"].as_str().unwrap()),
            &w.ccapex.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let steps: Vec<(&str, &str)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["action"].as_str().unwrap(),
                t["actor_organisation_id"].as_str().unwrap(),
            )
        })
        .collect();
    let (c, o) = (w.ccapex.id.to_string(), w.operator.id.to_string());
    assert_eq!(
        steps,
        vec![
            ("submit", c.as_str()),
            ("acknowledge", o.as_str()),
            ("accept", o.as_str())
        ]
    );

    // Decline: `other` needs a comment; the referrer sees the reason.
    let d = w.refer(&w.ccapex, w.operator.id, "avdl").await;
    let d = w.ok(&w.operator.admin_token, &d, "acknowledge", None).await;
    let p = problem(
        w.act(
            &w.operator.admin_token,
            &d,
            "decline",
            Some(json!({"reason": "other"})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["comment"]);
    let p = problem(
        w.act(
            &w.operator.admin_token,
            &d,
            "decline",
            Some(json!({"reason": "busy"})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["reason"]);
    let d = w
        .ok(
            &w.operator.admin_token,
            &d,
            "decline",
            Some(json!({"reason": "out_of_area", "comment": "Hors secteur"})),
        )
        .await;
    let seen: Value = app
        .get(
            &format!("/v1/referrals/{}", d["id"].as_str().unwrap()),
            &w.ccapex.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["status"], "declined");
    assert_eq!(seen["decline_reason"], "out_of_area");
    assert_eq!(seen["closing_comment"], "Hors secteur");

    // Withdraw (referrer, open only).
    let x = w.refer(&w.ccapex, w.operator.id, "sla").await;
    problem(
        w.act(
            &w.operator.admin_token,
            &x,
            "withdraw",
            Some(json!({"reason": "x"})),
        )
        .await,
        403,
    )
    .await;
    let x = w
        .ok(
            &w.ccapex.admin_token,
            &x,
            "withdraw",
            Some(json!({"reason": "Relogé entre-temps"})),
        )
        .await;
    assert_eq!(x["status"], "withdrawn");

    // Transfer: a new linked referral to the other operator, same referrer.
    let t = w.refer(&w.ccapex, w.operator.id, "asll").await;
    let p = problem(
        w.act(
            &w.operator.admin_token,
            &t,
            "transfer",
            Some(json!({"addressee_organisation_id": w.landlord.id})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["code"], "not_an_operator");
    let t = w
        .ok(
            &w.operator.admin_token,
            &t,
            "transfer",
            Some(
                json!({"addressee_organisation_id": w.other_operator.id, "comment": "Plus proche"}),
            ),
        )
        .await;
    assert_eq!(t["status"], "transferred");
    let linked_id = t["transferred_to_id"].as_str().unwrap();
    let linked: Value = app
        .get(
            &format!("/v1/referrals/{linked_id}"),
            &w.other_operator.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(linked["status"], "submitted");
    assert_eq!(linked["transferred_from_id"], t["id"]);
    assert_eq!(linked["referrer_organisation_id"], w.ccapex.id.to_string());
    assert_eq!(
        app.get(&format!("/v1/referrals/{linked_id}"), &w.ccapex.admin_token)
            .await
            .status(),
        StatusCode::OK
    );

    // Accepting one makes the household's other open referrals of that kind obsolete.
    let a = w.refer(&w.ccapex, w.operator.id, "iml").await;
    let b = w.refer(&w.ccapex, w.other_operator.id, "iml").await;
    let a = w.ok(&w.operator.admin_token, &a, "acknowledge", None).await;
    w.ok(&w.operator.admin_token, &a, "accept", None).await;
    let b: Value = app
        .get(
            &format!("/v1/referrals/{}", b["id"].as_str().unwrap()),
            &w.ccapex.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(b["status"], "obsolete");

    // Both parties learn every step through the feed.
    app.feed_types_with(
        &w.ccapex.admin_token,
        &[
            "referral.submitted",
            "referral.acknowledged",
            "referral.accepted",
            "referral.declined",
            "referral.withdrawn",
            "referral.transferred",
            "referral.obsolete",
        ],
    )
    .await;
    app.feed_types_with(&w.operator.admin_token, &["referral.submitted"])
        .await;

    // Lists: boxes and filters.
    let sent: Value = app
        .get("/v1/referrals?box=sent&limit=200", &w.ccapex.admin_token)
        .await
        .json()
        .await
        .unwrap();
    // empex, avdl, sla, asll and its transfer, two iml.
    assert_eq!(sent["items"].as_array().unwrap().len(), 7);
    let received: Value = app
        .get(
            "/v1/referrals?box=received&status=accepted",
            &w.operator.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(received["items"].as_array().unwrap().len(), 2);
    // A commission never receives a referral: asking is refused, naming the filter.
    let p = problem(
        app.get("/v1/referrals?box=received", &w.ccapex.admin_token)
            .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("box".into(), "not_your_side".into())]
    );
    problem(
        app.get("/v1/referrals?box=lost", &w.ccapex.admin_token)
            .await,
        400,
    )
    .await;
}

#[actix_web::test]
async fn overdue_and_expiry_once() {
    let w = world().await;
    let app = &w.app;
    let r = w.refer(&w.ccapex, w.operator.id, "avdl").await;
    let id = r["id"].as_str().unwrap().to_owned();
    let mut conn = app.db().await;
    use diesel_async::RunQueryDsl;
    diesel::sql_query(format!(
        "UPDATE referrals SET response_due_on = '{}'::date - 3 WHERE id = '{id}'",
        passerelle::calendar::today()
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let page: Value = app
        .get("/v1/referrals?overdue=true", &w.operator.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["overdue"], true);
    let page: Value = app
        .get("/v1/referrals?overdue=false", &w.operator.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    // Within the grace period nothing expires; past it, once, even with two runs racing.
    let pool = passerelle::db::pool(&app.database_url, 4, "tests").unwrap();
    passerelle::jobs::expire_referrals(&pool, passerelle::calendar::today(), 15)
        .await
        .unwrap();
    assert_eq!(
        app.get(&format!("/v1/referrals/{id}"), &w.ccapex.admin_token)
            .await
            .json::<Value>()
            .await
            .unwrap()["status"],
        "submitted"
    );
    diesel::sql_query(format!(
        "UPDATE referrals SET response_due_on = '{}'::date - 20 WHERE id = '{id}'",
        passerelle::calendar::today()
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let (a, b) = futures::join!(
        passerelle::jobs::expire_referrals(&pool, passerelle::calendar::today(), 15),
        passerelle::jobs::expire_referrals(&pool, passerelle::calendar::today(), 15)
    );
    a.unwrap();
    b.unwrap();
    passerelle::jobs::expire_referrals(&pool, passerelle::calendar::today(), 15)
        .await
        .unwrap();
    let r: Value = app
        .get(&format!("/v1/referrals/{id}"), &w.ccapex.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "expired");
    let history: Value = app
        .get(
            &format!("/v1/referrals/{id}/history"),
            &w.ccapex.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    let expiries = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["action"] == "expire")
        .count();
    assert_eq!(expiries, 1);
    assert!(history["items"].as_array().unwrap().last().unwrap()["actor_account_id"].is_null());
}

#[actix_web::test]
async fn isolation_special_categories_and_the_journal() {
    let w = world().await;
    let app = &w.app;
    // The CCAPEX refers to the operator; the landlord is party to another referral.
    let r = w.refer(&w.ccapex, w.operator.id, "empex").await;
    let rid = r["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r["special_category_grounds"],
        json!(["domestic_violence_victim"])
    );
    let landlord_ref = {
        // The landlord refers its tenant itself (consent recorded), to the operator.
        let h: Value = app
            .post("/v1/households", &w.landlord.admin_token, &{
                let mut b = household("Roux", "Hugo", "1979-11-30");
                b["special_category_grounds"] = json!([]);
                b
            })
            .await
            .json()
            .await
            .unwrap();
        let hid = h["id"].as_str().unwrap();
        let r = app
            .request(
                Method::POST,
                &format!("/v1/households/{hid}/consent"),
                Some(&w.landlord.admin_token),
            )
            .header("if-match", "\"1\"")
            .json(&json!({"given_on": "2026-11-01"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        // The operator, party to it, adds a special ground; the landlord must never get it back.
        let r = app
            .request(
                Method::PATCH,
                &format!("/v1/households/{hid}"),
                Some(&w.landlord.admin_token),
            )
            .header("if-match", "\"2\"")
            .json(&json!({"special_category_grounds": ["psychiatric_disorder"]}))
            .send()
            .await
            .unwrap();
        problem(r, 403).await;
        let r = app.post("/v1/referrals", &w.landlord.admin_token,
            &json!({"household_id": hid, "addressee_organisation_id": w.operator.id, "measure_kind": "avdl", "reason": "Dette locative"})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let referral: Value = r.json().await.unwrap();
        let r = app
            .request(
                Method::PATCH,
                &format!("/v1/households/{hid}"),
                Some(&w.operator.admin_token),
            )
            .header("if-match", "\"2\"")
            .json(&json!({"special_category_grounds": ["psychiatric_disorder"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        (hid.to_owned(), referral)
    };
    let (hid, lref) = landlord_ref;
    let h: Value = app
        .get(&format!("/v1/households/{hid}"), &w.landlord.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(h.get("special_category_grounds").is_none(), "{h}");
    let lr: Value = app
        .get(
            &format!("/v1/referrals/{}", lref["id"].as_str().unwrap()),
            &w.landlord.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(lr.get("special_category_grounds").is_none(), "{lr}");
    let page: Value = app
        .get("/v1/households", &w.landlord.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(page["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h.get("special_category_grounds").is_none()));
    // The operator, a party, sees them (and its read is journalled).
    let before = app.count("special_category_reads").await;
    let h: Value = app
        .get(&format!("/v1/households/{hid}"), &w.operator.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        h["special_category_grounds"],
        json!(["psychiatric_disorder"])
    );
    assert_eq!(app.count("special_category_reads").await, before + 1);
    // Every read that carried special categories has its entry: count them all.
    let reads_before = app.count("special_category_reads").await;
    app.get(&format!("/v1/referrals/{rid}"), &w.operator.admin_token)
        .await;
    app.get(&format!("/v1/referrals/{rid}"), &w.ccapex.admin_token)
        .await;
    app.get("/v1/referrals?box=received", &w.operator.admin_token)
        .await;
    assert_eq!(
        app.count("special_category_reads").await,
        reads_before + 1 + 1 + 1
    );

    // A third organisation sees nothing of it.
    for path in [
        format!("/v1/households/{}", w.household),
        format!("/v1/referrals/{rid}"),
        format!("/v1/referrals/{rid}/history"),
        format!("/v1/referrals/{rid}/comments"),
    ] {
        problem(app.get(&path, &w.stranger.admin_token).await, 404).await;
    }
    problem(
        app.post(
            &format!("/v1/referrals/{rid}/comments"),
            &w.stranger.admin_token,
            &json!({"body": "intrus"}),
        )
        .await,
        404,
    )
    .await;
    let page: Value = app
        .get("/v1/referrals", &w.stranger.admin_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 0);

    // Comments, seen by both parties.
    let r = app
        .post(
            &format!("/v1/referrals/{rid}/comments"),
            &w.operator.admin_token,
            &json!({"body": "Visite à domicile le 28"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let c: Value = app
        .get(
            &format!("/v1/referrals/{rid}/comments"),
            &w.ccapex.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["items"][0]["body"], "Visite à domicile le 28");
    assert_eq!(
        c["items"][0]["author_organisation_id"],
        w.operator.id.to_string()
    );
    // The household is now visible to the operator, a party.
    assert_eq!(
        app.get(
            &format!("/v1/households/{}", w.household),
            &w.operator.admin_token
        )
        .await
        .status(),
        StatusCode::OK
    );
}

#[actix_web::test]
async fn races_and_retries() {
    let w = world().await;
    let app = &w.app;
    let r = w.refer(&w.ccapex, w.operator.id, "empex").await;
    let r = w.ok(&w.operator.admin_token, &r, "acknowledge", None).await;
    let (a, b) = futures::join!(
        w.act(&w.operator.admin_token, &r, "accept", None),
        w.act(
            &w.operator.admin_token,
            &r,
            "decline",
            Some(json!({"reason": "no_capacity"}))
        )
    );
    let mut statuses = vec![a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses[0], 200);
    assert!(statuses[1] == 412 || statuses[1] == 409, "{statuses:?}");
    let history: Value = app
        .get(
            &format!("/v1/referrals/{}/history", r["id"].as_str().unwrap()),
            &w.ccapex.admin_token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history["items"].as_array().unwrap().len(), 3);

    // An idempotent retry of a referral creates one.
    let before = app.count("referrals").await;
    let body = json!({"household_id": w.household, "addressee_organisation_id": w.other_operator.id, "measure_kind": "avdl", "reason": "Relogement",
                      "mandate": mandate()});
    let send = || {
        app.request(Method::POST, "/v1/referrals", Some(&w.ccapex.admin_token))
            .header("idempotency-key", "ref-1")
            .json(&body)
            .send()
    };
    let (x, y) = futures::join!(send(), send());
    let first = send().await.unwrap();
    assert_eq!(first.headers()["idempotent-replayed"], "true");
    for r in [x.unwrap(), y.unwrap()] {
        assert!(r.status() == StatusCode::CREATED || r.status() == StatusCode::CONFLICT);
    }
    assert_eq!(app.count("referrals").await, before + 1);
}

#[actix_web::test]
async fn each_field_rule_is_reported_and_nothing_is_written() {
    let w = world().await;
    let app = &w.app;
    let base = json!({"household_id": w.household, "addressee_organisation_id": w.operator.id, "measure_kind": "avdl", "reason": "Motif",
                      "mandate": mandate()});
    let before = app.count("referrals").await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"measure_kind": "massage"}),
            "measure_kind",
            "unknown_measure_kind",
        ),
        (
            json!({"addressee_organisation_id": w.landlord.id}),
            "addressee_organisation_id",
            "not_an_operator",
        ),
        (
            json!({"addressee_organisation_id": w.ccapex.id}),
            "addressee_organisation_id",
            "own_organisation",
        ),
        (
            json!({"addressee_organisation_id": Uuid::now_v7()}),
            "addressee_organisation_id",
            "unknown_organisation",
        ),
        (
            json!({"response_due_on": "2000-01-01"}),
            "response_due_on",
            "in_past",
        ),
        (
            json!({"household_id": Uuid::now_v7()}),
            "household_id",
            "unknown_household",
        ),
        (json!({"reason": " "}), "reason", "blank"),
    ];
    for (change, field, code) in cases {
        let mut body = base.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let p = problem(
            app.post("/v1/referrals", &w.ccapex.admin_token, &body)
                .await,
            422,
        )
        .await;
        assert_eq!(fields(&p), vec![field.to_string()], "{field}: {p}");
        assert_eq!(p["errors"][0]["code"], code, "{field}");
    }
    // Several at once, field rules and database rules together.
    let p = problem(app.post("/v1/referrals", &w.ccapex.admin_token,
        &json!({"household_id": w.household, "addressee_organisation_id": w.ccapex.id, "measure_kind": "x", "reason": " ", "response_due_on": "2000-01-01",
                "mandate": mandate()})).await, 422).await;
    assert_eq!(
        fields(&p),
        vec![
            "addressee_organisation_id",
            "measure_kind",
            "reason",
            "response_due_on"
        ]
    );
    // An association without the household's consent cannot share it.
    let h: Value = app
        .post(
            "/v1/households",
            &w.stranger.admin_token,
            &household("Blanc", "Nina", "2001-05-05"),
        )
        .await
        .json()
        .await
        .unwrap();
    let p = problem(app.post("/v1/referrals", &w.stranger.admin_token,
        &json!({"household_id": h["id"], "addressee_organisation_id": w.operator.id, "measure_kind": "avdl", "reason": "m"})).await, 422).await;
    assert_eq!(p["errors"][0]["code"], "consent_required");
    assert_eq!(app.count("referrals").await, before);
    // Viewers read but never refer.
    let (_, viewer) = app
        .person(&w.ccapex.admin_token, w.ccapex.id, "viewer")
        .await;
    problem(app.post("/v1/referrals", &viewer, &base).await, 403).await;
    let kinds: Value = app
        .get("/v1/measure-kinds", &viewer)
        .await
        .json()
        .await
        .unwrap();
    // The national kinds: Pas-de-Calais' own (ASRL, AML) are not offered in Mayenne.
    let codes: Vec<&str> = kinds["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 8, "{codes:?}");
    assert!(!codes.contains(&"asrl") && codes.contains(&"asll"));
}
