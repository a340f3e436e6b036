//! The journey's statements: a household's steps from the one history, and the facts of
//! the cases they name (parties, measure kind, what a non-party must not see), read across
//! case types in one statement per type.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::Connection;
use crate::error::ApiError;
use crate::schema::{
    case_transitions, households, measures, objectives, proposals, referrals, renewals, subleases,
};

/// A case as the journey needs it: its parties, its measure kind, and whether a
/// non-party must not see it at all.
#[derive(Debug, Clone, Default)]
pub struct CaseFacts {
    pub parties: Vec<Uuid>,
    pub measure_kind: Option<String>,
    pub hidden_to_others: bool,
    /// A measure's steps: each party sees the reason codes of its own steps only.
    pub own_reasons_only: bool,
}

#[derive(Queryable)]
/// A step of the household's history.
pub struct StepRow {
    pub case_type: String,
    pub case_id: Uuid,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub organisation_id: Option<Uuid>,
    pub reason_code: Option<String>,
    pub occurred_at: DateTime<Utc>,
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
pub async fn facts(
    conn: &mut Connection,
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

/// Whether the organisation sees the household.
pub async fn sees_household(conn: &mut Connection, org: Uuid, id: Uuid) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(
        households::table
            .filter(households::id.eq(id))
            .filter(crate::households::queries::visible_to(org)),
    ))
    .get_result(conn)
    .await?)
}

/// The household's steps, oldest first.
pub async fn steps_of(conn: &mut Connection, id: Uuid) -> Result<Vec<StepRow>, ApiError> {
    Ok(case_transitions::table
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
        .load(conn)
        .await?)
}
