//! Sharing without consent (issue 20): naming a measure's funder, directly or through a
//! programme, shares the household and passes the one sharing rule (consent in force) and
//! the funder covers the household's territory; a commission is an organisation the
//! platform designates, and its mandate (which commission, its decision's reference and
//! date) is recorded on the referral, carried by its transfers and kept for the DPO.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::households::household;
use crate::housing::{created, id, ok};

/// A household of the organisation, without consent to sharing.
async fn without_consent(app: &TestApp, org: &Org, last: &str) -> Value {
    let h = created(
        app.post(
            "/v1/households",
            &org.admin_token,
            &household(last, "Léa", "1990-06-01"),
        )
        .await,
    )
    .await;
    assert!(h["consent"].is_null());
    h
}

/// Every event of the organisation's feed that names the household or its measures.
async fn mentions(app: &TestApp, org: &Org, needle: &str) -> usize {
    app.feed(&org.admin_token, 200)
        .await
        .iter()
        .filter(|e| serde_json::to_string(e).unwrap().contains(needle))
        .count()
}

#[actix_web::test]
async fn naming_a_funder_shares_the_household_and_passes_the_sharing_rule() {
    let app = spawn_app_at("2026-12-07T09:00:00Z").await;
    let association = app.organisation_in("association", "53").await;
    let mayenne = app.organisation_in("department", "53").await;
    let elsewhere = app.organisation_in("department", "13").await;
    let ddets = app.organisation_in("state_service", "53").await;
    let h = without_consent(&app, &association, "Sansaccord").await;
    let hid = id(&h);
    assert_eq!(h["department_code"], "53");

    // An ASLL naming a department of another part of France: outside its territory, and
    // without consent either (both are said at once).
    let open = |funder: &Org, kind: &str| json!({"household_id": hid, "kind": kind, "funder_organisation_id": funder.id});
    let p = problem(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &open(&elsewhere, "asll"),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![
            ("funder_organisation_id".into(), "outside_territory".into()),
            ("funder_organisation_id".into(), "consent_required".into())
        ]
    );
    // The département's own department: no consent, no sharing.
    for (funder, kind) in [(&mayenne, "asll"), (&ddets, "avdl")] {
        let p = problem(
            app.post(
                "/v1/measures",
                &association.admin_token,
                &open(funder, kind),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(
            field_codes(&p),
            vec![("funder_organisation_id".into(), "consent_required".into())],
            "{kind}"
        );
    }
    // Through a programme: its funder would see the household too.
    let programme = created(
        app.post(
            "/v1/programmes",
            &mayenne.admin_token,
            &json!({"name": "ASLL 53", "starts_on": "2026-01-01", "ends_on": "2027-12-31",
                    "department_codes": ["53"], "operator_organisation_ids": [association.id],
                    "funded": {"asll": 10}, "budget_cents": 100_000}),
        )
        .await,
    )
    .await;
    let p = problem(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": hid, "kind": "asll", "programme_id": programme["id"]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("programme_id".into(), "consent_required".into())]
    );
    // A programme that covers another département does not fund the household.
    let programme_13 = created(
        app.post(
            "/v1/programmes",
            &elsewhere.admin_token,
            &json!({"name": "ASLL 13", "starts_on": "2026-01-01", "ends_on": "2027-12-31",
                    "department_codes": ["13"], "operator_organisation_ids": [association.id],
                    "funded": {"asll": 10}, "budget_cents": 100_000}),
        )
        .await,
    )
    .await;
    let p = problem(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": hid, "kind": "asll", "programme_id": programme_13["id"]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![
            ("programme_id".into(), "outside_territory".into()),
            ("programme_id".into(), "consent_required".into())
        ]
    );
    assert_eq!(app.count("measures").await, 0);
    assert_eq!(app.count("household_sharings").await, 0);
    // A measure without a funder shares nothing; naming one later is the same rule.
    let m = created(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": hid, "kind": "avdl"}),
        )
        .await,
    )
    .await;
    let path = format!("/v1/measures/{}", id(&m));
    let p = problem(
        patch(
            &app,
            &association.admin_token,
            &path,
            &m["version"],
            json!({"funder_organisation_id": ddets.id}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("funder_organisation_id".into(), "consent_required".into())]
    );
    problem(app.get(&path, &ddets.admin_token).await, 404).await;
    // Nothing of it reached the refused funders: no measure, no journey, no event (nor
    // webhook, which delivers the feed).
    for funder in [&mayenne, &elsewhere, &ddets] {
        problem(
            app.get(
                &format!("/v1/households/{hid}/journey"),
                &funder.admin_token,
            )
            .await,
            404,
        )
        .await;
        problem(
            app.get(&format!("/v1/households/{hid}"), &funder.admin_token)
                .await,
            404,
        )
        .await;
        assert_eq!(mentions(&app, funder, &hid).await, 0);
    }

    // With the household's consent, the funder is named and sees the household's name.
    let current = ok(app
        .get(&format!("/v1/households/{hid}"), &association.admin_token)
        .await)
    .await;
    ok(act(
        &app,
        &association.admin_token,
        &format!("/v1/households/{hid}/consent"),
        &current["version"],
        json!({"given_on": "2026-12-01", "scope": "Accompagnement vers le logement"}),
    )
    .await)
    .await;
    let m = ok(patch(
        &app,
        &association.admin_token,
        &path,
        &m["version"],
        json!({"funder_organisation_id": ddets.id}),
    )
    .await)
    .await;
    let seen = ok(app.get(&path, &ddets.admin_token).await).await;
    assert_eq!(seen["funding"]["household"]["last_name"], "Sansaccord");
    let sharings = ok(app
        .get(
            &format!("/v1/households/{hid}/sharings"),
            &association.admin_token,
        )
        .await)
    .await;
    let items = sharings["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{sharings}");
    assert_eq!(
        (
            items[0]["path"].clone(),
            items[0]["basis"].clone(),
            items[0]["organisation_id"].clone(),
            items[0]["shared_by_organisation_id"].clone(),
            items[0]["case_id"].clone(),
            items[0]["commission"].clone(),
        ),
        (
            json!("measure_funder"),
            json!("consent"),
            json!(ddets.id),
            json!(association.id),
            m["id"].clone(),
            Value::Null
        )
    );
    // A household of the territory moved: its funders cover the new one.
    let moved = ok(patch(
        &app,
        &association.admin_token,
        &format!("/v1/households/{hid}"),
        &ok(app
            .get(&format!("/v1/households/{hid}"), &association.admin_token)
            .await)
        .await["version"],
        json!({"department_code": "13"}),
    )
    .await)
    .await;
    assert_eq!(moved["department_code"], "13");
    let other = created(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": hid, "kind": "asll", "funder_organisation_id": elsewhere.id}),
        )
        .await,
    )
    .await;
    assert_eq!(
        other["details"]["funder_organisation_id"],
        json!(elsewhere.id)
    );
    // Only admins read the record of sharings.
    let (_, worker) = app
        .person(&association.admin_token, association.id, "worker")
        .await;
    problem(
        app.get(&format!("/v1/households/{hid}/sharings"), &worker)
            .await,
        403,
    )
    .await;
}

