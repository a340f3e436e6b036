//! A measure's renewals inside a transaction: asking for one, the decider's grant (the
//! months granted, at most those asked; the measure's planned end counted again from its
//! start) or refusal with the decision as its commission took it, and the operator's
//! withdrawal while it waits.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{
    MeasureRow, MeasureStatus, RenewalAction, RenewalRefusalReason, RenewalRow, RenewalStatus,
    RenewalStep, RENEWAL_DECISION_DAYS,
};
use super::rules::{self, RenewalParty};
use super::service;
use crate::auth::caller::Caller;
use crate::cases::{self, Case, CaseType, Step};
use crate::db::Keyset;
use crate::error::{ApiError, FieldError};
use crate::events::{self, NewEvent};
use crate::measures::events::RenewalEventData;
use crate::schema::{measures, renewals};

impl Case for RenewalRow {
    const TYPE: CaseType = CaseType::Renewal;
    type Party = RenewalParty;

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
        _: &mut AsyncPgConnection,
        org: Uuid,
    ) -> Result<Option<RenewalParty>, ApiError> {
        Ok(if org == self.decider_organisation_id {
            Some(RenewalParty::Decider)
        } else if org == self.operator_organisation_id {
            Some(RenewalParty::Operator)
        } else {
            None
        })
    }

    async fn load(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        lock: bool,
    ) -> Result<Option<Self>, ApiError> {
        crate::load_row!(conn, renewals::table, RenewalRow, id, lock)
    }

    /// `renewal.<status>` to the operator and the decider.
    fn status_event(&self) -> Result<NewEvent, ApiError> {
        let event_type = match self.status {
            RenewalStatus::Requested => "renewal.requested",
            RenewalStatus::Granted => "renewal.granted",
            RenewalStatus::Refused => "renewal.refused",
            RenewalStatus::Withdrawn => "renewal.withdrawn",
        };
        Ok(NewEvent {
            event_type,
            subject_type: "renewal",
            subject_id: self.id,
            data: events::data(&RenewalEventData::from(self))?,
            recipients: vec![self.operator_organisation_id, self.decider_organisation_id],
            for_platform: false,
        })
    }
}

/// A renewal's side for an organisation that is one of its parties (`None`: none).
pub fn party_in_row(org: Uuid, row: &RenewalRow) -> Option<RenewalParty> {
    if org == row.decider_organisation_id {
        Some(RenewalParty::Decider)
    } else if org == row.operator_organisation_id {
        Some(RenewalParty::Operator)
    } else {
        None
    }
}

/// Asks the decider for a measure's renewal number `ordinal` (the policy's `step`, already
/// checked), dated today; the operator and the decider are told (`renewal.requested`).
pub async fn request(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    measure: &MeasureRow,
    decider: Uuid,
    ordinal: i32,
    step: RenewalStep,
    justification: Option<&str>,
) -> Result<RenewalRow, ApiError> {
    let row: RenewalRow = diesel::insert_into(renewals::table)
        .values((
            renewals::id.eq(Uuid::now_v7()),
            renewals::measure_id.eq(measure.id),
            renewals::household_id.eq(measure.household_id),
            renewals::operator_organisation_id.eq(measure.operator_organisation_id),
            renewals::decider_organisation_id.eq(decider),
            renewals::ordinal.eq(ordinal),
            renewals::months.eq(step.months),
            renewals::exceptional.eq(step.exceptional),
            renewals::justification.eq(justification.map(str::trim)),
            renewals::status.eq(RenewalStatus::Requested),
            renewals::requested_by_account_id.eq(caller.account_id),
            renewals::requested_on.eq(crate::calendar::today()),
        ))
        .returning(RenewalRow::as_returning())
        .get_result(conn)
        .await?;
    cases::record(
        conn,
        Some(caller),
        &row,
        Step::new("request", None).comment(justification),
    )
    .await?;
    Ok(row)
}

/// The decision as the decider's commission took it.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    /// The day it was taken; default: today.
    pub decided_on: Option<NaiveDate>,
    pub reference: Option<String>,
    /// A grant's comment, a refusal's explanation, a withdrawal's reason.
    pub comment: Option<String>,
    /// A grant: the months granted (default: those asked).
    pub months: Option<i32>,
    /// A refusal's coded reason.
    pub refusal_reason: Option<RenewalRefusalReason>,
}

