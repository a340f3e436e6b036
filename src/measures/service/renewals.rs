//! A measure's renewals inside a transaction: asking for one, the decider's grant (the
//! months granted, at most those asked; the measure's planned end counted again from its
//! start) or refusal with the decision as its commission took it, and the operator's
//! withdrawal while it waits.

use chrono::NaiveDate;
use uuid::Uuid;

use super::super::model::*;
use super::super::queries::{self, renewals::RenewalList};
use super::super::rules::{self, MeasureParty, RenewalParty};
use super::{not_now, operator_only};
use crate::auth::caller::Caller;
use crate::auth::policy::{may, Action};
use crate::cases::{self, Actionable, Case, CaseType, Refusal, Step};
use crate::db::Connection;
use crate::error::{ApiError, FieldError};
use crate::events::{self, NewEvent};
use crate::http::concurrency::IfMatch;
use crate::http::pagination::{Page, PageOf};
use crate::measures::events::RenewalEventData;

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
        _: &mut Connection,
        org: Uuid,
    ) -> Result<Option<RenewalParty>, ApiError> {
        Ok(party_in_row(org, self))
    }

    async fn load(conn: &mut Connection, id: Uuid, lock: bool) -> Result<Option<Self>, ApiError> {
        queries::renewals::find(conn, id, lock).await
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
    conn: &mut Connection,
    caller: &Caller,
    measure: &MeasureRow,
    decider: Uuid,
    ordinal: i32,
    step: RenewalStep,
    justification: Option<&str>,
) -> Result<RenewalRow, ApiError> {
    let row = queries::renewals::insert(
        conn,
        measure,
        decider,
        ordinal,
        step,
        justification,
        caller.account_id,
        crate::calendar::today(),
    )
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
    conn: &mut Connection,
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
        let measure = queries::find(conn, row.measure_id, true)
            .await?
            .ok_or_else(|| ApiError::internal("a renewal of a measure that is not stored"))?;
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
        let extended =
            queries::extend(conn, measure.id, end, renewed, measure.renewals_granted + 1).await?;
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
            super::measure_event("measure.extended", &extended)?,
        )
        .await?;
        super::tell_landlords(conn, Some(caller), "measure.extended", &extended).await?;
        granted_months = Some(months);
        (starts_on, ends_on) = (measure.planned_end_on, Some(end));
    }
    let decided = to != RenewalStatus::Withdrawn;
    let comment = decision.comment.as_deref().map(str::trim);
    let updated = queries::renewals::answer(
        conn,
        row.id,
        queries::renewals::Answer {
            status: to,
            decided_on: decided.then(|| decision.decided_on.unwrap_or(today)),
            granted_months,
            decision_reference: decision
                .reference
                .as_deref()
                .map(str::trim)
                .filter(|_| decided),
            decision_comment: comment.filter(|_| to == RenewalStatus::Granted),
            starts_on,
            ends_on,
            refusal_reason: decision.refusal_reason,
            refusal_explanation: comment.filter(|_| to == RenewalStatus::Refused),
        },
    )
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

impl Actionable for RenewalRow {
    type Action = RenewalAction;
    type Status = RenewalStatus;

    fn version(&self) -> i32 {
        self.version
    }

    fn name(&self) -> String {
        "a renewal".into()
    }

    fn party_name(party: RenewalParty) -> &'static str {
        party.as_str()
    }

    fn transition(
        &self,
        action: RenewalAction,
        party: RenewalParty,
    ) -> Result<RenewalStatus, Refusal<RenewalStatus, RenewalAction>> {
        rules::renewal_transition(self.status, action, party)
    }

    async fn allowed_actions(
        &self,
        conn: &mut Connection,
        caller: &Caller,
        party: RenewalParty,
    ) -> Result<Vec<RenewalAction>, ApiError> {
        let active = if self.status == RenewalStatus::Requested {
            !queries::active_among(conn, &[self.measure_id])
                .await?
                .is_empty()
        } else {
            false
        };
        Ok(actions(
            self,
            party,
            may(caller, Action::WriteMeasures),
            active,
        ))
    }
}

