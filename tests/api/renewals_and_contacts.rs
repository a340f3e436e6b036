//! What partners found in measures (issue 20): planned ends counted from the start through
//! renewals and suspensions, the renewal window, the commission's decision and fewer months
//! granted, a withdrawn request, a cancellation's reason, outcomes that exclude each
//! other, and contacts entered twice, corrected or removed.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::households::household;
use crate::housing::{created, id, ok};

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    ok(app.get(path, token).await).await
}

/// A household of the organisation, with its consent to sharing.
async fn consenting(app: &TestApp, org: &Org, last: &str) -> Value {
    let body = household(last, "Julie", "1991-02-03");
    household_with_consent(app, &org.admin_token, &body, "2026-08-01").await
}

/// An ASLL measure the department starts on `starts_on` (its decision).
async fn asll(
    app: &TestApp,
    association: &Org,
    department: &Org,
    last: &str,
    starts_on: &str,
) -> Value {
    let h = consenting(app, association, last).await;
    let m = created(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": id(&h), "kind": "asll", "funder_organisation_id": department.id}),
        )
        .await,
    )
    .await;
    ok(act(
        app,
        &department.admin_token,
        &format!("/v1/measures/{}/start", id(&m)),
        &m["version"],
        json!({"starts_on": starts_on}),
    )
    .await)
    .await
}

async fn ask_renewal(app: &TestApp, org: &Org, m: &Value, body: Value) -> Response {
    app.post(
        &format!("/v1/measures/{}/renewals", id(m)),
        &org.admin_token,
        &body,
    )
    .await
}

