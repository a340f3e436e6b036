//! Who may do what. Every authorisation decision of the API is made here, so that the rules
//! can be read (and audited) in one place.

use uuid::Uuid;

use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::identity::model::{AccountKind, CommissionKind, Mandate, OrganisationKind, Role, Scope};
#[cfg(test)]
use crate::identity::rules::effective_scopes;

/// The actions on partner identity.
#[derive(Debug, Clone)]
pub enum Action {
    /// Create an organisation.
    CreateOrganisation,
    /// Read the directory of organisations (every partner needs it to address a referral).
    ReadOrganisations,
    /// Change an organisation's details.
    UpdateOrganisation { organisation: Uuid },
    /// Say which commissions an organisation is the secretariat of: they let it share a
    /// household without consent, so only a platform admin decides it.
    DesignateCommissions,
    /// Read the accounts of an organisation.
    ReadAccounts { organisation: Uuid },
    /// Create, change, deactivate and reset the accounts of an organisation.
    ManageAccounts { organisation: Uuid },
    /// Read the event feed.
    ReadEvents,
    /// Read households (which ones: `households::visibility`).
    ReadHouseholds,
    /// Create or change households, record consent.
    WriteHouseholds,
    /// Read a household's journal of special-category reads: its creator's admins.
    ReadHouseholdJournal { creator: Uuid },
    /// Read a household's record of sharings: the admins of an organisation that sees it
    /// (which sharings: `households::sharing`), until the DPO role comes.
    ReadHouseholdSharings,
    /// Read referrals one's organisation is party to.
    ReadReferrals,
    /// Send, answer, transfer, withdraw and comment on referrals.
    WriteReferrals,
    /// Read units, agreements, proposals and sub-leases (which ones: `housing::visibility`).
    ReadHousing,
    /// Register units, act on agreements, proposals and sub-leases, record arrears.
    WriteHousing,
    /// Read the measure catalogue: every account that works on referrals or measures, and
    /// platform admins.
    ReadCatalogue,
    /// Add or change a kind of the catalogue: a national kind (`department_code` none) by a
    /// platform admin, a département's own by an admin of a department of that département
    /// (`admin_department`: the caller's organisation's, when it is a department).
    ManageMeasureKind {
        department_code: Option<String>,
        admin_department: Option<String>,
    },
    /// Read measures one's organisation is party to (which fields: `measures::service`).
    ReadMeasures,
    /// Act on measures, renewals, contacts and objectives.
    WriteMeasures,
    /// Read the programmes one's organisation funds or is funded by, and their indicators
    /// (which ones: `programmes`).
    ReadProgrammes,
    /// Create a programme and change those one's organisation funds: a department or a
    /// State service.
    ManageProgrammes,
    /// Read one's organisation's webhook endpoints and deliveries: its admins and its
    /// partner systems granted `webhooks:read`.
    ReadWebhooks,
    /// Manage one's organisation's webhook endpoints: its admins and its partner systems
    /// granted `webhooks:write`.
    ManageWebhooks,
}

fn require_scope(caller: &Caller, scope: Scope) -> Result<(), ApiError> {
    if caller.scopes.contains(&scope) {
        Ok(())
    } else {
        Err(ApiError::InsufficientScope(vec![scope.as_str().to_owned()]))
    }
}

