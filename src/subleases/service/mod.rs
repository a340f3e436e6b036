//! The use cases of sub-leases, each inside the transaction its caller gives: plan, read,
//! list, act (activate, glide, end), record and list rent arrears. Checks against stored
//! data, state changes (and the unit's status that follows), the history step and the
//! events are here; statements are in [`super::queries`], the state table in
//! [`super::rules`]; what each party is shown, in [`present`].

mod present;

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

pub use present::present;

use super::model::{
    EndReason, Ending, NewArrears, NewSublease, RentArrears, Sublease, SubleaseAction,
    SubleaseFilters, SubleaseRow, SubleaseStatus,
};
use super::queries::{self, NewArrearsRow, NewSubleaseRow};
use super::rules;
use crate::auth::caller::Caller;
use crate::cases::{self, Step};
use crate::db::Page;
use crate::error::{ApiError, FieldError, OptionalFound};
use crate::events::{self, NewEvent};
use crate::households::sharing;
use crate::http::concurrency::IfMatch;
use crate::http::pagination::PageOf;
use crate::identity::model::OrganisationKind;
use crate::units::model::UnitStatus;
use crate::units::queries::find_visible_unit;
use crate::units::rules::energy_refusal;
use crate::units::service::{release_unit, set_unit_status};

/// Only an association sub-lets (it is the main tenant): 403 otherwise.
pub fn check_main_tenant(caller: &Caller) -> Result<(), ApiError> {
    if caller.organisation_kind == Some(OrganisationKind::Association) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "an association sub-lets (it is the main tenant)".into(),
        ))
    }
}

