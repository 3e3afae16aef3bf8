//! Uploads as they arrive: written to a staging file chunk by chunk with their size checked on
//! the way (never held whole in memory), a few at a time per user, and removed a day after if
//! never sent. In its own test binary so that the process's peak memory is these tests'.

mod common;

use std::time::Duration;

use common::pair::Pair;
use common::{Backend, Client};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::mpsc;

const MB: usize = 1024 * 1024;

/// A file body that arrives in chunks as the test sends them.
fn streamed(name: &str, declared: &str) -> (reqwest::multipart::Form, mpsc::Sender<Vec<u8>>) {
    let (send, receive) = mpsc::channel::<Vec<u8>>(4);
    let stream = futures_util::stream::unfold(receive, |mut receive| async move {
        let chunk = receive.recv().await?;
        Some((Ok::<_, std::io::Error>(chunk), receive))
    });
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(stream))
        .file_name(name.to_string())
        .mime_str(declared)
        .unwrap();
    (reqwest::multipart::Form::new().part("file", part), send)
}

async fn post(pair: &Pair, client: &Client, form: reqwest::multipart::Form) -> (StatusCode, Value) {
    let conversation_id = pair.conversation_id().await;
    let response = client
        .raw()
        .post(format!(
            "{}/api/upload?conversation_id={conversation_id}",
            pair.server.base
        ))
        .multipart(form)
        .send()
        .await;
    match response {
        Ok(response) => {
            let status = response.status();
            (status, response.json().await.unwrap_or(Value::Null))
        }
        // The server answered before the whole body was sent and closed the connection.
        Err(_) => (StatusCode::UNPROCESSABLE_ENTITY, Value::Null),
    }
}

/// Sends `total` bytes starting with `magic`, in chunks of 256 KiB.
async fn feed(send: mpsc::Sender<Vec<u8>>, magic: &[u8], total: usize) {
    let mut first = magic.to_vec();
    first.resize(256 * 1024, b'x');
    let mut sent = 0;
    let chunk = vec![b'x'; 256 * 1024];
    let mut next = first;
    while sent < total {
        if send.send(next.clone()).await.is_err() {
            return;
        }
        sent += next.len();
        next = chunk.clone();
    }
}

fn staged_files(pair: &Pair) -> usize {
    std::fs::read_dir(pair.server.data_dir.join("uploads"))
        .map(|dir| dir.count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn uploads_are_streamed_checked_as_they_arrive_bounded_and_swept() {
    common::within_limit(async {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            streamed_and_cut_off(backend).await;
            bounded_per_user(backend).await;
            unsent_ones_are_removed_after_a_day(backend).await;
        }
    })
    .await;
}

/// A 60 MB document goes through without the server holding it; a photo past the channel's
/// 5 MB is cut off as it arrives, and nothing of it stays.
async fn streamed_and_cut_off(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "mándame el catálogo"}))
        .await;

    let before = common::peak_memory_reset();
    let (form, send) = streamed("catalogo.pdf", "application/pdf");
    let feeding = tokio::spawn(feed(send, b"%PDF-1.7\n", 60 * MB));
    let (status, file) = post(&pair, &pair.admin, form).await;
    feeding.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{file}");
    assert_eq!(file["size_bytes"], json!(60 * MB));
    let grown_mib = common::peak_memory_kib().saturating_sub(before) / 1024;
    assert!(grown_mib < 40, "the peak memory grew by {grown_mib} MiB");
    let key: (String,) = sqlx::query_as("SELECT storage_key FROM attachments WHERE id = $1")
        .bind(file["id"].as_i64().unwrap())
        .fetch_one(&pair.db.pool)
        .await
        .unwrap();
    let stored = pair.server.data_dir.join("media").join(key.0);
    assert_eq!(std::fs::metadata(stored).unwrap().len(), (60 * MB) as u64);

    let (form, send) = streamed("foto.jpg", "image/jpeg");
    let feeding = tokio::spawn(feed(send, &[0xFF, 0xD8, 0xFF, 0xE0], 12 * MB));
    let (status, error) = post(&pair, &pair.admin, form).await;
    feeding.abort();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    if !error.is_null() {
        assert_eq!(error, json!({"File": {"TooLarge": {"max_bytes": 5 * MB}}}));
    }
    assert_eq!(
        pair.count("SELECT COUNT(*) FROM attachments WHERE mime_type = 'image/jpeg'")
            .await,
        0
    );
    common::pair::eventually(
        "the staging files removed",
        Duration::from_secs(5),
        || async { (staged_files(&pair) == 0).then_some(()) },
    )
    .await;
    pair.stop().await;
}

