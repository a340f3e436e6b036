//! The types of households: what is stored, what each party is shown, and what partners
//! send (a new household, its changes, a consent, the list's filters).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

use crate::fields::validate_not_blank;
use crate::http::patch;
use crate::schema::households;
use crate::text_enum;

text_enum! {
    /// The household's composition.
    pub enum HouseholdType {
        SinglePerson = "single_person",
        Couple = "couple",
        SingleParentFamily = "single_parent_family",
        Family = "family",
    }
}

text_enum! {
    /// Kinds of monthly resources.
    pub enum ResourceKind {
        Salary = "salary",
        /// Revenu de solidarité active.
        Rsa = "rsa",
        /// Allocation aux adultes handicapés.
        Aah = "aah",
        Pension = "pension",
        Unemployment = "unemployment",
        Other = "other",
    }
}

text_enum! {
    /// Where the household lives now.
    pub enum HousingSituation {
        Street = "street",
        EmergencyShelter = "emergency_shelter",
        Hotel = "hotel",
        HostedByRelatives = "hosted_by_relatives",
        TemporaryHousing = "temporary_housing",
        OrdinaryHousingUnderThreat = "ordinary_housing_under_threat",
        OrdinaryHousing = "ordinary_housing",
    }
}

text_enum! {
    /// Priority grounds that are not special categories of personal data.
    pub enum PriorityGround {
        /// Recognised as a priority by a DALO mediation commission.
        DaloRecognised = "dalo_recognised",
        /// A priority public of the departmental plan (PDALPD).
        Pdalpd = "pdalpd",
        LeavingShelter = "leaving_shelter",
        /// Threatened with eviction, or evicted.
        EvictionThreat = "eviction_threat",
        /// Under 25 with an institutional past (child welfare).
        YoungChildWelfarePast = "young_child_welfare_past",
        /// Beneficiary of international protection.
        Refugee = "refugee",
    }
}

text_enum! {
    /// **GDPR special categories** (Art. 9 and 10): health, offences, violence. Shown only to
    /// the organisation that recorded them and to the non-landlord parties of a referral;
    /// every response carrying them is recorded in the household's read journal.
    pub enum SpecialGround {
        /// Health: psychiatric disorder.
        PsychiatricDisorder = "psychiatric_disorder",
        /// Offences: leaving prison or under judicial supervision.
        JusticeInvolvement = "justice_involvement",
        /// Violence: victim of domestic violence.
        DomesticViolenceVictim = "domestic_violence_victim",
    }
}

impl SpecialGround {
    /// The GDPR category the journal records.
    pub fn category(&self) -> &'static str {
        match self {
            SpecialGround::PsychiatricDisorder => "health",
            SpecialGround::JusticeInvolvement => "offences",
            SpecialGround::DomesticViolenceVictim => "violence",
        }
    }
}

text_enum! {
    /// A member's relation to the head of household.
    pub enum Relation {
        Spouse = "spouse",
        Child = "child",
        Parent = "parent",
        Sibling = "sibling",
        Other = "other",
    }
}

/// Another member of the household.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// Their relation to the head of household.
    pub relation: Relation,
    #[validate(range(min = 1900, max = 2100))]
    #[schema(minimum = 1900, maximum = 2100, example = 2015)]
    /// Their year of birth (not the date: no more than the household's make-up needs).
    pub birth_year: i32,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = households)]
pub struct HouseholdRow {
    pub id: Uuid,
    pub created_by_organisation_id: Uuid,
    pub created_by_account_id: Uuid,
    pub partner_reference: Option<String>,
    pub head_last_name: String,
    pub head_first_names: String,
    pub head_birth_date: NaiveDate,
    pub identity_key: String,
    pub members: serde_json::Value,
    pub household_type: HouseholdType,
    /// Adults, the head included.
    pub adults: i32,
    /// Children (minors).
    pub children: i32,
    pub monthly_resources_cents: i64,
    pub resource_kinds: serde_json::Value,
    pub housing_situation: HousingSituation,
    pub priority_grounds: serde_json::Value,
    pub special_grounds: serde_json::Value,
    pub consent_given_on: Option<NaiveDate>,
    pub consent_scope: Option<String>,
    pub consent_recorded_by: Option<Uuid>,
    pub consent_withdrawn_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub department_code: String,
}

