//! `/v1/organisations/{id}/accounts`: an organisation's admins manage its people and systems.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{self, Account, AccountKind, AccountRow};
use super::requests::*;
use super::rules;
use super::service::{account_event, guard};
use crate::auth::caller::Caller;
use crate::auth::policy::Action;
use crate::auth::secrets;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::http::body::ValidJson;
use crate::http::concurrency::IfMatchHeader;
use crate::http::concurrency::{etag, IfMatch};
use crate::http::extractors::Query;
use crate::http::idempotency::IdempotencyHeader;
use crate::http::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::schema::accounts;
use crate::state::AppState;

/// The response of a call that issues a credential: the secret is in what the caller
/// receives, never in what is kept for replays.
fn credential_response(
    status: StatusCode,
    account: Account,
    secret: String,
    location: Option<String>,
) -> StoredResponse {
    let (client_secret, temporary_password) = match account.kind {
        AccountKind::System => (Some(secret), None),
        AccountKind::Person => (None, Some(secret)),
    };
    let version = account.version;
    let redacted = AccountWithCredential {
        account: account.clone(),
        client_secret: None,
        temporary_password: None,
    };
    let full = AccountWithCredential {
        account,
        client_secret,
        temporary_password,
    };
    let mut response = StoredResponse::json(status, &full).header("etag", etag(version));
    response.stored_body = Some(serde_json::to_vec(&redacted).unwrap_or_default());
    if let Some(location) = location {
        response = response.header("location", location);
    }
    response
}

fn account_response(account: &Account) -> StoredResponse {
    StoredResponse::versioned(StatusCode::OK, account, account.version)
}

