//! The life of a measure and of its renewals: pure functions, unit-tested for every case.

use chrono::{Duration, Months, NaiveDate};

use super::model::{
    ContactKind, MeasureAction, MeasureRules, MeasureStatus, OutcomeCode, RenewalAction,
    RenewalStatus, RenewalStep,
};
use crate::cases::Refusal;
use crate::error::FieldError;

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

/// The platform's limit on a measure's suspensions, in days, when its kind sets none: three
/// months, the shortest period a measure is granted or renewed for in the sources (ASLL).
pub const DEFAULT_MAX_SUSPENSION_DAYS: i32 = 92;

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

#[cfg(test)]
mod tests {
    use super::*;
    use MeasureAction as A;
    use MeasureParty as P;
    use MeasureStatus as S;

    fn asll() -> MeasureRules {
        MeasureRules {
            kind_version: 1,
            duration_months: Some(6),
            needs_decision: true,
            renewal_policy: vec![
                RenewalStep {
                    months: 3,
                    exceptional: false,
                },
                RenewalStep {
                    months: 3,
                    exceptional: true,
                },
            ],
            contact_every_days: Some(14),
            contact_kinds: vec![ContactKind::HomeVisit],
            outcome_codes: vec![
                OutcomeCode::AccessedHousing,
                OutcomeCode::KeptHousing,
                OutcomeCode::LeftWithoutSolution,
                OutcomeCode::EndedByHousehold,
                OutcomeCode::Deceased,
            ],
            exclusive_outcomes: vec![
                vec![
                    OutcomeCode::AccessedHousing,
                    OutcomeCode::KeptHousing,
                    OutcomeCode::LeftWithoutSolution,
                    OutcomeCode::Deceased,
                ],
                vec![OutcomeCode::EndedByHousehold, OutcomeCode::Deceased],
            ],
            max_total_months: None,
            max_suspension_days: DEFAULT_MAX_SUSPENSION_DAYS,
            renewal_window_months: 3,
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// Every (state, action, party, kind needs a decision or not), the table written out.
    #[test]
    fn every_combination() {
        let mut checked = 0;
        for s in S::ALL {
            for a in A::ALL {
                for p in MeasureParty::ALL {
                    for needs in [false, true] {
                        let who = match a {
                            A::Start if needs => p == P::Funder,
                            A::Start | A::Suspend | A::Resume | A::Close => p == P::Operator,
                            A::Cancel => p == P::Operator || p == P::Funder,
                        };
                        let want = match (s, a) {
                            (S::Proposed, A::Start) => Some(S::Active),
                            (S::Proposed, A::Cancel) => Some(S::Cancelled),
                            (S::Active, A::Suspend) => Some(S::Suspended),
                            (S::Suspended, A::Resume) => Some(S::Active),
                            (S::Active, A::Close) | (S::Suspended, A::Close) => Some(S::Closed),
                            _ => None,
                        };
                        match (transition(*s, *a, p, needs), who, want) {
                            (Ok(to), true, Some(w)) => assert_eq!(to, w),
                            (Err(Refusal::NotYours), false, _) => {}
                            (Err(Refusal::NotNow { current, allowed }), true, None) => {
                                assert_eq!(current, *s);
                                assert!(!allowed.contains(a));
                                for other in allowed {
                                    assert!(transition(*s, other, p, needs).is_ok());
                                }
                            }
                            (got, who, want) => {
                                panic!("{s} {a} {p:?} {needs}: {got:?} (who {who}, want {want:?})")
                            }
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 5 * 5 * 4 * 2);
        // Readers never act; closed and cancelled measures allow nothing.
        for s in S::ALL {
            for needs in [false, true] {
                assert!(allowed_actions(*s, P::Referrer, needs).is_empty());
                assert!(allowed_actions(*s, P::Landlord, needs).is_empty());
            }
        }
        for p in MeasureParty::ALL {
            assert!(allowed_actions(S::Closed, p, true).is_empty());
            assert!(allowed_actions(S::Cancelled, p, false).is_empty());
        }
        assert_eq!(
            allowed_actions(S::Proposed, P::Funder, true),
            vec![A::Start, A::Cancel]
        );
        assert_eq!(
            allowed_actions(S::Proposed, P::Operator, true),
            vec![A::Cancel]
        );
        assert_eq!(
            allowed_actions(S::Active, P::Operator, true),
            vec![A::Suspend, A::Close]
        );
    }

    #[test]
    fn renewals_are_answered_once_by_the_decider_or_withdrawn_by_the_operator() {
        use RenewalAction as RA;
        use RenewalParty as RP;
        use RenewalStatus as RS;
        for s in RS::ALL {
            for a in RA::ALL {
                for p in RP::ALL {
                    let who = match a {
                        RA::Grant | RA::Refuse => RP::Decider,
                        RA::Withdraw => RP::Operator,
                    };
                    let got = renewal_transition(*s, *a, p);
                    match (s, a) {
                        _ if p != who => assert_eq!(got, Err(Refusal::NotYours), "{s} {a}"),
                        (RS::Requested, RA::Grant) => assert_eq!(got, Ok(RS::Granted)),
                        (RS::Requested, RA::Refuse) => assert_eq!(got, Ok(RS::Refused)),
                        (RS::Requested, RA::Withdraw) => assert_eq!(got, Ok(RS::Withdrawn)),
                        _ => assert_eq!(
                            got,
                            Err(Refusal::NotNow {
                                current: *s,
                                allowed: vec![]
                            })
                        ),
                    }
                }
            }
        }
        assert_eq!(
            renewal_actions(RS::Requested, RP::Decider),
            vec![RA::Grant, RA::Refuse]
        );
        assert_eq!(
            renewal_actions(RS::Requested, RP::Operator),
            vec![RA::Withdraw]
        );
    }

    fn running(rules: &MeasureRules, start: NaiveDate, granted: usize, renewed: i32) -> Running {
        Running {
            start,
            granted,
            renewed_months: renewed,
            suspended_days: 0,
            planned_end: planned_end(rules, start, renewed, 0),
        }
    }

    /// ASLL: 6 months, then 3, then 3 exceptionally; a third renewal is refused by the
    /// rules; each is asked in the last 3 months before the planned end.
    #[test]
    fn the_asll_policy() {
        let rules = asll();
        let start = d(2027, 1, 4);
        assert_eq!(planned_end(&rules, start, 0, 0), Some(d(2027, 7, 4)));
        let first = running(&rules, start, 0, 0);
        assert_eq!(
            next_renewal(&rules, first, d(2027, 4, 4)),
            Ok(RenewalStep {
                months: 3,
                exceptional: false
            })
        );
        // On the first day, or the day after the planned end: outside the window.
        for day in [start, d(2027, 4, 3), d(2027, 7, 5)] {
            assert_eq!(
                next_renewal(&rules, first, day),
                Err(RenewalBlock::OutsideWindow {
                    window_months: 3,
                    opens_on: d(2027, 4, 4),
                    planned_end: d(2027, 7, 4)
                }),
                "{day}"
            );
        }
        assert_eq!(
            next_renewal(&rules, running(&rules, start, 1, 3), d(2027, 9, 1)),
            Ok(RenewalStep {
                months: 3,
                exceptional: true
            })
        );
        assert_eq!(
            next_renewal(&rules, running(&rules, start, 2, 6), d(2027, 12, 1)),
            Err(RenewalBlock::PolicyExhausted {
                policy: rules.renewal_policy.clone()
            })
        );
    }

    /// Issue 20: a measure started on 31 August ends on 28 February, then 31 May and 31
    /// August after each 3-month renewal (not 28 May and 28 August): every end is counted
    /// from the start. Suspended days count from the start too.
    #[test]
    fn month_ends_do_not_drift_at_each_renewal() {
        let rules = asll();
        let start = d(2026, 8, 31);
        assert_eq!(planned_end(&rules, start, 0, 0), Some(d(2027, 2, 28)));
        assert_eq!(planned_end(&rules, start, 3, 0), Some(d(2027, 5, 31)));
        assert_eq!(planned_end(&rules, start, 6, 0), Some(d(2027, 8, 31)));
        assert_eq!(planned_end(&rules, start, 6, 10), Some(d(2027, 9, 10)));
        // 31 January + 1 month in a leap year, then + 2.
        let monthly = MeasureRules {
            duration_months: Some(1),
            ..asll()
        };
        assert_eq!(
            planned_end(&monthly, d(2028, 1, 31), 0, 0),
            Some(d(2028, 2, 29))
        );
        assert_eq!(
            planned_end(&monthly, d(2028, 1, 31), 2, 0),
            Some(d(2028, 4, 30))
        );
        assert_eq!(
            planned_end(&monthly, d(2028, 1, 31), 6, 0),
            Some(d(2028, 8, 31))
        );
    }

    /// AGIR: at most 24 months in all, suspensions aside.
    #[test]
    fn a_maximum_length_caps_renewals() {
        let rules = MeasureRules {
            duration_months: Some(12),
            renewal_policy: vec![
                RenewalStep {
                    months: 12,
                    exceptional: false,
                },
                RenewalStep {
                    months: 6,
                    exceptional: false,
                },
            ],
            max_total_months: Some(24),
            needs_decision: false,
            ..asll()
        };
        let start = d(2027, 1, 1);
        assert!(next_renewal(&rules, running(&rules, start, 0, 0), d(2027, 11, 1)).is_ok());
        let mut second = running(&rules, start, 1, 12);
        second.suspended_days = 30;
        assert_eq!(
            next_renewal(&rules, second, d(2028, 11, 1)),
            Err(RenewalBlock::BeyondMaximum {
                max_total_months: 24,
                latest_end: d(2029, 1, 31)
            })
        );
        let unlimited = MeasureRules {
            duration_months: None,
            ..asll()
        };
        assert_eq!(
            next_renewal(&unlimited, running(&unlimited, start, 0, 0), start),
            Err(RenewalBlock::NoDuration)
        );
        assert_eq!(planned_end(&unlimited, start, 0, 0), None);
    }

    /// Issue 20: outcomes that exclude each other are refused, naming the other; every code
    /// must be the kind's.
    #[test]
    fn outcomes_that_exclude_each_other() {
        use OutcomeCode as O;
        let rules = asll();
        let codes = |o: &[O]| -> Vec<(String, String)> {
            outcome_errors(&rules, "asll", o)
                .into_iter()
                .map(|e| (e.field, e.code))
                .collect()
        };
        assert!(codes(&[O::KeptHousing]).is_empty());
        assert!(codes(&[O::KeptHousing, O::EndedByHousehold]).is_empty());
        assert_eq!(
            codes(&[O::KeptHousing, O::LeftWithoutSolution, O::Deceased]),
            vec![
                ("outcomes[1]".into(), "exclusive".into()),
                ("outcomes[2]".into(), "exclusive".into())
            ]
        );
        assert_eq!(
            codes(&[O::EndedByHousehold, O::Deceased]),
            vec![("outcomes[1]".into(), "exclusive".into())]
        );
        assert_eq!(
            codes(&[O::KeptHousing, O::KeptHousing, O::EmploymentOrTraining]),
            vec![
                ("outcomes[1]".into(), "duplicate".into()),
                ("outcomes[2]".into(), "not_for_kind".into())
            ]
        );
        let e = outcome_errors(&rules, "asll", &[O::KeptHousing, O::LeftWithoutSolution]);
        assert!(e[0].message.contains("kept_housing"), "{}", e[0].message);
    }

    #[test]
    fn the_contact_rhythm() {
        use ContactKind as K;
        let rules = asll();
        let start = d(2027, 1, 4);
        assert_eq!(next_contact_due(&rules, start, None), Some(d(2027, 1, 18)));
        assert_eq!(
            next_contact_due(&rules, start, Some(d(2027, 1, 14))),
            Some(d(2027, 1, 28))
        );
        assert!(rules.counts(K::HomeVisit));
        assert!(!rules.counts(K::Phone));
        assert!(!rules.counts(K::MissedAppointment));
        let any = MeasureRules {
            contact_kinds: vec![],
            contact_every_days: None,
            ..asll()
        };
        assert!(any.counts(K::Phone));
        assert!(!any.counts(K::MissedAppointment));
        assert_eq!(next_contact_due(&any, start, None), None);
    }

    /// The rhythm turn by turn and replayed give the same answer; a late visit, a suspension
    /// while late and a close while late each break it once; a resumption restarts it.
    #[test]
    fn the_rhythm_turn_by_turn_is_the_rhythm_replayed() {
        use ContactKind as K;
        let rules = asll();
        let start = d(2027, 1, 4);
        let turns = [
            Turn::Contact(d(2027, 1, 14), K::HomeVisit),
            Turn::Contact(d(2027, 1, 20), K::Phone),
            Turn::Contact(d(2027, 1, 27), K::MissedAppointment),
            // Due on the 28th: late.
            Turn::Contact(d(2027, 2, 3), K::HomeVisit),
            // Due on the 17th: suspended while late.
            Turn::Suspend(d(2027, 2, 20)),
            Turn::Resume(d(2027, 3, 1)),
            Turn::Contact(d(2027, 3, 10), K::HomeVisit),
            Turn::Close(d(2027, 3, 12)),
        ];
        let stepwise = turns.iter().fold(Rhythm::start(&rules, start), |r, t| {
            r.after(&rules, start, *t)
        });
        let replayed = Rhythm::replay(&rules, start, &turns);
        assert_eq!(stepwise, replayed);
        assert_eq!(replayed.missed, 2);
        assert_eq!(replayed.due, None);
        assert_eq!(replayed.last_contact_on, Some(d(2027, 3, 10)));
        // The late visit removed: the rhythm was broken at the suspension only… and by the
        // next visit, now due on the 28th of January and done on the 10th of March after a
        // resumption on the 1st (due the 15th): kept.
        let without: Vec<Turn> = turns
            .iter()
            .copied()
            .filter(|t| *t != Turn::Contact(d(2027, 2, 3), K::HomeVisit))
            .collect();
        let r = Rhythm::replay(&rules, start, &without);
        assert_eq!(r.missed, 1);
        // Out of order, the replay reads them by day.
        let mut shuffled = turns.to_vec();
        shuffled.reverse();
        assert_eq!(Rhythm::replay(&rules, start, &shuffled), replayed);
        // Still running: the next visit is due a rhythm's length after the last.
        let open = Rhythm::replay(&rules, start, &turns[..7]);
        assert_eq!(open.due, Some(d(2027, 3, 24)));
    }
}