/// Issue 20: an ASLL started on 31 August 2026 ends on 28 February 2027, then on 31 May
/// and 31 August after each 3-month renewal (not 28 May and 28 August). A renewal is asked
/// in the last 3 months before the planned end only (not on the first day), and is granted
/// with the commission's decision as it took it.
#[actix_web::test]
async fn month_ends_are_counted_from_the_start_through_each_renewal() {
    let day0 = spawn_app_at("2026-08-31T08:00:00Z").await;
    let department = day0.organisation_in("department", "71").await;
    let association = day0.organisation_in("association", "71").await;
    let m = asll(&day0, &association, &department, "Aout", "2026-08-31").await;
    assert_eq!(m["planned_end_on"], "2027-02-28");

    // The first day: outside the window, naming the rule and its dates.
    let p = problem(ask_renewal(&day0, &association, &m, json!({})).await, 422).await;
    assert_eq!(
        field_codes(&p),
        vec![(
            "measure.rules.renewal_window_months".into(),
            "outside_renewal_window".into()
        )]
    );
    let message = p["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("2026-11-28") && message.contains("2027-02-28"),
        "{message}"
    );
    assert_eq!(day0.count("renewals").await, 0);

    // The window opens three months before the planned end.
    let dec = day0.at("2026-12-01T09:00:00Z").await;
    let r = created(ask_renewal(&dec, &association, &m, json!({})).await).await;
    assert_eq!(r["months"], 3);
    let seen = get(
        &dec,
        &department.admin_token,
        &format!("/v1/renewals/{}", id(&r)),
    )
    .await;
    assert_eq!(seen["allowed_actions"], json!(["grant", "refuse"]));
    assert_eq!(r["allowed_actions"], json!(["withdraw"]));
    // The decision as the CUD took it: its date, reference and comment.
    let path = format!("/v1/renewals/{}/grant", id(&r));
    for (body, field, code) in [
        (json!({"months": 4}), "months", "beyond_asked"),
        (
            json!({"decided_on": "2026-12-02"}),
            "decided_on",
            "in_future",
        ),
        (
            json!({"decided_on": "2026-11-30"}),
            "decided_on",
            "before_request",
        ),
    ] {
        let p = problem(
            act(&dec, &department.admin_token, &path, &r["version"], body).await,
            422,
        )
        .await;
        assert_eq!(field_codes(&p), vec![(field.into(), code.into())]);
    }
    let granted = ok(act(
        &dec,
        &department.admin_token,
        &path,
        &r["version"],
        json!({"decided_on": "2026-12-01", "decision_reference": "CUD-71-2026-118",
               "comment": "Relogement en cours"}),
    )
    .await)
    .await;
    assert_eq!(
        (
            granted["status"].clone(),
            granted["granted_months"].clone(),
            granted["decided_on"].clone(),
            granted["decision_reference"].clone(),
            granted["decision_comment"].clone(),
            granted["starts_on"].clone(),
            granted["ends_on"].clone(),
        ),
        (
            json!("granted"),
            json!(3),
            json!("2026-12-01"),
            json!("CUD-71-2026-118"),
            json!("Relogement en cours"),
            json!("2027-02-28"),
            json!("2027-05-31")
        )
    );
    let m = get(
        &dec,
        &association.admin_token,
        &format!("/v1/measures/{}", id(&m)),
    )
    .await;
    assert_eq!(m["planned_end_on"], "2027-05-31");

    // The second, exceptional, in its own window: 31 August, not 28 August.
    let march = day0.at("2027-03-15T09:00:00Z").await;
    let r2 = created(
        ask_renewal(
            &march,
            &association,
            &m,
            json!({"justification": "Le relogement est prévu en juillet"}),
        )
        .await,
    )
    .await;
    ok(act(
        &march,
        &department.admin_token,
        &format!("/v1/renewals/{}/grant", id(&r2)),
        &r2["version"],
        json!({}),
    )
    .await)
    .await;
    let m = get(
        &march,
        &association.admin_token,
        &format!("/v1/measures/{}", id(&m)),
    )
    .await;
    assert_eq!(m["planned_end_on"], "2027-08-31");

    // Suspended ten days and resumed: ten days later, from the start still.
    let m = ok(act(
        &march,
        &association.admin_token,
        &format!("/v1/measures/{}/suspend", id(&m)),
        &m["version"],
        json!({"reason": "household_absent", "until": "2027-04-30"}),
    )
    .await)
    .await;
    assert_eq!(m["planned_end_on"], "2027-10-16");
    let back = day0.at("2027-03-25T09:00:00Z").await;
    let m = ok(act(
        &back,
        &association.admin_token,
        &format!("/v1/measures/{}/resume", id(&m)),
        &m["version"],
        json!({}),
    )
    .await)
    .await;
    assert_eq!(m["planned_end_on"], "2027-09-10");
}

