//! Every statement on programmes, their places per kind and their operators (the
//! indicators' own aside: [`super::indicators`]).

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{ProgrammeFilters, ProgrammeKindRow, ProgrammeRow, ProgrammeSide};
use crate::db::{Keyset, Page};
use crate::error::ApiError;
use crate::schema::{programme_kinds, programme_operators, programmes};

/// The programme by id, locked `FOR UPDATE` when `lock`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<ProgrammeRow>, ApiError> {
    crate::load_row!(conn, programmes::table, ProgrammeRow, id, lock)
}

/// Whether the programme funds the operator.
pub async fn is_operator(
    conn: &mut AsyncPgConnection,
    programme: Uuid,
    org: Uuid,
) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(
        programme_operators::table
            .filter(programme_operators::programme_id.eq(programme))
            .filter(programme_operators::operator_organisation_id.eq(org)),
    ))
    .get_result(conn)
    .await?)
}

/// The programme's places, by kind.
pub async fn kinds(
    conn: &mut AsyncPgConnection,
    programme: Uuid,
) -> Result<Vec<ProgrammeKindRow>, ApiError> {
    Ok(programme_kinds::table
        .filter(programme_kinds::programme_id.eq(programme))
        .select(ProgrammeKindRow::as_select())
        .order(programme_kinds::kind.asc())
        .load(conn)
        .await?)
}

/// The operators the programme funds, by id.
pub async fn operators(
    conn: &mut AsyncPgConnection,
    programme: Uuid,
) -> Result<Vec<Uuid>, ApiError> {
    Ok(programme_operators::table
        .filter(programme_operators::programme_id.eq(programme))
        .select(programme_operators::operator_organisation_id)
        .order(programme_operators::operator_organisation_id.asc())
        .load(conn)
        .await?)
}

/// Takes a place of `kind` if one is free, in one statement (two starts racing for the
/// last place cannot both take it): the places now used, or `None`.
pub async fn take_free_place(
    conn: &mut AsyncPgConnection,
    programme: Uuid,
    kind: &str,
) -> Result<Option<i32>, ApiError> {
    Ok(diesel::update(
        programme_kinds::table
            .find((programme, kind))
            .filter(programme_kinds::used.lt(programme_kinds::funded)),
    )
    .set(programme_kinds::used.eq(programme_kinds::used + 1))
    .returning(programme_kinds::used)
    .get_result(conn)
    .await
    .optional()?)
}

/// The places of `kind` (used, funded), if the programme funds it.
pub async fn places(
    conn: &mut AsyncPgConnection,
    programme: Uuid,
    kind: &str,
) -> Result<Option<(i32, i32)>, ApiError> {
    Ok(programme_kinds::table
        .find((programme, kind))
        .select((programme_kinds::used, programme_kinds::funded))
        .first(conn)
        .await
        .optional()?)
}

/// Whether a place of `kind` is free.
pub async fn has_free_place(
    conn: &mut AsyncPgConnection,
    programme: Uuid,
    kind: &str,
) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(
        programme_kinds::table
            .find((programme, kind))
            .filter(programme_kinds::used.lt(programme_kinds::funded)),
    ))
    .get_result(conn)
    .await?)
}

/// Gives back a place of `kind`.
pub async fn release_place(
    conn: &mut AsyncPgConnection,
    programme: Uuid,
    kind: &str,
) -> Result<(), ApiError> {
    diesel::update(programme_kinds::table.find((programme, kind)))
        .set(programme_kinds::used.eq(programme_kinds::used - 1))
        .execute(conn)
        .await?;
    Ok(())
}

/// The kinds the programme funds, by code.
pub async fn kind_codes(
    conn: &mut AsyncPgConnection,
    programme: Uuid,
) -> Result<Vec<String>, ApiError> {
    Ok(programme_kinds::table
        .filter(programme_kinds::programme_id.eq(programme))
        .select(programme_kinds::kind)
        .order(programme_kinds::kind.asc())
        .load(conn)
        .await?)
}

