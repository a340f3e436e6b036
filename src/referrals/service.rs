//! What happens to referrals inside a transaction: presenting them to a party (with the
//! read journal), recording transitions and telling both parties.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{Referral, ReferralAction, ReferralRow, ReferralStatus};
use super::rules::{self, Party};
use crate::auth::caller::Caller;
use crate::auth::policy::handles_special_categories;
use crate::error::ApiError;
use crate::events::{self, NewEvent};
use crate::households::journal;
use crate::schema::{referral_transitions, referrals};

/// Answers are due this many days after submission when the measure kind says nothing.
pub const DEFAULT_RESPONSE_DAYS: i64 = 30;

/// The deadline of a referral sent today (French legal date) for a kind that answers in
/// `response_days`.
pub fn default_due(response_days: Option<i32>) -> NaiveDate {
    crate::calendar::today()
        + Duration::days(
            response_days
                .map(i64::from)
                .unwrap_or(DEFAULT_RESPONSE_DAYS),
        )
}

/// The caller's side of a referral, if any.
pub fn party_of(caller: &Caller, row: &ReferralRow) -> Option<Party> {
    match caller.organisation_id {
        Some(org) if org == row.referrer_organisation_id => Some(Party::Referrer),
        Some(org) if org == row.addressee_organisation_id => Some(Party::Addressee),
        _ => None,
    }
}

/// Shapes referrals for a party: special-category grounds only for those who handle them
/// ([`handles_special_categories`]). Whoever returns the result journals those reads: by
/// [`present`] in a write's transaction, or by a [`journal::JournalledRead`] statement.
pub fn shape(caller: &Caller, rows: Vec<ReferralRow>) -> Vec<Referral> {
    let sees_special = handles_special_categories(caller);
    let today = crate::calendar::today();
    rows.into_iter()
        .map(|row| {
            let party = party_of(caller, &row);
            Referral {
                id: row.id,
                household_id: row.household_id,
                referrer_organisation_id: row.referrer_organisation_id,
                referrer_account_id: row.referrer_account_id,
                addressee_organisation_id: row.addressee_organisation_id,
                overdue: row.is_overdue(today),
                special_category_grounds: sees_special.then(|| row.special()),
                measure_kind: row.measure_kind,
                reason: row.reason,
                priority_grounds: serde_json::from_value(row.priority_grounds).unwrap_or_default(),
                desired_start: row.desired_start,
                response_due_on: row.response_due_on,
                status: row.status,
                decline_reason: row.decline_reason,
                closing_comment: row.closing_comment,
                transferred_from_id: row.transferred_from_id,
                transferred_to_id: row.transferred_to_id,
                allowed_actions: party
                    .map(|p| rules::allowed_actions(row.status, p))
                    .unwrap_or_default(),
                version: row.version,
                created_at: row.created_at,
                updated_at: row.updated_at,
            }
        })
        .collect()
}

/// Shapes referrals for a party inside a transaction and journals the special-category
/// grounds it receives.
pub async fn present(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rows: Vec<ReferralRow>,
) -> Result<Vec<Referral>, ApiError> {
    let views = shape(caller, rows);
    let reads: Vec<_> = views
        .iter()
        .filter_map(|v| Some((v.household_id, v.special_category_grounds.clone()?)))
        .collect();
    journal::record(conn, caller, &reads).await?;
    Ok(views)
}

/// Records a step and tells both parties (`referral.<status>`).
pub async fn record_transition(
    conn: &mut AsyncPgConnection,
    actor: Option<&Caller>,
    row: &ReferralRow,
    action: &str,
    from: Option<ReferralStatus>,
    comment: Option<&str>,
) -> Result<(), ApiError> {
    diesel::insert_into(referral_transitions::table)
        .values((
            referral_transitions::id.eq(Uuid::now_v7()),
            referral_transitions::referral_id.eq(row.id),
            referral_transitions::action.eq(action),
            referral_transitions::from_status.eq(from.map(|s| s.as_str().to_string())),
            referral_transitions::to_status.eq(row.status.as_str()),
            referral_transitions::actor_account_id.eq(actor.map(|a| a.account_id)),
            referral_transitions::actor_organisation_id.eq(actor.and_then(|a| a.organisation_id)),
            referral_transitions::comment.eq(comment),
        ))
        .execute(conn)
        .await?;
    let event_type = match row.status {
        ReferralStatus::Submitted => "referral.submitted",
        ReferralStatus::Acknowledged => "referral.acknowledged",
        ReferralStatus::Accepted => "referral.accepted",
        ReferralStatus::Declined => "referral.declined",
        ReferralStatus::Withdrawn => "referral.withdrawn",
        ReferralStatus::Transferred => "referral.transferred",
        ReferralStatus::Expired => "referral.expired",
        ReferralStatus::Obsolete => "referral.obsolete",
    };
    events::append(
        conn,
        actor,
        NewEvent {
            event_type,
            subject_type: "referral",
            subject_id: row.id,
            // Ids and status only: each party fetches what its part allows.
            data: events::data(&crate::events::catalogue::ReferralEventData::from(row))?,
            recipients: vec![row.referrer_organisation_id, row.addressee_organisation_id],
            for_platform: false,
        },
    )
    .await
}

