//! Identity's use cases, each in the transaction its caller gives: organisations (created
//! by a platform admin, changed by their admins), accounts (created, changed, deactivated
//! and reactivated, a person's password reset, a system's secret rotated) with their
//! events to the organisation, and one's own password.

use uuid::Uuid;

use super::model::{Account, AccountKind, AccountRow, Organisation};
use super::queries;
use super::requests::*;
use super::rules;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::auth::secrets;
use crate::db::Connection;
use crate::error::ApiError;
use crate::events::{self, NewEvent};
use crate::http::concurrency::IfMatch;

/// The event of an account's creation or change, to its organisation.
pub async fn account_event(
    conn: &mut Connection,
    caller: &Caller,
    event_type: &'static str,
    account: &Account,
) -> Result<(), ApiError> {
    events::append(
        conn,
        Some(caller),
        NewEvent {
            event_type,
            subject_type: "account",
            subject_id: account.id,
            data: serde_json::to_value(account).map_err(ApiError::internal)?,
            recipients: account.organisation_id.into_iter().collect(),
            for_platform: false,
        },
    )
    .await
}

/// The organisation must exist (404 otherwise), then the caller must be allowed.
pub async fn guard(
    conn: &mut Connection,
    caller: &Caller,
    organisation_id: Uuid,
    action: Action,
) -> Result<(), ApiError> {
    authorize(caller, action).map_err(|e| match e {
        // Never tell a stranger whether the organisation or account exists.
        ApiError::NotFound => ApiError::NotFound,
        other => other,
    })?;
    queries::find_organisation(conn, organisation_id).await?;
    Ok(())
}

pub async fn organisation_event(
    conn: &mut Connection,
    caller: &Caller,
    event_type: &'static str,
    org: &Organisation,
) -> Result<(), ApiError> {
    events::append(
        conn,
        Some(caller),
        NewEvent {
            event_type,
            subject_type: "organisation",
            subject_id: org.id,
            data: serde_json::to_value(org).map_err(ApiError::internal)?,
            recipients: vec![org.id],
            for_platform: true,
        },
    )
    .await
}

/// Registers an organisation (its commissions already checked): a SIRET registered once
/// (409 `existing_id`); `organisation.created`.
pub async fn create_organisation(
    conn: &mut Connection,
    caller: &Caller,
    new: NewOrganisation,
) -> Result<Organisation, ApiError> {
    // The unique index decides; the lock makes a racing request's answer the same
    // 409 naming the organisation, not a bare constraint violation.
    crate::db::lock_for_rule(conn, "organisation_siret", &new.siret).await?;
    if let Some(existing_id) = queries::organisation_by_siret(conn, &new.siret).await? {
        return Err(ApiError::duplicate(
            "an organisation with this SIRET is already registered",
            existing_id,
        ));
    }
    let row = queries::insert_organisation(
        conn,
        queries::NewOrganisationRow {
            kind: new.kind,
            name: new.name.trim(),
            siret: &new.siret,
            department_code: &new.department_code,
            contact_email: rules::normalise_email(&new.contact_email),
            commissions: &new.commissions,
        },
    )
    .await?;
    let org = Organisation::from(row);
    organisation_event(conn, caller, "organisation.created", &org).await?;
    Ok(org)
}

/// Changes an organisation (the caller already authorised), `If-Match`; its commissions
/// checked against its kind (422); nothing changes when nothing differs;
/// `organisation.updated`.
pub async fn update_organisation(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
    patch: OrganisationPatch,
) -> Result<Organisation, ApiError> {
    let current = queries::lock_organisation(conn, id).await?;
    if_match.check(current.version)?;
    let name = patch
        .name
        .as_deref()
        .map(str::trim)
        .unwrap_or(&current.name)
        .to_owned();
    let department_code = patch
        .department_code
        .clone()
        .unwrap_or(current.department_code.clone());
    let contact_email = patch
        .contact_email
        .as_deref()
        .map(rules::normalise_email)
        .unwrap_or(current.contact_email.clone());
    let commissions = patch
        .commissions
        .clone()
        .unwrap_or_else(|| current.commission_list());
    let errors = rules::commission_errors(current.kind, &commissions);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let same_commissions = {
        let (mut a, mut b) = (commissions.clone(), current.commission_list());
        a.sort_by_key(|c| c.as_str());
        b.sort_by_key(|c| c.as_str());
        a == b
    };
    if (&name, &department_code, &contact_email)
        == (
            &current.name,
            &current.department_code,
            &current.contact_email,
        )
        && same_commissions
    {
        return Ok(Organisation::from(current));
    }
    let row = queries::update_organisation(
        conn,
        id,
        &name,
        &department_code,
        &contact_email,
        &commissions,
    )
    .await?;
    let org = Organisation::from(row);
    organisation_event(conn, caller, "organisation.updated", &org).await?;
    Ok(org)
}

