//! What happens to measures inside a transaction: who is a party, what each party is shown,
//! opening a measure (directly, or when a referral is accepted), moving it, and telling the
//! parties.
//!
//! Who sees what (issue 11, DOMAIN.md "who sees what"):
//!
//! | part of a measure                         | operator | funder | referrer | landlord |
//! |-------------------------------------------|----------|--------|----------|----------|
//! | id, status, planned end                   | yes      | yes    | yes      | yes      |
//! | `details`: kind, parties, dates, outcomes | yes      | yes    | yes      |          |
//! | `funding`: household's name and make-up, rules, contact count, suspension dates, renewals | yes | yes | | |
//! | `follow_up`: worker, contact dates, rhythm, suspension reason, closing comment | yes | | | |
//! | contacts (with their notes), objectives   | yes      |        |          |          |
//!
//! The landlord is the landlord of a sub-lease that names the measure. Anyone else: 404. A
//! measure holds no special-category data (the household's grounds are read through
//! `/v1/households`, where each read is journalled), so reading one journals nothing.

//!
//! The use cases, one file each: opening and changing a measure ([`opening`]), what each
//! party is shown ([`present`]), objectives, renewals, contacts and the catalogue.

use chrono::NaiveDate;
use uuid::Uuid;

use super::model::*;
use super::queries::{self, MeasureList};
use super::rules::{self, MeasureParty};
use crate::auth::caller::Caller;
use crate::cases::{
    self, Actionable, Case, CaseTransition, CaseType, Refusal, Step, TransitionRow,
};
use crate::db::Connection;
use crate::error::{ApiError, FieldError};
use crate::events::{self, NewEvent};
use crate::http::concurrency::IfMatch;
use crate::http::pagination::{Page, PageOf};
use crate::measures::events::MeasureEventData;

pub mod contacts;
pub mod kinds;
pub mod objectives;
pub mod opening;
pub mod present;
pub mod renewals;

pub use opening::{create, open, open_from_referral, running_kinds, update};
pub use present::{allowed_actions, present_one, view, views};

impl Case for MeasureRow {
    const TYPE: CaseType = CaseType::Measure;
    type Party = MeasureParty;

    fn id(&self) -> Uuid {
        self.id
    }

    fn household_id(&self) -> Option<Uuid> {
        Some(self.household_id)
    }

    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    async fn party_of(
        &self,
        conn: &mut Connection,
        org: Uuid,
    ) -> Result<Option<MeasureParty>, ApiError> {
        if let Some(p) = party_in_row(org, self) {
            return Ok(Some(p));
        }
        let landlord = queries::is_landlord_of(conn, self.id, org).await?;
        Ok(landlord.then_some(MeasureParty::Landlord))
    }

    async fn load(conn: &mut Connection, id: Uuid, lock: bool) -> Result<Option<Self>, ApiError> {
        queries::find(conn, id, lock).await
    }

    /// A landlord sees a measure's status and planned end, not its history.
    fn reads_history(party: MeasureParty) -> Result<(), ApiError> {
        if party == MeasureParty::Landlord {
            return Err(ApiError::Forbidden(
                "a landlord sees a measure's status and planned end, not its history".into(),
            ));
        }
        Ok(())
    }

    /// An organisation's words (comments) and reasons (a suspension's may touch on health)
    /// are the operator's and, for its own steps, the organisation's that wrote them.
    fn sees_words(&self, party: MeasureParty, org: Uuid, step: &TransitionRow) -> bool {
        party == MeasureParty::Operator || step.actor_organisation_id == Some(org)
    }

    /// `measure.<status>` to the operator, the funder and the referrer, with the outcomes;
    /// [`record`] sends the landlords of its sub-leases their copy, without them.
    fn status_event(&self) -> Result<NewEvent, ApiError> {
        let event_type = match self.status {
            MeasureStatus::Proposed => "measure.proposed",
            MeasureStatus::Active => "measure.started",
            MeasureStatus::Suspended => "measure.suspended",
            MeasureStatus::Closed => "measure.closed",
            MeasureStatus::Cancelled => "measure.cancelled",
        };
        measure_event(event_type, self)
    }
}

