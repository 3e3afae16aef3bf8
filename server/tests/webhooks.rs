//! Webhooks end to end against the real server: handshake, signatures, routing, idempotency,
//! one conversation per customer, statuses that never go backwards, on both databases.

mod common;

use channels::signature::{ascii_json, meta_signature, twilio_signature};
use common::meta::*;
use common::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_databases!(
    handshake_answers_the_challenge_only_for_a_known_token,
    unsigned_or_badly_signed_webhooks_store_nothing,
    escaped_non_ascii_bodies_verify_and_store_the_decoded_text,
    redelivered_webhooks_store_each_message_once,
    a_deleted_conversation_stays_deleted_when_its_webhooks_come_again,
    a_burst_from_one_customer_opens_one_conversation,
    statuses_in_any_order_never_go_backwards,
    malformed_oversized_and_misaddressed_bodies_are_refused,
    disconnected_accounts_take_nothing_new,
    a_batch_for_several_lines_routes_each_message_to_its_line,
    media_and_new_senders_queue_their_slow_work,
    reactions_edits_and_deletions_apply_once,
    messenger_and_instagram_events_flow_in,
    twilio_forms_are_verified_against_the_public_url,
    the_thread_pages_back_in_time_order_with_every_reaction,
);

async fn handshake_answers_the_challenge_only_for_a_known_token(backend: Backend) {
    let f = Fixture::new(backend).await;
    let url = |channel: &str, token: &str| {
        format!(
            "{}/webhooks/{channel}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
            f.server.base
        )
    };
    for channel in ["whatsapp", "messenger", "instagram"] {
        let ok = f.http.get(url(channel, VERIFY_TOKEN)).send().await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.text().await.unwrap(), "1158201444");
        let wrong = f.http.get(url(channel, "nope")).send().await.unwrap();
        assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    }
    let missing = f
        .http
        .get(format!(
            "{}/webhooks/whatsapp?hub.challenge=1",
            f.server.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let unknown = f
        .http
        .get(url("telegram", VERIFY_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    f.stop().await;
}

async fn unsigned_or_badly_signed_webhooks_store_nothing(backend: Backend) {
    let f = Fixture::new(backend).await;
    let body = text_from("5215512345678", "wamid.A", "hola");
    assert_eq!(
        f.post_meta("whatsapp", &body, None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        f.post_meta("whatsapp", &body, Some("another-secret")).await,
        StatusCode::UNAUTHORIZED
    );
    let tampered = f
        .http
        .post(format!("{}/webhooks/whatsapp", f.server.base))
        .header(
            "x-hub-signature-256",
            meta_signature(APP_SECRET.as_bytes(), ascii_json(&body).as_bytes()),
        )
        .body(ascii_json(&text_from("5215512345678", "wamid.A", "adiós")))
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(f.messages().await, 0);
    assert_eq!(f.conversations().await, 0);
    assert_eq!(f.events().await, 0);

    assert_eq!(f.post_whatsapp(&body).await, StatusCode::OK);
    assert_eq!(f.messages().await, 1);
    f.stop().await;
}

async fn escaped_non_ascii_bodies_verify_and_store_the_decoded_text(backend: Backend) {
    let f = Fixture::new(backend).await;
    let text = "¿Tienen envío a Medellín? 😮";
    let body = text_from("573001112233", "wamid.U", text);
    assert!(ascii_json(&body).contains("\\u00bf"));
    assert_eq!(f.post_whatsapp(&body).await, StatusCode::OK);
    let (stored, name): (String, String) = sqlx::query_as(
        "SELECT m.body, c.customer_name FROM messages m JOIN conversations c ON c.id = m.conversation_id",
    )
    .fetch_one(&f.db.pool)
    .await
    .unwrap();
    assert_eq!(stored, text);
    assert_eq!(name, "Lucía Pérez");
    f.stop().await;
}

/// One body of every kind the line can receive, each delivered twice.
fn every_kind(customer: &str) -> Vec<Value> {
    let message = |id: &str, part: Value| {
        let mut m = json!({"from": customer, "id": id, "timestamp": "1760000000"});
        for (k, v) in part.as_object().unwrap() {
            m[k] = v.clone();
        }
        whatsapp(
            LINE,
            json!({"contacts": [{"profile": {"name": "C"}, "wa_id": customer}], "messages": [m]}),
        )
    };
    vec![
        message("w.text", json!({"type": "text", "text": {"body": "hola"}})),
        message(
            "w.reply",
            json!({"type": "text", "text": {"body": "ese"}, "context": {"id": "w.text"}}),
        ),
        message(
            "w.loc",
            json!({"type": "location", "location": {"latitude": 1.0, "longitude": 2.0}}),
        ),
        message(
            "w.voice",
            json!({"type": "audio", "audio": {"id": "m1", "mime_type": "audio/ogg", "voice": true}}),
        ),
        message(
            "w.img",
            json!({"type": "image", "image": {"id": "m2", "mime_type": "image/jpeg"}}),
        ),
        message(
            "w.vid",
            json!({"type": "video", "video": {"id": "m3", "mime_type": "video/mp4"}}),
        ),
        message(
            "w.doc",
            json!({"type": "document", "document": {"id": "m4", "mime_type": "application/pdf", "filename": "a.pdf"}}),
        ),
        message(
            "w.stk",
            json!({"type": "sticker", "sticker": {"id": "m5", "mime_type": "image/webp"}}),
        ),
        message(
            "w.btn",
            json!({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "1", "title": "Sí"}}}),
        ),
        message(
            "w.list",
            json!({"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": "2", "title": "M"}}}),
        ),
        message(
            "w.poll",
            json!({"type": "unsupported", "unsupported": {"type": "poll_creation"}}),
        ),
        message(
            "w.react",
            json!({"type": "reaction", "reaction": {"message_id": "w.text", "emoji": "👍"}}),
        ),
        message(
            "w.edit",
            json!({"type": "edit", "edit": {"original_message_id": "w.text", "message": {"type": "text", "text": {"body": "hola!"}}}}),
        ),
    ]
}

