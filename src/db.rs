//! The PostgreSQL connection pool, transactions, and the helpers every query layer shares.

use std::time::Duration;

use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::AsyncPgConnection;

use crate::error::ApiError;

/// A connection of the pool, as services and the kernel take it (an `api` names this,
/// never diesel).
pub type Connection = AsyncPgConnection;
pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;

/// Builds the pool of one part of the service (`role`: `http`, `jobs`, `webhooks`), whose
/// connections PostgreSQL knows as `passerelle-<role>` (`application_name`: in
/// `pg_stat_activity` and the server's log, so that an operator, or the benchmark's
/// statement capture, tells the requests' backends from the background work's).
/// Connections are made lazily: the service starts (and `/healthz` answers) even while the
/// database is down, and recovers when it comes back.
pub fn pool(database_url: &str, max_size: usize, role: &str) -> Result<DbPool, String> {
    let sep = if database_url.contains('?') { '&' } else { '?' };
    let database_url = format!("{database_url}{sep}application_name=passerelle-{role}");
    // No test query at each checkout (one round trip saved per request): a connection that
    // died with the server fails its next query (503, retry) and is then discarded.
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(&database_url, config);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(3)))
        .recycle_timeout(Some(Duration::from_secs(2)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| e.to_string())
}

/// A blocking connection, as migrations use.
pub type BlockingConn = AsyncConnectionWrapper<AsyncPgConnection>;

/// A connection from the pool; 503 when the database cannot be reached.
pub async fn conn(pool: &DbPool) -> Result<DbConn, ApiError> {
    Ok(pool.get().await?)
}

/// Runs `work` in one transaction: committed when it succeeds, rolled back otherwise.
/// (A plain function rather than diesel-async's `transaction`, whose closure bounds cannot
/// be named by generic callers.)
pub async fn transaction<R, F>(conn: &mut AsyncPgConnection, work: F) -> Result<R, ApiError>
where
    F: AsyncFnOnce(&mut AsyncPgConnection) -> Result<R, ApiError>,
{
    use diesel_async::{AnsiTransactionManager, TransactionManager};
    AnsiTransactionManager::begin_transaction(conn).await?;
    match work(conn).await {
        Ok(value) => match AnsiTransactionManager::commit_transaction(conn).await {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = AnsiTransactionManager::rollback_transaction(conn).await;
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = AnsiTransactionManager::rollback_transaction(conn).await;
            Err(e)
        }
    }
}

/// Serialises the transactions that check the same "only one" rule: a transaction-scoped
/// advisory lock on `rule` and `key` (hashed to 64 bits), taken before the check, so that a
/// second request checks only once the first has committed or rolled back, whichever
/// instance serves it. `rule` names the rule (`household_identity`); `key` is what must be
/// unique under it. Two different keys whose hashes collide merely wait for each other.
/// For rules a unique index or an exclusion constraint cannot state (a household is a
/// duplicate of those its organisation sees, whoever created them).
pub async fn lock_for_rule(
    conn: &mut AsyncPgConnection,
    rule: &str,
    key: &str,
) -> Result<(), ApiError> {
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(31) || $2, 0))")
        .bind::<Text, _>(rule)
        .bind::<Text, _>(key)
        .execute(conn)
        .await?;
    Ok(())
}

// What every domain's queries share: one keyset page, one version bump.

/// A validated page request: the number of items and the id to start after (see
/// [`crate::http::pagination::PageParams`] for the wire form).
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub after: Option<uuid::Uuid>,
}

impl Page {
    /// How many rows a page reads: one more than it shows, to tell whether more exist.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    /// Splits up to `limit + 1` rows into the page's rows and whether another page exists
    /// (the extra row only tells that).
    pub fn split<T>(&self, mut rows: Vec<T>) -> (Vec<T>, bool) {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        (rows, more)
    }
}

/// The one keyset page of every list: rows after the cursor's id, in id order (UUID v7,
/// time-ordered), `limit + 1` of them so that [`Page::split`] tells whether more exist.
/// Never OFFSET: a walk sees every row once even while rows are inserted.
///
/// `query.keyset(table::id, page)` on a boxed select; add the list's own filters before or
/// after, they are ANDed.
pub trait Keyset<Id>: Sized {
    fn keyset(self, id: Id, page: Page) -> Self;
}

impl<Q, Id> Keyset<Id> for Q
where
    Id: diesel::Expression<SqlType = diesel::sql_types::Uuid> + diesel::ExpressionMethods + Copy,
    Q: diesel::query_dsl::methods::FilterDsl<diesel::dsl::Gt<Id, uuid::Uuid>, Output = Q>
        + diesel::query_dsl::methods::OrderDsl<diesel::dsl::Asc<Id>, Output = Q>
        + diesel::query_dsl::methods::LimitDsl<Output = Q>,
{
    fn keyset(self, id: Id, page: Page) -> Self {
        use diesel::query_dsl::methods::{FilterDsl, LimitDsl, OrderDsl};
        let q = match page.after {
            Some(after) => FilterDsl::filter(self, id.gt(after)),
            None => self,
        };
        LimitDsl::limit(OrderDsl::order(q, id.asc()), page.fetch_limit())
    }
}

/// The one version bump of an update: `version = version + 1, updated_at = now()`, as part
/// of its `.set((…, db::bump(table::version, table::updated_at)))`. Counted by the database,
/// so two writers never give one version twice; the version is the resource's ETag
/// (CONVENTIONS.md, concurrency).
pub fn bump<V, U>(
    version: V,
    updated_at: U,
) -> (
    diesel::dsl::Eq<V, diesel::dsl::Add<V, i32>>,
    diesel::dsl::Eq<U, diesel::dsl::now>,
)
where
    V: diesel::Expression<SqlType = diesel::sql_types::Integer>
        + diesel::ExpressionMethods
        + Copy
        + std::ops::Add<i32>,
    diesel::dsl::Add<V, i32>: diesel::expression::AsExpression<diesel::sql_types::Integer>,
    U: diesel::Expression<SqlType = diesel::sql_types::Timestamptz> + diesel::ExpressionMethods,
{
    (version.eq(version + 1), updated_at.eq(diesel::dsl::now))
}
