//! Conversations both ways against the sandbox: customers write on every channel, agents
//! answer through the outbox, statuses come back; retries never send twice; media is kept
//! and served only to those who may see it; the window and disconnection are enforced.

mod common;

use std::time::Duration;

use common::pair::{eventually, Pair};
use common::Backend;
use reqwest::StatusCode;
use sandbox::world::Fault;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(15);

on_both_databases!(
    a_whatsapp_customer_and_an_agent_talk_both_ways_with_ticks,
    failed_sends_are_retried_without_sending_twice,
    a_send_whose_answer_is_lost_is_matched_by_its_status_not_resent,
    permanent_refusals_mark_the_message_failed_with_the_reason,
    received_media_is_downloaded_and_served_only_to_those_who_may_see_it,
    messenger_replies_are_not_duplicated_by_their_echoes_and_senders_get_names,
    the_window_and_disconnection_are_enforced_by_the_server,
    files_are_checked_by_content_then_uploaded_and_sent_by_id,
    a_send_interrupted_by_a_crash_is_never_repeated_blindly,
    a_retry_after_the_window_closed_is_refused_without_calling_the_provider,
    rate_limited_sends_wait_and_go_out_once_and_late_failures_keep_their_reason,
    a_voice_note_recorded_in_the_browser_goes_out_as_ogg_opus,
    a_quick_reply_file_goes_out_as_its_own_copy_where_the_channel_takes_it,
);

async fn thread(pair: &Pair, conversation_id: i64) -> Value {
    pair.admin
        .json(
            "thread",
            &[("conversation_id", &conversation_id.to_string())],
        )
        .await
}

async fn send_text(pair: &Pair, conversation_id: i64, text: &str) -> Value {
    pair.admin
        .json(
            "send_text",
            &[
                ("conversation_id", &conversation_id.to_string()),
                ("body", text),
            ],
        )
        .await
}

async fn status_of(pair: &Pair, message_id: i64) -> Option<String> {
    let (status,): (Option<String>,) = sqlx::query_as("SELECT status FROM messages WHERE id = $1")
        .bind(message_id)
        .fetch_one(&pair.db.pool)
        .await
        .unwrap();
    status
}

async fn a_whatsapp_customer_and_an_agent_talk_both_ways_with_ticks(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "¿Tienen la chaqueta en azul?"}))
        .await;
    let conversation_id = pair.conversation_id().await;
    let shown = thread(&pair, conversation_id).await;
    assert_eq!(shown["conversation"]["customer_name"], "Lucía Pérez");
    assert_eq!(shown["messages"][0]["body"], "¿Tienen la chaqueta en azul?");

    let sent = send_text(&pair, conversation_id, "¡Sí! Te paso fotos.").await;
    assert_eq!(sent["status"], "pending");
    let message_id = sent["id"].as_i64().unwrap();
    let delivered = eventually("the sandbox to receive the reply", WAIT, || async {
        let got = pair.business_messages();
        (!got.is_empty()).then_some(got)
    })
    .await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].text.as_deref(), Some("¡Sí! Te paso fotos."));
    assert_eq!(delivered[0].customer, "5215512345678");
    // The customer's reading comes back as the read tick.
    eventually("the read status", WAIT, || async {
        (status_of(&pair, message_id).await.as_deref() == Some("read")).then_some(())
    })
    .await;
    let (provider_id, pricing): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT provider_id, pricing_category FROM messages WHERE id = $1")
            .bind(message_id)
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    assert_eq!(provider_id.as_deref(), Some(delivered[0].id.as_str()));
    assert_eq!(pricing.as_deref(), Some("service"));
    pair.stop().await;
}

async fn failed_sends_are_retried_without_sending_twice(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "hola"}))
        .await;
    let conversation_id = pair.conversation_id().await;
    pair.fault(Fault::ServerError, 2);
    pair.fault(Fault::TimeoutBeforeAccept, 1);
    pair.sandbox.lock().unwrap().behaviour.hang_ms = 300;
    let sent = send_text(&pair, conversation_id, "respuesta").await;
    let message_id = sent["id"].as_i64().unwrap();
    eventually("delivery after the faults", WAIT, || async {
        matches!(
            status_of(&pair, message_id).await.as_deref(),
            Some("sent" | "delivered" | "read")
        )
        .then_some(())
    })
    .await;
    assert_eq!(
        pair.send_attempts(),
        4,
        "three refused attempts, then one that worked"
    );
    assert_eq!(
        pair.business_messages().len(),
        1,
        "the customer got it once"
    );
    let (attempts, status): (i64, String) =
        sqlx::query_as("SELECT attempts, status FROM outbox WHERE message_id = $1")
            .bind(message_id)
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    assert_eq!((attempts, status.as_str()), (4, "done"));
    pair.stop().await;
}

