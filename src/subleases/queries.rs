//! Every statement on sub-leases and rent arrears: the only place of the domain that names
//! diesel and `crate::schema`.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{
    EndReason, RentArrears, SubleaseFilters, SubleaseKind, SubleaseRow, SubleaseStatus,
};
use crate::db::{Keyset, Page};
use crate::error::ApiError;
use crate::schema::{rent_arrears, subleases};

/// The name PostgreSQL gives the exclusion constraint that keeps a unit's sub-leases apart.
const NO_OVERLAP: &str = "subleases_no_overlap";

/// A write that would make two sub-leases of a unit overlap (a new one, or an end moved past
/// the next one's start) is 409 `overlapping_sublease`; other errors pass.
fn overlap_is_a_conflict(e: diesel::result::Error) -> ApiError {
    match e {
        diesel::result::Error::DatabaseError(_, info)
            if info.constraint_name() == Some(NO_OVERLAP) =>
        {
            let mut ext = serde_json::Map::new();
            ext.insert("code".into(), "overlapping_sublease".into());
            ApiError::Conflict {
                detail: "the unit is already sub-let over part of this period".into(),
                extensions: ext,
            }
        }
        other => other.into(),
    }
}

/// A sub-lease to insert (planned).
#[derive(Debug, Insertable)]
#[diesel(table_name = subleases)]
pub struct NewSubleaseRow {
    pub id: Uuid,
    pub unit_id: Uuid,
    pub main_tenant_organisation_id: Uuid,
    pub landlord_organisation_id: Uuid,
    pub household_id: Uuid,
    pub kind: SubleaseKind,
    pub starts_on: NaiveDate,
    pub planned_end_on: NaiveDate,
    pub rent_cents: i64,
    pub charges_cents: i64,
    pub housing_benefit_cents: i64,
    pub deposit_cents: i64,
    pub status: SubleaseStatus,
    pub measure_id: Option<Uuid>,
}

/// Inserts a sub-lease; 409 `overlapping_sublease` when another of its unit overlaps it.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: NewSubleaseRow,
) -> Result<SubleaseRow, ApiError> {
    diesel::insert_into(subleases::table)
        .values(new)
        .returning(SubleaseRow::as_returning())
        .get_result(conn)
        .await
        .map_err(overlap_is_a_conflict)
}

/// The sub-lease by id, locked `FOR UPDATE` when `lock`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<SubleaseRow>, ApiError> {
    crate::load_row!(conn, subleases::table, SubleaseRow, id, lock)
}

/// A page of the sub-leases the organisation is party to, as filtered.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org: Uuid,
    filters: &SubleaseFilters,
    page: Page,
) -> Result<Vec<SubleaseRow>, ApiError> {
    let mut q = subleases::table
        .filter(
            subleases::main_tenant_organisation_id
                .eq(org)
                .or(subleases::landlord_organisation_id.eq(org)),
        )
        .select(SubleaseRow::as_select())
        .into_boxed();
    if let Some(u) = filters.unit_id {
        q = q.filter(subleases::unit_id.eq(u));
    }
    if let Some(h) = filters.household_id {
        q = q.filter(subleases::household_id.eq(h));
    }
    if let Some(s) = filters.status {
        q = q.filter(subleases::status.eq(s));
    }
    Ok(q.keyset(subleases::id, page).load(conn).await?)
}

/// Whether another sub-lease of the unit of `row` starts before `until` and runs past
/// `row`'s start (what ending `row` on `until` would overlap).
pub async fn overlaps_until(
    conn: &mut AsyncPgConnection,
    row: &SubleaseRow,
    until: NaiveDate,
) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(
        subleases::table
            .filter(subleases::unit_id.eq(row.unit_id))
            .filter(subleases::id.ne(row.id))
            .filter(subleases::starts_on.lt(until))
            .filter(
                subleases::ended_on
                    .is_null()
                    .and(subleases::planned_end_on.gt(row.starts_on))
                    .or(subleases::ended_on.gt(row.starts_on)),
            ),
    ))
    .get_result(conn)
    .await?)
}

/// Moves the sub-lease to `to`, with the end's day, reason and comment when given (else
/// what is stored), and bumps its version; 409 `overlapping_sublease` when the end reaches
/// into another sub-lease of the unit.
pub async fn update_status(
    conn: &mut AsyncPgConnection,
    row: &SubleaseRow,
    to: SubleaseStatus,
    ended_on: Option<NaiveDate>,
    reason: Option<EndReason>,
    comment: Option<&str>,
) -> Result<SubleaseRow, ApiError> {
    diesel::update(subleases::table.find(row.id))
        .set((
            subleases::status.eq(to),
            subleases::ended_on.eq(ended_on.or(row.ended_on)),
            subleases::end_reason.eq(reason.or(row.end_reason)),
            subleases::closing_comment.eq(comment.or(row.closing_comment.as_deref())),
            crate::db::bump(subleases::version, subleases::updated_at),
        ))
        .returning(SubleaseRow::as_returning())
        .get_result(conn)
        .await
        .map_err(overlap_is_a_conflict)
}

/// Arrears to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = rent_arrears)]
pub struct NewArrearsRow<'a> {
    pub id: Uuid,
    pub sublease_id: Uuid,
    pub amount_cents: i64,
    pub months: i32,
    pub comment: Option<&'a str>,
    pub recorded_by_account_id: Uuid,
    pub recorded_by_organisation_id: Uuid,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
}

pub async fn insert_arrears(
    conn: &mut AsyncPgConnection,
    new: NewArrearsRow<'_>,
) -> Result<RentArrears, ApiError> {
    Ok(diesel::insert_into(rent_arrears::table)
        .values(new)
        .returning(RentArrears::as_returning())
        .get_result(conn)
        .await?)
}

/// A page of the sub-lease's arrears, oldest first (`limit + 1` rows).
pub async fn arrears(
    conn: &mut AsyncPgConnection,
    sublease: Uuid,
    page: Page,
) -> Result<Vec<RentArrears>, ApiError> {
    Ok(rent_arrears::table
        .filter(rent_arrears::sublease_id.eq(sublease))
        .select(RentArrears::as_select())
        .into_boxed()
        .keyset(rent_arrears::id, page)
        .load(conn)
        .await?)
}