/// The field errors of a decision on `row`, today: a date not in the future nor before the
/// request, months granted between 1 and those asked.
fn decision_errors(row: &RenewalRow, d: &Decision, today: NaiveDate) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(on) = d.decided_on {
        if on > today {
            errors.push(FieldError::new(
                "decided_on",
                "in_future",
                "a decision is dated today or before",
            ));
        } else if on < row.requested_on {
            errors.push(FieldError::new(
                "decided_on",
                "before_request",
                format!("the renewal was asked on {}", row.requested_on),
            ));
        }
    }
    if let Some(m) = d.months {
        if m > row.months {
            errors.push(FieldError::new(
                "months",
                "beyond_asked",
                format!(
                    "{} months were asked (the policy's step): a grant gives those or fewer",
                    row.months
                ),
            ));
        }
    }
    errors
}

/// Answers a locked renewal by `action` (already allowed by the state table for the
/// caller's `party`): a grant moves the measure's planned end, counted from its start
/// (`measure.extended`); each step is recorded with the decision's comment and reason.
pub async fn decide(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    row: &RenewalRow,
    action: RenewalAction,
    to: RenewalStatus,
    decision: Decision,
) -> Result<RenewalRow, ApiError> {
    let today = crate::calendar::today();
    let errors = decision_errors(row, &decision, today);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut granted_months = None;
    let (mut starts_on, mut ends_on) = (None, None);
    if to == RenewalStatus::Granted {
        let measure: MeasureRow = measures::table
            .find(row.measure_id)
            .select(MeasureRow::as_select())
            .for_update()
            .first(conn)
            .await?;
        // A suspended measure's end is not settled until it resumes.
        if measure.status != MeasureStatus::Active {
            return Err(ApiError::not_now(
                format!(
                    "the measure is {}: a renewal is granted to an active measure",
                    measure.status
                ),
                row.status.as_str(),
                &[RenewalAction::Refuse.as_str()],
            ));
        }
        let months = decision.months.unwrap_or(row.months);
        let rules_ = measure.rules()?;
        let renewed = measure.renewed_months + months;
        let end = rules::planned_end(&rules_, measure.starts_on, renewed, measure.suspended_days)
            .ok_or_else(|| ApiError::internal("a renewal of a measure without an end"))?;
        let extended: MeasureRow = diesel::update(measures::table.find(measure.id))
            .set((
                measures::planned_end_on.eq(Some(end)),
                measures::renewed_months.eq(renewed),
                measures::renewals_granted.eq(measure.renewals_granted + 1),
                crate::db::bump(measures::version, measures::updated_at),
            ))
            .returning(MeasureRow::as_returning())
            .get_result(conn)
            .await?;
        cases::record_step(
            conn,
            Some(caller),
            &extended,
            Step::new("renew", Some(measure.status.as_str())),
        )
        .await?;
        events::append(
            conn,
            Some(caller),
            service::measure_event("measure.extended", &extended)?,
        )
        .await?;
        service::tell_landlords(conn, Some(caller), "measure.extended", &extended).await?;
        granted_months = Some(months);
        (starts_on, ends_on) = (measure.planned_end_on, Some(end));
    }
    let decided = to != RenewalStatus::Withdrawn;
    let comment = decision.comment.as_deref().map(str::trim);
    let updated: RenewalRow = diesel::update(renewals::table.find(row.id))
        .set((
            renewals::status.eq(to),
            renewals::decided_on.eq(decided.then(|| decision.decided_on.unwrap_or(today))),
            renewals::granted_months.eq(granted_months),
            renewals::decision_reference.eq(decision
                .reference
                .as_deref()
                .map(str::trim)
                .filter(|_| decided)),
            renewals::decision_comment.eq(comment.filter(|_| to == RenewalStatus::Granted)),
            renewals::starts_on.eq(starts_on),
            renewals::ends_on.eq(ends_on),
            renewals::refusal_reason.eq(decision.refusal_reason),
            renewals::refusal_explanation.eq(comment.filter(|_| to == RenewalStatus::Refused)),
            crate::db::bump(renewals::version, renewals::updated_at),
        ))
        .returning(RenewalRow::as_returning())
        .get_result(conn)
        .await?;
    cases::record(
        conn,
        Some(caller),
        &updated,
        Step::new(action.as_str(), Some(row.status.as_str()))
            .comment(comment)
            .reason(decision.refusal_reason.map(|r| r.as_str())),
    )
    .await?;
    Ok(updated)
}