async fn a_send_whose_answer_is_lost_is_matched_by_its_status_not_resent(backend: Backend) {
    let pair = Pair::start_with(backend, |args| args.provider_timeout_secs = 1).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "hola"}))
        .await;
    let conversation_id = pair.conversation_id().await;
    // The provider takes the message but answers after Buzón stopped waiting.
    pair.sandbox.lock().unwrap().behaviour.hang_ms = 3_000;
    pair.fault(Fault::TimeoutAfterAccept, 1);
    let sent = send_text(&pair, conversation_id, "¿me recibes?").await;
    let message_id = sent["id"].as_i64().unwrap();
    eventually("the outbox to settle", WAIT, || async {
        let (status,): (String,) =
            sqlx::query_as("SELECT status FROM outbox WHERE message_id = $1")
                .bind(message_id)
                .fetch_one(&pair.db.pool)
                .await
                .unwrap();
        (status == "done").then_some(())
    })
    .await;
    assert_eq!(pair.business_messages().len(), 1, "never sent twice");
    assert_eq!(pair.send_attempts(), 1);
    let (provider_id,): (Option<String>,) =
        sqlx::query_as("SELECT provider_id FROM messages WHERE id = $1")
            .bind(message_id)
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    assert_eq!(
        provider_id.as_deref(),
        Some(pair.business_messages()[0].id.as_str())
    );
    pair.stop().await;
}

async fn permanent_refusals_mark_the_message_failed_with_the_reason(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "messenger", "text": "hola"}))
        .await;
    let conversation_id = pair.conversation_id().await;
    // The customer's last message is 3 days old, but the server thinks the window is open:
    // Buzón sends with the HUMAN_AGENT tag, which the provider accepts.
    sqlx::query("UPDATE conversations SET last_incoming_at = last_incoming_at - 3 * 86400000")
        .execute(&pair.db.pool)
        .await
        .unwrap();
    let late = send_text(&pair, conversation_id, "Seguimos atentos").await;
    let late_id = late["id"].as_i64().unwrap();
    eventually("the tagged send", WAIT, || async {
        (status_of(&pair, late_id).await.as_deref() != Some("pending")).then_some(())
    })
    .await;
    let request = pair.business_messages()[0].request.clone().unwrap();
    assert_eq!(request["messaging_type"], "MESSAGE_TAG");
    assert_eq!(request["tag"], "HUMAN_AGENT");

    // The sandbox's own clock says the window closed 8 days ago: a permanent refusal.
    {
        let mut world = pair.sandbox.lock().unwrap();
        for at in world.last_incoming.values_mut() {
            *at -= 8 * 86_400_000;
        }
    }
    let refused = send_text(&pair, conversation_id, "¿Sigues ahí?").await;
    let refused_id = refused["id"].as_i64().unwrap();
    eventually("the refusal", WAIT, || async {
        (status_of(&pair, refused_id).await.as_deref() == Some("failed")).then_some(())
    })
    .await;
    let (code, reason): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT error_code, error_reason FROM messages WHERE id = $1")
            .bind(refused_id)
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    assert_eq!(code.as_deref(), Some("10"));
    assert!(reason.unwrap().contains("outside of allowed window"));
    assert_eq!(pair.send_attempts(), 2, "a permanent error is not retried");
    pair.stop().await;
}

