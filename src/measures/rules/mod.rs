//! The life of a measure and of its renewals: pure functions, unit-tested for every case.

use chrono::{Duration, Months, NaiveDate};

use super::model::{
    ContactKind, MeasureAction, MeasureRules, MeasureStatus, OutcomeCode, RenewalAction,
    RenewalStatus, RenewalStep,
};
use crate::cases::Refusal;
use crate::error::{ApiError, FieldError};

/// A measure's sides. The operator sees and does everything; the funder decides the start
/// of a kind that needs a decision, decides renewals and may cancel a proposed measure; the
/// referrer of its origin referral and the landlord of a sub-lease that names it only read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasureParty {
    Operator,
    Funder,
    Referrer,
    Landlord,
}

impl MeasureParty {
    pub const ALL: [MeasureParty; 4] = [
        MeasureParty::Operator,
        MeasureParty::Funder,
        MeasureParty::Referrer,
        MeasureParty::Landlord,
    ];

    /// The side's name, as error messages say it.
    pub fn as_str(self) -> &'static str {
        match self {
            MeasureParty::Operator => "operator",
            MeasureParty::Funder => "funder",
            MeasureParty::Referrer => "referrer",
            MeasureParty::Landlord => "landlord",
        }
    }
}

/// Who may take an action on a measure of a kind that does (or does not) need a decision.
fn may_act(action: MeasureAction, party: MeasureParty, needs_decision: bool) -> bool {
    use MeasureAction as A;
    use MeasureParty as P;
    match action {
        A::Start if needs_decision => party == P::Funder,
        A::Start | A::Suspend | A::Resume | A::Close => party == P::Operator,
        A::Cancel => matches!(party, P::Operator | P::Funder),
    }
}

/// The state an action leads to from this state, if any (whoever asks).
fn target(status: MeasureStatus, action: MeasureAction) -> Option<MeasureStatus> {
    use MeasureAction as A;
    use MeasureStatus as S;
    match (status, action) {
        (S::Proposed, A::Start) => Some(S::Active),
        (S::Proposed, A::Cancel) => Some(S::Cancelled),
        (S::Active, A::Suspend) => Some(S::Suspended),
        (S::Suspended, A::Resume) => Some(S::Active),
        (S::Active | S::Suspended, A::Close) => Some(S::Closed),
        _ => None,
    }
}

/// The actions a party may take now.
pub fn allowed_actions(
    status: MeasureStatus,
    party: MeasureParty,
    needs_decision: bool,
) -> Vec<MeasureAction> {
    MeasureAction::ALL
        .iter()
        .copied()
        .filter(|a| may_act(*a, party, needs_decision) && target(status, *a).is_some())
        .collect()
}

/// The new state, or why not: 403 when the party never takes the action (for this kind),
/// 409 when not now.
pub fn transition(
    status: MeasureStatus,
    action: MeasureAction,
    party: MeasureParty,
    needs_decision: bool,
) -> Result<MeasureStatus, Refusal<MeasureStatus, MeasureAction>> {
    if !may_act(action, party, needs_decision) {
        return Err(Refusal::NotYours);
    }
    target(status, action).ok_or_else(|| Refusal::NotNow {
        current: status,
        allowed: allowed_actions(status, party, needs_decision),
    })
}

/// A renewal's sides: the decider (the measure's funder) and the operator that asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewalParty {
    Decider,
    Operator,
}

impl RenewalParty {
    pub const ALL: [RenewalParty; 2] = [RenewalParty::Decider, RenewalParty::Operator];

    pub fn as_str(self) -> &'static str {
        match self {
            RenewalParty::Decider => "decider",
            RenewalParty::Operator => "operator",
        }
    }
}

/// The decider answers a waiting request once (grant or refuse); the operator may withdraw
/// it until then.
pub fn renewal_transition(
    status: RenewalStatus,
    action: RenewalAction,
    party: RenewalParty,
) -> Result<RenewalStatus, Refusal<RenewalStatus, RenewalAction>> {
    let (who, to) = renewal_step(action);
    if party != who {
        return Err(Refusal::NotYours);
    }
    if status == RenewalStatus::Requested {
        Ok(to)
    } else {
        Err(Refusal::NotNow {
            current: status,
            allowed: renewal_actions(status, party),
        })
    }
}

/// Who takes an action on a renewal, and the state it leads to from `requested`.
fn renewal_step(action: RenewalAction) -> (RenewalParty, RenewalStatus) {
    match action {
        RenewalAction::Grant => (RenewalParty::Decider, RenewalStatus::Granted),
        RenewalAction::Refuse => (RenewalParty::Decider, RenewalStatus::Refused),
        RenewalAction::Withdraw => (RenewalParty::Operator, RenewalStatus::Withdrawn),
    }
}