/// The decider may grant fewer months than asked; the operator may withdraw a request that
/// waits (the decider can no longer answer it, and a new one may be asked); a proposed
/// measure is cancelled with a coded reason.
#[actix_web::test]
async fn fewer_months_a_withdrawn_request_and_a_cancellation_reason() {
    let app = spawn_app_at("2027-03-01T09:00:00Z").await;
    let department = app.organisation_in("department", "71").await;
    let association = app.organisation_in("association", "71").await;
    let m = asll(&app, &association, &department, "Moins", "2026-10-01").await;
    assert_eq!(m["planned_end_on"], "2027-04-01");
    // Asked with no body at all: the spec says it may be left out.
    let r = created(
        app.request(
            Method::POST,
            &format!("/v1/measures/{}/renewals", id(&m)),
            Some(&association.admin_token),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let withdrawn = ok(act(
        &app,
        &association.admin_token,
        &format!("/v1/renewals/{}/withdraw", id(&r)),
        &r["version"],
        json!({"comment": "Le ménage a trouvé un logement"}),
    )
    .await)
    .await;
    assert_eq!(withdrawn["status"], "withdrawn");
    assert_eq!(withdrawn["allowed_actions"], json!([]));
    let p = problem(
        act(
            &app,
            &department.admin_token,
            &format!("/v1/renewals/{}/grant", id(&r)),
            &withdrawn["version"],
            json!({}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["current_status"], "withdrawn");
    // The decider never withdraws; the operator never grants.
    let r = created(ask_renewal(&app, &association, &m, json!({})).await).await;
    problem(
        act(
            &app,
            &department.admin_token,
            &format!("/v1/renewals/{}/withdraw", id(&r)),
            &r["version"],
            json!({}),
        )
        .await,
        403,
    )
    .await;
    problem(
        act(
            &app,
            &association.admin_token,
            &format!("/v1/renewals/{}/grant", id(&r)),
            &r["version"],
            json!({}),
        )
        .await,
        403,
    )
    .await;
    let granted = ok(act(
        &app,
        &department.admin_token,
        &format!("/v1/renewals/{}/grant", id(&r)),
        &r["version"],
        json!({"months": 2}),
    )
    .await)
    .await;
    assert_eq!(granted["months"], 3);
    assert_eq!(granted["granted_months"], 2);
    assert_eq!(granted["ends_on"], "2027-06-01");
    // The feed tells both parties of the withdrawal.
    app.feed_types_with(&department.admin_token, &["renewal.withdrawn"])
        .await;

    // A cancellation names its reason (`other` with a comment).
    let h = consenting(&app, &association, "Annule").await;
    let proposed = created(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": id(&h), "kind": "asll", "funder_organisation_id": department.id}),
        )
        .await,
    )
    .await;
    let path = format!("/v1/measures/{}/cancel", id(&proposed));
    let p = problem(
        act(
            &app,
            &department.admin_token,
            &path,
            &proposed["version"],
            json!({}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(field_codes(&p), vec![("reason".into(), "required".into())]);
    let p = problem(
        act(
            &app,
            &department.admin_token,
            &path,
            &proposed["version"],
            json!({"reason": "other"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(field_codes(&p), vec![("comment".into(), "required".into())]);
    let cancelled = ok(act(
        &app,
        &department.admin_token,
        &path,
        &proposed["version"],
        json!({"reason": "funder_refused", "comment": "Refus de la CUD du 28 février"}),
    )
    .await)
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        cancelled["details"]["cancellation_reason"],
        "funder_refused"
    );
    let seen = get(
        &app,
        &association.admin_token,
        &format!("/v1/measures/{}", id(&proposed)),
    )
    .await;
    assert_eq!(seen["details"]["cancellation_reason"], "funder_refused");
    let steps = get(
        &app,
        &association.admin_token,
        &format!("/v1/measures/{}/history", id(&proposed)),
    )
    .await;
    let last = steps["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["action"].clone(), last["reason_code"].clone()),
        (json!("cancel"), json!("funder_refused"))
    );
}

/// Outcomes are catalogue data with the groups that exclude each other: kept housing, left
/// without solution and a death together are refused, naming each clash; every kind lists
/// its codes.
#[actix_web::test]
async fn outcomes_that_exclude_each_other_are_refused() {
    let app = spawn_app().await;
    let state = app.organisation("state_service").await;
    let association = app.organisation("association").await;
    let kinds = get(&app, &association.admin_token, "/v1/measure-kinds").await;
    for k in kinds["items"].as_array().unwrap() {
        assert!(
            !k["outcome_codes"].as_array().unwrap().is_empty(),
            "{}: no outcome codes",
            k["code"]
        );
        for group in k["exclusive_outcomes"].as_array().unwrap() {
            assert!(group.as_array().unwrap().len() >= 2, "{k}");
        }
    }
    let h = consenting(&app, &association, "Issues").await;
    let m = created(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": id(&h), "kind": "avdl", "funder_organisation_id": state.id}),
        )
        .await,
    )
    .await;
    let path = format!("/v1/measures/{}/close", id(&m));
    let p = problem(
        act(
            &app,
            &association.admin_token,
            &path,
            &m["version"],
            json!({"outcomes": ["kept_housing", "left_without_solution", "deceased"]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![
            ("outcomes[1]".into(), "exclusive".into()),
            ("outcomes[2]".into(), "exclusive".into())
        ]
    );
    assert!(p["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("kept_housing"));
    // Nothing changed.
    let same = get(
        &app,
        &association.admin_token,
        &format!("/v1/measures/{}", id(&m)),
    )
    .await;
    assert_eq!(
        (same["status"].clone(), same["version"].clone()),
        (json!("active"), m["version"].clone())
    );
    // Outcomes of different groups go together.
    let closed = ok(act(
        &app,
        &association.admin_token,
        &path,
        &m["version"],
        json!({"outcomes": ["kept_housing", "ended_by_household"]}),
    )
    .await)
    .await;
    assert_eq!(
        closed["details"]["outcomes"],
        json!(["kept_housing", "ended_by_household"])
    );
}

/// Issue 20: the same home visit posted twice on one day is a 409 naming the first, unless
/// the body says it is another; a contact logged by mistake is corrected or removed with a
/// reason kept in its history, and the rhythm is computed again.
#[actix_web::test]
async fn contacts_entered_twice_corrected_or_removed() {
    let app = spawn_app_at("2027-01-04T09:00:00Z").await;
    let department = app.organisation_in("department", "71").await;
    let association = app.organisation_in("association", "71").await;
    let m = asll(&app, &association, &department, "Visites", "2027-01-04").await;
    let feb = app.at("2027-02-01T09:00:00Z").await;
    let contacts = format!("/v1/measures/{}/contacts", id(&m));
    let visit = json!({"occurred_on": "2027-01-14", "kind": "home_visit", "duration_minutes": 60,
                       "note": "Budget revu ensemble"});
    let first = created(feb.post(&contacts, &association.admin_token, &visit).await).await;
    let follow_up = |m: &Value| m["follow_up"].clone();
    let measure = get(
        &feb,
        &association.admin_token,
        &format!("/v1/measures/{}", id(&m)),
    )
    .await;
    assert_eq!(follow_up(&measure)["next_contact_due_on"], "2027-01-28");
    // The same visit again: refused, naming the first.
    let p = problem(
        feb.post(&contacts, &association.admin_token, &visit).await,
        409,
    )
    .await;
    assert_eq!(p["existing_id"], first["id"]);
    // Another visit that day, said so.
    let mut again = visit.clone();
    again["distinct"] = json!(true);
    let second = created(feb.post(&contacts, &association.admin_token, &again).await).await;
    let measure = get(
        &feb,
        &association.admin_token,
        &format!("/v1/measures/{}", id(&m)),
    )
    .await;
    assert_eq!(measure["funding"]["contacts_count"], 2);

    // The second was a mistake after all: removed, with its reason.
    let remove = format!("/v1/contacts/{}/remove", id(&second));
    let p = problem(
        act(
            &feb,
            &association.admin_token,
            &remove,
            &second["version"],
            json!({}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(field_codes(&p), vec![("reason".into(), "required".into())]);
    let removed = ok(act(
        &feb,
        &association.admin_token,
        &remove,
        &second["version"],
        json!({"reason": "Saisie en double"}),
    )
    .await)
    .await;
    assert_eq!(removed["removal_reason"], "Saisie en double");
    assert!(removed["removed_at"].is_string());
    let measure = get(
        &feb,
        &association.admin_token,
        &format!("/v1/measures/{}", id(&m)),
    )
    .await;
    assert_eq!(measure["funding"]["contacts_count"], 1);
    let listed = get(&feb, &association.admin_token, &contacts).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let all = get(
        &feb,
        &association.admin_token,
        &format!("{contacts}?include_removed=true"),
    )
    .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    // A removed contact stays as it was.
    problem(
        act(
            &feb,
            &association.admin_token,
            &format!("/v1/contacts/{}/correct", id(&second)),
            &removed["version"],
            json!({"reason": "x", "kind": "phone"}),
        )
        .await,
        409,
    )
    .await;

    // The first was on the 20th, not the 14th: corrected, the rhythm computed again.
    let correct = format!("/v1/contacts/{}/correct", id(&first));
    let p = problem(
        act(
            &feb,
            &association.admin_token,
            &correct,
            &first["version"],
            json!({"occurred_on": "2026-12-01", "reason": "Mauvaise date"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("occurred_on".into(), "before_start".into())]
    );
    let corrected = ok(act(
        &feb,
        &association.admin_token,
        &correct,
        &first["version"],
        json!({"occurred_on": "2027-01-20", "reason": "Saisie à la mauvaise date"}),
    )
    .await)
    .await;
    assert_eq!(corrected["occurred_on"], "2027-01-20");
    assert_eq!(corrected["note"], "Budget revu ensemble");
    assert_eq!(corrected["version"], 2);
    let measure = get(
        &feb,
        &association.admin_token,
        &format!("/v1/measures/{}", id(&m)),
    )
    .await;
    assert_eq!(follow_up(&measure)["next_contact_due_on"], "2027-02-03");
    assert_eq!(follow_up(&measure)["last_contact_on"], "2027-01-20");
    let history = get(
        &feb,
        &association.admin_token,
        &format!("/v1/contacts/{}/history", id(&first)),
    )
    .await;
    let steps = history["items"].as_array().unwrap();
    assert_eq!(
        steps
            .iter()
            .map(|s| s["action"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["record", "correct"]
    );
    assert_eq!(steps[1]["comment"], "Saisie à la mauvaise date");
    assert_eq!(steps[1]["details"]["occurred_on"], "2027-01-14");
    // Removing the only visit: the next one is due from the start again.
    let removed = ok(act(
        &feb,
        &association.admin_token,
        &format!("/v1/contacts/{}/remove", id(&first)),
        &corrected["version"],
        json!({"reason": "Visite annulée"}),
    )
    .await)
    .await;
    assert!(removed["removed_at"].is_string());
    let measure = get(
        &feb,
        &association.admin_token,
        &format!("/v1/measures/{}", id(&m)),
    )
    .await;
    assert_eq!(follow_up(&measure)["next_contact_due_on"], "2027-01-18");
    assert_eq!(follow_up(&measure)["last_contact_on"], Value::Null);
    assert_eq!(follow_up(&measure)["contact_overdue"], true);
    // The funder is told, with the count and never the note; it cannot touch a contact.
    let feed = feb
        .feed_until(&department.admin_token, "measure.contact_removed", |f| {
            f.iter()
                .filter(|e| e["type"] == "measure.contact_removed")
                .count()
                == 2
                && f.iter().any(|e| e["type"] == "measure.contact_corrected")
        })
        .await;
    assert!(!serde_json::to_string(&feed)
        .unwrap()
        .contains("Budget revu"));
    problem(
        act(
            &feb,
            &department.admin_token,
            &format!("/v1/contacts/{}/correct", id(&first)),
            &removed["version"],
            json!({"reason": "x"}),
        )
        .await,
        404,
    )
    .await;

    // Closed on 31 January: a visit of its last days is still logged, none after its end.
    let measure = get(
        &feb,
        &association.admin_token,
        &format!("/v1/measures/{}", id(&m)),
    )
    .await;
    ok(act(
        &feb,
        &association.admin_token,
        &format!("/v1/measures/{}/close", id(&m)),
        &measure["version"],
        json!({"outcomes": ["kept_housing"], "ended_on": "2027-01-31"}),
    )
    .await)
    .await;
    let after = json!({"occurred_on": "2027-02-01", "kind": "phone"});
    let p = problem(
        feb.post(&contacts, &association.admin_token, &after).await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("occurred_on".into(), "after_end".into())]
    );
    let late = created(
        feb.post(
            &contacts,
            &association.admin_token,
            &json!({"occurred_on": "2027-01-30", "kind": "phone"}),
        )
        .await,
    )
    .await;
    let p = problem(
        act(
            &feb,
            &association.admin_token,
            &format!("/v1/contacts/{}/correct", id(&late)),
            &late["version"],
            json!({"occurred_on": "2027-02-01", "reason": "Mauvaise date"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("occurred_on".into(), "after_end".into())]
    );
}