async fn received_media_is_downloaded_and_served_only_to_those_who_may_see_it(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "type": "image", "text": "esta"}))
        .await;
    let attachment_id = eventually("the download", WAIT, || async {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT id, status FROM attachments WHERE status <> 'pending'")
                .fetch_optional(&pair.db.pool)
                .await
                .unwrap();
        row.map(|(id, status)| {
            assert_eq!(status, "ready");
            id
        })
    })
    .await;
    let (mime, size): (String, i64) =
        sqlx::query_as("SELECT mime_type, size_bytes FROM attachments WHERE id = $1")
            .bind(attachment_id)
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    assert_eq!(mime, "image/png");
    let response = pair.admin.get(&format!("/media/{attachment_id}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let bytes = response.bytes().await.unwrap();
    assert_eq!(bytes.len() as i64, size);
    assert!(bytes.starts_with(b"\x89PNG"));

    let seller = pair
        .server
        .invite_and_accept(&pair.admin, "sergio@andinas.example", "seller")
        .await;
    let response = seller.get(&format!("/media/{attachment_id}")).await;
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "not their conversation"
    );
    let anonymous = pair.server.client();
    assert_eq!(
        anonymous
            .get(&format!("/media/{attachment_id}"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    sqlx::query("UPDATE conversations SET assignee_id = (SELECT id FROM users WHERE email = $1)")
        .bind("sergio@andinas.example")
        .execute(&pair.db.pool)
        .await
        .unwrap();
    assert_eq!(
        seller
            .get(&format!("/media/{attachment_id}"))
            .await
            .status(),
        StatusCode::OK,
        "assigned to them now"
    );
    pair.stop().await;
}

async fn messenger_replies_are_not_duplicated_by_their_echoes_and_senders_get_names(
    backend: Backend,
) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "messenger", "text": "¿Hacen envíos?"}))
        .await;
    let conversation_id = pair.conversation_id().await;
    // Messenger webhooks carry no name: it is looked up from the profile API.
    eventually("the profile lookup", WAIT, || async {
        let (name,): (Option<String>,) =
            sqlx::query_as("SELECT customer_name FROM conversations WHERE id = $1")
                .bind(conversation_id)
                .fetch_one(&pair.db.pool)
                .await
                .unwrap();
        (name.as_deref() == Some("Camila Rojas")).then_some(())
    })
    .await;
    let sent = send_text(&pair, conversation_id, "Sí, a todo el país").await;
    let message_id = sent["id"].as_i64().unwrap();
    eventually("the read watermark", WAIT, || async {
        (status_of(&pair, message_id).await.as_deref() == Some("read")).then_some(())
    })
    .await;
    // The Page echoed the send back: still one outgoing message.
    assert_eq!(
        pair.count("SELECT COUNT(*) FROM messages WHERE direction = 'out'")
            .await,
        1
    );
    // Written from Facebook's own inbox: an outgoing message of its own.
    pair.customer_sends(
        json!({"channel": "messenger", "text": "Te escribo desde el celular", "echo": true}),
    )
    .await;
    let (sent_from,): (Option<String>,) = sqlx::query_as(
        "SELECT sent_from FROM messages WHERE direction = 'out' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&pair.db.pool)
    .await
    .unwrap();
    assert_eq!(sent_from.as_deref(), Some("native_app"));

    // Instagram echoes our send before answering it, with nothing to tell it from a message
    // written in Instagram's app: the copy is merged into the send and open screens drop it.
    pair.customer_sends(json!({"channel": "instagram", "text": "¿Tienen talla M?"}))
        .await;
    let instagram_id = pair.conversation_on("instagram").await;
    // Instagram webhooks carry neither name nor username: both come from the profile API.
    let (name, username) = eventually("the Instagram profile", WAIT, || async {
        let (name, username): (Option<String>, Option<String>) = sqlx::query_as(
            "SELECT customer_name, customer_username FROM conversations WHERE id = $1",
        )
        .bind(instagram_id)
        .fetch_one(&pair.db.pool)
        .await
        .unwrap();
        username.is_some().then_some((name, username))
    })
    .await;
    let customer = pair
        .sandbox
        .lock()
        .unwrap()
        .customers
        .iter()
        .find(|c| c.channel == sandbox::world::Channel::Instagram)
        .cloned()
        .unwrap();
    assert_eq!(name, Some(customer.name()));
    assert_eq!(
        username,
        Some(
            customer
                .username
                .clone()
                .unwrap_or_else(|| customer.first_name.to_lowercase())
        )
    );
    let sent = send_text(&pair, instagram_id, "Sí, en azul y negro").await;
    let message_id = sent["id"].as_i64().unwrap();
    eventually("the Instagram send", WAIT, || async {
        (status_of(&pair, message_id).await.as_deref() != Some("pending")).then_some(())
    })
    .await;
    let outgoing: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, sender_user_id FROM messages WHERE conversation_id = $1 AND direction = 'out'",
    )
    .bind(instagram_id)
    .fetch_all(&pair.db.pool)
    .await
    .unwrap();
    assert_eq!(outgoing.len(), 1, "{outgoing:?}");
    assert_eq!(outgoing[0].0, message_id);
    let removed: Vec<(String,)> = sqlx::query_as(
        "SELECT payload FROM events WHERE conversation_id = $1 AND kind = 'message_removed'",
    )
    .bind(instagram_id)
    .fetch_all(&pair.db.pool)
    .await
    .unwrap();
    assert_eq!(removed.len(), 1, "the copy was stored, then merged");
    let removed: Value = serde_json::from_str(&removed[0].0).unwrap();
    assert_ne!(removed["message_id"], json!(message_id));
    pair.stop().await;
}

