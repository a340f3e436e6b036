//! Every diesel statement on the measure catalogue.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::super::model::{to_json, MeasureKindRow, NewMeasureKind, OutcomeCode};
use crate::db::Connection;
use crate::error::ApiError;
use crate::identity::model::OrganisationKind;
use crate::schema::measure_kinds;

/// The kind `code`, withdrawn or not, locked `FOR UPDATE` when `lock`.
pub async fn find(
    conn: &mut Connection,
    code: &str,
    lock: bool,
) -> Result<Option<MeasureKindRow>, ApiError> {
    let q = measure_kinds::table
        .find(code)
        .select(MeasureKindRow::as_select());
    Ok(if lock {
        q.for_update().first(conn).await.optional()?
    } else {
        q.first(conn).await.optional()?
    })
}

/// The kind `code` if it is active.
pub async fn find_active(
    conn: &mut Connection,
    code: &str,
) -> Result<Option<MeasureKindRow>, ApiError> {
    Ok(measure_kinds::table
        .find(code)
        .filter(measure_kinds::active.eq(true))
        .select(MeasureKindRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Whether the catalogue holds (or held) the kind `code`.
pub async fn exists(conn: &mut Connection, code: &str) -> Result<bool, ApiError> {
    Ok(
        diesel::select(diesel::dsl::exists(measure_kinds::table.find(code)))
            .get_result(conn)
            .await?,
    )
}

/// The catalogue's kinds among `codes`.
pub async fn kinds_by_code(
    conn: &mut Connection,
    codes: &[&String],
) -> Result<Vec<MeasureKindRow>, ApiError> {
    Ok(measure_kinds::table
        .filter(measure_kinds::code.eq_any(codes))
        .select(MeasureKindRow::as_select())
        .load(conn)
        .await?)
}

/// The operator kinds and funder kinds (JSON lists) of each active kind.
pub async fn active_sides(
    conn: &mut Connection,
) -> Result<Vec<(serde_json::Value, serde_json::Value)>, ApiError> {
    Ok(measure_kinds::table
        .filter(measure_kinds::active.eq(true))
        .select((measure_kinds::operator_kinds, measure_kinds::funder_kinds))
        .load(conn)
        .await?)
}

/// The active kinds, by code: the national ones and, with `department`, that
/// département's own (without: every one).
pub async fn list_active(
    conn: &mut Connection,
    department: Option<String>,
) -> Result<Vec<MeasureKindRow>, ApiError> {
    let mut q = measure_kinds::table
        .filter(measure_kinds::active.eq(true))
        .select(MeasureKindRow::as_select())
        .into_boxed();
    if let Some(d) = department {
        q = q.filter(
            measure_kinds::department_code
                .is_null()
                .or(measure_kinds::department_code.eq(d)),
        );
    }
    Ok(q.order(measure_kinds::code.asc()).load(conn).await?)
}

/// Adds a kind as an admin sent it (checked), with its exclusive outcome groups (given or
/// by default).
pub async fn insert(
    conn: &mut Connection,
    new: &NewMeasureKind,
    exclusive: &[Vec<OutcomeCode>],
) -> Result<MeasureKindRow, ApiError> {
    Ok(diesel::insert_into(measure_kinds::table)
        .values((
            measure_kinds::code.eq(&new.code),
            measure_kinds::name.eq(new.name.trim()),
            measure_kinds::funder.eq(new.funder.trim()),
            measure_kinds::description.eq(new.description.trim()),
            measure_kinds::default_response_days.eq(new.default_response_days),
            measure_kinds::duration_months.eq(new.duration_months),
            measure_kinds::needs_decision.eq(new.needs_decision),
            measure_kinds::renewal_policy.eq(to_json(&new.renewal_policy)),
            measure_kinds::contact_every_days.eq(new.contact_every_days),
            measure_kinds::contact_kinds.eq(to_json(&new.contact_kinds)),
            measure_kinds::outcome_codes.eq(to_json(&new.outcome_codes)),
            measure_kinds::exclusive_outcomes.eq(to_json(&exclusive)),
            measure_kinds::renewal_window_months.eq(new.renewal_window_months),
            measure_kinds::max_total_months.eq(new.max_total_months),
            measure_kinds::max_suspension_days.eq(new.max_suspension_days),
            measure_kinds::operator_kinds.eq(to_json(
                &new.operator_kinds
                    .clone()
                    .unwrap_or(vec![OrganisationKind::Association]),
            )),
            measure_kinds::funder_kinds.eq(to_json(&new.funder_kinds)),
            measure_kinds::department_code.eq(&new.department_code),
        ))
        .returning(MeasureKindRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Stores a kind's new rules, with a new version.
pub async fn update(
    conn: &mut Connection,
    next: &MeasureKindRow,
) -> Result<MeasureKindRow, ApiError> {
    Ok(diesel::update(measure_kinds::table.find(&next.code))
        .set((
            measure_kinds::name.eq(&next.name),
            measure_kinds::funder.eq(&next.funder),
            measure_kinds::description.eq(&next.description),
            measure_kinds::default_response_days.eq(next.default_response_days),
            measure_kinds::duration_months.eq(next.duration_months),
            measure_kinds::needs_decision.eq(next.needs_decision),
            measure_kinds::renewal_policy.eq(&next.renewal_policy),
            measure_kinds::contact_every_days.eq(next.contact_every_days),
            measure_kinds::contact_kinds.eq(&next.contact_kinds),
            measure_kinds::outcome_codes.eq(&next.outcome_codes),
            measure_kinds::exclusive_outcomes.eq(&next.exclusive_outcomes),
            measure_kinds::renewal_window_months.eq(next.renewal_window_months),
            measure_kinds::max_total_months.eq(next.max_total_months),
            measure_kinds::max_suspension_days.eq(next.max_suspension_days),
            measure_kinds::operator_kinds.eq(&next.operator_kinds),
            measure_kinds::funder_kinds.eq(&next.funder_kinds),
            measure_kinds::active.eq(next.active),
            crate::db::bump(measure_kinds::version, measure_kinds::updated_at),
        ))
        .returning(MeasureKindRow::as_returning())
        .get_result(conn)
        .await?)
}
