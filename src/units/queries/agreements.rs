//! Every statement on agreements, and on the units they make available.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::super::model::{
    AgreementFilters, AgreementKind, AgreementRow, AgreementStatus, ProposalStatus, UnitRow,
};
use crate::db::{Keyset, Page};
use crate::error::ApiError;
use crate::schema::{agreements, proposals, units};

/// An agreement to insert (proposed).
#[derive(Debug, Insertable)]
#[diesel(table_name = agreements)]
pub struct NewAgreementRow<'a> {
    pub id: Uuid,
    pub landlord_organisation_id: Uuid,
    pub association_organisation_id: Uuid,
    pub kind: AgreementKind,
    pub units_covered: i32,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub programme_label: Option<&'a str>,
    pub status: AgreementStatus,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: NewAgreementRow<'_>,
) -> Result<AgreementRow, ApiError> {
    Ok(diesel::insert_into(agreements::table)
        .values(new)
        .returning(AgreementRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The agreement by id, locked `FOR UPDATE` when `lock`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<AgreementRow>, ApiError> {
    crate::load_row!(conn, agreements::table, AgreementRow, id, lock)
}

/// A page of the agreements the organisation is party to, as filtered.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org: Uuid,
    filters: &AgreementFilters,
    page: Page,
) -> Result<Vec<AgreementRow>, ApiError> {
    let mut q = agreements::table
        .filter(
            agreements::landlord_organisation_id
                .eq(org)
                .or(agreements::association_organisation_id.eq(org)),
        )
        .select(AgreementRow::as_select())
        .into_boxed();
    if let Some(s) = filters.status {
        q = q.filter(agreements::status.eq(s));
    }
    if let Some(since) = filters.updated_since {
        q = q.filter(agreements::updated_at.ge(since));
    }
    Ok(q.keyset(agreements::id, page).load(conn).await?)
}

/// How many units each of the agreements has attached (absent: none).
pub async fn attached_counts(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Option<Uuid>, i64>, ApiError> {
    Ok(units::table
        .filter(units::agreement_id.eq_any(ids))
        .group_by(units::agreement_id)
        .select((units::agreement_id, diesel::dsl::count_star()))
        .load::<(Option<Uuid>, i64)>(conn)
        .await?
        .into_iter()
        .collect())
}

/// Moves the agreement to `to`; a comment replaces the closing comment when given. Bumps
/// its version.
pub async fn update_status(
    conn: &mut AsyncPgConnection,
    row: &AgreementRow,
    to: AgreementStatus,
    comment: Option<&str>,
) -> Result<AgreementRow, ApiError> {
    Ok(diesel::update(agreements::table.find(row.id))
        .set((
            agreements::status.eq(to),
            agreements::closing_comment
                .eq(comment.map(str::trim).or(row.closing_comment.as_deref())),
            crate::db::bump(agreements::version, agreements::updated_at),
        ))
        .returning(AgreementRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Up to 1,000 active agreements whose period ended before `today`, locked, skipping those
/// another instance holds.
pub async fn ended(
    conn: &mut AsyncPgConnection,
    today: NaiveDate,
) -> Result<Vec<AgreementRow>, ApiError> {
    Ok(agreements::table
        .filter(agreements::status.eq(AgreementStatus::Active))
        .filter(agreements::ends_on.lt(today))
        .select(AgreementRow::as_select())
        .order(agreements::id.asc())
        .limit(1000)
        .for_update()
        .skip_locked()
        .load(conn)
        .await?)
}

/// Detaches every unit of the agreement (bumping each) and returns them.
pub async fn detach_all(
    conn: &mut AsyncPgConnection,
    agreement: Uuid,
) -> Result<Vec<UnitRow>, ApiError> {
    Ok(
        diesel::update(units::table.filter(units::agreement_id.eq(agreement)))
            .set((
                units::agreement_id.eq(None::<Uuid>),
                units::agreement_association_id.eq(None::<Uuid>),
                crate::db::bump(units::version, units::updated_at),
            ))
            .returning(UnitRow::as_returning())
            .get_results(conn)
            .await?,
    )
}

/// The ids of the association's open proposals for any of `units`.
pub async fn open_proposals_for(
    conn: &mut AsyncPgConnection,
    units: &[Uuid],
    association: Uuid,
) -> Result<Vec<Uuid>, ApiError> {
    Ok(proposals::table
        .filter(proposals::unit_id.eq_any(units))
        .filter(proposals::association_organisation_id.eq(association))
        .filter(proposals::status.eq(ProposalStatus::Proposed))
        .select(proposals::id)
        .load(conn)
        .await?)
}

/// Those of `ids` that the organisation holds, locked.
pub async fn held_units(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    holder: Uuid,
) -> Result<Vec<UnitRow>, ApiError> {
    Ok(units::table
        .filter(units::id.eq_any(ids))
        .filter(units::holder_organisation_id.eq(holder))
        .select(UnitRow::as_select())
        .for_update()
        .load(conn)
        .await?)
}

/// How many units the agreement has attached.
pub async fn attached_count(
    conn: &mut AsyncPgConnection,
    agreement: Uuid,
) -> Result<i64, ApiError> {
    Ok(units::table
        .filter(units::agreement_id.eq(agreement))
        .count()
        .get_result(conn)
        .await?)
}

/// Attaches `ids` to the agreement (bumping each) and returns them.
pub async fn attach(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    agreement: &AgreementRow,
) -> Result<Vec<UnitRow>, ApiError> {
    Ok(diesel::update(units::table.filter(units::id.eq_any(ids)))
        .set((
            units::agreement_id.eq(Some(agreement.id)),
            units::agreement_association_id.eq(Some(agreement.association_organisation_id)),
            crate::db::bump(units::version, units::updated_at),
        ))
        .returning(UnitRow::as_returning())
        .get_results(conn)
        .await?)
}

/// The association of the agreement.
pub async fn association_of(
    conn: &mut AsyncPgConnection,
    agreement: Uuid,
) -> Result<Uuid, ApiError> {
    Ok(agreements::table
        .find(agreement)
        .select(agreements::association_organisation_id)
        .first(conn)
        .await?)
}

/// The period (`starts_on`, `ends_on`) of the active agreement `agreement` whose
/// association is `association`, if there is one.
pub async fn active_agreement_period(
    conn: &mut AsyncPgConnection,
    agreement: Option<Uuid>,
    association: Uuid,
) -> Result<Option<(NaiveDate, Option<NaiveDate>)>, ApiError> {
    Ok(agreements::table
        .filter(agreements::id.nullable().eq(agreement))
        .filter(agreements::association_organisation_id.eq(association))
        .filter(agreements::status.eq(AgreementStatus::Active))
        .select((agreements::starts_on, agreements::ends_on))
        .first(conn)
        .await
        .optional()?)
}