/// What a party may do to a renewal in this state (the state table alone).
pub fn renewal_actions(status: RenewalStatus, party: RenewalParty) -> Vec<RenewalAction> {
    RenewalAction::ALL
        .iter()
        .copied()
        .filter(|a| status == RenewalStatus::Requested && renewal_step(*a).0 == party)
        .collect()
}

/// The planned end of a measure of these rules that started on `start`: the start, plus the
/// kind's duration and the months renewals granted (`renewed_months`), plus the days it was
/// suspended (a running suspension counts its reserved days). Always from the start, never
/// from a previous end: month arithmetic clamps to a month's last day once, so 31 August + 6
/// months is 28 February and + 9 months is 31 May, not 28 May. `None`: no limit.
pub fn planned_end(
    rules: &MeasureRules,
    start: NaiveDate,
    renewed_months: i32,
    suspended_days: i32,
) -> Option<NaiveDate> {
    let months = rules.duration_months? + renewed_months;
    Some(start + Months::new(months.unsigned_abs()) + Duration::days(i64::from(suspended_days)))
}

/// Why a renewal may not be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenewalBlock {
    /// The kind has no duration: nothing to renew.
    NoDuration,
    /// Every renewal of the policy has been granted.
    PolicyExhausted { policy: Vec<RenewalStep> },
    /// The renewal would take the measure past the kind's maximum length.
    BeyondMaximum {
        max_total_months: i32,
        latest_end: NaiveDate,
    },
    /// Not yet (or no longer): a renewal is asked in the last `window_months` months before
    /// the planned end, from `opens_on` to `planned_end` included.
    OutsideWindow {
        window_months: i32,
        opens_on: NaiveDate,
        planned_end: NaiveDate,
    },
}

/// A running measure, as the renewal rules read it.
#[derive(Debug, Clone, Copy)]
pub struct Running {
    pub start: NaiveDate,
    /// Renewals granted so far.
    pub granted: usize,
    pub renewed_months: i32,
    /// Suspensions completed, in days (they do not count towards the maximum length).
    pub suspended_days: i32,
    pub planned_end: Option<NaiveDate>,
}

/// The next renewal the policy allows for a running measure, asked `today`: the policy's
/// next step, within the kind's maximum length (counted in months from the start,
/// suspensions aside) and inside the renewal window (the last `renewal_window_months`
/// months before the planned end).
pub fn next_renewal(
    rules: &MeasureRules,
    m: Running,
    today: NaiveDate,
) -> Result<RenewalStep, RenewalBlock> {
    let (Some(duration), Some(end)) = (rules.duration_months, m.planned_end) else {
        return Err(RenewalBlock::NoDuration);
    };
    let Some(step) = rules.renewal_policy.get(m.granted).copied() else {
        return Err(RenewalBlock::PolicyExhausted {
            policy: rules.renewal_policy.clone(),
        });
    };
    if let Some(max) = rules.max_total_months {
        if duration + m.renewed_months + step.months > max {
            return Err(RenewalBlock::BeyondMaximum {
                max_total_months: max,
                latest_end: m.start
                    + Months::new(max.unsigned_abs())
                    + Duration::days(i64::from(m.suspended_days)),
            });
        }
    }
    let opens_on = end - Months::new(rules.renewal_window_months.unsigned_abs());
    if today < opens_on || today > end {
        return Err(RenewalBlock::OutsideWindow {
            window_months: rules.renewal_window_months,
            opens_on,
            planned_end: end,
        });
    }
    Ok(step)
}

/// The outcomes a closing names, against the measure's rules: each once (`duplicate`), each
/// among the rules' `outcome_codes` (`not_for_kind`), at most one of each group of
/// `exclusive_outcomes` (`exclusive`, naming the other). Field errors on `outcomes[i]`.
pub fn outcome_errors(
    rules: &MeasureRules,
    kind: &str,
    outcomes: &[OutcomeCode],
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, o) in outcomes.iter().enumerate() {
        let field = format!("outcomes[{i}]");
        if outcomes[..i].contains(o) {
            errors.push(FieldError::new(field, "duplicate", "each outcome once"));
        } else if !rules.outcome_codes.contains(o) {
            errors.push(FieldError::new(
                field,
                "not_for_kind",
                format!(
                    "a measure of kind {kind} closes with {}",
                    join(&rules.outcome_codes)
                ),
            ));
        } else if let Some((earlier, group)) = outcomes[..i].iter().find_map(|e| {
            rules
                .exclusive_outcomes
                .iter()
                .find(|g| g.contains(e) && g.contains(o) && e != o)
                .map(|g| (e, g))
        }) {
            errors.push(FieldError::new(
                field,
                "exclusive",
                format!(
                    "{o} and {earlier} exclude each other: a measure closes with at most one of {}",
                    join(group)
                ),
            ));
        }
    }
    errors
}