/// The actions the caller may take on renewals now: the state table for its side, if it may
/// write measures, and a grant only while the measure is active (`measure_active`). Exactly
/// what would succeed (a payload aside).
pub fn actions(
    row: &RenewalRow,
    party: RenewalParty,
    may_write: bool,
    measure_active: bool,
) -> Vec<RenewalAction> {
    if !may_write {
        return Vec::new();
    }
    rules::renewal_actions(row.status, party)
        .into_iter()
        .filter(|a| *a != RenewalAction::Grant || measure_active)
        .collect()
}

/// The request of this measure that waits for its decision, if any.
pub async fn pending(
    conn: &mut AsyncPgConnection,
    measure: Uuid,
) -> Result<Option<Uuid>, ApiError> {
    Ok(renewals::table
        .filter(renewals::measure_id.eq(measure))
        .filter(renewals::status.eq(RenewalStatus::Requested))
        .select(renewals::id)
        .first(conn)
        .await
        .optional()?)
}

/// A measure's renewals, oldest first.
pub async fn of_measure(
    conn: &mut AsyncPgConnection,
    measure: Uuid,
) -> Result<Vec<RenewalRow>, ApiError> {
    Ok(renewals::table
        .filter(renewals::measure_id.eq(measure))
        .select(RenewalRow::as_select())
        .order(renewals::id.asc())
        .load(conn)
        .await?)
}

/// Which renewals an organisation lists.
pub struct RenewalList {
    pub org: Uuid,
    /// `Some(true)`: those it decides; `Some(false)`: those it asked for; `None`: both.
    pub decider: Option<bool>,
    pub status: Option<RenewalStatus>,
    /// Waiting more than [`RENEWAL_DECISION_DAYS`] (or not).
    pub overdue: Option<bool>,
    pub measure_id: Option<Uuid>,
    pub today: NaiveDate,
}

/// A page of an organisation's renewals, by id (one more row than the page, to tell
/// whether another follows).
pub async fn list(
    conn: &mut AsyncPgConnection,
    l: RenewalList,
    page: crate::http::pagination::Page,
) -> Result<Vec<RenewalRow>, ApiError> {
    let mut q = renewals::table.select(RenewalRow::as_select()).into_boxed();
    q = match l.decider {
        Some(true) => q.filter(renewals::decider_organisation_id.eq(l.org)),
        Some(false) => q.filter(renewals::operator_organisation_id.eq(l.org)),
        None => q.filter(
            renewals::decider_organisation_id
                .eq(l.org)
                .or(renewals::operator_organisation_id.eq(l.org)),
        ),
    };
    if let Some(s) = l.status {
        q = q.filter(renewals::status.eq(s));
    }
    if let Some(m) = l.measure_id {
        q = q.filter(renewals::measure_id.eq(m));
    }
    let limit = l.today - chrono::Duration::days(RENEWAL_DECISION_DAYS);
    match l.overdue {
        Some(true) => {
            q = q
                .filter(renewals::status.eq(RenewalStatus::Requested))
                .filter(renewals::requested_on.lt(limit))
        }
        Some(false) => {
            q = q.filter(
                renewals::status
                    .ne(RenewalStatus::Requested)
                    .or(renewals::requested_on.ge(limit)),
            )
        }
        None => {}
    }
    Ok(q.keyset(renewals::id, page).load(conn).await?)
}

/// Of these measures, those that are active.
pub async fn active_measures(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(measures::table
        .filter(measures::id.eq_any(ids))
        .filter(measures::status.eq(MeasureStatus::Active))
        .select(measures::id)
        .load(conn)
        .await?)
}
