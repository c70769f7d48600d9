//! Database access: the connection pool, the embedded migrations, and the
//! private PostgreSQL cluster used when no `DATABASE_URL` is given.

pub mod local;
pub mod owner;
mod pool;
mod prepared;

pub use pool::{DbConn, DbPool, PoolError, Work, build_pool};
pub use prepared::{PrepareOnce, Prepared};

use std::collections::BTreeSet;

use anyhow::Context;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Applies every pending migration and returns the versions it applied.
/// Diesel's migration runner is synchronous, so it runs on the blocking pool.
pub async fn run_migrations(database_url: &str) -> anyhow::Result<Vec<String>> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&url)
            .context("cannot connect to the database to migrate it")?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    })
    .await
    .context("the migration task panicked")?
}

/// Versions of the migrations compiled into this binary.
pub fn embedded_versions() -> BTreeSet<String> {
    MigrationSource::<Pg>::migrations(&MIGRATIONS)
        .map(|migrations| {
            migrations
                .iter()
                .map(|m| m.name().version().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[derive(QueryableByName)]
struct AppliedMigration {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

/// True when the database has exactly the migrations this binary knows.
pub async fn migrations_are_current(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    let applied: BTreeSet<String> =
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
            .load::<AppliedMigration>(conn)
            .await?
            .into_iter()
            .map(|m| m.version)
            .collect();
    Ok(applied == embedded_versions())
}

/// Connects once, outside the pool (for commands and start-up checks).
pub async fn connect(database_url: &str) -> ConnectionResult<AsyncPgConnection> {
    AsyncPgConnection::establish(database_url).await
}

/// Runs `sweep` every `period` for as long as the service runs: the
/// time-driven work (consultations closing at their deadline, contracts
/// expiring). Each sweep is idempotent and transactional, so that any
/// number of instances may run it; a failed one is logged and retried at
/// the next tick.
pub async fn sweep_every<F>(pool: DbPool, period: std::time::Duration, what: &'static str, sweep: F)
where
    F: AsyncFn(&mut AsyncPgConnection) -> crate::error::ApiResult<usize>,
{
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let done = match pool.get().await {
            Ok(mut conn) => sweep(&mut conn).await,
            Err(error) => Err(error.into()),
        };
        match done {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, what, "swept"),
            Err(error) => tracing::warn!(%error, what, "sweep failed; retried at the next tick"),
        }
    }
}
