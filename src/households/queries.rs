//! Every statement on households and their read journal: the only place of the domain
//! that names diesel and `crate::schema` (the journal's and the sharings' own statements
//! aside: [`super::journal`], [`super::sharing`]).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::journal::JournalEntry;
use super::model::{
    HouseholdFilters, HouseholdRow, HouseholdSummary, HouseholdType, HousingSituation,
};
use crate::db::{Keyset, Page};
use crate::error::ApiError;
use crate::schema::{households, referrals, special_category_reads};

/// A household to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = households)]
pub struct NewHouseholdRow<'a> {
    pub id: Uuid,
    pub created_by_organisation_id: Uuid,
    pub created_by_account_id: Uuid,
    pub department_code: &'a str,
    pub partner_reference: Option<&'a str>,
    pub head_last_name: &'a str,
    pub head_first_names: &'a str,
    pub head_birth_date: NaiveDate,
    pub identity_key: &'a str,
    pub members: serde_json::Value,
    pub household_type: HouseholdType,
    pub adults: i32,
    pub children: i32,
    pub monthly_resources_cents: i64,
    pub resource_kinds: serde_json::Value,
    pub housing_situation: HousingSituation,
    pub priority_grounds: serde_json::Value,
    pub special_grounds: serde_json::Value,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: NewHouseholdRow<'_>,
) -> Result<HouseholdRow, ApiError> {
    Ok(diesel::insert_into(households::table)
        .values(new)
        .returning(HouseholdRow::as_returning())
        .get_result(conn)
        .await?)
}

/// What a change of a household writes (every field, merged with what is stored).
#[derive(Debug, AsChangeset)]
#[diesel(table_name = households, treat_none_as_null = true)]
pub struct HouseholdChanges {
    pub partner_reference: Option<String>,
    pub head_last_name: String,
    pub head_first_names: String,
    pub head_birth_date: NaiveDate,
    pub identity_key: String,
    pub members: serde_json::Value,
    pub household_type: HouseholdType,
    pub adults: i32,
    pub children: i32,
    pub monthly_resources_cents: i64,
    pub resource_kinds: serde_json::Value,
    pub housing_situation: HousingSituation,
    pub priority_grounds: serde_json::Value,
    pub special_grounds: serde_json::Value,
    pub department_code: String,
}

/// Writes the changes and bumps the household's version.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &HouseholdChanges,
) -> Result<HouseholdRow, ApiError> {
    Ok(diesel::update(households::table.find(id))
        .set((
            changes,
            crate::db::bump(households::version, households::updated_at),
        ))
        .returning(HouseholdRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Records a consent (in force again if it was withdrawn) and bumps the version.
pub async fn record_consent(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    given_on: NaiveDate,
    scope: Option<String>,
    recorded_by: Uuid,
) -> Result<HouseholdRow, ApiError> {
    Ok(diesel::update(households::table.find(id))
        .set((
            households::consent_given_on.eq(Some(given_on)),
            households::consent_scope.eq(scope),
            households::consent_recorded_by.eq(Some(recorded_by)),
            households::consent_withdrawn_at.eq(None::<DateTime<Utc>>),
            crate::db::bump(households::version, households::updated_at),
        ))
        .returning(HouseholdRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Withdraws the consent at `at` and bumps the version.
pub async fn withdraw_consent(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<HouseholdRow, ApiError> {
    Ok(diesel::update(households::table.find(id))
        .set((
            households::consent_withdrawn_at.eq(Some(at)),
            crate::db::bump(households::version, households::updated_at),
        ))
        .returning(HouseholdRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The organisations party to the household's referrals, referrer and addressee.
pub async fn referral_parties(
    conn: &mut AsyncPgConnection,
    household: Uuid,
) -> Result<Vec<(Uuid, Uuid)>, ApiError> {
    Ok(referrals::table
        .filter(referrals::household_id.eq(household))
        .select((
            referrals::referrer_organisation_id,
            referrals::addressee_organisation_id,
        ))
        .load(conn)
        .await?)
}

pub type ListQuery = households::BoxedQuery<
    'static,
    diesel::pg::Pg,
    diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<HouseholdRow, diesel::pg::Pg>>,
>;

/// A page of the households the organisation sees, as filtered; `name` is already
/// normalised (the identity key starts with the normalised last name; a name with no
/// letter or digit matches the last names that have none either).
pub fn list(org: Uuid, filters: &HouseholdFilters, name: Option<String>, page: Page) -> ListQuery {
    let mut q = households::table
        .filter(visible_to(org))
        .select(HouseholdRow::as_select())
        .into_boxed();
    if let Some(name) = name {
        let pattern = if name.is_empty() {
            "|%".to_string()
        } else {
            format!("{name}%")
        };
        q = q.filter(households::identity_key.like(pattern));
    }
    if let Some(date) = filters.birth_date {
        q = q.filter(households::head_birth_date.eq(date));
    }
    if let Some(since) = filters.updated_since {
        q = q.filter(households::updated_at.ge(since));
    }
    q.keyset(households::id, page)
}

/// A page of the household's journal of special-category reads, oldest first.
pub async fn access_log(
    conn: &mut AsyncPgConnection,
    household: Uuid,
    page: Page,
) -> Result<Vec<JournalEntry>, ApiError> {
    Ok(special_category_reads::table
        .filter(special_category_reads::household_id.eq(household))
        .select((
            special_category_reads::id,
            special_category_reads::account_id,
            special_category_reads::organisation_id,
            special_category_reads::categories,
            special_category_reads::request_id,
            special_category_reads::read_at,
        ))
        .into_boxed()
        .keyset(special_category_reads::id, page)
        .load(conn)
        .await?)
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

/// The département of the household `id` (its territory).
pub async fn department_code_of(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<String, ApiError> {
    Ok(households::table
        .find(id)
        .select(households::department_code)
        .first(conn)
        .await?)
}
