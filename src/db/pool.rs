//! The connection pool, and the bounds on every wait for the database.
//!
//! Three bounds hold whatever the database does:
//! - **waiting for a connection** (a free slot, or a new connection's TCP
//!   connect, authentication and set-up): the pool's `wait` (`SESAME_DB_TIMEOUT_MS`);
//! - **on the server**, every session starts with [`STATEMENT_TIMEOUT`],
//!   [`LOCK_TIMEOUT`] and [`IDLE_IN_TRANSACTION_TIMEOUT`]; work that needs more
//!   or less says so with `SET LOCAL` in its transaction;
//! - **on the client**, whoever holds a connection has a deadline. When it
//!   passes, the connection's own driver task sends PostgreSQL a cancel
//!   request and closes the socket: the query waiting on it fails at once
//!   (503), even when the server has gone silent (paused, or behind a
//!   network black hole) and would never answer nor notice.
//!
//! TCP keepalives find a peer that vanished while a connection sat idle.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult, Timeouts};
use deadpool::{Runtime, managed::TimeoutType};
use diesel::ConnectionError;
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::PoolableConnection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tokio_postgres::NoTls;

/// Default bound of one statement on the server. Ordinary requests run
/// queries of milliseconds; five seconds is far above any of them and well
/// below what a person or a load balancer waits.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default bound of a wait for a row or table lock: a transaction another
/// one holds a row from gets `busy` instead of queueing behind it.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(2);
/// A session left inside a transaction this long is ended by the server, so
/// that a stuck client can never hold locks for long.
pub const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(30);
/// What the client allows past the server's own bound, so that on a live
/// server PostgreSQL's precise error comes first.
const MARGIN: Duration = Duration::from_secs(1);
/// `/readyz` answers within a second, whatever the database does: the
/// rest of the second is left for the answer itself on a loaded machine.
pub const PROBE_DEADLINE: Duration = Duration::from_millis(750);

/// Why a connection is wanted, which sets its deadline.
#[derive(Debug, Clone, Copy)]
pub enum Work {
    /// An ordinary request: statements within [`STATEMENT_TIMEOUT`].
    Request,
    /// A checkout: like a request, and one of the checkout slots (at most
    /// half the pool) so that checkouts waiting on locked offers never leave
    /// other requests without connections.
    Checkout,
    /// Work whose transaction raises `statement_timeout` with `SET LOCAL`
    /// (aggregates, open data builds and pages): its deadline, all included.
    Long(Duration),
}

impl Work {
    fn deadline(self) -> Duration {
        match self {
            Self::Request | Self::Checkout => STATEMENT_TIMEOUT + MARGIN,
            Self::Long(deadline) => deadline,
        }
    }
}

pub type PoolError = managed::PoolError<diesel_async::pooled_connection::PoolError>;

/// A pooled connection: diesel's, plus what its driver task watches.
pub struct PgConn {
    conn: AsyncPgConnection,
    /// The holder's deadline; `None` while the connection is idle in the pool.
    deadline: watch::Sender<Option<Instant>>,
}

pub struct Manager {
    config: tokio_postgres::Config,
    drivers: Drivers,
}

/// The runtime (one thread) that owns the pool's sockets and drives them.
/// A connection opened by an HTTP worker would otherwise die with that
/// worker's runtime: workers stop one by one while the server drains, and
/// a request still running on another worker would lose its connection.
struct Drivers(Option<tokio::runtime::Runtime>);

impl Drivers {
    fn new() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sesame-db")
            .enable_all()
            .build()?;
        Ok(Self(Some(runtime)))
    }

    fn handle(&self) -> Option<&tokio::runtime::Handle> {
        self.0.as_ref().map(tokio::runtime::Runtime::handle)
    }
}

impl Drop for Drivers {
    fn drop(&mut self) {
        // The pool may be dropped inside an async task, where a runtime
        // cannot block to shut down.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl managed::Manager for Manager {
    type Type = PgConn;
    type Error = diesel_async::pooled_connection::PoolError;

    async fn create(&self) -> Result<PgConn, Self::Error> {
        open(&self.config, &self.drivers)
            .await
            .map_err(diesel_async::pooled_connection::PoolError::ConnectionError)
    }

    async fn recycle(&self, conn: &mut PgConn, _: &Metrics) -> RecycleResult<Self::Error> {
        // No round trip: a closed socket (killed session, passed deadline)
        // or a transaction left open marks the connection broken.
        if conn.conn.is_broken() {
            return Err(RecycleError::Message("broken connection".into()));
        }
        Ok(())
    }
}

/// Drives one connection until its client is dropped or its socket fails,
/// or until its holder's deadline passes: then the server is asked to cancel
/// the query and the socket is closed, so that the query waiting on it fails
/// at once even if the server never answers.
async fn drive(
    connection: tokio_postgres::Connection<
        tokio_postgres::Socket,
        tokio_postgres::tls::NoTlsStream,
    >,
    cancel: tokio_postgres::CancelToken,
    mut watched: watch::Receiver<Option<Instant>>,
) {
    tokio::pin!(connection);
    loop {
        let due = *watched.borrow_and_update();
        tokio::select! {
            _ = &mut connection => return,
            changed = watched.changed() => {
                if changed.is_err() {
                    let _ = connection.await;
                    return;
                }
            }
            () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                tracing::warn!("database deadline passed: query cancelled, connection closed");
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(10), cancel.cancel_query(NoTls))
                        .await;
                });
                return;
            }
        }
    }
}

