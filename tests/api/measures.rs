//! Support measures: the scenarios of SCENARIOS.md §1, §3 and §5, every state table over
//! HTTP, renewals raced, who sees what, contact notes that never leave the operator, the
//! catalogue as data, field rules.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::*;
use crate::households::household;
use crate::housing::{created, id, ok};

/// A POST with `If-Match` on a versioned resource.
/// A household the organisation registers, with its consent to sharing (a funder named
/// for its measures sees it).
async fn new_household(app: &TestApp, org: &Org, last: &str) -> Value {
    let body = household(last, "Julie", "1991-02-03");
    household_with_consent(app, &org.admin_token, &body, "2026-11-02").await
}

/// A household a landlord registers for its tenant (a landlord handles no special category),
/// with the tenant's consent to sharing.
async fn tenant(app: &TestApp, landlord: &Org, last: &str) -> Value {
    let mut body = household(last, "Julie", "1991-02-03");
    body.as_object_mut()
        .unwrap()
        .remove("special_category_grounds");
    household_with_consent(app, &landlord.admin_token, &body, "2026-11-02").await
}

async fn open(app: &TestApp, token: &str, body: Value) -> Value {
    created(app.post("/v1/measures", token, &body).await).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    ok(app.get(path, token).await).await
}

/// The measure's action `action` by `token`, with the measure's current version.
async fn measure_act(app: &TestApp, token: &str, m: &Value, action: &str, body: Value) -> Response {
    act(
        app,
        token,
        &format!("/v1/measures/{}/{action}", id(m)),
        &m["version"],
        body,
    )
    .await
}

/// SCENARIOS.md §5: the department validates an ASLL for 6 months; the worker visits every
/// fortnight; two renewals are granted (the second exceptionally, with a justification); a
/// third is refused by the rules, naming them; a late visit shows in the worker's caseload;
/// a request waiting more than 10 days shows as overdue in the department's list.
#[actix_web::test]
async fn an_asll_measure_keeps_its_rhythm_and_its_renewal_policy() {
    let day0 = spawn_app_at("2027-01-04T09:00:00Z").await;
    let department = day0.organisation_in("department", "71").await;
    let association = day0.organisation_in("association", "71").await;
    let (worker_id, worker) = day0
        .person(&association.admin_token, association.id, "worker")
        .await;
    let h = new_household(&day0, &association, "Martin").await;

    // The operator opens it; the kind needs the department's decision.
    let m = open(
        &day0,
        &worker,
        json!({"household_id": id(&h), "kind": "asll", "funder_organisation_id": department.id}),
    )
    .await;
    assert_eq!(m["status"], "proposed");
    assert_eq!(m["follow_up"]["worker_account_id"], json!(worker_id));
    assert_eq!(m["allowed_actions"], json!(["cancel"]));
    let p = problem(
        measure_act(&day0, &worker, &m, "start", json!({})).await,
        403,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("operator"), "{p}");
    // The department sees the household's name and make-up, not the follow-up.
    let seen = get(
        &day0,
        &department.admin_token,
        &format!("/v1/measures/{}", id(&m)),
    )
    .await;
    assert_eq!(seen["funding"]["household"]["last_name"], "Martin");
    assert!(seen.get("follow_up").is_none(), "{seen}");
    assert_eq!(seen["allowed_actions"], json!(["start", "cancel"]));
    let m = ok(measure_act(
        &day0,
        &department.admin_token,
        &seen,
        "start",
        json!({"comment": "CUD of 2027-01-04"}),
    )
    .await)
    .await;
    assert_eq!(m["status"], "active");
    assert_eq!(m["details"]["starts_on"], "2027-01-04");
    assert_eq!(m["planned_end_on"], "2027-07-04");
    let m = get(&day0, &worker, &format!("/v1/measures/{}", id(&m))).await;
    assert_eq!(m["follow_up"]["next_contact_due_on"], "2027-01-18");

    // February 20th: visits on the 14th and 28th of January, a phone call (which does not
    // count for the ASLL rhythm) and a missed appointment; the next visit was due on the
    // 11th of February.
    let feb = day0.at("2027-02-20T10:00:00Z").await;
    for (on, kind) in [
        ("2027-01-14", "home_visit"),
        ("2027-01-27", "phone"),
        ("2027-01-28", "home_visit"),
        ("2027-02-10", "missed_appointment"),
    ] {
        let c = created(
            feb.post(
                &format!("/v1/measures/{}/contacts", id(&m)),
                &worker,
                &json!({"occurred_on": on, "kind": kind, "duration_minutes": 45, "note": "Visite"}),
            )
            .await,
        )
        .await;
        assert_eq!(c["worker_account_id"], json!(worker_id));
    }
    let m = get(&feb, &worker, &format!("/v1/measures/{}", id(&m))).await;
    assert_eq!(m["follow_up"]["next_contact_due_on"], "2027-02-11");
    assert_eq!(m["follow_up"]["last_contact_on"], "2027-01-28");
    assert_eq!(m["follow_up"]["contact_overdue"], true);
    assert_eq!(m["funding"]["contacts_count"], 4);
    let caseload = format!("/v1/measures?worker_account_id={worker_id}&contact_overdue=true");
    let late = feb.list_all(&worker, &caseload, 10).await;
    assert_eq!(late.len(), 1);
    assert_eq!(late[0]["id"], m["id"]);
    let on_time = feb
        .list_all(
            &worker,
            &format!("/v1/measures?worker_account_id={worker_id}&contact_overdue=false"),
            10,
        )
        .await;
    assert!(on_time.is_empty());
    // The department counts contacts; it may not filter the operator's follow-up.
    let seen = get(
        &feb,
        &department.admin_token,
        &format!("/v1/measures/{}", id(&m)),
    )
    .await;
    assert_eq!(seen["funding"]["contacts_count"], 4);
    // The follow-up is the operator's: the funder's filter is refused, naming it.
    let p = problem(
        feb.get(
            "/v1/measures?as=funder&contact_overdue=true",
            &department.admin_token,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("contact_overdue".into(), "operator_only".into())]
    );
    created(
        feb.post(
            &format!("/v1/measures/{}/contacts", id(&m)),
            &worker,
            &json!({"occurred_on": "2027-02-19", "kind": "home_visit", "duration_minutes": 60}),
        )
        .await,
    )
    .await;
    let m = get(&feb, &worker, &format!("/v1/measures/{}", id(&m))).await;
    assert_eq!(m["follow_up"]["next_contact_due_on"], "2027-03-05");
    assert!(feb.list_all(&worker, &caseload, 10).await.is_empty());

    // June: the first renewal (3 months), granted from the planned end exactly.
    let june = day0.at("2027-06-25T10:00:00Z").await;
    let r1 = created(
        june.post(
            &format!("/v1/measures/{}/renewals", id(&m)),
            &worker,
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (r1["ordinal"].as_i64(), r1["months"].as_i64()),
        (Some(1), Some(3))
    );
    assert_eq!(r1["exceptional"], false);
    let waiting = june
        .list_all(
            &department.admin_token,
            "/v1/renewals?as=decider&status=requested",
            10,
        )
        .await;
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0]["allowed_actions"], json!(["grant", "refuse"]));
    // The operator does not decide its own renewal.
    problem(
        act(
            &june,
            &worker,
            &format!("/v1/renewals/{}/grant", id(&r1)),
            &r1["version"],
            json!({}),
        )
        .await,
        403,
    )
    .await;
    let r1 = ok(act(
        &june,
        &department.admin_token,
        &format!("/v1/renewals/{}/grant", id(&r1)),
        &r1["version"],
        json!({}),
    )
    .await)
    .await;
    assert_eq!(r1["status"], "granted");
    assert_eq!(r1["starts_on"], "2027-07-04");
    assert_eq!(r1["ends_on"], "2027-10-04");
    let m = get(&june, &worker, &format!("/v1/measures/{}", id(&m))).await;
    assert_eq!(m["planned_end_on"], "2027-10-04");
    assert_eq!(m["funding"]["renewals_granted"], 1);

    // September: the second is exceptional: without a justification, 422 naming it.
    let sept = day0.at("2027-09-20T10:00:00Z").await;
    let path = format!("/v1/measures/{}/renewals", id(&m));
    let p = problem(sept.post(&path, &worker, &json!({})).await, 422).await;
    assert_eq!(
        field_codes(&p),
        vec![("justification".into(), "required".into())]
    );
    let r2 = created(
        sept.post(
            &path,
            &worker,
            &json!({"justification": "Rehousing set for December"}),
        )
        .await,
    )
    .await;
    assert_eq!(r2["exceptional"], true);
    // One request at a time.
    let p = problem(
        sept.post(&path, &worker, &json!({"justification": "again"}))
            .await,
        409,
    )
    .await;
    assert_eq!(p["existing_id"], r2["id"]);
    // Eleven days later it is overdue in the department's list.
    let oct = day0.at("2027-10-01T10:00:00Z").await;
    let late = oct
        .list_all(
            &department.admin_token,
            "/v1/renewals?as=decider&overdue=true",
            10,
        )
        .await;
    assert_eq!(late.len(), 1);
    assert_eq!(late[0]["id"], r2["id"]);
    assert_eq!(late[0]["overdue"], true);
    assert!(sept
        .list_all(
            &department.admin_token,
            "/v1/renewals?as=decider&overdue=true",
            10
        )
        .await
        .is_empty());
    let r2 = ok(act(
        &oct,
        &department.admin_token,
        &format!("/v1/renewals/{}/grant", id(&r2)),
        &r2["version"],
        json!({}),
    )
    .await)
    .await;
    assert_eq!(r2["starts_on"], "2027-10-04");
    assert_eq!(r2["ends_on"], "2028-01-04");

    // A third renewal (a fourth period) is refused by the rules, naming them.
    let p = problem(
        oct.post(&path, &worker, &json!({"justification": "One more time"}))
            .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![(
            "measure.rules.renewal_policy".into(),
            "beyond_renewal_policy".into()
        )]
    );
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("3 months, then 3 months exceptionally"),
        "{p}"
    );
    assert_eq!(oct.count("renewals").await, 2);

    // The history, one step each: opened, started, renewed twice.
    let history = get(&oct, &worker, &format!("/v1/measures/{}/history", id(&m))).await;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["open", "start", "renew", "renew"]);
    assert_eq!(history["items"][1]["comment"], "CUD of 2027-01-04");
    assert_eq!(
        history["items"][1]["actor_organisation_id"],
        json!(department.id)
    );

    // The department's feed says so, without a note.
    let feed = oct
        .feed_until(&department.admin_token, "the renewals", |f| {
            f.iter().filter(|e| e["type"] == "renewal.granted").count() == 2
        })
        .await;
    let types: Vec<&str> = feed.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for t in [
        "measure.proposed",
        "measure.started",
        "measure.contact_recorded",
        "renewal.requested",
        "measure.extended",
    ] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    assert!(!serde_json::to_string(&feed).unwrap().contains("Visite"));
}

