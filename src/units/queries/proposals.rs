//! Every statement on proposals.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::super::model::{
    AgreementStatus, ProposalDeclineReason, ProposalFilters, ProposalRow, ProposalStatus,
    UnitStatus,
};
use crate::db::{Keyset, Page};
use crate::error::ApiError;
use crate::schema::{agreements, proposals, units};

/// A proposal to insert (proposed).
#[derive(Debug, Insertable)]
#[diesel(table_name = proposals)]
pub struct NewProposalRow<'a> {
    pub id: Uuid,
    pub unit_id: Uuid,
    pub household_id: Uuid,
    pub association_organisation_id: Uuid,
    pub landlord_organisation_id: Uuid,
    pub proposed_by_account_id: Uuid,
    pub comment: Option<&'a str>,
    pub status: ProposalStatus,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: NewProposalRow<'_>,
) -> Result<ProposalRow, ApiError> {
    Ok(diesel::insert_into(proposals::table)
        .values(new)
        .returning(ProposalRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The proposal by id, locked `FOR UPDATE` when `lock`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<ProposalRow>, ApiError> {
    crate::load_row!(conn, proposals::table, ProposalRow, id, lock)
}

/// A page of the proposals the organisation made or received, as filtered.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org: Uuid,
    filters: &ProposalFilters,
    page: Page,
) -> Result<Vec<ProposalRow>, ApiError> {
    let mut q = proposals::table
        .filter(
            proposals::association_organisation_id
                .eq(org)
                .or(proposals::landlord_organisation_id.eq(org)),
        )
        .select(ProposalRow::as_select())
        .into_boxed();
    if let Some(u) = filters.unit_id {
        q = q.filter(proposals::unit_id.eq(u));
    }
    if let Some(h) = filters.household_id {
        q = q.filter(proposals::household_id.eq(h));
    }
    if let Some(s) = filters.status {
        q = q.filter(proposals::status.eq(s));
    }
    Ok(q.keyset(proposals::id, page).load(conn).await?)
}

/// Those of `ids` that are available.
pub async fn available_units(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, ApiError> {
    Ok(units::table
        .filter(units::id.eq_any(ids))
        .filter(units::status.eq(UnitStatus::Available))
        .select(units::id)
        .load(conn)
        .await?)
}

/// Whether `agreement` is an active agreement of `association`.
pub async fn is_active_agreement_of(
    conn: &mut AsyncPgConnection,
    agreement: Option<Uuid>,
    association: Uuid,
) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(
        agreements::table
            .filter(agreements::id.nullable().eq(agreement))
            .filter(agreements::association_organisation_id.eq(association))
            .filter(agreements::status.eq(AgreementStatus::Active)),
    ))
    .get_result(conn)
    .await?)
}

/// The open proposal of the household for the unit, if any.
pub async fn open_for(
    conn: &mut AsyncPgConnection,
    unit: Uuid,
    household: Uuid,
) -> Result<Option<Uuid>, ApiError> {
    Ok(proposals::table
        .filter(proposals::unit_id.eq(unit))
        .filter(proposals::household_id.eq(household))
        .filter(proposals::status.eq(ProposalStatus::Proposed))
        .select(proposals::id)
        .first(conn)
        .await
        .optional()?)
}

/// The unit's other open proposals.
pub async fn other_open(
    conn: &mut AsyncPgConnection,
    unit: Uuid,
    except: Uuid,
) -> Result<Vec<Uuid>, ApiError> {
    Ok(proposals::table
        .filter(proposals::unit_id.eq(unit))
        .filter(proposals::id.ne(except))
        .filter(proposals::status.eq(ProposalStatus::Proposed))
        .select(proposals::id)
        .load(conn)
        .await?)
}

/// Moves the proposal to `to` with the decline's reason and comment or the withdrawal's
/// reason, and bumps its version.
pub async fn update_status(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    to: ProposalStatus,
    reason: Option<ProposalDeclineReason>,
    decline_comment: Option<&str>,
    withdrawal_reason: Option<&str>,
) -> Result<ProposalRow, ApiError> {
    Ok(diesel::update(proposals::table.find(id))
        .set((
            proposals::status.eq(to),
            proposals::decline_reason.eq(reason),
            proposals::decline_comment.eq(decline_comment),
            proposals::withdrawal_reason.eq(withdrawal_reason),
            crate::db::bump(proposals::version, proposals::updated_at),
        ))
        .returning(ProposalRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The unit's accepted proposals.
pub async fn accepted_proposals(
    conn: &mut AsyncPgConnection,
    unit: Uuid,
) -> Result<Vec<ProposalRow>, ApiError> {
    Ok(proposals::table
        .filter(proposals::unit_id.eq(unit))
        .filter(proposals::status.eq(ProposalStatus::Accepted))
        .select(ProposalRow::as_select())
        .load(conn)
        .await?)
}
