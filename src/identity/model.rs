//! Organisations and accounts: what is stored, what is shown, and their queries.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::schema::{accounts, organisations};
use crate::text_enum;

text_enum! {
    /// A commission that decides on a household by law, without its consent being the
    /// basis (DOMAIN.md "Commissions and mandates"). An organisation of kind `department` or
    /// `state_service` may be the secretariat of one or more: the platform admins say which
    /// (`Organisation.commissions`). Only such an organisation shares a household without its
    /// consent, naming the commission's decision (`Mandate`).
    pub enum CommissionKind {
        /// Commission de coordination des actions de prévention des expulsions locatives
        /// (eviction prevention).
        Ccapex = "ccapex",
        /// Commission de médiation DALO (enforceable right to housing).
        DaloMediation = "dalo_mediation",
        /// Commission unique départementale: validates the FSL's support (ASLL).
        Cud = "cud",
        /// The orientation commission of the departmental plan (PDALHPD, formerly PDALPD).
        Pdalpd = "pdalpd",
    }
}

text_enum! {
    /// What a partner organisation is in the exchange.
    pub enum OrganisationKind {
        /// A département council: funds ASLL through the FSL, runs calls for projects.
        Department = "department",
        /// A State service or commission (DDETS, SIAO, CCAPEX, DALO mediation).
        StateService = "state_service",
        /// An association: operates support measures, sub-lets housing.
        Association = "association",
        /// A social landlord: holds housing units.
        SocialLandlord = "social_landlord",
    }
}

text_enum! {
    /// A role inside an organisation; `platform_admin` belongs to no organisation.
    pub enum Role {
        /// Manages organisations and the measure catalogue of the platform.
        PlatformAdmin = "platform_admin",
        /// Manages the accounts of its organisation.
        Admin = "admin",
        /// Coordinates the organisation's cases.
        Coordinator = "coordinator",
        /// A social worker handling cases.
        Worker = "worker",
        /// Reads, never changes.
        Viewer = "viewer",
    }
}

text_enum! {
    /// A person signing in with a password, or a partner system using client credentials.
    pub enum AccountKind {
        Person = "person",
        System = "system",
    }
}

text_enum! {
    /// OAuth scopes a partner system may be granted. Persons get every scope their role allows.
    pub enum Scope {
        /// Read the directory of organisations.
        OrganisationsRead = "organisations:read",
        /// Read the accounts of one's organisation.
        AccountsRead = "accounts:read",
        /// Manage the accounts of one's organisation (admins only).
        AccountsWrite = "accounts:write",
        /// Read the event feed.
        EventsRead = "events:read",
        /// Read the households the organisation may see.
        HouseholdsRead = "households:read",
        /// Create and change households, record consent.
        HouseholdsWrite = "households:write",
        /// Read the referrals the organisation is party to.
        ReferralsRead = "referrals:read",
        /// Send referrals, answer them, comment.
        ReferralsWrite = "referrals:write",
        /// Read units, agreements, proposals and sub-leases one's organisation holds or is
        /// party to.
        HousingRead = "housing:read",
        /// Register and change units; propose, answer and end agreements, proposals and
        /// sub-leases; record rent arrears.
        HousingWrite = "housing:write",
        /// Read the support measures one's organisation operates, funds or referred, their
        /// renewals, and (the operator) their contacts and objectives.
        MeasuresRead = "measures:read",
        /// Open, start, suspend, resume, close and cancel measures; ask for and decide
        /// renewals; record contacts and objectives.
        MeasuresWrite = "measures:write",
        /// Manage the measure catalogue: national kinds (platform admins) or a
        /// département's own (its department's admins).
        CatalogueWrite = "catalogue:write",
        /// Create and change the programmes one's organisation funds (a department or a
        /// State service).
        ProgrammesWrite = "programmes:write",
        /// Read one's organisation's webhook endpoints and their deliveries (admins, and
        /// partner systems granted it).
        WebhooksRead = "webhooks:read",
        /// Register, change, test and delete one's organisation's webhook endpoints, rotate
        /// their secrets, send deliveries again (admins, and partner systems granted it with
        /// `events:read`: an endpoint receives the feed).
        WebhooksWrite = "webhooks:write",
    }
}

impl Scope {
    /// What the scope allows, as the spec's security scheme lists it.
    pub fn description(self) -> &'static str {
        match self {
            Scope::OrganisationsRead => "Read the directory of organisations",
            Scope::AccountsRead => "Read the accounts of one's organisation",
            Scope::AccountsWrite => "Manage the accounts of one's organisation (admins only); platform admins also create organisations and designate commissions",
            Scope::EventsRead => "Read the event feed",
            Scope::HouseholdsRead => "Read the households the organisation may see",
            Scope::HouseholdsWrite => "Create and change households, record consent",
            Scope::ReferralsRead => "Read the referrals the organisation is party to, and the measure catalogue",
            Scope::ReferralsWrite => "Send referrals, answer them, comment",
            Scope::HousingRead => "Read units, agreements, proposals and sub-leases one's organisation holds or is party to",
            Scope::HousingWrite => "Register and change units; propose, answer and end agreements, proposals and sub-leases; record rent arrears",
            Scope::MeasuresRead => "Read the support measures one's organisation operates, funds, referred or lets the home of, their renewals, and (the operator) their contacts and objectives; the programmes it funds or is funded by, and their indicators",
            Scope::MeasuresWrite => "Open, start, suspend, resume, close and cancel measures; ask for, decide and withdraw renewals; record, correct and remove contacts; set objectives",
            Scope::ProgrammesWrite => "Create and change the programmes one's organisation funds (a department or a State service)",
            Scope::WebhooksRead => "Read one's organisation's webhook endpoints and their deliveries (admins, and partner systems granted it)",
            Scope::WebhooksWrite => "Register, change, test and delete one's organisation's webhook endpoints, rotate their secrets, send deliveries again (admins, and partner systems granted it with events:read: an endpoint receives the feed)",
            Scope::CatalogueWrite => "Manage the measure catalogue: national kinds (platform admins) or a département's own (its department's admins)",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organisations)]