/// SCENARIOS.md §1, extended: the CCAPEX refers, the association accepts, the EMPEX measure
/// starts in the same transaction; the CCAPEX sees it start, then its outcome.
#[actix_web::test]
async fn a_ccapex_referral_starts_an_empex_measure_and_learns_its_outcome() {
    let app = spawn_app_at("2026-12-07T09:00:00Z").await;
    let ccapex = app.organisation("state_service").await;
    let association = app.organisation("association").await;
    let h = new_household(&app, &ccapex, "Lefèvre").await;
    let referral = created(
        app.post(
            "/v1/referrals",
            &ccapex.admin_token,
            &json!({"household_id": id(&h), "addressee_organisation_id": association.id,
                    "measure_kind": "empex", "reason": "Trois mois d'impayés", "desired_start": "2026-12-01"}),
        )
        .await,
    )
    .await;
    let path = |a: &str| format!("/v1/referrals/{}/{a}", id(&referral));
    let r = ok(act(
        &app,
        &association.admin_token,
        &path("acknowledge"),
        &referral["version"],
        json!({}),
    )
    .await)
    .await;
    assert_eq!(app.count("measures").await, 0);
    let r = ok(act(
        &app,
        &association.admin_token,
        &path("accept"),
        &r["version"],
        json!({}),
    )
    .await)
    .await;
    assert_eq!(r["status"], "accepted");
    // The measure came with the acceptance: active from the desired start (today, since that
    // is past), the CCAPEX (a
    // State service, as EMPEX's funders are) its funder and referrer.
    let found = app
        .list_all(
            &association.admin_token,
            &format!("/v1/measures?referral_id={}", id(&referral)),
            10,
        )
        .await;
    assert_eq!(found.len(), 1);
    let m = &found[0];
    assert_eq!(m["status"], "active");
    assert_eq!(m["details"]["kind"], "empex");
    assert_eq!(m["details"]["starts_on"], "2026-12-07");
    assert_eq!(m["details"]["origin_referral_id"], referral["id"]);
    assert_eq!(m["details"]["funder_organisation_id"], json!(ccapex.id));
    assert_eq!(m["details"]["referrer_organisation_id"], json!(ccapex.id));
    let feed = app
        .feed_until(&ccapex.admin_token, "measure.started", |f| {
            f.iter().any(|e| e["type"] == "measure.started")
        })
        .await;
    let started = feed
        .iter()
        .find(|e| e["type"] == "measure.started")
        .unwrap();
    assert_eq!(started["data"]["id"], m["id"]);

    let closed = ok(measure_act(
        &app,
        &association.admin_token,
        m,
        "close",
        json!({"outcomes": ["kept_housing"], "comment": "Plan d'apurement signé"}),
    )
    .await)
    .await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["details"]["ended_on"], "2026-12-07");
    // A visit of its last day, logged once it closed, is still taken; none after.
    created(
        app.post(
            &format!("/v1/measures/{}/contacts", id(m)),
            &association.admin_token,
            &json!({"occurred_on": "2026-12-07", "kind": "home_visit"}),
        )
        .await,
    )
    .await;
    let feed = app
        .feed_until(&ccapex.admin_token, "measure.closed", |f| {
            f.iter().any(|e| e["type"] == "measure.closed")
        })
        .await;
    let event = feed.iter().find(|e| e["type"] == "measure.closed").unwrap();
    assert_eq!(event["data"]["outcomes"], json!(["kept_housing"]));
    assert_eq!(event["data"]["status"], "closed");
    let history = get(
        &app,
        &ccapex.admin_token,
        &format!("/v1/measures/{}/history", id(m)),
    )
    .await;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["open", "close"]);
}

