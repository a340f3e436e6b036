//! `GET /v1/households/{id}/journey`: every step of a household's path across
//! organisations (referrals, measures and their renewals, proposals, sub-leases), oldest
//! first, each as far as the caller may see it. Read from the one history
//! (`case_transitions`, indexed by household).
//!
//! What each organisation sees of a step:
//!
//! | the caller is… | of the step it sees |
//! |---|---|
//! | a party of the case (referrer or addressee; operator, funder or referrer of a measure; operator or decider of a renewal; association or landlord of a proposal or sub-lease) | the case's id, the action, the statuses, the acting organisation, the measure kind, and the coded reason (of a measure's step: of its own steps only, as in the measure's history) |
//! | no party of the case | the case type, the action and the date alone |
//! | no party, and the case is a referral carrying special-category grounds (or the measure it opened) | nothing: even a step's date would tell that such grounds exist |
//! | anyone but the operator, for an objective | nothing: objectives are the operator's (their themes include health) |
//! | a social landlord, for a case it has no part in | nothing: a landlord sees of a household what letting needs |
//!
//! Comments never appear (each case's own history has them, for its parties). Who may ask:
//! an organisation that sees the household (`households::queries::visible_to`) or is party to
//! one of its cases; anyone else gets 404.

use std::collections::HashMap;

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, handles_special_categories, Action};
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::schema::{
    case_transitions, households, measures, objectives, proposals, referrals, renewals, subleases,
};
use crate::state::AppState;

/// A step of a household's journey.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"case_type": "referral", "action": "accept", "occurred_at": "2026-10-02T09:30:00Z",
    "yours": true, "case_id": "0193a5d2-0000-7000-8000-000000000001", "from_status": "acknowledged",
    "to_status": "accepted", "organisation_id": "0193a5c2-0000-7000-8000-0000000000cc",
    "measure_kind": "iml", "reason_code": null}))]
pub struct JourneyStep {
    /// `referral`, `measure`, `renewal`, `objective`, `proposal` or `sublease`.
    pub case_type: String,
    /// What happened (`submit`, `accept`, `open`, `start`, `activate`, `end`…).
    pub action: String,
    pub occurred_at: DateTime<Utc>,
    /// Whether your organisation is a party of the case; when not, the fields below are
    /// absent.
    pub yours: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub case_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub from_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub to_status: Option<String>,
    /// The organisation that acted (none: the service, e.g. an expiry).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub organisation_id: Option<Uuid>,
    /// The measure kind (referrals, measures, renewals).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub measure_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reason_code: Option<String>,
}

/// Where a case of the household stands now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JourneyCase {
    pub case_type: String,
    /// Its status after its latest step.
    pub status: String,
    /// When it reached it.
    pub since: DateTime<Utc>,
    pub yours: bool,
    /// Your cases only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub case_id: Option<Uuid>,
    /// Your cases only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub measure_kind: Option<String>,
}

/// A household's journey as your organisation may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Journey {
    pub household_id: Uuid,
    /// Every step you may see, oldest first.
    pub steps: Vec<JourneyStep>,
    /// Each case you may see with its current status, latest first: where the household
    /// stands now.
    pub cases: Vec<JourneyCase>,
}

/// A case as the journey needs it: its parties, its measure kind, and whether a
/// non-party must not see it at all.
#[derive(Debug, Clone, Default)]
struct CaseFacts {
    parties: Vec<Uuid>,
    measure_kind: Option<String>,
    hidden_to_others: bool,
    /// A measure's steps: each party sees the reason codes of its own steps only.
    own_reasons_only: bool,
}

#[derive(Queryable)]
struct StepRow {
    case_type: String,
    case_id: Uuid,
    action: String,
    from_status: Option<String>,
    to_status: String,
    organisation_id: Option<Uuid>,
    reason_code: Option<String>,
    occurred_at: DateTime<Utc>,
}