pub struct OrganisationRow {
    pub id: Uuid,
    pub kind: OrganisationKind,
    pub name: String,
    pub siret: String,
    pub department_code: String,
    pub contact_email: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub commissions: serde_json::Value,
}

impl OrganisationRow {
    /// The commissions it is the secretariat of.
    pub fn commission_list(&self) -> Vec<CommissionKind> {
        serde_json::from_value(self.commissions.clone()).unwrap_or_default()
    }
}

/// A commission's decision that a household may be shared without its consent: the
/// commission (which the sharing organisation must be the secretariat of), its decision's
/// reference and date. Recorded with each sharing it supports, for the DPO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"commission": "ccapex", "decision_reference": "CCAPEX-53-2026-0412", "decided_on": "2026-11-18"}))]
pub struct Mandate {
    /// One of `Organisation.commissions` of your organisation (`not_your_commission`).
    pub commission: CommissionKind,
    /// The decision's reference, as the commission records it.
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::fields::validate_not_blank")
    )]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub decision_reference: String,
    /// The day the commission decided: not in the future (`in_future`).
    #[validate(custom(function = "crate::calendar::validate_not_future"))]
    pub decided_on: chrono::NaiveDate,
}

/// A partner organisation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5c2-7d1e-7b3a-9c4f-2f0e8d6b1a22", "kind": "association",
    "name": "Association Habitat Solidaire de la Mayenne", "siret": "52601815908308",
    "department_code": "53", "contact_email": "contact@habitat-solidaire.example", "commissions": [],
    "version": 1, "created_at": "2026-11-22T18:51:05Z", "updated_at": "2026-11-22T18:51:05Z"
}))]
pub struct Organisation {
    pub id: Uuid,
    pub kind: OrganisationKind,
    /// The organisation's name.
    pub name: String,
    /// SIRET number: 14 digits, check digit verified.
    #[schema(pattern = "^[0-9]{14}$")]
    pub siret: String,
    /// The département where it sits: 01–19, 21–95, 2A, 2B, 971–978 (the overseas départements, Saint-Pierre-et-Miquelon, Saint-Barthélemy, Saint-Martin).
    pub department_code: String,
    /// The organisation's contact address for the exchange.
    pub contact_email: String,
    /// The commissions it is the secretariat of (a `department` or a `state_service`; set
    /// by the platform admins): it may share a household without its consent under their
    /// mandate. Empty for every other organisation.
    pub commissions: Vec<CommissionKind>,
    /// Increases at each change; sent as the `ETag`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<OrganisationRow> for Organisation {
    fn from(r: OrganisationRow) -> Self {
        let commissions = r.commission_list();
        Organisation {
            id: r.id,
            kind: r.kind,
            name: r.name,
            siret: r.siret,
            department_code: r.department_code,
            contact_email: r.contact_email,
            commissions,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: Uuid,
    pub organisation_id: Option<Uuid>,
    pub kind: AccountKind,
    pub role: Role,
    pub name: String,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_hash: Option<String>,
    pub scopes: String,
    pub active: bool,
    pub deactivated_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Moves with every change of the credentials; access tokens carry it ([`crate::auth::claims::Claims::cv`]).
    pub credentials_version: i32,
}

impl AccountRow {
    pub fn scope_list(&self) -> Vec<Scope> {
        parse_scopes(&self.scopes)
    }
}

pub fn parse_scopes(s: &str) -> Vec<Scope> {
    s.split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect()
}

pub fn join_scopes(scopes: &[Scope]) -> String {
    let mut v: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    v.sort();
    v.dedup();
    v.join(" ")
}

/// An account of an organisation: a person or a partner system. Secrets never appear here.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5c2-8a40-7c11-8e0f-3b5d2c1a9e77", "organisation_id": "0193a5c2-7d1e-7b3a-9c4f-2f0e8d6b1a22",
    "kind": "person", "role": "worker", "name": "Camille Martin",
    "email": "camille.martin@habitat-solidaire.example", "client_id": null,
    "scopes": ["accounts:read", "events:read", "organisations:read"], "active": true,
    "deactivated_at": null, "version": 1,
    "created_at": "2026-11-22T18:51:05Z", "updated_at": "2026-11-22T18:51:05Z"
}))]
pub struct Account {
    pub id: Uuid,
    /// `null` only for a platform admin.
    pub organisation_id: Option<Uuid>,
    pub kind: AccountKind,
    pub role: Role,
    /// A person's full name, or a partner system's label.
    pub name: String,
    /// A person's sign-in email (`null` for a system).
    pub email: Option<String>,
    /// A system's OAuth client id (`null` for a person).
    pub client_id: Option<String>,
    /// The scopes its tokens carry.
    pub scopes: Vec<Scope>,
    /// A deactivated account's tokens stop working at once.
    pub active: bool,
    pub deactivated_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
