//! A programme's places: a measure takes one of its kind when it starts under the
//! programme (or joins it started) and keeps it when it closes; what a measure needs to be
//! put under a programme.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::super::model::ProgrammeRow;
use super::super::queries;
use crate::error::{ApiError, FieldError};

/// Takes a place of `kind` in the programme for a measure that starts (or joins it
/// started), in the caller's transaction: 409 `programme_full` when every funded place is
/// used. One statement, so two starts racing for the last place cannot both take it.
pub async fn take_place(
    conn: &mut AsyncPgConnection,
    programme: Uuid,
    kind: &str,
) -> Result<(), ApiError> {
    let taken = queries::take_free_place(conn, programme, kind).await?;
    if taken.is_some() {
        return Ok(());
    }
    let place = queries::places(conn, programme, kind).await?;
    match place {
        Some((used, funded)) => Err(ApiError::programme_full(programme, kind, used, funded)),
        None => Err(ApiError::conflict(format!(
            "the programme no longer funds measures of kind {kind}: take the measure out of it \
             (`programme_id`: null) or ask its funder"
        ))),
    }
}

/// Whether a measure of `kind` starting now would find a place in the programme (what
/// [`take_place`] would do, read without taking it).
pub async fn has_place(
    conn: &mut AsyncPgConnection,
    programme: Uuid,
    kind: &str,
) -> Result<bool, ApiError> {
    queries::has_free_place(conn, programme, kind).await
}

/// Gives back the place of a started measure that leaves the programme.
pub async fn release_place(
    conn: &mut AsyncPgConnection,
    programme: Uuid,
    kind: &str,
) -> Result<(), ApiError> {
    queries::release_place(conn, programme, kind).await
}

/// What a measure needs to be put under a programme: its operator is funded by it, its
/// kind is funded, it starts within the programme's period, and its funder (if any) is the
/// programme's. Failures are field errors on `field`; the programme when it may be used.
pub async fn check_eligible(
    conn: &mut AsyncPgConnection,
    field: &str,
    programme: Uuid,
    measure: Eligibility<'_>,
    errors: &mut Vec<FieldError>,
) -> Result<Option<ProgrammeRow>, ApiError> {
    let row = queries::find(conn, programme, false).await?;
    let row = match row {
        Some(r) if queries::is_operator(conn, r.id, measure.operator).await? => r,
        _ => {
            errors.push(FieldError::new(
                field,
                "unknown_programme",
                "no programme funding your organisation has this id (GET /v1/programmes)",
            ));
            return Ok(None);
        }
    };
    let kinds = queries::kind_codes(conn, programme).await?;
    let before = errors.len();
    if !kinds.iter().any(|k| k == measure.kind) {
        errors.push(FieldError::new(
            field,
            "kind_not_funded",
            format!(
                "the programme funds measures of kind {}, not {}",
                kinds.join(", "),
                measure.kind
            ),
        ));
    }
    if measure.starts_on < row.starts_on || measure.starts_on > row.ends_on {
        errors.push(FieldError::new(
            field,
            "outside_period",
            format!(
                "the programme funds measures starting from {} to {}; this one starts on {}",
                row.starts_on, row.ends_on, measure.starts_on
            ),
        ));
    }
    if measure
        .funder
        .is_some_and(|f| f != row.funder_organisation_id)
    {
        errors.push(FieldError::new(
            field,
            "other_funder",
            "the measure's funder is not the programme's",
        ));
    }
    Ok((errors.len() == before).then_some(row))
}

/// The measure to put under a programme.
pub struct Eligibility<'a> {
    pub kind: &'a str,
    pub operator: Uuid,
    pub starts_on: chrono::NaiveDate,
    pub funder: Option<Uuid>,
}
