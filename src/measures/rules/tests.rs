//! The life of a measure and of its renewals, case by case.

use super::*;
use crate::measures::model::DEFAULT_MAX_SUSPENSION_DAYS;
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
