//! The demo's story (SCENARIOS.md), told through the API by the demo organisations'
//! coordinators, each step at its own date.
//!
//! A server of the service's own, on a loopback port and for the time of the story, serves
//! the requests; its clock is moved to each step's date before the step (as the tests'
//! servers are), so that the history, the milestones the indicators read, the delays and the
//! households' journeys have the dates a partner would see. Every rule of the API applies:
//! the story goes nowhere a partner's requests could not.
//!
//! The story, `T` being now:
//! - SCENARIOS.md §2: the landlord's units (T−100) and its intermediated-rental agreement
//!   with the association (T−98, accepted T−96, two units attached); the couple's household,
//!   registered by the DALO mediation commission (T−62) and referred under its decision for
//!   IML (T−60), accepted by the association (T−50): the measure, funded by the commission's
//!   State service, runs from the start of the couple's sub-lease (T+25); the couple proposed
//!   for the T2 (T−20, accepted T−18) and the sub-lease planned (T−10).
//! - §1: the CCAPEX's household (no consent), referred for EMPEX under the CCAPEX's decision
//!   (T−36), accepted (T−33); two home visits (T−6, T−2) and an objective.
//! - §5: Lucas's ASLL, referred by the department (T−195), accepted (T−188), validated by its
//!   CUD (T−170); a home visit a fortnight until three weeks ago (his next is late); his first
//!   renewal asked twelve days ago (late in the department's list). Inès's ASLL referral
//!   waits for an answer (T−15).
//! - §4: the Pas-de-Calais' call for projects (T−330): 51 measures of Toit d'Artois started
//!   over the months (the first ten ASRL from the department's referrals, answered within a
//!   week), 5 closed yesterday; the DDETS' AGIR programme (T−300): 7 measures of the Mayenne
//!   association, 5 closed yesterday (4 to employment or training, 3 to housing).

use std::net::TcpListener;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use super::DEMO_PASSWORD;
use crate::auth::keys::Keys;
use crate::calendar::Clock;
use crate::config::Config;

mod chapters;

/// Tells the story against the database at `database_url` (its demo organisations and
/// accounts written): starts a server, makes the requests, stops it.
pub async fn tell(database_url: &str) -> Result<(), String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let address = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let clock = Clock::default();
    let mut config = Config::for_tests(database_url.to_owned(), std::env::temp_dir());
    config.jwt_issuer = address.clone();
    config.workers = 1;
    config.db_pool_size = 2;
    config.run_jobs = false;
    config.webhooks_allow_private = false;
    config.clock = clock.clone();
    let server = crate::startup::serve(
        listener,
        Arc::new(config),
        database_url,
        Arc::new(Keys::generate()),
    )
    .map_err(|e| e.to_string())?;
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let teller = Teller {
        base: address,
        client: reqwest::Client::new(),
        clock,
        now: Utc::now(),
    };
    let told = teller.story().await;
    handle.stop(true).await;
    told
}

/// Who tells: the demo server, its clock, the moment the story ends.
struct Teller {
    base: String,
    client: reqwest::Client,
    clock: Clock,
    now: DateTime<Utc>,
}

/// The demo organisations' coordinators, signed in.
struct Cast {
    department: String,
    ccapex: String,
    association: String,
    landlord: String,
    pas_de_calais: String,
    toit_d_artois: String,
    dalo: String,
}

