//! Nothing acknowledged is lost: the real `buzon` binary is killed with SIGKILL while
//! webhooks pour in; after a restart every message it answered 200 for is in the database,
//! and redelivering them stores nothing twice.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::accounts::store::{connect, Credentials, NewAccount};
use app::secrets::SecretBox;
use channels::signature::{ascii_json, meta_signature};
use channels::Channel;
use common::meta::{text_from, whatsapp, APP_SECRET, LINE};
use common::{Backend, TestDb, TEST_SECRET_KEY};
use serde_json::{json, Value};

on_both_databases!(acknowledged_messages_survive_a_kill);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(db_url: &str, data_dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_buzon"))
        .args([
            "--database-url",
            db_url,
            "--secret-key",
            TEST_SECRET_KEY,
            "--data-dir",
            &data_dir.display().to_string(),
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--site-root",
            &data_dir.display().to_string(),
        ])
        .env("BUZON_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the buzon binary starts")
}

async fn wait_ready(http: &reqwest::Client, base: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(response) = http.get(format!("{base}/healthz")).send().await {
            if response.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("buzon did not start");
}

/// A webhook carrying five messages from one customer.
fn batch(sender: usize, round: usize) -> (Value, Vec<String>) {
    let ids: Vec<String> = (0..5)
        .map(|i| format!("wamid.CRASH.{sender}.{round}.{i}"))
        .collect();
    let messages: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({"from": format!("52155000{sender:05}"), "id": id, "timestamp": "1760000000",
                   "type": "text", "text": {"body": format!("mensaje {id}")}})
        })
        .collect();
    (whatsapp(LINE, json!({"messages": messages})), ids)
}

async fn post(http: &reqwest::Client, base: &str, body: &Value) -> Option<u16> {
    let bytes = ascii_json(body);
    let signature = meta_signature(APP_SECRET.as_bytes(), bytes.as_bytes());
    http.post(format!("{base}/webhooks/whatsapp"))
        .header("x-hub-signature-256", signature)
        .body(bytes)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

async fn acknowledged_messages_survive_a_kill(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let data_dir = std::env::temp_dir().join(format!(
        "buzon_crash_{}_{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&data_dir).unwrap();
    {
        let db = test_db.connect().await;
        db.migrate().await.unwrap();
        let mut tx = db.pool.begin().await.unwrap();
        let org_id = app::orgs::create(&mut tx, "Choque").await.unwrap();
        tx.commit().await.unwrap();
        let secrets = SecretBox::from_hex(TEST_SECRET_KEY).unwrap();
        let account = NewAccount {
            channel: Channel::Whatsapp,
            name: "Línea".into(),
            external_id: LINE.into(),
            display_handle: None,
            config: json!({}),
            credentials: Credentials {
                app_secret: APP_SECRET.into(),
                ..Credentials::default()
            },
            connected_by: None,
        };
        connect(&db, &secrets, org_id, &account).await.unwrap();
        db.pool.close().await;
    }

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut child = start(&test_db.url, &data_dir, port);
    wait_ready(&http, &base).await;

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut senders = Vec::new();
    for sender in 0..8 {
        let (http, base, acknowledged) = (http.clone(), base.clone(), acknowledged.clone());
        senders.push(tokio::spawn(async move {
            for round in 0.. {
                let (body, ids) = batch(sender, round);
                match post(&http, &base, &body).await {
                    Some(200) => acknowledged.lock().unwrap().extend(ids),
                    Some(_) => {}
                    None => return,
                }
            }
        }));
    }
    // Let a good number of batches through, then pull the plug mid-stream.
    let start_time = Instant::now();
    while acknowledged.lock().unwrap().len() < 400 && start_time.elapsed() < Duration::from_secs(20)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    for sender in senders {
        let _ = sender.await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 400,
        "only {} acknowledged",
        acknowledged.len()
    );

    // Back up: everything acknowledged is there.
    let mut child = start(&test_db.url, &data_dir, port);
    wait_ready(&http, &base).await;
    let db = test_db.connect().await;
    let stored: Vec<(String,)> = sqlx::query_as("SELECT provider_id FROM messages")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    let stored: std::collections::HashSet<String> = stored.into_iter().map(|(id,)| id).collect();
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged messages lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );

    // The provider redelivers what it is unsure of: nothing is stored twice.
    let before = stored.len();
    let first_ids = &acknowledged[..5];
    let (sender, round) = {
        let parts: Vec<&str> = first_ids[0].split('.').collect();
        (
            parts[2].parse::<usize>().unwrap(),
            parts[3].parse::<usize>().unwrap(),
        )
    };
    assert_eq!(post(&http, &base, &batch(sender, round).0).await, Some(200));
    assert_eq!(
        post(
            &http,
            &base,
            &text_from("5215599999999", "wamid.after", "después")
        )
        .await,
        Some(200)
    );
    let (after,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM messages")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(after as usize, before + 1, "only the new message was added");
    let (conversations,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM conversations WHERE customer_key LIKE '52155000%'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(conversations <= 8, "one conversation per customer at most");
    db.pool.close().await;
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
}