/// A programme to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = programmes)]
pub struct NewProgrammeRow<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub funder_organisation_id: Uuid,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub department_codes: serde_json::Value,
    pub budget_cents: i64,
    pub targets: serde_json::Value,
}

/// Inserts the programme with its places per kind.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: NewProgrammeRow<'_>,
    funded: &[(&String, i32)],
) -> Result<ProgrammeRow, ApiError> {
    let row: ProgrammeRow = diesel::insert_into(programmes::table)
        .values(new)
        .returning(ProgrammeRow::as_returning())
        .get_result(conn)
        .await?;
    let kinds: Vec<_> = funded
        .iter()
        .map(|(k, n)| {
            (
                programme_kinds::programme_id.eq(row.id),
                programme_kinds::kind.eq(*k),
                programme_kinds::funded.eq(*n),
            )
        })
        .collect();
    diesel::insert_into(programme_kinds::table)
        .values(kinds)
        .execute(conn)
        .await?;
    Ok(row)
}

/// Replaces the programme's operators.
pub async fn write_operators(
    conn: &mut AsyncPgConnection,
    programme: Uuid,
    operators: &[Uuid],
) -> Result<(), ApiError> {
    diesel::delete(
        programme_operators::table.filter(programme_operators::programme_id.eq(programme)),
    )
    .execute(conn)
    .await?;
    let rows: Vec<_> = operators
        .iter()
        .map(|o| {
            (
                programme_operators::programme_id.eq(programme),
                programme_operators::operator_organisation_id.eq(*o),
            )
        })
        .collect();
    diesel::insert_into(programme_operators::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// What a change of a programme writes.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = programmes)]
pub struct ProgrammeChanges<'a> {
    pub name: &'a str,
    pub ends_on: NaiveDate,
    pub department_codes: serde_json::Value,
    pub budget_cents: i64,
    pub targets: serde_json::Value,
}

/// Writes the changes and bumps the programme's version.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: ProgrammeChanges<'_>,
) -> Result<ProgrammeRow, ApiError> {
    Ok(diesel::update(programmes::table.find(id))
        .set((
            changes,
            crate::db::bump(programmes::version, programmes::updated_at),
        ))
        .returning(ProgrammeRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Sets the places funded of `kind` (`None`: the programme no longer funds it).
pub async fn set_funded(
    conn: &mut AsyncPgConnection,
    programme: Uuid,
    kind: &str,
    funded: Option<i32>,
) -> Result<(), ApiError> {
    match funded {
        None => {
            diesel::delete(programme_kinds::table.find((programme, kind)))
                .execute(conn)
                .await?;
        }
        Some(n) => {
            diesel::insert_into(programme_kinds::table)
                .values((
                    programme_kinds::programme_id.eq(programme),
                    programme_kinds::kind.eq(kind),
                    programme_kinds::funded.eq(n),
                ))
                .on_conflict((programme_kinds::programme_id, programme_kinds::kind))
                .do_update()
                .set(programme_kinds::funded.eq(n))
                .execute(conn)
                .await?;
        }
    }
    Ok(())
}

/// A page of the programmes the organisation funds or is funded by, as filtered.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org: Uuid,
    filters: &ProgrammeFilters,
    page: Page,
) -> Result<Vec<ProgrammeRow>, ApiError> {
    let funded_by = programme_operators::table
        .filter(programme_operators::operator_organisation_id.eq(org))
        .select(programme_operators::programme_id);
    let mut q = programmes::table
        .select(ProgrammeRow::as_select())
        .into_boxed();
    q = match filters.r#as {
        Some(ProgrammeSide::Funder) => q.filter(programmes::funder_organisation_id.eq(org)),
        Some(ProgrammeSide::Operator) => q.filter(programmes::id.eq_any(funded_by)),
        None => q.filter(
            programmes::funder_organisation_id
                .eq(org)
                .or(programmes::id.eq_any(funded_by)),
        ),
    };
    if let Some(day) = filters.running_on {
        q = q
            .filter(programmes::starts_on.le(day))
            .filter(programmes::ends_on.ge(day));
    }
    Ok(q.keyset(programmes::id, page).load(conn).await?)
}