/// A département's own kind, with a duration, for the sliding lease of SCENARIOS.md §3
/// (Allier): the department of Allier adds it, it is offered only in Allier.
async fn allier_kind(app: &TestApp, department: &Org) -> Value {
    created(
        app.post(
            "/v1/measure-kinds",
            &department.admin_token,
            &json!({"code": "bail_glissant_03", "name": "Accompagnement bail glissant",
                    "funder": "Département de l'Allier", "duration_months": 18,
                    "outcome_codes": ["kept_housing", "rehoused", "left_without_solution", "ended_by_household"],
                    "funder_kinds": ["department"], "department_code": "03"}),
        )
        .await,
    )
    .await
}

/// SCENARIOS.md §3: the sliding lease's measure, seen by the landlord as active until its
/// planned end and nothing more; the département's kind is offered only there.
#[actix_web::test]
async fn the_landlord_of_a_sliding_lease_sees_its_measure_runs_and_until_when() {
    let app = spawn_app_at("2026-12-07T09:00:00Z").await;
    let platform = app.platform_token().await;
    let department = app.organisation_in("department", "03").await;
    let association = app.organisation_in("association", "03").await;
    let landlord = app.organisation_in("social_landlord", "03").await;
    let mayenne = app.organisation("association").await;
    let mayenne_department = app.organisation("department").await;

    // Who manages a département's kind: its department's admins only.
    let body = json!({"code": "bail_glissant_03", "name": "x", "funder": "x",
                      "outcome_codes": ["kept_housing"],
                      "funder_kinds": ["department"], "department_code": "03"});
    problem(app.post("/v1/measure-kinds", &platform, &body).await, 403).await;
    problem(
        app.post("/v1/measure-kinds", &mayenne_department.admin_token, &body)
            .await,
        403,
    )
    .await;
    problem(
        app.post("/v1/measure-kinds", &association.admin_token, &body)
            .await,
        403,
    )
    .await;
    let kind = allier_kind(&app, &department).await;
    assert_eq!(kind["department_code"], "03");
    // Offered in Allier, not in Mayenne.
    let listed = |token: String| {
        let app = &app;
        async move {
            get(app, &token, "/v1/measure-kinds").await["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["code"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert!(listed(association.admin_token.clone())
        .await
        .contains(&"bail_glissant_03".to_owned()));
    assert!(!listed(mayenne.admin_token.clone())
        .await
        .contains(&"bail_glissant_03".to_owned()));
    // Read by code, any kind is there to see (an operator runs the kinds of its referrers'
    // départements).
    let seen = get(
        &app,
        &mayenne.admin_token,
        "/v1/measure-kinds/bail_glissant_03",
    )
    .await;
    assert_eq!(seen["department_code"], "03");
    let h_mayenne = new_household(&app, &mayenne, "Roux").await;
    let p = problem(
        app.post(
            "/v1/measures",
            &mayenne.admin_token,
            &json!({"household_id": id(&h_mayenne), "kind": "bail_glissant_03",
                         "funder_organisation_id": department.id}),
        )
        .await,
        422,
    )
    .await;
    // Nor does the Allier's department fund a household of the Mayenne.
    assert_eq!(
        field_codes(&p),
        vec![
            ("kind".into(), "unknown_measure_kind".into()),
            ("funder_organisation_id".into(), "outside_territory".into())
        ]
    );

    // The family's measure, then its sub-lease naming it.
    let h = new_household(&app, &association, "Bernard").await;
    ok(act(
        &app,
        &association.admin_token,
        &format!("/v1/households/{}/consent", id(&h)),
        &h["version"],
        json!({"given_on": "2026-12-01"}),
    )
    .await)
    .await;
    let m = open(
        &app,
        &association.admin_token,
        json!({"household_id": id(&h), "kind": "bail_glissant_03", "funder_organisation_id": department.id}),
    )
    .await;
    assert_eq!(m["status"], "active");
    assert_eq!(m["planned_end_on"], "2028-06-07");
    let unit = crate::housing::unit_under_agreement(
        &app,
        &landlord,
        &association,
        crate::housing::unit_body("03185", "03100", "t3", 52000, "c", "available"),
        json!({"kind": "sliding_lease", "units_covered": 5, "starts_on": "2026-06-01"}),
    )
    .await;
    let sublease_body = json!({"unit_id": id(&unit), "household_id": id(&h), "kind": "sliding_lease",
        "starts_on": "2026-12-15", "planned_end_on": "2028-06-15", "rent_cents": 52000,
        "charges_cents": 8000, "housing_benefit_cents": 30000, "deposit_cents": 0,
        "measure_id": Uuid::now_v7()});
    let p = problem(
        app.post("/v1/subleases", &association.admin_token, &sublease_body)
            .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("measure_id".into(), "unknown_measure".into())]
    );
    let mut sublease_body = sublease_body;
    sublease_body["measure_id"] = m["id"].clone();
    let sublease = created(
        app.post("/v1/subleases", &association.admin_token, &sublease_body)
            .await,
    )
    .await;
    assert_eq!(
        sublease["support_measure"],
        json!({"id": m["id"], "status": "active", "planned_end_on": "2028-06-07"})
    );
    let seen = get(
        &app,
        &landlord.admin_token,
        &format!("/v1/subleases/{}", id(&sublease)),
    )
    .await;
    assert_eq!(seen["support_measure"]["planned_end_on"], "2028-06-07");
    // The measure itself: its status and planned end, nothing more.
    let seen = get(
        &app,
        &landlord.admin_token,
        &format!("/v1/measures/{}", id(&m)),
    )
    .await;
    let mut keys: Vec<&str> = seen
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "allowed_actions",
            "id",
            "planned_end_on",
            "status",
            "updated_at",
            "version"
        ],
        "{seen}"
    );
    assert_eq!(seen["allowed_actions"], json!([]));
    // It is in the landlord's list too, as it sees it (never an empty page for a party).
    for path in ["/v1/measures", "/v1/measures?as=landlord"] {
        let listed = app.list_all(&landlord.admin_token, path, 10).await;
        assert_eq!(listed.len(), 1, "{path}");
        assert_eq!(listed[0]["id"], m["id"]);
        assert!(listed[0].get("details").is_none(), "{}", listed[0]);
    }
    let p = problem(
        app.get("/v1/measures?as=funder", &landlord.admin_token)
            .await,
        422,
    )
    .await;
    assert_eq!(field_codes(&p), vec![("as".into(), "not_your_side".into())]);
    for sub in ["history", "contacts", "objectives", "renewals"] {
        problem(
            app.get(
                &format!("/v1/measures/{}/{sub}", id(&m)),
                &landlord.admin_token,
            )
            .await,
            403,
        )
        .await;
    }
    problem(
        measure_act(
            &app,
            &landlord.admin_token,
            &m,
            "suspend",
            json!({"reason": "household_absent", "until": "2027-01-15"}),
        )
        .await,
        403,
    )
    .await;
    // A suspension moves the planned end: the landlord is told, with no more than that.
    let m = ok(measure_act(
        &app,
        &association.admin_token,
        &m,
        "suspend",
        json!({"reason": "household_absent", "until": "2027-01-06"}),
    )
    .await)
    .await;
    assert_eq!(m["planned_end_on"], "2028-07-07");
    let feed = app
        .feed_until(&landlord.admin_token, "measure.suspended", |f| {
            f.iter().any(|e| e["type"] == "measure.suspended")
        })
        .await;
    let e = feed
        .iter()
        .find(|e| e["type"] == "measure.suspended")
        .unwrap();
    let mut keys: Vec<&str> = e["data"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        vec!["id", "planned_end_on", "status", "version"],
        "{e}"
    );
    // Anyone else: 404.
    problem(
        app.get(&format!("/v1/measures/{}", id(&m)), &mayenne.admin_token)
            .await,
        404,
    )
    .await;
    let _ = kind;
}

