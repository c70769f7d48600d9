//! What the commands do: find or start the database, bring it up to date,
//! and run the HTTP server until it is told to stop.

use std::time::Duration;

use actix_web::HttpServer;
use anyhow::Context;

use crate::auth::Auth;
use crate::auth::token::{secret_problem, to_hex};
use crate::config::Settings;
use crate::db::local::{self, LocalPostgres};
use crate::{AppState, build_app, db, geo};

/// How the JWT secret is found.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    /// `SESAME_JWT_SECRET`, required and checked.
    Environment,
    /// `SESAME_JWT_SECRET` if set, otherwise one generated once and kept in
    /// the data directory (demonstrations only).
    EnvironmentOrDataDir,
}

/// The secret that signs access tokens.
pub fn jwt_secret(settings: &Settings, source: SecretSource) -> anyhow::Result<String> {
    if let Some(secret) = &settings.jwt_secret {
        if let Some(problem) = secret_problem(secret) {
            anyhow::bail!(problem);
        }
        return Ok(secret.clone());
    }
    if source == SecretSource::Environment {
        anyhow::bail!(
            "SESAME_JWT_SECRET is not set: `serve` needs a secret of at least 32 random bytes to sign \
             access tokens (for example `export SESAME_JWT_SECRET=$(openssl rand -hex 32)`); \
             `sesame demo` makes one for you"
        );
    }
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = settings.data_dir.join("jwt-secret");
    if let Ok(secret) = std::fs::read_to_string(&path) {
        return Ok(secret.trim().to_owned());
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let secret = to_hex(&bytes);
    std::fs::create_dir_all(&settings.data_dir)?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut file| file.write_all(secret.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))?;
    tracing::warn!(path = %path.display(), "generated a JWT secret for this demo; set SESAME_JWT_SECRET in production");
    Ok(secret)
}

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
pub async fn serve(
    settings: &Settings,
    database_url: &str,
    jwt_secret: &str,
) -> anyhow::Result<()> {
    let pool = db::build_pool(
        database_url,
        usize::from(settings.db_pool_size),
        Duration::from_millis(settings.db_timeout_ms),
    )?;
    let state = AppState {
        pool,
        body_limit: settings.body_limit_bytes(),
        auth: Auth::new(jwt_secret.as_bytes(), settings.trust_forwarded)?,
        exports: crate::opendata::export_slots(usize::from(settings.max_exports)),
        builds: crate::opendata::export_slots(2),
        cors_origins: settings.cors_origins.clone(),
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

/// Creates a user directly in the database (the `admin create-user` command).
pub async fn create_user(
    database_url: &str,
    email: &str,
    display_name: &str,
    password: &str,
    is_admin: bool,
) -> anyhow::Result<crate::auth::queries::User> {
    use crate::auth::password::{Hasher, check_strength};
    use crate::auth::queries::{NewUser, insert_user};
    let email = crate::ids::normalise_email(email);
    if let Some(problem) = crate::ids::check_email(&email) {
        anyhow::bail!("email {problem}");
    }
    check_strength("password", password, &[&email, display_name])
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash = Hasher::new(1)?
        .hash(password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut conn = db::connect(database_url).await?;
    let user = NewUser {
        id: uuid::Uuid::now_v7(),
        email: &email,
        display_name: display_name.trim(),
        password_hash: &hash,
        is_admin,
    };
    insert_user(&mut conn, &user)
        .await
        .with_context(|| format!("cannot create {email} (does it exist already?)"))
}