async fn the_window_and_disconnection_are_enforced_by_the_server(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "hola"}))
        .await;
    let conversation_id = pair.conversation_id().await;
    sqlx::query("UPDATE conversations SET last_incoming_at = last_incoming_at - 25 * 3600000")
        .execute(&pair.db.pool)
        .await
        .unwrap();
    let form = [
        ("conversation_id", conversation_id.to_string()),
        ("body", "¿sigues?".to_string()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, error) = pair.admin.error("send_text", &form).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error, json!({"Window": "TemplateRequired"}));

    let (empty_status, _) = pair
        .admin
        .error(
            "send_text",
            &[
                ("conversation_id", &conversation_id.to_string()),
                ("body", "  "),
            ],
        )
        .await;
    assert_eq!(empty_status, StatusCode::UNPROCESSABLE_ENTITY);

    sqlx::query("UPDATE conversations SET last_incoming_at = $1")
        .bind(app::epoch::EpochMs::now().0)
        .execute(&pair.db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE accounts SET status = 'disconnected' WHERE channel = 'whatsapp'")
        .execute(&pair.db.pool)
        .await
        .unwrap();
    let (status, error) = pair.admin.error("send_text", &form).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error, json!("AccountDisconnected"));
    assert_eq!(
        pair.count("SELECT COUNT(*) FROM messages WHERE direction = 'out'")
            .await,
        0,
        "nothing refused was stored"
    );
    assert_eq!(pair.send_attempts(), 0);
    pair.stop().await;
}