/// Plans a sub-lease: the unit one the association sees through an active agreement (within
/// its period) or holds, the household shared with the landlord by the one sharing rule,
/// the money and the energy class checked; field rules (`errors`, from the body's
/// validation) and database rules are reported together (422). 409 when the unit is
/// unavailable, kept for another household, or already sub-let over part of the period.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    new: NewSublease,
    mut errors: Vec<FieldError>,
) -> Result<Sublease, ApiError> {
    let org = caller.partner_organisation()?;
    let unit = find_visible_unit(conn, org, new.unit_id, false)
        .await
        .optional_found()?;
    // The period of the agreement that makes the unit available to the association (none
    // for a unit it holds): a sub-lease falls within it.
    let agreement = match &unit {
        Some(u) if u.holder_organisation_id != org => {
            crate::units::queries::agreements::active_agreement_period(conn, u.agreement_id, org)
                .await?
        }
        _ => None,
    };
    let covered = unit
        .as_ref()
        .is_some_and(|u| u.holder_organisation_id == org)
        || agreement.is_some();
    if let Some((from, until)) = agreement {
        if new.starts_on < from || until.is_some_and(|u| new.starts_on >= u) {
            errors.push(FieldError::new(
                "starts_on",
                "outside_agreement",
                match until {
                    Some(u) => format!(
                        "the agreement that makes the unit available runs from {from} to {u}"
                    ),
                    None => {
                        format!("the agreement that makes the unit available starts on {from}")
                    }
                },
            ));
        } else if let Some(u) = until.filter(|u| new.planned_end_on > *u) {
            errors.push(FieldError::new(
                "planned_end_on",
                "after_agreement_end",
                format!(
                    "the agreement that makes the unit available ends on {u}: a sub-lease \
                     ends at the latest that day"
                ),
            ));
        }
    }
    if !covered {
        errors.push(FieldError::new(
            "unit_id",
            "unknown_unit",
            "no unit your organisation holds or sees through an active agreement has this id",
        ));
    }
    let shared = sharing::find_to_share(
        conn,
        caller,
        new.household_id,
        None,
        ("household_id", "household_id"),
        &mut errors,
    )
    .await?;
    if new.planned_end_on <= new.starts_on {
        errors.push(FieldError::new(
            "planned_end_on",
            "before_start",
            "the planned end is after the start",
        ));
    }
    if new.housing_benefit_cents > new.rent_cents.saturating_add(new.charges_cents) {
        errors.push(FieldError::new(
            "housing_benefit_cents",
            "above_rent",
            "the housing benefit is at most the rent plus the charges",
        ));
    }
    if let Some(u) = unit.as_ref().filter(|_| covered) {
        if let Some(why) = energy_refusal(u.energy_class, new.starts_on) {
            errors.push(FieldError::new("starts_on", "energy_class_banned", &why));
        }
    }
    if let Some(m) = new.measure_id {
        if !crate::measures::queries::is_open_measure_of(conn, m, org, new.household_id).await? {
            errors.push(FieldError::new(
                "measure_id",
                "unknown_measure",
                "no open measure your organisation operates for this household has this id",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let unit = unit.expect("checked above");
    if unit.status == UnitStatus::Unavailable {
        return Err(ApiError::not_now(
            "the unit is unavailable",
            unit.status.as_str(),
            &[],
        ));
    }
    // A unit kept for a household (an accepted proposal) is sub-let to that household.
    if unit.status == UnitStatus::Reserved {
        let kept_for: Vec<Uuid> =
            crate::units::queries::proposals::accepted_proposals(conn, unit.id)
                .await?
                .into_iter()
                .map(|p| p.household_id)
                .collect();
        if !kept_for.is_empty() && !kept_for.contains(&new.household_id) {
            return Err(ApiError::not_now(
                "the unit is kept for another household",
                unit.status.as_str(),
                &[],
            ));
        }
    }
    let row = queries::insert(
        conn,
        NewSubleaseRow {
            id: Uuid::now_v7(),
            unit_id: unit.id,
            main_tenant_organisation_id: org,
            landlord_organisation_id: unit.holder_organisation_id,
            household_id: new.household_id,
            kind: new.kind,
            starts_on: new.starts_on,
            planned_end_on: new.planned_end_on,
            rent_cents: new.rent_cents,
            charges_cents: new.charges_cents,
            housing_benefit_cents: new.housing_benefit_cents,
            deposit_cents: new.deposit_cents,
            status: SubleaseStatus::Planned,
            measure_id: new.measure_id,
        },
    )
    .await?;
    if unit.status == UnitStatus::Available {
        set_unit_status(conn, Some(caller), unit.id, UnitStatus::Reserved).await?;
    }
    cases::record(conn, Some(caller), &row, Step::new("plan", None)).await?;
    if let Some((household, basis)) = &shared {
        sharing::share_if_new(
            conn,
            sharing::Sharing {
                household: household.id,
                to: row.landlord_organisation_id,
                by: org,
                actor: Some(caller.account_id),
                path: sharing::SharingPath::Sublease,
                case_id: row.id,
                basis,
            },
        )
        .await?;
    }
    Ok(present(conn, caller, vec![row]).await?.remove(0))
}

/// The sub-lease `id` as the caller's side sees it (404 for a non-party).
pub async fn get(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<Sublease, ApiError> {
    let org = caller.partner_organisation()?;
    let (row, _) = cases::find_as_party::<SubleaseRow>(conn, org, id, false).await?;
    Ok(present(conn, caller, vec![row]).await?.remove(0))
}

/// A page of the sub-leases the caller's organisation is party to, as filtered.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    filters: &SubleaseFilters,
    page: Page,
) -> Result<PageOf<Sublease>, ApiError> {
    let org = caller.partner_organisation()?;
    let rows = queries::list(conn, org, filters, page).await?;
    let (rows, more) = page.split(rows);
    let views = present(conn, caller, rows).await?;
    Ok(PageOf::new(views, more, |v: &Sublease| v.id))
}

/// Takes `action` on the sub-lease `id` for the caller's side ([`cases::begin_action`]:
/// 404, 412, 403, 409); `ending` for an end. The unit follows: `occupied` on activation,
/// released on an end.
pub async fn act(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
    action: SubleaseAction,
    ending: Option<Ending>,
) -> Result<Sublease, ApiError> {
    let (row, _, to) =
        cases::begin_action::<SubleaseRow>(conn, caller, id, if_match, action).await?;
    let today = crate::calendar::today();
    let (ended_on, reason, comment) = match &ending {
        Some(e) => {
            if e.reason == EndReason::Other && e.comment.is_none() {
                return Err(ApiError::invalid(
                    "comment",
                    "required",
                    "an end for `other` reasons needs a comment",
                ));
            }
            let on = e
                .ended_on
                .unwrap_or(today)
                .max(if row.status == SubleaseStatus::Planned {
                    row.starts_on
                } else {
                    NaiveDate::MIN
                });
            if on < row.starts_on {
                return Err(ApiError::invalid(
                    "ended_on",
                    "before_start",
                    "a sub-lease ends on or after its start",
                ));
            }
            (
                Some(on),
                Some(e.reason),
                e.comment.as_deref().map(str::trim),
            )
        }
        // A glide ends the sub-lease: from then the household rents in its own name.
        None if to == SubleaseStatus::Glided => (Some(today.max(row.starts_on)), None, None),
        None => (None, None, None),
    };
    let updated = queries::update_status(conn, &row, to, ended_on, reason, comment).await?;
    match to {
        SubleaseStatus::Active => {
            set_unit_status(conn, Some(caller), row.unit_id, UnitStatus::Occupied).await?;
        }
        SubleaseStatus::Ended => release_unit(conn, caller, row.unit_id, today).await?,
        _ => {}
    }
    cases::record(
        conn,
        Some(caller),
        &updated,
        Step::new(action.as_str(), Some(row.status.as_str()))
            .comment(comment)
            .reason(reason.map(|r| r.as_str())),
    )
    .await?;
    Ok(present(conn, caller, vec![updated]).await?.remove(0))
}

/// Records arrears on an active sub-lease (409 otherwise); the other party is told
/// (`sublease.arrears_recorded`).
pub async fn record_arrears(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    new: &NewArrears,
) -> Result<RentArrears, ApiError> {
    let org = caller.partner_organisation()?;
    let (row, party) = cases::find_as_party::<SubleaseRow>(conn, org, id, false).await?;
    if row.status != SubleaseStatus::Active {
        return Err(ApiError::not_now(
            format!(
                "arrears are recorded on an active sub-lease; this one is {}",
                row.status
            ),
            row.status.as_str(),
            &rules::allowed_actions(row.status, row.kind, party)
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>(),
        ));
    }
    let arrears = queries::insert_arrears(
        conn,
        NewArrearsRow {
            id: Uuid::now_v7(),
            sublease_id: row.id,
            amount_cents: new.amount_cents,
            months: new.months,
            comment: new.comment.as_deref().map(str::trim),
            recorded_by_account_id: caller.account_id,
            recorded_by_organisation_id: org,
            recorded_at: crate::calendar::now(),
        },
    )
    .await?;
    events::append(
        conn,
        Some(caller),
        NewEvent {
            event_type: "sublease.arrears_recorded",
            subject_type: "sublease",
            subject_id: row.id,
            data: events::data(&crate::subleases::events::ArrearsEventData {
                id: row.id,
                arrears_id: arrears.id,
                household_id: row.household_id,
                amount_cents: arrears.amount_cents,
                months: arrears.months,
            })?,
            recipients: vec![
                row.main_tenant_organisation_id,
                row.landlord_organisation_id,
            ],
            for_platform: false,
        },
    )
    .await?;
    Ok(arrears)
}

/// A page of the arrears of a sub-lease the caller's organisation is party to, oldest
/// first.
pub async fn arrears(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    page: Page,
) -> Result<PageOf<RentArrears>, ApiError> {
    let org = caller.partner_organisation()?;
    let (row, _) = cases::find_as_party::<SubleaseRow>(conn, org, id, false).await?;
    let rows = queries::arrears(conn, row.id, page).await?;
    Ok(PageOf::from_rows(rows, page, |a| a.id))
}