/// The groups of outcomes that exclude each other, for a kind whose catalogue entry names
/// none: a household's housing at the end is one of accessed, kept, rehoused, left without
/// solution or moved away; a death excludes every other outcome. Restricted to `codes` (a
/// group keeps the codes the kind offers, when two or more).
pub fn default_exclusive_outcomes(codes: &[OutcomeCode]) -> Vec<Vec<OutcomeCode>> {
    use OutcomeCode as O;
    let groups: [&[OutcomeCode]; 3] = [
        &[
            O::AccessedHousing,
            O::KeptHousing,
            O::Rehoused,
            O::LeftWithoutSolution,
            O::MovedAway,
            O::Deceased,
        ],
        &[O::EndedByHousehold, O::Deceased],
        &[O::EmploymentOrTraining, O::Deceased],
    ];
    groups
        .iter()
        .map(|g| {
            g.iter()
                .copied()
                .filter(|c| codes.contains(c))
                .collect::<Vec<_>>()
        })
        .filter(|g| g.len() >= 2)
        .collect()
}

/// The field errors of a kind's outcome rules: each group of `exclusive_outcomes` holds two
/// or more distinct codes (`too_small`, `duplicate`), each among `outcome_codes`
/// (`not_an_outcome_of_kind`).
pub fn outcome_rule_errors(codes: &[OutcomeCode], groups: &[Vec<OutcomeCode>]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        if group.len() < 2 {
            errors.push(FieldError::new(
                format!("exclusive_outcomes[{i}]"),
                "too_small",
                "a group of outcomes that exclude each other holds two codes or more",
            ));
        }
        for (j, code) in group.iter().enumerate() {
            let field = format!("exclusive_outcomes[{i}][{j}]");
            if group[..j].contains(code) {
                errors.push(FieldError::new(
                    field,
                    "duplicate",
                    "each code once in a group",
                ));
            } else if !codes.contains(code) {
                errors.push(FieldError::new(
                    field,
                    "not_an_outcome_of_kind",
                    format!("{code} is not among the kind's outcome_codes"),
                ));
            }
        }
    }
    errors
}

fn join(codes: &[OutcomeCode]) -> String {
    codes
        .iter()
        .map(|o| o.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// When the next counting contact is due: a rhythm's length after the last counting
/// contact, or after the start; `None` without a rhythm.
pub fn next_contact_due(
    rules: &MeasureRules,
    start: NaiveDate,
    last_counting: Option<NaiveDate>,
) -> Option<NaiveDate> {
    let every = rules.contact_every_days?;
    Some(last_counting.unwrap_or(start).max(start) + Duration::days(i64::from(every)))
}

/// A turn of a measure's life that moves its contact rhythm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// A contact on that day, of that kind.
    Contact(NaiveDate, ContactKind),
    /// Suspended on that day.
    Suspend(NaiveDate),
    /// Resumed on that day: the next contact is due a rhythm's length later.
    Resume(NaiveDate),
    /// Closed on that day.
    Close(NaiveDate),
}

impl Turn {
    fn day(self) -> NaiveDate {
        match self {
            Turn::Contact(d, _) | Turn::Suspend(d) | Turn::Resume(d) | Turn::Close(d) => d,
        }
    }
}

/// A measure's contact rhythm: the one rule for when the next contact is due and how many
/// times the rhythm was broken, applied turn by turn (each contact as it is logged, each
/// suspension, resumption and close), or replayed over the whole history when a contact is
/// corrected or removed ([`Rhythm::replay`]).
///
/// The rhythm is broken (`missed`) by a counting contact that comes after its due date while
/// the measure runs, and by a suspension or a close while a contact is overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rhythm {
    /// The next counting contact's due date (`None` without a rhythm).
    pub due: Option<NaiveDate>,
    pub missed: i32,
    /// The latest contact held (a missed appointment is none).
    pub last_contact_on: Option<NaiveDate>,
    running: bool,
}

impl Rhythm {
    /// The rhythm of a measure that became active on `start`.
    pub fn start(rules: &MeasureRules, start: NaiveDate) -> Rhythm {
        Rhythm {
            due: next_contact_due(rules, start, None),
            missed: 0,
            last_contact_on: None,
            running: true,
        }
    }