/// Allows the action or says why not: 404 when the target belongs to an organisation the
/// caller is not part of (its existence is not revealed), 403 when the caller sees it but
/// its role or scopes do not allow the action.
pub fn authorize(caller: &Caller, action: Action) -> Result<(), ApiError> {
    let is_platform = caller.role == Role::PlatformAdmin;
    let own = |org: Uuid| is_platform || caller.organisation_id == Some(org);
    match action {
        Action::CreateOrganisation => {
            require_scope(caller, Scope::AccountsWrite)?;
            if is_platform {
                Ok(())
            } else {
                Err(ApiError::Forbidden(
                    "only a platform admin creates organisations".into(),
                ))
            }
        }
        Action::ReadOrganisations => require_scope(caller, Scope::OrganisationsRead),
        Action::DesignateCommissions => {
            require_scope(caller, Scope::AccountsWrite)?;
            if is_platform {
                Ok(())
            } else {
                Err(ApiError::Forbidden(
                    "only a platform admin says which commissions an organisation holds".into(),
                ))
            }
        }
        Action::UpdateOrganisation { organisation } => {
            require_scope(caller, Scope::OrganisationsRead)?;
            if !(is_platform || (own(organisation) && caller.role == Role::Admin)) {
                return Err(ApiError::Forbidden(
                    "only the organisation's admins or a platform admin change an organisation"
                        .into(),
                ));
            }
            require_scope(caller, Scope::AccountsWrite)
        }
        Action::ReadAccounts { organisation } => {
            if !own(organisation) {
                return Err(ApiError::NotFound);
            }
            require_scope(caller, Scope::AccountsRead)
        }
        Action::ManageAccounts { organisation } => {
            if !own(organisation) {
                return Err(ApiError::NotFound);
            }
            if !(is_platform || caller.role == Role::Admin) {
                return Err(ApiError::Forbidden(
                    "only the organisation's admins manage its accounts".into(),
                ));
            }
            require_scope(caller, Scope::AccountsWrite)
        }
        Action::ReadEvents => require_scope(caller, Scope::EventsRead),
        Action::ReadHouseholds => require_scope(caller, Scope::HouseholdsRead),
        Action::WriteHouseholds => require_scope(caller, Scope::HouseholdsWrite),
        Action::ReadHouseholdJournal { creator } => {
            require_scope(caller, Scope::HouseholdsRead)?;
            if caller.organisation_id == Some(creator) && caller.role == Role::Admin {
                Ok(())
            } else {
                Err(ApiError::Forbidden("only the admins of the organisation that created the household read its journal".into()))
            }
        }
        Action::ReadHouseholdSharings => {
            require_scope(caller, Scope::HouseholdsRead)?;
            if caller.role == Role::Admin {
                Ok(())
            } else {
                Err(ApiError::Forbidden(
                    "a household's record of sharings is read by its organisations' admins".into(),
                ))
            }
        }
        Action::ReadReferrals => {
            require_scope(caller, Scope::ReferralsRead)?;
            no_cases_for_platform(is_platform)
        }
        Action::WriteReferrals => require_scope(caller, Scope::ReferralsWrite),
        Action::ReadHousing => require_scope(caller, Scope::HousingRead),
        Action::WriteHousing => require_scope(caller, Scope::HousingWrite),
        Action::ReadCatalogue => require_scope(caller, Scope::ReferralsRead),
        Action::ManageMeasureKind {
            department_code,
            admin_department,
        } => {
            require_scope(caller, Scope::CatalogueWrite)?;
            let allowed = match department_code {
                None => is_platform,
                Some(code) => {
                    caller.role == Role::Admin
                        && caller.organisation_kind == Some(OrganisationKind::Department)
                        && admin_department.as_deref() == Some(code.as_str())
                }
            };
            if allowed {
                Ok(())
            } else {
                Err(ApiError::Forbidden(
                    "a national kind is managed by platform admins, a département's own kind by \
                     the admins of that département's department"
                        .into(),
                ))
            }
        }
        Action::ReadMeasures => require_scope(caller, Scope::MeasuresRead),
        Action::WriteMeasures => require_scope(caller, Scope::MeasuresWrite),
        Action::ReadProgrammes => {
            require_scope(caller, Scope::MeasuresRead)?;
            no_cases_for_platform(is_platform)
        }
        Action::ManageProgrammes => {
            require_scope(caller, Scope::ProgrammesWrite)?;
            no_cases_for_platform(is_platform)?;
            if funds_programmes(caller.organisation_kind) {
                Ok(())
            } else {
                Err(ApiError::Forbidden(
                    "programmes are funded by a department or a State service".into(),
                ))
            }
        }
        Action::ReadWebhooks => webhooks(caller, is_platform, Scope::WebhooksRead),
        Action::ManageWebhooks => {
            webhooks(caller, is_platform, Scope::WebhooksWrite)?;
            // An endpoint receives the organisation's feed: who may point it somewhere may
            // read that feed.
            require_scope(caller, Scope::EventsRead)
        }
    }
}