async fn redelivered_webhooks_store_each_message_once(backend: Backend) {
    let f = Fixture::new(backend).await;
    let bodies = every_kind("5215512345678");
    for body in &bodies {
        assert_eq!(f.post_whatsapp(body).await, StatusCode::OK);
    }
    let messages = f.messages().await;
    let events = f.events().await;
    let reactions = f.count("SELECT COUNT(*) FROM reactions").await;
    let jobs = f.count("SELECT COUNT(*) FROM jobs").await;
    assert_eq!(messages, 11, "reaction and edit are not messages");
    assert_eq!(reactions, 1);
    for body in &bodies {
        assert_eq!(f.post_whatsapp(body).await, StatusCode::OK);
    }
    assert_eq!(f.messages().await, messages);
    assert_eq!(f.events().await, events, "a redelivery changes nothing");
    assert_eq!(f.count("SELECT COUNT(*) FROM reactions").await, reactions);
    assert_eq!(f.count("SELECT COUNT(*) FROM jobs").await, jobs);
    assert_eq!(f.conversations().await, 1);

    let kinds: Vec<(String,)> = sqlx::query_as("SELECT kind FROM messages ORDER BY id")
        .fetch_all(&f.db.pool)
        .await
        .unwrap();
    let kinds: Vec<&str> = kinds.iter().map(|(k,)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "text",
            "text",
            "location",
            "voice",
            "image",
            "video",
            "document",
            "sticker",
            "choice",
            "choice",
            "unsupported"
        ]
    );
    let (reply_to, edited_body): (Option<i64>, Option<String>) = sqlx::query_as(
        "SELECT (SELECT reply_to_id FROM messages WHERE provider_id = 'w.reply'), \
                (SELECT body FROM messages WHERE provider_id = 'w.text')",
    )
    .fetch_one(&f.db.pool)
    .await
    .unwrap();
    assert!(
        reply_to.is_some(),
        "the reply points at the stored original"
    );
    assert_eq!(edited_body.as_deref(), Some("hola!"));
    f.stop().await;
}

