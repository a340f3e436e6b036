//! The life of a referral: one pure function decides every transition.

use serde::Serialize;

use super::model::{ReferralAction, ReferralStatus};

/// Who acts on a referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The organisation that sent it.
    Referrer,
    /// The operator it was sent to.
    Addressee,
    /// The service itself (expiry, obsolescence).
    Service,
}

/// Why an action is refused: the kernel's, over referral states and actions.
pub type Refusal = crate::cases::Refusal<ReferralStatus, ReferralAction>;

fn is_open(status: ReferralStatus) -> bool {
    matches!(
        status,
        ReferralStatus::Submitted | ReferralStatus::Acknowledged
    )
}

/// Who takes an action.
fn actor_of(action: ReferralAction) -> Party {
    use ReferralAction::*;
    match action {
        Acknowledge | Accept | Decline | Transfer => Party::Addressee,
        Withdraw => Party::Referrer,
        Expire | MakeObsolete => Party::Service,
    }
}

/// The state an action leads to from this state, if any (whoever asks).
fn target(status: ReferralStatus, action: ReferralAction) -> Option<ReferralStatus> {
    use ReferralAction as A;
    use ReferralStatus as S;
    match (status, action) {
        (S::Submitted, A::Acknowledge) => Some(S::Acknowledged),
        (S::Acknowledged, A::Accept) => Some(S::Accepted),
        (S::Acknowledged, A::Decline) => Some(S::Declined),
        (s, A::Withdraw) if is_open(s) => Some(S::Withdrawn),
        (s, A::Transfer) if is_open(s) => Some(S::Transferred),
        (s, A::Expire) if is_open(s) => Some(S::Expired),
        (s, A::MakeObsolete) if is_open(s) => Some(S::Obsolete),
        _ => None,
    }
}

/// The actions a party may take now.
pub fn allowed_actions(status: ReferralStatus, party: Party) -> Vec<ReferralAction> {
    ReferralAction::ALL
        .iter()
        .copied()
        .filter(|a| actor_of(*a) == party && target(status, *a).is_some())
        .collect()
}

/// The new state, or why not.
pub fn transition(
    status: ReferralStatus,
    action: ReferralAction,
    party: Party,
) -> Result<ReferralStatus, Refusal> {
    if actor_of(action) != party {
        return Err(Refusal::NotYours);
    }
    target(status, action).ok_or_else(|| Refusal::NotNow {
        current: status,
        allowed: allowed_actions(status, party),
    })
}

/// A measure kind's code as the catalogue stores it (`^[a-z][a-z0-9_]{1,39}$`).
pub fn measure_kind_code_is_valid(code: &str) -> bool {
    let mut chars = code.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && (2..=40).contains(&code.len())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl Party {
    /// The side's name, as error messages say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Referrer => "referrer",
            Party::Addressee => "addressee",
            Party::Service => "service",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReferralAction as A;
    use ReferralStatus as S;

    /// Every (state, action, party): the table of the issue, written out.
    #[test]
    fn measure_kind_codes() {
        for ok in ["asll", "avdl", "empex", "iml", "a1", "asll_renforce"] {
            assert!(measure_kind_code_is_valid(ok), "{ok}");
        }
        let long = "a".repeat(41);
        for bad in [
            "",
            "a",
            "Asll",
            "1asll",
            "as-ll",
            "asll\0",
            "âsll",
            long.as_str(),
        ] {
            assert!(!measure_kind_code_is_valid(bad), "{bad:?}");
        }
        assert!(measure_kind_code_is_valid(&"a".repeat(40)));
    }

    #[test]
    fn every_combination() {
        let parties = [Party::Referrer, Party::Addressee, Party::Service];
        let expected = |s: S, a: A, p: Party| -> Result<S, &'static str> {
            let open = matches!(s, S::Submitted | S::Acknowledged);
            let who = match a {
                A::Acknowledge | A::Accept | A::Decline | A::Transfer => Party::Addressee,
                A::Withdraw => Party::Referrer,
                A::Expire | A::MakeObsolete => Party::Service,
            };
            if who != p {
                return Err("not yours");
            }
            match (s, a) {
                (S::Submitted, A::Acknowledge) => Ok(S::Acknowledged),
                (S::Acknowledged, A::Accept) => Ok(S::Accepted),
                (S::Acknowledged, A::Decline) => Ok(S::Declined),
                (_, A::Withdraw) if open => Ok(S::Withdrawn),
                (_, A::Transfer) if open => Ok(S::Transferred),
                (_, A::Expire) if open => Ok(S::Expired),
                (_, A::MakeObsolete) if open => Ok(S::Obsolete),
                _ => Err("not now"),
            }
        };
        let mut checked = 0;
        for s in S::ALL {
            for a in A::ALL {
                for p in parties {
                    let got = transition(*s, *a, p);
                    match (expected(*s, *a, p), got) {
                        (Ok(want), Ok(got)) => assert_eq!(want, got, "{s} {a} {p:?}"),
                        (Err("not yours"), Err(Refusal::NotYours)) => {}
                        (Err("not now"), Err(Refusal::NotNow { current, allowed })) => {
                            assert_eq!(current, *s);
                            assert!(!allowed.contains(a), "{s} {a} {p:?}");
                            for other in &allowed {
                                assert!(transition(*s, *other, p).is_ok());
                            }
                        }
                        (want, got) => panic!("{s} {a} {p:?}: expected {want:?}, got {got:?}"),
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 8 * 7 * 3);
    }

    #[test]
    fn closed_referrals_allow_nothing() {
        for s in [
            S::Accepted,
            S::Declined,
            S::Withdrawn,
            S::Transferred,
            S::Expired,
            S::Obsolete,
        ] {
            for p in [Party::Referrer, Party::Addressee, Party::Service] {
                assert!(allowed_actions(s, p).is_empty(), "{s}");
            }
        }
        assert_eq!(
            allowed_actions(S::Submitted, Party::Addressee),
            vec![A::Acknowledge, A::Transfer]
        );
        assert_eq!(
            allowed_actions(S::Acknowledged, Party::Addressee),
            vec![A::Accept, A::Decline, A::Transfer]
        );
        assert_eq!(
            allowed_actions(S::Submitted, Party::Referrer),
            vec![A::Withdraw]
        );
    }
}
