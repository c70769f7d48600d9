//! Faults under a steady stream of checkouts. The database: every session
//! killed, then the cluster crashed (`pg_ctl stop -m immediate`) and started
//! again; meanwhile the service answers 503 quickly with `Retry-After`,
//! afterwards it recovers by itself. The service: SIGTERM while checkouts
//! run. Either way every acknowledged checkout is in the database, once, and
//! nothing is half-written.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{Datelike, Days, Weekday};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sesame::db::local::{self, LocalPostgres};
use sesame::schema::{offers, orders};
use uuid::Uuid;

use crate::helpers::{SIRETS, TestApp, TestDatabase, assert_problem, canteen, farm};

/// What the client saw: each Idempotency-Key answered 201, with its orders.
type Acknowledged = Arc<Mutex<HashMap<String, Vec<String>>>>;

/// `count` clients checking `basket` out in a loop at `url` until stopped,
/// each acknowledged order recorded.
struct Streams {
    acknowledged: Acknowledged,
    stop: Arc<AtomicBool>,
    handles: Vec<tokio::task::JoinHandle<usize>>,
}

impl Streams {
    fn start(
        count: usize,
        client: &reqwest::Client,
        url: String,
        token: &str,
        basket: &Value,
    ) -> Self {
        let acknowledged: Acknowledged = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let handles = (0..count)
            .map(|_| {
                tokio::spawn(checkout_stream(
                    client.clone(),
                    url.clone(),
                    token.to_owned(),
                    basket.clone(),
                    acknowledged.clone(),
                    stop.clone(),
                ))
            })
            .collect();
        Self {
            acknowledged,
            stop,
            handles,
        }
    }

    /// Stops the clients and waits for them.
    async fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        for handle in self.handles {
            handle.await.unwrap();
        }
    }
}

