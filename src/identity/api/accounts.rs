//! `/v1/organisations/{id}/accounts`: an organisation's admins manage its people and systems.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use uuid::Uuid;

use super::super::model::{Account, AccountKind};
use super::super::requests::*;
use super::super::service::{self, guard, AccountChange};
use super::super::{queries, rules};
use crate::auth::caller::Caller;
use crate::auth::policy::Action;
use crate::auth::secrets;
use crate::db::{self, Connection};
use crate::error::{ApiError, ApiResult};
use crate::http::body::ValidJson;
use crate::http::concurrency::{etag, IfMatch, IfMatchHeader};
use crate::http::extractors::Query;
use crate::http::idempotency::{self, Creation, IdempotencyHeader, IdempotencyKey, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
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
    id: web::Path<Uuid>,
    creation: Creation<ValidJson<NewAccount>>,
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
    // The kind and its rules first; the body's value goes to the create below.
    let new = creation.body.0.clone().into_kind();
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
    creation
        .run(
            &state,
            &caller.clone(),
            async move |conn: &mut Connection, _, _| {
                let account =
                    service::create_account(conn, &caller, organisation_id, new, &hash).await?;
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
    let rows = queries::list_accounts(&mut conn, organisation_id, page).await?;
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
    let account = Account::from(
        queries::find_account_in(&mut conn, organisation_id, account_id, false).await?,
    );
    Ok(account_response(&account).into_response(false))
}

/// Runs a change of one account: the organisation and the caller's right to it, the
/// account (404), then [`service::change_account`] under the request's idempotency key.
async fn change_account(
    state: &AppState,
    caller: &Caller,
    key: &IdempotencyKey,
    fingerprint: Vec<u8>,
    (organisation_id, account_id): (Uuid, Uuid),
    if_match: IfMatch,
    change: AccountChange,
) -> ApiResult<HttpResponse> {
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
        queries::find_account_in(&mut conn, organisation_id, account_id, false).await?;
    }
    let caller = caller.clone();
    idempotency::run(
        state,
        &caller.clone(),
        key,
        fingerprint,
        async move |conn: &mut Connection| {
            let ids = (organisation_id, account_id);
            let (account, secret) =
                service::change_account(conn, &caller, ids, &if_match, change).await?;
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
    change_account(
        &state,
        &caller,
        &IdempotencyKey(None),
        fingerprint,
        (organisation_id, account_id),
        if_match,
        AccountChange::Update(patch),
    )
    .await
}

macro_rules! account_action_path {
    ($fn:ident, $change:expr, $path:literal, $op:literal, $summary:literal, $desc:literal, $body:ty) => {
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
            change_account(&state, &caller, &key, fingerprint, (organisation_id, account_id), if_match, $change)
                .await
        }
    };
}

account_action_path!(
    deactivate_account,
    AccountChange::Deactivate,
    "/organisations/{id}/accounts/{account_id}/deactivate",
    "deactivate_account",
    "Deactivate an account",
    "Its tokens stop working at once and its sessions are revoked. You cannot deactivate yourself.",
    Account
);
account_action_path!(
    reactivate_account,
    AccountChange::Reactivate,
    "/organisations/{id}/accounts/{account_id}/reactivate",
    "reactivate_account",
    "Reactivate an account",
    "The account can sign in again (with new tokens).",
    Account
);
account_action_path!(
    reset_password,
    AccountChange::ResetPassword,
    "/organisations/{id}/accounts/{account_id}/reset-password",
    "reset_account_password",
    "Reset a person's password",
    "Issues a new temporary password, shown once, and revokes the person's sessions: their refresh and access tokens stop working at once.",
    AccountWithCredential
);
account_action_path!(
    rotate_secret,
    AccountChange::RotateSecret,
    "/organisations/{id}/accounts/{account_id}/rotate-secret",
    "rotate_account_secret",
    "Rotate a partner system's client secret",
    "Issues a new client secret, shown once; the old one stops working at once, and so do the access tokens issued with it (401 at their next request, on every instance).",
    AccountWithCredential
);