async fn a_burst_from_one_customer_opens_one_conversation(backend: Backend) {
    let f = Fixture::new(backend).await;
    let mut sends = Vec::new();
    for i in 0..25 {
        let body = text_from(
            "5215500000001",
            &format!("wamid.B{i}"),
            &format!("mensaje {i}"),
        );
        let bytes = ascii_json(&body);
        let request = f
            .http
            .post(format!("{}/webhooks/whatsapp", f.server.base))
            .header(
                "x-hub-signature-256",
                meta_signature(APP_SECRET.as_bytes(), bytes.as_bytes()),
            )
            .body(bytes);
        sends.push(tokio::spawn(request.send()));
    }
    for send in sends {
        assert_eq!(send.await.unwrap().unwrap().status(), StatusCode::OK);
    }
    assert_eq!(f.conversations().await, 1);
    assert_eq!(f.messages().await, 25);
    f.stop().await;
}

async fn statuses_in_any_order_never_go_backwards(backend: Backend) {
    let f = Fixture::new(backend).await;
    f.outgoing("wamid.OUT1", "5215512345678", 1_760_000_000_000)
        .await;
    let service = json!({"pricing": {"billable": false, "pricing_model": "PMP",
                                     "type": "free_customer_service", "category": "service"}});
    assert_eq!(
        f.post_whatsapp(&status("wamid.OUT1", "read", service.clone()))
            .await,
        StatusCode::OK
    );
    for late in ["delivered", "sent", "read"] {
        assert_eq!(
            f.post_whatsapp(&status("wamid.OUT1", late, json!({})))
                .await,
            StatusCode::OK
        );
    }
    let failed = json!({"errors": [{"code": 131047, "title": "Re-engagement message",
        "error_data": {"details": "More than 24 hours have passed since the customer last replied."}}]});
    f.post_whatsapp(&status("wamid.OUT1", "failed", failed.clone()))
        .await;
    assert_eq!(f.status_of("wamid.OUT1").await, ("read".into(), None, None));
    let (category,): (Option<String>,) =
        sqlx::query_as("SELECT pricing_category FROM messages WHERE provider_id = 'wamid.OUT1'")
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
    assert_eq!(category.as_deref(), Some("service"));
    assert_eq!(
        f.count("SELECT COUNT(*) FROM events WHERE kind = 'message_status'")
            .await,
        1,
        "only the first read changed anything"
    );

    f.outgoing("wamid.OUT2", "5215512345678", 1_760_000_000_001)
        .await;
    f.post_whatsapp(&status("wamid.OUT2", "sent", json!({})))
        .await;
    f.post_whatsapp(&status("wamid.OUT2", "failed", failed))
        .await;
    f.post_whatsapp(&status("wamid.OUT2", "delivered", json!({})))
        .await;
    let (state, code, reason) = f.status_of("wamid.OUT2").await;
    assert_eq!(state, "failed");
    assert_eq!(code.as_deref(), Some("131047"));
    assert!(reason.unwrap().contains("24 hours"));

    // A status for a message not stored yet is kept for a later attempt, not lost.
    f.post_whatsapp(&status("wamid.FUTURE", "delivered", json!({})))
        .await;
    assert_eq!(
        f.count("SELECT COUNT(*) FROM jobs WHERE kind = 'late_status'")
            .await,
        1
    );
    f.stop().await;
}

async fn malformed_oversized_and_misaddressed_bodies_are_refused(backend: Backend) {
    let f = Fixture::new(backend).await;
    let post_raw = |bytes: Vec<u8>| {
        let signature = meta_signature(APP_SECRET.as_bytes(), &bytes);
        f.http
            .post(format!("{}/webhooks/whatsapp", f.server.base))
            .header("x-hub-signature-256", signature)
            .body(bytes)
            .send()
    };
    let malformed = post_raw(b"{\"object\":\"whatsapp_business_account\",\"entry\":[".to_vec())
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let mut huge = ascii_json(&text_from("1", "w.big", "x")).into_bytes();
    huge.extend(std::iter::repeat_n(b' ', 3 * 1024 * 1024 + 1));
    let oversized = post_raw(huge).await.unwrap();
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let stranger = whatsapp(
        "999999",
        json!({"messages": [{"from": "1", "id": "w.s", "timestamp": "1", "type": "text", "text": {"body": "?"}}]}),
    );
    assert_eq!(f.post_whatsapp(&stranger).await, StatusCode::UNAUTHORIZED);
    assert_eq!(f.messages().await, 0);
    f.stop().await;
}

