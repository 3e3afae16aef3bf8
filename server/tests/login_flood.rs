//! A burst of simultaneous wrong logins for one account, alone in its own test binary so that
//! the process's peak memory is this test's: every try is reserved before its password is
//! hashed, and no more hashes run at once than the machine has cores.

mod common;

use common::{Backend, TestServer};

/// Tries allowed without a wait.
const ACCOUNT_FREE: usize = app::auth::login::ACCOUNT_FREE as usize;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_simultaneous_wrong_logins_check_at_most_the_free_tries() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        common::within_limit(flood(backend)).await;
    }
}

async fn flood(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.setup_admin().await;
    let clients: Vec<_> = (0..200).map(|_| server.client()).collect();
    let before = common::peak_memory_reset();
    let mut tries = tokio::task::JoinSet::new();
    for (n, client) in clients.into_iter().enumerate() {
        tries.spawn(async move {
            client
                .login("ana@andinas.example", &format!("adivinando-{n}"))
                .await
        });
    }
    let outcomes = tries.join_all().await;
    let peak = common::peak_memory_kib();

    let count = |code: &str| {
        outcomes
            .iter()
            .filter(|location| location.starts_with(&format!("/login?error={code}&")))
            .count()
    };
    let (checked, waiting, busy) = (count("credentials"), count("rate_limited"), count("busy"));
    assert_eq!(checked + waiting + busy, 200, "{outcomes:?}");
    assert!(
        (1..=ACCOUNT_FREE).contains(&checked),
        "{checked} passwords were checked ({waiting} waiting, {busy} busy)"
    );
    // 200 Argon2 hashes at once would take 19 MiB each, about 3.7 GiB.
    let grown_mib = peak.saturating_sub(before) / 1024;
    assert!(grown_mib < 200, "the peak memory grew by {grown_mib} MiB");

    // The account's owner, after the wait, still signs in.
    let db = server.db.connect().await;
    sqlx::query("UPDATE login_throttle SET next_at = 0")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        server
            .client()
            .login("ana@andinas.example", "clave-segura-1")
            .await,
        "/"
    );
    server.stop().await;
}
