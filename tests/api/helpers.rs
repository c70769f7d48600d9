//! Test harness. With `DATABASE_URL` set, tests use that server; otherwise a
//! private PostgreSQL cluster is started once for this test binary in a
//! temporary directory, and stopped and deleted when the binary exits.
//!
//! Migrations and the reference geography are applied once to a template
//! database; each test gets a fresh copy (`CREATE DATABASE … TEMPLATE`), so
//! tests run in parallel and never see each other's data.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::HttpServer;
use actix_web::dev::ServerHandle;
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use sesame::db::local::{self, LocalPostgres};
use sesame::{AppState, build_app, db, server};

/// The one browser origin the test app allows.
pub const TEST_CORS_ORIGIN: &str = "https://app.coeuressonne.example";

/// Small enough to hit 413 cheaply.
pub const TEST_BODY_LIMIT: usize = 64 * 1024;
/// Signs the test apps' access tokens.
pub const TEST_JWT_SECRET: &str = "test-secret-3f9a1c77d2b84e6a9c0d5e1f2a3b4c5d";

struct TestServer {
    /// URL of a database on the server that may create databases.
    admin_url: String,
    template: String,
    _cluster: Option<LocalPostgres>,
}

fn test_server() -> &'static TestServer {
    // A failed set-up is kept, not retried by every test: each then reports it.
    static SERVER: OnceLock<Result<TestServer, String>> = OnceLock::new();
    let server = SERVER.get_or_init(|| {
        let (admin_url, cluster) = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => (url, None),
            _ => {
                let dir = std::env::temp_dir().join(format!("sesame-test-{}", std::process::id()));
                let options = local::Options {
                    durable: false,
                    remove_on_stop: true,
                    max_connections: 400,
                };
                let cluster = LocalPostgres::start(&dir, options)
                    .map_err(|e| format!("cannot start the test PostgreSQL cluster: {e:#}"))?;
                (cluster.url(local::DATABASE), Some(cluster))
            }
        };
        let template = template_name();
        let url = admin_url.clone();
        let name = template.clone();
        // Its own thread and runtime: each test has its own runtime, and this
        // one-time set-up must not belong to whichever test came first.
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .expect("tokio runtime")
                .block_on(create_template(&url, &name))
        })
        .join()
        .map_err(|_| "the template set-up panicked".to_owned())?
        .map_err(|e| format!("cannot prepare the template database: {e:#}"))?;
        Ok(TestServer {
            admin_url,
            template,
            _cluster: cluster,
        })
    });
    server.as_ref().unwrap_or_else(|e| panic!("{e}"))
}

/// Named after the migrations' content, so a changed migration gets a new
/// template while an unchanged one is reused across runs on a shared server.
fn template_name() -> String {
    let mut hasher = DefaultHasher::new();
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = walk(&migrations);
    files.sort();
    for file in files {
        file.hash(&mut hasher);
        std::fs::read(&file)
            .expect("read migration")
            .hash(&mut hasher);
    }
    sesame::geo::reference::shipped_version().hash(&mut hasher);
    format!("sesame_template_{:016x}", hasher.finish())
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .expect("migrations folder")
        .flat_map(|entry| {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

async fn create_template(admin_url: &str, template: &str) -> anyhow::Result<()> {
    let mut admin = db::connect(admin_url).await?;
    // Serialise test binaries sharing one server; the winner builds the template.
    admin
        .batch_execute("SELECT pg_advisory_lock(720451)")
        .await?;
    let exists = database_exists(&mut admin, template).await?;
    if !exists {
        let building = format!("{template}_building");
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {building}"))
            .await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {building}"))
            .await?;
        server::prepare(&with_database(admin_url, &building)).await?;
        admin
            .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {template}"))
            .await?;
    }
    admin
        .batch_execute("SELECT pg_advisory_unlock(720451)")
        .await?;
    Ok(())
}

async fn database_exists(conn: &mut AsyncPgConnection, name: &str) -> anyhow::Result<bool> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    let row: Found =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS found")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(conn)
            .await?;
    Ok(row.found)
}

/// The same server URL pointing at another database.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// A fresh, migrated database with the reference geography, for one test.
pub struct TestDatabase {
    pub url: String,
    name: String,
}

impl TestDatabase {
    pub async fn new() -> Self {
        Self::create(Some(&test_server().template)).await
    }

    /// A database with nothing in it, not even the migrations.
    pub async fn empty() -> Self {
        Self::create(None).await
    }

    async fn create(template: Option<&str>) -> Self {
        let server = test_server();
        let name = format!("sesame_test_{}", uuid::Uuid::new_v4().simple());
        let sql = match template {
            Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
            None => format!("CREATE DATABASE {name}"),
        };
        let mut admin = db::connect(&server.admin_url)
            .await
            .expect("connect to the test server");
        admin
            .batch_execute(&sql)
            .await
            .expect("create the test database");
        Self {
            url: with_database(&server.admin_url, &name),
            name,
        }
    }

    /// A database the test did not create (its own cluster's): left alone on drop.
    pub fn external(url: String) -> Self {
        Self {
            url,
            name: String::new(),
        }
    }

    pub async fn connect(&self) -> AsyncPgConnection {
        db::connect(&self.url)
            .await
            .expect("connect to the test database")
    }
}

impl Drop for TestDatabase {
    /// Drops the database on a shared server; a private cluster is deleted
    /// whole at the end anyway, but dropping keeps it small during the run.
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        let admin_url = test_server().admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = db::connect(&admin_url).await.ok()?;
                admin.batch_execute(&sql).await.ok()
            })
        })
        .join();
    }
}

