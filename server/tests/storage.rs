//! The storage layer's promises: how SQLite is opened, and that every business row belongs to
//! an organization, on both backends.

mod common;

use app::db::{Backend as DbBackend, Db};
use common::{Backend, TestDb};

on_both_databases!(
    every_business_table_carries_the_organization,
    sealed_credentials_open_only_in_their_own_account,
);

/// An account's credentials are sealed bound to it: copied into another account's row they
/// open for neither; those sealed before the binding existed are bound on start, once.
async fn sealed_credentials_open_only_in_their_own_account(backend: Backend) {
    use app::accounts::store::{bind_sealed_credentials, by_id};
    use common::meta::{Fixture, LINE, PAGE};
    let fixture = Fixture::new(backend).await;
    let db = &fixture.db;
    let secrets = app::secrets::SecretBox::from_hex(common::TEST_SECRET_KEY).unwrap();
    let id_of = |external_id: &'static str| async move {
        let (id,): (i64,) = sqlx::query_as("SELECT id FROM accounts WHERE external_id = $1")
            .bind(external_id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        id
    };
    let (line, page) = (id_of(LINE).await, id_of(PAGE).await);
    assert_eq!(
        by_id(db, &secrets, line)
            .await
            .unwrap()
            .unwrap()
            .credentials
            .access_token,
        "token"
    );

    sqlx::query(
        "UPDATE accounts SET secrets = (SELECT secrets FROM accounts WHERE id = $1) WHERE id = $2",
    )
    .bind(line)
    .bind(page)
    .execute(&db.pool)
    .await
    .unwrap();
    assert!(
        by_id(db, &secrets, page).await.is_err(),
        "the copy does not open"
    );
    assert!(by_id(db, &secrets, line).await.is_ok());

    // Sealed unbound, as before the binding: bound on the next start, and only once.
    let unbound = secrets.seal(
        br#"{"access_token":"antiguo","app_secret":"s","verify_token":"v","auth_token":""}"#,
        "",
    );
    sqlx::query("UPDATE accounts SET secrets = $1 WHERE id = $2")
        .bind(&unbound)
        .bind(line)
        .execute(&db.pool)
        .await
        .unwrap();
    assert!(by_id(db, &secrets, line).await.is_err());
    assert_eq!(bind_sealed_credentials(db, &secrets).await.unwrap(), 1);
    assert_eq!(
        by_id(db, &secrets, line)
            .await
            .unwrap()
            .unwrap()
            .credentials
            .access_token,
        "antiguo"
    );
    assert_eq!(bind_sealed_credentials(db, &secrets).await.unwrap(), 0);
    assert!(
        by_id(db, &secrets, page).await.is_err(),
        "a copy is never bound"
    );
    fixture.server.stop().await;
}

#[tokio::test]
async fn sqlite_is_created_with_its_directory_in_wal_mode_with_foreign_keys_and_full_sync() {
    let dir = std::env::temp_dir().join(format!("buzon_storage_{}", std::process::id()));
    let file = dir.join("nested").join("buzon.db");
    let db = Db::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    assert_eq!(db.backend, DbBackend::Sqlite);
    assert!(file.exists());
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let (foreign_keys,): (i64,) = sqlx::query_as("PRAGMA foreign_keys")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(foreign_keys, 1);
    // 2 = FULL: every commit reaches the disk before it is acknowledged.
    let (synchronous,): (i64,) = sqlx::query_as("PRAGMA synchronous")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(synchronous, 2);
    db.pool.close().await;
    std::fs::remove_dir_all(dir).unwrap();
}

async fn every_business_table_carries_the_organization(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let db = test_db.connect().await;
    db.migrate().await.unwrap();
    let columns: Vec<(String, String)> = match backend {
        // Not the tables in which SQLite keeps a full-text index's internals (their rows
        // are the index's; the index itself carries the organization).
        Backend::Sqlite => sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
               AND NOT EXISTS (SELECT 1 FROM sqlite_master v \
                 WHERE v.sql LIKE 'CREATE VIRTUAL TABLE%' AND m.name LIKE v.name || '\\_%' \
                 ESCAPE '\\')",
        ),
        Backend::Postgres => sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public'",
        ),
    }
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let mut tables: Vec<&str> = columns.iter().map(|(t, _)| t.as_str()).collect();
    tables.sort_unstable();
    tables.dedup();
    // Installation-level tables: the tenants themselves, sessions, login throttling and the
    // first run's setup token exist before anyone is signed in, and the migration ledger.
    let installation = [
        "_sqlx_migrations",
        "login_throttle",
        "organizations",
        "sessions",
        "setup_token",
    ];
    let business: Vec<&str> = tables
        .into_iter()
        .filter(|t| !installation.contains(t))
        .collect();
    assert!(business.len() >= 20, "{business:?}");
    for table in business {
        assert!(
            columns.iter().any(|(t, c)| t == table && c == "org_id"),
            "{table} has no org_id"
        );
    }
}