/// Every (state, action, party) of the measure's state table, through HTTP: 200 where the
/// table allows it, 403 when never this party's action, 409 (with what is allowed) when not
/// now; for a kind that needs a decision (ASLL) and one that does not (AVDL).
#[actix_web::test]
async fn every_state_table_cell_answers_through_http() {
    let app = spawn_app().await;
    let department = app.organisation("department").await;
    let state = app.organisation("state_service").await;
    let association = app.organisation("association").await;
    let landlord = app.organisation("social_landlord").await;
    // A referral from the landlord (not a funder kind of AVDL) makes it a reader.
    let h = tenant(&app, &landlord, "Petit").await;
    // The landlord's AVDL referral makes the household the association's too.
    let referral = created(
        app.post(
            "/v1/referrals",
            &landlord.admin_token,
            &json!({"household_id": id(&h), "addressee_organisation_id": association.id,
                "measure_kind": "avdl", "reason": "Locataire en difficulté"}),
        )
        .await,
    )
    .await;
    let until = (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string();
    let states = ["proposed", "active", "suspended", "closed", "cancelled"];
    let actions = ["start", "suspend", "resume", "close", "cancel"];
    let body = |a: &str| match a {
        "suspend" => json!({"reason": "household_request", "until": until}),
        "close" => json!({"outcomes": ["kept_housing"]}),
        "cancel" => json!({"reason": "household_declined"}),
        _ => json!({}),
    };
    for (kind, funder, needs_decision) in [("asll", &department, true), ("avdl", &state, false)] {
        // A measure of the kind in `target` state (the referrer: a referral accepted).
        // A household of its own for each (one running measure of a kind per household).
        let made = std::cell::Cell::new(0u32);
        let make = async |target: &str| -> Value {
            made.set(made.get() + 1);
            let name: String = format!("{:04}", made.get())
                .chars()
                .map(|c| (b'a' + c.to_digit(10).unwrap() as u8) as char)
                .collect();
            let household = new_household(&app, &association, &format!("Etat{kind}{name}")).await;
            let m = open(
                &app,
                &association.admin_token,
                json!({"household_id": id(&household), "kind": kind, "funder_organisation_id": funder.id}),
            )
            .await;
            let mut m = m;
            let steps: &[(&str, &Org)] = match (target, needs_decision) {
                ("proposed", _) => &[],
                ("active", true) => &[("start", funder)],
                ("active", false) => &[],
                ("suspended", true) => &[("start", funder), ("suspend", &association)],
                ("suspended", false) => &[("suspend", &association)],
                ("closed", true) => &[("start", funder), ("close", &association)],
                ("closed", false) => &[("close", &association)],
                ("cancelled", _) => &[("cancel", &association)],
                _ => unreachable!(),
            };
            for (a, who) in steps {
                m = ok(measure_act(&app, &who.admin_token, &m, a, body(a)).await).await;
            }
            m
        };
        for s in states {
            if matches!(s, "proposed" | "cancelled") && !needs_decision {
                continue; // a kind without a decision opens active: never proposed
            }
            for a in actions {
                for (party, org) in [("operator", &association), ("funder", funder)] {
                    let m = make(s).await;
                    assert_eq!(m["status"], s);
                    let may = match a {
                        "start" if needs_decision => party == "funder",
                        "start" | "suspend" | "resume" | "close" => party == "operator",
                        _ => true,
                    };
                    let to = match (s, a) {
                        ("proposed", "start") => Some("active"),
                        ("proposed", "cancel") => Some("cancelled"),
                        ("active", "suspend") => Some("suspended"),
                        ("suspended", "resume") => Some("active"),
                        ("active" | "suspended", "close") => Some("closed"),
                        _ => None,
                    };
                    // `allowed_actions`, as this party sees it, is exactly what succeeds.
                    let seen =
                        get(&app, &org.admin_token, &format!("/v1/measures/{}", id(&m))).await;
                    let listed = seen["allowed_actions"]
                        .as_array()
                        .unwrap()
                        .contains(&json!(a));
                    assert_eq!(
                        listed,
                        may && to.is_some(),
                        "{kind} {s} {a} {party}: {seen}"
                    );
                    let r = measure_act(&app, &org.admin_token, &m, a, body(a)).await;
                    match (may, to) {
                        (false, _) => {
                            problem(r, 403).await;
                        }
                        (true, Some(to)) => {
                            let after = ok(r).await;
                            assert_eq!(after["status"], to, "{kind} {s} {a} {party}");
                        }
                        (true, None) => {
                            let p = problem(r, 409).await;
                            assert_eq!(p["current_status"], s, "{kind} {s} {a} {party}");
                            assert!(!p["allowed_actions"].as_array().unwrap().contains(&json!(a)));
                        }
                    }
                }
            }
        }
    }
    // A reader (a referrer that does not fund it) never acts.
    let path = |a: &str| format!("/v1/referrals/{}/{a}", id(&referral));
    let r = ok(act(
        &app,
        &association.admin_token,
        &path("acknowledge"),
        &referral["version"],
        json!({}),
    )
    .await)
    .await;
    ok(act(
        &app,
        &association.admin_token,
        &path("accept"),
        &r["version"],
        json!({}),
    )
    .await)
    .await;
    let m = &app
        .list_all(
            &landlord.admin_token,
            &format!("/v1/measures?as=referrer&referral_id={}", id(&referral)),
            5,
        )
        .await[0];
    assert!(m["details"]["funder_organisation_id"].is_null());
    assert!(
        m.get("funding").is_none() && m.get("follow_up").is_none(),
        "{m}"
    );
    for a in actions {
        problem(
            measure_act(&app, &landlord.admin_token, m, a, body(a)).await,
            403,
        )
        .await;
    }
}

/// Eight requests for the same measure's renewal at once: one is taken, seven are told
/// which one waits.
#[actix_web::test]
async fn one_pending_renewal_holds_when_requests_race() {
    let app = spawn_app_at("2027-03-01T09:00:00Z").await;
    let department = app.organisation("department").await;
    let association = app.organisation("association").await;
    let h = new_household(&app, &association, "Course").await;
    let m = open(
        &app,
        &association.admin_token,
        json!({"household_id": id(&h), "kind": "asll", "funder_organisation_id": department.id}),
    )
    .await;
    // Started five months ago: in its renewal window.
    ok(measure_act(
        &app,
        &department.admin_token,
        &m,
        "start",
        json!({"starts_on": "2026-10-01"}),
    )
    .await)
    .await;
    let path = format!("/v1/measures/{}/renewals", id(&m));
    let requests = (0..8).map(|_| {
        app.request(Method::POST, &path, Some(&association.admin_token))
            .json(&json!({}))
            .send()
    });
    let mut statuses = Vec::new();
    let mut created_id = None;
    let mut existing = Vec::new();
    for r in futures::future::join_all(requests).await {
        let r = r.unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        if status == 201 {
            created_id = Some(body["id"].clone());
        } else {
            existing.push(body["existing_id"].clone());
        }
        statuses.push(status);
    }
    statuses.sort();
    assert_eq!(statuses, vec![201, 409, 409, 409, 409, 409, 409, 409]);
    assert!(existing.iter().all(|e| Some(e) == created_id.as_ref()));
    assert_eq!(app.count("renewals").await, 1);
}

/// Who sees what: every response and every event the funder, the referrer, the landlord
/// and a stranger get, read whole: a contact's note never reaches them.
#[actix_web::test]
async fn contact_notes_and_the_follow_up_never_leave_the_operator() {
    let app = spawn_app().await;
    let department = app.organisation("department").await;
    let association = app.organisation("association").await;
    let landlord = app.organisation("social_landlord").await;
    let stranger = app.organisation("association").await;
    let h = tenant(&app, &landlord, "Secret").await;
    // The landlord refers for ASLL (the department funds it and decides).
    let referral = created(
        app.post(
            "/v1/referrals",
            &landlord.admin_token,
            &json!({"household_id": id(&h), "addressee_organisation_id": association.id,
                "measure_kind": "asll", "reason": "Difficultés de paiement"}),
        )
        .await,
    )
    .await;
    let path = |a: &str| format!("/v1/referrals/{}/{a}", id(&referral));
    let r = ok(act(
        &app,
        &association.admin_token,
        &path("acknowledge"),
        &referral["version"],
        json!({}),
    )
    .await)
    .await;
    ok(act(
        &app,
        &association.admin_token,
        &path("accept"),
        &r["version"],
        json!({}),
    )
    .await)
    .await;
    let m = app
        .list_all(
            &association.admin_token,
            &format!("/v1/measures?referral_id={}", id(&referral)),
            5,
        )
        .await
        .remove(0);
    assert_eq!(m["status"], "proposed");
    assert!(m["details"]["funder_organisation_id"].is_null());
    // The operator names the funder, which starts it.
    let m = ok(app
        .request(
            Method::PATCH,
            &format!("/v1/measures/{}", id(&m)),
            Some(&association.admin_token),
        )
        .header("if-match", format!("\"{}\"", m["version"]))
        .json(&json!({"funder_organisation_id": department.id}))
        .send()
        .await
        .unwrap())
    .await;
    let m = ok(measure_act(
        &app,
        &department.admin_token,
        &m,
        "start",
        json!({"comment": "Validée en CUD"}),
    )
    .await)
    .await;
    const NOTE: &str = "NOTE-CONFIDENTIELLE-4242";
    let contact = created(app.post(&format!("/v1/measures/{}/contacts", id(&m)), &association.admin_token,
        &json!({"occurred_on": m["details"]["starts_on"], "kind": "home_visit", "duration_minutes": 50, "note": NOTE})).await).await;
    assert_eq!(contact["note"], NOTE);
    created(
        app.post(
            &format!("/v1/measures/{}/objectives", id(&m)),
            &association.admin_token,
            &json!({"theme": "budget", "description": "Apurer la dette"}),
        )
        .await,
    )
    .await;
    let mine = get(
        &app,
        &association.admin_token,
        &format!("/v1/measures/{}/contacts", id(&m)),
    )
    .await;
    assert_eq!(mine["items"][0]["note"], NOTE);
    // A suspension's reason and comment are the operator's words, like its notes.
    let until = (chrono::Utc::now().date_naive() + chrono::Duration::days(20)).to_string();
    let m = get(
        &app,
        &association.admin_token,
        &format!("/v1/measures/{}", id(&m)),
    )
    .await;
    let m = ok(measure_act(
        &app,
        &association.admin_token,
        &m,
        "suspend",
        json!({"reason": "other", "until": until, "comment": format!("{NOTE} hospitalisation")}),
    )
    .await)
    .await;
    // The funder sees the steps, its own words, and not the operator's.
    let history = get(
        &app,
        &department.admin_token,
        &format!("/v1/measures/{}/history", id(&m)),
    )
    .await;
    let steps: Vec<(&str, &Value, &Value)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["action"].as_str().unwrap(),
                &t["comment"],
                &t["reason_code"],
            )
        })
        .collect();
    assert_eq!(steps.len(), 3, "{history}");
    assert_eq!(steps[1], ("start", &json!("Validée en CUD"), &Value::Null));
    assert_eq!(steps[2], ("suspend", &Value::Null, &Value::Null));
    let mine = get(
        &app,
        &association.admin_token,
        &format!("/v1/measures/{}/history", id(&m)),
    )
    .await;
    assert_eq!(mine["items"][2]["reason_code"], "other");

    // The funder: the household's name and make-up, the counts; no follow-up.
    let seen = get(
        &app,
        &department.admin_token,
        &format!("/v1/measures/{}", id(&m)),
    )
    .await;
    assert_eq!(seen["funding"]["contacts_count"], 1);
    assert_eq!(seen["funding"]["household"]["last_name"], "Secret");
    assert!(seen.get("follow_up").is_none());
    // The referrer: status, dates, outcome; no household make-up, no counts.
    let seen = get(
        &app,
        &landlord.admin_token,
        &format!("/v1/measures/{}", id(&m)),
    )
    .await;
    assert_eq!(seen["details"]["kind"], "asll");
    assert!(
        seen.get("funding").is_none() && seen.get("follow_up").is_none(),
        "{seen}"
    );
    problem(
        app.get(&format!("/v1/measures/{}", id(&m)), &stranger.admin_token)
            .await,
        404,
    )
    .await;
    for who in [&department, &landlord] {
        problem(
            app.get(
                &format!("/v1/measures/{}/contacts", id(&m)),
                &who.admin_token,
            )
            .await,
            403,
        )
        .await;
        problem(
            app.get(
                &format!("/v1/measures/{}/objectives", id(&m)),
                &who.admin_token,
            )
            .await,
            403,
        )
        .await;
        let mut everything = Vec::new();
        for p in [
            format!("/v1/measures/{}", id(&m)),
            "/v1/measures".to_owned(),
            format!("/v1/measures/{}/history", id(&m)),
            "/v1/renewals".to_owned(),
        ] {
            everything.push(app.get(&p, &who.admin_token).await.text().await.unwrap());
        }
        everything.push(serde_json::to_string(&app.feed(&who.admin_token, 200).await).unwrap());
        let all = everything.join("\n");
        assert!(!all.contains(NOTE), "the note reached another organisation");
        assert!(
            !all.contains("Apurer la dette"),
            "an objective reached another organisation"
        );
    }
    // Not in the operator's own events either.
    let feed = app
        .feed_until(&association.admin_token, "measure.contact_recorded", |f| {
            f.iter().any(|e| e["type"] == "measure.contact_recorded")
        })
        .await;
    assert!(!serde_json::to_string(&feed).unwrap().contains(NOTE));
}

