//! What a programme will be, checked as a whole: for its creation and for the result of a
//! change, every rule in one place.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::super::model::OutcomeTarget;
use crate::error::{ApiError, FieldError};
use crate::identity::model::{OrganisationKind, OrganisationRow};

/// The most measures of a kind a programme funds.
const MAX_FUNDED: i32 = 100_000;
/// The longest a programme runs.
const MAX_YEARS: u32 = 10;

/// What a programme will be, to check as a whole (creation, or the result of a change).
pub(super) struct Draft<'a> {
    pub(super) starts_on: NaiveDate,
    pub(super) ends_on: NaiveDate,
    pub(super) department_codes: &'a [String],
    pub(super) operators: &'a [Uuid],
    /// Kinds funded, with how many (`None`: taken away) and how many are used.
    pub(super) funded: BTreeMap<String, (Option<i32>, i32)>,
    pub(super) targets: &'a [OutcomeTarget],
}

/// The field errors of a programme of the funder `funder`; every rule in one place for
/// the creation and the change.
pub(super) async fn check_draft(
    conn: &mut AsyncPgConnection,
    funder: &OrganisationRow,
    d: &Draft<'_>,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    if d.ends_on < d.starts_on {
        errors.push(FieldError::new(
            "ends_on",
            "before_start",
            format!("a programme ends on or after its start ({})", d.starts_on),
        ));
    } else if d
        .starts_on
        .checked_add_months(Months::new(12 * MAX_YEARS))
        .is_some_and(|limit| d.ends_on > limit)
    {
        errors.push(FieldError::new(
            "ends_on",
            "too_long",
            format!("a programme runs {MAX_YEARS} years at most"),
        ));
    }
    for (i, code) in d.department_codes.iter().enumerate() {
        let field = format!("department_codes[{i}]");
        if crate::identity::requests::validate_department_code(code).is_err() {
            errors.push(FieldError::new(
                field,
                "department_code",
                "département code must be 01 to 95, 2A, 2B or 971 to 978",
            ));
        } else if d.department_codes[..i].contains(code) {
            errors.push(FieldError::new(field, "duplicate", "each département once"));
        } else if funder.kind == OrganisationKind::Department && *code != funder.department_code {
            errors.push(FieldError::new(
                field,
                "not_funders_department",
                format!(
                    "a department's programme covers its own département ({})",
                    funder.department_code
                ),
            ));
        }
    }
    let codes: Vec<&String> = d.funded.keys().collect();
    let kinds = crate::measures::queries::kinds::kinds_by_code(conn, &codes).await?;
    let mut operator_kinds: Vec<OrganisationKind> = Vec::new();
    for (code, (funded, used)) in &d.funded {
        let field = format!("funded.{code}");
        let Some(funded) = funded else { continue };
        let kind = kinds.iter().find(|k| &k.code == code);
        match kind {
            None => errors.push(FieldError::new(
                field,
                "unknown_measure_kind",
                "no such measure kind (see GET /v1/measure-kinds)",
            )),
            Some(k) if !k.funder_kinds().contains(&funder.kind) => errors.push(FieldError::new(
                field,
                "not_a_funder",
                format!(
                    "measures of kind {} are funded by an organisation of kind {}",
                    k.code,
                    k.funder_kinds()
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            )),
            Some(k) if !d.department_codes.iter().all(|c| k.offered_in(c)) => {
                errors.push(FieldError::new(
                    field,
                    "not_offered",
                    format!(
                        "kind {} is offered in département {} only",
                        k.code,
                        k.department_code.as_deref().unwrap_or_default()
                    ),
                ))
            }
            Some(k) => {
                operator_kinds.extend(k.operator_kinds());
                operator_kinds.dedup();
                if !(0..=MAX_FUNDED).contains(funded) {
                    errors.push(FieldError::new(
                        field,
                        "range",
                        format!("must be between 0 and {MAX_FUNDED}"),
                    ));
                } else if funded < used {
                    errors.push(FieldError::new(
                        field,
                        "below_used",
                        format!("{used} measures of kind {code} have started under the programme"),
                    ));
                }
            }
        }
    }
    for (code, (funded, used)) in &d.funded {
        if funded.is_none() && *used > 0 {
            errors.push(FieldError::new(
                format!("funded.{code}"),
                "in_use",
                format!("{used} measures of kind {code} have started under the programme"),
            ));
        }
    }
    // (An empty map is the field rules' `length`.)
    if !d.funded.is_empty() && !d.funded.values().any(|(f, _)| f.is_some()) {
        errors.push(FieldError::new(
            "funded",
            "required",
            "a programme funds at least one kind",
        ));
    }
    let orgs = crate::identity::queries::kinds_of(conn, d.operators).await?;
    for (i, id) in d.operators.iter().enumerate() {
        let field = format!("operator_organisation_ids[{i}]");
        match orgs.iter().find(|(o, _)| o == id) {
            _ if d.operators[..i].contains(id) => {
                errors.push(FieldError::new(field, "duplicate", "each operator once"))
            }
            None => errors.push(FieldError::new(
                field,
                "unknown_organisation",
                "no such organisation",
            )),
            Some((_, kind)) if !operator_kinds.is_empty() && !operator_kinds.contains(kind) => {
                errors.push(FieldError::new(
                    field,
                    "not_an_operator",
                    format!("an organisation of kind {kind} operates none of the kinds funded"),
                ))
            }
            Some(_) => {}
        }
    }
    for (i, t) in d.targets.iter().enumerate() {
        if let Some(k) = &t.kind {
            if !matches!(d.funded.get(k), Some((Some(_), _))) {
                errors.push(FieldError::new(
                    format!("targets[{i}].kind"),
                    "kind_not_funded",
                    format!("the programme does not fund kind {k}"),
                ));
            }
        }
        for (j, o) in t.outcomes.iter().enumerate() {
            if t.outcomes[..j].contains(o) {
                errors.push(FieldError::new(
                    format!("targets[{i}].outcomes[{j}]"),
                    "duplicate",
                    "each outcome once",
                ));
            }
        }
    }
    Ok(())
}