/// An organisation's id, as `GET /v1/me` gives it.
fn org_of(me: &Value) -> Result<String, String> {
    me["organisation"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no organisation in {me}"))
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

impl Teller {
    /// The service's clock reads `days` days before the story's end from now on.
    fn at(&self, days: i64) {
        self.clock.set_to(self.now - Duration::days(days));
    }

    /// The French legal date `days` days before the story's end (negative: after).
    fn date(&self, days: i64) -> NaiveDate {
        crate::calendar::date_at(self.now - Duration::days(days))
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        version: Option<&Value>,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut r = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(v) = version {
            r = r.header("if-match", format!("\"{v}\""));
        }
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let r = r.send().await.map_err(|e| e.to_string())?;
        let status = r.status();
        let bytes = r.bytes().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!(
                "demo story: {method} {path} answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("{method} {path}: {e}"))
    }

    async fn get(&self, token: &str, path: &str) -> Result<Value, String> {
        self.call(Method::GET, path, token, None, None).await
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> Result<Value, String> {
        self.call(Method::POST, path, token, None, Some(body)).await
    }

    /// An action on a versioned resource (`If-Match` its version).
    async fn act(&self, token: &str, path: &str, on: &Value, body: Value) -> Result<Value, String> {
        self.call(Method::POST, path, token, Some(&on["version"]), Some(body))
            .await
    }

    async fn sign_in(&self, slug: &str) -> Result<String, String> {
        let email = super::demo_email(crate::identity::model::Role::Coordinator, slug);
        let r = self
            .client
            .post(format!("{}/v1/auth/token", self.base))
            .form(&[
                ("grant_type", "password"),
                ("username", email.as_str()),
                ("password", DEMO_PASSWORD),
            ])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: Value = serde_json::from_slice(&r.bytes().await.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        body["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("demo story: {email} cannot sign in: {body}"))
    }

    /// A household the organisation registers on day `days`, with its consent to sharing
    /// recorded that day unless `consent` is `None`.
    #[allow(clippy::too_many_arguments)]
    async fn household(
        &self,
        token: &str,
        days: i64,
        (last, first, birth): (&str, &str, &str),
        (household_type, adults, children): (&str, i32, i32),
        resources_cents: i64,
        situation: &str,
        grounds: Value,
        special: Value,
        consent: Option<&str>,
    ) -> Result<Value, String> {
        self.at(days);
        let h = self
            .post(
                token,
                "/v1/households",
                json!({"head": {"last_name": last, "first_names": first, "birth_date": birth},
                       "household_type": household_type, "adults": adults, "children": children,
                       "monthly_resources_cents": resources_cents, "resource_kinds": ["rsa"],
                       "housing_situation": situation, "priority_grounds": grounds,
                       "special_category_grounds": special}),
            )
            .await?;
        match consent {
            None => Ok(h),
            Some(scope) => {
                self.act(
                    token,
                    &format!("/v1/households/{}/consent", id(&h)),
                    &h,
                    json!({"given_on": self.date(days), "scope": scope}),
                )
                .await
            }
        }
    }

    /// A referral sent on day `days`, acknowledged and accepted on the days given.
    async fn referral(
        &self,
        (from, to): (&str, &str),
        body: Value,
        days: i64,
        answers: &[(&str, i64)],
    ) -> Result<Value, String> {
        self.at(days);
        let mut r = self.post(from, "/v1/referrals", body).await?;
        for (action, on) in answers {
            self.at(*on);
            r = self
                .act(
                    to,
                    &format!("/v1/referrals/{}/{action}", id(&r)),
                    &r,
                    json!({}),
                )
                .await?;
        }
        Ok(r)
    }

    /// The measure a referral's acceptance opened.
    async fn measure_of(&self, token: &str, referral: &Value) -> Result<Value, String> {
        let page = self
            .get(token, &format!("/v1/measures?referral_id={}", id(referral)))
            .await?;
        Ok(page["items"][0].clone())
    }

    async fn contact(
        &self,
        token: &str,
        measure: &Value,
        days: i64,
        minutes: i32,
        note: &str,
    ) -> Result<(), String> {
        self.at(days);
        self.post(
            token,
            &format!("/v1/measures/{}/contacts", id(measure)),
            json!({"occurred_on": self.date(days), "kind": "home_visit",
                   "duration_minutes": minutes, "note": note}),
        )
        .await
        .map(|_| ())
    }

    async fn cast(&self) -> Result<(Cast, Orgs), String> {
        let cast = Cast {
            department: self.sign_in("departement").await?,
            ccapex: self.sign_in("ddets").await?,
            association: self.sign_in("association").await?,
            landlord: self.sign_in("bailleur").await?,
            pas_de_calais: self.sign_in("departement-62").await?,
            toit_d_artois: self.sign_in("association-62").await?,
            dalo: self.sign_in("ddets-71").await?,
        };
        let orgs = Orgs {
            association: org_of(&self.get(&cast.association, "/v1/me").await?)?,
            toit_d_artois: org_of(&self.get(&cast.toit_d_artois, "/v1/me").await?)?,
        };
        Ok((cast, orgs))
    }

    async fn story(&self) -> Result<(), String> {
        let (cast, orgs) = self.cast().await?;
        self.housing_and_the_couple(&cast, &orgs).await?;
        self.eviction_prevention(&cast, &orgs).await?;
        self.asll(&cast, &orgs).await?;
        self.programmes(&cast, &orgs).await
    }
}

/// The organisations the story names by id.
struct Orgs {
    association: String,
    toit_d_artois: String,
}