/// The real application over real HTTP on a free port, on its own database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub database: TestDatabase,
    server: ServerHandle,
}

impl TestApp {
    pub async fn spawn() -> Self {
        let database = TestDatabase::new().await;
        let url = database.url.clone();
        Self::spawn_on(database, &url).await
    }

    /// The app on `database_url`, which may point anywhere (even nowhere).
    pub async fn spawn_on(database: TestDatabase, database_url: &str) -> Self {
        Self::spawn_configured(database, database_url, |_| {}).await
    }

    /// The app on its own database, with settings changed by `configure`.
    pub async fn spawn_with(configure: impl FnOnce(&mut AppState)) -> Self {
        let database = TestDatabase::new().await;
        let url = database.url.clone();
        Self::spawn_configured(database, &url, configure).await
    }

    async fn spawn_configured(
        database: TestDatabase,
        database_url: &str,
        configure: impl FnOnce(&mut AppState),
    ) -> Self {
        // The service's default pool size: concurrency tests see what users would.
        let pool = db::build_pool(database_url, 16, Duration::from_secs(5)).expect("pool");
        let mut state = AppState {
            pool,
            body_limit: TEST_BODY_LIMIT,
            auth: sesame::auth::Auth::new(TEST_JWT_SECRET.as_bytes(), false).expect("auth"),
            exports: sesame::opendata::export_slots(4),
            cors_origins: vec![TEST_CORS_ORIGIN.to_owned()],
            metrics: sesame::ops::MetricsAccess::default(),
        };
        configure(&mut state);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let address = format!("http://{}", listener.local_addr().expect("local address"));
        let server = HttpServer::new(move || build_app(state.clone()))
            .workers(1)
            .disable_signals()
            .listen(listener)
            .expect("listen")
            .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("HTTP client"),
            database,
            server: handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn db(&self) -> AsyncPgConnection {
        self.database.connect().await
    }

    /// The `n` column of a one-row query (`SELECT count(*) AS n …`).
    pub async fn count(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut db = self.db().await;
        diesel_async::RunQueryDsl::get_result::<N>(diesel::sql_query(sql), &mut db)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .n
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting connections; the runtime ends with the test anyway.
        drop(self.server.stop(false));
    }
}

/// The `field` of each entry of a problem's `errors`, in order.
/// The `key` of each item of a page (`{items, next_cursor}`), in order.
pub fn item_keys(page: &serde_json::Value, key: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page: {page}"))
        .iter()
        .map(|item| item[key].as_str().unwrap().to_owned())
        .collect()
}

pub fn error_fields(problem: &serde_json::Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default()
}

/// Asserts that a response is a problem document with this status and type
/// slug, and returns the document.
pub async fn assert_problem(
    response: reqwest::Response,
    status: u16,
    slug: &str,
) -> serde_json::Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "status of {}",
        response.url()
    );
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.expect("problem body is JSON");
    assert_eq!(
        body["type"],
        format!("https://sesame.example/problems/{slug}"),
        "{body}"
    );
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

/// A password zxcvbn finds strong.
pub const PASSWORD: &str = "les carottes de l'Envol poussent vite";

/// Valid SIRETs (Luhn) for test organisations.
pub const SIRETS: [&str; 4] = [
    "20005785900015",
    "73282932000074",
    "20005785900023",
    "35600000000001",
];

/// The `n`-th valid SIRET of a made-up series, for tests that need more
/// organisations than `SIRETS` holds.
pub fn siret(n: u64) -> String {
    (0..1000)
        .map(|k| format!("{:09}{:05}", 400_000_000 + n * 10 + k / 100, k % 100))
        .find(|s| sesame::ids::siret_problem(s).is_none())
        .expect("a valid SIRET among a thousand candidates")
}

/// Someone logged in: their id and tokens.
pub struct Session {
    pub user_id: String,
    pub access: String,
    pub refresh: String,
}

