//! The `buzon` binary's administration commands, run as a person would run them.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use buzon_server::config::ServeArgs;
use common::{Backend, TestDb, TestServer};

on_both_databases!(
    org_and_user_made_on_the_command_line_can_log_in,
    bad_command_line_input_is_explained_and_stores_nothing,
    a_failed_migration_stops_with_a_clear_message,
);

fn buzon(db: &TestDb, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_buzon"))
        .args(args)
        .env("BUZON_DATABASE_URL", &db.url)
        .env("BUZON_LOG", "error")
        .env("BUZON_SECRET_KEY", "2b".repeat(32))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn org_and_user_made_on_the_command_line_can_log_in(backend: Backend) {
    let db = TestDb::new(backend).await;
    let out = buzon(&db, &["org", "add", "--name", "Norte Ventas"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Norte Ventas"));
    let add_user = |email: &str, name: &str, role: &str, password: &str| {
        let args = [
            "user",
            "add",
            "--org",
            "Norte Ventas",
            "--email",
            email,
            "--name",
            name,
            "--role",
            role,
            "--password-stdin",
        ];
        let out = buzon(&db, &args, &format!("{password}\n"));
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    add_user("Nora@Norte.example", "Nora", "editor", "clave-de-nora");
    let connect = |by: &str| {
        buzon(
            &db,
            &[
                "account",
                "connect",
                "--org",
                "Norte Ventas",
                "--channel",
                "whatsapp",
                "--external-id",
                "106540352242922",
                "--name",
                "Ventas",
                "--connected-by",
                by,
                "--credentials-stdin",
            ],
            r#"{"access_token": "t", "app_secret": "s", "verify_token": "v"}"#,
        )
    };
    // Whoever connects a line is the one who may delete its conversations.
    let out = connect("nadie@norte.example");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no user \"nadie@norte.example\""),
        "{}",
        text(&out.stderr)
    );
    let out = connect("NORA@norte.example");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let conn = db.connect().await;
    /// The lines, and how many of them Nora installed.
    async fn lines_by_nora(conn: &app::db::Db) -> (i64, i64) {
        sqlx::query_as(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE connected_by = \
             (SELECT id FROM users WHERE email = 'nora@norte.example')) FROM accounts",
        )
        .fetch_one(&conn.pool)
        .await
        .unwrap()
    }
    assert_eq!(lines_by_nora(&conn).await, (1, 1));
    // Connecting the line again (new credentials) does not make someone else its installer.
    add_user("otro@norte.example", "Otro", "admin", "clave-de-otro");
    let out = connect("otro@norte.example");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        lines_by_nora(&conn).await,
        (1, 1),
        "a reconnect keeps the installer"
    );

    let server = TestServer::start_on(db, ServeArgs::default()).await;
    let nora = server.client();
    assert_eq!(nora.login("nora@norte.example", "clave-de-nora").await, "/");
    let me = nora.me().await;
    assert_eq!(me["org_name"], "Norte Ventas");
    assert_eq!(me["role"]["builtin"], "Editor");
    server.stop().await;
}

async fn bad_command_line_input_is_explained_and_stores_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    assert!(buzon(&db, &["org", "add", "--name", "Sur"], "")
        .status
        .success());
    let add = |role: &str, email: &str, password: &str| {
        buzon(
            &db,
            &[
                "user",
                "add",
                "--org",
                "Sur",
                "--email",
                email,
                "--name",
                "Sol",
                "--role",
                role,
                "--password-stdin",
            ],
            password,
        )
    };
    let out = add("capitan", "sol@sur.example", "clave-de-sol");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no role \"capitan\""),
        "{}",
        text(&out.stderr)
    );
    let out = add("seller", "sol@sur.example", "corta");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("Password"),
        "{}",
        text(&out.stderr)
    );
    let out = buzon(
        &db,
        &[
            "user",
            "add",
            "--org",
            "Oeste",
            "--email",
            "sol@sur.example",
            "--name",
            "Sol",
            "--password-stdin",
        ],
        "clave-de-sol",
    );
    assert!(
        text(&out.stderr).contains("no organization"),
        "{}",
        text(&out.stderr)
    );
    let out = buzon(&db, &["org", "add", "--name", "Sur"], "");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("Organization: Taken"),
        "{}",
        text(&out.stderr)
    );

    let conn = db.connect().await;
    let (users,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(&conn.pool)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

async fn a_failed_migration_stops_with_a_clear_message(backend: Backend) {
    let db = TestDb::new(backend).await;
    // A table in the way: the first migration cannot create it.
    let conn = db.connect().await;
    sqlx::query("CREATE TABLE organizations (id BIGINT)")
        .execute(&conn.pool)
        .await
        .unwrap();
    conn.pool.close().await;
    let out = buzon(&db, &["migrate"], "");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("a database migration failed"), "{stderr}");
    assert!(stderr.contains("organizations"), "{stderr}");
}
