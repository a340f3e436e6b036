//! Programmes and what funders see: SCENARIOS.md §4 (places used, the 46th start refused,
//! the number raised, the last place raced), AGIR's targets, indicators computed by hand
//! on a data set built here with the clock set per step, an operator's own figures, a
//! stranger's 404, no household in an indicator, and the journey of §2's couple as each
//! party sees it.

use std::collections::HashMap;

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::households::household;
use crate::housing::{created, id, ok};

/// A household the organisation registers, with consent to sharing. `special`: with a
/// special-category ground (on the household; referrals carry none unless asked).
async fn household_of(app: &TestApp, org: &Org, last: &str) -> Value {
    let body = household(last, "Camille", "2004-05-06");
    household_with_consent(app, &org.admin_token, &body, "2026-01-05").await
}

fn capacity(p: &Value, kind: &str) -> (i64, i64, i64) {
    let c = p["capacity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {p}"));
    (
        c["used"].as_i64().unwrap(),
        c["funded"].as_i64().unwrap(),
        c["available"].as_i64().unwrap(),
    )
}

/// An ASRL measure the operator opens under the programme (ASRL needs no decision: it
/// starts at once and takes a place).
async fn asrl_measure(app: &TestApp, operator: &Org, programme: &Value, last: &str) -> Response {
    let h = household_of(app, operator, last).await;
    app.post(
        "/v1/measures",
        &operator.admin_token,
        &json!({"household_id": id(&h), "kind": "asrl", "programme_id": programme["id"],
                "starts_on": "2026-12-07"}),
    )
    .await
}

