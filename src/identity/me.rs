//! `/v1/me`: who the caller is.

use actix_web::{get, post, web, HttpResponse};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::model::{self, Account, AccountKind, Organisation};
use crate::auth::caller::Caller;
use crate::auth::secrets;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::schema::accounts;
use crate::state::AppState;

/// The caller's account and organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub account: Account,
    /// `null` for a platform admin.
    pub organisation: Option<Organisation>,
}

/// Get the caller's account
///
/// The account the token belongs to, with its organisation and the scopes its tokens carry.
#[utoipa::path(
    tag = "accounts",
    operation_id = "get_me",
    security(("oauth2" = [])),
    responses((status = 200, description = "The caller", body = Me))
)]
#[get("/me")]
pub async fn get_me(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let mut conn = db::conn(&state.pool).await?;
    let (account, organisation) =
        model::find_account_with_organisation(&mut conn, caller.account_id).await?;
    Ok(HttpResponse::Ok().json(Me {
        account: Account::from(account),
        organisation: organisation.map(Organisation::from),
    }))
}

/// A change of one's own password.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "Hx8…temporary", "new_password": "a long passphrase of mine"}))]
pub struct PasswordChange {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub current_password: String,
    /// 12 to 200 characters.
    #[validate(length(min = 12, max = 200))]
    #[schema(min_length = 12, max_length = 200)]
    pub new_password: String,
}

/// Change one's own password
///
/// For a person: replaces the password (a temporary one given by an admin, typically) and
/// revokes every other session of the account.
#[utoipa::path(
    tag = "accounts",
    operation_id = "change_my_password",
    request_body = PasswordChange,
    security(("oauth2" = [])),
    responses(
        (status = 204, description = "Changed"),
        (status = 409, description = "A partner system has no password", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/password")]
pub async fn change_my_password(
    state: web::Data<AppState>,
    caller: Caller,
    body: crate::http::body::ValidJson<PasswordChange>,
) -> ApiResult<HttpResponse> {
    let change = body.0;
    if caller.kind != AccountKind::Person {
        return Err(ApiError::conflict(
            "a partner system has a client secret, not a password",
        ));
    }
    let mut conn = db::conn(&state.pool).await?;
    let account = model::find_account(&mut conn, caller.account_id).await?;
    let ok = secrets::verify(change.current_password, account.password_hash).await?;
    let new_hash = if ok {
        Some(secrets::hash(change.new_password).await?)
    } else {
        None
    };
    let Some(new_hash) = new_hash.filter(|_| ok) else {
        return Err(ApiError::invalid(
            "current_password",
            "wrong_password",
            "the current password is wrong",
        ));
    };
    let account_id = caller.account_id;
    let session = caller.session_id;
    db::transaction(&mut conn, async move |conn: &mut AsyncPgConnection| {
        diesel::update(accounts::table.find(account_id))
            .set((
                accounts::password_hash.eq(Some(new_hash)),
                crate::db::bump(accounts::version, accounts::updated_at),
            ))
            .execute(conn)
            .await?;
        crate::auth::sessions::revoke_all(conn, account_id, session).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
