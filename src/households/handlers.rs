//! `/v1/households`.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

use super::journal::{self, JournalEntry};
use super::model::{
    self, Entitlement, Household, HouseholdRow, HouseholdType, HousingSituation, Member,
    PriorityGround, ResourceKind, SpecialGround,
};
use super::rules;
use super::sharing::{self, HouseholdSharing};
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, handles_special_categories, Action};
use crate::db;
use crate::db::Keyset;
use crate::error::{ApiError, ApiResult};
use crate::events::{self, NewEvent};
use crate::http::body::ValidJson;
use crate::http::concurrency::IfMatch;
use crate::http::concurrency::IfMatchHeader;
use crate::http::extractors::{ListQuery, Query};
use crate::http::idempotency::IdempotencyHeader;
use crate::http::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::http::patch::{self, Changed};
use crate::identity::organisations::validate_not_blank;
use crate::schema::{households, special_category_reads};
use crate::state::AppState;

fn validate_birth_date(date: &NaiveDate) -> Result<(), ValidationError> {
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
    #[validate(custom(function = "crate::identity::organisations::validate_department_code"))]
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
    #[validate(custom(function = "crate::identity::organisations::validate_department_code"))]
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

fn entitlement(caller: &Caller, row: &HouseholdRow) -> Entitlement {
    let is_creator = caller.organisation_id == Some(row.created_by_organisation_id);
    // Whoever sees the household (its creator, the parties of its referrals) sees its
    // special categories, except a landlord, which never does (CONVENTIONS.md).
    Entitlement {
        is_creator,
        special_categories: handles_special_categories(caller),
    }
}

/// Shapes rows for the caller (whoever returns them journals what they carry: [`present`]
/// in a write's transaction, [`journal::load`] for reads).
fn shape(caller: &Caller, rows: Vec<HouseholdRow>) -> Vec<Household> {
    rows.into_iter()
        .map(|row| {
            let e = entitlement(caller, &row);
            Household::view(row, e)
        })
        .collect()
}

/// Shapes rows for the caller and journals every special-category datum it will receive.
async fn present(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rows: Vec<HouseholdRow>,
) -> Result<Vec<Household>, ApiError> {
    let views = shape(caller, rows);
    let reads: Vec<_> = views
        .iter()
        .filter_map(|v| Some((v.id, v.special_category_grounds.clone()?)))
        .collect();
    journal::record(conn, caller, &reads).await?;
    Ok(views)
}

fn household_response(status: StatusCode, h: &Household) -> StoredResponse {
    StoredResponse::versioned(status, h, h.version).carrying(vec![(
        h.id,
        h.special_category_grounds.clone().unwrap_or_default(),
    )])
}

/// Tells the organisations that see a household that it changed (ids only: they fetch it,
/// so each gets the fields its part allows and the read is journalled).
async fn household_event(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    event_type: &'static str,
    row: &HouseholdRow,
) -> Result<(), ApiError> {
    use crate::schema::referrals;
    let parties: Vec<(Uuid, Uuid)> = referrals::table
        .filter(referrals::household_id.eq(row.id))
        .select((
            referrals::referrer_organisation_id,
            referrals::addressee_organisation_id,
        ))
        .load(conn)
        .await?;
    let mut recipients = vec![row.created_by_organisation_id];
    for (a, b) in parties {
        recipients.push(a);
        recipients.push(b);
    }
    events::append(
        conn,
        Some(caller),
        NewEvent {
            event_type,
            subject_type: "household",
            subject_id: row.id,
            data: events::data(&crate::households::events::HouseholdEventData::from(row))?,
            recipients,
            for_platform: false,
        },
    )
    .await
}

/// Create a household
///
/// Registers a household your organisation follows. A household whose head has the same
/// last name, first names and birth date as one your organisation already sees (accents,
/// case and spaces ignored) is a duplicate: 409 with `existing_id`.
#[utoipa::path(
    tag = "households",
    operation_id = "create_household",
    request_body = NewHousehold,
    params(IdempotencyHeader),
    security(("oauth2" = ["households:write"])),
    responses(
        (status = 201, description = "Created", body = Household,
         headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new household"))),
        (status = 409, description = "A duplicate of a household you see, or the key is in use", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/households")]
pub async fn create_household(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: ValidJson<NewHousehold>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHouseholds)?;
    let org = caller.partner_organisation()?;
    let ValidJson(new, raw) = body;
    if !new.special_category_grounds.is_empty() && !handles_special_categories(&caller) {
        return Err(ApiError::Forbidden(
            "a landlord does not handle special-category grounds".into(),
        ));
    }
    let fingerprint = idempotency::fingerprint(&req, &raw);
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let identity = rules::identity_key(
                &new.head.last_name,
                &new.head.first_names,
                new.head.birth_date,
            );
            model::refuse_duplicate_identity(conn, org, &identity, None).await?;
            let department_code = match &new.department_code {
                Some(d) => d.clone(),
                None => crate::measures::catalogue::department_of(conn, org).await?,
            };
            let row: HouseholdRow = diesel::insert_into(households::table)
                .values((
                    households::id.eq(Uuid::now_v7()),
                    households::created_by_organisation_id.eq(org),
                    households::created_by_account_id.eq(caller.account_id),
                    households::department_code.eq(&department_code),
                    households::partner_reference.eq(&new.partner_reference),
                    households::head_last_name.eq(new.head.last_name.trim()),
                    households::head_first_names.eq(new.head.first_names.trim()),
                    households::head_birth_date.eq(new.head.birth_date),
                    households::identity_key.eq(&identity),
                    households::members
                        .eq(serde_json::to_value(&new.members).map_err(ApiError::internal)?),
                    households::household_type.eq(new.household_type),
                    households::adults.eq(new.adults),
                    households::children.eq(new.children),
                    households::monthly_resources_cents.eq(new.monthly_resources_cents),
                    households::resource_kinds.eq(serde_json::to_value(dedup(new.resource_kinds))
                        .map_err(ApiError::internal)?),
                    households::housing_situation.eq(new.housing_situation),
                    households::priority_grounds
                        .eq(serde_json::to_value(dedup(new.priority_grounds))
                            .map_err(ApiError::internal)?),
                    households::special_grounds
                        .eq(serde_json::to_value(dedup(new.special_category_grounds))
                            .map_err(ApiError::internal)?),
                ))
                .returning(HouseholdRow::as_returning())
                .get_result(conn)
                .await?;
            household_event(conn, &caller, "household.created", &row).await?;
            let id = row.id;
            let view = present(conn, &caller, vec![row]).await?.remove(0);
            Ok(household_response(StatusCode::CREATED, &view)
                .header("location", format!("/v1/households/{id}")))
        },
    )
    .await
}

fn dedup<T: PartialEq + Copy>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Get a household
///
/// The household as your organisation may see it. When the response carries
/// special-category grounds, the read is recorded in the household's journal.
#[utoipa::path(
    tag = "households",
    operation_id = "get_household",
    params(("id" = Uuid, Path, description = "The household's id")),
    security(("oauth2" = ["households:read"])),
    responses((status = 200, description = "The household", body = Household,
               headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/households/{id}")]
pub async fn get_household(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHouseholds)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    let mut conn = db::conn(&state.pool).await?;
    let rows = journal::load(&mut conn, &caller, model::visible_query(org, id), "id", 1).await?;
    let view = shape(&caller, rows).pop().ok_or(ApiError::NotFound)?;
    Ok(household_response(StatusCode::OK, &view).into_response(false))
}

/// List households
///
/// The households your organisation may see: those it created and those of a referral it
/// is party to. Filter by the head's name and birth date, or by change time to sync.
#[utoipa::path(
    tag = "households",
    operation_id = "list_households",
    params(HouseholdFilters, PageParams),
    security(("oauth2" = ["households:read"])),
    responses((status = 200, description = "A page of households", body = PageOf<Household>))
)]
#[get("/households")]
pub async fn list_households(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<HouseholdFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadHouseholds)?;
    let org = caller.partner_organisation()?;
    let page = page.page()?;
    let mut q = households::table
        .filter(model::visible_to(org))
        .select(HouseholdRow::as_select())
        .into_boxed();
    if let Some(name) = &filters.name {
        crate::http::extractors::check_length("name", name, 1, 100)?;
        // The key starts with the normalised last name; a name with no letter or digit
        // matches the last names that have none either.
        let name = rules::normalise_name(name);
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
    let mut conn = db::conn(&state.pool).await?;
    let q = q.keyset(households::id, page);
    let rows: Vec<HouseholdRow> = journal::load(&mut conn, &caller, q, "id", page.limit).await?;
    let (rows, more) = page.split(rows);
    Ok(HttpResponse::Ok().json(PageOf::new(shape(&caller, rows), more, |v| v.id)))
}

