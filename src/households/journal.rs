//! The read journal: every response that carries special-category data is recorded (who,
//! which organisation, what, when, through which request) in the transaction of the read.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::SpecialGround;
use crate::auth::caller::Caller;
use crate::auth::policy::handles_special_categories;
use crate::error::ApiError;
use crate::schema::special_category_reads;

/// Records that the caller received these households' special-category grounds.
pub async fn record(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    reads: &[(Uuid, Vec<SpecialGround>)],
) -> Result<(), ApiError> {
    let request_id = crate::context::current()
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

/// A read whose special-category data is journalled by the read's own SQL statement:
///
/// ```sql
/// WITH page AS (<query>),
///      journal AS (INSERT INTO special_category_reads ... SELECT ... FROM page
///                  WHERE <grounds> <> '[]' AND <the caller sees them> ...)
/// SELECT * FROM page ORDER BY id
/// ```
///
/// One statement is one transaction: the rows are never returned without their journal
/// entries, and a read costs one round trip instead of BEGIN, SELECT, INSERT, COMMIT. The
/// GDPR category of each ground comes from [`SpecialGround::category`] (bound as arrays), so
/// the rule stays in one place. Only the first `shown` rows are journalled: a page reads
/// one row more than it returns, to know whether another page follows.
pub struct JournalledRead<Q> {
    query: Q,
    household_column: &'static str,
    grounds_column: &'static str,
    shown: i64,
    sees_special: bool,
    account_id: Uuid,
    organisation_id: Option<Uuid>,
    request_id: String,
    grounds: Vec<&'static str>,
    categories: Vec<&'static str>,
}

/// Runs `query` as a [`JournalledRead`]: its rows have an `id` (their order), the household's
/// id in `household_column` and its grounds in `special_grounds`; those of the first `shown`
/// rows are journalled if the caller receives them ([`handles_special_categories`]).
pub async fn load<Q, Row>(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    query: Q,
    household_column: &'static str,
    shown: i64,
) -> Result<Vec<Row>, ApiError>
where
    Q: Send + 'static,
    Row: Send + 'static,
    JournalledRead<Q>: diesel_async::methods::LoadQuery<'static, AsyncPgConnection, Row>,
{
    let read = JournalledRead::new(query, caller, household_column, "special_grounds", shown);
    Ok(read.load(conn).await?)
}

impl<Q> JournalledRead<Q> {
    fn new(
        query: Q,
        caller: &Caller,
        household_column: &'static str,
        grounds_column: &'static str,
        shown: i64,
    ) -> Self {
        // A HEAD request reads the rows but sends none of them: nothing to journal.
        let sees_special = handles_special_categories(caller) && !crate::context::is_head();
        let request_id = crate::context::current()
            .map(|c| c.request_id)
            .unwrap_or_default();
        JournalledRead {
            query,
            household_column,
            grounds_column,
            shown,
            sees_special,
            account_id: caller.account_id,
            organisation_id: caller.organisation_id,
            request_id,
            grounds: SpecialGround::ALL.iter().map(|g| g.as_str()).collect(),
            categories: SpecialGround::ALL.iter().map(|g| g.category()).collect(),
        }
    }
}

impl<Q> QueryId for JournalledRead<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for JournalledRead<Q> {
    type SqlType = Q::SqlType;
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for JournalledRead<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Uuid as SqlUuid};
        out.push_sql("WITH page AS (");
        self.query.walk_ast(out.reborrow())?;
        out.push_sql("), journal AS (INSERT INTO special_category_reads (id, household_id, account_id, organisation_id, categories, request_id) SELECT passerelle_uuid_v7(), shown.");
        out.push_identifier(self.household_column)?;
        out.push_sql(", ");
        out.push_bind_param::<SqlUuid, _>(&self.account_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<SqlUuid>, _>(&self.organisation_id)?;
        out.push_sql(", (SELECT jsonb_agg(DISTINCT m.category ORDER BY m.category) FROM unnest(");
        out.push_bind_param::<Array<Text>, _>(&self.grounds)?;
        out.push_sql("::text[], ");
        out.push_bind_param::<Array<Text>, _>(&self.categories)?;
        out.push_sql("::text[]) AS m (ground, category) WHERE shown.");
        out.push_identifier(self.grounds_column)?;
        out.push_sql(" ? m.ground), ");
        out.push_bind_param::<Text, _>(&self.request_id)?;
        out.push_sql(" FROM (SELECT * FROM page ORDER BY id LIMIT ");
        out.push_bind_param::<BigInt, _>(&self.shown)?;
        out.push_sql(") AS shown WHERE ");
        out.push_bind_param::<Bool, _>(&self.sees_special)?;
        out.push_sql("::boolean AND shown.");
        out.push_identifier(self.grounds_column)?;
        out.push_sql(" <> '[]'::jsonb) SELECT * FROM page ORDER BY id");
        Ok(())
    }
}
