//! The rules of units, agreements and proposals, as pure functions.

use chrono::NaiveDate;
use uuid::Uuid;

use super::model::{
    AgreementAction, AgreementStatus, EnergyClass, OwnerKind, ProposalAction, ProposalStatus,
};
use crate::identity::model::OrganisationKind;

/// Whose units an organisation of this kind registers, and so holds (the landlord of their
/// sub-leases): a social landlord its own, an association a private owner's it manages
/// (intermédiation locative); `None` for the others.
pub fn registers_units_of(kind: Option<OrganisationKind>) -> Option<OwnerKind> {
    match kind {
        Some(OrganisationKind::SocialLandlord) => Some(OwnerKind::SocialLandlord),
        Some(OrganisationKind::Association) => Some(OwnerKind::PrivateOwner),
        _ => None,
    }
}

/// The first day a lease may no longer start on a unit of this energy class (loi n° 2021-1104
/// « Climat et résilience », art. 160: G from 2025, F from 2028, E from 2034), if any.
pub fn energy_ban_from(class: EnergyClass) -> Option<NaiveDate> {
    let date = |y| NaiveDate::from_ymd_opt(y, 1, 1).expect("a valid date");
    match class {
        EnergyClass::G => Some(date(2025)),
        EnergyClass::F => Some(date(2028)),
        EnergyClass::E => Some(date(2034)),
        _ => None,
    }
}

/// Why a unit of this class may not be let on a lease starting on `on`, if it may not.
pub fn energy_refusal(class: EnergyClass, on: NaiveDate) -> Option<String> {
    let from = energy_ban_from(class)?;
    (on >= from).then(|| {
        format!(
            "a unit of energy class {} may not be let on a lease starting on or after {from} (loi Climat et résilience)",
            class.as_str().to_uppercase()
        )
    })
}

/// Which side of an agreement or a proposal an organisation is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Landlord,
    Association,
}

impl Party {
    /// The side `org` is on between a landlord and an association, if either.
    pub fn of(org: Uuid, landlord: Uuid, association: Uuid) -> Option<Party> {
        if org == landlord {
            Some(Party::Landlord)
        } else if org == association {
            Some(Party::Association)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Party::Landlord => "landlord",
            Party::Association => "association",
        }
    }
}

/// The new state of an agreement, or the actions this party may take now.
pub fn agreement_transition(
    status: AgreementStatus,
    action: AgreementAction,
    party: Party,
) -> Result<AgreementStatus, Vec<AgreementAction>> {
    use AgreementAction as A;
    use AgreementStatus as S;
    use Party as P;
    let target = match (status, action, party) {
        (S::Proposed, A::Accept, P::Association) => Some(S::Active),
        (S::Proposed, A::Decline, P::Association) => Some(S::Declined),
        // Before an answer, the landlord may withdraw its proposal.
        (S::Proposed, A::Terminate, P::Landlord) => Some(S::Terminated),
        (S::Active, A::Terminate, _) => Some(S::Terminated),
        _ => None,
    };
    target.ok_or_else(|| agreement_actions(status, party))
}

/// What a party may do to an agreement now.
pub fn agreement_actions(status: AgreementStatus, party: Party) -> Vec<AgreementAction> {
    AgreementAction::ALL
        .iter()
        .copied()
        .filter(|a| {
            use AgreementAction as A;
            use AgreementStatus as S;
            use Party as P;
            matches!(
                (status, *a, party),
                (S::Proposed, A::Accept | A::Decline, P::Association)
                    | (S::Proposed, A::Terminate, P::Landlord)
                    | (S::Active, A::Terminate, _)
            )
        })
        .collect()
}

/// Who takes an action on a proposal: the landlord answers, the association withdraws.
pub fn proposal_actor(action: ProposalAction) -> Party {
    match action {
        ProposalAction::Accept | ProposalAction::Decline => Party::Landlord,
        ProposalAction::Withdraw => Party::Association,
    }
}