/// Whether an organisation of this kind funds programmes: a department (FSL, PDALHPD) or a
/// State service (DDETS, AVDL).
pub fn funds_programmes(kind: Option<OrganisationKind>) -> bool {
    matches!(
        kind,
        Some(OrganisationKind::Department | OrganisationKind::StateService)
    )
}

/// Whether [`authorize`] allows the action: what a resource's `allowed_actions` asks of
/// the caller (its role and its token's scopes), in the one place that decides it.
pub fn may(caller: &Caller, action: Action) -> bool {
    authorize(caller, action).is_ok()
}

/// Webhook endpoints belong to an organisation: its admins and its partner systems (with
/// the scope) manage them.
fn webhooks(caller: &Caller, is_platform: bool, scope: Scope) -> Result<(), ApiError> {
    if is_platform {
        return Err(ApiError::Forbidden(
            "webhook endpoints belong to partner organisations; a platform admin has none".into(),
        ));
    }
    if caller.kind == AccountKind::Person && caller.role != Role::Admin {
        return Err(ApiError::Forbidden(
            "webhook endpoints are managed by the organisation's admins and its partner systems"
                .into(),
        ));
    }
    require_scope(caller, scope)
}

/// Platform admins manage partners, never cases.
fn no_cases_for_platform(is_platform: bool) -> Result<(), ApiError> {
    if is_platform {
        Err(ApiError::Forbidden(
            "cases belong to partner organisations; a platform admin has none".into(),
        ))
    } else {
        Ok(())
    }
}

/// Whether the caller's organisation receives and records special-category grounds (GDPR
/// Art. 9 and 10): every partner that sees the household, except a landlord, which sees of a
/// household only what letting needs (DOMAIN.md, CONVENTIONS.md).
pub fn handles_special_categories(caller: &Caller) -> bool {
    caller.organisation_kind != Some(OrganisationKind::SocialLandlord)
}

/// The basis on which a household is shown to another organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharingBasis {
    /// The household's consent to sharing is in force.
    Consent,
    /// A commission's decision, by its secretariat.
    Mandate(Mandate),
}

/// Why a household may not be shown to another organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharingRefusal {
    /// No consent in force, and no mandate named.
    NoConsent,
    /// A mandate of a commission the sharing organisation is not the secretariat of.
    NotYourCommission(CommissionKind),
}

impl SharingRefusal {
    /// The field error's code.
    pub fn code(self) -> &'static str {
        match self {
            SharingRefusal::NoConsent => "consent_required",
            SharingRefusal::NotYourCommission(_) => "not_your_commission",
        }
    }

    pub fn message(self) -> String {
        match self {
            SharingRefusal::NoConsent => "the household's consent to sharing is not in force: \
                only a commission, under its mandate, shares a household without it (name its \
                decision in `mandate`)"
                .into(),
            SharingRefusal::NotYourCommission(c) => format!(
                "the organisation sharing the household (yours, or the referrer whose \
                 mandate a transfer carries) is not the secretariat of a {c} commission \
                 (`Organisation.commissions`): it cannot share under its mandate"
            ),
        }
    }
}