/// Runs a change of a household the caller sees, with `If-Match`, then emits the event
/// (none when nothing changed).
async fn change_household<F>(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    event_type: &'static str,
    change: F,
) -> ApiResult<HttpResponse>
where
    F: AsyncFnOnce(&mut AsyncPgConnection, HouseholdRow) -> Result<Changed<HouseholdRow>, ApiError>,
{
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let view = db::transaction(&mut conn, async |conn: &mut AsyncPgConnection| {
        let current = model::find_visible(conn, org, id, true).await?;
        if_match.check(current.version)?;
        let row = match change(conn, current).await? {
            Changed::Yes(row) => {
                household_event(conn, caller, event_type, &row).await?;
                row
            }
            Changed::No(row) => row,
        };
        Ok(present(conn, caller, vec![row]).await?.remove(0))
    })
    .await?;
    Ok(household_response(StatusCode::OK, &view).into_response(false))
}

/// Update a household
///
/// Changes what you send (composition, resources, situation, grounds…). Requires
/// `If-Match`. The organisations party to its referrals are told through the feed.
#[utoipa::path(
    tag = "households",
    operation_id = "update_household",
    request_body = HouseholdPatch,
    params(
        ("id" = Uuid, Path, description = "The household's id"),
        IfMatchHeader,
    ),
    security(("oauth2" = ["households:write"])),
    responses((status = 200, description = "Updated", body = Household, headers(("ETag" = String, description = "The new version"))))
)]
#[patch("/households/{id}")]
pub async fn update_household(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<HouseholdPatch>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHouseholds)?;
    let patch = body.0;
    let landlord = !handles_special_categories(&caller);
    let org = caller.partner_organisation()?;
    change_household(
        &state,
        &caller,
        id.into_inner(),
        if_match,
        "household.updated",
        async move |conn: &mut AsyncPgConnection, current: HouseholdRow| {
            if patch.special_category_grounds.is_some() && landlord {
                return Err(ApiError::Forbidden(
                    "a landlord does not handle special-category grounds".into(),
                ));
            }
            let head = patch.head.clone().unwrap_or(HeadPatch {
                last_name: None,
                first_names: None,
                birth_date: None,
            });
            let last = head
                .last_name
                .map(|n| n.trim().to_string())
                .unwrap_or_else(|| current.head_last_name.clone());
            let first = head
                .first_names
                .map(|n| n.trim().to_string())
                .unwrap_or_else(|| current.head_first_names.clone());
            let birth = head.birth_date.unwrap_or(current.head_birth_date);
            let json = |v: serde_json::Result<serde_json::Value>| v.map_err(ApiError::internal);
            let merged = (
                patch::merge(&patch.partner_reference, &current.partner_reference),
                match &patch.members {
                    Some(m) => json(serde_json::to_value(m))?,
                    None => current.members.clone(),
                },
                patch.household_type.unwrap_or(current.household_type),
                patch.adults.unwrap_or(current.adults),
                patch.children.unwrap_or(current.children),
                patch
                    .monthly_resources_cents
                    .unwrap_or(current.monthly_resources_cents),
                match &patch.resource_kinds {
                    Some(k) => json(serde_json::to_value(dedup(k.clone())))?,
                    None => current.resource_kinds.clone(),
                },
                patch.housing_situation.unwrap_or(current.housing_situation),
                match &patch.priority_grounds {
                    Some(g) => json(serde_json::to_value(dedup(g.clone())))?,
                    None => current.priority_grounds.clone(),
                },
                match &patch.special_category_grounds {
                    Some(g) => json(serde_json::to_value(dedup(g.clone())))?,
                    None => current.special_grounds.clone(),
                },
            );
            let stored = (
                current.partner_reference.clone(),
                current.members.clone(),
                current.household_type,
                current.adults,
                current.children,
                current.monthly_resources_cents,
                current.resource_kinds.clone(),
                current.housing_situation,
                current.priority_grounds.clone(),
                current.special_grounds.clone(),
            );
            let same_head = (last.as_str(), first.as_str(), birth)
                == (
                    current.head_last_name.as_str(),
                    current.head_first_names.as_str(),
                    current.head_birth_date,
                );
            let same_sets = [
                (&merged.6, &stored.6),
                (&merged.8, &stored.8),
                (&merged.9, &stored.9),
            ]
            .iter()
            .all(|(sent, kept)| patch::same_set(sent, kept));
            let same_rest = (
                &merged.0, &merged.1, merged.2, merged.3, merged.4, merged.5, merged.7,
            ) == (
                &stored.0, &stored.1, stored.2, stored.3, stored.4, stored.5, stored.7,
            );
            let department_code = patch
                .department_code
                .clone()
                .unwrap_or(current.department_code.clone());
            if same_head && same_sets && same_rest && department_code == current.department_code {
                return Ok(Changed::No(current));
            }
            let identity = rules::identity_key(&last, &first, birth);
            if identity != current.identity_key {
                model::refuse_duplicate_identity(conn, org, &identity, Some(current.id)).await?;
            }
            let (
                partner_reference,
                members,
                household_type,
                adults,
                children,
                resources,
                resource_kinds,
                housing_situation,
                priority_grounds,
                special_grounds,
            ) = merged;
            Ok(Changed::Yes(
                diesel::update(households::table.find(current.id))
                    .set((
                        households::partner_reference.eq(partner_reference),
                        households::head_last_name.eq(&last),
                        households::head_first_names.eq(&first),
                        households::head_birth_date.eq(birth),
                        households::identity_key.eq(&identity),
                        households::members.eq(members),
                        households::household_type.eq(household_type),
                        households::adults.eq(adults),
                        households::children.eq(children),
                        households::monthly_resources_cents.eq(resources),
                        households::resource_kinds.eq(resource_kinds),
                        households::housing_situation.eq(housing_situation),
                        households::priority_grounds.eq(priority_grounds),
                        households::special_grounds.eq(special_grounds),
                        households::department_code.eq(&department_code),
                        crate::db::bump(households::version, households::updated_at),
                    ))
                    .returning(HouseholdRow::as_returning())
                    .get_result(conn)
                    .await?,
            ))
        },
    )
    .await
}