async fn disconnected_accounts_take_nothing_new(backend: Backend) {
    let f = Fixture::new(backend).await;
    assert_eq!(
        f.post_whatsapp(&text_from("5215512345678", "w.before", "antes"))
            .await,
        StatusCode::OK
    );
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM accounts WHERE external_id = $1")
        .bind(LINE)
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    f.admin
        .json("disconnect_account", &[("id", &id.to_string())])
        .await;
    assert_eq!(
        f.post_whatsapp(&text_from("5215512345678", "w.after", "después"))
            .await,
        StatusCode::OK
    );
    assert_eq!(f.messages().await, 1, "history stays, nothing new arrives");
    f.stop().await;
}

async fn a_batch_for_several_lines_routes_each_message_to_its_line(backend: Backend) {
    let f = Fixture::new(backend).await;
    let change = |line: &str, id: &str| {
        json!({"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "1", "phone_number_id": line},
            "messages": [{"from": "5215512345678", "id": id, "timestamp": "1", "type": "text", "text": {"body": id}}]
        }})
    };
    let body = json!({"object": "whatsapp_business_account", "entry": [
        {"id": "W1", "changes": [change(LINE, "w.l1a"), change("L2", "w.l2")]},
        {"id": "W2", "changes": [change(LINE, "w.l1b")]}
    ]});
    assert_eq!(f.post_whatsapp(&body).await, StatusCode::OK);
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.provider_id, a.external_id FROM messages m JOIN accounts a ON a.id = m.account_id \
         ORDER BY m.provider_id",
    )
    .fetch_all(&f.db.pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [("w.l1a", LINE), ("w.l1b", LINE), ("w.l2", "L2")]
            .map(|(m, a)| (m.to_string(), a.to_string()))
    );
    assert_eq!(
        f.conversations().await,
        2,
        "same customer, two lines, two conversations"
    );
    f.stop().await;
}

async fn media_and_new_senders_queue_their_slow_work(backend: Backend) {
    let f = Fixture::new(backend).await;
    let image = whatsapp(
        LINE,
        json!({"messages": [{"from": "1", "id": "w.img", "timestamp": "1", "type": "image",
            "image": {"id": "MEDIA1", "mime_type": "image/jpeg", "sha256": "abc"}}]}),
    );
    assert_eq!(f.post_whatsapp(&image).await, StatusCode::OK);
    let (kind, payload): (String, String) = sqlx::query_as("SELECT kind, payload FROM jobs")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    assert_eq!(kind, "download_media");
    let payload: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["media_id"], "MEDIA1");
    let (status, provider_media_id): (String, Option<String>) =
        sqlx::query_as("SELECT status, provider_media_id FROM attachments")
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
    assert_eq!(status, "pending");
    assert_eq!(provider_media_id.as_deref(), Some("MEDIA1"));

    // A new sender's first two messages in one batch: one conversation opened, one lookup.
    let first = json!({"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": [
        {"sender": {"id": "PSID1"}, "recipient": {"id": PAGE}, "timestamp": 1_760_000_000_000_i64,
         "message": {"mid": "m_1", "text": "hola"}},
        {"sender": {"id": "PSID1"}, "recipient": {"id": PAGE}, "timestamp": 1_760_000_000_001_i64,
         "message": {"mid": "m_2", "text": "¿hay alguien?"}}]}]});
    assert_eq!(
        f.post_meta("messenger", &first, Some(APP_SECRET)).await,
        StatusCode::OK
    );
    assert_eq!(
        f.count("SELECT COUNT(*) FROM jobs WHERE kind = 'fetch_profile'")
            .await,
        1
    );
    f.stop().await;
}