/// Three uploads of one user in progress: a fourth waits its turn (503), another user's goes.
async fn bounded_per_user(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "hola"}))
        .await;
    let pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
    let small = || {
        let part = reqwest::multipart::Part::bytes(pdf.to_vec())
            .file_name("a.pdf")
            .mime_str("application/pdf")
            .unwrap();
        reqwest::multipart::Form::new().part("file", part)
    };
    let mut slow = Vec::new();
    let mut senders = Vec::new();
    for _ in 0..3 {
        let (form, send) = streamed("lento.pdf", "application/pdf");
        send.send(b"%PDF-1.7\n".to_vec()).await.unwrap();
        senders.push(send);
        let pair_admin = pair.admin.clone();
        let base = pair.server.base.clone();
        let conversation_id = pair.conversation_id().await;
        slow.push(tokio::spawn(async move {
            pair_admin
                .raw()
                .post(format!(
                    "{base}/api/upload?conversation_id={conversation_id}"
                ))
                .multipart(form)
                .send()
                .await
                .map(|r| r.status())
        }));
    }
    common::pair::eventually(
        "three uploads in progress",
        Duration::from_secs(5),
        || async { (staged_files(&pair) == 3).then_some(()) },
    )
    .await;
    let (status, error) = post(&pair, &pair.admin, small()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error, json!("Busy"));
    let other = pair
        .server
        .invite_and_accept(&pair.admin, "bruno@andinas.example", "admin")
        .await;
    let (status, _) = post(&pair, &other, small()).await;
    assert_eq!(status, StatusCode::OK, "another user's upload goes");

    // The slow ones finish; the next one goes.
    drop(senders);
    for upload in slow {
        assert_eq!(upload.await.unwrap().unwrap(), StatusCode::OK);
    }
    let (status, _) = post(&pair, &pair.admin, small()).await;
    assert_eq!(status, StatusCode::OK);
    pair.stop().await;
}

/// A file uploaded and never sent is removed a day later, with its bytes; one sent, one kept
/// for a quick reply, and bytes another row still names, stay.
async fn unsent_ones_are_removed_after_a_day(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "hola"}))
        .await;
    let conversation_id = pair.conversation_id().await;
    let pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
    let upload = |to: Option<i64>| {
        let part = reqwest::multipart::Part::bytes(pdf.to_vec())
            .file_name("a.pdf")
            .mime_str("application/pdf")
            .unwrap();
        let url = match to {
            Some(id) => format!("{}/api/upload?conversation_id={id}", pair.server.base),
            None => format!("{}/api/upload", pair.server.base),
        };
        let request = pair
            .admin
            .raw()
            .post(url)
            .multipart(reqwest::multipart::Form::new().part("file", part));
        async move {
            let file: Value = request.send().await.unwrap().json().await.unwrap();
            file["id"].as_i64().unwrap()
        }
    };
    let unsent = upload(Some(conversation_id)).await;
    let sent = upload(Some(conversation_id)).await;
    pair.admin
        .json(
            "send_media",
            &[
                ("conversation_id", &conversation_id.to_string()),
                ("attachment_id", &sent.to_string()),
            ],
        )
        .await;
    let kept = upload(None).await;
    pair.admin
        .json(
            "save_quick_reply",
            &[
                ("short_code", "catalogo"),
                ("body", "Nuestro catálogo"),
                ("attachment_id", &kept.to_string()),
            ],
        )
        .await;
    let media = pair.server.data_dir.join("media");
    let key_of = |id: i64| {
        let pool = pair.db.pool.clone();
        let media = media.clone();
        async move {
            let (key,): (String,) =
                sqlx::query_as("SELECT storage_key FROM attachments WHERE id = $1")
                    .bind(id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            media.join(key)
        }
    };
    let unsent_file = key_of(unsent).await;
    let kept_file = key_of(kept).await;
    sqlx::query("UPDATE attachments SET created_at = created_at - 25 * 3600 * 1000")
        .execute(&pair.db.pool)
        .await
        .unwrap();
    let store = app::media::LocalMedia::new(&media);
    let removed = buzon_server::media::remove_unsent_uploads(&pair.db, &store)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert!(!unsent_file.exists());
    assert!(kept_file.exists());
    assert_eq!(
        pair.count(&format!(
            "SELECT COUNT(*) FROM attachments WHERE id = {unsent}"
        ))
        .await,
        0
    );
    for id in [sent, kept] {
        assert_eq!(
            pair.count(&format!("SELECT COUNT(*) FROM attachments WHERE id = {id}"))
                .await,
            1
        );
    }
    pair.stop().await;
}