/// Checks out one basket after another, like a careful client: on a 503, a
/// 409 "in progress" or a dropped connection it retries with the same key.
async fn checkout_stream(
    client: reqwest::Client,
    url: String,
    token: String,
    body: Value,
    acknowledged: Acknowledged,
    stop: Arc<AtomicBool>,
) -> usize {
    let mut retries = 0;
    while !AtomicBool::load(&stop, Ordering::Relaxed) {
        let key = Uuid::now_v7().to_string();
        loop {
            let sent = client
                .post(&url)
                .bearer_auth(&token)
                .header("Idempotency-Key", &key)
                .json(&body)
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            match sent {
                Ok(response) if response.status() == 201 => {
                    let created: Value = response.json().await.unwrap();
                    let ids = created["orders"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|o| o["id"].as_str().unwrap().to_owned())
                        .collect();
                    acknowledged.lock().unwrap().insert(key.clone(), ids);
                    break;
                }
                Ok(response) if matches!(response.status().as_u16(), 503 | 409) => {
                    assert!(
                        response.headers().contains_key("retry-after"),
                        "{response:?}"
                    );
                }
                Ok(response) => panic!(
                    "unexpected {}: {}",
                    response.status(),
                    response.text().await.unwrap()
                ),
                Err(_) if AtomicBool::load(&stop, Ordering::Relaxed) => break,
                Err(_) => {}
            }
            retries += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    retries
}

async fn wait_for(acknowledged: &Acknowledged, count: usize, within: Duration) -> Duration {
    let started = Instant::now();
    while acknowledged.lock().unwrap().len() < count {
        assert!(
            started.elapsed() < within,
            "fewer than {count} checkouts within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

/// A verified farm with 100,000 kg of carrots, and a verified canteen whose
/// buyer is returned with a 5 kg basket.
async fn shop(app: &TestApp) -> (crate::helpers::Session, Value) {
    let admin = app.admin().await;
    let marie = app.signed_up("marie@ferme-envol.fr").await;
    let farm_id = app.create_organisation(&marie, farm(SIRETS[0])).await;
    app.verify(&admin, &farm_id).await;
    let claire = app.signed_up("claire@mairie-smo.fr").await;
    let canteen_id = app.create_organisation(&claire, canteen(SIRETS[2])).await;
    app.verify(&admin, &canteen_id).await;
    let offer = json!({
        "name": "Carottes", "family": "FRUITS_ET_LEGUMES", "labels": [], "origin": "FRANCE",
        "unit": "KGM", "price_cents": 180, "vat_rate": "5.5", "stock": "100000",
        "min_order_quantity": "5", "order_step": "5", "lead_time_days": 1,
        "delivery_weekdays": [1, 2, 3, 4, 5, 6, 7]
    });
    let created = app
        .post_json(
            &format!("/api/v1/organisations/{farm_id}/offers"),
            &offer,
            Some(&marie.access),
        )
        .await;
    assert_eq!(created.status(), 201);
    let offer_id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut date = chrono::Utc::now().date_naive() + Days::new(7);
    while date.weekday() == Weekday::Sun {
        date = date + Days::new(1);
    }
    let basket = json!({"buyer_id": canteen_id, "delivery_date": date,
                        "lines": [{"offer_id": offer_id, "quantity": "5"}]});

    (claire, basket)
}

/// A migrated database on a cluster of the test's own (to crash, kill or
/// pause), and the app on it: the cluster's folder, the cluster, its URL.
async fn on_own_cluster(
    name: &str,
    options: local::Options,
) -> (std::path::PathBuf, LocalPostgres, String, TestApp) {
    let dir = std::env::temp_dir().join(format!("{name}-{}", Uuid::new_v4().simple()));
    let cluster = LocalPostgres::start(&dir, options).expect("own cluster");
    let url = cluster.url(local::DATABASE);
    sesame::server::prepare(&url).await.expect("prepare");
    let app = TestApp::spawn_on(TestDatabase::external(url.clone()), &url).await;
    (dir, cluster, url, app)
}

#[tokio::test]
async fn acknowledged_checkouts_survive_killed_sessions_and_a_crashed_database() {
    // Durable: a crash must lose nothing that was committed.
    let options = local::Options {
        durable: true,
        remove_on_stop: false,
        max_connections: 40,
    };
    let (dir, cluster, url, app) = on_own_cluster("sesame-faults", options).await;

    let (claire, basket) = shop(&app).await;

    let streams = Streams::start(
        4,
        &app.client,
        app.url("/api/v1/orders"),
        &claire.access,
        &basket,
    );
    let acknowledged = streams.acknowledged.clone();
    wait_for(&acknowledged, 20, Duration::from_secs(30)).await;

    // Every database session killed at once.
    let mut db = AsyncPgConnection::establish(&url).await.unwrap();
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
          WHERE pid <> pg_backend_pid() AND datname = current_database()",
    )
    .execute(&mut db)
    .await
    .unwrap();
    drop(db);
    let before = acknowledged.lock().unwrap().len();
    let recovered = wait_for(&acknowledged, before + 20, Duration::from_secs(30)).await;
    assert!(
        recovered < Duration::from_secs(10),
        "{recovered:?} to recover from killed sessions"
    );

    // The cluster crashes.
    tokio::task::spawn_blocking(move || cluster.crash())
        .await
        .unwrap()
        .expect("crash");
    for _ in 0..3 {
        let started = Instant::now();
        let response = app.get("/readyz").await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "readyz took {:?}",
            started.elapsed()
        );
        assert_eq!(response.headers()["retry-after"], "5");
        assert_problem(response, 503, "service-unavailable").await;
        let started = Instant::now();
        let response = app
            .client
            .post(app.url("/api/v1/orders"))
            .bearer_auth(&claire.access)
            .header("Idempotency-Key", Uuid::now_v7().to_string())
            .json(&basket)
            .send()
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "checkout took {:?}",
            started.elapsed()
        );
        assert_problem(response, 503, "service-unavailable").await;
    }

    let options = local::Options {
        remove_on_stop: true,
        ..options
    };
    let restarted = tokio::task::spawn_blocking(move || LocalPostgres::start(&dir, options))
        .await
        .unwrap()
        .expect("restart after the crash");
    let before = acknowledged.lock().unwrap().len();
    let recovered = wait_for(&acknowledged, before + 20, Duration::from_secs(30)).await;
    assert!(
        recovered < Duration::from_secs(10),
        "{recovered:?} to recover from the crash"
    );
    streams.finish().await;

    // Every acknowledged checkout is there, once; nothing else is.
    let acknowledged = acknowledged.lock().unwrap().clone();
    let mut db = AsyncPgConnection::establish(&restarted.url(local::DATABASE))
        .await
        .unwrap();
    let stored: Vec<Uuid> = orders::table
        .select(orders::id)
        .load(&mut db)
        .await
        .unwrap();
    let mut expected: Vec<Uuid> = acknowledged
        .values()
        .flatten()
        .map(|id| id.parse().unwrap())
        .collect();
    expected.sort();
    let mut stored_sorted = stored.clone();
    stored_sorted.sort();
    assert_eq!(expected.len(), acknowledged.len(), "one order per checkout");
    assert_eq!(
        stored_sorted, expected,
        "the orders stored are exactly those acknowledged"
    );
    let reserved: Decimal = offers::table
        .select(offers::stock_reserved)
        .get_result(&mut db)
        .await
        .unwrap();
    assert_eq!(
        reserved,
        Decimal::from(5 * expected.len()),
        "stock reserved once per order"
    );
    drop(db);
    tokio::task::spawn_blocking(move || restarted.stop())
        .await
        .unwrap()
        .expect("stop");
}

/// The real binary (`sesame serve`) gets SIGTERM while four clients check
/// out: it stops accepting, finishes what it started and exits 0. Every
/// acknowledged checkout is stored; every stored order is whole (its line,
/// its event, its stock), acknowledged or not.
#[tokio::test]
async fn sigterm_during_checkouts_loses_nothing_acknowledged_and_writes_nothing_by_half() {
    let app = TestApp::spawn().await;
    let (claire, basket) = shop(&app).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut service = tokio::process::Command::new(env!("CARGO_BIN_EXE_sesame"))
        .arg("serve")
        .env("DATABASE_URL", &app.database.url)
        .env("SESAME_BIND", format!("127.0.0.1:{port}"))
        .env("SESAME_JWT_SECRET", crate::helpers::TEST_JWT_SECRET)
        .env("SESAME_LOG", "warn")
        .env("SESAME_WORKERS", "2")
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while !reqwest::get(format!("{base}/readyz"))
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the service did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let streams = Streams::start(
        4,
        &reqwest::Client::new(),
        format!("{base}/api/v1/orders"),
        &claire.access,
        &basket,
    );
    let acknowledged = streams.acknowledged.clone();
    wait_for(&acknowledged, 30, Duration::from_secs(30)).await;
    let pid = service.id().unwrap().to_string();
    let signalled = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(signalled.success());
    let exited = tokio::time::timeout(Duration::from_secs(35), service.wait())
        .await
        .expect("the service stops within its 30 s grace period")
        .unwrap();
    assert!(exited.success(), "{exited:?}");
    streams.finish().await;

    let acknowledged = acknowledged.lock().unwrap().clone();
    let mut db = app.db().await;
    #[derive(diesel::QueryableByName, Debug)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        lines: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        events: i64,
    }
    let stored: Vec<Stored> = diesel::sql_query(
        "SELECT o.id, (SELECT count(*) FROM order_lines l WHERE l.order_id = o.id) AS lines, \
                (SELECT count(*) FROM order_events e WHERE e.order_id = o.id) AS events FROM orders o",
    )
    .load(&mut db)
    .await
    .unwrap();
    for order in &stored {
        assert_eq!((order.lines, order.events), (1, 1), "{order:?} is whole");
    }
    let ids: std::collections::HashSet<Uuid> = stored.iter().map(|o| o.id).collect();
    for (key, orders) in &acknowledged {
        for id in orders {
            assert!(
                ids.contains(&id.parse().unwrap()),
                "acknowledged {key} lost"
            );
        }
    }
    assert!(stored.len() >= acknowledged.len());
    let reserved: Decimal = offers::table
        .select(offers::stock_reserved)
        .get_result(&mut db)
        .await
        .unwrap();
    assert_eq!(
        reserved,
        Decimal::from(5 * stored.len()),
        "stock held by the stored orders only"
    );
}

/// What a stream of reads saw: the slowest answer, and any that was not 200.
#[derive(Default)]
struct ReadLog {
    slowest_readyz: Duration,
    slowest_read: Duration,
    count: usize,
    failures: Vec<String>,
}

/// Reads that have nothing to do with the held offer's checkout, over and
/// over until `stop`: readiness, the public search, a commune, the held
/// offer itself (a plain read takes no row lock).
async fn unrelated_reads(
    client: reqwest::Client,
    base: String,
    offer_id: String,
    stop: Arc<AtomicBool>,
) -> ReadLog {
    let mut log = ReadLog::default();
    let paths = [
        "/readyz".to_owned(),
        "/api/v1/offers?limit=5".to_owned(),
        "/api/v1/communes/91103".to_owned(),
        format!("/api/v1/offers/{offer_id}"),
    ];
    while !AtomicBool::load(&stop, Ordering::Relaxed) {
        for path in &paths {
            let started = Instant::now();
            let response = client.get(format!("{base}{path}")).send().await.unwrap();
            let took = started.elapsed();
            if path == "/readyz" {
                log.slowest_readyz = log.slowest_readyz.max(took);
            } else {
                log.slowest_read = log.slowest_read.max(took);
            }
            log.count += 1;
            if response.status() != 200 {
                log.failures
                    .push(format!("{path}: {}", response.status().as_u16()));
            }
        }
    }
    log
}

/// An operator's session holds one offer's row (`SELECT … FOR UPDATE` in an
/// open transaction) for longer than a checkout's lock timeout, while more
/// checkouts of that offer arrive at once than the pool has connections.
/// Each gets `busy` (409, `Retry-After`) within about a second and nothing
/// is reserved; meanwhile readiness and unrelated reads keep answering 200
/// quickly. Once the row is free, the offer sells again, exactly once.
#[tokio::test]
async fn a_held_offer_gives_busy_checkouts_quickly_and_starves_nothing() {
    let app = TestApp::spawn().await;
    let (claire, basket) = shop(&app).await;
    let offer_id = basket["lines"][0]["offer_id"].as_str().unwrap().to_owned();
    // A running service: the pool's connections are already open.
    let warm: Vec<_> = (0..16)
        .map(|_| app.client.get(app.url("/api/v1/offers?limit=5")).send())
        .collect();
    for response in futures_util::future::join_all(warm).await {
        assert_eq!(response.unwrap().status(), 200);
    }

    let mut operator = app.db().await;
    operator
        .batch_execute(&format!(
            "BEGIN; SELECT id FROM offers WHERE id = '{offer_id}' FOR UPDATE"
        ))
        .await
        .unwrap();
    let held = Instant::now();

    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            tokio::spawn(unrelated_reads(
                app.client.clone(),
                app.address.clone(),
                offer_id.clone(),
                stop.clone(),
            ))
        })
        .collect();
    // More than the pool's 16 connections.
    let checkouts: Vec<_> = (0..24)
        .map(|_| {
            let request = app
                .client
                .post(app.url("/api/v1/orders"))
                .bearer_auth(&claire.access)
                .header("Idempotency-Key", Uuid::now_v7().to_string())
                .json(&basket);
            tokio::spawn(async move {
                let started = Instant::now();
                let response = request.send().await.unwrap();
                (started.elapsed(), response)
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    let mut times = Vec::new();
    for checkout in checkouts {
        let (took, response) = checkout.await.unwrap();
        slowest = slowest.max(took);
        times.push(took.as_millis());
        assert_eq!(response.headers()["retry-after"], "2");
        let problem = assert_problem(response, 409, "busy").await;
        assert!(
            problem["detail"].as_str().unwrap().contains("retry"),
            "{problem}"
        );
    }
    times.sort();
    assert!(times[0] < 2000, "the first busy answers took {times:?} ms");
    // Three waves of eight checkouts (half the pool), a second of lock
    // timeout each, plus connecting and authenticating.
    assert!(
        slowest < Duration::from_secs(8),
        "a busy checkout took {slowest:?}: {times:?} ms"
    );
    // The reads go on while the row stays held.
    let mut reads_during = 0;
    while held.elapsed() < Duration::from_secs(3) || reads_during == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        reads_during += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let mut reads = 0;
    let (mut slowest_ready, mut slowest_read) = (Duration::ZERO, Duration::ZERO);
    for reader in readers {
        let log = reader.await.unwrap();
        assert!(log.failures.is_empty(), "reads failed: {:?}", log.failures);
        assert!(
            log.slowest_readyz < Duration::from_secs(1),
            "readyz took {:?}",
            log.slowest_readyz
        );
        assert!(
            log.slowest_read < Duration::from_secs(1),
            "a read took {:?}",
            log.slowest_read
        );
        reads += log.count;
        slowest_ready = slowest_ready.max(log.slowest_readyz);
        slowest_read = slowest_read.max(log.slowest_read);
    }
    assert!(reads >= 20, "only {reads} reads while the row was held");
    eprintln!(
        "held offer: busy checkouts answered in {times:?} ms; {reads} unrelated reads, all 200, \
         slowest {slowest_read:?}, slowest /readyz {slowest_ready:?}"
    );

    let mut db = app.db().await;
    let reserved: Decimal = offers::table
        .select(offers::stock_reserved)
        .get_result(&mut db)
        .await
        .unwrap();
    assert_eq!(reserved, Decimal::ZERO, "a busy checkout reserves nothing");
    let stored: i64 = orders::table.count().get_result(&mut db).await.unwrap();
    assert_eq!(stored, 0);

    operator.batch_execute("ROLLBACK").await.unwrap();
    let response = app
        .client
        .post(app.url("/api/v1/orders"))
        .bearer_auth(&claire.access)
        .header("Idempotency-Key", Uuid::now_v7().to_string())
        .json(&basket)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let reserved: Decimal = offers::table
        .select(offers::stock_reserved)
        .get_result(&mut db)
        .await
        .unwrap();
    assert_eq!(reserved, Decimal::from(5), "reserved once");
    let stored: i64 = orders::table.count().get_result(&mut db).await.unwrap();
    assert_eq!(stored, 1);
}

/// The cluster's processes: the postmaster (first line of
/// `postmaster.pid`) and every process whose parent it is.
fn cluster_processes(pgdata: &std::path::Path) -> Vec<i32> {
    let pid_file = std::fs::read_to_string(pgdata.join("postmaster.pid")).unwrap();
    let postmaster: i32 = pid_file.lines().next().unwrap().trim().parse().unwrap();
    let mut pids = vec![postmaster];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue; // already gone
        };
        // "pid (comm) state ppid …": comm may hold spaces, so read after ')'.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<i32>().ok());
        if parent == Some(postmaster) {
            pids.push(pid);
        }
    }
    pids
}

/// The cluster paused as a whole (SIGSTOP: a frozen VM, a network black
/// hole); resumed when dropped, even if the test fails on the way.
struct Paused(Vec<i32>);

impl Paused {
    fn pause(pgdata: &std::path::Path) -> Self {
        let pids = cluster_processes(pgdata);
        // The postmaster first, so that it starts nothing new meanwhile.
        for pid in &pids {
            assert_eq!(
                unsafe { libc::kill(*pid, libc::SIGSTOP) },
                0,
                "SIGSTOP {pid}"
            );
        }
        Self(pids)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        for pid in self.0.iter().rev() {
            unsafe { libc::kill(*pid, libc::SIGCONT) };
        }
    }
}

/// A request during the pause: it must answer 503 problem+json with
/// `Retry-After` within `bound`; returns how long it took.
async fn answers_503_within(request: reqwest::RequestBuilder, bound: Duration) -> Duration {
    let started = Instant::now();
    let response = request.send().await.unwrap();
    let took = started.elapsed();
    let url = response.url().path().to_owned();
    assert!(took < bound, "{url} took {took:?} (bound {bound:?})");
    assert_eq!(response.headers()["retry-after"], "5", "{url}");
    assert_problem(response, 503, "service-unavailable").await;
    took
}

/// The test's own cluster is paused (SIGSTOP on the postmaster and all its
/// children) for 20 s under a stream of checkouts, then resumed. During
/// the pause every request answers 503 with `Retry-After` within its bound
/// (`/readyz` within a second); after SIGCONT the service serves again
/// within a second, without a restart; every acknowledged order is stored,
/// once.
#[tokio::test]
async fn a_paused_database_gives_bounded_503s_and_recovery_within_a_second() {
    let options = local::Options {
        durable: false,
        remove_on_stop: true,
        max_connections: 60,
    };
    let (dir, cluster, url, app) = on_own_cluster("sesame-pause", options).await;
    let (claire, basket) = shop(&app).await;

    let streams = Streams::start(
        2,
        &app.client,
        app.url("/api/v1/orders"),
        &claire.access,
        &basket,
    );
    let acknowledged = streams.acknowledged.clone();
    wait_for(&acknowledged, 10, Duration::from_secs(30)).await;

    let pgdata = dir.canonicalize().unwrap().join("pgdata");
    let paused = Paused::pause(&pgdata);
    let pause = Instant::now();
    // An ordinary request waits at most the pool's wait (5 s here) for a
    // connection, or its deadline (6 s) once it has one.
    let bound = Duration::from_secs(7);
    let (mut slowest_ready, mut slowest_read, mut slowest_checkout) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut rounds = 0;
    while pause.elapsed() < Duration::from_secs(20) - bound {
        let checkout = app
            .client
            .post(app.url("/api/v1/orders"))
            .bearer_auth(&claire.access)
            .header("Idempotency-Key", Uuid::now_v7().to_string())
            .json(&basket);
        let (ready, read, checkout) = tokio::join!(
            answers_503_within(app.client.get(app.url("/readyz")), Duration::from_secs(1)),
            answers_503_within(app.client.get(app.url("/api/v1/communes/91103")), bound),
            answers_503_within(checkout, bound),
        );
        slowest_ready = slowest_ready.max(ready);
        slowest_read = slowest_read.max(read);
        slowest_checkout = slowest_checkout.max(checkout);
        rounds += 1;
    }
    assert!(rounds >= 2, "{rounds} rounds during the pause");
    while pause.elapsed() < Duration::from_secs(20) {
        let started = Instant::now();
        let response = app.get("/readyz").await;
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_problem(response, 503, "service-unavailable").await;
    }

    drop(paused);
    let resumed = Instant::now();
    // Like a careful client, the checkout keeps its key until it is answered 201.
    let key = Uuid::now_v7().to_string();
    let mut serving = None;
    let created = loop {
        let ready = app.get("/readyz").await.status() == 200;
        let read = app.get("/api/v1/communes/91103").await.status() == 200;
        if ready && read {
            serving.get_or_insert(resumed.elapsed());
            let response = app
                .client
                .post(app.url("/api/v1/orders"))
                .bearer_auth(&claire.access)
                .header("Idempotency-Key", &key)
                .json(&basket)
                .send()
                .await
                .unwrap();
            if response.status() == 201 {
                break response.json::<Value>().await.unwrap();
            }
        }
        assert!(
            resumed.elapsed() < Duration::from_secs(1),
            "not serving {:?} after SIGCONT",
            resumed.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let first_checkout = resumed.elapsed();
    assert!(
        first_checkout < Duration::from_secs(1),
        "{first_checkout:?}"
    );
    let ids = created["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    acknowledged.lock().unwrap().insert(key, ids);
    let before = acknowledged.lock().unwrap().len();
    wait_for(&acknowledged, before + 10, Duration::from_secs(10)).await;
    streams.finish().await;
    eprintln!(
        "paused 20 s: {rounds} rounds; slowest 503 of /readyz {slowest_ready:?}, of a read \
         {slowest_read:?}, of a checkout {slowest_checkout:?}; after SIGCONT reads served in \
         {:?}, a checkout acknowledged in {first_checkout:?}",
        serving.unwrap_or_default()
    );

    // Every acknowledged checkout is there, once; nothing else is.
    let acknowledged = acknowledged.lock().unwrap().clone();
    let mut db = AsyncPgConnection::establish(&url).await.unwrap();
    let mut stored: Vec<Uuid> = orders::table
        .select(orders::id)
        .load(&mut db)
        .await
        .unwrap();
    stored.sort();
    let mut expected: Vec<Uuid> = acknowledged
        .values()
        .flatten()
        .map(|id| id.parse().unwrap())
        .collect();
    expected.sort();
    assert_eq!(expected.len(), acknowledged.len(), "one order per checkout");
    assert_eq!(
        stored, expected,
        "the orders stored are exactly those acknowledged"
    );
    let reserved: Decimal = offers::table
        .select(offers::stock_reserved)
        .get_result(&mut db)
        .await
        .unwrap();
    assert_eq!(reserved, Decimal::from(5 * expected.len()));
    drop(db);
    drop(app);
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap()
        .expect("stop");
}
