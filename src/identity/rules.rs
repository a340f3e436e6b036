//! Field rules of partner identity: plain functions, unit-tested.

use crate::error::FieldError;
use crate::identity::model::{
    Account, AccountKind, AccountRow, CommissionKind, OrganisationKind, Role, Scope,
};

/// A SIRET is 14 digits whose Luhn sum is a multiple of 10; La Poste's establishments
/// (SIREN 356 000 000), too many for the Luhn key, may instead have a digit sum that is a
/// multiple of 5 (INSEE's rule for SIRENE).
pub fn siret_is_valid(siret: &str) -> bool {
    if siret.len() != 14 || !siret.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits: Vec<u32> = siret.bytes().map(|b| (b - b'0') as u32).collect();
    // La Poste's establishments are valid under either rule: its head office,
    // 356 000 000 00048, passes Luhn and not the digit sum.
    luhn(&digits)
        || (siret.starts_with("356000000") && digits.iter().sum::<u32>().is_multiple_of(5))
}

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Département codes: 01–95 (20 excluded: Corsica is 2A and 2B), 971–978 (the overseas départements, Saint-Pierre-et-Miquelon, Saint-Barthélemy, Saint-Martin).
pub fn department_code_is_valid(code: &str) -> bool {
    match code {
        "2A" | "2B" => true,
        _ if code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit()) => {
            matches!(code.parse::<u32>(), Ok(n) if (1..=95).contains(&n) && n != 20)
        }
        _ if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) => {
            matches!(code.parse::<u32>(), Ok(n) if (971..=978).contains(&n))
        }
        _ => false,
    }
}

pub const DEPARTMENT_CODE_PATTERN: &str = "^(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-8])$";
pub const SIRET_PATTERN: &str = "^[0-9]{14}$";

pub fn check_siret(field: &str, siret: &str, errors: &mut Vec<FieldError>) {
    if siret.len() != 14 || !siret.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(FieldError::new(
            field,
            "format",
            "SIRET must be exactly 14 digits",
        ));
    } else if siret.starts_with("000000000") {
        // Passes the check digit (every digit is 0) but names no one: INSEE never
        // attributes the SIREN 000 000 000.
        errors.push(FieldError::new(
            field,
            "not_attributed",
            "no company has the SIREN 000 000 000",
        ));
    } else if !siret_is_valid(siret) {
        errors.push(FieldError::new(
            field,
            "check_digit",
            "SIRET check digit is wrong",
        ));
    }
}

pub fn check_department_code(field: &str, code: &str, errors: &mut Vec<FieldError>) {
    if !department_code_is_valid(code) {
        errors.push(FieldError::new(
            field,
            "department_code",
            "département code must be 01 to 95, 2A, 2B or 971 to 978",
        ));
    }
}

/// Emails are compared without regard to case.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The scopes a partner system may not hold under its role (`scopes[i]`, `beyond_role`):
/// stored, they would stay hidden until the role is raised.
pub fn scopes_beyond_role(role: Role, scopes: &[Scope]) -> Vec<FieldError> {
    let allowed = role_scopes(role);
    scopes
        .iter()
        .enumerate()
        .filter(|(_, s)| !allowed.contains(s))
        .map(|(i, s)| {
            FieldError::new(
                format!("scopes[{i}]"),
                "beyond_role",
                format!("a partner system of role {role} does not hold {s}"),
            )
        })
        .collect()
}

/// The scopes a role allows at most.
pub fn role_scopes(role: Role) -> Vec<Scope> {
    use Scope::*;
    match role {
        // The platform's operators manage partners, never cases.
        // They read the measure catalogue (`referrals:read`) to manage its national kinds.
        Role::PlatformAdmin => vec![
            OrganisationsRead,
            AccountsRead,
            AccountsWrite,
            EventsRead,
            ReferralsRead,
            CatalogueWrite,
        ],
        Role::Admin => Scope::ALL.to_vec(),
        Role::Coordinator | Role::Worker => vec![
            OrganisationsRead,
            AccountsRead,
            EventsRead,
            HouseholdsRead,
            HouseholdsWrite,
            ReferralsRead,
            ReferralsWrite,
            HousingRead,
            HousingWrite,
            MeasuresRead,
            MeasuresWrite,
            ProgrammesWrite,
            // For the organisation's partner systems (a person needs the admin role).
            WebhooksRead,
            WebhooksWrite,
        ],
        Role::Viewer => vec![
            OrganisationsRead,
            AccountsRead,
            EventsRead,
            HouseholdsRead,
            ReferralsRead,
            HousingRead,
            MeasuresRead,
        ],
    }
}

