//! Every diesel statement on renewals.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::super::model::{
    MeasureRow, RenewalRefusalReason, RenewalRow, RenewalStatus, RenewalStep, RENEWAL_DECISION_DAYS,
};
use crate::db::{Connection, Keyset};
use crate::error::ApiError;
use crate::http::pagination::Page;
use crate::schema::renewals;

/// The renewal `id`, locked `FOR UPDATE` when `lock`.
pub async fn find(
    conn: &mut Connection,
    id: Uuid,
    lock: bool,
) -> Result<Option<RenewalRow>, ApiError> {
    crate::load_row!(conn, renewals::table, RenewalRow, id, lock)
}

/// A request for the measure's renewal number `ordinal`, dated `today`.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    conn: &mut Connection,
    measure: &MeasureRow,
    decider: Uuid,
    ordinal: i32,
    step: RenewalStep,
    justification: Option<&str>,
    requested_by: Uuid,
    today: NaiveDate,
) -> Result<RenewalRow, ApiError> {
    Ok(diesel::insert_into(renewals::table)
        .values((
            renewals::id.eq(Uuid::now_v7()),
            renewals::measure_id.eq(measure.id),
            renewals::household_id.eq(measure.household_id),
            renewals::operator_organisation_id.eq(measure.operator_organisation_id),
            renewals::decider_organisation_id.eq(decider),
            renewals::ordinal.eq(ordinal),
            renewals::months.eq(step.months),
            renewals::exceptional.eq(step.exceptional),
            renewals::justification.eq(justification.map(str::trim)),
            renewals::status.eq(RenewalStatus::Requested),
            renewals::requested_by_account_id.eq(requested_by),
            renewals::requested_on.eq(today),
        ))
        .returning(RenewalRow::as_returning())
        .get_result(conn)
        .await?)
}

/// What an answer writes on a renewal.
pub struct Answer<'a> {
    pub status: RenewalStatus,
    pub decided_on: Option<NaiveDate>,
    pub granted_months: Option<i32>,
    pub decision_reference: Option<&'a str>,
    pub decision_comment: Option<&'a str>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub refusal_reason: Option<RenewalRefusalReason>,
    pub refusal_explanation: Option<&'a str>,
}

pub async fn answer(
    conn: &mut Connection,
    id: Uuid,
    a: Answer<'_>,
) -> Result<RenewalRow, ApiError> {
    Ok(diesel::update(renewals::table.find(id))
        .set((
            renewals::status.eq(a.status),
            renewals::decided_on.eq(a.decided_on),
            renewals::granted_months.eq(a.granted_months),
            renewals::decision_reference.eq(a.decision_reference),
            renewals::decision_comment.eq(a.decision_comment),
            renewals::starts_on.eq(a.starts_on),
            renewals::ends_on.eq(a.ends_on),
            renewals::refusal_reason.eq(a.refusal_reason),
            renewals::refusal_explanation.eq(a.refusal_explanation),
            crate::db::bump(renewals::version, renewals::updated_at),
        ))
        .returning(RenewalRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The request of this measure that waits for its decision, if any.
pub async fn pending(conn: &mut Connection, measure: Uuid) -> Result<Option<Uuid>, ApiError> {
    Ok(renewals::table
        .filter(renewals::measure_id.eq(measure))
        .filter(renewals::status.eq(RenewalStatus::Requested))
        .select(renewals::id)
        .first(conn)
        .await
        .optional()?)
}

/// A measure's renewals, oldest first.
pub async fn of_measure(conn: &mut Connection, measure: Uuid) -> Result<Vec<RenewalRow>, ApiError> {
    Ok(renewals::table
        .filter(renewals::measure_id.eq(measure))
        .select(RenewalRow::as_select())
        .order(renewals::id.asc())
        .load(conn)
        .await?)
}

/// Which renewals an organisation lists.
pub struct RenewalList {
    pub org: Uuid,
    /// `Some(true)`: those it decides; `Some(false)`: those it asked for; `None`: both.
    pub decider: Option<bool>,
    pub status: Option<RenewalStatus>,
    /// Waiting more than [`RENEWAL_DECISION_DAYS`] (or not).
    pub overdue: Option<bool>,
    pub measure_id: Option<Uuid>,
    pub today: NaiveDate,
}

/// A page of an organisation's renewals, by id (one more row than the page, to tell
/// whether another follows).
pub async fn list(
    conn: &mut Connection,
    l: RenewalList,
    page: Page,
) -> Result<Vec<RenewalRow>, ApiError> {
    let mut q = renewals::table.select(RenewalRow::as_select()).into_boxed();
    q = match l.decider {
        Some(true) => q.filter(renewals::decider_organisation_id.eq(l.org)),
        Some(false) => q.filter(renewals::operator_organisation_id.eq(l.org)),
        None => q.filter(
            renewals::decider_organisation_id
                .eq(l.org)
                .or(renewals::operator_organisation_id.eq(l.org)),
        ),
    };
    if let Some(s) = l.status {
        q = q.filter(renewals::status.eq(s));
    }
    if let Some(m) = l.measure_id {
        q = q.filter(renewals::measure_id.eq(m));
    }
    let limit = l.today - chrono::Duration::days(RENEWAL_DECISION_DAYS);
    match l.overdue {
        Some(true) => {
            q = q
                .filter(renewals::status.eq(RenewalStatus::Requested))
                .filter(renewals::requested_on.lt(limit))
        }
        Some(false) => {
            q = q.filter(
                renewals::status
                    .ne(RenewalStatus::Requested)
                    .or(renewals::requested_on.ge(limit)),
            )
        }
        None => {}
    }
    Ok(q.keyset(renewals::id, page).load(conn).await?)
}
