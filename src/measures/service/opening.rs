//! Opening a measure (directly by its operator, or when it accepts a referral) and the
//! operator's change of its worker, funder and programme: the funder named is checked
//! (kind, territory, the household's consent) and what naming it shares is recorded.

use chrono::NaiveDate;
use uuid::Uuid;

use super::super::model::*;
use super::super::queries;
use super::super::rules::{self, MeasureParty};
use super::{check_worker, kinds, present_one};
use crate::auth::caller::Caller;
use crate::auth::policy::SharingBasis;
use crate::cases::{self, Step};
use crate::db::Connection;
use crate::error::{ApiError, FieldError, OptionalFound};
use crate::events;
use crate::households::sharing;
use crate::http::concurrency::IfMatch;
use crate::http::patch;
use crate::identity::model::AccountKind;
use crate::programmes;

/// Opens a measure its operator (the caller's organisation) sends, checking it against
/// stored data (the household it sees, a kind offered to it that its kind operates, the
/// worker, the programme and the funder) with the body's own field errors, all reported
/// together (422); the measure as its operator sees it.
pub async fn create(
    conn: &mut Connection,
    caller: &Caller,
    new: NewMeasure,
    field_errors: Vec<FieldError>,
) -> Result<Measure, ApiError> {
    let org = caller.partner_organisation()?;
    let mut errors = field_errors;
    let department = crate::identity::queries::department_of(conn, org).await?;
    let household = crate::households::queries::find_visible(conn, org, new.household_id, false)
        .await
        .optional_found()?;
    if household.is_none() {
        errors.push(FieldError::new(
            "household_id",
            "unknown_household",
            "no household your organisation sees has this id",
        ));
    }
    let kind = kinds::check_offered(conn, "kind", &new.kind, &department, &mut errors).await?;
    if let Some(k) = &kind {
        if !caller
            .organisation_kind
            .is_some_and(|o| k.operator_kinds().contains(&o))
        {
            errors.push(FieldError::new(
                "kind",
                "not_an_operator",
                format!(
                    "your organisation's kind does not operate {} measures",
                    k.code
                ),
            ));
        }
        if new.funder_organisation_id.is_none() && new.programme_id.is_none() && k.needs_decision {
            errors.push(FieldError::new(
                "funder_organisation_id",
                "required",
                format!(
                    "a measure of kind {} starts on its funder's decision: name the funder",
                    k.code
                ),
            ));
        }
    }
    let worker = match new.worker_account_id {
        Some(w) => {
            check_worker(conn, "worker_account_id", org, w, &mut errors).await?;
            Some(w)
        }
        None => (caller.kind == AccountKind::Person).then_some(caller.account_id),
    };
    let starts_on = new.starts_on.unwrap_or_else(crate::calendar::today);
    let mut funder = new.funder_organisation_id;
    let mut shared = None;
    let mut programme_checked = false;
    if let (Some(p), Some(k)) = (new.programme_id, &kind) {
        let eligible = programmes::check_eligible(
            conn,
            "programme_id",
            p,
            programmes::Eligibility {
                kind: &k.code,
                operator: org,
                starts_on,
                funder,
            },
            &mut errors,
        )
        .await?;
        if let Some(programme) = eligible {
            // The programme's funder funds it, for the départements it covers.
            funder = Some(programme.funder_organisation_id);
            shared = check_funder(
                conn,
                "programme_id",
                kind.as_ref(),
                programme.funder_organisation_id,
                household.as_ref(),
                org,
                Some(&programme.department_codes()),
                &mut errors,
            )
            .await?;
        }
        programme_checked = true;
    }
    if let (Some(f), false) = (new.funder_organisation_id, programme_checked) {
        shared = check_funder(
            conn,
            "funder_organisation_id",
            kind.as_ref(),
            f,
            household.as_ref(),
            org,
            None,
            &mut errors,
        )
        .await?;
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let row = open(
        conn,
        Some(caller),
        Opening {
            kind: kind.expect("checked above"),
            household_id: new.household_id,
            operator: org,
            worker,
            funder,
            origin_referral: None,
            starts_on,
            programme: new.programme_id,
        },
    )
    .await?;
    record_funder_sharing(conn, caller, &row, shared.as_ref()).await?;
    present_one(conn, caller, row, MeasureParty::Operator).await
}

/// The operator's change of a measure's worker, funder (while it is proposed or has none)
/// and programme (until it is closed or cancelled), in the caller's transaction: the
/// measure locked, `If-Match`, the changes checked with the body's field errors, the
/// programme's places moved for a started measure (409 `programme_full`), what naming the
/// funder shares recorded, `measure.updated`. Nothing changes when nothing differs.
pub async fn update(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
    p: MeasurePatch,
    field_errors: Vec<FieldError>,
) -> Result<Measure, ApiError> {
    let org = caller.partner_organisation()?;
    let (row, party) = cases::find_as_party::<MeasureRow>(conn, org, id, true).await?;
    super::operator_only(party, "changes a measure")?;
    if_match.check(row.version)?;
    let mut errors = field_errors;
    let worker = patch::merge(&p.worker_account_id, &row.worker_account_id);
    if let Some(Some(w)) = p.worker_account_id {
        check_worker(conn, "worker_account_id", org, w, &mut errors).await?;
    }
    let mut funder = p.funder_organisation_id.or(row.funder_organisation_id);
    let household =
        crate::households::queries::find_visible(conn, org, row.household_id, false).await?;
    let mut shared = None;
    if let Some(f) = p
        .funder_organisation_id
        .filter(|f| Some(*f) != row.funder_organisation_id)
    {
        let settled = row.status != MeasureStatus::Proposed && row.funder_organisation_id.is_some();
        if settled || matches!(row.status, MeasureStatus::Closed | MeasureStatus::Cancelled) {
            return Err(ApiError::conflict(format!(
                "the funder of a measure that is {} does not change (it does while the \
                 measure is proposed, or has none and still runs)",
                row.status
            )));
        }
        let kind = queries::kinds::find(conn, &row.kind, false)
            .await?
            .ok_or_else(|| ApiError::internal("a measure of a kind the catalogue never held"))?;
        shared = check_funder(
            conn,
            "funder_organisation_id",
            Some(&kind),
            f,
            Some(&household),
            org,
            None,
            &mut errors,
        )
        .await?;
    }
    let programme = patch::merge(&p.programme_id, &row.programme_id);
    if programme != row.programme_id {
        if matches!(row.status, MeasureStatus::Closed | MeasureStatus::Cancelled) {
            return Err(ApiError::conflict(format!(
                "the programme of a measure that is {} does not change",
                row.status
            )));
        }
        if let Some(to) = programme {
            let eligible = programmes::check_eligible(
                conn,
                "programme_id",
                to,
                programmes::Eligibility {
                    kind: &row.kind,
                    operator: org,
                    starts_on: row.starts_on,
                    funder,
                },
                &mut errors,
            )
            .await?;
            if let Some(programme) = eligible {
                funder = Some(programme.funder_organisation_id);
                let covered = check_funder(
                    conn,
                    "programme_id",
                    None,
                    programme.funder_organisation_id,
                    Some(&household),
                    org,
                    Some(&programme.department_codes()),
                    &mut errors,
                )
                .await?;
                if Some(programme.funder_organisation_id) != row.funder_organisation_id {
                    shared = covered;
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if (worker, funder, programme)
        == (
            row.worker_account_id,
            row.funder_organisation_id,
            row.programme_id,
        )
    {
        return present_one(conn, caller, row, party).await;
    }
    // A started measure moves its place from the programme it leaves to the one it joins.
    if programme != row.programme_id
        && matches!(row.status, MeasureStatus::Active | MeasureStatus::Suspended)
    {
        if let Some(from) = row.programme_id {
            programmes::release_place(conn, from, &row.kind).await?;
        }
        if let Some(to) = programme {
            programmes::take_place(conn, to, &row.kind).await?;
        }
    }
    let updated = queries::update_parties(conn, id, worker, funder, programme).await?;
    record_funder_sharing(conn, caller, &updated, shared.as_ref()).await?;
    events::append(
        conn,
        Some(caller),
        super::measure_event("measure.updated", &updated)?,
    )
    .await?;
    present_one(conn, caller, updated, party).await
}

/// Checks a funder named for a measure of `kind` (when known) of `household` (when known),
/// on behalf of its operator `by`: an organisation (`unknown_organisation`) of one of the
/// kind's funder kinds (`not_a_funder`) that covers the household's territory
/// (`outside_territory`: its département is the household's, or under a programme the
/// household's département is one the programme covers, `covering`), and to which the
/// household may be shown (the one sharing rule: its consent in force, `consent_required`)
/// unless it sees it already. Field errors on `field`. Gives what naming it shares, to
/// record once the measure is written ([`record_funder_sharing`]).
#[allow(clippy::too_many_arguments)]
pub async fn check_funder(
    conn: &mut Connection,
    field: &str,
    kind: Option<&MeasureKindRow>,
    funder: Uuid,
    household: Option<&crate::households::model::HouseholdRow>,
    by: Uuid,
    covering: Option<&[String]>,
    errors: &mut Vec<FieldError>,
) -> Result<Option<SharingBasis>, ApiError> {
    let org = crate::identity::queries::find_organisation(conn, funder)
        .await
        .optional_found()?;
    let Some(org) = org else {
        errors.push(FieldError::new(
            field,
            "unknown_organisation",
            "no such organisation",
        ));
        return Ok(None);
    };
    if let Some(kind) = kind.filter(|k| !k.funder_kinds().contains(&org.kind)) {
        errors.push(FieldError::new(
            field,
            "not_a_funder",
            format!(
                "a measure of kind {} is funded by an organisation of kind {}",
                kind.code,
                kind.funder_kinds()
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ));
        return Ok(None);
    }
    let Some(household) = household else {
        return Ok(None);
    };
    let covers = match covering {
        Some(codes) => codes.contains(&household.department_code),
        None => org.department_code == household.department_code,
    };
    if !covers {
        errors.push(FieldError::new(
            field,
            "outside_territory",
            match covering {
                Some(codes) => format!(
                    "the programme covers the départements {}; the household's is {}",
                    codes.join(", "),
                    household.department_code
                ),
                None => format!(
                    "the funder's département is {}, the household's {}: a funder covers the \
                     households of its territory",
                    org.department_code, household.department_code
                ),
            },
        ));
    }
    // Both rules are reported together: a funder of another territory and a household
    // whose consent is not in force are two things to fix.
    if sharing::already_sees(conn, org.id, household.id).await? {
        return Ok(None);
    }
    let basis = sharing::basis(conn, by, household, None, field, errors).await?;
    Ok(basis.filter(|_| covers))
}

/// Records what naming the measure's funder shared ([`check_funder`]), if anything.
pub async fn record_funder_sharing(
    conn: &mut Connection,
    caller: &Caller,
    row: &MeasureRow,
    basis: Option<&SharingBasis>,
) -> Result<(), ApiError> {
    let (Some(basis), Some(funder)) = (basis, row.funder_organisation_id) else {
        return Ok(());
    };
    sharing::record(
        conn,
        sharing::Sharing {
            household: row.household_id,
            to: funder,
            by: row.operator_organisation_id,
            actor: Some(caller.account_id),
            path: sharing::SharingPath::MeasureFunder,
            case_id: row.id,
            basis,
        },
    )
    .await
}

/// The measure a referral's acceptance opens, in the acceptance's transaction: `proposed`
/// when its kind needs a decision, else `active` from the desired start (today if that is
/// past). The referrer funds it when its organisation kind is one of the measure kind's
/// `funder_kinds` and it covers the household's territory (a CCAPEX for EMPEX, a
/// department's CUD for ASLL); otherwise the operator names the funder. The referrer saw
/// the household already: nothing new is shared. The accepting person is its worker.
pub async fn open_from_referral(
    conn: &mut Connection,
    caller: &Caller,
    referral: &crate::referrals::model::ReferralRow,
) -> Result<MeasureRow, ApiError> {
    let kind = queries::kinds::find(conn, &referral.measure_kind, false)
        .await?
        .ok_or_else(|| ApiError::internal("a referral names a kind the catalogue never held"))?;
    let referrer =
        crate::identity::queries::find_organisation(conn, referral.referrer_organisation_id)
            .await?;
    let territory =
        crate::households::queries::department_code_of(conn, referral.household_id).await?;
    let funder = (kind.funder_kinds().contains(&referrer.kind)
        && referrer.department_code == territory)
        .then_some(referrer.id);
    let today = crate::calendar::today();
    open(
        conn,
        Some(caller),
        Opening {
            kind,
            household_id: referral.household_id,
            operator: referral.addressee_organisation_id,
            worker: (caller.kind == crate::identity::model::AccountKind::Person)
                .then_some(caller.account_id),
            funder,
            origin_referral: Some((referral.id, referral.referrer_organisation_id)),
            starts_on: referral.desired_start.unwrap_or(today).max(today),
            programme: None,
        },
    )
    .await
}

/// Of these households, the measure kinds each has running (proposed, active, suspended)
/// with this operator: a referral for one of those is not accepted (it would be the
/// second, see [`open`]).
pub async fn running_kinds(
    conn: &mut Connection,
    operator: Uuid,
    households: &[Uuid],
) -> Result<std::collections::HashSet<(Uuid, String)>, ApiError> {
    queries::running_kinds(conn, operator, households).await
}

/// What opens a measure.
pub struct Opening {
    pub kind: MeasureKindRow,
    pub household_id: Uuid,
    pub operator: Uuid,
    pub worker: Option<Uuid>,
    pub funder: Option<Uuid>,
    pub origin_referral: Option<(Uuid, Uuid)>,
    pub starts_on: NaiveDate,
    /// The programme it is put under (already checked: `programmes::check_eligible`).
    pub programme: Option<Uuid>,
}

/// Opens a measure: `proposed` when its kind needs a decision, else `active` from its start;
/// records its first step and tells its parties. A household has one running (proposed,
/// active, suspended) measure of a kind with an operator: a second is 409 with the first's
/// `existing_id` (an operator that receives such a referral declines it as `duplicate`).
pub async fn open(
    conn: &mut Connection,
    actor: Option<&Caller>,
    o: Opening,
) -> Result<MeasureRow, ApiError> {
    // One running measure of a kind per household and operator: a second is the first.
    crate::db::lock_for_rule(
        conn,
        "one running measure",
        &format!("{}|{}|{}", o.household_id, o.kind.code, o.operator),
    )
    .await?;
    let running = queries::running_of(conn, o.household_id, &o.kind.code, o.operator).await?;
    if let Some(existing) = running {
        return Err(ApiError::duplicate(
            format!(
                "the household already has a running measure of kind {} with this operator",
                o.kind.code
            ),
            existing,
        ));
    }
    let rules = o.kind.rules();
    let status = if rules.needs_decision {
        MeasureStatus::Proposed
    } else {
        MeasureStatus::Active
    };
    let row = queries::insert(
        conn,
        queries::NewMeasureRow {
            id: Uuid::now_v7(),
            kind: &o.kind.code,
            rules: events::data(&rules)?,
            household_id: o.household_id,
            operator_organisation_id: o.operator,
            worker_account_id: o.worker,
            origin_referral_id: o.origin_referral.map(|r| r.0),
            referrer_organisation_id: o.origin_referral.map(|r| r.1),
            funder_organisation_id: o.funder,
            programme_id: o.programme,
            status,
            starts_on: o.starts_on,
            planned_end_on: rules::planned_end(&rules, o.starts_on, 0, 0),
            next_contact_due_on: if status == MeasureStatus::Active {
                rules::next_contact_due(&rules, o.starts_on, None)
            } else {
                None
            },
        },
    )
    .await?;
    if let (Some(p), MeasureStatus::Active) = (row.programme_id, status) {
        crate::programmes::take_place(conn, p, &row.kind).await?;
    }
    super::record(conn, actor, &row, Step::new("open", None)).await?;
    Ok(row)
}
