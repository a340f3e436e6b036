//! The types of units, agreements and proposals: their rows, their wire shapes (what
//! partners send and are shown) and their enumerations.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::households::model::HouseholdSummary;
use crate::schema::{agreements, proposals, units};
use crate::text_enum;

mod requests;

pub use requests::*;

text_enum! {
    /// The size of a unit: a room, or T1 to T6 (number of main rooms).
    pub enum UnitType {
        Room = "room",
        T1 = "t1",
        T2 = "t2",
        T3 = "t3",
        T4 = "t4",
        T5 = "t5",
        T6 = "t6",
    }
}

text_enum! {
    /// Who owns the unit.
    pub enum OwnerKind {
        /// A social landlord (*bailleur social*).
        SocialLandlord = "social_landlord",
        /// A private owner (the unit is managed by an association under a mandate).
        PrivateOwner = "private_owner",
    }
}

text_enum! {
    /// How the unit was financed, which sets its rent ceiling and who may live in it.
    pub enum Financing {
        /// Prêt locatif aidé d'intégration: the lowest rents.
        Plai = "plai",
        /// Prêt locatif à usage social.
        Plus = "plus",
        /// Prêt locatif social.
        Pls = "pls",
        /// A private unit under an ANAH agreement (capped rent).
        AnahPrivate = "anah_private",
        /// A private unit at a free rent.
        FreePrivate = "free_private",
    }
}

text_enum! {
    /// The energy class of the unit's energy performance diagnosis (DPE), `a` (best) to `g`.
    pub enum EnergyClass {
        A = "a",
        B = "b",
        C = "c",
        D = "d",
        E = "e",
        F = "f",
        G = "g",
    }
}

text_enum! {
    /// Whether a unit can take a household.
    pub enum UnitStatus {
        /// Free: an association that sees it may propose a household.
        Available = "available",
        /// Kept for a household: a proposal was accepted, or a sub-lease is planned.
        Reserved = "reserved",
        /// Let (or sub-let).
        Occupied = "occupied",
        /// Not offered (works, sale, energy class that may not be let…).
        Unavailable = "unavailable",
    }
}

text_enum! {
    /// What an agreement (*convention*) between a landlord and an association is for.
    pub enum AgreementKind {
        /// Intermediated rental (IML): the association rents and sub-lets.
        IntermediatedRental = "intermediated_rental",
        /// Sliding lease (*bail glissant*): the lease passes to the household in time.
        SlidingLease = "sliding_lease",
        /// Management mandate (*mandat de gestion*).
        ManagementMandate = "management_mandate",
        /// Units reserved for households the association follows.
        Reservation = "reservation",
    }
}

text_enum! {
    /// Where an agreement stands.
    pub enum AgreementStatus {
        /// Sent by the landlord, not yet answered by the association.
        Proposed = "proposed",
        /// In force: the landlord attaches units, the association sees them.
        Active = "active",
        /// The association said no.
        Declined = "declined",
        /// Ended by either party (or withdrawn by the landlord before an answer).
        Terminated = "terminated",
        /// Its period is over: the day after `ends_on`, the service ends it as a termination
        /// would (its units leave it; sub-leases in progress go on).
        Expired = "expired",
    }
}

text_enum! {
    /// What a party can do to an agreement.
    pub enum AgreementAction {
        Accept = "accept",
        Decline = "decline",
        Terminate = "terminate",
    }
}

text_enum! {
    /// Where a proposal of a household for a unit stands.
    pub enum ProposalStatus {
        /// Sent by the association, waiting for the landlord.
        Proposed = "proposed",
        /// The landlord keeps the unit for the household: the unit is `reserved`.
        Accepted = "accepted",
        /// The landlord said no, with a reason.
        Declined = "declined",
        /// The association took the household back, with its reason (before an answer, or
        /// after an acceptance that no sub-lease followed): a reservation is lifted.
        Withdrawn = "withdrawn",
    }
}

text_enum! {
    /// Why a landlord declines a proposal.
    pub enum ProposalDeclineReason {
        HouseholdTooLarge = "household_too_large",
        ResourcesTooLow = "resources_too_low",
        /// Also set by the service on the unit's other proposals when one is accepted, and on its
        /// open proposals when its agreement is terminated or expires.
        UnitNoLongerAvailable = "unit_no_longer_available",
        /// Needs a comment.
        Other = "other",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = units)]