impl HouseholdRow {
    pub fn special(&self) -> Vec<SpecialGround> {
        serde_json::from_value(self.special_grounds.clone()).unwrap_or_default()
    }

    /// Consent to sharing is recorded and not withdrawn.
    pub fn consent_in_force(&self) -> bool {
        self.consent_given_on.is_some() && self.consent_withdrawn_at.is_none()
    }
}

/// The head of household.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeadOfHousehold {
    pub last_name: String,
    pub first_names: String,
    pub birth_date: NaiveDate,
}

/// Consent to sharing the household's data with other organisations.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Consent {
    /// When the household gave it.
    pub given_on: NaiveDate,
    /// What it covers, in the household's words as recorded.
    pub scope: Option<String>,
    /// The account that recorded it.
    pub recorded_by: Option<Uuid>,
    /// When it was withdrawn; from then on no new sharing.
    pub withdrawn_at: Option<DateTime<Utc>>,
}

/// A household, as the caller's organisation may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5d0-0000-7000-8000-000000000001", "created_by_organisation_id": "0193a5c2-7d1e-7b3a-9c4f-2f0e8d6b1a22",
    "partner_reference": "DOS-2026-0042",
    "head": {"last_name": "Exemple", "first_names": "Alice", "birth_date": "1990-04-12"},
    "members": [{"relation": "child", "birth_year": 2015}, {"relation": "child", "birth_year": 2018}],
    "household_type": "single_parent_family", "adults": 1, "children": 2,
    "monthly_resources_cents": 118000, "resource_kinds": ["rsa"],
    "housing_situation": "ordinary_housing_under_threat", "priority_grounds": ["eviction_threat"],
    "special_category_grounds": [], "consent": {"given_on": "2026-11-02", "scope": "eviction prevention", "recorded_by": null, "withdrawn_at": null},
    "department_code": "53", "version": 1, "created_at": "2026-11-22T18:51:05Z", "updated_at": "2026-11-22T18:51:05Z"
}))]
pub struct Household {
    pub id: Uuid,
    pub created_by_organisation_id: Uuid,
    /// The creating partner's own reference: shown to the creator only (absent for any
    /// other organisation), `null` when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub partner_reference: Option<Option<String>>,
    pub head: HeadOfHousehold,
    pub members: Vec<Member>,
    pub household_type: HouseholdType,
    /// Adults, the head included.
    pub adults: i32,
    /// Children (minors).
    pub children: i32,
    /// Monthly resources in euro cents.
    pub monthly_resources_cents: i64,
    pub resource_kinds: Vec<ResourceKind>,
    pub housing_situation: HousingSituation,
    pub priority_grounds: Vec<PriorityGround>,
    /// GDPR special categories. Absent when the caller's organisation may not see them (a
    /// landlord never does); when present, this response was recorded in the read journal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub special_category_grounds: Option<Vec<SpecialGround>>,
    /// `null` until consent is recorded.
    pub consent: Option<Consent>,
    /// The household's territory: the département where it lives or is to be housed. A
    /// measure's funder covers it.
    pub department_code: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Of a household, what a landlord needs to let a unit: the head's name, the composition
/// and the resources (never the grounds, the situation or the head's birth date). Embedded
/// in proposals and sub-leases for both parties.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5d0-0000-7000-8000-000000000001", "last_name": "Exemple", "first_names": "Alice",
    "household_type": "single_parent_family", "adults": 1, "children": 2,
    "members": [{"relation": "child", "birth_year": 2015}],
    "monthly_resources_cents": 118000, "resource_kinds": ["rsa"]
}))]
pub struct HouseholdSummary {
    pub id: Uuid,
    pub last_name: String,
    pub first_names: String,
    pub household_type: HouseholdType,
    /// Adults, the head included.
    pub adults: i32,
    /// Children (minors).
    pub children: i32,
    pub members: Vec<Member>,
    /// Monthly resources in euro cents.
    pub monthly_resources_cents: i64,
    pub resource_kinds: Vec<ResourceKind>,
}

