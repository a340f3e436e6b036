//! Statements on units, agreements and proposals that the domain's services share (the
//! statements of each use case move here as the domain takes the layered shape; see
//! `src/lib.rs`).

pub mod agreements;
pub mod proposals;

use std::collections::HashSet;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::query_dsl::positional_order_dsl::PositionalOrderDsl;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{
    EnergyClass, Financing, OwnerKind, ProposalRow, ProposalStatus, UnitFilters, UnitRow,
    UnitStatus, UnitType,
};
use crate::db::{Keyset, Page};
use crate::error::ApiError;
use crate::schema::{subleases, units};
use crate::subleases::model::SubleaseStatus;

/// The organisations told about a change of a unit: its holder and the association of its
/// agreement.
pub async fn audience(conn: &mut AsyncPgConnection, row: &UnitRow) -> Result<Vec<Uuid>, ApiError> {
    let mut to = vec![row.holder_organisation_id];
    if let Some(agreement) = row.agreement_id {
        to.push(agreements::association_of(conn, agreement).await?);
    }
    Ok(to)
}

/// Sets the unit's status and bumps its version.
pub async fn update_status(
    conn: &mut AsyncPgConnection,
    unit: Uuid,
    status: UnitStatus,
) -> Result<UnitRow, ApiError> {
    Ok(diesel::update(units::table.find(unit))
        .set((
            units::status.eq(status),
            crate::db::bump(units::version, units::updated_at),
        ))
        .returning(UnitRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The statuses of the unit's planned and running sub-leases.
pub async fn open_sublease_statuses(
    conn: &mut AsyncPgConnection,
    unit: Uuid,
) -> Result<Vec<SubleaseStatus>, ApiError> {
    Ok(subleases::table
        .filter(subleases::unit_id.eq(unit))
        .filter(subleases::status.eq_any([SubleaseStatus::Planned, SubleaseStatus::Active]))
        .select(subleases::status)
        .load(conn)
        .await?)
}

/// The three ways an organisation sees a unit: it holds it, an active agreement makes it
/// available to it (`agreement_association_id`: a unit is attached to active agreements
/// only, and leaves it when it ends), or it sub-lets (or sub-let) it. A list reads each
/// way on its own index (see [`list`]); a lookup by id ORs them.
pub enum Sight {
    Holder,
    Agreement,
    Sublease,
}

impl Sight {
    pub const ALL: [Sight; 3] = [Sight::Holder, Sight::Agreement, Sight::Sublease];

    pub fn of(
        &self,
        org: Uuid,
    ) -> Box<dyn BoxableExpression<units::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>>
    {
        match self {
            Sight::Holder => Box::new(units::holder_organisation_id.eq(org)),
            // A unit without agreement compares as NULL, which no filter keeps.
            Sight::Agreement => Box::new(units::agreement_association_id.assume_not_null().eq(org)),
            Sight::Sublease => Box::new(
                units::id.eq_any(
                    subleases::table
                        .filter(subleases::main_tenant_organisation_id.eq(org))
                        .select(subleases::unit_id),
                ),
            ),
        }
    }
}

/// Units an organisation sees, any of the three ways.
pub fn unit_visible_to(
    org: Uuid,
) -> Box<dyn BoxableExpression<units::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>> {
    let [holder, agreement, sublease] = Sight::ALL.map(|s| s.of(org));
    Box::new(holder.or(agreement).or(sublease))
}

/// A unit the organisation sees, or 404.
pub async fn find_visible_unit(
    conn: &mut AsyncPgConnection,
    org: Uuid,
    id: Uuid,
    for_update: bool,
) -> Result<UnitRow, ApiError> {
    let q = units::table
        .filter(units::id.eq(id))
        .filter(unit_visible_to(org))
        .select(UnitRow::as_select());
    Ok(if for_update {
        q.for_update().first(conn).await?
    } else {
        q.first(conn).await?
    })
}

/// Locks a unit's row for the rest of the transaction.
pub async fn lock_unit(conn: &mut AsyncPgConnection, id: Uuid) -> Result<UnitRow, ApiError> {
    Ok(units::table
        .find(id)
        .select(UnitRow::as_select())
        .for_update()
        .first(conn)
        .await?)
}

/// The (unit, household) pairs of the accepted proposals among `rows` whose unit has been
/// sub-let to the household (planned, running or over): the acceptance has led to that.
pub async fn sublet_pairs(
    conn: &mut AsyncPgConnection,
    rows: &[ProposalRow],
) -> Result<HashSet<(Uuid, Uuid)>, ApiError> {
    let accepted: Vec<&ProposalRow> = rows
        .iter()
        .filter(|r| r.status == ProposalStatus::Accepted)
        .collect();
    if accepted.is_empty() {
        return Ok(HashSet::new());
    }
    let pairs: Vec<(Uuid, Uuid)> = subleases::table
        .filter(subleases::unit_id.eq_any(accepted.iter().map(|r| r.unit_id)))
        .filter(subleases::household_id.eq_any(accepted.iter().map(|r| r.household_id)))
        .select((subleases::unit_id, subleases::household_id))
        .load(conn)
        .await?;
    Ok(pairs.into_iter().collect())
}

/// A unit to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = units)]
pub struct NewUnitRow<'a> {
    pub id: Uuid,
    pub holder_organisation_id: Uuid,
    pub owner_kind: OwnerKind,
    pub holder_reference: Option<&'a str>,
    pub address_lines: serde_json::Value,
    pub postcode: &'a str,
    pub commune: &'a str,
    pub insee_code: &'a str,
    pub unit_type: UnitType,
    pub area_m2: f64,
    pub floor: i32,
    pub lift: bool,
    pub accessible: bool,
    pub rent_cents: i64,
    pub charges_cents: i64,
    pub financing: Financing,
    pub energy_class: EnergyClass,
    pub energy_assessed_on: Option<NaiveDate>,
    pub status: UnitStatus,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: NewUnitRow<'_>,
) -> Result<UnitRow, ApiError> {
    Ok(diesel::insert_into(units::table)
        .values(new)
        .returning(UnitRow::as_returning())
        .get_result(conn)
        .await?)
}

/// What a holder may change of a unit.
#[derive(Debug, Clone, PartialEq, AsChangeset)]
#[diesel(table_name = units, treat_none_as_null = true)]
pub struct UnitChanges {
    pub holder_reference: Option<String>,
    pub area_m2: f64,
    pub rent_cents: i64,
    pub charges_cents: i64,
    pub lift: bool,
    pub accessible: bool,
    pub energy_class: EnergyClass,
    pub energy_assessed_on: Option<NaiveDate>,
    pub status: UnitStatus,
}

/// Writes the changes and bumps the unit's version.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &UnitChanges,
) -> Result<UnitRow, ApiError> {
    Ok(diesel::update(units::table.find(id))
        .set((changes, crate::db::bump(units::version, units::updated_at)))
        .returning(UnitRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Whether a sub-lease of the unit is planned.
pub async fn has_planned_sublease(
    conn: &mut AsyncPgConnection,
    unit: Uuid,
) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(
        subleases::table
            .filter(subleases::unit_id.eq(unit))
            .filter(subleases::status.eq(SubleaseStatus::Planned)),
    ))
    .get_result(conn)
    .await?)
}

/// A page of the units the organisation sees, as filtered. `every_way`: it may see units
/// three ways (an association): each way is read on its own index and the three pages are
/// united (UNION, not UNION ALL: a unit seen two ways comes once), so the union reads a
/// page's worth of rows whatever the table holds; otherwise it sees the units it holds.
pub async fn list(
    conn: &mut AsyncPgConnection,
    org: Uuid,
    filters: &UnitFilters,
    page: Page,
    every_way: bool,
) -> Result<Vec<UnitRow>, ApiError> {
    let seen = |sight: Sight| {
        let mut q = units::table
            .filter(sight.of(org))
            .select(UnitRow::as_select())
            .into_boxed();
        if let Some(code) = &filters.insee_code {
            q = q.filter(units::insee_code.eq(code.clone()));
        }
        if let Some(postcode) = &filters.postcode {
            q = q.filter(units::postcode.eq(postcode.clone()));
        }
        if let Some(t) = filters.unit_type {
            q = q.filter(units::unit_type.eq(t));
        }
        if let Some(area) = filters.min_area_m2 {
            q = q.filter(units::area_m2.ge(area));
        }
        if let Some(max) = filters.max_total_rent_cents {
            q = q.filter((units::rent_cents + units::charges_cents).le(max));
        }
        if let Some(a) = filters.accessible {
            q = q.filter(units::accessible.eq(a));
        }
        if let Some(l) = filters.lift {
            q = q.filter(units::lift.eq(l));
        }
        if let Some(s) = filters.status {
            q = q.filter(units::status.eq(s));
        }
        if let Some(a) = filters.agreement_id {
            q = q.filter(units::agreement_id.eq(a));
        }
        if let Some(since) = filters.updated_since {
            q = q.filter(units::updated_at.ge(since));
        }
        q.keyset(units::id, page)
    };
    Ok(if every_way {
        let [held, by_agreement, sublet] = Sight::ALL.map(seen);
        // Column 1 is the id.
        held.union(by_agreement)
            .union(sublet)
            .positional_order_by(1)
            .limit(page.fetch_limit())
            .load(conn)
            .await?
    } else {
        seen(Sight::Holder).load(conn).await?
    })
}
