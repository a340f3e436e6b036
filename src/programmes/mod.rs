//! Programmes (*appels à projets*): a funder (a department or a State service) funds a
//! number of measures per kind, over a period, for a budget, with outcome targets ("45 ASRL
//! and 58 AML measures, 515 000 €, 2019–2020"; DOMAIN.md "Programmes and capacity").
//!
//! - **Who sees a programme**: its funder, and the operators it funds; anyone else gets 404.
//!   Only the funder changes it.
//! - **Places**: a measure belongs to at most one programme (`measures.programme_id`, set
//!   by its operator). It takes a place of its kind when it starts under the programme (or
//!   joins it already started) and keeps it when it closes: a programme funds measures, not
//!   simultaneous places. The place is taken by one conditional `UPDATE … WHERE used <
//!   funded` in the transaction of the start ([`take_place`]): of two operators racing for
//!   the last place, the second waits for the first's row lock, then finds none left (409
//!   `programme_full`, naming `used` and `funded`).
//! - **Indicators** ([`indicators`]): counts, delays and outcomes of the programme's
//!   measures, never a household.

pub mod events;
pub mod handlers;
pub mod indicators;
pub mod model;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::{ApiError, FieldError};
use crate::schema::{programme_kinds, programme_operators, programmes};
use model::{Programme, ProgrammeKindRow, ProgrammeRow};

/// An organisation's part in a programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgrammeParty {
    Funder,
    Operator,
}

/// The programme `id` and the organisation's part in it; 404 when it has none.
pub async fn find_as_party(
    conn: &mut AsyncPgConnection,
    org: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<(ProgrammeRow, ProgrammeParty), ApiError> {
    let row: ProgrammeRow = crate::load_row!(conn, programmes::table, ProgrammeRow, id, lock)
        .and_then(|r: Option<ProgrammeRow>| r.ok_or(ApiError::NotFound))?;
    if row.funder_organisation_id == org {
        return Ok((row, ProgrammeParty::Funder));
    }
    if is_operator(conn, id, org).await? {
        Ok((row, ProgrammeParty::Operator))
    } else {
        Err(ApiError::NotFound)
    }
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

/// The programme with its places and operators.
pub async fn view(conn: &mut AsyncPgConnection, row: ProgrammeRow) -> Result<Programme, ApiError> {
    let kinds: Vec<ProgrammeKindRow> = programme_kinds::table
        .filter(programme_kinds::programme_id.eq(row.id))
        .select(ProgrammeKindRow::as_select())
        .order(programme_kinds::kind.asc())
        .load(conn)
        .await?;
    let operators: Vec<Uuid> = programme_operators::table
        .filter(programme_operators::programme_id.eq(row.id))
        .select(programme_operators::operator_organisation_id)
        .order(programme_operators::operator_organisation_id.asc())
        .load(conn)
        .await?;
    Ok(Programme::from_parts(row, kinds, operators))
}

/// Takes a place of `kind` in the programme for a measure that starts (or joins it
/// started), in the caller's transaction: 409 `programme_full` when every funded place is
/// used. One statement, so two starts racing for the last place cannot both take it.
pub async fn take_place(
    conn: &mut AsyncPgConnection,
    programme: Uuid,
    kind: &str,
) -> Result<(), ApiError> {
    let taken: Option<i32> = diesel::update(
        programme_kinds::table
            .find((programme, kind))
            .filter(programme_kinds::used.lt(programme_kinds::funded)),
    )
    .set(programme_kinds::used.eq(programme_kinds::used + 1))
    .returning(programme_kinds::used)
    .get_result(conn)
    .await
    .optional()?;
    if taken.is_some() {
        return Ok(());
    }
    let place: Option<(i32, i32)> = programme_kinds::table
        .find((programme, kind))
        .select((programme_kinds::used, programme_kinds::funded))
        .first(conn)
        .await
        .optional()?;
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
    Ok(diesel::select(diesel::dsl::exists(
        programme_kinds::table
            .find((programme, kind))
            .filter(programme_kinds::used.lt(programme_kinds::funded)),
    ))
    .get_result(conn)
    .await?)
}

/// Gives back the place of a started measure that leaves the programme.
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
    let row: Option<ProgrammeRow> = programmes::table
        .find(programme)
        .select(ProgrammeRow::as_select())
        .first(conn)
        .await
        .optional()?;
    let row = match row {
        Some(r) if is_operator(conn, r.id, measure.operator).await? => r,
        _ => {
            errors.push(FieldError::new(
                field,
                "unknown_programme",
                "no programme funding your organisation has this id (GET /v1/programmes)",
            ));
            return Ok(None);
        }
    };
    let kinds: Vec<String> = programme_kinds::table
        .filter(programme_kinds::programme_id.eq(programme))
        .select(programme_kinds::kind)
        .order(programme_kinds::kind.asc())
        .load(conn)
        .await?;
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
