//! What the commands do: find or start the database, bring it up to date,
//! and run the HTTP server until it is told to stop.

use std::time::Duration;

use actix_web::HttpServer;
use anyhow::Context;

use crate::config::Settings;
use crate::db::local::{self, LocalPostgres};
use crate::{AppState, build_app, db, geo};

/// The database the service uses, and the private cluster behind it if any.
pub struct Database {
    pub url: String,
    local: Option<LocalPostgres>,
}

impl Database {
    /// `DATABASE_URL` when set; otherwise the private cluster under the data
    /// directory, started (and created on first use) here.
    pub fn open(settings: &Settings) -> anyhow::Result<Self> {
        if let Some(url) = &settings.database_url {
            return Ok(Self {
                url: url.clone(),
                local: None,
            });
        }
        let dir = &settings.data_dir;
        tracing::info!(data_dir = %dir.display(), "DATABASE_URL is unset: starting the private PostgreSQL cluster");
        let options = local::Options {
            durable: true,
            remove_on_stop: false,
            // PostgreSQL's default, or the pool plus a margin for migrations,
            // an operator's psql and a benchmark's clients.
            max_connections: (u32::from(settings.db_pool_size) + 20).max(100),
        };
        let cluster = LocalPostgres::start(dir, options)?;
        Ok(Self {
            url: cluster.url(local::DATABASE),
            local: Some(cluster),
        })
    }

    /// Stops the private cluster, if this process started one.
    pub fn close(self) -> anyhow::Result<()> {
        if let Some(cluster) = self.local {
            tracing::info!("stopping the private PostgreSQL cluster");
            cluster.stop()?;
            tracing::info!("private PostgreSQL cluster stopped");
        }
        Ok(())
    }
}

/// Applies pending migrations and loads the shipped reference data.
pub async fn prepare(database_url: &str) -> anyhow::Result<()> {
    let applied = db::run_migrations(database_url).await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "migrations applied");
    }
    let mut conn = db::connect(database_url)
        .await
        .context("cannot connect to the database")?;
    if let Some(version) = geo::reference::sync(&mut conn).await? {
        tracing::info!(%version, "reference geography loaded");
    }
    Ok(())
}

/// Serves HTTP on `settings.bind` until SIGINT or SIGTERM; in-flight requests
/// get up to 30 seconds to finish.
pub async fn serve(settings: &Settings, database_url: &str) -> anyhow::Result<()> {
    let pool = db::build_pool(
        database_url,
        usize::from(settings.db_pool_size),
        Duration::from_millis(settings.db_timeout_ms),
    )?;
    let state = AppState {
        pool,
        body_limit: settings.body_limit_bytes(),
    };
    let mut server = HttpServer::new(move || build_app(state.clone()))
        .shutdown_timeout(30)
        .client_request_timeout(Duration::from_secs(10))
        .keep_alive(Duration::from_secs(60));
    if let Some(workers) = settings.workers {
        server = server.workers(usize::from(workers));
    }
    let server = server
        .bind(settings.bind)
        .with_context(|| format!("cannot listen on {}", settings.bind))?;
    for address in server.addrs() {
        tracing::info!("listening on http://{address} (API docs at http://{address}/docs/)");
    }
    server.run().await.context("the HTTP server failed")?;
    tracing::info!("HTTP server stopped");
    Ok(())
}