fn view(row: RenewalRow, allowed_actions: Vec<RenewalAction>, today: NaiveDate) -> Renewal {
    Renewal {
        overdue: row.is_overdue(today),
        allowed_actions,
        id: row.id,
        measure_id: row.measure_id,
        operator_organisation_id: row.operator_organisation_id,
        decider_organisation_id: row.decider_organisation_id,
        ordinal: row.ordinal,
        months: row.months,
        exceptional: row.exceptional,
        justification: row.justification,
        status: row.status,
        requested_on: row.requested_on,
        decided_on: row.decided_on,
        granted_months: row.granted_months,
        decision_reference: row.decision_reference,
        decision_comment: row.decision_comment,
        starts_on: row.starts_on,
        ends_on: row.ends_on,
        refusal_reason: row.refusal_reason,
        refusal_explanation: row.refusal_explanation,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// Renewals as the caller's organisation sees them, each with exactly the actions that
/// would succeed for the caller now.
pub async fn views(
    conn: &mut Connection,
    caller: &Caller,
    org: Uuid,
    rows: Vec<RenewalRow>,
) -> Result<Vec<Renewal>, ApiError> {
    let today = crate::calendar::today();
    let may_write = may(caller, Action::WriteMeasures);
    let waiting: Vec<Uuid> = rows
        .iter()
        .filter(|r| r.status == RenewalStatus::Requested)
        .map(|r| r.measure_id)
        .collect();
    let active = queries::active_among(conn, &waiting).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let party = party_in_row(org, &r)?;
            let actions = actions(&r, party, may_write, active.contains(&r.measure_id));
            Some(view(r, actions, today))
        })
        .collect())
}

