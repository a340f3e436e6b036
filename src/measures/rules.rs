//! The life of a measure and of its renewals: pure functions, unit-tested for every case.

use chrono::{Duration, Months, NaiveDate};

use super::model::{
    MeasureAction, MeasureRules, MeasureStatus, RenewalAction, RenewalStatus, RenewalStep,
};
use crate::cases::Refusal;

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

/// The decider alone answers a renewal request, once.
pub fn renewal_transition(
    status: RenewalStatus,
    action: RenewalAction,
    is_decider: bool,
) -> Result<RenewalStatus, Refusal<RenewalStatus, RenewalAction>> {
    if !is_decider {
        return Err(Refusal::NotYours);
    }
    match (status, action) {
        (RenewalStatus::Requested, RenewalAction::Grant) => Ok(RenewalStatus::Granted),
        (RenewalStatus::Requested, RenewalAction::Refuse) => Ok(RenewalStatus::Refused),
        _ => Err(Refusal::NotNow {
            current: status,
            allowed: renewal_actions(status, is_decider),
        }),
    }
}

/// What a party may do to a renewal now.
pub fn renewal_actions(status: RenewalStatus, is_decider: bool) -> Vec<RenewalAction> {
    if is_decider && status == RenewalStatus::Requested {
        vec![RenewalAction::Grant, RenewalAction::Refuse]
    } else {
        Vec::new()
    }
}

/// The planned end of a measure starting on `start` under these rules (`None`: no limit).
pub fn planned_end(rules: &MeasureRules, start: NaiveDate) -> Option<NaiveDate> {
    rules
        .duration_months
        .map(|m| start + Months::new(m.unsigned_abs()))
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
}

/// The next renewal the policy allows after `granted` renewals, for a measure that started
/// on `start` and now ends on `planned_end` (suspensions included in `suspended_days`, which
/// do not count towards the maximum length).
pub fn next_renewal(
    rules: &MeasureRules,
    granted: usize,
    start: NaiveDate,
    planned_end: Option<NaiveDate>,
    suspended_days: i32,
) -> Result<RenewalStep, RenewalBlock> {
    let Some(end) = planned_end.filter(|_| rules.duration_months.is_some()) else {
        return Err(RenewalBlock::NoDuration);
    };
    let Some(step) = rules.renewal_policy.get(granted).copied() else {
        return Err(RenewalBlock::PolicyExhausted {
            policy: rules.renewal_policy.clone(),
        });
    };
    if let Some(max) = rules.max_total_months {
        let latest_end =
            start + Months::new(max.unsigned_abs()) + Duration::days(i64::from(suspended_days));
        if end + Months::new(step.months.unsigned_abs()) > latest_end {
            return Err(RenewalBlock::BeyondMaximum {
                max_total_months: max,
                latest_end,
            });
        }
    }
    Ok(step)
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

/// The platform's limit on a measure's suspensions, in days, when its kind sets none: three
/// months, the shortest period a measure is granted or renewed for in the sources (ASLL).
pub const DEFAULT_MAX_SUSPENSION_DAYS: i32 = 92;

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
            contact_kinds: vec![super::super::model::ContactKind::HomeVisit],
            outcome_codes: vec![],
            max_total_months: None,
            max_suspension_days: DEFAULT_MAX_SUSPENSION_DAYS,
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
    fn renewals_are_answered_once_by_the_decider() {
        use RenewalAction as RA;
        use RenewalStatus as RS;
        for s in RS::ALL {
            for a in RA::ALL {
                assert_eq!(
                    renewal_transition(*s, *a, false),
                    Err(Refusal::NotYours),
                    "{s} {a}"
                );
                let got = renewal_transition(*s, *a, true);
                match (s, a) {
                    (RS::Requested, RA::Grant) => assert_eq!(got, Ok(RS::Granted)),
                    (RS::Requested, RA::Refuse) => assert_eq!(got, Ok(RS::Refused)),
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

    /// ASLL: 6 months, then 3, then 3 exceptionally; a third renewal is refused by the rules.
    #[test]
    fn the_asll_policy() {
        let rules = asll();
        let start = d(2027, 1, 4);
        let end = planned_end(&rules, start);
        assert_eq!(end, Some(d(2027, 7, 4)));
        assert_eq!(
            next_renewal(&rules, 0, start, end, 0),
            Ok(RenewalStep {
                months: 3,
                exceptional: false
            })
        );
        assert_eq!(
            next_renewal(&rules, 1, start, Some(d(2027, 10, 4)), 0),
            Ok(RenewalStep {
                months: 3,
                exceptional: true
            })
        );
        assert_eq!(
            next_renewal(&rules, 2, start, Some(d(2028, 1, 4)), 0),
            Err(RenewalBlock::PolicyExhausted {
                policy: rules.renewal_policy.clone()
            })
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
        assert!(next_renewal(&rules, 0, start, Some(d(2028, 1, 1)), 0).is_ok());
        assert_eq!(
            next_renewal(&rules, 1, start, Some(d(2029, 1, 1)), 0),
            Err(RenewalBlock::BeyondMaximum {
                max_total_months: 24,
                latest_end: d(2029, 1, 1)
            })
        );
        // 30 days of suspension moved the end and the cap alike.
        assert!(next_renewal(&rules, 0, start, Some(d(2028, 1, 31)), 30).is_ok());
        let unlimited = MeasureRules {
            duration_months: None,
            ..asll()
        };
        assert_eq!(
            next_renewal(&unlimited, 0, start, None, 0),
            Err(RenewalBlock::NoDuration)
        );
        assert_eq!(planned_end(&unlimited, start), None);
    }

    #[test]
    fn the_contact_rhythm() {
        use super::super::model::ContactKind as K;
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
}