impl Actionable for MeasureRow {
    type Action = MeasureAction;
    type Status = MeasureStatus;

    fn version(&self) -> i32 {
        self.version
    }

    fn name(&self) -> String {
        "a measure".into()
    }

    fn party_name(party: MeasureParty) -> &'static str {
        party.as_str()
    }

    /// The state table ([`rules::transition`]) for the measure's kind: whether it needs
    /// the funder's decision is in the rules it keeps (unreadable rules are ours, and the
    /// action then fails on them).
    fn transition(
        &self,
        action: MeasureAction,
        party: MeasureParty,
    ) -> Result<MeasureStatus, Refusal<MeasureStatus, MeasureAction>> {
        let needs_decision = self.rules().is_ok_and(|r| r.needs_decision);
        rules::transition(self.status, action, party, needs_decision)
    }

    async fn allowed_actions(
        &self,
        conn: &mut Connection,
        caller: &Caller,
        party: MeasureParty,
    ) -> Result<Vec<MeasureAction>, ApiError> {
        present::allowed_actions(conn, caller, self, party).await
    }
}

/// The operator's, funder's or referrer's side, from the row alone.
pub fn party_in_row(org: Uuid, row: &MeasureRow) -> Option<MeasureParty> {
    if org == row.operator_organisation_id {
        Some(MeasureParty::Operator)
    } else if Some(org) == row.funder_organisation_id {
        Some(MeasureParty::Funder)
    } else if Some(org) == row.referrer_organisation_id {
        Some(MeasureParty::Referrer)
    } else {
        None
    }
}

/// The parties told of every change: operator, funder, referrer.
fn audience(row: &MeasureRow) -> Vec<Uuid> {
    let mut to = vec![row.operator_organisation_id];
    to.extend(row.funder_organisation_id);
    to.extend(row.referrer_organisation_id);
    to.sort();
    to.dedup();
    to
}

/// A measure event of `event_type` to its audience.
pub fn measure_event(event_type: &'static str, row: &MeasureRow) -> Result<NewEvent, ApiError> {
    Ok(NewEvent {
        event_type,
        subject_type: "measure",
        subject_id: row.id,
        data: events::data(&MeasureEventData::of(row, true))?,
        recipients: audience(row),
        for_platform: false,
    })
}

/// Records a step of the measure with its event, and tells the landlords of the sub-leases
/// that name it (status and planned end only).
pub async fn record(
    conn: &mut Connection,
    actor: Option<&Caller>,
    row: &MeasureRow,
    step: Step<'_>,
) -> Result<(), ApiError> {
    cases::record(conn, actor, row, step).await?;
    tell_landlords(conn, actor, row.status_event()?.event_type, row).await
}

/// The landlords' copy of a measure event: id, status and planned end.
pub async fn tell_landlords(
    conn: &mut Connection,
    actor: Option<&Caller>,
    event_type: &'static str,
    row: &MeasureRow,
) -> Result<(), ApiError> {
    let main = audience(row);
    let mut landlords = queries::landlords_of(conn, row.id).await?;
    landlords.retain(|l| !main.contains(l));
    if landlords.is_empty() {
        return Ok(());
    }
    events::append(
        conn,
        actor,
        NewEvent {
            event_type,
            subject_type: "measure",
            subject_id: row.id,
            data: events::data(&MeasureEventData::of(row, false))?,
            recipients: landlords,
            for_platform: false,
        },
    )
    .await
}

