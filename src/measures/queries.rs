//! Statements on measures that other domains' services need (the statements of the
//! measures' own use cases move here as the domain takes the layered shape; see
//! `src/lib.rs`).

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::catalogue::MeasureKindRow;
use super::model::MeasureStatus;
use crate::error::ApiError;
use crate::schema::{measure_kinds, measures};

/// Whether `measure` is an open measure (proposed, active or suspended) that `operator`
/// operates for `household`.
pub async fn is_open_measure_of(
    conn: &mut AsyncPgConnection,
    measure: Uuid,
    operator: Uuid,
    household: Uuid,
) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(
        measures::table
            .filter(measures::id.eq(measure))
            .filter(measures::operator_organisation_id.eq(operator))
            .filter(measures::household_id.eq(household))
            .filter(measures::status.eq_any([
                MeasureStatus::Proposed,
                MeasureStatus::Active,
                MeasureStatus::Suspended,
            ])),
    ))
    .get_result(conn)
    .await?)
}

/// The status and planned end of each of `ids`.
pub async fn statuses_and_ends(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, MeasureStatus, Option<NaiveDate>)>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(measures::table
        .filter(measures::id.eq_any(ids))
        .select((measures::id, measures::status, measures::planned_end_on))
        .load(conn)
        .await?)
}

/// The catalogue's kinds among `codes`.
pub async fn kinds_by_code(
    conn: &mut AsyncPgConnection,
    codes: &[&String],
) -> Result<Vec<MeasureKindRow>, ApiError> {
    Ok(measure_kinds::table
        .filter(measure_kinds::code.eq_any(codes))
        .select(MeasureKindRow::as_select())
        .load(conn)
        .await?)
}
