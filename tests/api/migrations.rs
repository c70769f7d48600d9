//! Every migration goes up, comes down leaving the schema exactly as before,
//! and goes up again.

use diesel::migration::{MigrationConnection, MigrationSource};
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

fn snapshot(conn: &mut AsyncConnectionWrapper<AsyncPgConnection>) -> Vec<String> {
    diesel::sql_query(SCHEMA_SNAPSHOT)
        .load::<SchemaObject>(conn)
        .expect("schema snapshot")
        .into_iter()
        .map(|o| o.description)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_migration_goes_up_down_and_up_again() {
    let database = TestDatabase::empty().await;
    let url = database.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&url)
            .expect("connect");
        MigrationConnection::setup(&mut conn).expect("diesel's migrations table");
        let migrations =
            MigrationSource::<Pg>::migrations(&MIGRATIONS).expect("embedded migrations");
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