/// Record the household's consent to sharing
///
/// Without a consent in force, the household is shown to no other organisation (a
/// referral, a transfer, a proposal, a sub-lease, a measure's funder), except by a
/// commission's secretariat under the commission's decision (`mandate`; see
/// `Organisation.commissions`). Requires `If-Match`.
#[utoipa::path(
    tag = "households",
    operation_id = "record_household_consent",
    request_body = NewConsent,
    params(
        ("id" = Uuid, Path, description = "The household's id"),
        IfMatchHeader,
    ),
    security(("oauth2" = ["households:write"])),
    responses((status = 200, description = "Recorded", body = Household, headers(("ETag" = String, description = "The new version"))))
)]
#[post("/households/{id}/consent")]
pub async fn record_consent(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<NewConsent>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHouseholds)?;
    let consent = body.0;
    let account = caller.account_id;
    change_household(
        &state,
        &caller,
        id.into_inner(),
        if_match,
        "household.consent_recorded",
        async move |conn: &mut AsyncPgConnection, current: HouseholdRow| {
            Ok(Changed::Yes(
                diesel::update(households::table.find(current.id))
                    .set((
                        households::consent_given_on.eq(Some(consent.given_on)),
                        households::consent_scope.eq(consent.scope.clone()),
                        households::consent_recorded_by.eq(Some(account)),
                        households::consent_withdrawn_at.eq(None::<DateTime<Utc>>),
                        crate::db::bump(households::version, households::updated_at),
                    ))
                    .returning(HouseholdRow::as_returning())
                    .get_result(conn)
                    .await?,
            ))
        },
    )
    .await
}

