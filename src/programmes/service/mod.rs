//! The use cases of programmes, each inside the transaction its caller gives: create,
//! list, read and change a programme (`draft`: every rule of what it will be), and its
//! places that measures take (`places`).

mod draft;
mod places;

use std::collections::{BTreeMap, BTreeSet};

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

pub use places::{check_eligible, has_place, release_place, take_place, Eligibility};

use super::model::{
    NewProgramme, Programme, ProgrammeFilters, ProgrammePatch, ProgrammeRow, ProgrammeSide,
};
use super::queries::{self, NewProgrammeRow, ProgrammeChanges};
use crate::auth::caller::Caller;
use crate::db::Page;
use crate::error::{ApiError, FieldError};
use crate::events::{self, NewEvent};
use crate::http::concurrency::IfMatch;
use crate::http::pagination::PageOf;
use draft::{check_draft, Draft};

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
    let row = queries::find(conn, id, lock)
        .await?
        .ok_or(ApiError::NotFound)?;
    if row.funder_organisation_id == org {
        return Ok((row, ProgrammeParty::Funder));
    }
    if queries::is_operator(conn, id, org).await? {
        Ok((row, ProgrammeParty::Operator))
    } else {
        Err(ApiError::NotFound)
    }
}

/// The programme with its places and operators.
pub async fn view(conn: &mut AsyncPgConnection, row: ProgrammeRow) -> Result<Programme, ApiError> {
    let kinds = queries::kinds(conn, row.id).await?;
    let operators = queries::operators(conn, row.id).await?;
    Ok(Programme::from_parts(row, kinds, operators))
}

/// The event of a programme's creation or change, to its funder and its operators.
async fn programme_event(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    event_type: &'static str,
    p: &Programme,
) -> Result<(), ApiError> {
    let mut recipients = vec![p.funder_organisation_id];
    recipients.extend(&p.operator_organisation_ids);
    events::append(
        conn,
        Some(caller),
        NewEvent {
            event_type,
            subject_type: "programme",
            subject_id: p.id,
            data: events::data(&crate::programmes::events::ProgrammeEventData {
                id: p.id,
                name: p.name.clone(),
                capacity: p.capacity.clone(),
                version: p.version,
            })?,
            recipients,
            for_platform: false,
        },
    )
    .await
}

/// Creates the caller's organisation's programme, checked (with the request's own field
/// errors, `errors`), and tells its funder and operators (`programme.created`).
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    new: &NewProgramme,
    mut errors: Vec<FieldError>,
) -> Result<Programme, ApiError> {
    let org = caller.partner_organisation()?;
    let funder = crate::identity::queries::find_organisation(conn, org).await?;
    let draft = Draft {
        starts_on: new.starts_on,
        ends_on: new.ends_on,
        department_codes: &new.department_codes,
        operators: &new.operator_organisation_ids,
        funded: new
            .funded
            .iter()
            .map(|(k, v)| (k.clone(), (Some(*v), 0)))
            .collect(),
        targets: &new.targets,
    };
    check_draft(conn, &funder, &draft, &mut errors).await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let funded: Vec<(&String, i32)> = new.funded.iter().map(|(k, n)| (k, *n)).collect();
    let row = queries::insert(
        conn,
        NewProgrammeRow {
            id: Uuid::now_v7(),
            name: new.name.trim(),
            funder_organisation_id: org,
            starts_on: new.starts_on,
            ends_on: new.ends_on,
            department_codes: events::data(&new.department_codes)?,
            budget_cents: new.budget_cents,
            targets: events::data(&new.targets)?,
        },
        &funded,
    )
    .await?;
    queries::write_operators(conn, row.id, &new.operator_organisation_ids).await?;
    let p = view(conn, row).await?;
    programme_event(conn, caller, "programme.created", &p).await?;
    Ok(p)
}

