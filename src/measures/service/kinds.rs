//! The measure catalogue (`/v1/measure-kinds`): each kind carries its rules as data, and the
//! code reads them instead of knowing any kind by name.
//!
//! A rule left empty (`null`, `[]`) is one the sources do not give: nothing is enforced for
//! it (no duration: no planned end; no rhythm: no contact is due). Outcome codes are never
//! empty: they feed funders' targets, with the groups that exclude each other. A
//! kind is national (`department_code` `null`, managed by platform admins) or a
//! département's own (managed by the admins of that département's department, offered only
//! to organisations of that département). A measure copies its kind's rules when it is
//! opened ([`MeasureKindRow::rules`]): a later change of the catalogue never changes it.

use super::super::model::*;
use super::super::queries;
use super::super::rules;
use crate::auth::caller::Caller;
use crate::db::Connection;
use crate::error::{ApiError, FieldError};
use crate::http::concurrency::IfMatch;
use crate::http::patch;
use crate::identity::model::OrganisationKind;

/// The caller's organisation's département (none for a platform admin).
pub async fn caller_department(
    conn: &mut Connection,
    caller: &Caller,
) -> Result<Option<String>, ApiError> {
    let Some(org) = caller.organisation_id else {
        return Ok(None);
    };
    Ok(Some(
        crate::identity::queries::department_of(conn, org).await?,
    ))
}

/// A kind the caller is offered (national, or its département's), or `None`.
pub async fn find_offered(
    conn: &mut Connection,
    code: &str,
    department_code: &str,
) -> Result<Option<MeasureKindRow>, ApiError> {
    let row = queries::kinds::find_active(conn, code).await?;
    Ok(row.filter(|k| k.offered_in(department_code)))
}

/// Checks a kind named by a request's field, for an organisation of `department_code`:
/// unknown, withdrawn or another département's kind is `unknown_measure_kind`.
pub async fn check_offered(
    conn: &mut Connection,
    field: &str,
    code: &str,
    department_code: &str,
    errors: &mut Vec<FieldError>,
) -> Result<Option<MeasureKindRow>, ApiError> {
    let kind = find_offered(conn, code, department_code).await?;
    if kind.is_none() {
        errors.push(FieldError::new(
            field,
            "unknown_measure_kind",
            format!("no such measure kind offered in département {department_code} (see GET /v1/measure-kinds)"),
        ));
    }
    Ok(kind)
}

/// Checks a list's measure-kind filter: a malformed code is a 400 (`pattern`), a code the
/// catalogue never held a 422 (`unknown_measure_kind`), both naming `field`; a withdrawn
/// kind or another département's is a real filter (measures of it may still run).
pub async fn check_kind_filter(
    conn: &mut Connection,
    field: &str,
    code: &str,
) -> Result<(), ApiError> {
    if !crate::referrals::rules::measure_kind_code_is_valid(code) {
        return Err(ApiError::bad_request(
            field,
            "pattern",
            "a measure kind's code (see /v1/measure-kinds): a lower-case letter, then 1 to 39 \
             lower-case letters, digits or underscores",
        ));
    }
    let known = queries::kinds::exists(conn, code).await?;
    if known {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            "unknown_measure_kind",
            format!("the catalogue holds no measure kind `{code}` (see GET /v1/measure-kinds)"),
        ))
    }
}

/// The sides of a measure an organisation of some kind can take, by the active catalogue:
/// the operator of some kind, the funder of some kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSides {
    pub operates: bool,
    pub funds: bool,
}

/// The sides of a measure an organisation of this kind can take (none for a platform admin).
pub async fn sides_of(
    conn: &mut Connection,
    kind: Option<OrganisationKind>,
) -> Result<KindSides, ApiError> {
    let Some(kind) = kind else {
        return Ok(KindSides {
            operates: false,
            funds: false,
        });
    };
    let kinds = queries::kinds::active_sides(conn).await?;
    Ok(KindSides {
        operates: kinds
            .iter()
            .any(|(o, _)| json_list::<OrganisationKind>(o).contains(&kind)),
        funds: kinds
            .iter()
            .any(|(_, f)| json_list::<OrganisationKind>(f).contains(&kind)),
    })
}

/// Cross-field rules of a kind.
fn kind_errors(duration: Option<i32>, max_total: Option<i32>) -> Vec<FieldError> {
    match (duration, max_total) {
        (Some(d), Some(m)) if m < d => vec![FieldError::new(
            "max_total_months",
            "below_duration",
            "the maximum length is at least the kind's duration",
        )],
        (None, Some(_)) => vec![FieldError::new(
            "max_total_months",
            "without_duration",
            "a kind without a duration has no maximum length",
        )],
        _ => Vec::new(),
    }
}

/// The kinds offered to the caller's organisation: the national ones and its
/// département's own (a platform admin: every kind), by code.
pub async fn list(conn: &mut Connection, caller: &Caller) -> Result<Vec<MeasureKind>, ApiError> {
    let department = caller_department(conn, caller).await?;
    let rows = queries::kinds::list_active(conn, department).await?;
    Ok(rows.into_iter().map(MeasureKind::from).collect())
}

/// Any kind of the catalogue, withdrawn or not (404 when it never held it).
pub async fn get(conn: &mut Connection, code: &str) -> Result<MeasureKind, ApiError> {
    let row = queries::kinds::find(conn, code, false)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(row.into())
}

