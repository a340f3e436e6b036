//! The PostgreSQL connection pool and the migrations embedded in the binary.

use std::time::Duration;

use diesel::Connection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::AsyncPgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::ApiError;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;

/// Builds the pool. Connections are made lazily: the service starts (and `/healthz`
/// answers) even while the database is down, and recovers when it comes back.
pub fn pool(database_url: &str, max_size: usize) -> Result<DbPool, String> {
    // No test query at each checkout (one round trip saved per request): a connection that
    // died with the server fails its next query (503, retry) and is then discarded.
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(3)))
        .recycle_timeout(Some(Duration::from_secs(2)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| e.to_string())
}

/// A connection from the pool; 503 when the database cannot be reached.
pub async fn conn(pool: &DbPool) -> Result<DbConn, ApiError> {
    Ok(pool.get().await?)
}

/// Applies pending migrations. Blocking: call it from a blocking thread or before the
/// server starts.
pub fn run_migrations_blocking(database_url: &str) -> Result<Vec<String>, String> {
    let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(database_url)
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| format!("migrations failed: {e}"))?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

/// Whether every embedded migration has been applied (for `/readyz`).
pub async fn migrations_applied(conn: &mut AsyncPgConnection) -> Result<bool, ApiError> {
    use diesel::migration::MigrationSource;
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        version: String,
    }
    let expected: Vec<String> = MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map_err(ApiError::internal)?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    let applied: Vec<Row> = diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
        .load(conn)
        .await?;
    Ok(expected
        .iter()
        .all(|v| applied.iter().any(|r| &r.version == v)))
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