/// Creates an account of the organisation (already guarded) with its credential's hash:
/// a person's email is unique across the platform (409, naming the account only to its
/// own organisation); `account.created`.
pub async fn create_account(
    conn: &mut Connection,
    caller: &Caller,
    organisation_id: Uuid,
    new: NewAccountOf,
    hash: &str,
) -> Result<Account, ApiError> {
    let id = Uuid::now_v7();
    let row: AccountRow = match &new {
        NewAccountOf::Person(p) => {
            let email = rules::normalise_email(&p.email);
            crate::db::lock_for_rule(conn, "account_email", &email).await?;
            match queries::account_by_email(conn, &email).await? {
                // The account is named to its own organisation's admin only: an
                // email used elsewhere must not reveal where.
                Some((existing_id, Some(owner))) if owner == organisation_id => {
                    return Err(ApiError::duplicate(
                        "your organisation already has an account with this email",
                        existing_id,
                    ))
                }
                Some(_) => {
                    return Err(ApiError::conflict(
                        "an account with this email already exists",
                    ))
                }
                None => {}
            }
            queries::insert_account(
                conn,
                queries::NewAccountRow {
                    id,
                    organisation_id: Some(organisation_id),
                    kind: AccountKind::Person,
                    role: p.role,
                    name: p.name.trim(),
                    email: Some(&email),
                    password_hash: Some(hash),
                    client_id: None,
                    client_secret_hash: None,
                    scopes: None,
                },
            )
            .await?
        }
        NewAccountOf::System(s) => {
            let client_id = format!("pcl_{}", secrets::random_token(12));
            let scopes = super::model::join_scopes(&s.scopes);
            queries::insert_account(
                conn,
                queries::NewAccountRow {
                    id,
                    organisation_id: Some(organisation_id),
                    kind: AccountKind::System,
                    role: s.role,
                    name: s.name.trim(),
                    email: None,
                    password_hash: None,
                    client_id: Some(&client_id),
                    client_secret_hash: Some(hash),
                    scopes: Some(&scopes),
                },
            )
            .await?
        }
    };
    let account = Account::from(row);
    account_event(conn, caller, "account.created", &account).await?;
    Ok(account)
}

/// A change of an account by its organisation's admin.
pub enum AccountChange {
    Update(AccountPatch),
    Deactivate,
    Reactivate,
    ResetPassword,
    RotateSecret,
}

/// A change of one account, in the caller's transaction: locked, `If-Match`, the change,
/// its event (none when nothing changed). The account, and the credential a reset or a
/// rotation issues (shown once).
pub async fn change_account(
    conn: &mut Connection,
    caller: &Caller,
    (organisation_id, account_id): (Uuid, Uuid),
    if_match: &IfMatch,
    change: AccountChange,
) -> Result<(Account, Option<String>), ApiError> {
    let current = queries::find_account_in(conn, organisation_id, account_id, true).await?;
    if_match.check(current.version)?;
    let (account, event_type, secret) = match change {
        AccountChange::Update(p) => update_account(conn, current, caller.account_id, p).await?,
        AccountChange::Deactivate => deactivate(conn, current, caller.account_id).await?,
        AccountChange::Reactivate => reactivate(conn, current).await?,
        AccountChange::ResetPassword => reset_password(conn, current).await?,
        AccountChange::RotateSecret => rotate_secret(conn, current).await?,
    };
    // No event when nothing changed (a PATCH of what is stored).
    if let Some(event_type) = event_type {
        account_event(conn, caller, event_type, &account).await?;
    }
    Ok((account, secret))
}