/// Adds a kind (its manager already authorised): the body's field errors with the
/// cross-field rules (the maximum length, the outcome groups) in one 422; a code the
/// catalogue holds is a 409 (codes are national).
pub async fn create(
    conn: &mut Connection,
    new: NewMeasureKind,
    field_errors: Vec<FieldError>,
) -> Result<MeasureKind, ApiError> {
    let mut errors = field_errors;
    errors.extend(kind_errors(new.duration_months, new.max_total_months));
    let exclusive = new
        .exclusive_outcomes
        .clone()
        .unwrap_or_else(|| rules::default_exclusive_outcomes(&new.outcome_codes));
    errors.extend(rules::outcome_rule_errors(&new.outcome_codes, &exclusive));
    let exists = queries::kinds::exists(conn, &new.code).await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if exists {
        return Err(ApiError::conflict(format!(
            "a kind of the catalogue has the code {}: codes are national, choose another",
            new.code
        )));
    }
    Ok(queries::kinds::insert(conn, &new, &exclusive).await?.into())
}

/// Changes a kind's rules, in the caller's transaction: locked, its manager authorised
/// (`admin_department`: the caller's organisation's, see [`caller_department`]),
/// `If-Match`, the cross-field rules (422). Measures already opened keep their rules.
/// Nothing changes when nothing differs.
pub async fn update(
    conn: &mut Connection,
    caller: &Caller,
    admin_department: Option<String>,
    code: &str,
    if_match: &IfMatch,
    p: MeasureKindPatch,
) -> Result<MeasureKind, ApiError> {
    let current = queries::kinds::find(conn, code, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    crate::auth::policy::authorize(
        caller,
        crate::auth::policy::Action::ManageMeasureKind {
            department_code: current.department_code.clone(),
            admin_department,
        },
    )?;
    if_match.check(current.version)?;
    let duration = patch::merge(&p.duration_months, &current.duration_months);
    let max_total = patch::merge(&p.max_total_months, &current.max_total_months);
    let mut errors = kind_errors(duration, max_total);
    let codes: Vec<OutcomeCode> = p
        .outcome_codes
        .clone()
        .unwrap_or_else(|| json_list(&current.outcome_codes));
    let exclusive: Vec<Vec<OutcomeCode>> = p
        .exclusive_outcomes
        .clone()
        .unwrap_or_else(|| json_list(&current.exclusive_outcomes));
    errors.extend(rules::outcome_rule_errors(&codes, &exclusive));
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let next = MeasureKindRow {
        name: p
            .name
            .as_deref()
            .map_or(current.name.clone(), |s| s.trim().to_owned()),
        funder: p
            .funder
            .as_deref()
            .map_or(current.funder.clone(), |s| s.trim().to_owned()),
        description: p
            .description
            .as_deref()
            .map_or(current.description.clone(), |s| s.trim().to_owned()),
        default_response_days: patch::merge(
            &p.default_response_days,
            &current.default_response_days,
        ),
        duration_months: duration,
        needs_decision: p.needs_decision.unwrap_or(current.needs_decision),
        renewal_policy: p
            .renewal_policy
            .as_ref()
            .map_or(current.renewal_policy.clone(), to_json),
        contact_every_days: patch::merge(&p.contact_every_days, &current.contact_every_days),
        contact_kinds: p
            .contact_kinds
            .as_ref()
            .map_or(current.contact_kinds.clone(), to_json),
        outcome_codes: p
            .outcome_codes
            .as_ref()
            .map_or(current.outcome_codes.clone(), to_json),
        exclusive_outcomes: to_json(&exclusive),
        renewal_window_months: patch::merge(
            &p.renewal_window_months,
            &current.renewal_window_months,
        ),
        max_total_months: max_total,
        max_suspension_days: patch::merge(&p.max_suspension_days, &current.max_suspension_days),
        operator_kinds: p
            .operator_kinds
            .as_ref()
            .map_or(current.operator_kinds.clone(), to_json),
        funder_kinds: p
            .funder_kinds
            .as_ref()
            .map_or(current.funder_kinds.clone(), to_json),
        active: p.active.unwrap_or(current.active),
        ..current.clone()
    };
    if same_rules(&next, &current) {
        return Ok(current.into());
    }
    Ok(queries::kinds::update(conn, &next).await?.into())
}

/// Whether a change stores nothing new (lists compared as sets where they are sets).
fn same_rules(a: &MeasureKindRow, b: &MeasureKindRow) -> bool {
    a.name == b.name
        && a.funder == b.funder
        && a.description == b.description
        && a.default_response_days == b.default_response_days
        && a.duration_months == b.duration_months
        && a.needs_decision == b.needs_decision
        && a.renewal_policy == b.renewal_policy
        && a.contact_every_days == b.contact_every_days
        && patch::same_set(&a.contact_kinds, &b.contact_kinds)
        && patch::same_set(&a.outcome_codes, &b.outcome_codes)
        && a.exclusive_outcomes == b.exclusive_outcomes
        && a.renewal_window_months == b.renewal_window_months
        && a.max_total_months == b.max_total_months
        && a.max_suspension_days == b.max_suspension_days
        && patch::same_set(&a.operator_kinds, &b.operator_kinds)
        && patch::same_set(&a.funder_kinds, &b.funder_kinds)
        && a.active == b.active
}
