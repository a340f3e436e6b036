//! The use cases of households, each inside the transaction its caller gives: register,
//! read, list, change, record or withdraw the consent to sharing, and the data protection
//! officer's reads (the journal of special-category reads, the record of sharings).

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::journal::{self, JournalEntry};
use super::model::{
    Entitlement, HeadPatch, Household, HouseholdFilters, HouseholdPatch, HouseholdRow, NewConsent,
    NewHousehold,
};
use super::queries::{self, HouseholdChanges, NewHouseholdRow};
use super::rules;
use super::sharing::{self, HouseholdSharing};
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, handles_special_categories, Action};
use crate::db::Page;
use crate::error::ApiError;
use crate::events::{self, NewEvent};
use crate::http::concurrency::IfMatch;
use crate::http::pagination::PageOf;
use crate::http::patch::{self, Changed};

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
pub async fn present(
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

/// Tells the organisations that see a household that it changed (ids only: they fetch it,
/// so each gets the fields its part allows and the read is journalled).
async fn household_event(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    event_type: &'static str,
    row: &HouseholdRow,
) -> Result<(), ApiError> {
    let parties = queries::referral_parties(conn, row.id).await?;
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

fn dedup<T: PartialEq + Copy>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Only who handles special categories may send special-category grounds: 403 for a
/// landlord.
pub fn check_special_grounds(caller: &Caller, sends_them: bool) -> Result<(), ApiError> {
    if sends_them && !handles_special_categories(caller) {
        return Err(ApiError::Forbidden(
            "a landlord does not handle special-category grounds".into(),
        ));
    }
    Ok(())
}

/// Registers a household the caller's organisation follows: 409 `duplicate` (with
/// `existing_id`) when it already sees one with the same head; the département defaults to
/// the organisation's.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    new: NewHousehold,
) -> Result<Household, ApiError> {
    let org = caller.partner_organisation()?;
    let identity = rules::identity_key(
        &new.head.last_name,
        &new.head.first_names,
        new.head.birth_date,
    );
    queries::refuse_duplicate_identity(conn, org, &identity, None).await?;
    let department_code = match &new.department_code {
        Some(d) => d.clone(),
        None => crate::identity::queries::department_of(conn, org).await?,
    };
    let json = |v: serde_json::Result<serde_json::Value>| v.map_err(ApiError::internal);
    let row = queries::insert(
        conn,
        NewHouseholdRow {
            id: Uuid::now_v7(),
            created_by_organisation_id: org,
            created_by_account_id: caller.account_id,
            department_code: &department_code,
            partner_reference: new.partner_reference.as_deref(),
            head_last_name: new.head.last_name.trim(),
            head_first_names: new.head.first_names.trim(),
            head_birth_date: new.head.birth_date,
            identity_key: &identity,
            members: json(serde_json::to_value(&new.members))?,
            household_type: new.household_type,
            adults: new.adults,
            children: new.children,
            monthly_resources_cents: new.monthly_resources_cents,
            resource_kinds: json(serde_json::to_value(dedup(new.resource_kinds)))?,
            housing_situation: new.housing_situation,
            priority_grounds: json(serde_json::to_value(dedup(new.priority_grounds)))?,
            special_grounds: json(serde_json::to_value(dedup(new.special_category_grounds)))?,
        },
    )
    .await?;
    household_event(conn, caller, "household.created", &row).await?;
    Ok(present(conn, caller, vec![row]).await?.remove(0))
}

/// The household as the caller's organisation may see it (404 otherwise); a read of its
/// special-category grounds is journalled.
pub async fn get(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<Household, ApiError> {
    let org = caller.partner_organisation()?;
    let rows = journal::load(conn, caller, queries::visible_query(org, id), "id", 1).await?;
    shape(caller, rows).pop().ok_or(ApiError::NotFound)
}

/// A page of the households the caller's organisation sees, as filtered (400 for a name
/// of a wrong length).
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    filters: &HouseholdFilters,
    page: Page,
) -> Result<PageOf<Household>, ApiError> {
    let org = caller.partner_organisation()?;
    let name = match &filters.name {
        Some(name) => {
            crate::http::extractors::check_length("name", name, 1, 100)?;
            Some(rules::normalise_name(name))
        }
        None => None,
    };
    let q = queries::list(org, filters, name, page);
    let rows = journal::load(conn, caller, q, "id", page.limit).await?;
    let (rows, more) = page.split(rows);
    Ok(PageOf::new(shape(caller, rows), more, |v| v.id))
}

/// Runs a change of a household the caller sees, with `If-Match`, then emits the event
/// (none when nothing changed).
async fn change<F>(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
    event_type: &'static str,
    change: F,
) -> Result<Household, ApiError>
where
    F: AsyncFnOnce(&mut AsyncPgConnection, HouseholdRow) -> Result<Changed<HouseholdRow>, ApiError>,
{
    let org = caller.partner_organisation()?;
    let current = queries::find_visible(conn, org, id, true).await?;
    if_match.check(current.version)?;
    let row = match change(conn, current).await? {
        Changed::Yes(row) => {
            household_event(conn, caller, event_type, &row).await?;
            row
        }
        Changed::No(row) => row,
    };
    Ok(present(conn, caller, vec![row]).await?.remove(0))
}

/// Applies a merge patch (RFC 7396) to a household: sending what is stored changes
/// nothing (same version, no event); a new head is checked for duplicates.
pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
    patch: HouseholdPatch,
) -> Result<Household, ApiError> {
    let landlord = !handles_special_categories(caller);
    let org = caller.partner_organisation()?;
    change(
        conn,
        caller,
        id,
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
                queries::refuse_duplicate_identity(conn, org, &identity, Some(current.id)).await?;
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
            let changes = HouseholdChanges {
                partner_reference,
                head_last_name: last,
                head_first_names: first,
                head_birth_date: birth,
                identity_key: identity,
                members,
                household_type,
                adults,
                children,
                monthly_resources_cents: resources,
                resource_kinds,
                housing_situation,
                priority_grounds,
                special_grounds,
                department_code,
            };
            Ok(Changed::Yes(
                queries::update(conn, current.id, &changes).await?,
            ))
        },
    )
    .await
}