#[actix_web::test]
async fn a_commission_is_designated_and_its_mandate_recorded_and_carried() {
    let app = spawn_app().await;
    let platform = app.platform_token().await;
    let ddets = app.organisation("state_service").await;
    let association = app.organisation("association").await;
    let other = app.organisation("association").await;
    let org_path = format!("/v1/organisations/{}", ddets.id);
    let org = ok(app.get(&org_path, &ddets.admin_token).await).await;
    assert_eq!(org["commissions"], json!([]));
    // Its own admins do not make it a commission; an association is never one.
    problem(
        patch(
            &app,
            &ddets.admin_token,
            &org_path,
            &org["version"],
            json!({"commissions": ["ccapex"]}),
        )
        .await,
        403,
    )
    .await;
    let assoc = ok(app
        .get(&format!("/v1/organisations/{}", association.id), &platform)
        .await)
    .await;
    let p = problem(
        patch(
            &app,
            &platform,
            &format!("/v1/organisations/{}", association.id),
            &assoc["version"],
            json!({"commissions": ["ccapex"]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("commissions[0]".into(), "not_a_commission_kind".into())]
    );

    // Not designated yet: a State service refers without consent only under a mandate of
    // its own commission.
    let h = without_consent(&app, &ddets, "Mandat").await;
    let mut body = json!({"household_id": h["id"], "addressee_organisation_id": association.id,
                          "measure_kind": "empex", "reason": "Saisine de la CCAPEX"});
    let p = problem(
        app.post("/v1/referrals", &ddets.admin_token, &body).await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("household_id".into(), "consent_required".into())]
    );
    body["mandate"] = json!({"commission": "ccapex", "decision_reference": "CCAPEX-53-2026-0412",
                             "decided_on": "2026-11-18"});
    let p = problem(
        app.post("/v1/referrals", &ddets.admin_token, &body).await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("mandate.commission".into(), "not_your_commission".into())]
    );
    app.designate_commissions(ddets.id, &["ccapex"]).await;
    let org = ok(app.get(&org_path, &ddets.admin_token).await).await;
    assert_eq!(org["commissions"], json!(["ccapex"]));
    // Another commission's mandate, or a decision to come, is refused.
    let mut dalo = body.clone();
    dalo["mandate"]["commission"] = json!("dalo_mediation");
    let p = problem(
        app.post("/v1/referrals", &ddets.admin_token, &dalo).await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("mandate.commission".into(), "not_your_commission".into())]
    );
    let mut future = body.clone();
    future["mandate"]["decided_on"] = json!("2099-01-01");
    let p = problem(
        app.post("/v1/referrals", &ddets.admin_token, &future).await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("mandate.decided_on".into(), "in_future".into())]
    );
    assert_eq!(app.count("referrals").await, 0);
    let referral = created(app.post("/v1/referrals", &ddets.admin_token, &body).await).await;
    assert_eq!(referral["mandate"], body["mandate"]);
    let received = ok(app
        .get(
            &format!("/v1/referrals/{}", id(&referral)),
            &association.admin_token,
        )
        .await)
    .await;
    assert_eq!(received["mandate"], body["mandate"]);
    // The operator hands it on: the new referral goes on under the same mandate.
    let transferred = ok(act(
        &app,
        &association.admin_token,
        &format!("/v1/referrals/{}/transfer", id(&referral)),
        &received["version"],
        json!({"addressee_organisation_id": other.id}),
    )
    .await)
    .await;
    let linked = ok(app
        .get(
            &format!(
                "/v1/referrals/{}",
                transferred["transferred_to_id"].as_str().unwrap()
            ),
            &other.admin_token,
        )
        .await)
    .await;
    assert_eq!(linked["mandate"], body["mandate"]);
    // The DPO's record: both sharings, on the mandate, with the decision.
    let hid = id(&h);
    let all = ok(app
        .get(
            &format!("/v1/households/{hid}/sharings"),
            &ddets.admin_token,
        )
        .await)
    .await;
    let items = all["items"].as_array().unwrap();
    let summary: Vec<(Value, Value, Value, Value, Value)> = items
        .iter()
        .map(|s| {
            (
                s["path"].clone(),
                s["organisation_id"].clone(),
                s["basis"].clone(),
                s["commission"].clone(),
                s["decision_reference"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                json!("referral"),
                json!(association.id),
                json!("mandate"),
                json!("ccapex"),
                json!("CCAPEX-53-2026-0412")
            ),
            (
                json!("transfer"),
                json!(other.id),
                json!("mandate"),
                json!("ccapex"),
                json!("CCAPEX-53-2026-0412")
            ),
        ]
    );
    assert!(items
        .iter()
        .all(|s| s["decided_on"] == "2026-11-18"
            && s["shared_by_organisation_id"] == json!(ddets.id)));
    // Another organisation's admins see the sharings it received.
    let seen_by_other = ok(app
        .get(
            &format!("/v1/households/{hid}/sharings"),
            &other.admin_token,
        )
        .await)
    .await;
    assert_eq!(seen_by_other["items"].as_array().unwrap().len(), 1);
    assert_eq!(seen_by_other["items"][0]["path"], "transfer");
}
