//! Media kept in an S3-compatible bucket (moto's server), shared by two instances on one
//! PostgreSQL database: a file received through one is served by the other, and a file
//! uploaded through either is sent by the other.

mod common;

use std::time::Duration;

use common::pair::{eventually, Pair};
use common::s3::Moto;
use common::{Backend, Client, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);

async fn upload(client: &Client, conversation_id: i64, name: &str, bytes: Vec<u8>) -> i64 {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str("application/pdf")
        .unwrap();
    let response = client
        .raw()
        .post(format!(
            "{}/api/upload?conversation_id={conversation_id}",
            client.base
        ))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let file: Value = response.json().await.unwrap();
    file["id"].as_i64().unwrap()
}

async fn send(client: &Client, conversation_id: i64, attachment: i64, caption: &str) {
    client
        .json(
            "send_media",
            &[
                ("conversation_id", &conversation_id.to_string()),
                ("attachment_id", &attachment.to_string()),
                ("caption", caption),
            ],
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_their_media_through_the_bucket() {
    common::within_limit(shared(Backend::Postgres)).await;
}

async fn shared(backend: Backend) {
    let moto = Moto::start().await;
    let pair = Pair::start_with(backend, |args| moto.configure(args)).await;
    let other = TestServer::start_on(pair.server.db.shared(), pair.args.clone()).await;
    let admin_here = &pair.admin;
    let admin_there = pair.admin.on_instance(&other.base);

    // A photo received through the first instance...
    pair.customer_sends(json!({"channel": "whatsapp", "type": "image", "text": "esta"}))
        .await;
    let received = eventually("the download", WAIT, || async {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM attachments WHERE status = 'ready'")
                .fetch_optional(&pair.db.pool)
                .await
                .unwrap();
        row.map(|(id,)| id)
    })
    .await;
    // ...is served by the other, from the bucket, not from either instance's disk.
    let response = admin_there.get(&format!("/media/{received}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));
    for data in [&pair.server.data_dir, &other.data_dir] {
        assert!(!data.join("media").exists(), "{}", data.display());
    }
    assert!(moto
        .keys()
        .await
        .iter()
        .any(|key| key.starts_with("media/") && key.ends_with(&format!("/{received}"))));

    // A document uploaded on either instance goes out from the other; a large one goes up to
    // the bucket in parts and comes back whole.
    let conversation_id = pair.conversation_id().await;
    let pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec();
    let mut large = b"%PDF-1.7\n".to_vec();
    large.resize(12 * 1024 * 1024, b'x');
    let up_here = upload(admin_here, conversation_id, "aqui.pdf", pdf).await;
    let up_there = upload(&admin_there, conversation_id, "alla.pdf", large.clone()).await;
    send(&admin_there, conversation_id, up_here, "subido aquí").await;
    send(admin_here, conversation_id, up_there, "subido allá").await;
    let documents = eventually("both documents at the provider", WAIT, || async {
        let documents: Vec<_> = pair
            .business_messages()
            .into_iter()
            .filter(|m| m.kind == "document")
            .collect();
        (documents.len() == 2).then_some(documents)
    })
    .await;
    assert_eq!(documents.len(), 2);
    let response = admin_here.get(&format!("/media/{up_there}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap().len(), large.len());

    other.stop().await;
    pair.stop().await;
}