async fn reactions_edits_and_deletions_apply_once(backend: Backend) {
    let f = Fixture::new(backend).await;
    let customer = "5215512345678";
    f.post_whatsapp(&text_from(customer, "w.1", "hola")).await;
    let event = |part: Value| {
        let mut m =
            json!({"from": customer, "id": format!("w.e{}", part), "timestamp": "1760000500"});
        for (k, v) in part.as_object().unwrap() {
            m[k] = v.clone();
        }
        whatsapp(LINE, json!({"messages": [m]}))
    };
    let react =
        event(json!({"type": "reaction", "reaction": {"message_id": "w.1", "emoji": "❤️"}}));
    let change =
        event(json!({"type": "reaction", "reaction": {"message_id": "w.1", "emoji": "😂"}}));
    let unreact =
        event(json!({"type": "reaction", "reaction": {"message_id": "w.1", "emoji": ""}}));
    f.post_whatsapp(&react).await;
    f.post_whatsapp(&react).await;
    assert_eq!(
        f.count("SELECT COUNT(*) FROM events WHERE kind = 'reaction'")
            .await,
        1
    );
    f.post_whatsapp(&change).await;
    let (emoji,): (String,) = sqlx::query_as("SELECT emoji FROM reactions")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    assert_eq!(emoji, "😂");
    f.post_whatsapp(&unreact).await;
    f.post_whatsapp(&unreact).await;
    assert_eq!(f.count("SELECT COUNT(*) FROM reactions").await, 0);
    assert_eq!(
        f.count("SELECT COUNT(*) FROM events WHERE kind = 'reaction'")
            .await,
        3
    );

    let delete = event(json!({"type": "revoke", "revoke": {"original_message_id": "w.1"}}));
    f.post_whatsapp(&delete).await;
    f.post_whatsapp(&delete).await;
    let (body, deleted): (Option<String>, Option<i64>) =
        sqlx::query_as("SELECT body, deleted_at FROM messages WHERE provider_id = 'w.1'")
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
    assert_eq!(body, None);
    assert!(deleted.is_some());
    assert_eq!(
        f.count("SELECT COUNT(*) FROM events WHERE kind = 'message_deleted'")
            .await,
        1
    );
    let edit_after_delete = event(
        json!({"type": "edit", "edit": {"original_message_id": "w.1",
        "message": {"type": "text", "text": {"body": "resucitado"}}}}),
    );
    f.post_whatsapp(&edit_after_delete).await;
    let (body,): (Option<String>,) =
        sqlx::query_as("SELECT body FROM messages WHERE provider_id = 'w.1'")
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
    assert_eq!(body, None, "an edit cannot bring back a deleted message");
    f.stop().await;
}