/// A change of the catalogue leaves running measures' rules as they started.
#[actix_web::test]
async fn a_catalogue_change_leaves_running_measures_as_they_are() {
    let app = spawn_app().await;
    let platform = app.platform_token().await;
    let department = app.organisation("department").await;
    let association = app.organisation("association").await;
    let h = new_household(&app, &association, "Regle").await;
    let before = open(
        &app,
        &association.admin_token,
        json!({"household_id": id(&h), "kind": "asll", "funder_organisation_id": department.id}),
    )
    .await;
    assert_eq!(before["funding"]["rules"]["contact_every_days"], 14);
    let version = get(&app, &platform, "/v1/measure-kinds/asll").await["version"].clone();
    assert_eq!(before["funding"]["rules"]["kind_version"], version);
    // A department admin does not change a national kind; the platform does, with If-Match.
    let kind = app.get("/v1/measure-kinds/asll", &platform).await;
    let etag = kind.headers()["etag"].to_str().unwrap().to_owned();
    let patch = |token: &str, etag: &str, body: Value| {
        app.request(Method::PATCH, "/v1/measure-kinds/asll", Some(token))
            .header("if-match", etag.to_owned())
            .json(&body)
            .send()
    };
    problem(
        patch(
            &department.admin_token,
            &etag,
            json!({"contact_every_days": 21}),
        )
        .await
        .unwrap(),
        403,
    )
    .await;
    problem(
        patch(&platform, "\"9\"", json!({"contact_every_days": 21}))
            .await
            .unwrap(),
        412,
    )
    .await;
    let p = problem(
        patch(&platform, &etag, json!({"max_total_months": 3}))
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("max_total_months".into(), "below_duration".into())]
    );
    let changed = ok(patch(
        &platform,
        &etag,
        json!({"contact_every_days": 21,
        "renewal_policy": [{"months": 6, "exceptional": false}]}),
    )
    .await
    .unwrap())
    .await;
    assert_eq!(changed["version"], version.as_i64().unwrap() + 1);
    let still = get(
        &app,
        &association.admin_token,
        &format!("/v1/measures/{}", id(&before)),
    )
    .await;
    assert_eq!(still["funding"]["rules"], before["funding"]["rules"]);
    let h2 = new_household(&app, &association, "Nouvelle").await;
    let after = open(
        &app,
        &association.admin_token,
        json!({"household_id": id(&h2), "kind": "asll", "funder_organisation_id": department.id}),
    )
    .await;
    assert_eq!(after["funding"]["rules"]["contact_every_days"], 21);
    assert_eq!(
        after["funding"]["rules"]["kind_version"],
        changed["version"]
    );
    assert_eq!(
        after["funding"]["rules"]["renewal_policy"],
        json!([{"months": 6, "exceptional": false}])
    );
}

