//! Every diesel statement on a measure's objectives.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::super::model::{ObjectiveRow, ObjectiveStatus, ObjectiveTheme};
use crate::db::Connection;
use crate::error::ApiError;
use crate::schema::{measures, objectives};

/// The objective `id` and its measure's operator, locked `FOR UPDATE` when `lock`.
pub async fn find_with_operator(
    conn: &mut Connection,
    id: Uuid,
    lock: bool,
) -> Result<Option<(ObjectiveRow, Uuid)>, ApiError> {
    let q = objectives::table
        .inner_join(measures::table)
        .filter(objectives::id.eq(id))
        .select((
            ObjectiveRow::as_select(),
            measures::operator_organisation_id,
        ));
    Ok(if lock {
        q.for_update().first(conn).await.optional()?
    } else {
        q.first(conn).await.optional()?
    })
}

/// A measure's objectives, oldest first.
pub async fn of_measure(
    conn: &mut Connection,
    measure: Uuid,
) -> Result<Vec<ObjectiveRow>, ApiError> {
    Ok(objectives::table
        .filter(objectives::measure_id.eq(measure))
        .select(ObjectiveRow::as_select())
        .order(objectives::id.asc())
        .load(conn)
        .await?)
}

/// A new objective, `in_progress`.
pub async fn insert(
    conn: &mut Connection,
    measure: Uuid,
    household: Uuid,
    theme: ObjectiveTheme,
    description: &str,
) -> Result<ObjectiveRow, ApiError> {
    Ok(diesel::insert_into(objectives::table)
        .values((
            objectives::id.eq(Uuid::now_v7()),
            objectives::measure_id.eq(measure),
            objectives::household_id.eq(household),
            objectives::theme.eq(theme),
            objectives::description.eq(description),
            objectives::status.eq(ObjectiveStatus::InProgress),
        ))
        .returning(ObjectiveRow::as_returning())
        .get_result(conn)
        .await?)
}

/// An objective's new wording and status, with a new version.
pub async fn update(
    conn: &mut Connection,
    id: Uuid,
    description: &str,
    status: ObjectiveStatus,
) -> Result<ObjectiveRow, ApiError> {
    Ok(diesel::update(objectives::table.find(id))
        .set((
            objectives::description.eq(description),
            objectives::status.eq(status),
            crate::db::bump(objectives::version, objectives::updated_at),
        ))
        .returning(ObjectiveRow::as_returning())
        .get_result(conn)
        .await?)
}