async fn messenger_and_instagram_events_flow_in(backend: Backend) {
    let f = Fixture::new(backend).await;
    let page = |events: Value| json!({"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": events}]});
    let t0 = 1_760_000_000_000_i64;
    let body = page(json!([
        {"sender": {"id": "PSID9"}, "recipient": {"id": PAGE}, "timestamp": t0,
         "message": {"mid": "m_in", "text": "¿precio?"}},
        {"sender": {"id": PAGE}, "recipient": {"id": "PSID9"}, "timestamp": t0 + 1000,
         "message": {"mid": "m_echo", "is_echo": true, "text": "Desde la app de la página"}}
    ]));
    assert_eq!(
        f.post_meta("messenger", &body, Some(APP_SECRET)).await,
        StatusCode::OK
    );
    let rows: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT provider_id, direction, sent_from, status FROM messages ORDER BY created_at",
    )
    .fetch_all(&f.db.pool)
    .await
    .unwrap();
    assert_eq!(rows[0], ("m_in".into(), "in".into(), None, None));
    assert_eq!(
        rows[1],
        (
            "m_echo".into(),
            "out".into(),
            Some("native_app".into()),
            Some("sent".into())
        )
    );
    let read = page(
        json!([{"sender": {"id": "PSID9"}, "recipient": {"id": PAGE},
                            "timestamp": t0 + 5000, "read": {"watermark": t0 + 2000}}]),
    );
    f.post_meta("messenger", &read, Some(APP_SECRET)).await;
    assert_eq!(f.status_of("m_echo").await.0, "read");

    // An echo whose metadata looks like ours but names no message of ours (another
    // installation's, or a deleted one) is still a message the business sent: kept, once.
    let foreign = page(json!([
        {"sender": {"id": PAGE}, "recipient": {"id": "PSID9"}, "timestamp": t0 + 6000,
         "message": {"mid": "m_echo2", "is_echo": true, "metadata": "buzon:987654",
                     "text": "Escrito por otra instalación"}}
    ]));
    for _ in 0..2 {
        assert_eq!(
            f.post_meta("messenger", &foreign, Some(APP_SECRET)).await,
            StatusCode::OK
        );
    }
    assert_eq!(
        f.count(
            "SELECT COUNT(*) FROM messages WHERE provider_id = 'm_echo2' AND direction = 'out'"
        )
        .await,
        1
    );

    // The same body sent to the Instagram endpoint is not an Instagram body.
    assert_eq!(
        f.post_meta("instagram", &body, Some(APP_SECRET)).await,
        StatusCode::BAD_REQUEST
    );
    let ig = json!({"object": "instagram", "entry": [{"id": IG, "time": 1, "messaging": [
        {"sender": {"id": "IGSID1"}, "recipient": {"id": IG}, "timestamp": t0,
         "message": {"mid": "ig_1", "text": "vi tu historia",
                     "reply_to": {"story": {"id": "st1", "url": "https://cdn.example/s.jpg"}}}}]}]});
    assert_eq!(
        f.post_meta("instagram", &ig, Some(APP_SECRET)).await,
        StatusCode::OK
    );
    let (content,): (String,) =
        sqlx::query_as("SELECT content FROM messages WHERE provider_id = 'ig_1'")
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
    let content: Value = serde_json::from_str(&content).unwrap();
    assert_eq!(content["story"]["id"], "st1");
    f.stop().await;
}