async fn view_one(
    conn: &mut Connection,
    caller: &Caller,
    org: Uuid,
    row: RenewalRow,
) -> Result<Renewal, ApiError> {
    views(conn, caller, org, vec![row])
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

/// The operator asks for the measure's next renewal (see the endpoint): 403 for another
/// party, 409 unless the measure is active or while a request waits (`existing_id`), 422
/// naming the rule that refuses it or for an exceptional renewal without a justification.
pub async fn create(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
    new: NewRenewal,
) -> Result<Renewal, ApiError> {
    let org = caller.partner_organisation()?;
    let (measure, party) = cases::find_as_party::<MeasureRow>(conn, org, id, true).await?;
    operator_only(party, "asks for its renewals")?;
    // A suspended measure's end is not settled until it resumes.
    if measure.status != MeasureStatus::Active {
        return Err(not_now(
            conn,
            &measure,
            caller,
            party,
            format!(
                "renewals are asked for an active measure; this one is {}",
                measure.status
            ),
        )
        .await?);
    }
    let Some(decider) = measure.funder_organisation_id else {
        return Err(ApiError::conflict(
            "the measure has no funder to decide: set its funder_organisation_id first",
        ));
    };
    if let Some(existing) = queries::renewals::pending(conn, id).await? {
        return Err(ApiError::duplicate(
            "a renewal of this measure is already waiting for its decision",
            existing,
        ));
    }
    let granted = measure.renewals_granted;
    let rules_ = measure.rules()?;
    let step = rules::next_renewal(
        &rules_,
        rules::Running {
            start: measure.starts_on,
            granted: granted as usize,
            renewed_months: measure.renewed_months,
            suspended_days: measure.suspended_days,
            planned_end: measure.planned_end_on,
        },
        crate::calendar::today(),
    )
    .map_err(|b| rules::renewal_refused(&measure.kind, b, granted))?;
    if step.exceptional && new.justification.is_none() {
        return Err(ApiError::invalid(
            "justification",
            "required",
            format!(
                "renewal {} of a measure of kind {} is exceptional: it needs a written justification",
                granted + 1,
                measure.kind
            ),
        ));
    }
    let row = request(
        conn,
        caller,
        &measure,
        decider,
        granted + 1,
        step,
        new.justification.as_deref(),
    )
    .await?;
    view_one(conn, caller, org, row).await
}

/// A measure's renewals, oldest first, for its operator and its funder (403 for another
/// party).
pub async fn of_measure(
    conn: &mut Connection,
    caller: &Caller,
    measure_id: Uuid,
) -> Result<PageOf<Renewal>, ApiError> {
    let org = caller.partner_organisation()?;
    let (measure, party) = cases::find_as_party::<MeasureRow>(conn, org, measure_id, false).await?;
    if !matches!(party, MeasureParty::Operator | MeasureParty::Funder) {
        return Err(ApiError::Forbidden(
            "a measure's renewals are its operator's and its funder's".into(),
        ));
    }
    let rows = queries::renewals::of_measure(conn, measure.id).await?;
    Ok(PageOf {
        items: views(conn, caller, org, rows).await?,
        next_cursor: None,
    })
}

/// A page of the renewals the caller's organisation decides or asked for (see the
/// endpoint for the 403 and 422 on `measure_id` and `as`).
pub async fn list(
    conn: &mut Connection,
    caller: &Caller,
    filters: &RenewalFilters,
    page: Page,
) -> Result<PageOf<Renewal>, ApiError> {
    let org = caller.partner_organisation()?;
    // A measure's renewals are its operator's and its funder's: a `measure_id` the caller
    // may not list renewals of is refused, naming it (never a silently empty page).
    if let Some(m) = filters.measure_id {
        let (_, party) = cases::find_as_party::<MeasureRow>(conn, org, m, false)
            .await
            .map_err(|e| match e {
                ApiError::NotFound => ApiError::invalid(
                    "measure_id",
                    "unknown_measure",
                    "no measure your organisation is a party to has this id",
                ),
                other => other,
            })?;
        let side = match party {
            MeasureParty::Operator => RenewalSide::Operator,
            MeasureParty::Funder => RenewalSide::Decider,
            other => {
                return Err(ApiError::Forbidden(format!(
                    "`measure_id`: a measure's renewals are its operator's and its funder's; \
                     your organisation is its {}",
                    other.as_str()
                )))
            }
        };
        if filters.r#as.is_some_and(|a| a != side) {
            return Err(cases::not_your_side(
                "as",
                format!(
                    "your organisation is this measure's {}: its renewals are listed with `as={}`",
                    party.as_str(),
                    match side {
                        RenewalSide::Operator => "operator",
                        RenewalSide::Decider => "decider",
                    }
                ),
            ));
        }
    }
    if let Some(side) = filters.r#as {
        let sides = super::kinds::sides_of(conn, caller.organisation_kind).await?;
        let refusal = match side {
            RenewalSide::Decider if !sides.funds => Some((
                "decider",
                "a renewal is decided by the measure's funder, of a kind the catalogue names to \
                 fund it",
            )),
            RenewalSide::Operator if !sides.operates => Some((
                "operator",
                "a renewal is asked for by the measure's operator, of a kind the catalogue \
                 names to operate it",
            )),
            _ => None,
        };
        if let Some((name, why)) = refusal {
            return Err(cases::not_your_side(
                "as",
                format!("your organisation's kind never takes the `{name}` side: {why}"),
            ));
        }
    }
    let rows = queries::renewals::list(
        conn,
        RenewalList {
            org,
            decider: filters.r#as.map(|a| a == RenewalSide::Decider),
            status: filters.status,
            overdue: filters.overdue,
            measure_id: filters.measure_id,
            today: crate::calendar::today(),
        },
        page,
    )
    .await?;
    let (rows, more) = page.split(rows);
    let items = views(conn, caller, org, rows).await?;
    Ok(PageOf::new(items, more, |v| v.id))
}

/// A renewal, for its operator and its decider (404 for anyone else).
pub async fn get(conn: &mut Connection, caller: &Caller, id: Uuid) -> Result<Renewal, ApiError> {
    let org = caller.partner_organisation()?;
    let (row, _) = cases::find_as_party::<RenewalRow>(conn, org, id, false).await?;
    view_one(conn, caller, org, row).await
}

/// An answer to a renewal (grant, refuse, withdraw), in the caller's transaction: the
/// kernel's start ([`cases::begin_action`]), then [`decide`].
pub async fn act(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
    action: RenewalAction,
    decision: Decision,
) -> Result<Renewal, ApiError> {
    let org = caller.partner_organisation()?;
    let (row, _, to) =
        cases::begin_action::<RenewalRow>(conn, caller, id, if_match, action).await?;
    let updated = decide(conn, caller, &row, action, to, decision).await?;
    view_one(conn, caller, org, updated).await
}