impl From<HouseholdRow> for HouseholdSummary {
    fn from(row: HouseholdRow) -> Self {
        HouseholdSummary {
            id: row.id,
            last_name: row.head_last_name,
            first_names: row.head_first_names,
            household_type: row.household_type,
            adults: row.adults,
            children: row.children,
            members: serde_json::from_value(row.members).unwrap_or_default(),
            monthly_resources_cents: row.monthly_resources_cents,
            resource_kinds: serde_json::from_value(row.resource_kinds).unwrap_or_default(),
        }
    }
}

/// What a viewer is entitled to of a household.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entitlement {
    pub is_creator: bool,
    pub special_categories: bool,
}

impl Household {
    pub fn view(row: HouseholdRow, entitlement: Entitlement) -> Household {
        let special = row.special();
        Household {
            id: row.id,
            created_by_organisation_id: row.created_by_organisation_id,
            partner_reference: if entitlement.is_creator {
                Some(row.partner_reference)
            } else {
                None
            },
            head: HeadOfHousehold {
                last_name: row.head_last_name,
                first_names: row.head_first_names,
                birth_date: row.head_birth_date,
            },
            members: serde_json::from_value(row.members).unwrap_or_default(),
            household_type: row.household_type,
            adults: row.adults,
            children: row.children,
            monthly_resources_cents: row.monthly_resources_cents,
            resource_kinds: serde_json::from_value(row.resource_kinds).unwrap_or_default(),
            housing_situation: row.housing_situation,
            priority_grounds: serde_json::from_value(row.priority_grounds).unwrap_or_default(),
            special_category_grounds: entitlement.special_categories.then_some(special),
            consent: row.consent_given_on.map(|given_on| Consent {
                given_on,
                scope: row.consent_scope,
                recorded_by: row.consent_recorded_by,
                withdrawn_at: row.consent_withdrawn_at,
            }),
            department_code: row.department_code,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub fn validate_birth_date(date: &NaiveDate) -> Result<(), ValidationError> {
    let today = crate::calendar::today();
    if *date > today {
        Err(ValidationError::new("in_future").with_message("birth date is in the future".into()))
    } else if *date < NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date") {
        Err(ValidationError::new("too_old").with_message("birth date is before 1900".into()))
    } else {
        Ok(())
    }
}

/// The head of household, as sent.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHead {
    #[validate(length(min = 1, max = 100), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub last_name: String,
    #[validate(length(min = 1, max = 100), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub first_names: String,
    /// Not in the future.
    #[validate(custom(function = "validate_birth_date"))]
    pub birth_date: NaiveDate,
}

/// Changes to the head of household, merged into it (RFC 7396): what is absent stays. None
/// may be `null`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"last_name": "Exemple-Martin"}))]
pub struct HeadPatch {
    #[validate(length(min = 1, max = 100), custom(function = "validate_not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 100, pattern = "\\S")]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub last_name: Option<String>,
    #[validate(length(min = 1, max = 100), custom(function = "validate_not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 100, pattern = "\\S")]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub first_names: Option<String>,
    /// Not in the future.
    #[validate(custom(function = "validate_birth_date"))]
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub birth_date: Option<NaiveDate>,
}

/// A new household.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "partner_reference": "DOS-2026-0042",
    "head": {"last_name": "Exemple", "first_names": "Alice", "birth_date": "1990-04-12"},
    "members": [{"relation": "child", "birth_year": 2015}, {"relation": "child", "birth_year": 2018}],
    "household_type": "single_parent_family", "adults": 1, "children": 2,
    "monthly_resources_cents": 118000, "resource_kinds": ["rsa"],
    "housing_situation": "ordinary_housing_under_threat", "priority_grounds": ["eviction_threat"],
    "special_category_grounds": []
}))]
pub struct NewHousehold {
    /// Your own reference for this household.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub partner_reference: Option<String>,
    #[validate(nested)]
    pub head: NewHead,
    /// The other members.
    #[validate(length(max = 20), nested)]
    #[schema(max_items = 20)]
    #[serde(default)]
    pub members: Vec<Member>,
    pub household_type: HouseholdType,
    /// Adults, the head included: at least one.
    #[validate(range(min = 1, max = 20))]
    #[schema(minimum = 1, maximum = 20)]
    pub adults: i32,
    /// Children (minors).
    #[validate(range(min = 0, max = 30))]
    #[schema(minimum = 0, maximum = 30)]
    pub children: i32,
    /// Monthly resources in euro cents, not negative.
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub monthly_resources_cents: i64,
    #[serde(default)]
    #[validate(length(max = 6))]
    #[schema(max_items = 6)]
    pub resource_kinds: Vec<ResourceKind>,
    pub housing_situation: HousingSituation,
    #[serde(default)]
    #[validate(length(max = 6))]
    #[schema(max_items = 6)]
    pub priority_grounds: Vec<PriorityGround>,
    /// GDPR special categories (see `SpecialGround`).
    #[serde(default)]
    #[validate(length(max = 3))]
    #[schema(max_items = 3)]
    pub special_category_grounds: Vec<SpecialGround>,
    /// The household's territory: the département where it lives or is to be housed (a
    /// measure's funder covers it); default: your organisation's.
    #[validate(custom(function = "crate::identity::requests::validate_department_code"))]
    #[schema(pattern = "^(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-8])$")]
    pub department_code: Option<String>,
}

