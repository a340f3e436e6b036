//! The state table of sub-leases, as a pure function.

use super::model::{SubleaseAction, SubleaseKind, SubleaseStatus};

/// Who acts on a sub-lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubleaseParty {
    /// The association that sub-lets.
    MainTenant,
    /// The unit's holder.
    Landlord,
}

impl SubleaseParty {
    /// The side's name, as error messages say it.
    pub fn as_str(self) -> &'static str {
        match self {
            SubleaseParty::MainTenant => "main tenant",
            SubleaseParty::Landlord => "landlord",
        }
    }
}

/// Why an action is refused: the kernel's, over sub-lease states and actions (an action
/// not for this kind of sub-lease is "not now").
pub type Refusal = crate::cases::Refusal<SubleaseStatus, SubleaseAction>;

fn target(
    status: SubleaseStatus,
    action: SubleaseAction,
    kind: SubleaseKind,
) -> Option<SubleaseStatus> {
    use SubleaseAction as A;
    use SubleaseStatus as S;
    match (status, action) {
        (S::Planned, A::Activate) => Some(S::Active),
        (S::Active, A::Glide) if kind == SubleaseKind::SlidingLease => Some(S::Glided),
        (S::Planned | S::Active, A::End) => Some(S::Ended),
        _ => None,
    }
}

fn actor(action: SubleaseAction) -> Option<SubleaseParty> {
    match action {
        SubleaseAction::Activate => Some(SubleaseParty::MainTenant),
        // The lease passes to the household: the landlord signs it.
        SubleaseAction::Glide => Some(SubleaseParty::Landlord),
        SubleaseAction::End => None,
    }
}

/// The new state, or why not.
pub fn transition(
    status: SubleaseStatus,
    action: SubleaseAction,
    kind: SubleaseKind,
    party: SubleaseParty,
) -> Result<SubleaseStatus, Refusal> {
    if actor(action).is_some_and(|p| p != party) {
        return Err(Refusal::NotYours);
    }
    target(status, action, kind).ok_or_else(|| Refusal::NotNow {
        current: status,
        allowed: allowed_actions(status, kind, party),
    })
}

/// What a party may do now.
pub fn allowed_actions(
    status: SubleaseStatus,
    kind: SubleaseKind,
    party: SubleaseParty,
) -> Vec<SubleaseAction> {
    SubleaseAction::ALL
        .iter()
        .copied()
        .filter(|a| actor(*a).is_none_or(|p| p == party) && target(status, *a, kind).is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sublease_transition() {
        use SubleaseAction as A;
        use SubleaseParty as P;
        use SubleaseStatus as S;
        let mut allowed = 0;
        for s in S::ALL {
            for a in A::ALL {
                for k in SubleaseKind::ALL {
                    for p in [P::MainTenant, P::Landlord] {
                        let expected = match (s, a, p) {
                            (S::Planned, A::Activate, P::MainTenant) => Some(S::Active),
                            (S::Active, A::Glide, P::Landlord)
                                if *k == SubleaseKind::SlidingLease =>
                            {
                                Some(S::Glided)
                            }
                            (S::Planned | S::Active, A::End, _) => Some(S::Ended),
                            _ => None,
                        };
                        let got = transition(*s, *a, *k, p);
                        match (&got, expected) {
                            (Ok(to), Some(e)) => {
                                assert_eq!(*to, e);
                                allowed += 1;
                            }
                            (Err(Refusal::NotNow { current, allowed }), None) => {
                                assert_eq!(current, s);
                                assert!(!allowed.contains(a))
                            }
                            (Err(Refusal::NotYours), None) => {
                                assert!(matches!(
                                    (a, p),
                                    (A::Activate, P::Landlord) | (A::Glide, P::MainTenant)
                                ))
                            }
                            _ => panic!("{s} {a} {k} {p:?}: {got:?}, expected {expected:?}"),
                        }
                        assert_eq!(allowed_actions(*s, *k, p).contains(a), expected.is_some());
                    }
                }
            }
        }
        // activate: 3 kinds; glide: 1; end: 2 states × 3 kinds × 2 parties.
        assert_eq!(allowed, 3 + 1 + 12);
    }
}