/// Withdraw the household's consent
///
/// From now on the household cannot be shared anew on the strength of its consent.
/// Existing referrals stay. Requires `If-Match`.
#[utoipa::path(
    tag = "households",
    operation_id = "withdraw_household_consent",
    params(
        ("id" = Uuid, Path, description = "The household's id"),
        IfMatchHeader,
    ),
    security(("oauth2" = ["households:write"])),
    responses(
        (status = 200, description = "Withdrawn", body = Household, headers(("ETag" = String, description = "The new version"))),
        (status = 409, description = "No consent in force", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/households/{id}/consent/withdraw")]
pub async fn withdraw_consent(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    _nothing: crate::http::body::ActionBody,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHouseholds)?;
    change_household(
        &state,
        &caller,
        id.into_inner(),
        if_match,
        "household.consent_withdrawn",
        async move |conn: &mut AsyncPgConnection, current: HouseholdRow| {
            if !current.consent_in_force() {
                return Err(ApiError::conflict("the household has no consent in force"));
            }
            Ok(Changed::Yes(
                diesel::update(households::table.find(current.id))
                    .set((
                        households::consent_withdrawn_at.eq(Some(Utc::now())),
                        crate::db::bump(households::version, households::updated_at),
                    ))
                    .returning(HouseholdRow::as_returning())
                    .get_result(conn)
                    .await?,
            ))
        },
    )
    .await
}

/// Read a household's journal of special-category reads
///
/// Who received the household's special-category grounds, from which organisation, when
/// and through which request. For the admins of the organisation that created it.
#[utoipa::path(
    tag = "households",
    operation_id = "list_household_access_log",
    params(("id" = Uuid, Path, description = "The household's id"), PageParams),
    security(("oauth2" = ["households:read"])),
    responses((status = 200, description = "A page of the journal, oldest first", body = PageOf<JournalEntry>))
)]
#[get("/households/{id}/access-log")]
pub async fn household_access_log(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    page: Query<PageParams>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHouseholds)?;
    let org = caller.partner_organisation()?;
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let household = model::find_visible(&mut conn, org, id.into_inner(), false).await?;
    authorize(
        &caller,
        Action::ReadHouseholdJournal {
            creator: household.created_by_organisation_id,
        },
    )?;
    let q = special_category_reads::table
        .filter(special_category_reads::household_id.eq(household.id))
        .select((
            special_category_reads::id,
            special_category_reads::account_id,
            special_category_reads::organisation_id,
            special_category_reads::categories,
            special_category_reads::request_id,
            special_category_reads::read_at,
        ))
        .into_boxed();
    let rows: Vec<JournalEntry> = q
        .keyset(special_category_reads::id, page)
        .load(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(PageOf::from_rows(rows, page, |e| e.id)))
}

/// Read a household's record of sharings
///
/// Every time the household became visible to another organisation: to whom, on whose
/// behalf, through which case (a referral, a transfer, a proposal, a sub-lease, a measure's
/// funder) and on which basis (its consent, or a commission's mandate with the decision's
/// commission, reference and date), oldest first. For the data protection officer: the
/// admins of the organisation that created the household see every sharing; the admins of
/// another organisation that sees it, the sharings it made or received.
#[utoipa::path(
    tag = "households",
    operation_id = "list_household_sharings",
    params(("id" = Uuid, Path, description = "The household's id")),
    security(("oauth2" = ["households:read"])),
    responses((status = 200, description = "The sharings, oldest first", body = PageOf<HouseholdSharing>))
)]
#[get("/households/{id}/sharings")]
pub async fn household_sharings(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHouseholds)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let household = model::find_visible(&mut conn, org, id.into_inner(), false).await?;
    authorize(&caller, Action::ReadHouseholdSharings)?;
    let involving = (household.created_by_organisation_id != org).then_some(org);
    let items = sharing::of_household(&mut conn, household.id, involving).await?;
    Ok(HttpResponse::Ok().json(PageOf {
        items,
        next_cursor: None,
    }))
}