/// What a change gives: the account, its event, the credential it issued.
type Changed = (Account, Option<&'static str>, Option<String>);

async fn update_account(
    conn: &mut Connection,
    current: AccountRow,
    self_id: Uuid,
    patch: AccountPatch,
) -> Result<Changed, ApiError> {
    if patch.scopes.is_some() && current.kind == AccountKind::Person {
        return Err(ApiError::invalid(
            "scopes",
            "not_applicable",
            "a person's scopes follow from their role",
        ));
    }
    if current.id == self_id && patch.role.is_some_and(|r| r != current.role) {
        return Err(ApiError::conflict("you cannot change your own role"));
    }
    let name = patch
        .name
        .as_deref()
        .map(str::trim)
        .unwrap_or(&current.name)
        .to_owned();
    let role = patch.role.unwrap_or(current.role);
    // A partner system holds no scope beyond its role: those sent are checked
    // against it (422), those kept are cut to it, so that raising the role later
    // grants nothing its admin did not see.
    let scopes = match patch.scopes.as_deref() {
        Some(sent) => {
            let errors = rules::scopes_beyond_role(role, sent);
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            super::model::join_scopes(sent)
        }
        None if current.kind == AccountKind::System => {
            let within = crate::identity::rules::effective_scopes(
                AccountKind::System,
                role,
                &current.scope_list(),
            );
            super::model::join_scopes(&within)
        }
        None => current.scopes.clone(),
    };
    if (&name, role, &scopes) == (&current.name, current.role, &current.scopes) {
        return Ok((Account::from(current), None, None));
    }
    let row = queries::update_account(conn, current.id, &name, role, &scopes).await?;
    Ok((Account::from(row), Some("account.updated"), None))
}

async fn deactivate(
    conn: &mut Connection,
    current: AccountRow,
    self_id: Uuid,
) -> Result<Changed, ApiError> {
    if current.id == self_id {
        return Err(ApiError::conflict("you cannot deactivate your own account"));
    }
    if !current.active {
        return Err(ApiError::conflict("the account is already deactivated"));
    }
    crate::auth::sessions::revoke_all(conn, current.id, None).await?;
    let row = queries::set_active(conn, current.id, false).await?;
    Ok((Account::from(row), Some("account.deactivated"), None))
}

async fn reactivate(conn: &mut Connection, current: AccountRow) -> Result<Changed, ApiError> {
    if current.active {
        return Err(ApiError::conflict("the account is already active"));
    }
    let row = queries::set_active(conn, current.id, true).await?;
    Ok((Account::from(row), Some("account.reactivated"), None))
}

async fn reset_password(conn: &mut Connection, current: AccountRow) -> Result<Changed, ApiError> {
    if current.kind != AccountKind::Person {
        return Err(ApiError::conflict(
            "a partner system has a client secret: use rotate-secret",
        ));
    }
    let password = secrets::temporary_password();
    let hash = secrets::hash(password.clone()).await?;
    crate::auth::sessions::revoke_all(conn, current.id, None).await?;
    let row = queries::set_password(conn, current.id, &hash, true).await?;
    Ok((
        Account::from(row),
        Some("account.credentials_reset"),
        Some(password),
    ))
}

async fn rotate_secret(conn: &mut Connection, current: AccountRow) -> Result<Changed, ApiError> {
    if current.kind != AccountKind::System {
        return Err(ApiError::conflict(
            "a person has a password: use reset-password",
        ));
    }
    let secret = secrets::random_token(32);
    let hash = secrets::hash(secret.clone()).await?;
    // The tokens issued under the old secret stop at their next request.
    let row = queries::set_client_secret(conn, current.id, &hash).await?;
    Ok((
        Account::from(row),
        Some("account.credentials_reset"),
        Some(secret),
    ))
}

/// A person changes their own password (its hash computed, the current one checked by the
/// caller): every other session of the account is revoked.
pub async fn change_password(
    conn: &mut Connection,
    account_id: Uuid,
    session: Option<Uuid>,
    new_hash: &str,
) -> Result<(), ApiError> {
    queries::set_password(conn, account_id, new_hash, false).await?;
    crate::auth::sessions::revoke_all(conn, account_id, session).await
}