/// SCENARIOS.md §4: the Pas-de-Calais department funds 45 ASRL and 58 AML measures
/// (515 000 € for both) over two years; a young person of 22 leaving child welfare is
/// referred by a hosting structure for ASRL; the programme shows 31 of 45 in use; the 46th
/// start is refused naming used and funded; the department raises the number; two
/// operators race for the last place and exactly one wins.
#[actix_web::test]
async fn scenario_4_a_programme_counts_its_places_and_refuses_the_one_too_many() {
    let app = spawn_app_at("2026-12-07T09:00:00Z").await;
    let department = app.organisation_in("department", "62").await;
    let association = app.organisation_in("association", "62").await;
    let other = app.organisation_in("association", "62").await;
    let hosting = app.organisation_in("association", "62").await;
    let stranger = app.organisation_in("department", "59").await;

    let programme = created(
        app.post(
            "/v1/programmes",
            &department.admin_token,
            &json!({"name": "Logement d'abord — ASRL et AML 2026-2027", "starts_on": "2026-01-01",
                    "ends_on": "2027-12-31", "department_codes": ["62"],
                    "operator_organisation_ids": [association.id, other.id],
                    "funded": {"asrl": 45, "aml_logement_dabord": 58}, "budget_cents": 51_500_000i64}),
        )
        .await,
    )
    .await;
    assert_eq!(capacity(&programme, "asrl"), (0, 45, 45));
    assert_eq!(capacity(&programme, "aml_logement_dabord"), (0, 58, 58));
    assert_eq!(programme["budget_cents"], 51_500_000i64);
    // The operators learn of it.
    app.feed_types_with(&association.admin_token, &["programme.created"])
        .await;

    // 30 ASRL measures started under it.
    for i in 0..30 {
        let r = asrl_measure(&app, &association, &programme, &format!("Asrl{i}")).await;
        assert_eq!(r.status(), 201, "{:?}", r.text().await);
    }
    // The young person leaving child welfare, referred by a hosting structure: the
    // association accepts, the measure starts, then joins the programme: 31 of 45.
    let young = household_of(&app, &hosting, "Jeune").await;
    let referral = created(
        app.post(
            "/v1/referrals",
            &hosting.admin_token,
            &json!({"household_id": id(&young), "addressee_organisation_id": association.id,
                    "measure_kind": "asrl", "reason": "22 ans, sortie de l'aide sociale à l'enfance"}),
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
    let measures = ok(app
        .get(
            &format!("/v1/measures?referral_id={}", id(&referral)),
            &association.admin_token,
        )
        .await)
    .await;
    let m = &measures["items"][0];
    assert_eq!(m["status"], "active");
    let m = ok(patch(
        &app,
        &association.admin_token,
        &format!("/v1/measures/{}", id(m)),
        &m["version"],
        json!({"programme_id": programme["id"]}),
    )
    .await)
    .await;
    assert_eq!(m["details"]["programme_id"], programme["id"]);
    // The programme's funder became the measure's funder.
    assert_eq!(m["details"]["funder_organisation_id"], json!(department.id));
    let seen = ok(app
        .get(
            &format!("/v1/programmes/{}", id(&programme)),
            &department.admin_token,
        )
        .await)
    .await;
    assert_eq!(capacity(&seen, "asrl"), (31, 45, 14), "31 of 45 in use");
    // The funded operator sees it too; a stranger does not learn it exists.
    let by_operator = ok(app
        .get(
            &format!("/v1/programmes/{}", id(&programme)),
            &association.admin_token,
        )
        .await)
    .await;
    assert_eq!(capacity(&by_operator, "asrl"), (31, 45, 14));
    for path in [
        format!("/v1/programmes/{}", id(&programme)),
        format!("/v1/programmes/{}/indicators", id(&programme)),
    ] {
        problem(app.get(&path, &stranger.admin_token).await, 404).await;
        problem(app.get(&path, &hosting.admin_token).await, 404).await;
    }
    let listed = ok(app.get("/v1/programmes", &stranger.admin_token).await).await;
    assert_eq!(listed["items"], json!([]));
    let listed = ok(app
        .get("/v1/programmes?as=operator", &other.admin_token)
        .await)
    .await;
    assert_eq!(listed["items"][0]["id"], programme["id"]);

    // Up to 45, then the 46th is refused naming used and funded; nothing is stored.
    for i in 31..45 {
        let r = asrl_measure(&app, &other, &programme, &format!("Asrl{i}")).await;
        assert_eq!(r.status(), 201);
    }
    let before = app.count("measures").await;
    let p = problem(
        asrl_measure(&app, &association, &programme, "Asrl45").await,
        409,
    )
    .await;
    assert_eq!(p["code"], "programme_full");
    assert_eq!(
        (p["used"].clone(), p["funded"].clone()),
        (json!(45), json!(45))
    );
    assert_eq!(p["kind"], "asrl");
    assert!(p["detail"].as_str().unwrap().contains("45 of 45"), "{p}");
    assert_eq!(app.count("measures").await, before);
    // A measure the operator opened outside the programme cannot join it either.
    let outside = created(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": id(&household_of(&app, &association, "Dehors").await), "kind": "asrl"}),
        )
        .await,
    )
    .await;
    let p = problem(
        patch(
            &app,
            &association.admin_token,
            &format!("/v1/measures/{}", id(&outside)),
            &outside["version"],
            json!({"programme_id": programme["id"]}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(p["code"], "programme_full");

    // Only the funder changes it, never below what is used; then it raises ASRL to 46.
    let current = ok(app
        .get(
            &format!("/v1/programmes/{}", id(&programme)),
            &department.admin_token,
        )
        .await)
    .await;
    let prog_path = format!("/v1/programmes/{}", id(&programme));
    problem(
        patch(
            &app,
            &association.admin_token,
            &prog_path,
            &current["version"],
            json!({"funded": {"asrl": 46}}),
        )
        .await,
        403,
    )
    .await;
    let p = problem(
        patch(
            &app,
            &department.admin_token,
            &prog_path,
            &current["version"],
            json!({"funded": {"asrl": 44}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("funded.asrl".into(), "below_used".into())]
    );
    let p = problem(
        patch(
            &app,
            &department.admin_token,
            &prog_path,
            &current["version"],
            json!({"funded": {"asrl": null}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("funded.asrl".into(), "in_use".into())]
    );
    let raised = ok(patch(
        &app,
        &department.admin_token,
        &prog_path,
        &current["version"],
        json!({"funded": {"asrl": 46}}),
    )
    .await)
    .await;
    assert_eq!(capacity(&raised, "asrl"), (45, 46, 1));
    // AML is left as it was (the map merges key by key).
    assert_eq!(capacity(&raised, "aml_logement_dabord"), (0, 58, 58));
    assert_eq!(raised["version"], current["version"].as_i64().unwrap() + 1);
    app.feed_types_with(&other.admin_token, &["programme.updated"])
        .await;

    // Two operators race for the last place, four requests each: exactly one wins.
    let mut households = Vec::new();
    for (i, org) in [&association, &other]
        .into_iter()
        .cycle()
        .take(8)
        .enumerate()
    {
        households.push((org, household_of(&app, org, &format!("Course{i}")).await));
    }
    let bodies: Vec<(&Org, Value)> = households
        .iter()
        .map(|(org, h)| {
            (
                *org,
                json!({"household_id": id(h), "kind": "asrl", "programme_id": programme["id"]}),
            )
        })
        .collect();
    let results = futures::future::join_all(
        bodies
            .iter()
            .map(|(org, body)| app.post("/v1/measures", &org.admin_token, body)),
    )
    .await;
    let mut statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, vec![201, 409, 409, 409, 409, 409, 409, 409]);
    let seen = ok(app.get(&prog_path, &department.admin_token).await).await;
    assert_eq!(capacity(&seen, "asrl"), (46, 46, 0));
    let mut conn = app.db().await;
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM measures WHERE programme_id = '{}' AND started_at IS NOT NULL",
        id(&programme)
    ))
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        n.n, 46,
        "the counter is the measures started under the programme"
    );
    // The funder lists them (it funds them all); each operator its own.
    let path = format!("/v1/measures?programme_id={}", id(&programme));
    assert_eq!(
        app.list_all(&department.admin_token, &path, 20).await.len(),
        46
    );
    let own = app
        .list_all(&other.admin_token, &format!("{path}&as=operator"), 20)
        .await;
    assert!(!own.is_empty());
    assert!(own
        .iter()
        .all(|m| m["details"]["operator_organisation_id"] == json!(other.id)));
}

/// A target is compared on exact counts: 17 of 21 closed measures (80.95 %) shows 81.0 % and
/// does not meet a target of 81 %; it meets one of 80 %.
#[actix_web::test]
async fn a_target_is_compared_on_exact_counts_not_on_the_rounded_percent() {
    let app = spawn_app_at("2026-12-07T09:00:00Z").await;
    let ddets = app.organisation_in("state_service", "53").await;
    let association = app.organisation_in("association", "53").await;
    let programme = created(
        app.post(
            "/v1/programmes",
            &ddets.admin_token,
            &json!({"name": "AGIR, cibles exactes", "starts_on": "2026-01-01", "ends_on": "2026-12-31",
                    "department_codes": ["53"], "operator_organisation_ids": [association.id],
                    "funded": {"agir": 25}, "budget_cents": 1_000_000,
                    "targets": [
                        {"kind": "agir", "outcomes": ["employment_or_training"], "at_least_percent": 81},
                        {"kind": "agir", "outcomes": ["employment_or_training"], "at_least_percent": 80}
                    ]}),
        )
        .await,
    )
    .await;
    for i in 0..21 {
        let h = household_of(&app, &association, &format!("Exact{i}")).await;
        let m = created(
            app.post(
                "/v1/measures",
                &association.admin_token,
                &json!({"household_id": id(&h), "kind": "agir", "programme_id": programme["id"],
                        "starts_on": "2026-06-01"}),
            )
            .await,
        )
        .await;
        let outcomes = if i < 17 {
            json!(["employment_or_training"])
        } else {
            json!(["left_without_solution"])
        };
        ok(act(
            &app,
            &association.admin_token,
            &format!("/v1/measures/{}/close", id(&m)),
            &m["version"],
            json!({"outcomes": outcomes}),
        )
        .await)
        .await;
    }
    let ind = ok(app
        .get(
            &format!("/v1/programmes/{}/indicators", id(&programme)),
            &ddets.admin_token,
        )
        .await)
    .await;
    let t = &ind["targets"];
    for (target, at_least, met) in [(&t[0], 81, false), (&t[1], 80, true)] {
        assert_eq!(
            (
                target["at_least_percent"].clone(),
                target["closed"].clone(),
                target["meeting"].clone(),
                target["percent"].clone(),
                target["met"].clone()
            ),
            (
                json!(at_least),
                json!(21),
                json!(17),
                json!(81.0),
                json!(met)
            ),
            "{ind}"
        );
    }
}

/// AGIR (State): at least 60 % of closed measures to employment or training (met: 4 of 5),
/// at least 80 % to housing (missed: 3 of 5).
#[actix_web::test]
async fn an_agir_programme_meets_one_target_and_misses_the_other() {
    let app = spawn_app_at("2026-12-07T09:00:00Z").await;
    let ddets = app.organisation_in("state_service", "53").await;
    let association = app.organisation_in("association", "53").await;
    let programme = created(
        app.post(
            "/v1/programmes",
            &ddets.admin_token,
            &json!({"name": "AGIR Mayenne 2026", "starts_on": "2026-01-01", "ends_on": "2026-12-31",
                    "department_codes": ["53"], "operator_organisation_ids": [association.id],
                    "funded": {"agir": 20}, "budget_cents": 12_000_000,
                    "targets": [
                        {"kind": "agir", "outcomes": ["employment_or_training"], "at_least_percent": 60},
                        {"kind": "agir", "outcomes": ["accessed_housing", "kept_housing", "rehoused"], "at_least_percent": 80}
                    ]}),
        )
        .await,
    )
    .await;
    let outcomes = [
        json!(["employment_or_training", "accessed_housing"]),
        json!(["employment_or_training", "accessed_housing"]),
        json!(["employment_or_training", "rehoused"]),
        json!(["left_without_solution"]),
        json!(["employment_or_training"]),
    ];
    for (i, o) in outcomes.iter().enumerate() {
        let h = household_of(&app, &association, &format!("Agir{i}")).await;
        let m = created(
            app.post(
                "/v1/measures",
                &association.admin_token,
                &json!({"household_id": id(&h), "kind": "agir", "programme_id": programme["id"],
                        "starts_on": "2026-06-01"}),
            )
            .await,
        )
        .await;
        ok(act(
            &app,
            &association.admin_token,
            &format!("/v1/measures/{}/close", id(&m)),
            &m["version"],
            json!({"outcomes": o}),
        )
        .await)
        .await;
    }
    let ind = ok(app
        .get(
            &format!("/v1/programmes/{}/indicators", id(&programme)),
            &ddets.admin_token,
        )
        .await)
    .await;
    assert_eq!(ind["closed"], 5);
    let t = &ind["targets"];
    assert_eq!(
        (
            t[0]["closed"].clone(),
            t[0]["meeting"].clone(),
            t[0]["percent"].clone(),
            t[0]["met"].clone()
        ),
        (json!(5), json!(4), json!(80.0), json!(true)),
        "{ind}"
    );
    assert_eq!(
        (
            t[1]["closed"].clone(),
            t[1]["meeting"].clone(),
            t[1]["percent"].clone(),
            t[1]["met"].clone()
        ),
        (json!(5), json!(3), json!(60.0), json!(false)),
        "{ind}"
    );
    assert_eq!(
        ind["outcomes"],
        json!([{"outcome": "accessed_housing", "count": 2}, {"outcome": "employment_or_training", "count": 4},
               {"outcome": "left_without_solution", "count": 1}, {"outcome": "rehoused", "count": 1}])
    );
    assert_eq!(
        ind["measures"],
        json!([{"kind": "agir", "started": 5, "active": 0, "closed": 5}])
    );
}

/// Servers of one world at instants `hours` after `start`, made once each.
struct Clock<'a> {
    base: &'a TestApp,
    start: chrono::DateTime<chrono::Utc>,
    servers: HashMap<i64, TestApp>,
}

impl<'a> Clock<'a> {
    fn new(base: &'a TestApp, start: &str) -> Self {
        Clock {
            base,
            start: start.parse().unwrap(),
            servers: HashMap::new(),
        }
    }

    /// The server whose clock reads `start` + `hours`.
    async fn at(&mut self, hours: i64) -> &TestApp {
        if !self.servers.contains_key(&hours) {
            let instant = self.start + chrono::Duration::hours(hours);
            let app = self.base.at(&instant.to_rfc3339()).await;
            self.servers.insert(hours, app);
        }
        &self.servers[&hours]
    }

    fn date(&self, hours: i64) -> String {
        (self.start + chrono::Duration::hours(hours))
            .date_naive()
            .to_string()
    }
}

async fn referral_act(app: &TestApp, token: &str, r: &Value, action: &str, body: Value) -> Value {
    ok(act(
        app,
        token,
        &format!("/v1/referrals/{}/{action}", id(r)),
        &r["version"],
        body,
    )
    .await)
    .await
}

async fn measure_of(app: &TestApp, token: &str, referral: &Value) -> Value {
    ok(app
        .get(&format!("/v1/measures?referral_id={}", id(referral)), token)
        .await)
    .await["items"][0]
        .clone()
}

async fn fresh(app: &TestApp, token: &str, path: &str) -> Value {
    ok(app.get(path, token).await).await
}

/// Indicators on a small data set built step by step, each step at its own instant, with
/// every median, percentile, count and share computed by hand below; delays unchanged when
/// an editable date is changed; an operator's own figures; no household identifier in any
/// indicator response.
#[actix_web::test]
async fn indicators_are_the_figures_computed_by_hand() {
    const DAY: i64 = 24;
    // S: every referral of the programme is submitted on 2026-03-02 at 09:00 UTC.
    let base = spawn_app_at("2026-02-20T09:00:00Z").await;
    let mut clock = Clock::new(&base, "2026-03-02T09:00:00Z");
    let department = base.organisation_in("department", "71").await;
    let operator = base.organisation_in("association", "71").await;
    let other_operator = base.organisation_in("association", "71").await;
    let hosting = base.organisation_in("association", "71").await;
    let landlord = base.organisation_in("social_landlord", "71").await;
    // The renewal window is catalogue data: this data set asks renewals in the first weeks,
    // so the platform opens it over the whole 6 months (measures opened from now on).
    let platform = base.platform_token().await;
    let asll = ok(base.get("/v1/measure-kinds/asll", &platform).await).await;
    ok(patch(
        &base,
        &platform,
        "/v1/measure-kinds/asll",
        &asll["version"],
        json!({"renewal_window_months": 6}),
    )
    .await)
    .await;
    let programme = created(
        base.post(
            "/v1/programmes",
            &department.admin_token,
            &json!({"name": "FSL ASLL 2026", "starts_on": "2026-01-01", "ends_on": "2026-12-31",
                    "department_codes": ["71"],
                    "operator_organisation_ids": [operator.id, other_operator.id],
                    "funded": {"asll": 10}, "budget_cents": 4_000_000,
                    "targets": [{"outcomes": ["accessed_housing", "kept_housing", "rehoused"], "at_least_percent": 50}]}),
        )
        .await,
    )
    .await;
    let households: Vec<Value> = {
        let mut v = Vec::new();
        for last in ["Un", "Deux", "Trois", "Quatre", "Cinq", "Six"] {
            v.push(household_of(&base, &hosting, last).await);
        }
        v
    };
    // Household 1's first referral on the platform: 10 days before, elsewhere (AVDL, to an
    // operator the programme does not fund): its days to a home count from there.
    let earlier = created(
        clock
            .at(-10 * DAY)
            .await
            .post(
                "/v1/referrals",
                &hosting.admin_token,
                &json!({"household_id": id(&households[0]), "addressee_organisation_id": other_operator.id,
                        "measure_kind": "avdl", "reason": "Première demande"}),
            )
            .await,
    )
    .await;
    assert_eq!(earlier["status"], "submitted");

    // (ack, decided, accepted?, started) in hours after S, for referrals 1 to 6.
    let plan: [(i64, i64, Option<&str>, Option<i64>); 6] = [
        (DAY, 2 * DAY, None, Some(5 * DAY)),
        (2 * DAY, 4 * DAY, None, Some(10 * DAY)),
        (12, DAY, None, Some(3 * DAY)),
        (3 * DAY, 6 * DAY, None, Some(20 * DAY)),
        (DAY, 2 * DAY, Some("no_capacity"), None),
        (2 * DAY, 3 * DAY, Some("not_eligible"), None),
    ];
    let mut referrals = Vec::new();
    for h in &households {
        referrals.push(
            created(
                clock
                    .at(0)
                    .await
                    .post(
                        "/v1/referrals",
                        &hosting.admin_token,
                        &json!({"household_id": id(h), "addressee_organisation_id": operator.id,
                                "measure_kind": "asll", "reason": "Accompagnement au logement"}),
                    )
                    .await,
            )
            .await,
        );
    }
    let mut measures = Vec::new();
    for (r, (ack, decided, decline, _)) in referrals.iter().zip(plan) {
        let app = clock.at(ack).await;
        let r = referral_act(app, &operator.admin_token, r, "acknowledge", json!({})).await;
        let app = clock.at(decided).await;
        match decline {
            Some(reason) => {
                referral_act(
                    app,
                    &operator.admin_token,
                    &r,
                    "decline",
                    json!({"reason": reason}),
                )
                .await;
            }
            None => {
                referral_act(app, &operator.admin_token, &r, "accept", json!({})).await;
                // ASLL waits for the department's decision: the measure is proposed; the
                // operator puts it under the programme (no place taken before the start).
                let m = measure_of(app, &operator.admin_token, &r).await;
                assert_eq!(m["status"], "proposed");
                let m = ok(patch(
                    app,
                    &operator.admin_token,
                    &format!("/v1/measures/{}", id(&m)),
                    &m["version"],
                    json!({"programme_id": programme["id"]}),
                )
                .await)
                .await;
                measures.push(m);
            }
        }
    }
    assert_eq!(
        capacity(
            &fresh(
                &base,
                &department.admin_token,
                &format!("/v1/programmes/{}", id(&programme))
            )
            .await,
            "asll"
        ),
        (0, 10, 10)
    );
    // The department starts each at its instant. Measure 2 is started with a start date
    // backdated to S + 1 day (an editable date): its delay stays the step's, 10 days.
    let mut started = Vec::new();
    for (i, m) in measures.iter().enumerate() {
        let at = plan[i].3.unwrap();
        let body = if i == 1 {
            json!({"starts_on": clock.date(DAY)})
        } else {
            json!({})
        };
        let app = clock.at(at).await;
        let m = ok(act(
            app,
            &department.admin_token,
            &format!("/v1/measures/{}/start", id(m)),
            &fresh(
                app,
                &department.admin_token,
                &format!("/v1/measures/{}", id(m)),
            )
            .await["version"],
            body,
        )
        .await)
        .await;
        started.push(m);
    }
    let _ = started;
    // Contacts (ASLL: a home visit every 14 days from the start):
    // 1 (start S+5): a visit on S+17, on time (due S+19): due S+31; closed S+30: kept.
    // 2 (start S+10): none; closed S+40 with the visit due since S+24: missed.
    // 3 (start S+3): a visit on S+20, late (due S+17): missed.
    // 4 (start S+20): visits S+30 (due S+34) and S+44 (due S+44): closed S+45: kept.
    let visits = [
        (0usize, 17 * DAY),
        (2, 20 * DAY),
        (3, 30 * DAY),
        (3, 44 * DAY),
    ];
    for (i, at) in visits {
        let on = clock.date(at);
        let app = clock.at(at).await;
        created(
            app.post(
                &format!("/v1/measures/{}/contacts", id(&measures[i])),
                &operator.admin_token,
                &json!({"occurred_on": on, "kind": "home_visit", "duration_minutes": 60}),
            )
            .await,
        )
        .await;
    }
    // Renewals: measure 3's is granted, measure 4's refused.
    for (i, decision, at) in [(2usize, "grant", 25 * DAY), (3, "refuse", 35 * DAY)] {
        let app = clock.at(at).await;
        let renewal = created(
            app.post(
                &format!("/v1/measures/{}/renewals", id(&measures[i])),
                &operator.admin_token,
                &json!({}),
            )
            .await,
        )
        .await;
        let body = if decision == "refuse" {
            json!({"reason": "objectives_met", "explanation": "Objectifs atteints"})
        } else {
            json!({})
        };
        ok(act(
            app,
            &department.admin_token,
            &format!("/v1/renewals/{}/{decision}", id(&renewal)),
            &renewal["version"],
            body,
        )
        .await)
        .await;
    }
    // Closures: 1 at S+30 (kept housing), 2 at S+40 (left without solution), 4 at S+45
    // (rehoused: its household's home).
    for (i, at, outcome) in [
        (0usize, 30 * DAY, "kept_housing"),
        (1, 40 * DAY, "left_without_solution"),
        (3, 45 * DAY, "rehoused"),
    ] {
        let app = clock.at(at).await;
        let m = fresh(
            app,
            &operator.admin_token,
            &format!("/v1/measures/{}", id(&measures[i])),
        )
        .await;
        ok(act(
            app,
            &operator.admin_token,
            &format!("/v1/measures/{}/close", id(&m)),
            &m["version"],
            json!({"outcomes": [outcome]}),
        )
        .await)
        .await;
    }
    // Homes: household 3's sub-lease starts at S+12, household 1's at S+25; household 1's
    // rent arrears are recorded at S+60, within 12 months of its measure's close (S+30).
    let mut subleases = Vec::new();
    for (i, at) in [(2usize, 12 * DAY), (0, 25 * DAY)] {
        let starts = clock.date(at);
        let app = clock.at(at - 2 * DAY).await;
        let unit = crate::housing::unit_under_agreement(
            app,
            &landlord,
            &operator,
            crate::housing::unit_body("71076", "71100", "t2", 41000, "c", "available"),
            json!({"kind": "sliding_lease", "units_covered": 1, "starts_on": "2026-01-01"}),
        )
        .await;
        let s = created(
            app.post(
                "/v1/subleases",
                &operator.admin_token,
                &json!({"unit_id": id(&unit), "household_id": id(&households[i]), "kind": "sliding_lease",
                        "starts_on": starts, "planned_end_on": "2027-12-31", "rent_cents": 41000,
                        "charges_cents": 6000, "housing_benefit_cents": 28000, "deposit_cents": 0}),
            )
            .await,
        )
        .await;
        let app = clock.at(at).await;
        let s = ok(act(
            app,
            &operator.admin_token,
            &format!("/v1/subleases/{}/activate", id(&s)),
            &s["version"],
            json!({}),
        )
        .await)
        .await;
        subleases.push(s);
    }
    let app = clock.at(60 * DAY).await;
    created(
        app.post(
            &format!("/v1/subleases/{}/arrears", id(&subleases[1])),
            &landlord.admin_token,
            &json!({"amount_cents": 38000, "months": 2}),
        )
        .await,
    )
    .await;

    // Read at S+61 days.
    let path = format!("/v1/programmes/{}/indicators", id(&programme));
    let app = clock.at(61 * DAY).await;
    let ind = ok(app.get(&path, &department.admin_token).await).await;
    assert_eq!(ind["from"], "2026-01-01");
    assert_eq!(ind["to"], "2026-12-31");
    assert_eq!(ind["operator_organisation_id"], Value::Null);
    // 4 started; 3 closed (1, 2, 4); 1 running at the period's end (3).
    assert_eq!(
        ind["measures"],
        json!([{"kind": "asll", "started": 4, "active": 1, "closed": 3}])
    );
    assert_eq!(
        ind["referrals"],
        json!({"received": 6, "accepted": 4, "declined": 2})
    );
    // Acknowledged after [1, 2, 0.5, 3, 1, 2] days: sorted 0.5 1 1 2 2 3;
    // p50 at rank 2.5 = (1 + 2) / 2 = 1.5; p90 at rank 0.9 × 5 = 4.5 = 2 + 0.5 × (3 − 2) = 2.5.
    assert_eq!(
        ind["delays"]["submitted_to_acknowledged"],
        json!({"count": 6, "p50_days": 1.5, "p90_days": 2.5})
    );
    // Decided after [2, 4, 1, 6, 2, 3]: sorted 1 2 2 3 4 6; p50 = (2 + 3) / 2 = 2.5;
    // p90 at rank 4.5 = 4 + 0.5 × (6 − 4) = 5.
    assert_eq!(
        ind["delays"]["submitted_to_decided"],
        json!({"count": 6, "p50_days": 2.5, "p90_days": 5.0})
    );
    // Started after [5, 10, 3, 20] (measure 2's backdated start date changes nothing):
    // sorted 3 5 10 20; p50 at rank 1.5 = (5 + 10) / 2 = 7.5; p90 at rank 2.7 =
    // 10 + 0.7 × (20 − 10) = 17.
    assert_eq!(
        ind["delays"]["submitted_to_started"],
        json!({"count": 4, "p50_days": 7.5, "p90_days": 17.0})
    );
    assert_eq!(
        ind["declines"],
        json!([{"reason": "no_capacity", "count": 1}, {"reason": "not_eligible", "count": 1}])
    );
    // Housing outcomes: 2 of 3 closed (kept housing, rehoused) = 66.7 % ≥ 50 %.
    assert_eq!(ind["closed"], 3);
    assert_eq!(
        ind["targets"],
        json!([{"kind": null, "outcomes": ["accessed_housing", "kept_housing", "rehoused"], "at_least_percent": 50,
                "closed": 3, "meeting": 2, "percent": 66.7, "met": true}])
    );
    assert_eq!(
        ind["renewals"],
        json!({"requested": 2, "granted": 1, "refused": 1})
    );
    // Rhythm kept by 1 and 4 of the 4 measures: 50 %.
    assert_eq!(
        ind["contact_rhythm"],
        json!({"measures": 4, "kept": 2, "percent": 50.0})
    );
    // Housed: households 1 (kept housing, S+30) and 4 (rehoused, S+45); 1 has arrears at
    // S+60; neither's 12 months are over.
    assert_eq!(
        ind["arrears_after_housing"],
        json!({"households": 2, "with_arrears": 1, "percent": 50.0, "window_incomplete": 2})
    );
    // Homes: household 3 at S+12 (12 days), household 1 at S+25 from its first referral at
    // S−10 (35 days), household 4 rehoused at S+45 (45 days): sorted 12 35 45; p50 = 35;
    // p90 at rank 1.8 = 35 + 0.8 × (45 − 35) = 43.
    assert_eq!(
        ind["days_to_home"],
        json!({"count": 3, "p50_days": 35.0, "p90_days": 43.0})
    );
    // No household identifier anywhere in the response.
    let text = ind.to_string();
    for h in &households {
        assert!(!text.contains(&id(h)), "a household id in {text}");
    }
    for m in &measures {
        assert!(!text.contains(&id(m)), "a measure id in {text}");
    }
    for r in &referrals {
        assert!(!text.contains(&id(r)), "a referral id in {text}");
    }

    // Editable dates changed afterwards (a referral's desired start, a measure's start date)
    // move no delay: the delays come from the history.
    {
        use diesel_async::RunQueryDsl;
        let mut conn = base.db().await;
        diesel::sql_query("UPDATE referrals SET desired_start = '2026-01-01', updated_at = now()")
            .execute(&mut conn)
            .await
            .unwrap();
        diesel::sql_query("UPDATE measures SET starts_on = '2026-01-02'")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let again = ok(app.get(&path, &department.admin_token).await).await;
    assert_eq!(again["delays"], ind["delays"]);
    assert_eq!(again["days_to_home"], ind["days_to_home"]);

    // The operator sees its own measures' figures; the other funded operator, none; an
    // operator asking for another's is refused.
    let own = ok(app.get(&path, &operator.admin_token).await).await;
    assert_eq!(own["operator_organisation_id"], json!(operator.id));
    assert_eq!(own["measures"], ind["measures"]);
    let theirs = ok(app.get(&path, &other_operator.admin_token).await).await;
    assert_eq!(
        theirs["measures"],
        json!([{"kind": "asll", "started": 0, "active": 0, "closed": 0}])
    );
    assert_eq!(
        theirs["referrals"],
        json!({"received": 0, "accepted": 0, "declined": 0})
    );
    assert_eq!(theirs["days_to_home"]["count"], 0);
    assert_eq!(theirs["days_to_home"]["p50_days"], Value::Null);
    problem(
        app.get(
            &format!("{path}?operator_organisation_id={}", operator.id),
            &other_operator.admin_token,
        )
        .await,
        403,
    )
    .await;
    // The funder narrows to one operator.
    let narrowed = ok(app
        .get(
            &format!("{path}?operator_organisation_id={}", other_operator.id),
            &department.admin_token,
        )
        .await)
    .await;
    assert_eq!(narrowed["measures"], theirs["measures"]);
    // A period: March alone holds the four starts; February none.
    let march = ok(app
        .get(
            &format!("{path}?from=2026-03-01&to=2026-03-31"),
            &department.admin_token,
        )
        .await)
    .await;
    assert_eq!(march["measures"][0]["started"], 4);
    let feb = ok(app
        .get(
            &format!("{path}?from=2026-02-01&to=2026-02-28"),
            &department.admin_token,
        )
        .await)
    .await;
    assert_eq!(feb["measures"][0]["started"], 0);
    // A funder naming an organisation the programme does not fund is told so.
    let p = problem(
        app.get(
            &format!("{path}?operator_organisation_id={}", hosting.id),
            &department.admin_token,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_codes(&p),
        vec![("operator_organisation_id".into(), "not_an_operator".into())]
    );
    // Unchanged figures keep their tag: a dashboard polling gets 304.
    let r = app.get(&path, &department.admin_token).await;
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let r = app
        .request(Method::GET, &path, Some(&department.admin_token))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let p = problem(
        app.get(
            &format!("{path}?from=2026-03-01&to=2026-02-01"),
            &department.admin_token,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(field_codes(&p), vec![("to".into(), "before_from".into())]);
    // Nor does any response of the programme carry a household.
    let whole = ok(app
        .get(
            &format!("/v1/programmes/{}", id(&programme)),
            &department.admin_token,
        )
        .await)
    .await;
    assert_eq!(capacity(&whole, "asll"), (4, 10, 6));
    let _ = earlier;
}

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

/// SCENARIOS.md §2 (Saône-et-Loire): a hosting structure refers a couple leaving emergency
/// shelter to an association for IML and for AVDL (this one carrying a special-category
/// ground); the association accepts IML (its measure, funded by the DDETS) and declines
/// AVDL; a landlord's T2 in Chalon-sur-Saône is proposed and accepted; the association
/// sub-lets it to the couple. The journey as each party sees it.
#[actix_web::test]
async fn the_couples_journey_as_each_party_sees_it() {
    let app = spawn_app_at("2026-10-01T08:00:00Z").await;
    let hosting = app.organisation_in("association", "71").await;
    let association = app.organisation_in("association", "71").await;
    let ddets = app.organisation_in("state_service", "71").await;
    let landlord = app.organisation_in("social_landlord", "71").await;
    let stranger = app.organisation_in("association", "71").await;

    let mut body = household("Moreau", "Sami", "1988-09-10");
    body["household_type"] = json!("couple");
    body["adults"] = json!(2);
    body["children"] = json!(0);
    body["members"] = json!([{"relation": "spouse", "birth_year": 1990}]);
    body["special_category_grounds"] = json!([]);
    body["housing_situation"] = json!("emergency_shelter");
    body["priority_grounds"] = json!(["leaving_shelter"]);
    let h = household_with_consent(&app, &hosting.admin_token, &body, "2026-09-30").await;
    let refer = |kind: &str, special: Value| {
        json!({"household_id": id(&h), "addressee_organisation_id": association.id, "measure_kind": kind,
               "reason": "Sortie d'hébergement d'urgence", "special_category_grounds": special})
    };
    let iml = created(
        app.post(
            "/v1/referrals",
            &hosting.admin_token,
            &refer("iml", json!([])),
        )
        .await,
    )
    .await;
    let avdl = created(
        app.post(
            "/v1/referrals",
            &hosting.admin_token,
            &refer("avdl", json!(["domestic_violence_victim"])),
        )
        .await,
    )
    .await;
    let later = app.at("2026-10-03T08:00:00Z").await;
    let iml = referral_act(
        &later,
        &association.admin_token,
        &iml,
        "acknowledge",
        json!({}),
    )
    .await;
    let avdl = referral_act(
        &later,
        &association.admin_token,
        &avdl,
        "acknowledge",
        json!({}),
    )
    .await;
    let later = app.at("2026-10-06T08:00:00Z").await;
    referral_act(&later, &association.admin_token, &iml, "accept", json!({})).await;
    referral_act(
        &later,
        &association.admin_token,
        &avdl,
        "decline",
        json!({"reason": "duplicate", "comment": "L'IML couvre l'accompagnement"}),
    )
    .await;
    let m = measure_of(&later, &association.admin_token, &iml).await;
    let m = ok(patch(
        &later,
        &association.admin_token,
        &format!("/v1/measures/{}", id(&m)),
        &m["version"],
        json!({"funder_organisation_id": ddets.id}),
    )
    .await)
    .await;
    // The landlord's T2 in Chalon-sur-Saône under its IML agreement with the association.
    let later = app.at("2026-10-20T08:00:00Z").await;
    let unit = crate::housing::unit_under_agreement(
        &later,
        &landlord,
        &association,
        crate::housing::unit_body("71076", "71100", "t2", 41000, "c", "available"),
        json!({"kind": "intermediated_rental", "units_covered": 2, "starts_on": "2026-10-01"}),
    )
    .await;
    let proposal = created(
        later
            .post(
                &format!("/v1/units/{}/proposals", id(&unit)),
                &association.admin_token,
                &json!({"household_id": id(&h)}),
            )
            .await,
    )
    .await;
    let later = app.at("2026-10-24T08:00:00Z").await;
    ok(act(
        &later,
        &landlord.admin_token,
        &format!("/v1/proposals/{}/accept", id(&proposal)),
        &proposal["version"],
        json!({}),
    )
    .await)
    .await;
    let later = app.at("2026-11-02T08:00:00Z").await;
    let sublease = created(
        later
            .post(
                "/v1/subleases",
                &association.admin_token,
                &json!({"unit_id": id(&unit), "household_id": id(&h), "kind": "iml", "starts_on": "2026-11-02",
                        "planned_end_on": "2027-11-01", "rent_cents": 41000, "charges_cents": 6000,
                        "housing_benefit_cents": 28000, "deposit_cents": 0, "measure_id": m["id"]}),
            )
            .await,
    )
    .await;
    ok(act(
        &later,
        &association.admin_token,
        &format!("/v1/subleases/{}/activate", id(&sublease)),
        &sublease["version"],
        json!({}),
    )
    .await)
    .await;

    let journey = |token: String| {
        let later = &later;
        let path = format!("/v1/households/{}/journey", id(&h));
        async move { ok(later.get(&path, &token).await).await }
    };
    let summary = |j: &Value| -> Vec<(String, String, bool)> {
        j["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["case_type"].as_str().unwrap().to_owned(),
                    s["action"].as_str().unwrap().to_owned(),
                    s["yours"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let step = |t: &str, a: &str, yours: bool| (t.to_owned(), a.to_owned(), yours);

    // The association, party to everything: every step whole, in time order.
    let j = journey(association.admin_token.clone()).await;
    assert_eq!(
        summary(&j),
        vec![
            step("referral", "submit", true),
            step("referral", "submit", true),
            step("referral", "acknowledge", true),
            step("referral", "acknowledge", true),
            step("referral", "accept", true),
            step("measure", "open", true),
            step("referral", "decline", true),
            step("proposal", "propose", true),
            step("proposal", "accept", true),
            step("sublease", "plan", true),
            step("sublease", "activate", true),
        ],
        "{j}"
    );
    let decline = &j["steps"][6];
    assert_eq!(decline["case_id"], avdl["id"]);
    assert_eq!(decline["reason_code"], "duplicate");
    assert_eq!(decline["measure_kind"], "avdl");
    assert_eq!(decline["organisation_id"], json!(association.id));
    // No comment anywhere (each case's history has them, for its parties).
    assert!(!j.to_string().contains("L'IML couvre"), "{j}");
    let times: Vec<&str> = j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["occurred_at"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);

    // The hosting structure that started it all: its referrals and the measure (as its
    // referrer) whole; the proposal and the sub-lease as their kind and date alone; and it
    // sees where the couple stands now: an active sub-lease.
    let j = journey(hosting.admin_token.clone()).await;
    assert_eq!(
        summary(&j),
        vec![
            step("referral", "submit", true),
            step("referral", "submit", true),
            step("referral", "acknowledge", true),
            step("referral", "acknowledge", true),
            step("referral", "accept", true),
            step("measure", "open", true),
            step("referral", "decline", true),
            step("proposal", "propose", false),
            step("proposal", "accept", false),
            step("sublease", "plan", false),
            step("sublease", "activate", false),
        ],
        "{j}"
    );
    let alone = &j["steps"][10];
    assert_eq!(
        keys(alone),
        vec!["action", "case_type", "occurred_at", "yours"],
        "{alone}"
    );
    assert_eq!(j["cases"][0]["case_type"], "sublease");
    assert_eq!(j["cases"][0]["status"], "active");
    assert!(j["cases"][0].get("case_id").is_none());
    assert!(!j.to_string().contains(&id(&sublease)));
    assert!(!j.to_string().contains(&landlord.id.to_string()));

    // The DDETS funds the measure: the measure whole; the IML referral as kind and date;
    // the AVDL referral, carrying a special-category ground, not at all.
    let j = journey(ddets.admin_token.clone()).await;
    assert_eq!(
        summary(&j),
        vec![
            step("referral", "submit", false),
            step("referral", "acknowledge", false),
            step("referral", "accept", false),
            step("measure", "open", true),
            step("proposal", "propose", false),
            step("proposal", "accept", false),
            step("sublease", "plan", false),
            step("sublease", "activate", false),
        ],
        "{j}"
    );
    assert!(!j.to_string().contains(&id(&avdl)));
    assert!(!j.to_string().contains(&id(&iml)));

    // The landlord sees what letting needs: its proposal and sub-lease.
    let j = journey(landlord.admin_token.clone()).await;
    assert_eq!(
        summary(&j),
        vec![
            step("proposal", "propose", true),
            step("proposal", "accept", true),
            step("sublease", "plan", true),
            step("sublease", "activate", true),
        ],
        "{j}"
    );
    // Anyone else: 404.
    problem(
        later
            .get(
                &format!("/v1/households/{}/journey", id(&h)),
                &stranger.admin_token,
            )
            .await,
        404,
    )
    .await;
}

/// Every field rule of a programme, and of a measure joining one, is a 422 naming the
/// field; nothing is stored; only departments and State services fund programmes.
#[actix_web::test]
async fn each_programme_field_rule_is_a_422_naming_it() {
    let app = spawn_app_at("2026-12-07T09:00:00Z").await;
    let department = app.organisation_in("department", "53").await;
    let association = app.organisation_in("association", "53").await;
    let landlord = app.organisation_in("social_landlord", "53").await;
    let ddets = app.organisation_in("state_service", "53").await;
    let platform = app.platform_token().await;
    let body = json!({"name": "Programme", "starts_on": "2026-06-01", "ends_on": "2026-01-01",
        "department_codes": ["53", "62", "53", "99"],
        "operator_organisation_ids": [landlord.id, uuid::Uuid::now_v7(), association.id, association.id],
        "funded": {"asll": 200_000, "asrl": 5, "avdl": 3, "nope": 1},
        "budget_cents": 100,
        "targets": [{"kind": "agir", "outcomes": ["kept_housing", "kept_housing"], "at_least_percent": 0}]});
    let p = problem(
        app.post("/v1/programmes", &department.admin_token, &body)
            .await,
        422,
    )
    .await;
    let mut codes = field_codes(&p);
    codes.sort();
    let expected: Vec<(String, String)> = [
        ("department_codes[1]", "not_funders_department"),
        ("department_codes[2]", "duplicate"),
        ("department_codes[3]", "department_code"),
        ("ends_on", "before_start"),
        ("funded.asll", "range"),
        ("funded.asrl", "not_offered"),
        ("funded.avdl", "not_a_funder"),
        ("funded.nope", "unknown_measure_kind"),
        ("operator_organisation_ids[0]", "not_an_operator"),
        ("operator_organisation_ids[1]", "unknown_organisation"),
        ("operator_organisation_ids[3]", "duplicate"),
        ("targets[0].at_least_percent", "range"),
        ("targets[0].kind", "kind_not_funded"),
        ("targets[0].outcomes[1]", "duplicate"),
    ]
    .into_iter()
    .map(|(f, c)| (f.to_owned(), c.to_owned()))
    .collect();
    assert_eq!(codes, expected, "{p}");
    assert_eq!(app.count("programmes").await, 0);
    // Who funds: a department or a State service.
    let good = json!({"name": "ASLL 2026", "starts_on": "2026-01-01", "ends_on": "2026-12-31",
        "department_codes": ["53"], "operator_organisation_ids": [association.id],
        "funded": {"asll": 12}, "budget_cents": 100});
    for token in [&association.admin_token, &landlord.admin_token, &platform] {
        problem(app.post("/v1/programmes", token, &good).await, 403).await;
    }
    let programme = created(
        app.post("/v1/programmes", &department.admin_token, &good)
            .await,
    )
    .await;
    // A programme funds no kind with `funded` emptied.
    let p = problem(
        patch(
            &app,
            &department.admin_token,
            &format!("/v1/programmes/{}", id(&programme)),
            &programme["version"],
            json!({"funded": {"asll": null}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(field_codes(&p), vec![("funded".into(), "required".into())]);
    // A change's field rules and the programme's own rules are reported together.
    let p = problem(
        patch(
            &app,
            &department.admin_token,
            &format!("/v1/programmes/{}", id(&programme)),
            &programme["version"],
            json!({"funded": {"asll": -1, "agir": 2}, "ends_on": "2025-01-01",
                   "targets": [{"outcomes": [], "at_least_percent": 101}]}),
        )
        .await,
        422,
    )
    .await;
    let mut codes = field_codes(&p);
    codes.sort();
    let expected: Vec<(String, String)> = [
        ("ends_on", "before_start"),
        ("funded.agir", "not_a_funder"),
        ("funded.asll", "range"),
        ("targets[0].at_least_percent", "range"),
        ("targets[0].outcomes", "length"),
    ]
    .into_iter()
    .map(|(f, c)| (f.to_owned(), c.to_owned()))
    .collect();
    assert_eq!(codes, expected, "{p}");
    assert!(p.to_string().contains("must be between 1 and 100"), "{p}");

    // A measure joining a programme: funded operator, funded kind, within the period, the
    // programme's funder.
    let h = household_of(&app, &association, "Rejoint").await;
    let other = created(
        app.post(
            "/v1/programmes",
            &ddets.admin_token,
            &json!({"name": "AVDL 2026", "starts_on": "2026-01-01", "ends_on": "2026-12-31",
                    "department_codes": ["53"], "operator_organisation_ids": [], "funded": {"avdl": 3},
                    "budget_cents": 100}),
        )
        .await,
    )
    .await;
    for (body, expected) in [
        (
            json!({"household_id": id(&h), "kind": "asll", "programme_id": other["id"]}),
            "unknown_programme",
        ),
        (
            json!({"household_id": id(&h), "kind": "asll", "programme_id": uuid::Uuid::now_v7()}),
            "unknown_programme",
        ),
        (
            json!({"household_id": id(&h), "kind": "iml", "programme_id": programme["id"],
                "funder_organisation_id": ddets.id}),
            "kind_not_funded other_funder",
        ),
        (
            json!({"household_id": id(&h), "kind": "asll", "programme_id": programme["id"],
                "starts_on": "2027-01-04"}),
            "outside_period",
        ),
        (
            json!({"household_id": id(&h), "kind": "asll", "programme_id": programme["id"],
                "funder_organisation_id": app.organisation_in("department", "53").await.id}),
            "other_funder",
        ),
    ] {
        let p = problem(
            app.post("/v1/measures", &association.admin_token, &body)
                .await,
            422,
        )
        .await;
        let expected: Vec<(String, String)> = expected
            .split(' ')
            .map(|c| ("programme_id".to_owned(), c.to_owned()))
            .collect();
        assert_eq!(field_codes(&p), expected, "{body}");
    }
    // A proposed ASLL under the programme has the programme's funder; once closed (here
    // cancelled), its programme does not change.
    let m = created(
        app.post(
            "/v1/measures",
            &association.admin_token,
            &json!({"household_id": id(&h), "kind": "asll", "programme_id": programme["id"]}),
        )
        .await,
    )
    .await;
    assert_eq!(m["details"]["funder_organisation_id"], json!(department.id));
    assert_eq!(m["status"], "proposed");
    let m = ok(act(
        &app,
        &association.admin_token,
        &format!("/v1/measures/{}/cancel", id(&m)),
        &m["version"],
        json!({"reason": "funder_refused"}),
    )
    .await)
    .await;
    problem(
        patch(
            &app,
            &association.admin_token,
            &format!("/v1/measures/{}", id(&m)),
            &m["version"],
            json!({"programme_id": null}),
        )
        .await,
        409,
    )
    .await;
}