async fn upload(
    pair: &Pair,
    client: &common::Client,
    conversation_id: i64,
    name: &str,
    declared: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str(declared)
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    let response = client
        .raw()
        .post(format!(
            "{}/api/upload?conversation_id={conversation_id}",
            pair.server.base
        ))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn files_are_checked_by_content_then_uploaded_and_sent_by_id(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "¿me mandas la cotización?"}))
        .await;
    let conversation_id = pair.conversation_id().await;
    let pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec();

    // The name and the declared type lie; the content decides.
    let (status, file) = upload(
        &pair,
        &pair.admin,
        conversation_id,
        "cotización.png",
        "image/png",
        pdf.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{file}");
    assert_eq!(file["mime_type"], "application/pdf");
    assert_eq!(file["kind"], "document");
    let (status, error) = upload(
        &pair,
        &pair.admin,
        conversation_id,
        "setup.pdf",
        "application/pdf",
        b"MZ\x90\x00\x03\x00\x00\x00".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error, json!({"File": "Type"}));
    let mut big = vec![0xFF, 0xD8, 0xFF, 0xE0];
    big.resize(5 * 1024 * 1024 + 1, 0);
    let (status, error) = upload(
        &pair,
        &pair.admin,
        conversation_id,
        "foto.jpg",
        "image/jpeg",
        big,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error,
        json!({"File": {"TooLarge": {"max_bytes": 5 * 1024 * 1024}}})
    );

    let seller = pair
        .server
        .invite_and_accept(&pair.admin, "sergio@andinas.example", "seller")
        .await;
    let (status, _) = upload(
        &pair,
        &seller,
        conversation_id,
        "a.pdf",
        "application/pdf",
        pdf,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not their conversation");

    let attachment = file["id"].as_i64().unwrap().to_string();
    // Another user cannot send (and so read) a file someone else uploaded.
    let other_admin = pair
        .server
        .invite_and_accept(&pair.admin, "bruno@andinas.example", "admin")
        .await;
    let (status, _) = other_admin
        .error(
            "send_media",
            &[
                ("conversation_id", &conversation_id.to_string()),
                ("attachment_id", &attachment),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let form = [
        ("conversation_id", conversation_id.to_string()),
        ("attachment_id", attachment.clone()),
        ("caption", "Aquí está".to_string()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let sent = pair.admin.json("send_media", &form).await;
    assert_eq!(sent["kind"], "document");
    assert_eq!(sent["attachment"]["file_name"], "cotización.png");
    let delivered = eventually("the document at the provider", WAIT, || async {
        pair.business_messages()
            .into_iter()
            .find(|m| m.kind == "document")
    })
    .await;
    let request = delivered.request.unwrap();
    let media_id = request["document"]["id"].as_str().unwrap().to_string();
    assert_eq!(request["document"]["caption"], "Aquí está");
    assert_eq!(request["document"]["filename"], "cotización.png");
    let uploaded = pair
        .sandbox
        .lock()
        .unwrap()
        .media
        .get(&media_id)
        .cloned()
        .unwrap();
    assert_eq!(uploaded.mime_type, "application/pdf");
    assert!(uploaded.bytes.starts_with(b"%PDF"));
    // One file, one message.
    let (status, _) = pair.admin.error("send_media", &form).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Messenger attachments carry no caption: it follows the image as a text of its own.
    pair.customer_sends(json!({"channel": "messenger", "text": "¿Tienen catálogo?"}))
        .await;
    let messenger_id = pair.conversation_on("messenger").await;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.resize(2048, 7);
    let (status, file) = upload(
        &pair,
        &pair.admin,
        messenger_id,
        "catalogo.png",
        "image/png",
        png,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{file}");
    let form = [
        ("conversation_id", messenger_id.to_string()),
        ("attachment_id", file["id"].as_i64().unwrap().to_string()),
        ("caption", "Nuestro catálogo".to_string()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let sent = pair.admin.json("send_media", &form).await;
    assert_eq!(sent["kind"], "image");
    assert_eq!(sent["body"], "");
    let caption = eventually("the caption at the provider", WAIT, || async {
        pair.business_messages()
            .into_iter()
            .find(|m| m.text.as_deref() == Some("Nuestro catálogo"))
    })
    .await;
    let image = pair
        .business_messages()
        .into_iter()
        .find(|m| m.channel == sandbox::world::Channel::Messenger && m.kind == "image")
        .expect("the image went first");
    assert!(image.at <= caption.at);
    assert_eq!(image.request.unwrap()["message"].get("text"), None);
    assert_eq!(
        pair.count(&format!(
            "SELECT COUNT(*) FROM messages WHERE conversation_id = {messenger_id} AND direction = 'out'"
        ))
        .await,
        2
    );

    // Twilio takes no uploads: it fetches the file from a signed link that expires.
    pair.customer_sends(json!({"channel": "twilio", "text": "¿Me mandas la factura?"}))
        .await;
    let twilio_id = pair.conversation_on("twilio").await;
    let mut invoice = b"%PDF-1.7\n".to_vec();
    invoice.resize(4096, b' ');
    let (status, file) = upload(
        &pair,
        &pair.admin,
        twilio_id,
        "factura.pdf",
        "application/pdf",
        invoice.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{file}");
    let form = [
        ("conversation_id", twilio_id.to_string()),
        ("attachment_id", file["id"].as_i64().unwrap().to_string()),
        ("caption", "Tu factura".to_string()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let sent = pair.admin.json("send_media", &form).await;
    let sent_id = sent["id"].as_i64().unwrap();
    let delivered = eventually("the invoice fetched by Twilio", WAIT, || async {
        pair.business_messages()
            .into_iter()
            .find(|m| m.channel == sandbox::world::Channel::Twilio && m.kind == "document")
    })
    .await;
    let fetched = pair
        .sandbox
        .lock()
        .unwrap()
        .media
        .get(&delivered.id)
        .cloned()
        .unwrap();
    assert_eq!(fetched.bytes, invoice);
    assert_eq!(fetched.mime_type, "application/pdf");
    let request = delivered.request.unwrap();
    assert_eq!(request["Body"], "Tu factura");
    eventually("the invoice sent", WAIT, || async {
        matches!(
            status_of(&pair, sent_id).await.as_deref(),
            Some("sent" | "delivered" | "read")
        )
        .then_some(())
    })
    .await;
    // The link works for that file only, signed, and not once tampered with.
    let link = request["MediaUrl"].as_str().unwrap().to_string();
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(&link).send().await.unwrap().status(),
        StatusCode::OK
    );
    let unsigned = link.split("&sig=").next().unwrap().to_string();
    let later = link.replacen("until=", "until=9", 1);
    for bad in [unsigned, later] {
        assert_eq!(
            http.get(&bad).send().await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
    pair.stop().await;
}

/// An outgoing message left `in_flight` by a server that stopped mid-send.
async fn interrupted_send(pair: &Pair, conversation_id: i64, body: &str) -> i64 {
    let now = app::epoch::EpochMs::now().0;
    let (org_id, account_id): (i64, i64) =
        sqlx::query_as("SELECT org_id, account_id FROM conversations WHERE id = $1")
            .bind(conversation_id)
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    let (message_id,): (i64,) = sqlx::query_as(
        "INSERT INTO messages (org_id, conversation_id, account_id, direction, kind, body, \
         status, created_at) VALUES ($1, $2, $3, 'out', 'text', $4, 'pending', $5) RETURNING id",
    )
    .bind(org_id)
    .bind(conversation_id)
    .bind(account_id)
    .bind(body)
    .bind(now)
    .fetch_one(&pair.db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO outbox (org_id, message_id, status, attempts, next_attempt_at, locked_until, \
         created_at) VALUES ($1, $2, 'in_flight', 1, $3, $3, $3)",
    )
    .bind(org_id)
    .bind(message_id)
    .bind(now - 1)
    .execute(&pair.db.pool)
    .await
    .unwrap();
    message_id
}

async fn a_send_interrupted_by_a_crash_is_never_repeated_blindly(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "hola"}))
        .await;
    let whatsapp = pair.conversation_id().await;
    // WhatsApp echoes Buzón's reference in its statuses: wait for them, then send if none came.
    let waited = interrupted_send(&pair, whatsapp, "¿sigues ahí?").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        pair.business_messages().is_empty(),
        "not sent again at once"
    );
    eventually("the send after the wait", WAIT, || async {
        (pair.business_messages().len() == 1).then_some(())
    })
    .await;
    eventually("its status", WAIT, || async {
        (status_of(&pair, waited).await.as_deref() != Some("pending")).then_some(())
    })
    .await;

    // Twilio cannot tell Buzón whether it took the message: the agent is told instead.
    pair.customer_sends(json!({"channel": "twilio", "text": "hola"}))
        .await;
    let twilio = pair.conversation_on("twilio").await;
    let unknown = interrupted_send(&pair, twilio, "¿recibiste el pedido?").await;
    eventually("the twilio message marked failed", WAIT, || async {
        (status_of(&pair, unknown).await.as_deref() == Some("failed")).then_some(())
    })
    .await;
    let (code,): (Option<String>,) =
        sqlx::query_as("SELECT error_code FROM messages WHERE id = $1")
            .bind(unknown)
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    assert_eq!(code.as_deref(), Some("unknown"));
    assert_eq!(
        pair.business_messages().len(),
        1,
        "nothing sent to the Twilio customer"
    );
    pair.stop().await;
}

async fn a_retry_after_the_window_closed_is_refused_without_calling_the_provider(backend: Backend) {
    let pair = Pair::start_with(backend, |args| args.retry_base_ms = 1500).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "hola"}))
        .await;
    let conversation_id = pair.conversation_id().await;
    pair.fault(Fault::ServerError, 1);
    let sent = send_text(&pair, conversation_id, "te respondo mañana").await;
    let message_id = sent["id"].as_i64().unwrap();
    // Before the retry, the customer's last message becomes 25 hours old.
    sqlx::query("UPDATE conversations SET last_incoming_at = $1 WHERE id = $2")
        .bind(app::epoch::EpochMs::now().0 - 25 * 3_600_000)
        .bind(conversation_id)
        .execute(&pair.db.pool)
        .await
        .unwrap();
    eventually("the refusal", WAIT, || async {
        (status_of(&pair, message_id).await.as_deref() == Some("failed")).then_some(())
    })
    .await;
    let (code,): (Option<String>,) =
        sqlx::query_as("SELECT error_code FROM messages WHERE id = $1")
            .bind(message_id)
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    assert_eq!(code.as_deref(), Some("window_template_required"));
    assert!(
        pair.business_messages().is_empty(),
        "nothing reached the customer"
    );
    assert!(pair.send_attempts() <= 1);
    pair.stop().await;
}

async fn rate_limited_sends_wait_and_go_out_once_and_late_failures_keep_their_reason(
    backend: Backend,
) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "hola"}))
        .await;
    let conversation_id = pair.conversation_id().await;
    // The line takes one message a second; the others are refused with 130429 and retried.
    pair.sandbox.lock().unwrap().behaviour.rate_limit_mps = 1;
    let mut ids = Vec::new();
    for text in ["uno", "dos", "tres"] {
        ids.push(
            send_text(&pair, conversation_id, text).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    for &id in &ids {
        eventually("delivery within the rate limit", WAIT, || async {
            matches!(
                status_of(&pair, id).await.as_deref(),
                Some("sent" | "delivered" | "read")
            )
            .then_some(())
        })
        .await;
    }
    let mut texts: Vec<String> = pair
        .business_messages()
        .into_iter()
        .filter_map(|m| m.text)
        .collect();
    texts.sort();
    assert_eq!(texts, ["dos", "tres", "uno"], "each once");
    assert!(pair.send_attempts() > 3, "some were refused first");

    // The provider accepts a free message, then reports it failed (its own window ended):
    // the message fails with the provider's code, which the interface translates.
    pair.sandbox.lock().unwrap().behaviour.rate_limit_mps = 80;
    for at in pair.sandbox.lock().unwrap().last_incoming.values_mut() {
        *at -= 25 * 3_600_000;
    }
    let late = send_text(&pair, conversation_id, "¿sigues ahí?").await["id"]
        .as_i64()
        .unwrap();
    eventually("the late failure", WAIT, || async {
        (status_of(&pair, late).await.as_deref() == Some("failed")).then_some(())
    })
    .await;
    let (code, reason): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT error_code, error_reason FROM messages WHERE id = $1")
            .bind(late)
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    assert_eq!(code.as_deref(), Some("131047"));
    assert!(reason.unwrap().contains("24 hours"));
    pair.stop().await;
}

/// What the sandbox received as uploaded media from the business, newest last.
fn uploaded_media(pair: &Pair) -> Vec<sandbox::world::StoredMedia> {
    let world = pair.sandbox.lock().unwrap();
    world.media.values().cloned().collect()
}

async fn a_voice_note_recorded_in_the_browser_goes_out_as_ogg_opus(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "Mándame un audio"}))
        .await;
    let conversation_id = pair.conversation_id().await;
    let webm = include_bytes!("../../channels/fixtures/chromium-voice.webm").to_vec();
    let (status, file) = upload(
        &pair,
        &pair.admin,
        conversation_id,
        "nota-de-voz-1.webm",
        "audio/webm;codecs=opus",
        webm.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{file}");
    assert_eq!(file["mime_type"], "audio/ogg");
    assert_eq!(file["kind"], "audio");
    assert_eq!(file["file_name"], "nota-de-voz-1.ogg");
    let form = [
        ("conversation_id", conversation_id.to_string()),
        ("attachment_id", file["id"].to_string()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pair.admin.json("send_media", &form).await;
    eventually("the voice note at the provider", WAIT, || async {
        pair.business_messages()
            .into_iter()
            .find(|m| m.kind == "audio")
    })
    .await;
    let media = uploaded_media(&pair);
    assert_eq!(media.len(), 1);
    assert_eq!(media[0].mime_type, "audio/ogg");
    assert!(media[0].bytes.starts_with(b"OggS"));
    assert_eq!(&media[0].bytes[28..36], b"OpusHead");

    // A WebM video declared as something else is not touched, and WhatsApp does not take it.
    let (status, error) = upload(
        &pair,
        &pair.admin,
        conversation_id,
        "clip.webm",
        "video/webm",
        webm,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error, json!({"File": "Type"}));
    pair.stop().await;
}

async fn a_quick_reply_file_goes_out_as_its_own_copy_where_the_channel_takes_it(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "¿Tienen catálogo?"}))
        .await;
    let whatsapp = pair.conversation_on("whatsapp").await;
    pair.customer_sends(json!({"channel": "instagram", "text": "¿Precio?"}))
        .await;
    let instagram = pair.conversation_on("instagram").await;
    let upload_for_later = |client: &common::Client, name: &str, declared: &str, bytes: Vec<u8>| {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str(declared)
            .unwrap();
        let request = client
            .raw()
            .post(format!("{}/api/upload", pair.server.base))
            .multipart(reqwest::multipart::Form::new().part("file", part));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec();
    let seller = pair
        .server
        .invite_and_accept(&pair.admin, "sergio@andinas.example", "seller")
        .await;
    let (status, _) =
        upload_for_later(&seller, "catalogo.pdf", "application/pdf", pdf.clone()).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "sellers do not manage quick replies"
    );
    let (status, file) =
        upload_for_later(&pair.admin, "catalogo.pdf", "application/pdf", pdf.clone()).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    let file_id = file["id"].to_string();
    let saved = pair
        .admin
        .json(
            "save_quick_reply",
            &[
                ("short_code", "catalogo"),
                ("body", ""),
                ("attachment_id", &file_id),
            ],
        )
        .await;
    assert_eq!(saved["attachment"]["file_name"], "catalogo.pdf");
    let listed = seller.json("quick_replies", &[]).await;
    assert_eq!(listed[0]["attachment"]["mime_type"], "application/pdf");
    // Without a file the words are required; a file of a conversation is not a quick reply's.
    let (_, error) = pair
        .admin
        .error(
            "save_quick_reply",
            &[("short_code", "vacia"), ("body", " ")],
        )
        .await;
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Message", "problem": "Required"}})
    );
    let (_, other) = upload(
        &pair,
        &pair.admin,
        whatsapp,
        "x.pdf",
        "application/pdf",
        pdf,
    )
    .await;
    let (_, error) = pair
        .admin
        .error(
            "save_quick_reply",
            &[
                ("short_code", "ajena"),
                ("body", "x"),
                ("attachment_id", &other["id"].to_string()),
            ],
        )
        .await;
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Attachment", "problem": "Unknown"}})
    );

    // Used twice in WhatsApp: two messages, each with its own attachment, one stored file.
    let reply_id = saved["id"].to_string();
    for caption in ["Aquí está el catálogo", "De nuevo"] {
        let copy = pair
            .admin
            .json(
                "quick_reply_file",
                &[
                    ("conversation_id", &whatsapp.to_string()),
                    ("quick_reply_id", &reply_id),
                ],
            )
            .await;
        assert_ne!(copy["id"].to_string(), file_id);
        let form = [
            ("conversation_id", whatsapp.to_string()),
            ("attachment_id", copy["id"].to_string()),
            ("caption", caption.to_string()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let sent = pair.admin.json("send_media", &form).await;
        assert_eq!(sent["attachment"]["file_name"], "catalogo.pdf");
    }
    eventually("both documents at the provider", WAIT, || async {
        (pair
            .business_messages()
            .iter()
            .filter(|m| m.kind == "document")
            .count()
            == 2)
            .then_some(())
    })
    .await;
    let quick_reply_file = pair
        .count(&format!(
            "SELECT COUNT(*) FROM attachments WHERE id = {file_id} AND message_id IS NULL"
        ))
        .await;
    assert_eq!(quick_reply_file, 1, "the quick reply keeps its own file");
    // Instagram takes a PDF, but no Word document: that quick reply is refused there.
    let copy = pair
        .admin
        .json(
            "quick_reply_file",
            &[
                ("conversation_id", &instagram.to_string()),
                ("quick_reply_id", &reply_id),
            ],
        )
        .await;
    assert_eq!(copy["mime_type"], "application/pdf");
    let docx = b"PK\x03\x04\x14\x00\x06\x00word/document.xml".to_vec();
    let word = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    let (status, file) = upload_for_later(&pair.admin, "precios.docx", word, docx).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    let saved = pair
        .admin
        .json(
            "save_quick_reply",
            &[
                ("short_code", "precios"),
                ("body", "Lista de precios"),
                ("attachment_id", &file["id"].to_string()),
            ],
        )
        .await;
    let (status, error) = pair
        .admin
        .error(
            "quick_reply_file",
            &[
                ("conversation_id", &instagram.to_string()),
                ("quick_reply_id", &saved["id"].to_string()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error, json!({"File": "Type"}));
    pair.stop().await;
}
