//! Every migration goes up, comes down leaving the schema exactly as before,
//! and goes up again; a migration that moves data keeps it.

use diesel::connection::SimpleConnection;
use diesel::migration::{Migration, MigrationConnection, MigrationSource};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::MigrationHarness;
use sesame::db::MIGRATIONS;

use crate::helpers::TestDatabase;

#[derive(QueryableByName, Debug, PartialEq, Eq)]
struct SchemaObject {
    #[diesel(sql_type = diesel::sql_types::Text)]
    description: String,
}

/// Every table, column, constraint, index, type, function and sequence of
/// the public schema, except diesel's own bookkeeping table.
const SCHEMA_SNAPSHOT: &str = "
    SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
           || ' ' || coalesce(column_default, '') AS description
      FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'
    UNION ALL
    SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
      FROM pg_constraint
     WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '__diesel_schema_migrations'
    UNION ALL
    SELECT 'index ' || indexdef FROM pg_indexes
     WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'
    UNION ALL
    SELECT 'type ' || typname FROM pg_type
     WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'd', 'c') AND typrelid = 0
    UNION ALL
    SELECT 'function ' || proname || '(' || pg_get_function_identity_arguments(oid) || ')' FROM pg_proc
     WHERE pronamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'sequence ' || sequencename FROM pg_sequences WHERE schemaname = 'public'
    UNION ALL
    SELECT 'extension ' || extname FROM pg_extension
    ORDER BY 1";

fn snapshot(conn: &mut SyncConnection) -> Vec<String> {
    diesel::sql_query(SCHEMA_SNAPSHOT)
        .load::<SchemaObject>(conn)
        .expect("schema snapshot")
        .into_iter()
        .map(|o| o.description)
        .collect()
}

type SyncConnection = AsyncConnectionWrapper<AsyncPgConnection>;

/// A connection to an empty database ready for diesel's migrations (to be
/// used off the async runtime), and every migration, in order.
fn unmigrated(url: &str) -> (SyncConnection, Vec<Box<dyn Migration<Pg>>>) {
    let mut conn = <SyncConnection as Connection>::establish(url).expect("connect");
    MigrationConnection::setup(&mut conn).expect("diesel's migrations table");
    let migrations = MigrationSource::<Pg>::migrations(&MIGRATIONS).expect("embedded migrations");
    (conn, migrations)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_migration_goes_up_down_and_up_again() {
    let database = TestDatabase::empty().await;
    let url = database.url.clone();
    tokio::task::spawn_blocking(move || {
        let (mut conn, migrations) = unmigrated(&url);
        assert!(!migrations.is_empty());
        for migration in &migrations {
            let name = migration.name().to_string();
            let before = snapshot(&mut conn);
            conn.run_migration(migration.as_ref())
                .unwrap_or_else(|e| panic!("{name} up: {e}"));
            let after = snapshot(&mut conn);
            assert_ne!(before, after, "{name} changes nothing");
            conn.revert_migration(migration.as_ref())
                .unwrap_or_else(|e| panic!("{name} down: {e}"));
            assert_eq!(
                snapshot(&mut conn),
                before,
                "{name}: down.sql does not undo up.sql"
            );
            conn.run_migration(migration.as_ref())
                .unwrap_or_else(|e| panic!("{name} up again: {e}"));
            assert_eq!(
                snapshot(&mut conn),
                after,
                "{name}: up again differs from the first up"
            );
        }
        assert!(
            conn.has_pending_migration(MIGRATIONS)
                .map(|pending| !pending)
                .unwrap()
        );
    })
    .await
    .unwrap();
}

#[derive(QueryableByName, Debug, PartialEq, Eq)]
struct PageRow {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    page: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    rows: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    csv: String,
}

#[derive(QueryableByName, Debug, PartialEq, Eq)]
struct TransactionRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    quantity: Option<String>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    value_ht_eur: i64,
}

const PAGES_MIGRATION: &str = "2026-11-30-090000_opendata_transaction_pages";
/// One more row than a page holds, so that the release spans two pages.
const ROWS: i64 = 10_001;

/// What a transactions row `i` of the fixture holds: no quantity every
/// seventh row (a generalised unit), else i tenths.
fn fixture_quantity(i: i64) -> Option<String> {
    (i % 7 != 0).then(|| format!("{}.{}", i / 10, i % 10))
}

