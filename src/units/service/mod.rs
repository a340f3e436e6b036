//! The use cases of units that other use cases share: a unit's event to its audience, its
//! status as proposals and sub-leases require (the units' own endpoints move here as the
//! domain takes the layered shape; see `src/lib.rs`).

pub mod agreements;
pub mod proposals;
pub mod units;

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::model::{UnitRow, UnitStatus};
use super::queries::{lock_unit, sublet_pairs};
use super::{queries, rules};
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::events::{self, NewEvent};
use crate::subleases::model::SubleaseStatus;

/// Tells the unit's audience that it changed (`unit.<what>`); ids and status only.
pub async fn unit_event(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    event_type: &'static str,
    row: &UnitRow,
) -> Result<(), ApiError> {
    let recipients = queries::audience(conn, row).await?;
    events::append(
        conn,
        caller,
        NewEvent {
            event_type,
            subject_type: "unit",
            subject_id: row.id,
            data: events::data(&crate::units::events::UnitEventData::from(row))?,
            recipients,
            for_platform: false,
        },
    )
    .await
}

/// Sets a unit's status as its proposals and sub-leases require (`reserved`, `occupied`,
/// back to `available`), with its event.
pub async fn set_unit_status(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    unit: Uuid,
    status: UnitStatus,
) -> Result<UnitRow, ApiError> {
    let row = queries::update_status(conn, unit, status).await?;
    unit_event(conn, caller, "unit.status_changed", &row).await?;
    Ok(row)
}

/// A unit's status once what kept it has let it go (a sub-lease ended, a proposal accepted
/// for it withdrawn): `reserved` while a sub-lease is planned on it or a household's accepted
/// proposal has no sub-lease yet, `available` otherwise (`unavailable` when its energy class
/// may no longer be let from `today`). A unit occupied or put `unavailable` by its holder is
/// left as it is.
pub async fn release_unit(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    unit_id: Uuid,
    today: NaiveDate,
) -> Result<(), ApiError> {
    let unit = lock_unit(conn, unit_id).await?;
    let others = queries::open_sublease_statuses(conn, unit_id).await?;
    if others.contains(&SubleaseStatus::Active) || unit.status == UnitStatus::Unavailable {
        return Ok(());
    }
    let accepted = queries::proposals::accepted_proposals(conn, unit_id).await?;
    let sublet = sublet_pairs(conn, &accepted).await?;
    let kept_for_a_household = accepted
        .iter()
        .any(|p| !sublet.contains(&(p.unit_id, p.household_id)));
    let status = if !others.is_empty() || kept_for_a_household {
        UnitStatus::Reserved
    } else if rules::energy_refusal(unit.energy_class, today).is_some() {
        UnitStatus::Unavailable
    } else {
        UnitStatus::Available
    };
    if status != unit.status {
        set_unit_status(conn, Some(caller), unit_id, status).await?;
    }
    Ok(())
}