async fn twilio_forms_are_verified_against_the_public_url(backend: Backend) {
    let f = Fixture::new(backend).await;
    let fields = vec![
        ("MessageSid".to_string(), "SM1".to_string()),
        ("From".to_string(), "whatsapp:+5491155556666".to_string()),
        ("To".to_string(), format!("whatsapp:+{TWILIO_NUMBER}")),
        ("Body".to_string(), "Hola + chau".to_string()),
        ("ProfileName".to_string(), "Martín".to_string()),
        ("WaId".to_string(), "5491155556666".to_string()),
        ("NumMedia".to_string(), "0".to_string()),
    ];
    let url = format!("{}/webhooks/twilio", f.server.base);
    let post = |signature: String| {
        f.http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", signature)
            .body(serde_urlencoded::to_string(&fields).unwrap())
            .send()
    };
    let wrong = twilio_signature(b"not-the-token", &url, &fields);
    assert_eq!(
        post(wrong).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(f.messages().await, 0);
    let right = twilio_signature(TWILIO_TOKEN.as_bytes(), &url, &fields);
    assert_eq!(post(right.clone()).await.unwrap().status(), StatusCode::OK);
    assert_eq!(post(right).await.unwrap().status(), StatusCode::OK);
    let (body, name): (String, String) = sqlx::query_as(
        "SELECT m.body, c.customer_name FROM messages m JOIN conversations c ON c.id = m.conversation_id",
    )
    .fetch_one(&f.db.pool)
    .await
    .unwrap();
    assert_eq!(body, "Hola + chau");
    assert_eq!(name, "Martín");
    assert_eq!(f.messages().await, 1);
    f.stop().await;
}

async fn the_thread_pages_back_in_time_order_with_every_reaction(backend: Backend) {
    let f = Fixture::new(backend).await;
    let customer = "5215500000077";
    let batch = |ids: std::ops::Range<i64>, first_second: i64| {
        let messages: Vec<Value> = ids
            .clone()
            .map(|n| {
                json!({"from": customer, "id": format!("wamid.T{n}"),
                       "timestamp": (first_second + n - ids.start).to_string(),
                       "type": "text", "text": {"body": format!("mensaje {n}")}})
            })
            .collect();
        whatsapp(
            LINE,
            json!({"contacts": [{"profile": {"name": "Tomás"}, "wa_id": customer}],
                              "messages": messages}),
        )
    };
    // 120 recent messages, then 60 older ones stored afterwards (new ids, old times), as a
    // history import does; and a reaction on one of the oldest.
    assert_eq!(
        f.post_whatsapp(&batch(60..180, 1_760_000_000)).await,
        StatusCode::OK
    );
    assert_eq!(
        f.post_whatsapp(&batch(0..60, 1_750_000_000)).await,
        StatusCode::OK
    );
    let reaction = whatsapp(
        LINE,
        json!({"messages": [{"from": customer, "id": "wamid.R",
        "timestamp": "1760000500", "type": "reaction",
        "reaction": {"message_id": "wamid.T3", "emoji": "👍"}}]}),
    );
    assert_eq!(f.post_whatsapp(&reaction).await, StatusCode::OK);
    let (conversation_id,): (i64,) = sqlx::query_as("SELECT id FROM conversations")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();

    let mut shown: Vec<Value> = Vec::new();
    let mut before: Option<i64> = None;
    loop {
        let mut form = vec![("conversation_id", conversation_id.to_string())];
        if let Some(id) = before {
            form.push(("before_id", id.to_string()));
        }
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = f.admin.json("thread", &form).await;
        let messages = page["messages"].as_array().unwrap().clone();
        before = messages.first().map(|m| m["id"].as_i64().unwrap());
        shown.splice(0..0, messages);
        if page["has_more"] != true {
            break;
        }
    }
    let bodies: Vec<&str> = shown.iter().map(|m| m["body"].as_str().unwrap()).collect();
    let expected: Vec<String> = (0..180).map(|n| format!("mensaje {n}")).collect();
    assert_eq!(bodies, expected, "every message once, oldest first");
    let reacted = shown.iter().find(|m| m["body"] == "mensaje 3").unwrap();
    assert_eq!(reacted["reactions"], json!([["customer", "👍"]]));
    f.stop().await;
}

async fn a_deleted_conversation_stays_deleted_when_its_webhooks_come_again(backend: Backend) {
    let f = Fixture::new(backend).await;
    let first = text_from("5215512345678", "wamid.DEL1", "Mi pedido es el 4411");
    let second = text_from("5215512345678", "wamid.DEL2", "¿Ya salió?");
    for body in [&first, &second] {
        assert_eq!(f.post_whatsapp(body).await, StatusCode::OK);
    }
    let (conversation,): (i64,) = sqlx::query_as("SELECT id FROM conversations")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    // The administrator installed the line, so they may delete its conversations.
    let admin = f.admin.me().await["id"].as_i64().unwrap();
    sqlx::query("UPDATE accounts SET connected_by = $1")
        .bind(admin)
        .execute(&f.db.pool)
        .await
        .unwrap();
    let deleted = f
        .admin
        .call(
            "delete_conversation",
            &[("conversation_id", &conversation.to_string())],
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::OK);
    assert_eq!(f.messages().await, 0);

    // Meta delivers both again (it retries for days): nothing comes back.
    for body in [&first, &second] {
        assert_eq!(f.post_whatsapp(body).await, StatusCode::OK);
    }
    assert_eq!(f.messages().await, 0, "a deleted message stays deleted");
    let list = f.admin.json("conversations", &[]).await;
    assert_eq!(list["conversations"].as_array().unwrap().len(), 0);

    // What the customer writes next opens the conversation again, with that message alone.
    let third = text_from("5215512345678", "wamid.DEL3", "Hola de nuevo");
    assert_eq!(f.post_whatsapp(&third).await, StatusCode::OK);
    assert_eq!(f.messages().await, 1);
    f.stop().await;
}