/// Releases published before transactions were frozen as CSV pages keep
/// their bytes: the migration writes their rows as the service wrote them,
/// by pages of 10,000, and its down migration gives the rows back.
#[tokio::test(flavor = "multi_thread")]
async fn releases_keep_their_bytes_across_the_pages_migration() {
    let database = TestDatabase::empty().await;
    let url = database.url.clone();
    tokio::task::spawn_blocking(move || {
        let (mut conn, migrations) = unmigrated(&url);
        let pages = migrations
            .iter()
            .position(|m| m.name().to_string() == PAGES_MIGRATION)
            .expect("the pages migration");
        for migration in &migrations[..pages] {
            conn.run_migration(migration.as_ref()).expect("earlier migrations");
        }
        conn.batch_execute(&format!(
            "INSERT INTO epcis (siren, name, nature) VALUES ('200057859', 'Cœur d''Essonne Agglomération', 'CA'); \
             INSERT INTO opendata_releases (id, epci_siren, version, period_from, period_to, created_at, disclosure) \
             VALUES ('01900000-0000-7000-8000-000000000001', '200057859', 1, '2026-01-01', '2026-03-31', now(), '{{}}'); \
             INSERT INTO opendata_transactions \
             SELECT '01900000-0000-7000-8000-000000000001', i, '2026-0' || (1 + i % 3), 'education', '200057859', \
                    CASE WHEN i % 7 = 0 THEN '*' ELSE 'farm' END, 'epci', 'FRUITS_ET_LEGUMES', 'bio', \
                    CASE WHEN i % 7 = 0 THEN '*' ELSE 'kg' END, \
                    CASE WHEN i % 7 = 0 THEN NULL ELSE i / 10.0 END, i * 3 \
               FROM generate_series(1, {ROWS}) AS i"
        ))
        .expect("a release of the earlier schema");

        conn.run_migration(migrations[pages].as_ref()).expect("pages up");
        let stored = diesel::sql_query(
            "SELECT page, rows, csv FROM opendata_transaction_pages ORDER BY page",
        )
        .load::<PageRow>(&mut conn)
        .expect("pages");
        assert_eq!(
            stored.iter().map(|p| (p.page, p.rows)).collect::<Vec<_>>(),
            [(1, 10_000), (2, 1)]
        );
        let expected: String = (1..=ROWS)
            .map(|i| {
                let generalised = i % 7 == 0;
                format!(
                    "2026-0{},education,200057859,{},epci,FRUITS_ET_LEGUMES,bio,{},{},{}\n",
                    1 + i % 3,
                    if generalised { "*" } else { "farm" },
                    if generalised { "*" } else { "kg" },
                    fixture_quantity(i).unwrap_or_default(),
                    i * 3
                )
            })
            .collect();
        let csv: String = stored.iter().map(|p| p.csv.as_str()).collect();
        assert_eq!(csv, expected);

        conn.revert_migration(migrations[pages].as_ref())
            .expect("pages down");
        let rows = diesel::sql_query(
            "SELECT seq, quantity::text AS quantity, value_ht_eur FROM opendata_transactions ORDER BY seq",
        )
        .load::<TransactionRow>(&mut conn)
        .expect("rows back");
        let expected: Vec<TransactionRow> = (1..=ROWS)
            .map(|i| TransactionRow {
                seq: i,
                quantity: fixture_quantity(i),
                value_ht_eur: i * 3,
            })
            .collect();
        assert_eq!(rows, expected);
    })
    .await
    .unwrap();
}

const EMAILS_MIGRATION: &str = "2026-11-30-170000_normalised_emails";

/// Accounts written before emails were normalised: look-alikes are reported
/// by the migration, which stops; once they are told apart, it brings every
/// address to its normalised form.
#[tokio::test(flavor = "multi_thread")]
async fn the_email_migration_reports_look_alike_accounts_then_normalises() {
    let database = TestDatabase::empty().await;
    let url = database.url.clone();
    tokio::task::spawn_blocking(move || {
        let (mut conn, migrations) = unmigrated(&url);
        let emails = migrations
            .iter()
            .position(|m| m.name().to_string() == EMAILS_MIGRATION)
            .expect("the emails migration");
        for migration in &migrations[..emails] {
            conn.run_migration(migration.as_ref()).expect("earlier migrations");
        }
        // A composed and a decomposed "é", and a fullwidth "ｅ".
        conn.batch_execute(
            "INSERT INTO users (id, email, display_name, password_hash) VALUES \
             ('01900000-0000-7000-8000-000000000001', 'élodie@cantine.fr', 'Élodie', 'x'), \
             ('01900000-0000-7000-8000-000000000002', 'e\u{301}lodie@cantine.fr', 'Élodie bis', 'x'), \
             ('01900000-0000-7000-8000-000000000003', 'ｍarc@cantine.fr', 'Marc', 'x')",
        )
        .expect("accounts of the earlier schema");
        let error = conn
            .run_migration(migrations[emails].as_ref())
            .expect_err("look-alikes stop the migration")
            .to_string();
        assert!(error.contains("élodie@cantine.fr"), "{error}");
        assert!(error.contains("01900000-0000-7000-8000-000000000001, 01900000-0000-7000-8000-000000000002"), "{error}");

        conn.batch_execute(
            "UPDATE users SET email = 'elodie.bis@cantine.fr' \
              WHERE id = '01900000-0000-7000-8000-000000000002'",
        )
        .expect("told apart");
        conn.run_migration(migrations[emails].as_ref())
            .expect("emails up");
        #[derive(QueryableByName)]
        struct Email {
            #[diesel(sql_type = diesel::sql_types::Text)]
            email: String,
        }
        let stored: Vec<String> = diesel::sql_query("SELECT email FROM users ORDER BY id")
            .load::<Email>(&mut conn)
            .expect("emails")
            .into_iter()
            .map(|e| e.email)
            .collect();
        assert_eq!(
            stored,
            [
                sesame::ids::normalise_email("élodie@cantine.fr"),
                "elodie.bis@cantine.fr".to_owned(),
                "marc@cantine.fr".to_owned(),
            ]
        );
    })
    .await
    .unwrap();
}