/// Moves a locked referral to `to` by `action` (already allowed by the rules).
pub async fn apply(
    conn: &mut AsyncPgConnection,
    actor: Option<&Caller>,
    row: &ReferralRow,
    action: ReferralAction,
    to: ReferralStatus,
    comment: Option<&str>,
    changes: ClosingDetails,
) -> Result<ReferralRow, ApiError> {
    let updated: ReferralRow = diesel::update(referrals::table.find(row.id))
        .set((
            referrals::status.eq(to),
            referrals::decline_reason.eq(changes.decline_reason.or(row.decline_reason)),
            referrals::closing_comment.eq(changes.closing_comment.or(row.closing_comment.clone())),
            referrals::transferred_to_id.eq(changes.transferred_to_id.or(row.transferred_to_id)),
            referrals::version.eq(row.version + 1),
            referrals::updated_at.eq(diesel::dsl::now),
        ))
        .returning(ReferralRow::as_returning())
        .get_result(conn)
        .await?;
    record_transition(
        conn,
        actor,
        &updated,
        action.as_str(),
        Some(row.status),
        comment,
    )
    .await?;
    Ok(updated)
}

/// What a closing action writes besides the status.
#[derive(Debug, Default)]
pub struct ClosingDetails {
    pub decline_reason: Option<super::model::DeclineReason>,
    pub closing_comment: Option<String>,
    pub transferred_to_id: Option<Uuid>,
}

/// On acceptance, the household's other open referrals for the same measure kind are
/// obsolete.
pub async fn make_others_obsolete(
    conn: &mut AsyncPgConnection,
    accepted: &ReferralRow,
) -> Result<(), ApiError> {
    let others: Vec<ReferralRow> = referrals::table
        .filter(referrals::household_id.eq(accepted.household_id))
        .filter(referrals::measure_kind.eq(&accepted.measure_kind))
        .filter(referrals::id.ne(accepted.id))
        .filter(referrals::status.eq_any([ReferralStatus::Submitted, ReferralStatus::Acknowledged]))
        .select(ReferralRow::as_select())
        .for_update()
        .load(conn)
        .await?;
    for other in others {
        apply(
            conn,
            None,
            &other,
            ReferralAction::MakeObsolete,
            ReferralStatus::Obsolete,
            Some("another referral of the household for this measure was accepted"),
            ClosingDetails::default(),
        )
        .await?;
    }
    Ok(())
}

/// The scheduled expiry: open referrals past their deadline and the grace period. Runs
/// under the job's advisory lock; the status guard of the UPDATE makes a second run a no-op.
pub async fn expire_overdue(
    conn: &mut AsyncPgConnection,
    today: NaiveDate,
    grace_days: i64,
) -> Result<usize, ApiError> {
    let limit = today - Duration::days(grace_days);
    let due: Vec<ReferralRow> = referrals::table
        .filter(referrals::status.eq_any([ReferralStatus::Submitted, ReferralStatus::Acknowledged]))
        .filter(referrals::response_due_on.lt(limit))
        .select(ReferralRow::as_select())
        .order(referrals::id.asc())
        .limit(1000)
        .for_update()
        .skip_locked()
        .load(conn)
        .await?;
    let n = due.len();
    for row in due {
        apply(
            conn,
            None,
            &row,
            ReferralAction::Expire,
            ReferralStatus::Expired,
            Some("no answer before the deadline"),
            ClosingDetails::default(),
        )
        .await?;
    }
    Ok(n)
}