    /// The stored rhythm of a measure (`running`: active, not suspended).
    pub fn stored(
        due: Option<NaiveDate>,
        missed: i32,
        last_contact_on: Option<NaiveDate>,
        running: bool,
    ) -> Rhythm {
        Rhythm {
            due,
            missed,
            last_contact_on,
            running,
        }
    }

    /// The rhythm after `turn`, for a measure of these rules that started on `start`.
    pub fn after(mut self, rules: &MeasureRules, start: NaiveDate, turn: Turn) -> Rhythm {
        let overdue_on = |due: Option<NaiveDate>, d: NaiveDate| due.is_some_and(|due| due < d);
        match turn {
            Turn::Contact(d, kind) => {
                if kind != ContactKind::MissedAppointment {
                    self.last_contact_on = self.last_contact_on.max(Some(d));
                }
                // A closed measure (no due date) takes the contacts of its last days, logged
                // late, without a rhythm to move.
                if rules.counts(kind) && self.due.is_some() {
                    if self.running && overdue_on(self.due, d) {
                        self.missed += 1;
                    }
                    self.due = self.due.max(next_contact_due(rules, start, Some(d)));
                }
            }
            Turn::Suspend(d) => {
                if self.running && overdue_on(self.due, d) {
                    self.missed += 1;
                }
                self.running = false;
            }
            Turn::Resume(d) => {
                self.running = true;
                self.due = next_contact_due(rules, d, None);
            }
            Turn::Close(d) => {
                if self.running && overdue_on(self.due, d) {
                    self.missed += 1;
                }
                self.running = false;
                self.due = None;
            }
        }
        self
    }

    /// The rhythm computed again from a measure's whole life: its start, then every turn in
    /// day order (on one day, contacts before a suspension or a close). What a correction or
    /// a removal of a contact leaves.
    pub fn replay(rules: &MeasureRules, start: NaiveDate, turns: &[Turn]) -> Rhythm {
        let mut turns = turns.to_vec();
        turns.sort_by_key(|t| (t.day(), !matches!(t, Turn::Contact(..))));
        turns
            .into_iter()
            .fold(Rhythm::start(rules, start), |r, t| r.after(rules, start, t))
    }
}

/// The days of suspension a measure may still take, having used `used`.
pub fn suspension_days_left(rules: &MeasureRules, used: i32) -> i32 {
    (rules.max_suspension_days - used).max(0)
}

impl super::model::MeasureRow {
    /// Its contact rhythm as stored.
    pub fn rhythm(&self) -> Rhythm {
        Rhythm::stored(
            self.next_contact_due_on,
            self.contact_rhythm_missed,
            self.last_contact_on,
            self.status == MeasureStatus::Active,
        )
    }
}

/// A renewal the rules refuse: 422 naming the rule.
pub fn renewal_refused(kind: &str, block: RenewalBlock, granted: i32) -> ApiError {
    match block {
        RenewalBlock::NoDuration => ApiError::invalid(
            "measure.rules.duration_months",
            "no_duration",
            format!("a measure of kind {kind} has no time limit: there is nothing to renew"),
        ),
        RenewalBlock::PolicyExhausted { policy } => ApiError::invalid(
            "measure.rules.renewal_policy",
            "beyond_renewal_policy",
            format!(
                "the {kind} renewal policy allows {} renewal(s) ({}); {granted} granted already",
                policy.len(),
                policy
                    .iter()
                    .map(|s| format!(
                        "{} months{}",
                        s.months,
                        if s.exceptional { " exceptionally" } else { "" }
                    ))
                    .collect::<Vec<_>>()
                    .join(", then ")
            ),
        ),
        RenewalBlock::BeyondMaximum {
            max_total_months,
            latest_end,
        } => ApiError::invalid(
            "measure.rules.max_total_months",
            "beyond_max_total_length",
            format!(
                "a measure of kind {kind} lasts {max_total_months} months at most (until {latest_end} for this one)"
            ),
        ),
        RenewalBlock::OutsideWindow {
            window_months,
            opens_on,
            planned_end,
        } => ApiError::invalid(
            "measure.rules.renewal_window_months",
            "outside_renewal_window",
            format!(
                "a renewal of a measure of kind {kind} is asked in the last {window_months} months \
                 before its planned end: from {opens_on} to {planned_end} for this one"
            ),
        ),
    }
}

mod changes;
#[cfg(test)]
mod tests;

pub use changes::*;