/// Changes to a household, as a JSON Merge Patch (RFC 7396): an absent field stays as it
/// is; `null` clears `partner_reference` and is refused (422 `not_nullable`) elsewhere;
/// `head` is merged field by field; a list replaces the list. Grounds and resource kinds are
/// sets: the same items in another order are no change. Sending what is already stored
/// changes nothing: same version, no event. A head changed to one your organisation already
/// sees in another household is a 409 with its `existing_id`, as on creation.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"housing_situation": "emergency_shelter", "monthly_resources_cents": 95000, "partner_reference": null}))]
pub struct HouseholdPatch {
    /// Your own reference; `null` removes it.
    #[validate(length(min = 1, max = 100))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100)]
    #[serde(default, deserialize_with = "patch::nullable")]
    pub partner_reference: Option<Option<String>>,
    #[validate(nested)]
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub head: Option<HeadPatch>,
    /// The other members, all of them (`[]`: none).
    #[validate(length(max = 20), nested)]
    #[schema(nullable = false, max_items = 20)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub members: Option<Vec<Member>>,
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub household_type: Option<HouseholdType>,
    #[validate(range(min = 1, max = 20))]
    #[schema(nullable = false, minimum = 1, maximum = 20)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub adults: Option<i32>,
    #[validate(range(min = 0, max = 30))]
    #[schema(nullable = false, minimum = 0, maximum = 30)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub children: Option<i32>,
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(nullable = false, minimum = 0, maximum = 100_000_000)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub monthly_resources_cents: Option<i64>,
    /// All of them (`[]`: none).
    #[validate(length(max = 6))]
    #[schema(nullable = false, max_items = 6)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub resource_kinds: Option<Vec<ResourceKind>>,
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub housing_situation: Option<HousingSituation>,
    /// All of them (`[]`: none).
    #[validate(length(max = 6))]
    #[schema(nullable = false, max_items = 6)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub priority_grounds: Option<Vec<PriorityGround>>,
    /// All of them (`[]`: none).
    #[validate(length(max = 3))]
    #[schema(nullable = false, max_items = 3)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub special_category_grounds: Option<Vec<SpecialGround>>,
    /// The household's territory (the household moved to another département).
    #[validate(custom(function = "crate::identity::requests::validate_department_code"))]
    #[schema(
        nullable = false,
        pattern = "^(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-8])$"
    )]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub department_code: Option<String>,
}

/// Consent to sharing, as the household gave it.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"given_on": "2026-11-02", "scope": "sharing with the operators of an eviction-prevention measure"}))]
pub struct NewConsent {
    /// Not in the future.
    #[validate(custom(function = "crate::calendar::validate_not_future"))]
    pub given_on: NaiveDate,
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    pub scope: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HouseholdFilters {
    /// The head's last name, or its beginning (accents, case and spaces ignored).
    #[param(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// The head's birth date.
    pub birth_date: Option<NaiveDate>,
    /// Only households changed at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
}