/// What a token of this account carries: a person gets every scope of its role; a partner
/// system gets the scopes it was granted, within its role's.
pub fn effective_scopes(kind: AccountKind, role: Role, granted: &[Scope]) -> Vec<Scope> {
    let allowed = role_scopes(role);
    let mut scopes: Vec<Scope> = match kind {
        // Webhooks are an organisation's set-up: among people, its admins'.
        AccountKind::Person if role != Role::Admin => allowed
            .into_iter()
            .filter(|s| !matches!(s, Scope::WebhooksRead | Scope::WebhooksWrite))
            .collect(),
        AccountKind::Person => allowed,
        AccountKind::System => granted
            .iter()
            .copied()
            .filter(|s| allowed.contains(s))
            .collect(),
    };
    scopes.sort_by_key(|s| s.as_str());
    scopes.dedup();
    scopes
}

/// Roles an organisation's account may be given (never `platform_admin`).
pub fn assignable_role(role: Role) -> bool {
    role != Role::PlatformAdmin
}

/// An account as the API shows it: the scopes are those its tokens carry.
impl From<AccountRow> for Account {
    fn from(r: AccountRow) -> Self {
        let scopes = effective_scopes(r.kind, r.role, &r.scope_list());
        Account {
            id: r.id,
            organisation_id: r.organisation_id,
            kind: r.kind,
            role: r.role,
            name: r.name,
            email: r.email,
            client_id: r.client_id,
            scopes,
            active: r.active,
            deactivated_at: r.deactivated_at,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The field errors of a list of commissions for an organisation of `kind`: each once, and
/// only a department or a State service holds any.
pub fn commission_errors(
    kind: OrganisationKind,
    commissions: &[CommissionKind],
) -> Vec<crate::error::FieldError> {
    use crate::error::FieldError;
    let mut errors = Vec::new();
    for (i, c) in commissions.iter().enumerate() {
        let field = format!("commissions[{i}]");
        if commissions[..i].contains(c) {
            errors.push(FieldError::new(field, "duplicate", "each commission once"));
        } else if !matches!(
            kind,
            OrganisationKind::Department | OrganisationKind::StateService
        ) {
            errors.push(FieldError::new(
                field,
                "not_a_commission_kind",
                format!("a commission is held by a department or a State service, not by an organisation of kind {kind}"),
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siret_check_digit() {
        // Synthetic numbers built to satisfy (or break) the Luhn rule.
        assert!(siret_is_valid("73282932000074"));
        assert!(siret_is_valid("12345678200010"));
        assert!(!siret_is_valid("12345678200011"));
        assert!(!siret_is_valid("1234567820001"));
        assert!(!siret_is_valid("1234567820001A"));
        // La Poste: digit sum multiple of 5.
        assert!(siret_is_valid("35600000000001"));
        assert!(!siret_is_valid("35600000000002"));
        // La Poste's head office: Luhn, not the digit sum.
        assert!(siret_is_valid("35600000000048"));
    }

    #[test]
    fn department_codes() {
        let pattern = regex::Regex::new(DEPARTMENT_CODE_PATTERN).unwrap();
        for ok in [
            "01", "13", "2A", "2B", "59", "95", "971", "975", "976", "977", "978",
        ] {
            assert!(department_code_is_valid(ok), "{ok}");
            assert!(pattern.is_match(ok), "{ok}");
        }
        for bad in [
            "00", "20", "96", "970", "979", "984", "988", "2C", "1", "", "2a", "9A",
        ] {
            assert!(!department_code_is_valid(bad), "{bad}");
            assert!(!pattern.is_match(bad), "{bad}");
        }
    }
}