/// The measure `id` as the caller's organisation sees it (404 when it is no party).
pub async fn get(conn: &mut Connection, caller: &Caller, id: Uuid) -> Result<Measure, ApiError> {
    let org = caller.partner_organisation()?;
    // The measure and its household in one statement; the party from the row (or, for a
    // landlord, its sub-lease).
    let (row, household) = queries::load_with_household(conn, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let party = row.party_of(conn, org).await?.ok_or(ApiError::NotFound)?;
    let actions = allowed_actions(conn, caller, &row, party).await?;
    view(row, household, party, crate::calendar::today(), actions)
}

/// The side a list filter names.
fn side(a: ListedAs) -> MeasureParty {
    match a {
        ListedAs::Operator => MeasureParty::Operator,
        ListedAs::Funder => MeasureParty::Funder,
        ListedAs::Referrer => MeasureParty::Referrer,
        ListedAs::Landlord => MeasureParty::Landlord,
    }
}

/// A page of the measures the caller's organisation is a party to, as it sees them. A side
/// its kind never takes is 422 `not_your_side`; the follow-up filters (`worker_account_id`,
/// `contact_overdue`) are the operator's: 422 `operator_only` with another `as`, 403 for
/// an organisation whose kind operates no measure kind, and a worker must be one of its
/// accounts (422 `not_in_organisation`).
pub async fn list(
    conn: &mut Connection,
    caller: &Caller,
    filters: &MeasureFilters,
    page: Page,
) -> Result<PageOf<Measure>, ApiError> {
    let org = caller.partner_organisation()?;
    if let Some(kind) = &filters.kind {
        kinds::check_kind_filter(conn, "kind", kind).await?;
    }
    let sides = kinds::sides_of(conn, caller.organisation_kind).await?;
    if let Some(side) = filters.r#as {
        let refusal = match side {
            ListedAs::Operator if !sides.operates => Some(
                "the operator of a measure is of a kind the catalogue names to operate it \
                 (see GET /v1/measure-kinds)",
            ),
            ListedAs::Funder if !sides.funds => Some(
                "the funder of a measure is of a kind the catalogue names to fund it \
                 (see GET /v1/measure-kinds)",
            ),
            ListedAs::Landlord
                if crate::units::rules::registers_units_of(caller.organisation_kind).is_none() =>
            {
                Some(
                    "the landlord of a sub-lease holds its unit: a social landlord, or an \
                     association for a private owner's unit",
                )
            }
            _ => None,
        };
        if let Some(why) = refusal {
            return Err(cases::not_your_side(
                "as",
                format!(
                    "your organisation's kind never takes the `{}` side: {why}",
                    side.as_str()
                ),
            ));
        }
    }
    // The follow-up filters are the operator's: refused, naming them, where they cannot
    // apply (never a silently empty page).
    let follow_up: Vec<&str> = [
        ("worker_account_id", filters.worker_account_id.is_some()),
        ("contact_overdue", filters.contact_overdue.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, used)| used.then_some(f))
    .collect();
    if !follow_up.is_empty() {
        if let Some(side) = filters.r#as.filter(|a| *a != ListedAs::Operator) {
            return Err(ApiError::Validation(
                follow_up
                    .iter()
                    .map(|f| {
                        FieldError::new(
                            *f,
                            "operator_only",
                            format!(
                                "a measure's follow-up is its operator's: `{f}` goes with \
                                 `as=operator` (or no `as`), not `as={}`",
                                side.as_str()
                            ),
                        )
                    })
                    .collect(),
            ));
        }
        if !sides.operates {
            return Err(ApiError::Forbidden(format!(
                "`{}`: a measure's follow-up is its operator's, and your organisation's kind \
                 operates no measure kind",
                follow_up.join("`, `")
            )));
        }
        if let Some(w) = filters.worker_account_id {
            if !crate::identity::queries::is_account_of(conn, w, org).await? {
                return Err(ApiError::invalid(
                    "worker_account_id",
                    "not_in_organisation",
                    "not an account of your organisation: a caseload is one of your workers'",
                ));
            }
        }
    }
    // The follow-up filters keep to the measures it operates.
    let side = if follow_up.is_empty() {
        filters.r#as.map(side)
    } else {
        Some(MeasureParty::Operator)
    };
    let rows = queries::list(
        conn,
        MeasureList {
            org,
            side,
            status: filters.status,
            kind: filters.kind.clone(),
            household_id: filters.household_id,
            referral_id: filters.referral_id,
            programme_id: filters.programme_id,
            worker_account_id: filters.worker_account_id,
            contact_overdue: filters.contact_overdue,
            ending_before: filters.ending_before,
            updated_since: filters.updated_since,
            today: crate::calendar::today(),
        },
        page,
    )
    .await?;
    let (rows, more) = page.split(rows);
    let views = views(conn, caller, org, rows).await?;
    Ok(PageOf::new(views, more, |v| v.id))
}