fn ids_of<'a>(steps: &'a [StepRow], case_type: &'a str) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = steps
        .iter()
        .filter(|s| s.case_type == case_type)
        .map(|s| s.case_id)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The facts of every case the steps name, by case id (a handful of statements, one per
/// case type).
async fn facts(
    conn: &mut AsyncPgConnection,
    steps: &[StepRow],
) -> Result<HashMap<Uuid, CaseFacts>, ApiError> {
    let mut out = HashMap::new();
    let rows: Vec<(Uuid, Uuid, Uuid, String, serde_json::Value)> = referrals::table
        .filter(referrals::id.eq_any(ids_of(steps, "referral")))
        .select((
            referrals::id,
            referrals::referrer_organisation_id,
            referrals::addressee_organisation_id,
            referrals::measure_kind,
            referrals::special_grounds,
        ))
        .load(conn)
        .await?;
    let mut special_referrals = Vec::new();
    for (id, referrer, addressee, kind, special) in rows {
        let special = special.as_array().is_some_and(|a| !a.is_empty());
        if special {
            special_referrals.push(id);
        }
        out.insert(
            id,
            CaseFacts {
                parties: vec![referrer, addressee],
                measure_kind: Some(kind),
                hidden_to_others: special,
                own_reasons_only: false,
            },
        );
    }
    type MeasureFacts = (Uuid, Uuid, Option<Uuid>, Option<Uuid>, String, Option<Uuid>);
    let rows: Vec<MeasureFacts> = measures::table
        .filter(measures::id.eq_any(ids_of(steps, "measure")))
        .select((
            measures::id,
            measures::operator_organisation_id,
            measures::funder_organisation_id,
            measures::referrer_organisation_id,
            measures::kind,
            measures::origin_referral_id,
        ))
        .load(conn)
        .await?;
    for (id, operator, funder, referrer, kind, origin) in rows {
        let mut parties = vec![operator];
        parties.extend(funder);
        parties.extend(referrer);
        out.insert(
            id,
            CaseFacts {
                parties,
                measure_kind: Some(kind),
                hidden_to_others: origin.is_some_and(|r| special_referrals.contains(&r)),
                own_reasons_only: true,
            },
        );
    }
    let rows: Vec<(Uuid, Uuid, Uuid, String)> = renewals::table
        .inner_join(measures::table)
        .filter(renewals::id.eq_any(ids_of(steps, "renewal")))
        .select((
            renewals::id,
            renewals::operator_organisation_id,
            renewals::decider_organisation_id,
            measures::kind,
        ))
        .load(conn)
        .await?;
    for (id, operator, decider, kind) in rows {
        out.insert(
            id,
            CaseFacts {
                parties: vec![operator, decider],
                measure_kind: Some(kind),
                ..Default::default()
            },
        );
    }
    let rows: Vec<(Uuid, Uuid)> = objectives::table
        .inner_join(measures::table)
        .filter(objectives::id.eq_any(ids_of(steps, "objective")))
        .select((objectives::id, measures::operator_organisation_id))
        .load(conn)
        .await?;
    for (id, operator) in rows {
        out.insert(
            id,
            CaseFacts {
                parties: vec![operator],
                hidden_to_others: true,
                ..Default::default()
            },
        );
    }
    // Proposals and sub-leases: an association and a landlord.
    let mut two_parties = |rows: Vec<(Uuid, Uuid, Uuid)>| {
        for (id, association, landlord) in rows {
            out.insert(
                id,
                CaseFacts {
                    parties: vec![association, landlord],
                    ..Default::default()
                },
            );
        }
    };
    two_parties(
        proposals::table
            .filter(proposals::id.eq_any(ids_of(steps, "proposal")))
            .select((
                proposals::id,
                proposals::association_organisation_id,
                proposals::landlord_organisation_id,
            ))
            .load(conn)
            .await?,
    );
    two_parties(
        subleases::table
            .filter(subleases::id.eq_any(ids_of(steps, "sublease")))
            .select((
                subleases::id,
                subleases::main_tenant_organisation_id,
                subleases::landlord_organisation_id,
            ))
            .load(conn)
            .await?,
    );
    Ok(out)
}

/// A household's journey
///
/// Every step of the household's path across organisations, oldest first: referrals and
/// their answers, measures and their renewals, proposals, sub-leases and their ends. The
/// steps of your organisation's cases come whole (without comments: each case's history
/// has them); another organisation's appear as their case type, action and date alone, or
/// not at all when even that would reveal special-category data (a referral carrying such
/// grounds, and the measure it opened; objectives); a social landlord sees its own cases'
/// steps only. `cases` says where each case stands now: a referrer sees where the
/// household is without asking anyone. For an organisation that sees the household or is
/// party to one of its cases; 404 otherwise. Nothing here is special-category data, so
/// the read is not journalled.
#[utoipa::path(
    tag = "households",
    operation_id = "household_journey",
    params(("id" = Uuid, Path, description = "The household's id")),
    security(("oauth2" = ["households:read"])),
    responses((status = 200, description = "The journey", body = Journey))
)]
#[get("/households/{id}/journey")]
pub async fn household_journey(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHouseholds)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    let mut conn = db::conn(&state.pool).await?;
    let sees_household: bool = diesel::select(diesel::dsl::exists(
        households::table
            .filter(households::id.eq(id))
            .filter(crate::households::queries::visible_to(org)),
    ))
    .get_result(&mut conn)
    .await?;
    let steps: Vec<StepRow> = case_transitions::table
        .filter(case_transitions::household_id.eq(id))
        .select((
            case_transitions::case_type,
            case_transitions::case_id,
            case_transitions::action,
            case_transitions::from_status,
            case_transitions::to_status,
            case_transitions::actor_organisation_id,
            case_transitions::reason_code,
            case_transitions::occurred_at,
        ))
        .order((
            case_transitions::occurred_at.asc(),
            case_transitions::id.asc(),
        ))
        .load(&mut conn)
        .await?;
    let facts = facts(&mut conn, &steps).await?;
    let party_to = |case: &Uuid| facts.get(case).is_some_and(|f| f.parties.contains(&org));
    if !sees_household && !steps.iter().any(|s| party_to(&s.case_id)) {
        return Err(ApiError::NotFound);
    }
    let landlord = !handles_special_categories(&caller);
    let mut latest: Vec<(Uuid, JourneyCase)> = Vec::new();
    let mut shown = Vec::with_capacity(steps.len());
    for s in steps {
        let f = facts.get(&s.case_id).cloned().unwrap_or_default();
        let yours = f.parties.contains(&org);
        if !yours && (f.hidden_to_others || landlord) {
            continue;
        }
        let case = JourneyCase {
            case_type: s.case_type.clone(),
            status: s.to_status.clone(),
            since: s.occurred_at,
            yours,
            case_id: yours.then_some(s.case_id),
            measure_kind: if yours { f.measure_kind.clone() } else { None },
        };
        match latest.iter_mut().find(|(c, _)| *c == s.case_id) {
            Some((_, c)) => *c = case,
            None => latest.push((s.case_id, case)),
        }
        shown.push(if yours {
            let own_step = s.organisation_id == Some(org);
            JourneyStep {
                case_type: s.case_type,
                action: s.action,
                occurred_at: s.occurred_at,
                yours,
                case_id: Some(s.case_id),
                from_status: s.from_status,
                to_status: Some(s.to_status),
                organisation_id: s.organisation_id,
                measure_kind: f.measure_kind,
                reason_code: s.reason_code.filter(|_| !f.own_reasons_only || own_step),
            }
        } else {
            JourneyStep {
                case_type: s.case_type,
                action: s.action,
                occurred_at: s.occurred_at,
                yours,
                case_id: None,
                from_status: None,
                to_status: None,
                organisation_id: None,
                measure_kind: None,
                reason_code: None,
            }
        });
    }
    let mut cases: Vec<JourneyCase> = latest.into_iter().map(|(_, c)| c).collect();
    cases.sort_by_key(|c| std::cmp::Reverse(c.since));
    Ok(HttpResponse::Ok().json(Journey {
        household_id: id,
        steps: shown,
        cases,
    }))
}
