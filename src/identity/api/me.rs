//! `/v1/me`: who the caller is.

use actix_web::{get, post, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::super::model::{Account, AccountKind, Organisation};
use super::super::requests::PasswordChange;
use super::super::{queries, service};
use crate::auth::caller::Caller;
use crate::auth::secrets;
use crate::db::{self, Connection};
use crate::error::{ApiError, ApiResult};
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
        queries::find_account_with_organisation(&mut conn, caller.account_id).await?;
    Ok(HttpResponse::Ok().json(Me {
        account: Account::from(account),
        organisation: organisation.map(Organisation::from),
    }))
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
    let account = queries::find_account(&mut conn, caller.account_id).await?;
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
    db::transaction(&mut conn, async move |conn: &mut Connection| {
        service::change_password(conn, account_id, session, &new_hash).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