/// The new state of a proposal, whoever acts: `None` when the action is not possible in
/// this state. `sublet`: the unit has been sub-let to the household (planned, running or
/// over): the acceptance has led to that, and the sub-lease is what ends, not the proposal.
pub fn proposal_transition(
    status: ProposalStatus,
    action: ProposalAction,
    sublet: bool,
) -> Option<ProposalStatus> {
    use ProposalAction as A;
    use ProposalStatus as S;
    match (status, action) {
        (S::Proposed, A::Accept) => Some(S::Accepted),
        (S::Proposed, A::Decline) => Some(S::Declined),
        (S::Proposed, A::Withdraw) => Some(S::Withdrawn),
        (S::Accepted, A::Withdraw) if !sublet => Some(S::Withdrawn),
        _ => None,
    }
}

/// What a party may do to a proposal now (`sublet` as for [`proposal_transition`]).
pub fn proposal_actions(status: ProposalStatus, party: Party, sublet: bool) -> Vec<ProposalAction> {
    ProposalAction::ALL
        .iter()
        .copied()
        .filter(|a| {
            proposal_actor(*a) == party && proposal_transition(status, *a, sublet).is_some()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn energy_classes_either_side_of_each_threshold() {
        for (class, year) in [
            (EnergyClass::G, 2025),
            (EnergyClass::F, 2028),
            (EnergyClass::E, 2034),
        ] {
            assert!(
                energy_refusal(class, d(year - 1, 12, 31)).is_none(),
                "{class}"
            );
            let refusal = energy_refusal(class, d(year, 1, 1)).expect("banned");
            assert!(refusal.contains(&format!("{year}-01-01")), "{refusal}");
        }
        for class in [
            EnergyClass::A,
            EnergyClass::B,
            EnergyClass::C,
            EnergyClass::D,
        ] {
            assert!(energy_refusal(class, d(2100, 1, 1)).is_none());
        }
        // G is also refused for every later class's threshold.
        assert!(energy_refusal(EnergyClass::G, d(2034, 1, 1)).is_some());
    }

    #[test]
    fn every_agreement_transition() {
        use AgreementAction as A;
        use AgreementStatus as S;
        use Party as P;
        let mut allowed = 0;
        for s in S::ALL {
            for a in A::ALL {
                for p in [P::Landlord, P::Association] {
                    let expected = match (s, a, p) {
                        (S::Proposed, A::Accept, P::Association) => Some(S::Active),
                        (S::Proposed, A::Decline, P::Association) => Some(S::Declined),
                        (S::Proposed, A::Terminate, P::Landlord) => Some(S::Terminated),
                        (S::Active, A::Terminate, _) => Some(S::Terminated),
                        _ => None,
                    };
                    match (agreement_transition(*s, *a, p), expected) {
                        (Ok(to), Some(e)) => {
                            assert_eq!(to, e);
                            allowed += 1;
                        }
                        (Err(now), None) => assert!(!now.contains(a), "{s} {a} {p:?}"),
                        (got, e) => panic!("{s} {a} {p:?}: {got:?}, expected {e:?}"),
                    }
                }
            }
        }
        assert_eq!(allowed, 5);
    }

    #[test]
    fn every_proposal_transition() {
        use ProposalAction as A;
        use ProposalStatus as S;
        let mut allowed = 0;
        for s in S::ALL {
            for a in A::ALL {
                for sublet in [false, true] {
                    let expected = match (s, a) {
                        (S::Proposed, A::Accept) => Some(S::Accepted),
                        (S::Proposed, A::Decline) => Some(S::Declined),
                        (S::Proposed, A::Withdraw) => Some(S::Withdrawn),
                        (S::Accepted, A::Withdraw) if !sublet => Some(S::Withdrawn),
                        _ => None,
                    };
                    assert_eq!(
                        proposal_transition(*s, *a, sublet),
                        expected,
                        "{s} {a} {sublet}"
                    );
                    allowed += usize::from(expected.is_some());
                    for p in [Party::Landlord, Party::Association] {
                        let mine = matches!(
                            (a, p),
                            (A::Accept | A::Decline, Party::Landlord)
                                | (A::Withdraw, Party::Association)
                        );
                        assert_eq!(
                            proposal_actions(*s, p, sublet).contains(a),
                            mine && expected.is_some(),
                            "{s} {a} {p:?} {sublet}"
                        );
                    }
                }
            }
        }
        assert_eq!(allowed, 7);
    }
}
