//! `allowed_actions` is exactly what would succeed for this caller now (issue 20,
//! CONVENTIONS.md point 8): a read-only role or token is offered nothing on any resource and
//! each action refuses it; and an action whose related objects forbid it (the measure of a
//! renewal suspended, a running measure for an accepted referral, a household without
//! consent for a transfer, a unit no longer available for a proposal, a programme without
//! places, no suspension day left, a measure that has not started) is not offered, and fails.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::households::household;
use crate::housing::{created, id, ok, World};

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    ok(app.get(path, token).await).await
}

fn listed(resource: &Value) -> Vec<String> {
    resource["allowed_actions"]
        .as_array()
        .unwrap_or_else(|| panic!("no allowed_actions in {resource}"))
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// A viewer, and a partner system granted only the read scopes, of the organisation.
async fn readers(app: &TestApp, org: &Org) -> Vec<(String, String)> {
    let (_, viewer) = app.person(&org.admin_token, org.id, "viewer").await;
    let system = app
        .system(
            &org.admin_token,
            org.id,
            "coordinator",
            &[
                "households:read",
                "referrals:read",
                "housing:read",
                "measures:read",
            ],
        )
        .await;
    vec![
        ("viewer".to_owned(), viewer),
        (
            "read-only system".to_owned(),
            app.system_token(&system).await,
        ),
    ]
}

/// For each resource (path) and the actions its type has: the party's admin is offered some,
/// a viewer and a read-only system none, and each action answers them 403.
async fn read_only_sees_no_action(app: &TestApp, org: &Org, resource: &str, actions: &[&str]) {
    let as_admin = get(app, &org.admin_token, resource).await;
    assert!(
        !listed(&as_admin).is_empty(),
        "{resource}: the admin is offered nothing"
    );
    for (who, token) in readers(app, org).await {
        let seen = get(app, &token, resource).await;
        assert_eq!(listed(&seen), Vec::<String>::new(), "{who} on {resource}");
        for a in actions {
            let p = problem(
                act(
                    app,
                    &token,
                    &format!("{resource}/{a}"),
                    &seen["version"],
                    json!({}),
                )
                .await,
                403,
            )
            .await;
            assert_eq!(
                p["type"], "/problems/insufficient-scope",
                "{who} {a} on {resource}"
            );
        }
        let again = get(app, &org.admin_token, resource).await;
        assert_eq!(again["version"], as_admin["version"], "{resource} changed");
    }
}

#[actix_web::test]
async fn a_read_only_role_or_token_is_offered_no_action_on_any_resource() {
    let w = crate::housing::world().await;
    let app = &w.app;
    let today = passerelle::calendar::today();
    let h = w.household("Lecture", true).await;
    // A referral to the other association, waiting for it.
    let referral = created(
        app.post(
            "/v1/referrals",
            &w.association.admin_token,
            &json!({"household_id": id(&h), "addressee_organisation_id": w.other_association.id,
                    "measure_kind": "avdl", "reason": "Accompagnement"}),
        )
        .await,
    )
    .await;
    read_only_sees_no_action(
        app,
        &w.other_association,
        &format!("/v1/referrals/{}", id(&referral)),
        &["acknowledge", "accept", "decline", "withdraw", "transfer"],
    )
    .await;
    // An agreement the landlord proposed, a unit, a proposal and a planned sub-lease.
    let proposed = w.agreement(3, "intermediated_rental").await;
    read_only_sees_no_action(
        app,
        &w.association,
        &format!("/v1/agreements/{}", id(&proposed)),
        &["accept", "decline", "terminate"],
    )
    .await;
    let unit = w.available_unit().await;
    let proposal = created(
        app.post(
            &format!("/v1/units/{}/proposals", id(&unit)),
            &w.association.admin_token,
            &json!({"household_id": id(&h)}),
        )
        .await,
    )
    .await;
    read_only_sees_no_action(
        app,
        &w.landlord,
        &format!("/v1/proposals/{}", id(&proposal)),
        &["accept", "decline", "withdraw"],
    )
    .await;
    let other_unit = w.available_unit().await;
    let other = w.household("Souslocation", true).await;
    let sublease = created(
        w.sublease(
            &other_unit,
            &other,
            "sliding_lease",
            &(today + chrono::Duration::days(10)).to_string(),
            &(today + chrono::Duration::days(400)).to_string(),
        )
        .await,
    )
    .await;
    read_only_sees_no_action(
        app,
        &w.association,
        &format!("/v1/subleases/{}", id(&sublease)),
        &["activate", "glide", "end"],
    )
    .await;
    // A measure and its renewal.
    let department = app.organisation("department").await;
    let m = created(
        app.post(
            "/v1/measures",
            &w.association.admin_token,
            &json!({"household_id": id(&h), "kind": "asll", "funder_organisation_id": department.id,
                    "starts_on": (today - chrono::Duration::days(150)).to_string()}),
        )
        .await,
    )
    .await;
    read_only_sees_no_action(
        app,
        &department,
        &format!("/v1/measures/{}", id(&m)),
        &["start", "suspend", "resume", "close", "cancel"],
    )
    .await;
    let m = ok(act(
        app,
        &department.admin_token,
        &format!("/v1/measures/{}/start", id(&m)),
        &m["version"],
        json!({"starts_on": (today - chrono::Duration::days(150)).to_string()}),
    )
    .await)
    .await;
    read_only_sees_no_action(
        app,
        &w.association,
        &format!("/v1/measures/{}", id(&m)),
        &["start", "suspend", "resume", "close", "cancel"],
    )
    .await;
    let renewal = created(
        app.post(
            &format!("/v1/measures/{}/renewals", id(&m)),
            &w.association.admin_token,
            &json!({}),
        )
        .await,
    )
    .await;
    for org in [&department, &w.association] {
        read_only_sees_no_action(
            app,
            org,
            &format!("/v1/renewals/{}", id(&renewal)),
            &["grant", "refuse", "withdraw"],
        )
        .await;
    }
}

/// Each action whose related objects forbid it now is not offered, and fails; what the
/// caller is offered instead succeeds.
#[actix_web::test]
async fn an_action_is_offered_only_while_what_it_depends_on_allows_it() {
    let app = spawn_app_at("2027-03-01T09:00:00Z").await;
    let department = app.organisation_in("department", "53").await;
    let state = app.organisation_in("state_service", "53").await;
    let association = app.organisation_in("association", "53").await;
    let other = app.organisation_in("association", "53").await;
    let consenting = async |last: &str| -> Value {
        let body = household(last, "Noa", "1992-03-04");
        household_with_consent(&app, &association.admin_token, &body, "2027-01-01").await
    };

    // A renewal's grant while its measure is suspended: refused, and not offered.
    let h = consenting("Suspendu").await;
    let m = created(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": id(&h), "kind": "asll", "funder_organisation_id": department.id}),
        )
        .await,
    )
    .await;
    let m = ok(act(
        &app,
        &department.admin_token,
        &format!("/v1/measures/{}/start", id(&m)),
        &m["version"],
        json!({"starts_on": "2026-10-01"}),
    )
    .await)
    .await;
    let renewal = created(
        app.post(
            &format!("/v1/measures/{}/renewals", id(&m)),
            &association.admin_token,
            &json!({}),
        )
        .await,
    )
    .await;
    let m = ok(act(
        &app,
        &association.admin_token,
        &format!("/v1/measures/{}/suspend", id(&m)),
        &m["version"],
        json!({"reason": "household_absent", "until": "2027-03-10"}),
    )
    .await)
    .await;
    let seen = get(
        &app,
        &department.admin_token,
        &format!("/v1/renewals/{}", id(&renewal)),
    )
    .await;
    assert_eq!(listed(&seen), vec!["refuse"]);
    problem(
        act(
            &app,
            &department.admin_token,
            &format!("/v1/renewals/{}/grant", id(&renewal)),
            &seen["version"],
            json!({}),
        )
        .await,
        409,
    )
    .await;
    // Resumed: the grant is offered again, and succeeds.
    ok(act(
        &app,
        &association.admin_token,
        &format!("/v1/measures/{}/resume", id(&m)),
        &m["version"],
        json!({}),
    )
    .await)
    .await;
    let seen = get(
        &app,
        &department.admin_token,
        &format!("/v1/renewals/{}", id(&renewal)),
    )
    .await;
    assert_eq!(listed(&seen), vec!["grant", "refuse"]);
    ok(act(
        &app,
        &department.admin_token,
        &format!("/v1/renewals/{}/grant", id(&seen)),
        &seen["version"],
        json!({}),
    )
    .await)
    .await;

    // A referral for a kind the household already has running with the operator: no accept.
    let h = consenting("Double").await;
    let refer = async || -> Value {
        created(
            app.post(
                "/v1/referrals",
                &association.admin_token,
                &json!({"household_id": id(&h), "addressee_organisation_id": other.id,
                        "measure_kind": "avdl", "reason": "Accompagnement vers le logement"}),
            )
            .await,
        )
        .await
    };
    let first = refer().await;
    let path = format!("/v1/referrals/{}", id(&first));
    let first = ok(act(
        &app,
        &other.admin_token,
        &format!("{path}/acknowledge"),
        &first["version"],
        json!({}),
    )
    .await)
    .await;
    ok(act(
        &app,
        &other.admin_token,
        &format!("{path}/accept"),
        &first["version"],
        json!({}),
    )
    .await)
    .await;
    let referral = refer().await;
    let path = format!("/v1/referrals/{}", id(&referral));
    let seen = get(&app, &other.admin_token, &path).await;
    let seen = ok(act(
        &app,
        &other.admin_token,
        &format!("{path}/acknowledge"),
        &seen["version"],
        json!({}),
    )
    .await)
    .await;
    assert_eq!(listed(&seen), vec!["decline", "transfer"]);
    let p = problem(
        act(
            &app,
            &other.admin_token,
            &format!("{path}/accept"),
            &seen["version"],
            json!({}),
        )
        .await,
        409,
    )
    .await;
    assert!(p["existing_id"].is_string(), "{p}");
    // Its household's consent withdrawn: no transfer either (the referrer holds no mandate).
    let current = get(
        &app,
        &association.admin_token,
        &format!("/v1/households/{}", id(&h)),
    )
    .await;
    ok(act(
        &app,
        &association.admin_token,
        &format!("/v1/households/{}/consent/withdraw", id(&h)),
        &current["version"],
        json!({}),
    )
    .await)
    .await;
    let seen = get(&app, &other.admin_token, &path).await;
    assert_eq!(listed(&seen), vec!["decline"]);
    let third = app.organisation_in("association", "53").await;
    let p = problem(
        act(
            &app,
            &other.admin_token,
            &format!("{path}/transfer"),
            &seen["version"],
            json!({"addressee_organisation_id": third.id}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![(
            "addressee_organisation_id".into(),
            "consent_required".into()
        )]
    );
    ok(act(
        &app,
        &other.admin_token,
        &format!("{path}/decline"),
        &seen["version"],
        json!({"reason": "duplicate"}),
    )
    .await)
    .await;

    // A programme without a place left: its second proposed measure is not offered a start.
    let programme = created(
        app.post(
            "/v1/programmes",
            &department.admin_token,
            &json!({"name": "Une place", "starts_on": "2027-01-01", "ends_on": "2027-12-31",
                    "department_codes": ["53"], "operator_organisation_ids": [association.id],
                    "funded": {"asll": 1}, "budget_cents": 1000}),
        )
        .await,
    )
    .await;
    let mut proposed = Vec::new();
    for last in ["Place", "Sansplace"] {
        let h = consenting(last).await;
        proposed.push(
            created(
                app.post(
                    "/v1/measures",
                    &association.admin_token,
                    &json!({"household_id": id(&h), "kind": "asll", "programme_id": programme["id"]}),
                )
                .await,
            )
            .await,
        );
    }
    let first = get(
        &app,
        &department.admin_token,
        &format!("/v1/measures/{}", id(&proposed[0])),
    )
    .await;
    assert_eq!(listed(&first), vec!["start", "cancel"]);
    ok(act(
        &app,
        &department.admin_token,
        &format!("/v1/measures/{}/start", id(&first)),
        &first["version"],
        json!({}),
    )
    .await)
    .await;
    let second = get(
        &app,
        &department.admin_token,
        &format!("/v1/measures/{}", id(&proposed[1])),
    )
    .await;
    assert_eq!(listed(&second), vec!["cancel"]);
    let p = problem(
        act(
            &app,
            &department.admin_token,
            &format!("/v1/measures/{}/start", id(&second)),
            &second["version"],
            json!({}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["code"], "programme_full", "{p}");

    // A measure not started yet (it starts next week): no close.
    let h = consenting("Avenir").await;
    let later = created(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": id(&h), "kind": "avdl", "funder_organisation_id": state.id,
                    "starts_on": "2027-03-08"}),
        )
        .await,
    )
    .await;
    assert_eq!(later["status"], "active");
    assert_eq!(listed(&later), vec!["suspend"]);
    problem(
        act(
            &app,
            &association.admin_token,
            &format!("/v1/measures/{}/close", id(&later)),
            &later["version"],
            json!({"outcomes": ["kept_housing"]}),
        )
        .await,
        422,
    )
    .await;

    // Every suspension day used: no suspension offered.
    let h = consenting("Pause").await;
    let m = created(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": id(&h), "kind": "avdl", "funder_organisation_id": state.id}),
        )
        .await,
    )
    .await;
    let m = ok(act(
        &app,
        &association.admin_token,
        &format!("/v1/measures/{}/suspend", id(&m)),
        &m["version"],
        json!({"reason": "household_absent", "until": "2027-06-01"}),
    )
    .await)
    .await;
    let june = app.at("2027-06-01T09:00:00Z").await;
    let m = ok(act(
        &june,
        &association.admin_token,
        &format!("/v1/measures/{}/resume", id(&m)),
        &m["version"],
        json!({}),
    )
    .await)
    .await;
    assert_eq!(m["funding"]["suspended_days"], 92);
    assert_eq!(listed(&m), vec!["close"]);
    let p = problem(
        act(
            &june,
            &association.admin_token,
            &format!("/v1/measures/{}/suspend", id(&m)),
            &m["version"],
            json!({"reason": "household_absent", "until": "2027-06-02"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("until".into(), "beyond_max_suspension".into())]
    );
}

/// A proposal whose unit is no longer available is not offered for acceptance (the landlord
/// may still decline it).
#[actix_web::test]
async fn a_proposal_is_accepted_only_for_an_available_unit() {
    let w: World = crate::housing::world().await;
    let app = &w.app;
    let h = w.household("Logement", true).await;
    let unit = w.available_unit().await;
    let proposal = created(
        app.post(
            &format!("/v1/units/{}/proposals", id(&unit)),
            &w.association.admin_token,
            &json!({"household_id": id(&h)}),
        )
        .await,
    )
    .await;
    let path = format!("/v1/proposals/{}", id(&proposal));
    assert_eq!(
        listed(&get(app, &w.landlord.admin_token, &path).await),
        vec!["accept", "decline"]
    );
    let current = get(
        app,
        &w.landlord.admin_token,
        &format!("/v1/units/{}", id(&unit)),
    )
    .await;
    ok(w.patch_unit(
        &w.landlord.admin_token,
        &unit,
        &current["version"],
        json!({"status": "unavailable"}),
    )
    .await)
    .await;
    let seen = get(app, &w.landlord.admin_token, &path).await;
    assert_eq!(listed(&seen), vec!["decline"]);
    let p = problem(
        act(
            app,
            &w.landlord.admin_token,
            &format!("{path}/accept"),
            &seen["version"],
            json!({}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["current_status"], "proposed");
    assert_eq!(p["allowed_actions"], json!(["decline"]));
    ok(act(
        app,
        &w.landlord.admin_token,
        &format!("{path}/decline"),
        &seen["version"],
        json!({"reason": "unit_no_longer_available"}),
    )
    .await)
    .await;
}