/// A page of the programmes the caller's organisation funds or is funded by (422
/// `not_your_side` for a side its kind never takes).
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    filters: &ProgrammeFilters,
    page: Page,
) -> Result<PageOf<Programme>, ApiError> {
    let org = caller.partner_organisation()?;
    let refusal = match filters.r#as {
        Some(ProgrammeSide::Funder)
            if !crate::auth::policy::funds_programmes(caller.organisation_kind) =>
        {
            Some((
                "funder",
                "a programme is funded by a department or a State service",
            ))
        }
        Some(ProgrammeSide::Operator)
            if !crate::measures::service::kinds::sides_of(conn, caller.organisation_kind)
                .await?
                .operates =>
        {
            Some((
                "operator",
                "a programme funds operators, of a kind the catalogue names to operate some \
                 measure kind",
            ))
        }
        _ => None,
    };
    if let Some((name, why)) = refusal {
        return Err(crate::cases::not_your_side(
            "as",
            format!("your organisation's kind never takes the `{name}` side: {why}"),
        ));
    }
    let rows = queries::list(conn, org, filters, page).await?;
    let (rows, more) = page.split(rows);
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        items.push(view(conn, r).await?);
    }
    Ok(PageOf::new(items, more, |p| p.id))
}

/// The programme `id`, for its funder and the operators it funds (404 for anyone else).
pub async fn get(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<Programme, ApiError> {
    let org = caller.partner_organisation()?;
    let (row, _) = find_as_party(conn, org, id, false).await?;
    view(conn, row).await
}

/// Changes the programme `id`, by its funder (403 otherwise) with `If-Match`, checked as a
/// whole with the request's own field errors (`errors`); nothing sent that differs changes
/// nothing. Its operators, those taken away included, are told (`programme.updated`).
pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
    p: ProgrammePatch,
    mut errors: Vec<FieldError>,
) -> Result<Programme, ApiError> {
    let org = caller.partner_organisation()?;
    let (row, party) = find_as_party(conn, org, id, true).await?;
    if party != ProgrammeParty::Funder {
        return Err(ApiError::Forbidden(
            "only the programme's funder changes it".into(),
        ));
    }
    if_match.check(row.version)?;
    let current = view(conn, row.clone()).await?;
    let funder = crate::identity::queries::find_organisation(conn, org).await?;
    let mut funded: BTreeMap<String, (Option<i32>, i32)> = current
        .capacity
        .iter()
        .map(|c| (c.kind.clone(), (Some(c.funded), c.used)))
        .collect();
    for (k, n) in p.funded.iter().flatten() {
        funded.entry(k.clone()).or_insert((None, 0)).0 = *n;
    }
    let department_codes = p
        .department_codes
        .clone()
        .unwrap_or_else(|| current.department_codes.clone());
    let operators = p
        .operator_organisation_ids
        .clone()
        .unwrap_or_else(|| current.operator_organisation_ids.clone());
    let targets = p.targets.clone().unwrap_or_else(|| current.targets.clone());
    let ends_on = p.ends_on.unwrap_or(current.ends_on);
    let draft = Draft {
        starts_on: current.starts_on,
        ends_on,
        department_codes: &department_codes,
        operators: &operators,
        funded: funded.clone(),
        targets: &targets,
    };
    check_draft(conn, &funder, &draft, &mut errors).await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let name = p
        .name
        .as_deref()
        .map_or(current.name.clone(), |n| n.trim().to_owned());
    let budget = p.budget_cents.unwrap_or(current.budget_cents);
    let same_funded = funded.iter().all(|(k, (n, _))| {
        current
            .capacity
            .iter()
            .any(|c| &c.kind == k && Some(c.funded) == *n)
    });
    let same_operators = operators.iter().collect::<BTreeSet<_>>()
        == current
            .operator_organisation_ids
            .iter()
            .collect::<BTreeSet<_>>();
    let same_departments = department_codes.iter().collect::<BTreeSet<_>>()
        == current.department_codes.iter().collect::<BTreeSet<_>>();
    if name == current.name
        && ends_on == current.ends_on
        && budget == current.budget_cents
        && targets == current.targets
        && same_funded
        && same_operators
        && same_departments
    {
        return Ok(current);
    }
    let row = queries::update(
        conn,
        id,
        ProgrammeChanges {
            name: &name,
            ends_on,
            department_codes: events::data(&department_codes)?,
            budget_cents: budget,
            targets: events::data(&targets)?,
        },
    )
    .await?;
    for (k, (n, _)) in &funded {
        queries::set_funded(conn, id, k, *n).await?;
    }
    if !same_operators {
        queries::write_operators(conn, id, &operators).await?;
    }
    let updated = view(conn, row).await?;
    // Operators taken away learn it too.
    let mut told = updated.clone();
    told.operator_organisation_ids.extend(
        current
            .operator_organisation_ids
            .iter()
            .filter(|o| !updated.operator_organisation_ids.contains(o)),
    );
    programme_event(conn, caller, "programme.updated", &told).await?;
    Ok(updated)
}