pub struct UnitRow {
    pub id: Uuid,
    pub holder_organisation_id: Uuid,
    pub owner_kind: OwnerKind,
    pub holder_reference: Option<String>,
    pub address_lines: serde_json::Value,
    pub postcode: String,
    pub commune: String,
    pub insee_code: String,
    pub unit_type: UnitType,
    pub area_m2: f64,
    pub floor: i32,
    pub lift: bool,
    pub accessible: bool,
    pub rent_cents: i64,
    pub charges_cents: i64,
    pub financing: Financing,
    pub energy_class: EnergyClass,
    pub energy_assessed_on: Option<NaiveDate>,
    pub status: UnitStatus,
    pub agreement_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A housing unit.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5f0-0000-7000-8000-000000000001", "holder_organisation_id": "0193a5c2-0000-7000-8000-0000000000dd",
    "owner_kind": "social_landlord", "holder_reference": "LOT-B12",
    "address_lines": ["12 rue des Tilleuls", "Bâtiment B"], "postcode": "71100",
    "commune": "Chalon-sur-Saône", "insee_code": "71076", "unit_type": "t2", "area_m2": 48.5,
    "floor": 2, "lift": false, "accessible": false, "rent_cents": 41000, "charges_cents": 6000,
    "financing": "plai", "energy_class": "d", "energy_assessed_on": "2024-03-01",
    "status": "available", "agreement_id": null, "version": 1,
    "created_at": "2026-11-22T18:51:05Z", "updated_at": "2026-11-22T18:51:05Z"
}))]
pub struct Unit {
    pub id: Uuid,
    /// The landlord that holds it, or the association managing a private owner's unit.
    pub holder_organisation_id: Uuid,
    pub owner_kind: OwnerKind,
    /// The holder's own reference: shown to the holder only (absent for any other
    /// organisation), `null` when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub holder_reference: Option<Option<String>>,
    /// The street address, one to three lines.
    pub address_lines: Vec<String>,
    pub postcode: String,
    pub commune: String,
    /// The commune's INSEE code (`2A`/`2B` for Corsica).
    pub insee_code: String,
    pub unit_type: UnitType,
    pub area_m2: f64,
    pub floor: i32,
    pub lift: bool,
    /// Accessible to a person with reduced mobility.
    pub accessible: bool,
    /// Monthly rent excluding charges, in cents.
    pub rent_cents: i64,
    /// Monthly charges, in cents.
    pub charges_cents: i64,
    pub financing: Financing,
    pub energy_class: EnergyClass,
    /// The date of the energy performance diagnosis.
    pub energy_assessed_on: Option<NaiveDate>,
    pub status: UnitStatus,
    /// The agreement that makes it available to an association.
    pub agreement_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Unit {
    pub fn view(row: UnitRow, viewer: Uuid) -> Unit {
        let holder = row.holder_organisation_id == viewer;
        Unit {
            id: row.id,
            holder_organisation_id: row.holder_organisation_id,
            owner_kind: row.owner_kind,
            holder_reference: holder.then_some(row.holder_reference),
            address_lines: serde_json::from_value(row.address_lines).unwrap_or_default(),
            postcode: row.postcode,
            commune: row.commune,
            insee_code: row.insee_code,
            unit_type: row.unit_type,
            area_m2: row.area_m2,
            floor: row.floor,
            lift: row.lift,
            accessible: row.accessible,
            rent_cents: row.rent_cents,
            charges_cents: row.charges_cents,
            financing: row.financing,
            energy_class: row.energy_class,
            energy_assessed_on: row.energy_assessed_on,
            status: row.status,
            agreement_id: row.agreement_id,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = agreements)]
pub struct AgreementRow {
    pub id: Uuid,
    pub landlord_organisation_id: Uuid,
    pub association_organisation_id: Uuid,
    pub kind: AgreementKind,
    pub units_covered: i32,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub programme_label: Option<String>,
    pub status: AgreementStatus,
    pub closing_comment: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An agreement (*convention*) between a landlord and an association.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5f1-0000-7000-8000-000000000001", "landlord_organisation_id": "0193a5c2-0000-7000-8000-0000000000dd",
    "association_organisation_id": "0193a5c2-0000-7000-8000-0000000000cc", "kind": "sliding_lease",
    "units_covered": 5, "units_attached": 2, "starts_on": "2026-12-01", "ends_on": "2029-11-30",
    "programme_label": "Logement d'abord Allier", "status": "active", "closing_comment": null,
    "allowed_actions": ["terminate"],
    "version": 2, "created_at": "2026-11-22T18:51:05Z", "updated_at": "2026-11-22T18:51:05Z"
}))]
pub struct Agreement {
    pub id: Uuid,
    pub landlord_organisation_id: Uuid,
    pub association_organisation_id: Uuid,
    pub kind: AgreementKind,
    /// How many units it covers, named or not yet.
    pub units_covered: i32,
    /// How many units the landlord has attached so far (never more than `units_covered`).
    pub units_attached: i64,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    /// The programme or call for projects it belongs to, if any.
    pub programme_label: Option<String>,
    pub status: AgreementStatus,
    /// The comment of a decline or termination.
    pub closing_comment: Option<String>,
    /// What the caller may do to it now: exactly the actions that would succeed (its
    /// state, your side, your role and scope).
    pub allowed_actions: Vec<AgreementAction>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

text_enum! {
    /// What can be done to a proposal: the landlord accepts or declines, the association
    /// withdraws.
    pub enum ProposalAction {
        Accept = "accept",
        Decline = "decline",
        Withdraw = "withdraw",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = proposals)]
pub struct ProposalRow {
    pub id: Uuid,
    pub unit_id: Uuid,
    pub household_id: Uuid,
    pub association_organisation_id: Uuid,
    pub landlord_organisation_id: Uuid,
    pub proposed_by_account_id: Uuid,
    pub comment: Option<String>,
    pub status: ProposalStatus,
    pub decline_reason: Option<ProposalDeclineReason>,
    pub decline_comment: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub withdrawal_reason: Option<String>,
}

/// A household proposed by an association for a unit.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5f2-0000-7000-8000-000000000001", "unit_id": "0193a5f0-0000-7000-8000-000000000001",
    "household": {"id": "0193a5d0-0000-7000-8000-000000000001", "last_name": "Exemple", "first_names": "Alice",
                  "household_type": "single_parent_family", "adults": 1, "children": 2,
                  "members": [{"relation": "child", "birth_year": 2015}],
                  "monthly_resources_cents": 118000, "resource_kinds": ["rsa"]},
    "association_organisation_id": "0193a5c2-0000-7000-8000-0000000000cc",
    "landlord_organisation_id": "0193a5c2-0000-7000-8000-0000000000dd",
    "proposed_by_account_id": "0193a5c2-0000-7000-8000-0000000000ce", "comment": "Mother and two children leaving a shelter",
    "status": "proposed", "decline_reason": null, "decline_comment": null, "withdrawal_reason": null, "allowed_actions": ["accept", "decline"],
    "version": 1, "created_at": "2026-11-22T18:51:05Z", "updated_at": "2026-11-22T18:51:05Z"
}))]
pub struct Proposal {
    pub id: Uuid,
    pub unit_id: Uuid,
    /// What the landlord needs of the household: name, composition, resources.
    pub household: HouseholdSummary,
    pub association_organisation_id: Uuid,
    /// The unit's holder, who answers.
    pub landlord_organisation_id: Uuid,
    pub proposed_by_account_id: Uuid,
    pub comment: Option<String>,
    pub status: ProposalStatus,
    pub decline_reason: Option<ProposalDeclineReason>,
    pub decline_comment: Option<String>,
    /// Why the association withdrew it.
    pub withdrawal_reason: Option<String>,
    /// What the caller may do to it now: exactly the actions that would succeed (its
    /// state, your side, your role and scope, and for `accept` a unit still available).
    pub allowed_actions: Vec<ProposalAction>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a proposal's actions depend on besides its state and the viewer's side.
#[derive(Debug, Clone, Copy)]
pub struct ProposalContext {
    /// The unit has been sub-let to the household (see `rules::proposal_transition`).
    pub sublet: bool,
    /// The unit is available: a landlord accepts a household for an available unit only.
    pub unit_available: bool,
    /// The caller's role and token may act on housing.
    pub may_write: bool,
}