/// Create an account
///
/// Creates a person (a temporary password is returned once) or a partner system (a client
/// id and a client secret are returned once). An organisation's admins, or a platform admin.
#[utoipa::path(
    tag = "accounts",
    operation_id = "create_account",
    request_body = NewAccount,
    params(
        ("id" = Uuid, Path, description = "The organisation's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body replay the first response (without the secret).", max_length = 255, min_length = 1, pattern = "^[\\x21-\\x7e]+$"),
    ),
    security(("oauth2" = ["accounts:write"])),
    responses(
        (status = 201, description = "Created; the credential is shown this once", body = AccountWithCredential,
         headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new account"))),
        (status = 409, description = "The email is already used, or the key is in use", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organisations/{id}/accounts")]
pub async fn create_account(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: ValidJson<NewAccount>,
) -> ApiResult<HttpResponse> {
    let organisation_id = id.into_inner();
    {
        let mut conn = db::conn(&state.pool).await?;
        guard(
            &mut conn,
            &caller,
            organisation_id,
            Action::ManageAccounts {
                organisation: organisation_id,
            },
        )
        .await?;
    }
    let ValidJson(new, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    let new = new.into_kind();
    if let NewAccountOf::System(s) = &new {
        let errors = rules::scopes_beyond_role(s.role, &s.scopes);
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
    }
    let secret = match &new {
        NewAccountOf::Person(_) => secrets::temporary_password(),
        NewAccountOf::System(_) => secrets::random_token(32),
    };
    let hash = secrets::hash(secret.clone()).await?;
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let id = Uuid::now_v7();
            let row: AccountRow = match &new {
                NewAccountOf::Person(p) => {
                    let email = rules::normalise_email(&p.email);
                    db::lock_for_rule(conn, "account_email", &email).await?;
                    let taken: Option<(Uuid, Option<Uuid>)> = accounts::table
                        .filter(accounts::email.eq(&email))
                        .select((accounts::id, accounts::organisation_id))
                        .first(conn)
                        .await
                        .optional()?;
                    match taken {
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
                    diesel::insert_into(accounts::table)
                        .values((
                            accounts::id.eq(id),
                            accounts::organisation_id.eq(Some(organisation_id)),
                            accounts::kind.eq(AccountKind::Person),
                            accounts::role.eq(p.role),
                            accounts::name.eq(p.name.trim()),
                            accounts::email.eq(Some(email)),
                            accounts::password_hash.eq(Some(&hash)),
                        ))
                        .returning(AccountRow::as_returning())
                        .get_result(conn)
                        .await?
                }
                NewAccountOf::System(s) => {
                    let client_id = format!("pcl_{}", secrets::random_token(12));
                    diesel::insert_into(accounts::table)
                        .values((
                            accounts::id.eq(id),
                            accounts::organisation_id.eq(Some(organisation_id)),
                            accounts::kind.eq(AccountKind::System),
                            accounts::role.eq(s.role),
                            accounts::name.eq(s.name.trim()),
                            accounts::client_id.eq(Some(client_id)),
                            accounts::client_secret_hash.eq(Some(&hash)),
                            accounts::scopes.eq(model::join_scopes(&s.scopes)),
                        ))
                        .returning(AccountRow::as_returning())
                        .get_result(conn)
                        .await?
                }
            };
            let account = Account::from(row);
            account_event(conn, &caller, "account.created", &account).await?;
            let location = format!(
                "/v1/organisations/{organisation_id}/accounts/{}",
                account.id
            );
            Ok(credential_response(
                StatusCode::CREATED,
                account,
                secret,
                Some(location),
            ))
        },
    )
    .await
}

/// List an organisation's accounts
#[utoipa::path(
    tag = "accounts",
    operation_id = "list_accounts",
    params(("id" = Uuid, Path, description = "The organisation's id"), PageParams),
    security(("oauth2" = ["accounts:read"])),
    responses((status = 200, description = "A page of accounts", body = PageOf<Account>))
)]
#[get("/organisations/{id}/accounts")]
pub async fn list_accounts(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    page: Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let organisation_id = id.into_inner();
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    guard(
        &mut conn,
        &caller,
        organisation_id,
        Action::ReadAccounts {
            organisation: organisation_id,
        },
    )
    .await?;
    let rows = model::list_accounts(&mut conn, organisation_id, page).await?;
    let rows: Vec<Account> = rows.into_iter().map(Account::from).collect();
    Ok(HttpResponse::Ok().json(PageOf::from_rows(rows, page, |a| a.id)))
}

/// Get an account
#[utoipa::path(
    tag = "accounts",
    operation_id = "get_account",
    params(
        ("id" = Uuid, Path, description = "The organisation's id"),
        ("account_id" = Uuid, Path, description = "The account's id"),
    ),
    security(("oauth2" = ["accounts:read"])),
    responses((status = 200, description = "The account", body = Account,
               headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/organisations/{id}/accounts/{account_id}")]
pub async fn get_account(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (organisation_id, account_id) = path.into_inner();
    let mut conn = db::conn(&state.pool).await?;
    guard(
        &mut conn,
        &caller,
        organisation_id,
        Action::ReadAccounts {
            organisation: organisation_id,
        },
    )
    .await?;
    let account =
        Account::from(model::find_account_in(&mut conn, organisation_id, account_id, false).await?);
    Ok(account_response(&account).into_response(false))
}

/// Runs a change of one account in a transaction: lock, check `If-Match`, apply, emit.
async fn change_account<F>(
    state: &AppState,
    caller: &Caller,
    key: &IdempotencyKey,
    fingerprint: Vec<u8>,
    (organisation_id, account_id): (Uuid, Uuid),
    if_match: IfMatch,
    change: F,
) -> ApiResult<HttpResponse>
where
    F: AsyncFnOnce(
        &mut AsyncPgConnection,
        AccountRow,
    ) -> Result<(Account, Option<&'static str>, Option<String>), ApiError>,
{
    {
        let mut conn = db::conn(&state.pool).await?;
        guard(
            &mut conn,
            caller,
            organisation_id,
            Action::ManageAccounts {
                organisation: organisation_id,
            },
        )
        .await?;
        model::find_account_in(&mut conn, organisation_id, account_id, false).await?;
    }
    let caller = caller.clone();
    idempotency::run(
        state,
        &caller.clone(),
        key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let current = model::find_account_in(conn, organisation_id, account_id, true).await?;
            if_match.check(current.version)?;
            let (account, event_type, secret) = change(conn, current).await?;
            // No event when nothing changed (a PATCH of what is stored).
            if let Some(event_type) = event_type {
                account_event(conn, &caller, event_type, &account).await?;
            }
            Ok(match secret {
                Some(secret) => credential_response(StatusCode::OK, account, secret, None),
                None => account_response(&account),
            })
        },
    )
    .await
}

/// Update an account
///
/// Changes a name, a role or (for a partner system) its scopes. Requires `If-Match`.
/// An admin cannot change their own role.
#[utoipa::path(
    tag = "accounts",
    operation_id = "update_account",
    request_body = AccountPatch,
    params(
        ("id" = Uuid, Path, description = "The organisation's id"),
        ("account_id" = Uuid, Path, description = "The account's id"),
        IfMatchHeader,
    ),
    security(("oauth2" = ["accounts:write"])),
    responses(
        (status = 200, description = "Updated", body = Account, headers(("ETag" = String, description = "The new version"))),
        (status = 409, description = "An admin changing their own role", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/organisations/{id}/accounts/{account_id}")]
pub async fn update_account(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: ValidJson<AccountPatch>,
) -> ApiResult<HttpResponse> {
    let (organisation_id, account_id) = path.into_inner();
    let ValidJson(patch, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    let self_id = caller.account_id;
    change_account(
        &state,
        &caller,
        &IdempotencyKey(None),
        fingerprint,
        (organisation_id, account_id),
        if_match,
        async move |conn: &mut AsyncPgConnection, current: AccountRow| {
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
                    model::join_scopes(sent)
                }
                None if current.kind == AccountKind::System => {
                    let within = crate::identity::rules::effective_scopes(
                        AccountKind::System,
                        role,
                        &current.scope_list(),
                    );
                    model::join_scopes(&within)
                }
                None => current.scopes.clone(),
            };
            if (&name, role, &scopes) == (&current.name, current.role, &current.scopes) {
                return Ok((Account::from(current), None, None));
            }
            let row: AccountRow = diesel::update(accounts::table.find(current.id))
                .set((
                    accounts::name.eq(name),
                    accounts::role.eq(role),
                    accounts::scopes.eq(scopes),
                    crate::db::bump(accounts::version, accounts::updated_at),
                ))
                .returning(AccountRow::as_returning())
                .get_result(conn)
                .await?;
            Ok((Account::from(row), Some("account.updated"), None))
        },
    )
    .await
}

macro_rules! account_action_path {
    ($fn:ident, $path:literal, $op:literal, $summary:literal, $desc:literal, $body:ty) => {
        #[doc = $summary]
        #[doc = ""]
        #[doc = $desc]
        #[utoipa::path(
            tag = "accounts",
            operation_id = $op,
            params(
                ("id" = Uuid, Path, description = "The organisation's id"),
                ("account_id" = Uuid, Path, description = "The account's id"),
                IfMatchHeader,
                IdempotencyHeader,
            ),
            security(("oauth2" = ["accounts:write"])),
            responses(
                (status = 200, description = "Done", body = $body, headers(("ETag" = String, description = "The new version"))),
                (status = 409, description = "Not possible in the account's current state", body = crate::error::Problem, content_type = "application/problem+json"),
            )
        )]
        #[post($path)]
        pub async fn $fn(
            state: web::Data<AppState>,
            caller: Caller,
            req: HttpRequest,
            path: web::Path<(Uuid, Uuid)>,
            if_match: IfMatch,
            key: IdempotencyKey,
            _nothing: crate::http::body::ActionBody,
        ) -> ApiResult<HttpResponse> {
            let (organisation_id, account_id) = path.into_inner();
            let fingerprint = idempotency::fingerprint(&req, b"");
            let self_id = caller.account_id;
            change_account(&state, &caller, &key, fingerprint, (organisation_id, account_id), if_match,
                async move |conn: &mut AsyncPgConnection, current: AccountRow| {
                    actions::$fn(conn, current, self_id).await
                })
            .await
        }
    };
}

account_action_path!(
    deactivate_account,
    "/organisations/{id}/accounts/{account_id}/deactivate",
    "deactivate_account",
    "Deactivate an account",
    "Its tokens stop working at once and its sessions are revoked. You cannot deactivate yourself.",
    Account
);
account_action_path!(
    reactivate_account,
    "/organisations/{id}/accounts/{account_id}/reactivate",
    "reactivate_account",
    "Reactivate an account",
    "The account can sign in again (with new tokens).",
    Account
);
account_action_path!(
    reset_password,
    "/organisations/{id}/accounts/{account_id}/reset-password",
    "reset_account_password",
    "Reset a person's password",
    "Issues a new temporary password, shown once, and revokes the person's sessions: their refresh and access tokens stop working at once.",
    AccountWithCredential
);
account_action_path!(
    rotate_secret,
    "/organisations/{id}/accounts/{account_id}/rotate-secret",
    "rotate_account_secret",
    "Rotate a partner system's client secret",
    "Issues a new client secret, shown once; the old one stops working at once, and so do the access tokens issued with it (401 at their next request, on every instance).",
    AccountWithCredential
);

/// What each account action changes, inside the transaction `change_account` opened.
mod actions {
    use super::*;

    type Outcome = Result<(Account, Option<&'static str>, Option<String>), ApiError>;

    pub async fn deactivate_account(
        conn: &mut AsyncPgConnection,
        current: AccountRow,
        self_id: Uuid,
    ) -> Outcome {
        if current.id == self_id {
            return Err(ApiError::conflict("you cannot deactivate your own account"));
        }
        if !current.active {
            return Err(ApiError::conflict("the account is already deactivated"));
        }
        crate::auth::sessions::revoke_all(conn, current.id, None).await?;
        let row: AccountRow = diesel::update(accounts::table.find(current.id))
            .set((
                accounts::active.eq(false),
                accounts::deactivated_at.eq(diesel::dsl::now),
                crate::db::bump(accounts::version, accounts::updated_at),
            ))
            .returning(AccountRow::as_returning())
            .get_result(conn)
            .await?;
        Ok((Account::from(row), Some("account.deactivated"), None))
    }

    pub async fn reactivate_account(
        conn: &mut AsyncPgConnection,
        current: AccountRow,
        _self_id: Uuid,
    ) -> Outcome {
        if current.active {
            return Err(ApiError::conflict("the account is already active"));
        }
        let row: AccountRow = diesel::update(accounts::table.find(current.id))
            .set((
                accounts::active.eq(true),
                accounts::deactivated_at.eq(None::<chrono::DateTime<chrono::Utc>>),
                crate::db::bump(accounts::version, accounts::updated_at),
            ))
            .returning(AccountRow::as_returning())
            .get_result(conn)
            .await?;
        Ok((Account::from(row), Some("account.reactivated"), None))
    }

    pub async fn reset_password(
        conn: &mut AsyncPgConnection,
        current: AccountRow,
        _self_id: Uuid,
    ) -> Outcome {
        if current.kind != AccountKind::Person {
            return Err(ApiError::conflict(
                "a partner system has a client secret: use rotate-secret",
            ));
        }
        let password = secrets::temporary_password();
        let hash = secrets::hash(password.clone()).await?;
        crate::auth::sessions::revoke_all(conn, current.id, None).await?;
        let row: AccountRow = diesel::update(accounts::table.find(current.id))
            .set((
                accounts::password_hash.eq(Some(hash)),
                accounts::credentials_version.eq(accounts::credentials_version + 1),
                crate::db::bump(accounts::version, accounts::updated_at),
            ))
            .returning(AccountRow::as_returning())
            .get_result(conn)
            .await?;
        Ok((
            Account::from(row),
            Some("account.credentials_reset"),
            Some(password),
        ))
    }

    pub async fn rotate_secret(
        conn: &mut AsyncPgConnection,
        current: AccountRow,
        _self_id: Uuid,
    ) -> Outcome {
        if current.kind != AccountKind::System {
            return Err(ApiError::conflict(
                "a person has a password: use reset-password",
            ));
        }
        let secret = secrets::random_token(32);
        let hash = secrets::hash(secret.clone()).await?;
        let row: AccountRow = diesel::update(accounts::table.find(current.id))
            .set((
                accounts::client_secret_hash.eq(Some(hash)),
                // The tokens issued under the old secret stop at their next request.
                accounts::credentials_version.eq(accounts::credentials_version + 1),
                crate::db::bump(accounts::version, accounts::updated_at),
            ))
            .returning(AccountRow::as_returning())
            .get_result(conn)
            .await?;
        Ok((
            Account::from(row),
            Some("account.credentials_reset"),
            Some(secret),
        ))
    }
}