/// Each field rule is a 422 naming its field, and nothing is written.
#[actix_web::test]
async fn each_measure_field_rule_is_a_422_naming_it() {
    let app = spawn_app_at("2027-03-01T09:00:00Z").await;
    let department = app.organisation("department").await;
    let state = app.organisation("state_service").await;
    let association = app.organisation("association").await;
    let other = app.organisation("association").await;
    let (other_account, other_worker) = app.person(&other.admin_token, other.id, "worker").await;
    let h = new_household(&app, &association, "Champs").await;
    let _ = other_worker;
    let before = app.count("measures").await;
    let p = problem(app.post("/v1/measures", &association.admin_token,
        &json!({"household_id": Uuid::now_v7(), "kind": "nope", "worker_account_id": other_account})).await, 422).await;
    assert_eq!(
        field_codes(&p),
        vec![
            ("household_id".into(), "unknown_household".into()),
            ("kind".into(), "unknown_measure_kind".into()),
            ("worker_account_id".into(), "not_in_organisation".into()),
        ]
    );
    let p = problem(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": id(&h), "kind": "asll"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("funder_organisation_id".into(), "required".into())]
    );
    let p = problem(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": id(&h), "kind": "asll", "funder_organisation_id": state.id}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("funder_organisation_id".into(), "not_a_funder".into())]
    );
    // A department does not operate measures.
    let hd = new_household(&app, &department, "Dept").await;
    let p = problem(
        app.post(
            "/v1/measures",
            &department.admin_token,
            &json!({"household_id": id(&hd), "kind": "avdl", "funder_organisation_id": state.id}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("kind".into(), "not_an_operator".into())]
    );
    assert_eq!(app.count("measures").await, before);

    let m = open(
        &app,
        &association.admin_token,
        json!({"household_id": id(&h), "kind": "avdl", "funder_organisation_id": state.id}),
    )
    .await;
    // One running measure of a kind per household and operator.
    let p = problem(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": id(&h), "kind": "avdl", "funder_organisation_id": state.id}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["existing_id"], m["id"]);
    // A start within a year of today.
    let p = problem(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": id(&h), "kind": "sla", "funder_organisation_id": association.id,
                    "starts_on": "1999-01-01"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("starts_on".into(), "out_of_range".into())]
    );
    let path = |a: &str| format!("/v1/measures/{}/{a}", id(&m));
    // Suspensions: after today, within the rules' 92 days, `other` with a comment.
    let p = problem(
        act(
            &app,
            &association.admin_token,
            &path("suspend"),
            &m["version"],
            json!({"reason": "other", "until": "2027-03-01"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![
            ("until".into(), "not_after_today".into()),
            ("comment".into(), "required".into())
        ]
    );
    let p = problem(
        act(
            &app,
            &association.admin_token,
            &path("suspend"),
            &m["version"],
            json!({"reason": "household_request", "until": "2027-06-02"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("until".into(), "beyond_max_suspension".into())]
    );
    let p = problem(
        act(
            &app,
            &association.admin_token,
            &path("suspend"),
            &m["version"],
            json!({"reason": "holidays", "until": "2027-04-02"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("reason".into(), "unknown_value".into())]
    );
    // Closing: AVDL aims at housing only; not in the future; not before the start.
    let p = problem(act(&app, &association.admin_token, &path("close"), &m["version"],
        json!({"outcomes": ["employment_or_training", "kept_housing", "kept_housing"], "ended_on": "2027-03-02"})).await, 422).await;
    assert_eq!(
        field_codes(&p),
        vec![
            ("ended_on".into(), "in_future".into()),
            ("outcomes[0]".into(), "not_for_kind".into()),
            ("outcomes[2]".into(), "duplicate".into()),
        ]
    );
    let p = problem(
        act(
            &app,
            &association.admin_token,
            &path("close"),
            &m["version"],
            json!({"outcomes": []}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["outcomes"]);
    // Contacts: not in the future, a known kind, a sensible length.
    let p = problem(
        app.post(
            &path("contacts"),
            &association.admin_token,
            &json!({"occurred_on": "2027-03-02", "kind": "home_visit", "duration_minutes": 0}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["duration_minutes", "occurred_on"]);
    let p = problem(
        app.post(
            &path("contacts"),
            &association.admin_token,
            &json!({"occurred_on": "2027-02-28", "kind": "visit"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("kind".into(), "unknown_value".into())]
    );
    let p = problem(
        app.post(
            &path("contacts"),
            &association.admin_token,
            &json!({"occurred_on": "2027-02-28", "kind": "phone"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("occurred_on".into(), "before_start".into())]
    );
    // Objectives and renewals.
    let p = problem(
        app.post(
            &path("objectives"),
            &association.admin_token,
            &json!({"theme": "budget", "description": "  "}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["description"]);
    let p = problem(
        app.post(&path("renewals"), &association.admin_token, &json!({}))
            .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("measure.rules.duration_months".into(), "no_duration".into())]
    );
    // Nothing of it was written.
    let after = get(
        &app,
        &association.admin_token,
        &format!("/v1/measures/{}", id(&m)),
    )
    .await;
    assert_eq!(after["version"], m["version"]);
    assert_eq!(app.count("measure_contacts").await, 0);
    assert_eq!(app.count("objectives").await, 0);
    assert_eq!(app.count("renewals").await, 0);
    // A refusal needs its explanation.
    let asll = open(
        &app,
        &association.admin_token,
        json!({"household_id": id(&h), "kind": "asll", "funder_organisation_id": department.id}),
    )
    .await;
    // Started five months ago: its renewal window (the last 3 months) is open.
    let asll = ok(measure_act(
        &app,
        &department.admin_token,
        &asll,
        "start",
        json!({"starts_on": "2026-10-01"}),
    )
    .await)
    .await;
    // A suspended measure's end is not settled: no renewal until it resumes.
    let asll = ok(measure_act(
        &app,
        &association.admin_token,
        &asll,
        "suspend",
        json!({"reason": "household_request", "until": "2027-03-11"}),
    )
    .await)
    .await;
    let p = problem(
        app.post(
            &format!("/v1/measures/{}/renewals", id(&asll)),
            &association.admin_token,
            &json!({}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["current_status"], "suspended");
    assert_eq!(p["allowed_actions"], json!(["resume", "close"]));
    let asll =
        ok(measure_act(&app, &association.admin_token, &asll, "resume", json!({})).await).await;
    assert_eq!(asll["status"], "active");
    let r = created(
        app.post(
            &format!("/v1/measures/{}/renewals", id(&asll)),
            &association.admin_token,
            &json!({}),
        )
        .await,
    )
    .await;
    let p = problem(
        act(
            &app,
            &department.admin_token,
            &format!("/v1/renewals/{}/refuse", id(&r)),
            &r["version"],
            json!({"reason": "objectives_met"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("explanation".into(), "required".into())]
    );
    let refused = ok(act(
        &app,
        &department.admin_token,
        &format!("/v1/renewals/{}/refuse", id(&r)),
        &r["version"],
        json!({"reason": "objectives_met", "explanation": "Le ménage paie son loyer"}),
    )
    .await)
    .await;
    assert_eq!(refused["status"], "refused");
    assert_eq!(refused["refusal_reason"], "objectives_met");
    // Catalogue rules.
    let platform = app.platform_token().await;
    let p = problem(app.post("/v1/measure-kinds", &platform,
        &json!({"code": "AVDL", "name": "", "funder": "x", "funder_kinds": [], "max_total_months": 6,
                "outcome_codes": [], "renewal_window_months": 25,
                "renewal_policy": [{"months": 0, "exceptional": false}]})).await, 422).await;
    assert_eq!(
        fields(&p),
        vec![
            "code",
            "funder_kinds",
            "max_total_months",
            "name",
            "outcome_codes",
            "renewal_policy",
            "renewal_window_months"
        ]
    );
    // Outcome codes are required (none no longer means any), and the groups that exclude
    // each other name codes of the kind, two or more, each once.
    let p = problem(app.post("/v1/measure-kinds", &platform,
        &json!({"code": "sans_issue", "name": "x", "funder": "x", "funder_kinds": ["state_service"]})).await, 422).await;
    assert_eq!(
        field_codes(&p),
        vec![("outcome_codes".into(), "required".into())]
    );
    let p = problem(app.post("/v1/measure-kinds", &platform,
        &json!({"code": "issues_croisees", "name": "x", "funder": "x", "funder_kinds": ["state_service"],
                "outcome_codes": ["kept_housing", "rehoused"],
                "exclusive_outcomes": [["kept_housing"], ["kept_housing", "deceased", "kept_housing"]]})).await, 422).await;
    assert_eq!(
        field_codes(&p),
        vec![
            ("exclusive_outcomes[0]".into(), "too_small".into()),
            (
                "exclusive_outcomes[1][1]".into(),
                "not_an_outcome_of_kind".into()
            ),
            ("exclusive_outcomes[1][2]".into(), "duplicate".into()),
        ]
    );
    // Absent, the platform's groups apply, as far as the kind offers the codes.
    let k = created(app.post("/v1/measure-kinds", &platform,
        &json!({"code": "issues_par_defaut", "name": "x", "funder": "x", "funder_kinds": ["state_service"],
                "outcome_codes": ["kept_housing", "rehoused", "employment_or_training", "deceased"]})).await).await;
    assert_eq!(
        k["exclusive_outcomes"],
        json!([
            ["kept_housing", "rehoused", "deceased"],
            ["employment_or_training", "deceased"]
        ])
    );
    assert_eq!(k["renewal_window_months"], Value::Null);
    // Codes are national: a taken code is a conflict.
    problem(app.post("/v1/measure-kinds", &platform,
        &json!({"code": "avdl", "name": "AVDL", "funder": "x", "funder_kinds": ["state_service"],
                "outcome_codes": ["kept_housing"]})).await, 409).await;
}

/// Objectives and their history; the operator's alone.
#[actix_web::test]
async fn objectives_keep_their_history() {
    let app = spawn_app().await;
    let state = app.organisation("state_service").await;
    let association = app.organisation("association").await;
    let h = new_household(&app, &association, "Objectif").await;
    let m = open(
        &app,
        &association.admin_token,
        json!({"household_id": id(&h), "kind": "avdl", "funder_organisation_id": state.id}),
    )
    .await;
    let o = created(
        app.post(
            &format!("/v1/measures/{}/objectives", id(&m)),
            &association.admin_token,
            &json!({"theme": "housing_access", "description": "Trouver un T2"}),
        )
        .await,
    )
    .await;
    assert_eq!(o["status"], "in_progress");
    let patch = |body: Value, version: &Value| {
        app.request(
            Method::PATCH,
            &format!("/v1/objectives/{}", id(&o)),
            Some(&association.admin_token),
        )
        .header("if-match", format!("\"{version}\""))
        .json(&body)
        .send()
    };
    let o2 = ok(patch(
        json!({"status": "achieved", "comment": "Bail signé"}),
        &o["version"],
    )
    .await
    .unwrap())
    .await;
    assert_eq!(o2["status"], "achieved");
    let steps: Vec<(&str, &str)> = o2["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["action"].as_str().unwrap(),
                t["to_status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(steps, vec![("set", "in_progress"), ("update", "achieved")]);
    assert_eq!(o2["history"][1]["comment"], "Bail signé");
    problem(
        patch(json!({"status": "done"}), &o2["version"])
            .await
            .unwrap(),
        422,
    )
    .await;
    // A comment belongs with a change of status.
    let p = problem(
        patch(json!({"comment": "rien"}), &o2["version"])
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("comment".into(), "without_status_change".into())]
    );
    problem(
        patch(json!({"description": "x"}), &o["version"])
            .await
            .unwrap(),
        412,
    )
    .await;
    problem(
        app.get(&format!("/v1/objectives/{}", id(&o)), &state.admin_token)
            .await,
        404,
    )
    .await;
    let listed = get(
        &app,
        &association.admin_token,
        &format!("/v1/measures/{}/objectives", id(&m)),
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let _ = StatusCode::OK;
}

/// A filter the caller may not use is refused, naming it, never a silently empty page: the
/// follow-up filters are the operator's, a caseload is one of the organisation's workers',
/// and a measure's renewals are listed by its operator and its funder.
#[actix_web::test]
async fn a_filter_the_caller_may_not_use_is_refused_naming_it() {
    let app = spawn_app_at("2027-03-01T09:00:00Z").await;
    let department = app.organisation("department").await;
    let association = app.organisation("association").await;
    let stranger = app.organisation("association").await;
    let (stranger_worker, _) = app
        .person(&stranger.admin_token, stranger.id, "worker")
        .await;
    let h = new_household(&app, &association, "Filtre").await;
    let m = open(
        &app,
        &association.admin_token,
        json!({"household_id": id(&h), "kind": "asll", "funder_organisation_id": department.id}),
    )
    .await;
    let m = ok(measure_act(
        &app,
        &department.admin_token,
        &m,
        "start",
        json!({"starts_on": "2026-10-01"}),
    )
    .await)
    .await;
    created(
        app.post(
            &format!("/v1/measures/{}/renewals", id(&m)),
            &association.admin_token,
            &json!({}),
        )
        .await,
    )
    .await;
    // The funder asking who is late: the follow-up is the operator's.
    let p = problem(
        app.get("/v1/measures?contact_overdue=true", &department.admin_token)
            .await,
        403,
    )
    .await;
    assert!(
        p["detail"].as_str().unwrap().contains("contact_overdue"),
        "{p}"
    );
    let p = problem(
        app.get("/v1/measures?as=funder&contact_overdue=true&worker_account_id=01a24940-0000-7000-8000-000000000000", &department.admin_token)
            .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![
            ("worker_account_id".into(), "operator_only".into()),
            ("contact_overdue".into(), "operator_only".into())
        ]
    );
    let p = problem(
        app.get(
            "/v1/measures?as=referrer&contact_overdue=false",
            &association.admin_token,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("contact_overdue".into(), "operator_only".into())]
    );
    let p = problem(
        app.get(
            &format!("/v1/measures?worker_account_id={stranger_worker}"),
            &association.admin_token,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("worker_account_id".into(), "not_in_organisation".into())]
    );
    // The operator gets the real answer.
    let late = app
        .list_all(
            &association.admin_token,
            "/v1/measures?contact_overdue=true",
            10,
        )
        .await;
    assert_eq!(late.len(), 1);
    // A measure's renewals: its operator's and its funder's, on their own side.
    let path = |q: &str| format!("/v1/renewals?measure_id={}{q}", id(&m));
    assert_eq!(
        app.list_all(&department.admin_token, &path(""), 10)
            .await
            .len(),
        1
    );
    assert_eq!(
        app.list_all(&association.admin_token, &path("&as=operator"), 10)
            .await
            .len(),
        1
    );
    let p = problem(
        app.get(&path("&as=operator"), &department.admin_token)
            .await,
        422,
    )
    .await;
    assert_eq!(field_codes(&p), vec![("as".into(), "not_your_side".into())]);
    let p = problem(app.get(&path(""), &stranger.admin_token).await, 422).await;
    assert_eq!(
        field_codes(&p),
        vec![("measure_id".into(), "unknown_measure".into())]
    );

    // A side the caller's kind never takes, on every list that has sides; a kind the
    // catalogue never held. Each is a 422 naming the filter.
    let landlord = app.organisation("social_landlord").await;
    for (token, path, field, code) in [
        (
            &landlord.admin_token,
            "/v1/measures?as=funder",
            "as",
            "not_your_side",
        ),
        (
            &department.admin_token,
            "/v1/measures?as=landlord",
            "as",
            "not_your_side",
        ),
        (
            &landlord.admin_token,
            "/v1/measures?as=operator",
            "as",
            "not_your_side",
        ),
        (
            &landlord.admin_token,
            "/v1/renewals?as=decider",
            "as",
            "not_your_side",
        ),
        (
            &department.admin_token,
            "/v1/renewals?as=operator",
            "as",
            "not_your_side",
        ),
        (
            &association.admin_token,
            "/v1/programmes?as=funder",
            "as",
            "not_your_side",
        ),
        (
            &landlord.admin_token,
            "/v1/programmes?as=operator",
            "as",
            "not_your_side",
        ),
        (
            &department.admin_token,
            "/v1/referrals?box=received",
            "box",
            "not_your_side",
        ),
        (
            &landlord.admin_token,
            "/v1/referrals?box=received",
            "box",
            "not_your_side",
        ),
        (
            &association.admin_token,
            "/v1/measures?kind=asl",
            "kind",
            "unknown_measure_kind",
        ),
        (
            &department.admin_token,
            "/v1/referrals?measure_kind=asl",
            "measure_kind",
            "unknown_measure_kind",
        ),
    ] {
        let p = problem(app.get(path, token).await, 422).await;
        assert_eq!(
            field_codes(&p),
            vec![(field.into(), code.into())],
            "{path}: {p}"
        );
    }
    // The sides each takes answer for real: the association operates, the department
    // funds and decides, the landlord lets.
    for (token, path, count) in [
        (
            &association.admin_token,
            "/v1/measures?as=operator&kind=asll",
            1,
        ),
        (&department.admin_token, "/v1/measures?as=funder", 1),
        (&department.admin_token, "/v1/renewals?as=decider", 1),
        (&association.admin_token, "/v1/referrals?box=received", 0),
        (&landlord.admin_token, "/v1/measures?as=landlord", 0),
        (&department.admin_token, "/v1/programmes?as=funder", 0),
    ] {
        assert_eq!(app.list_all(token, path, 10).await.len(), count, "{path}");
    }
    let p = problem(
        app.get("/v1/measures?kind=ASLL", &association.admin_token)
            .await,
        400,
    )
    .await;
    assert_eq!(field_codes(&p), vec![("kind".into(), "pattern".into())]);
}
