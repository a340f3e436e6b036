//! Every diesel statement on organisations and accounts.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::model::{
    AccountKind, AccountRow, CommissionKind, OrganisationKind, OrganisationRow, Role,
};
use crate::db::{Connection, Keyset};
use crate::error::ApiError;
use crate::http::pagination::Page;
use crate::schema::{accounts, organisations};

/// The kind of each of `ids` that exists.
pub async fn kinds_of(
    conn: &mut Connection,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, OrganisationKind)>, ApiError> {
    Ok(organisations::table
        .filter(organisations::id.eq_any(ids))
        .select((organisations::id, organisations::kind))
        .load(conn)
        .await?)
}

pub async fn find_organisation(
    conn: &mut Connection,
    id: Uuid,
) -> Result<OrganisationRow, ApiError> {
    Ok(organisations::table
        .find(id)
        .select(OrganisationRow::as_select())
        .first(conn)
        .await?)
}

pub async fn lock_organisation(
    conn: &mut Connection,
    id: Uuid,
) -> Result<OrganisationRow, ApiError> {
    Ok(organisations::table
        .find(id)
        .select(OrganisationRow::as_select())
        .for_update()
        .first(conn)
        .await?)
}

pub async fn list_organisations(
    conn: &mut Connection,
    page: Page,
    kind: Option<OrganisationKind>,
    department_code: Option<&str>,
) -> Result<Vec<OrganisationRow>, ApiError> {
    let mut q = organisations::table
        .select(OrganisationRow::as_select())
        .into_boxed();
    if let Some(kind) = kind {
        q = q.filter(organisations::kind.eq(kind));
    }
    if let Some(code) = department_code {
        q = q.filter(organisations::department_code.eq(code.to_owned()));
    }
    Ok(q.keyset(organisations::id, page).load(conn).await?)
}

pub async fn find_account(conn: &mut Connection, id: Uuid) -> Result<AccountRow, ApiError> {
    Ok(accounts::table
        .find(id)
        .select(AccountRow::as_select())
        .first(conn)
        .await?)
}

/// An account and its organisation (none for a platform admin), in one query.
pub async fn find_account_with_organisation(
    conn: &mut Connection,
    id: Uuid,
) -> Result<(AccountRow, Option<OrganisationRow>), ApiError> {
    Ok(accounts::table
        .left_join(organisations::table)
        .filter(accounts::id.eq(id))
        .select((
            AccountRow::as_select(),
            Option::<OrganisationRow>::as_select(),
        ))
        .first(conn)
        .await?)
}

/// An account of the given organisation, or 404: an account is never reached through
/// another organisation's path.
pub async fn find_account_in(
    conn: &mut Connection,
    organisation_id: Uuid,
    account_id: Uuid,
    for_update: bool,
) -> Result<AccountRow, ApiError> {
    let q = accounts::table
        .filter(accounts::id.eq(account_id))
        .filter(accounts::organisation_id.eq(organisation_id))
        .select(AccountRow::as_select());
    Ok(if for_update {
        q.for_update().first(conn).await?
    } else {
        q.first(conn).await?
    })
}

pub async fn list_accounts(
    conn: &mut Connection,
    organisation_id: Uuid,
    page: Page,
) -> Result<Vec<AccountRow>, ApiError> {
    let q = accounts::table
        .filter(accounts::organisation_id.eq(organisation_id))
        .select(AccountRow::as_select())
        .into_boxed();
    Ok(q.keyset(accounts::id, page).load(conn).await?)
}

/// Whether the account belongs to the organisation (active or not).
pub async fn is_account_of(
    conn: &mut Connection,
    account: Uuid,
    org: Uuid,
) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(
        accounts::table
            .filter(accounts::id.eq(account))
            .filter(accounts::organisation_id.eq(org)),
    ))
    .get_result(conn)
    .await?)
}

/// Whether the account is an active account of the organisation (a measure's worker).
pub async fn is_active_account_of(
    conn: &mut Connection,
    account: Uuid,
    org: Uuid,
) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(
        accounts::table
            .filter(accounts::id.eq(account))
            .filter(accounts::organisation_id.eq(org))
            .filter(accounts::active.eq(true)),
    ))
    .get_result(conn)
    .await?)
}

/// The département of an organisation.
pub async fn department_of(conn: &mut Connection, org: Uuid) -> Result<String, ApiError> {
    Ok(organisations::table
        .find(org)
        .select(organisations::department_code)
        .first(conn)
        .await?)
}

/// The organisation registered with this SIRET, if any.
pub async fn organisation_by_siret(
    conn: &mut Connection,
    siret: &str,
) -> Result<Option<Uuid>, ApiError> {
    Ok(organisations::table
        .filter(organisations::siret.eq(siret))
        .select(organisations::id)
        .first(conn)
        .await
        .optional()?)
}

/// A new organisation (its contact email normalised).
pub struct NewOrganisationRow<'a> {
    pub kind: OrganisationKind,
    pub name: &'a str,
    pub siret: &'a str,
    pub department_code: &'a str,
    pub contact_email: String,
    pub commissions: &'a [CommissionKind],
}

pub async fn insert_organisation(
    conn: &mut Connection,
    o: NewOrganisationRow<'_>,
) -> Result<OrganisationRow, ApiError> {
    Ok(diesel::insert_into(organisations::table)
        .values((
            organisations::id.eq(Uuid::now_v7()),
            organisations::kind.eq(o.kind),
            organisations::name.eq(o.name),
            organisations::siret.eq(o.siret),
            organisations::department_code.eq(o.department_code),
            organisations::contact_email.eq(o.contact_email),
            organisations::commissions
                .eq(serde_json::to_value(o.commissions).map_err(ApiError::internal)?),
        ))
        .returning(OrganisationRow::as_returning())
        .get_result(conn)
        .await?)
}

