//! A person's sign-in sessions and their refresh tokens, as stored: issued at sign-in,
//! rotated at each refresh, ended by a revocation or a reuse.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::secrets;
use crate::error::ApiError;
use crate::schema::{refresh_tokens, sessions};
use crate::state::AppState;

/// Ends a person's sign-in session: its refresh tokens can no longer be used, and the
/// access tokens issued in it stop working at their next request (they name the session,
/// which every request reads).
pub async fn end_session(conn: &mut AsyncPgConnection, session: Uuid) -> Result<(), ApiError> {
    diesel::update(
        sessions::table
            .find(session)
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(session))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(())
}

/// A new refresh token of the session, valid `refresh_token_ttl` seconds.
pub async fn new_refresh_token(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    account_id: Uuid,
    session_id: Uuid,
) -> Result<String, diesel::result::Error> {
    let token = secrets::random_token(32);
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::now_v7()),
            refresh_tokens::account_id.eq(account_id),
            refresh_tokens::family_id.eq(session_id),
            refresh_tokens::token_hash.eq(secrets::sha256(&token)),
            refresh_tokens::expires_at
                .eq(Utc::now() + Duration::seconds(state.config.refresh_token_ttl)),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}

/// Opens a person's sign-in session keeping the scopes first granted (a refresh gets those
/// or fewer), with its first refresh token; returns the session's id and that token.
pub async fn open(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    account_id: Uuid,
    scopes: &[crate::identity::model::Scope],
) -> Result<(Uuid, String), ApiError> {
    let session_id = Uuid::now_v7();
    let refresh = crate::db::transaction(conn, async |c: &mut AsyncPgConnection| {
        diesel::insert_into(sessions::table)
            .values((
                sessions::id.eq(session_id),
                sessions::account_id.eq(account_id),
                sessions::scopes.eq(Some(crate::identity::model::join_scopes(scopes))),
            ))
            .execute(c)
            .await?;
        Ok(new_refresh_token(c, state, account_id, session_id).await?)
    })
    .await?;
    Ok((session_id, refresh))
}

/// Revokes every open session of the account but `except` (the caller's own, when it
/// changes its own password).
pub async fn revoke_all(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    except: Option<Uuid>,
) -> Result<(), ApiError> {
    diesel::update(
        sessions::table
            .filter(sessions::account_id.eq(account_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::id.ne(except.unwrap_or(Uuid::nil()))),
    )
    .set(sessions::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(())
}

/// The session (family) of the refresh token with this hash, if any.
pub async fn family_of_refresh_token(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
) -> Result<Option<Uuid>, ApiError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(refresh_tokens::family_id)
        .first(conn)
        .await
        .optional()?)
}

/// A refresh token as a refresh reads it, with its session.
pub struct PresentedToken {
    pub id: Uuid,
    pub account_id: Uuid,
    pub family: Uuid,
    pub expired: bool,
    pub revoked: bool,
    pub used: bool,
    pub session_revoked: bool,
    /// The scopes the session was first granted (joined); `None` for an old session.
    pub granted: Option<String>,
}

/// The refresh token with this hash and its session, locked `FOR UPDATE`.
pub async fn lock_refresh_token(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
) -> Result<Option<PresentedToken>, ApiError> {
    type Row = (
        Uuid,
        Uuid,
        Uuid,
        bool,
        bool,
        bool,
        Option<chrono::DateTime<Utc>>,
        Option<String>,
    );
    let row: Option<Row> = refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(hash))
        .select((
            refresh_tokens::id,
            refresh_tokens::account_id,
            refresh_tokens::family_id,
            refresh_tokens::expires_at.lt(diesel::dsl::now),
            refresh_tokens::revoked_at.is_not_null(),
            refresh_tokens::used_at.is_not_null(),
            sessions::revoked_at,
            sessions::scopes,
        ))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(
        |(id, account_id, family, expired, revoked, used, session_revoked, granted)| {
            PresentedToken {
                id,
                account_id,
                family,
                expired,
                revoked,
                used,
                session_revoked: session_revoked.is_some(),
                granted,
            }
        },
    ))
}

/// A refresh token spent (single use).
pub async fn spend_refresh_token(conn: &mut AsyncPgConnection, id: Uuid) -> Result<(), ApiError> {
    diesel::update(refresh_tokens::table.find(id))
        .set(refresh_tokens::used_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}
