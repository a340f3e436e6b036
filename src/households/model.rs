//! Households: what is stored, what each party is shown, and who may see them.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;
use crate::schema::{households, referrals};
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

/// 409 `duplicate` (naming it) when `org` already sees a household other than `except` whose
/// head has this identity key: one household per head for an organisation. Takes a lock on
/// the key for the rest of the transaction first, so that two requests racing to create (or
/// rename into) the same head cannot both pass the check.
pub async fn refuse_duplicate_identity(
    conn: &mut AsyncPgConnection,
    org: Uuid,
    identity: &str,
    except: Option<Uuid>,
) -> Result<(), ApiError> {
    crate::db::lock_for_rule(conn, "household_identity", &format!("{org}|{identity}")).await?;
    let mut q = households::table
        .filter(households::identity_key.eq(identity))
        .filter(visible_to(org))
        .select(households::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(households::id.ne(id));
    }
    match q.first::<Uuid>(conn).await.optional()? {
        Some(existing_id) => Err(ApiError::duplicate(
            "your organisation already sees a household with this head's name and birth date",
            existing_id,
        )),
        None => Ok(()),
    }
}

/// Households an organisation may see: those it created, and those of a referral it is
/// party to (open or closed).
pub fn visible_to(
    org: Uuid,
) -> Box<dyn BoxableExpression<households::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>>
{
    let party = referrals::table
        .filter(referrals::household_id.eq(households::id))
        .filter(
            referrals::referrer_organisation_id
                .eq(org)
                .or(referrals::addressee_organisation_id.eq(org)),
        );
    Box::new(
        households::created_by_organisation_id
            .eq(org)
            .or(diesel::dsl::exists(party)),
    )
}

/// The household `id` if the organisation may see it.
pub fn visible_query(org: Uuid, id: Uuid) -> VisibleQuery {
    households::table
        .filter(households::id.eq(id))
        .filter(visible_to(org))
        .select(HouseholdRow::as_select())
}

pub type VisibleQuery = diesel::dsl::Select<
    diesel::dsl::Filter<
        diesel::dsl::Filter<households::table, diesel::dsl::Eq<households::id, Uuid>>,
        Box<
            dyn BoxableExpression<
                households::table,
                diesel::pg::Pg,
                SqlType = diesel::sql_types::Bool,
            >,
        >,
    >,
    diesel::dsl::AsSelect<HouseholdRow, diesel::pg::Pg>,
>;

/// A household the organisation may see, or 404.
pub async fn find_visible(
    conn: &mut AsyncPgConnection,
    org: Uuid,
    id: Uuid,
    for_update: bool,
) -> Result<HouseholdRow, ApiError> {
    let q = visible_query(org, id);
    Ok(if for_update {
        q.for_update().first(conn).await?
    } else {
        q.first(conn).await?
    })
}

/// The summaries of a page's households, loaded in one query.
pub struct Summaries(std::collections::HashMap<Uuid, HouseholdSummary>);

impl Summaries {
    pub async fn load(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> Result<Summaries, ApiError> {
        let rows: Vec<HouseholdRow> = households::table
            .filter(households::id.eq_any(ids))
            .select(HouseholdRow::as_select())
            .load(conn)
            .await?;
        Ok(Summaries(
            rows.into_iter()
                .map(|r| (r.id, HouseholdSummary::from(r)))
                .collect(),
        ))
    }

    /// The summary of a household the page refers to (a foreign key: always there).
    pub fn get(&self, id: Uuid) -> Result<HouseholdSummary, ApiError> {
        self.0
            .get(&id)
            .cloned()
            .ok_or_else(|| ApiError::internal(format!("household {id} is missing")))
    }
}

/// Recomputes every household's identity key with [`super::rules::identity_key`] (a data
/// migration, for keys computed by an earlier rule); returns how many changed.
pub fn rekey_identities(conn: &mut crate::db::BlockingConn) -> diesel::QueryResult<usize> {
    let rows: Vec<(Uuid, String, String, NaiveDate, String)> = diesel::RunQueryDsl::load(
        households::table.select((
            households::id,
            households::head_last_name,
            households::head_first_names,
            households::head_birth_date,
            households::identity_key,
        )),
        conn,
    )?;
    let mut changed = 0;
    for (id, last, first, birth, key) in rows {
        let new_key = super::rules::identity_key(&last, &first, birth);
        if new_key != key {
            diesel::RunQueryDsl::execute(
                diesel::update(households::table.find(id))
                    .set(households::identity_key.eq(new_key)),
                conn,
            )?;
            changed += 1;
        }
    }
    Ok(changed)
}
