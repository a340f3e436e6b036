//! The read journal: every response that carries special-category data is recorded (who,
//! which organisation, what, when, through which request) in the transaction of the read.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::SpecialGround;
use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::http::request_context;
use crate::schema::special_category_reads;

/// Records that the caller received these households' special-category grounds.
pub async fn record(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    reads: &[(Uuid, Vec<SpecialGround>)],
) -> Result<(), ApiError> {
    let request_id = request_context::current()
        .map(|c| c.request_id)
        .unwrap_or_default();
    let rows: Vec<_> = reads
        .iter()
        .filter(|(_, grounds)| !grounds.is_empty())
        .map(|(household, grounds)| {
            let mut categories: Vec<&str> = grounds.iter().map(|g| g.category()).collect();
            categories.sort();
            categories.dedup();
            (
                special_category_reads::id.eq(Uuid::now_v7()),
                special_category_reads::household_id.eq(*household),
                special_category_reads::account_id.eq(caller.account_id),
                special_category_reads::organisation_id.eq(caller.organisation_id),
                special_category_reads::categories.eq(serde_json::json!(categories)),
                special_category_reads::request_id.eq(request_id.clone()),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(special_category_reads::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// One recorded read of special-category data.
#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct JournalEntry {
    pub id: Uuid,
    pub account_id: Uuid,
    pub organisation_id: Option<Uuid>,
    /// `health`, `offences`, `violence`.
    #[schema(value_type = Vec<String>)]
    pub categories: serde_json::Value,
    /// The `X-Request-Id` of the response that carried them.
    pub request_id: String,
    pub read_at: DateTime<Utc>,
}