/// An organisation's new name, département, contact email and commissions.
pub async fn update_organisation(
    conn: &mut Connection,
    id: Uuid,
    name: &str,
    department_code: &str,
    contact_email: &str,
    commissions: &[CommissionKind],
) -> Result<OrganisationRow, ApiError> {
    Ok(diesel::update(organisations::table.find(id))
        .set((
            organisations::name.eq(name),
            organisations::department_code.eq(department_code),
            organisations::contact_email.eq(contact_email),
            organisations::commissions
                .eq(serde_json::to_value(commissions).map_err(ApiError::internal)?),
            crate::db::bump(organisations::version, organisations::updated_at),
        ))
        .returning(OrganisationRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The account that holds this (normalised) email, and its organisation.
pub async fn account_by_email(
    conn: &mut Connection,
    email: &str,
) -> Result<Option<(Uuid, Option<Uuid>)>, ApiError> {
    Ok(accounts::table
        .filter(accounts::email.eq(email))
        .select((accounts::id, accounts::organisation_id))
        .first(conn)
        .await
        .optional()?)
}

/// A new account of an organisation: a person (its email and its password's hash) or a
/// partner system (its client id, its secret's hash and its scopes, joined); what the other
/// kind has is `None` (the column's default).
#[derive(Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccountRow<'a> {
    pub id: Uuid,
    pub organisation_id: Option<Uuid>,
    pub kind: AccountKind,
    pub role: Role,
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub client_secret_hash: Option<&'a str>,
    pub scopes: Option<&'a str>,
}

pub async fn insert_account(
    conn: &mut Connection,
    new: NewAccountRow<'_>,
) -> Result<AccountRow, ApiError> {
    Ok(diesel::insert_into(accounts::table)
        .values(new)
        .returning(AccountRow::as_returning())
        .get_result(conn)
        .await?)
}

/// An account's new name, role and scopes (joined).
pub async fn update_account(
    conn: &mut Connection,
    id: Uuid,
    name: &str,
    role: Role,
    scopes: &str,
) -> Result<AccountRow, ApiError> {
    Ok(diesel::update(accounts::table.find(id))
        .set((
            accounts::name.eq(name),
            accounts::role.eq(role),
            accounts::scopes.eq(scopes),
            crate::db::bump(accounts::version, accounts::updated_at),
        ))
        .returning(AccountRow::as_returning())
        .get_result(conn)
        .await?)
}

/// An account deactivated now, or active again.
pub async fn set_active(
    conn: &mut Connection,
    id: Uuid,
    active: bool,
) -> Result<AccountRow, ApiError> {
    let q = diesel::update(accounts::table.find(id));
    let row = if active {
        q.set((
            accounts::active.eq(true),
            accounts::deactivated_at.eq(None::<chrono::DateTime<chrono::Utc>>),
            crate::db::bump(accounts::version, accounts::updated_at),
        ))
        .returning(AccountRow::as_returning())
        .get_result(conn)
        .await?
    } else {
        q.set((
            accounts::active.eq(false),
            accounts::deactivated_at.eq(diesel::dsl::now),
            crate::db::bump(accounts::version, accounts::updated_at),
        ))
        .returning(AccountRow::as_returning())
        .get_result(conn)
        .await?
    };
    Ok(row)
}

/// A person's new password (its hash). `new_credentials`: the tokens issued before stop
/// at their next request (an admin's reset); a person's own change keeps its session.
pub async fn set_password(
    conn: &mut Connection,
    id: Uuid,
    hash: &str,
    new_credentials: bool,
) -> Result<AccountRow, ApiError> {
    Ok(diesel::update(accounts::table.find(id))
        .set((
            accounts::password_hash.eq(Some(hash)),
            accounts::credentials_version
                .eq(accounts::credentials_version + i32::from(new_credentials)),
            crate::db::bump(accounts::version, accounts::updated_at),
        ))
        .returning(AccountRow::as_returning())
        .get_result(conn)
        .await?)
}

/// A partner system's new client secret (its hash); the tokens issued under the old one
/// stop at their next request.
pub async fn set_client_secret(
    conn: &mut Connection,
    id: Uuid,
    hash: &str,
) -> Result<AccountRow, ApiError> {
    Ok(diesel::update(accounts::table.find(id))
        .set((
            accounts::client_secret_hash.eq(Some(hash)),
            accounts::credentials_version.eq(accounts::credentials_version + 1),
            crate::db::bump(accounts::version, accounts::updated_at),
        ))
        .returning(AccountRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The person who signs in with this (normalised) email, if any.
pub async fn person_by_email(
    conn: &mut Connection,
    email: &str,
) -> Result<Option<AccountRow>, ApiError> {
    Ok(accounts::table
        .filter(accounts::email.eq(email))
        .filter(accounts::kind.eq(AccountKind::Person))
        .select(AccountRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The partner system of this client id, if any.
pub async fn system_by_client_id(
    conn: &mut Connection,
    client_id: &str,
) -> Result<Option<AccountRow>, ApiError> {
    Ok(accounts::table
        .filter(accounts::client_id.eq(client_id))
        .select(AccountRow::as_select())
        .first(conn)
        .await
        .optional()?)
}
