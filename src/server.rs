//! What the commands do: find or start the database, bring it up to date,
//! and run the HTTP server until it is told to stop.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::HttpServer;
use actix_web::dev::ServerHandle;
use anyhow::Context;

use crate::auth::Auth;
use crate::auth::token::{secret_problem, to_hex};
use crate::config::Settings;
use crate::db::local::{self, LocalPostgres, Opened};
use crate::ops::MetricsAccess;
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

/// What a command may do with a private cluster another process runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Servers own their cluster: a second one on the same data would fight
    /// over it.
    OwnOnly,
    /// One-shot commands (admin, export, migrate, seed) use the running
    /// cluster, and leave it running.
    MayAttach,
}

impl Database {
    /// `DATABASE_URL` when set; otherwise the private cluster under the data
    /// directory: the one another Sésame runs there (when `sharing` allows),
    /// or one started (and created on first use) here.
    pub fn open(settings: &Settings, command: &str, sharing: Sharing) -> anyhow::Result<Self> {
        if let Some(url) = &settings.database_url {
            return Ok(Self {
                url: url.clone(),
                local: None,
            });
        }
        let dir = &settings.data_dir;
        let options = local::Options {
            durable: true,
            remove_on_stop: false,
            // PostgreSQL's default, or the pool plus a margin for migrations,
            // an operator's psql and a benchmark's clients.
            max_connections: (u32::from(settings.db_pool_size) + 20).max(100),
        };
        let command = format!("sesame {command}");
        match LocalPostgres::open(dir, options, &command, sharing == Sharing::MayAttach)? {
            Opened::Started(cluster) => {
                tracing::info!(data_dir = %dir.display(), "DATABASE_URL is unset: started the private PostgreSQL cluster");
                Ok(Self {
                    url: cluster.url(local::DATABASE),
                    local: Some(cluster),
                })
            }
            Opened::Attached { url, owner } => {
                tracing::info!(
                    data_dir = %dir.display(),
                    owner = %owner.command,
                    pid = owner.pid,
                    "DATABASE_URL is unset: using the private PostgreSQL cluster that is already running"
                );
                Ok(Self { url, local: None })
            }
        }
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

/// Takes the HTTP address before anything slow starts, so that a port in
/// use is reported at once, naming the setting that chooses it.
pub fn listen(settings: &Settings) -> anyhow::Result<TcpListener> {
    let bind = settings.bind;
    let listener = TcpListener::bind(bind).map_err(|error| match error.kind() {
        std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
            "cannot listen on {bind}: another program already uses this address. Choose another \
             port with SESAME_BIND (for example SESAME_BIND=127.0.0.1:8081) or --bind 127.0.0.1:8081"
        ),
        _ => anyhow::Error::new(error).context(format!(
            "cannot listen on {bind} (set SESAME_BIND or --bind to another address)"
        )),
    })?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Takes the metrics address (`SESAME_METRICS_BIND`), if one is set, at the
/// same time as the main one and for the same reason.
pub fn listen_metrics(settings: &Settings) -> anyhow::Result<Option<TcpListener>> {
    let Some(bind) = settings.metrics_bind else {
        return Ok(None);
    };
    if bind == settings.bind {
        anyhow::bail!(
            "SESAME_METRICS_BIND ({bind}) is the address of the API (SESAME_BIND): give the \
             metrics another port, or leave SESAME_METRICS_BIND unset to serve them with the API"
        );
    }
    let listener = TcpListener::bind(bind).map_err(|error| {
        anyhow::Error::new(error).context(format!(
            "cannot listen on {bind} for the metrics (set SESAME_METRICS_BIND or \
             --metrics-bind to another address)"
        ))
    })?;
    listener.set_nonblocking(true)?;
    Ok(Some(listener))
}

/// Serves HTTP on `listener` until SIGINT (Ctrl-C) or SIGTERM: both drain,
/// giving requests in flight up to 30 seconds; a second signal stops at once.
pub async fn serve(
    settings: &Settings,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
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
        cors_origins: settings.cors_origins.clone(),
        metrics: MetricsAccess::new(
            metrics_listener.is_some(),
            settings.metrics_token.as_deref(),
        ),
    };
    // Consultations close at their deadline whatever reads them, and
    // contracts expire after their last day: these sweeps record it and
    // tell the parties soon after.
    actix_web::rt::spawn(db::sweep_every(
        state.pool.clone(),
        Duration::from_secs(30),
        "consultations closed at their deadline",
        async |conn| crate::consultations::service::close_due(conn, None).await,
    ));
    actix_web::rt::spawn(db::sweep_every(
        state.pool.clone(),
        Duration::from_secs(300),
        "contracts expired after their last day",
        async |conn| crate::contracts::service::expire_due(conn).await,
    ));
    // Standing orders' due days become orders; one instance at a time runs
    // it (an advisory lock), each day claimed once, ever.
    actix_web::rt::spawn(db::sweep_every(
        state.pool.clone(),
        Duration::from_secs(u64::from(settings.jobs_period_seconds)),
        "standing orders' days placed",
        async |conn| {
            crate::standing::service::run_due(conn)
                .await
                .map(|run| run.placed + run.failed + run.missed)
        },
    ));
    // Invoices unpaid past their due date become overdue; both parties are told.
    actix_web::rt::spawn(db::sweep_every(
        state.pool.clone(),
        Duration::from_secs(300),
        "invoices overdue",
        async |conn| crate::invoices::service::mark_overdue(conn).await,
    ));
    let metrics = match metrics_listener {
        Some(listener) => {
            let address = listener.local_addr()?;
            let server = metrics_server(listener, state.metrics.clone())?;
            tracing::info!("metrics on http://{address}/metrics");
            let handle = server.handle();
            actix_web::rt::spawn(server);
            Some(handle)
        }
        None => None,
    };
    let mut server = HttpServer::new(move || build_app(state.clone()))
        .shutdown_timeout(30)
        .client_request_timeout(Duration::from_secs(10))
        .keep_alive(Duration::from_secs(60))
        // actix stops at once on SIGINT: Ctrl-C must drain like SIGTERM.
        .disable_signals();
    if let Some(workers) = settings.workers {
        server = server.workers(usize::from(workers));
    }
    let address = listener.local_addr()?;
    let server = server
        .listen(listener)
        .with_context(|| format!("cannot listen on {address}"))?
        .run();
    let second_signal = stop_on_signals(server.handle());
    tracing::info!("listening on http://{address} (API docs at http://{address}/docs/)");
    tokio::select! {
        stopped = server => stopped.context("the HTTP server failed")?,
        () = second_signal => tracing::warn!("stopped at once: requests in flight were cut"),
    }
    if let Some(metrics) = metrics {
        metrics.stop(false).await;
    }
    tracing::info!("HTTP server stopped");
    Ok(())
}

/// The server of the metrics address: one worker, `/metrics` only.
pub fn metrics_server(
    listener: TcpListener,
    access: MetricsAccess,
) -> anyhow::Result<actix_web::dev::Server> {
    let address = listener.local_addr()?;
    Ok(
        HttpServer::new(move || crate::build_metrics_app(access.clone()))
            .workers(1)
            .disable_signals()
            .listen(listener)
            .with_context(|| format!("cannot listen on {address}"))?
            .run(),
    )
}

/// The first SIGINT or SIGTERM drains the server; returns at the second,
/// when the caller should stop without waiting.
async fn stop_on_signals(server: ServerHandle) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::error!("cannot listen for SIGINT and SIGTERM; stop the server with SIGKILL");
        return std::future::pending().await;
    };
    let mut next = async || {
        tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        }
    };
    let first = next().await;
    tracing::info!(
        signal = first,
        "draining requests in flight (up to 30 s); send it again to stop at once"
    );
    actix_web::rt::spawn(server.stop(true));
    let second = next().await;
    tracing::info!(signal = second, "stopping at once");
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
