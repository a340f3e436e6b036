//! What the accounts' endpoints share inside their transaction: the account's event to its
//! organisation, and the guard every account endpoint starts with (the organisation exists,
//! the caller may act on it). The accounts' use cases move here as identity takes the
//! layered shape (issue 21).

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::model::{self, Account};
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::error::ApiError;
use crate::events::{self, NewEvent};

/// The event of an account's creation or change, to its organisation.
pub async fn account_event(
    conn: &mut AsyncPgConnection,
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
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    organisation_id: Uuid,
    action: Action,
) -> Result<(), ApiError> {
    authorize(caller, action).map_err(|e| match e {
        // Never tell a stranger whether the organisation or account exists.
        ApiError::NotFound => ApiError::NotFound,
        other => other,
    })?;
    model::find_organisation(conn, organisation_id).await?;
    Ok(())
}
