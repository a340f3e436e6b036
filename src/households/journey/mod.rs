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

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::caller::Caller;
use crate::auth::policy::handles_special_categories;
use crate::db::Connection;
use crate::error::ApiError;

pub mod queries;

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

/// A household's journey as the caller's organisation may see it (the table of this
/// module); 404 for an organisation that neither sees the household nor is party to one of
/// its cases.
pub async fn journey(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
) -> Result<Journey, ApiError> {
    let org = caller.partner_organisation()?;
    let sees_household = queries::sees_household(conn, org, id).await?;
    let steps = queries::steps_of(conn, id).await?;
    let facts = queries::facts(conn, &steps).await?;
    let party_to = |case: &Uuid| facts.get(case).is_some_and(|f| f.parties.contains(&org));
    if !sees_household && !steps.iter().any(|s| party_to(&s.case_id)) {
        return Err(ApiError::NotFound);
    }
    let landlord = !handles_special_categories(caller);
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
    Ok(Journey {
        household_id: id,
        steps: shown,
        cases,
    })
}
