//! A measure's objectives with the household: the operator's alone, each a case of the
//! kernel whose status changes are the steps of its history.

use uuid::Uuid;

use super::super::model::*;
use super::super::queries;
use super::{not_now, operator_only};
use crate::auth::caller::Caller;
use crate::cases::{self, Case, CaseTransition, CaseType, Step};
use crate::db::Connection;
use crate::error::ApiError;
use crate::events::{self, NewEvent};
use crate::http::pagination::PageOf;

/// An objective's side: its measure's operator alone.
pub struct ObjectiveCase {
    pub row: ObjectiveRow,
    pub operator: Uuid,
}

impl Case for ObjectiveCase {
    const TYPE: CaseType = CaseType::Objective;
    type Party = ();

    fn id(&self) -> Uuid {
        self.row.id
    }

    fn household_id(&self) -> Option<Uuid> {
        Some(self.row.household_id)
    }

    fn status(&self) -> &'static str {
        self.row.status.as_str()
    }

    async fn party_of(&self, _: &mut Connection, org: Uuid) -> Result<Option<()>, ApiError> {
        Ok((org == self.operator).then_some(()))
    }

    async fn load(conn: &mut Connection, id: Uuid, lock: bool) -> Result<Option<Self>, ApiError> {
        let found = queries::objectives::find_with_operator(conn, id, lock).await?;
        Ok(found.map(|(row, operator)| ObjectiveCase { row, operator }))
    }

    /// `objective.updated` (or `objective.created`) to the operator alone.
    fn status_event(&self) -> Result<NewEvent, ApiError> {
        Ok(NewEvent {
            event_type: if self.row.version == 1 {
                "objective.created"
            } else {
                "objective.updated"
            },
            subject_type: "objective",
            subject_id: self.row.id,
            data: events::data(&crate::measures::events::ObjectiveEventData {
                id: self.row.id,
                measure_id: self.row.measure_id,
                status: self.row.status,
            })?,
            recipients: vec![self.operator],
            for_platform: false,
        })
    }
}

/// Objectives as the operator sees them, each with its history.
async fn views(conn: &mut Connection, rows: Vec<ObjectiveRow>) -> Result<Vec<Objective>, ApiError> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let history = cases::steps(conn, r.id)
            .await?
            .into_iter()
            .map(CaseTransition::from)
            .collect();
        out.push(Objective {
            id: r.id,
            measure_id: r.measure_id,
            theme: r.theme,
            description: r.description,
            status: r.status,
            version: r.version,
            history,
            created_at: r.created_at,
            updated_at: r.updated_at,
        });
    }
    Ok(out)
}

async fn view(conn: &mut Connection, row: ObjectiveRow) -> Result<Objective, ApiError> {
    Ok(views(conn, vec![row]).await?.remove(0))
}

/// The operator sets an objective of an open measure (403 for another party, 409 once the
/// measure is closed or cancelled): `in_progress`, the first step of its history
/// (`objective.created`, the operator's feed only).
pub async fn create(
    conn: &mut Connection,
    caller: &Caller,
    measure_id: Uuid,
    new: NewObjective,
) -> Result<Objective, ApiError> {
    let org = caller.partner_organisation()?;
    let (measure, party) = cases::find_as_party::<MeasureRow>(conn, org, measure_id, false).await?;
    operator_only(party, "sets its objectives")?;
    if matches!(
        measure.status,
        MeasureStatus::Closed | MeasureStatus::Cancelled
    ) {
        return Err(not_now(
            conn,
            &measure,
            caller,
            party,
            format!(
                "objectives are set on an open measure; this one is {}",
                measure.status
            ),
        )
        .await?);
    }
    let row = queries::objectives::insert(
        conn,
        measure.id,
        measure.household_id,
        new.theme,
        new.description.trim(),
    )
    .await?;
    let case = ObjectiveCase {
        row,
        operator: measure.operator_organisation_id,
    };
    cases::record(conn, Some(caller), &case, Step::new("set", None)).await?;
    view(conn, case.row).await
}

/// A measure's objectives, oldest first, for its operator (403 for another party).
pub async fn list(
    conn: &mut Connection,
    caller: &Caller,
    measure_id: Uuid,
) -> Result<PageOf<Objective>, ApiError> {
    let org = caller.partner_organisation()?;
    let (measure, party) = cases::find_as_party::<MeasureRow>(conn, org, measure_id, false).await?;
    operator_only(party, "reads its objectives")?;
    let rows = queries::objectives::of_measure(conn, measure.id).await?;
    Ok(PageOf {
        items: views(conn, rows).await?,
        next_cursor: None,
    })
}

/// An objective, for its measure's operator (404 for anyone else).
pub async fn get(conn: &mut Connection, caller: &Caller, id: Uuid) -> Result<Objective, ApiError> {
    let org = caller.partner_organisation()?;
    let (case, ()) = cases::find_as_party::<ObjectiveCase>(conn, org, id, false).await?;
    view(conn, case.row).await
}

/// The operator rewords an objective or changes its status, in the caller's transaction
/// (`If-Match`); a status change is a step of its history with its comment (a comment
/// without one is 422 `without_status_change`). Nothing changes when nothing differs.
pub async fn update(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
    if_match: &crate::http::concurrency::IfMatch,
    p: ObjectivePatch,
) -> Result<Objective, ApiError> {
    let org = caller.partner_organisation()?;
    let (case, ()) = cases::find_as_party::<ObjectiveCase>(conn, org, id, true).await?;
    if_match.check(case.row.version)?;
    let current = case.row;
    let description = p
        .description
        .as_deref()
        .map_or(current.description.clone(), |d| d.trim().to_owned());
    let status = p.status.unwrap_or(current.status);
    if p.comment.is_some() && status == current.status {
        return Err(ApiError::invalid(
            "comment",
            "without_status_change",
            "a comment goes with a change of status, in the objective's history",
        ));
    }
    if (&description, status) == (&current.description, current.status) {
        return view(conn, current).await;
    }
    let row = queries::objectives::update(conn, id, &description, status).await?;
    let case = ObjectiveCase { row, operator: org };
    if status != current.status {
        cases::record(
            conn,
            Some(caller),
            &case,
            Step::new("update", Some(current.status.as_str())).comment(p.comment.as_deref()),
        )
        .await?;
    } else {
        events::append(conn, Some(caller), case.status_event()?).await?;
    }
    view(conn, case.row).await
}
