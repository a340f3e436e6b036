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
    let mut applied: Vec<String> = applied.iter().map(|v| v.to_string()).collect();
    applied.extend(
        run_data_migrations(&mut conn).map_err(|e| format!("data migrations failed: {e}"))?,
    );
    Ok(applied)
}

/// A blocking connection, as migrations use.
pub type BlockingConn = AsyncConnectionWrapper<AsyncPgConnection>;

/// A change to stored data that only the service can compute; returns the rows changed.
type DataMigration = fn(&mut BlockingConn) -> diesel::QueryResult<usize>;

/// Changes to stored data that only the service can compute, in order, each applied once
/// (recorded in `data_migrations`) after the schema migrations.
const DATA_MIGRATIONS: &[(&str, DataMigration)] = &[(
    "household_identity_key_transliterated",
    crate::households::model::rekey_identities,
)];

/// Applies the pending data migrations, each in its own transaction under an advisory
/// lock (instances starting together apply each once); returns their names.
fn run_data_migrations(conn: &mut BlockingConn) -> diesel::QueryResult<Vec<String>> {
    use diesel::prelude::*;
    use diesel::sql_types::{Bool, Text};
    #[derive(QueryableByName)]
    struct Done {
        #[diesel(sql_type = Bool)]
        done: bool,
    }
    let mut applied = Vec::new();
    for (name, migrate) in DATA_MIGRATIONS {
        let ran = conn.transaction(|c| {
            diesel::sql_query(
                "SELECT pg_advisory_xact_lock(hashtextextended('data_migrations', 0))",
            )
            .execute(c)?;
            let done: Done = diesel::sql_query(
                "SELECT EXISTS (SELECT 1 FROM data_migrations WHERE name = $1) AS done",
            )
            .bind::<Text, _>(name)
            .get_result(c)?;
            if done.done {
                return Ok(false);
            }
            let changed = migrate(c)?;
            log::info!("data migration {name}: {changed} rows changed");
            diesel::sql_query("INSERT INTO data_migrations (name) VALUES ($1)")
                .bind::<Text, _>(name)
                .execute(c)?;
            Ok::<_, diesel::result::Error>(true)
        })?;
        if ran {
            applied.push(format!("data: {name}"));
        }
    }
    Ok(applied)
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