impl TestApp {
    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        token: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    pub async fn patch_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        token: &str,
    ) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .json(body)
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// The JSON body of a GET with `token` that must answer 200.
    pub async fn json_as(&self, path: &str, token: &str) -> serde_json::Value {
        let response = self.get_as(path, token).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("a JSON body")
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"email": email, "password": password}),
            None,
        )
        .await
    }

    /// Registers `email` and logs in.
    pub async fn signed_up(&self, email: &str) -> Session {
        let body = serde_json::json!({"email": email, "password": PASSWORD, "display_name": email.split('@').next().unwrap()});
        let registered = self.post_json("/api/v1/auth/register", &body, None).await;
        assert_eq!(
            registered.status(),
            201,
            "{}",
            registered.text().await.unwrap()
        );
        let user: serde_json::Value = registered.json().await.unwrap();
        let tokens: serde_json::Value = self.login(email, PASSWORD).await.json().await.unwrap();
        Session {
            user_id: user["id"].as_str().unwrap().to_owned(),
            access: tokens["access_token"]
                .as_str()
                .expect("access token")
                .to_owned(),
            refresh: tokens["refresh_token"]
                .as_str()
                .expect("refresh token")
                .to_owned(),
        }
    }

    /// A platform administrator, made as `sesame admin create-user --admin` does.
    pub async fn admin(&self) -> Session {
        let email = "admin@sesame.example";
        sesame::server::create_user(&self.database.url, email, "Admin", PASSWORD, true)
            .await
            .expect("create admin");
        let tokens: serde_json::Value = self.login(email, PASSWORD).await.json().await.unwrap();
        Session {
            user_id: String::new(),
            access: tokens["access_token"].as_str().unwrap().to_owned(),
            refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Creates an organisation as `session` and returns its id.
    pub async fn create_organisation(&self, session: &Session, body: serde_json::Value) -> String {
        let response = self
            .post_json("/api/v1/organisations", &body, Some(&session.access))
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let created: serde_json::Value = response.json().await.unwrap();
        created["id"].as_str().unwrap().to_owned()
    }

    /// Verifies an organisation as `admin`.
    pub async fn verify(&self, admin: &Session, organisation: &str) {
        let response = self
            .post_json(
                &format!("/api/v1/admin/organisations/{organisation}/status"),
                &serde_json::json!({"status": "verified"}),
                Some(&admin.access),
            )
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    /// The distributor asks the farm to carry it and the farm accepts;
    /// returns the relationship's id.
    pub async fn carry(&self, distributor: (&Session, &str), farm: (&Session, &str)) -> String {
        let response = self
            .post_json(
                &format!(
                    "/api/v1/organisations/{}/supply-relationships",
                    distributor.1
                ),
                &serde_json::json!({"farm_id": farm.1}),
                Some(&distributor.0.access),
            )
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let relationship: serde_json::Value = response.json().await.unwrap();
        let id = relationship["id"].as_str().unwrap().to_owned();
        let accepted = self
            .post_json(
                &format!("/api/v1/supply-relationships/{id}/accept"),
                &serde_json::json!({}),
                Some(&farm.0.access),
            )
            .await;
        assert_eq!(accepted.status(), 200, "{}", accepted.text().await.unwrap());
        id
    }
}

pub fn farm(siret: &str) -> serde_json::Value {
    serde_json::json!({
        "kind": "farm",
        "name": "Ferme de l'Envol",
        "siret": siret,
        "commune_insee": "91103",
        "address": "Base aérienne 217, 91220 Brétigny-sur-Orge",
        "location": {"latitude": 48.6085, "longitude": 2.3045},
        "description": "Maraîchage biologique",
        "contact_email": "Contact@Ferme-Envol.fr",
        "contact_phone": "+33 1 60 00 00 00",
        "farm": {
            "certifications": [{"label": "BIO", "certificate_number": "FR-BIO-01-2024-42", "certifying_body": "Ecocert FR-BIO-01"}],
            "productions": ["FRUITS_ET_LEGUMES"]
        }
    })
}

pub fn canteen(siret: &str) -> serde_json::Value {
    serde_json::json!({
        "kind": "canteen",
        "name": "École élémentaire Jean Macé",
        "siret": siret,
        "commune_insee": "91570",
        "address": "1 rue de l'École, 91240 Saint-Michel-sur-Orge",
        "contact_email": "cantine@mairie.fr",
        "canteen": {
            "sectors": ["education_primaire"],
            "management_type": "direct",
            "production_type": "site",
            "economic_model": "public",
            "daily_meal_count": 320,
            "yearly_meal_count": 44800,
            "local_definition": "KM",
            "local_km": 50
        }
    })
}

/// A Python virtual environment under target/ with the external tools the
/// tests run (`frictionless` with JSON support, `scipy` for the open data
/// attacker, `xmlschema` and `saxonche` for the CII invoices), installed once; returns its `bin` folder. Needs python3 and
/// the package registry the first time.
pub fn python_tools() -> PathBuf {
    static TOOLS: OnceLock<PathBuf> = OnceLock::new();
    TOOLS
        .get_or_init(|| {
            let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv");
            let ready = venv.join(".sesame-tools-2");
            if !ready.exists() {
                let made = Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .status()
                    .expect("python3");
                assert!(made.success(), "python3 -m venv failed");
                let installed = Command::new(venv.join("bin/pip"))
                    .args(["install", "--quiet", "--disable-pip-version-check"])
                    .args(["frictionless[json]", "scipy", "xmlschema", "saxonche"])
                    .status()
                    .expect("pip");
                assert!(installed.success(), "pip install failed");
                std::fs::write(&ready, "frictionless[json] scipy xmlschema saxonche\n")
                    .expect("marker");
            }
            venv.join("bin")
        })
        .clone()
}