/// Connects on the drivers' runtime, which then drives the connection in a
/// task of its own that also enforces the holder's deadline.
async fn open(
    config: &tokio_postgres::Config,
    drivers: &Drivers,
) -> Result<PgConn, ConnectionError> {
    let bad = |e: String| ConnectionError::BadConnection(e);
    let config = config.clone();
    let handle = drivers
        .handle()
        .ok_or_else(|| bad("the pool is closed".into()))?;
    let opened = handle.spawn(async move {
        // A silent server never finishes the start-up: give up with the pool.
        let wait = config
            .get_connect_timeout()
            .copied()
            .unwrap_or(Duration::from_secs(10));
        let (client, connection) = tokio::time::timeout(wait, config.connect(NoTls))
            .await
            .map_err(|_| "timed out connecting".to_owned())?
            .map_err(|e| e.to_string())?;
        let (deadline, watched) = watch::channel(None::<Instant>);
        tokio::spawn(drive(connection, client.cancel_token(), watched));
        Ok::<_, String>((client, deadline))
    });
    // Given up on (the pool's create timeout): stop connecting, too.
    let _abort = AbortOnDrop(opened.abort_handle());
    let (client, deadline) = opened.await.map_err(|e| bad(e.to_string()))?.map_err(bad)?;
    let conn = AsyncPgConnection::try_from(client)
        .await
        .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
    Ok(PgConn { conn, deadline })
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A connection checked out of the pool, with a deadline; back in the pool
/// (deadline lifted) when dropped.
pub struct DbConn {
    conn: managed::Object<Manager>,
    _slot: Option<OwnedSemaphorePermit>,
}

impl Deref for DbConn {
    type Target = AsyncPgConnection;
    fn deref(&self) -> &AsyncPgConnection {
        &self.conn.conn
    }
}

impl DerefMut for DbConn {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        &mut self.conn.conn
    }
}

impl Drop for DbConn {
    fn drop(&mut self) {
        self.conn.deadline.send_replace(None);
    }
}

/// The pool, and the slots that cap concurrent checkouts.
#[derive(Clone)]
pub struct DbPool {
    pool: managed::Pool<Manager>,
    checkouts: Arc<Semaphore>,
    wait: Duration,
}

impl DbPool {
    /// A connection for an ordinary request.
    pub async fn get(&self) -> Result<DbConn, PoolError> {
        self.get_for(Work::Request).await
    }

    /// A connection for `work`, waiting at most the pool's `wait` for it.
    pub async fn get_for(&self, work: Work) -> Result<DbConn, PoolError> {
        let slot = match work {
            Work::Checkout => Some(
                tokio::time::timeout(self.wait, self.checkouts.clone().acquire_owned())
                    .await
                    .map_err(|_| PoolError::Timeout(TimeoutType::Wait))?
                    .map_err(|_| PoolError::Closed)?,
            ),
            _ => None,
        };
        let conn = self.pool.get().await?;
        conn.deadline
            .send_replace(Some(Instant::now() + work.deadline()));
        Ok(DbConn { conn, _slot: slot })
    }

    /// A connection for `/readyz`: found, connected and used within
    /// [`PROBE_DEADLINE`] in all.
    pub async fn get_probe(&self) -> Result<DbConn, PoolError> {
        let started = Instant::now();
        let half = PROBE_DEADLINE / 2;
        let timeouts = Timeouts {
            wait: Some(half),
            create: Some(half),
            recycle: Some(half),
        };
        let conn = self.pool.timeout_get(&timeouts).await?;
        conn.deadline.send_replace(Some(started + PROBE_DEADLINE));
        Ok(DbConn { conn, _slot: None })
    }
}

/// A pool of at most `max_size` connections that never makes a request wait
/// longer than `wait` for one: past it the request gets a 503.
pub fn build_pool(database_url: &str, max_size: usize, wait: Duration) -> anyhow::Result<DbPool> {
    use anyhow::Context;
    let mut config: tokio_postgres::Config = database_url
        .parse()
        .context("DATABASE_URL is not a valid PostgreSQL URL")?;
    let ms = |d: Duration| d.as_millis();
    let session = format!(
        "-c statement_timeout={} -c lock_timeout={} -c idle_in_transaction_session_timeout={}",
        ms(STATEMENT_TIMEOUT),
        ms(LOCK_TIMEOUT),
        ms(IDLE_IN_TRANSACTION_TIMEOUT)
    );
    let options = match config.get_options() {
        Some(given) if !given.is_empty() => format!("{given} {session}"),
        _ => session,
    };
    config
        .options(options)
        .connect_timeout(wait)
        // A vanished peer (host down, network black hole) is found in about
        // a minute on an idle connection, at once when data goes unanswered.
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .keepalives_interval(Duration::from_secs(10))
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(30));
    let drivers = Drivers::new().context("cannot start the database connections' runtime")?;
    let pool = managed::Pool::builder(Manager { config, drivers })
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(wait))
        .create_timeout(Some(wait))
        .recycle_timeout(Some(wait))
        .build()
        .context("cannot build the database connection pool")?;
    Ok(DbPool {
        pool,
        checkouts: Arc::new(Semaphore::new((max_size / 2).max(1))),
        wait,
    })
}
