//! What each party is shown of a measure (the table of [`super`]), with exactly the
//! actions that would succeed for the caller now.

use chrono::NaiveDate;
use uuid::Uuid;

use super::super::model::*;
use super::super::queries::{self, MeasureWithHousehold};
use super::super::rules::{self, MeasureParty};
use super::party_in_row;
use crate::auth::caller::Caller;
use crate::db::Connection;
use crate::error::ApiError;

/// A measure just written, as the caller's organisation (this party) sees it.
pub async fn present_one(
    conn: &mut Connection,
    caller: &Caller,
    row: MeasureRow,
    party: MeasureParty,
) -> Result<Measure, ApiError> {
    let household = queries::household_of(conn, &row).await?;
    let actions = allowed_actions(conn, caller, &row, party).await?;
    view(row, household, party, crate::calendar::today(), actions)
}

/// The actions the caller may take on the measure now: exactly those that would succeed
/// (a well-formed payload aside). The state table for its side ([`rules::allowed_actions`]),
/// if its role and token may write measures, less what the measure's state forbids: a
/// suspension when no suspension day is left, a close before the measure's start (it
/// closes on a day from its start to today), a start when its programme has no place left.
pub async fn allowed_actions(
    conn: &mut Connection,
    caller: &Caller,
    row: &MeasureRow,
    party: MeasureParty,
) -> Result<Vec<MeasureAction>, ApiError> {
    if !crate::auth::policy::may(caller, crate::auth::policy::Action::WriteMeasures) {
        return Ok(Vec::new());
    }
    let rules_ = row.rules()?;
    let today = crate::calendar::today();
    let mut actions = rules::allowed_actions(row.status, party, rules_.needs_decision);
    let place = match (row.programme_id, actions.contains(&MeasureAction::Start)) {
        (Some(p), true) => crate::programmes::has_place(conn, p, &row.kind).await?,
        _ => true,
    };
    actions.retain(|a| match a {
        MeasureAction::Suspend => rules::suspension_days_left(&rules_, row.suspended_days) >= 1,
        MeasureAction::Close => row.starts_on <= today,
        MeasureAction::Start => place,
        MeasureAction::Resume | MeasureAction::Cancel => true,
    });
    Ok(actions)
}

/// A measure as a party sees it (the table of [`super`]), today being `today`, with the
/// caller's `allowed_actions` ([`allowed_actions`]).
pub fn view(
    row: MeasureRow,
    household: HouseholdComposition,
    party: MeasureParty,
    today: NaiveDate,
    allowed_actions: Vec<MeasureAction>,
) -> Result<Measure, ApiError> {
    let rules = row.rules()?;
    let sees_details = party != MeasureParty::Landlord;
    let sees_funding = matches!(party, MeasureParty::Operator | MeasureParty::Funder);
    let operator = party == MeasureParty::Operator;
    Ok(Measure {
        id: row.id,
        status: row.status,
        planned_end_on: row.planned_end_on,
        details: sees_details.then(|| MeasureDetails {
            kind: row.kind.clone(),
            household_id: row.household_id,
            operator_organisation_id: row.operator_organisation_id,
            funder_organisation_id: row.funder_organisation_id,
            origin_referral_id: row.origin_referral_id,
            programme_id: row.programme_id,
            referrer_organisation_id: row.referrer_organisation_id,
            starts_on: row.starts_on,
            ended_on: row.ended_on,
            outcomes: row.outcome_codes(),
            cancellation_reason: row.cancellation_reason,
            created_at: row.created_at,
        }),
        funding: sees_funding.then(|| MeasureFunding {
            household,
            rules: rules.clone(),
            contacts_count: row.contacts_count,
            suspended_on: row.suspended_on,
            suspended_until: row.suspended_until,
            suspended_days: row.suspended_days,
            renewals_granted: row.renewals_granted,
        }),
        follow_up: operator.then(|| MeasureFollowUp {
            worker_account_id: row.worker_account_id,
            last_contact_on: row.last_contact_on,
            next_contact_due_on: row.next_contact_due_on,
            contact_overdue: row.contact_overdue(today),
            suspension_reason: row.suspension_reason,
            closing_comment: row.closing_comment.clone(),
        }),
        allowed_actions,
        version: row.version,
        updated_at: row.updated_at,
    })
}

/// Each row as the caller's organisation sees it (rows of a list the organisation
/// operates, funds, referred or lets the home of: a row where it is no party of the row
/// came through its sub-lease, as the landlord).
pub async fn views(
    conn: &mut Connection,
    caller: &Caller,
    org: Uuid,
    rows: Vec<MeasureWithHousehold>,
) -> Result<Vec<Measure>, ApiError> {
    let today = crate::calendar::today();
    let mut out = Vec::with_capacity(rows.len());
    for (r, h) in rows {
        let p = party_in_row(org, &r).unwrap_or(MeasureParty::Landlord);
        let actions = allowed_actions(conn, caller, &r, p).await?;
        out.push(view(r, h, p, today, actions)?);
    }
    Ok(out)
}