/// Records the household's consent to sharing.
pub async fn record_consent(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
    consent: NewConsent,
) -> Result<Household, ApiError> {
    let account = caller.account_id;
    change(
        conn,
        caller,
        id,
        if_match,
        "household.consent_recorded",
        async move |conn: &mut AsyncPgConnection, current: HouseholdRow| {
            Ok(Changed::Yes(
                queries::record_consent(conn, current.id, consent.given_on, consent.scope, account)
                    .await?,
            ))
        },
    )
    .await
}

/// Withdraws the household's consent (409 when none is in force).
pub async fn withdraw_consent(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<Household, ApiError> {
    change(
        conn,
        caller,
        id,
        if_match,
        "household.consent_withdrawn",
        async move |conn: &mut AsyncPgConnection, current: HouseholdRow| {
            if !current.consent_in_force() {
                return Err(ApiError::conflict("the household has no consent in force"));
            }
            Ok(Changed::Yes(
                queries::withdraw_consent(conn, current.id, chrono::Utc::now()).await?,
            ))
        },
    )
    .await
}

/// A page of the household's journal of special-category reads, for the admins of the
/// organisation that created it (403 otherwise; 404 for a household it does not see).
pub async fn access_log(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    page: Page,
) -> Result<PageOf<JournalEntry>, ApiError> {
    let org = caller.partner_organisation()?;
    let household = queries::find_visible(conn, org, id, false).await?;
    authorize(
        caller,
        Action::ReadHouseholdJournal {
            creator: household.created_by_organisation_id,
        },
    )?;
    let rows = queries::access_log(conn, household.id, page).await?;
    Ok(PageOf::from_rows(rows, page, |e| e.id))
}

/// The household's record of sharings: all of them for its creator's admins, those it
/// made or received for another organisation's.
pub async fn sharings(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<PageOf<HouseholdSharing>, ApiError> {
    let org = caller.partner_organisation()?;
    let household = queries::find_visible(conn, org, id, false).await?;
    authorize(caller, Action::ReadHouseholdSharings)?;
    let involving = (household.created_by_organisation_id != org).then_some(org);
    let items = sharing::of_household(conn, household.id, involving).await?;
    Ok(PageOf {
        items,
        next_cursor: None,
    })
}
