//! The database's schema migrations (embedded in the binary) and the data migrations that
//! only the service can compute, applied at start-up before the server listens. Sits above
//! the domains, since a data migration is a domain's computation.

use diesel::Connection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::AsyncPgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::ApiError;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Applies pending migrations. Blocking: call it from a blocking thread or before the
/// server starts.
pub fn run_blocking(database_url: &str) -> Result<Vec<String>, String> {
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

pub use crate::db::BlockingConn;

/// A change to stored data that only the service can compute; returns the rows changed.
type DataMigration = fn(&mut BlockingConn) -> diesel::QueryResult<usize>;

/// Changes to stored data that only the service can compute, in order, each applied once
/// (recorded in `data_migrations`) after the schema migrations.
const DATA_MIGRATIONS: &[(&str, DataMigration)] = &[(
    "household_identity_key_transliterated",
    crate::households::queries::rekey_identities,
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
pub async fn all_applied(conn: &mut AsyncPgConnection) -> Result<bool, ApiError> {
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