/// The one sharing rule (CONVENTIONS.md "Sharing", DOMAIN.md "Commissions and mandates"):
/// every path that shows a household to an organisation that did not see it (a referral, a
/// transfer, a proposal to a landlord, a sub-lease, a measure's funder) passes here, on
/// behalf of the organisation that shares it, which holds `commissions_held`.
///
/// A mandate, when named, must be of a commission the sharing organisation is the
/// secretariat of, and is then the basis (recorded with its decision); otherwise the
/// household's consent must be in force. Being a department or a State service is no
/// mandate.
pub fn sharing_basis(
    consent_in_force: bool,
    mandate: Option<&Mandate>,
    commissions_held: &[CommissionKind],
) -> Result<SharingBasis, SharingRefusal> {
    match mandate {
        Some(m) if commissions_held.contains(&m.commission) => Ok(SharingBasis::Mandate(m.clone())),
        Some(m) => Err(SharingRefusal::NotYourCommission(m.commission)),
        None if consent_in_force => Ok(SharingBasis::Consent),
        None => Err(SharingRefusal::NoConsent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role, org: Option<Uuid>) -> Caller {
        Caller {
            account_id: Uuid::now_v7(),
            organisation_id: org,
            organisation_kind: org.map(|_| crate::identity::model::OrganisationKind::Association),
            role,
            kind: AccountKind::Person,
            scopes: effective_scopes(AccountKind::Person, role, &[]),
            session_id: None,
        }
    }

    #[test]
    fn matrix() {
        let mine = Uuid::now_v7();
        let other = Uuid::now_v7();
        let status = |r: Result<(), ApiError>| match r {
            Ok(()) => 200,
            Err(ApiError::Forbidden(_) | ApiError::InsufficientScope(_)) => 403,
            Err(ApiError::NotFound) => 404,
            Err(e) => panic!("{e}"),
        };
        let platform = caller(Role::PlatformAdmin, None);
        assert_eq!(
            status(authorize(&platform, Action::CreateOrganisation)),
            200
        );
        assert_eq!(
            status(authorize(
                &platform,
                Action::ManageAccounts {
                    organisation: other
                }
            )),
            200
        );
        for role in [Role::Admin, Role::Coordinator, Role::Worker, Role::Viewer] {
            let c = caller(role, Some(mine));
            assert_eq!(
                status(authorize(&c, Action::CreateOrganisation)),
                403,
                "{role}"
            );
            assert_eq!(
                status(authorize(&c, Action::ReadOrganisations)),
                200,
                "{role}"
            );
            assert_eq!(
                status(authorize(&c, Action::ReadAccounts { organisation: mine })),
                200,
                "{role}"
            );
            assert_eq!(
                status(authorize(
                    &c,
                    Action::ReadAccounts {
                        organisation: other
                    }
                )),
                404,
                "{role}"
            );
            assert_eq!(
                status(authorize(
                    &c,
                    Action::ManageAccounts {
                        organisation: other
                    }
                )),
                404,
                "{role}"
            );
            assert_eq!(status(authorize(&c, Action::ReadEvents)), 200, "{role}");
            let expected = if role == Role::Admin { 200 } else { 403 };
            assert_eq!(
                status(authorize(&c, Action::ManageAccounts { organisation: mine })),
                expected,
                "{role}"
            );
            assert_eq!(
                status(authorize(
                    &c,
                    Action::UpdateOrganisation { organisation: mine }
                )),
                expected,
                "{role}"
            );
            assert_eq!(
                status(authorize(
                    &c,
                    Action::UpdateOrganisation {
                        organisation: other
                    }
                )),
                403,
                "{role}"
            );
            assert_eq!(status(authorize(&c, Action::ReadHouseholds)), 200, "{role}");
            assert_eq!(status(authorize(&c, Action::ReadReferrals)), 200, "{role}");
            let writes = if role == Role::Viewer { 403 } else { 200 };
            assert_eq!(
                status(authorize(&c, Action::WriteHouseholds)),
                writes,
                "{role}"
            );
            assert_eq!(
                status(authorize(&c, Action::WriteReferrals)),
                writes,
                "{role}"
            );
            assert_eq!(status(authorize(&c, Action::ReadHousing)), 200, "{role}");
            assert_eq!(
                status(authorize(&c, Action::WriteHousing)),
                writes,
                "{role}"
            );
            assert_eq!(
                status(authorize(
                    &c,
                    Action::ReadHouseholdJournal { creator: mine }
                )),
                expected,
                "{role}"
            );
            assert_eq!(
                status(authorize(
                    &c,
                    Action::ReadHouseholdJournal { creator: other }
                )),
                403,
                "{role}"
            );
        }
        // Webhook endpoints: an organisation's admins, and its systems granted the scopes.
        for role in [Role::Admin, Role::Coordinator, Role::Worker, Role::Viewer] {
            let c = caller(role, Some(mine));
            let expected = if role == Role::Admin { 200 } else { 403 };
            assert_eq!(
                status(authorize(&c, Action::ReadWebhooks)),
                expected,
                "{role}"
            );
            assert_eq!(
                status(authorize(&c, Action::ManageWebhooks)),
                expected,
                "{role}"
            );
        }
        let mut system = caller(Role::Worker, Some(mine));
        system.kind = AccountKind::System;
        system.scopes = effective_scopes(AccountKind::System, Role::Worker, &[Scope::WebhooksRead]);
        assert_eq!(status(authorize(&system, Action::ReadWebhooks)), 200);
        assert_eq!(status(authorize(&system, Action::ManageWebhooks)), 403);
        // Registering an endpoint also needs the feed's scope.
        system.scopes = vec![Scope::WebhooksRead, Scope::WebhooksWrite];
        assert_eq!(status(authorize(&system, Action::ManageWebhooks)), 403);
        system.scopes.push(Scope::EventsRead);
        assert_eq!(status(authorize(&system, Action::ManageWebhooks)), 200);
        assert_eq!(status(authorize(&platform, Action::ReadWebhooks)), 403);
        // A person other than an admin is not even given the scopes.
        assert!(
            !effective_scopes(AccountKind::Person, Role::Coordinator, &[])
                .contains(&Scope::WebhooksWrite)
        );
        assert!(
            effective_scopes(AccountKind::Person, Role::Admin, &[]).contains(&Scope::WebhooksWrite)
        );
        // Platform admins manage partners, never cases.
        assert_eq!(status(authorize(&platform, Action::ReadHouseholds)), 403);
        assert_eq!(status(authorize(&platform, Action::ReadReferrals)), 403);
        assert_eq!(status(authorize(&platform, Action::ReadHousing)), 403);
    }

    /// Issue 20: a department or a State service is no commission by its kind; a mandate
    /// counts only from the commission's secretariat.
    #[test]
    fn sharing_needs_consent_or_the_mandate_of_a_commission_held() {
        let m = Mandate {
            commission: CommissionKind::Ccapex,
            decision_reference: "CCAPEX-53-1".into(),
            decided_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
        };
        assert_eq!(sharing_basis(true, None, &[]), Ok(SharingBasis::Consent));
        assert_eq!(
            sharing_basis(false, None, &[CommissionKind::Ccapex]),
            Err(SharingRefusal::NoConsent)
        );
        assert_eq!(
            sharing_basis(false, Some(&m), &[CommissionKind::Ccapex]),
            Ok(SharingBasis::Mandate(m.clone()))
        );
        assert_eq!(
            sharing_basis(true, Some(&m), &[CommissionKind::Cud]),
            Err(SharingRefusal::NotYourCommission(CommissionKind::Ccapex))
        );
        assert_eq!(
            sharing_basis(false, Some(&m), &[]),
            Err(SharingRefusal::NotYourCommission(CommissionKind::Ccapex))
        );
    }

    #[test]
    fn systems_get_only_granted_scopes_within_role() {
        let s = effective_scopes(
            AccountKind::System,
            Role::Worker,
            &[Scope::EventsRead, Scope::AccountsWrite],
        );
        assert_eq!(s, vec![Scope::EventsRead]);
        let mut c = caller(Role::Admin, Some(Uuid::now_v7()));
        c.scopes = vec![Scope::EventsRead];
        assert!(matches!(
            authorize(&c, Action::ReadOrganisations),
            Err(ApiError::InsufficientScope(_))
        ));
    }
}