/// An action on a measure, in the caller's transaction: the kernel's start
/// ([`cases::begin_action`]: 404, 412, 403, 409 with the allowed actions), then what the
/// payload writes ([`perform`]); the measure as the caller's side sees it.
pub async fn act(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
    action: MeasureAction,
    payload: Payload,
) -> Result<Measure, ApiError> {
    let (row, party, to) =
        cases::begin_action::<MeasureRow>(conn, caller, id, if_match, action).await?;
    let updated = perform(
        conn,
        Some(caller),
        &row,
        action,
        to,
        &payload,
        crate::calendar::today(),
    )
    .await?;
    present_one(conn, caller, updated, party).await
}

/// Moves a locked measure by `action` to `to` (already allowed by the state table) with
/// what its payload writes ([`rules::changes`]: 422 on its field errors), records the step
/// and tells the parties.
pub async fn perform(
    conn: &mut Connection,
    actor: Option<&Caller>,
    row: &MeasureRow,
    action: MeasureAction,
    to: MeasureStatus,
    payload: &Payload,
    today: NaiveDate,
) -> Result<MeasureRow, ApiError> {
    let rules_ = row.rules()?;
    let (c, comment, reason) = rules::changes(row, &rules_, payload, today)?;
    // A measure under a programme takes its place when it starts (409 `programme_full`).
    if let (Some(p), MeasureStatus::Proposed, MeasureStatus::Active) =
        (row.programme_id, row.status, to)
    {
        crate::programmes::take_place(conn, p, &row.kind).await?;
    }
    // The contact rhythm: started (the decision), paused, restarted or ended.
    let rhythm = if row.status == MeasureStatus::Proposed {
        match to {
            MeasureStatus::Active => rules::Rhythm::start(&rules_, c.starts_on),
            _ => row.rhythm(),
        }
    } else {
        match rules::rhythm_turn(to, &c, today) {
            Some(turn) => row.rhythm().after(&rules_, c.starts_on, turn),
            None => row.rhythm(),
        }
    };
    let updated = queries::update_state(
        conn,
        row.id,
        to,
        &c,
        c.planned_end(&rules_, row.renewed_months),
        rhythm.missed,
        rhythm.due,
        events::data(&c.outcomes)?,
    )
    .await?;
    record(
        conn,
        actor,
        &updated,
        Step::new(action.as_str(), Some(row.status.as_str()))
            .comment(comment.as_deref())
            .reason(reason),
    )
    .await?;
    Ok(updated)
}

/// A measure's history for a party: every step, oldest first, as the redaction rule of
/// the measure lets it see them ([`Case::sees_words`] below); a landlord reads none (403).
pub async fn history(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
) -> Result<PageOf<CaseTransition>, ApiError> {
    let org = caller.partner_organisation()?;
    cases::history::<MeasureRow, CaseTransition>(conn, org, id).await
}

/// 409: the measure's state forbids it; `allowed_actions` are what the party may do now.
pub async fn not_now(
    conn: &mut Connection,
    measure: &MeasureRow,
    caller: &Caller,
    party: MeasureParty,
    detail: String,
) -> Result<ApiError, ApiError> {
    let allowed = allowed_actions(conn, caller, measure, party).await?;
    Ok(ApiError::not_now(
        detail,
        measure.status.as_str(),
        &allowed.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
    ))
}

/// 403 unless the operator: what only the operator does (`what`: "logs contacts").
pub fn operator_only(party: MeasureParty, what: &str) -> Result<(), ApiError> {
    if party == MeasureParty::Operator {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "the operator of a measure {what}; your organisation is its {}",
            party.as_str()
        )))
    }
}

/// Checks a worker: an active account of the operator (`not_in_organisation` on `field`).
pub async fn check_worker(
    conn: &mut Connection,
    field: &str,
    operator: Uuid,
    worker: Uuid,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    if !crate::identity::queries::is_active_account_of(conn, worker, operator).await? {
        errors.push(FieldError::new(
            field,
            "not_in_organisation",
            "not an active account of the measure's operator",
        ));
    }
    Ok(())
}
