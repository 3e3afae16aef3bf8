//! Templates against the sandbox: synced with Meta's review (only the approved ones sendable),
//! priced per category, sent with parameters when the window is closed, refused where
//! templates do not exist; Meta's review after a sync reaching Buzón as webhooks; a
//! conversation started with a Mexican mobile taking the id WhatsApp answers with.

mod common;

use std::time::Duration;

use common::pair::{eventually, Pair};
use common::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_databases!(
    a_closed_window_is_reopened_with_a_priced_template,
    twilio_templates_come_from_its_content_api_and_go_by_content_sid,
    a_mexican_mobile_started_as_52_answers_in_the_same_conversation,
);

/// The first template the provider received.
async fn template_at_the_provider(pair: &Pair) -> sandbox::world::Logged {
    eventually(
        "the template at the provider",
        Duration::from_secs(15),
        || async {
            pair.business_messages()
                .into_iter()
                .find(|m| m.kind == "template")
        },
    )
    .await
}

/// Closes the conversation's window (the customer wrote 30 hours ago) and returns the
/// template `name` as the composer is offered it.
async fn offered_after_the_window(pair: &Pair, conversation_id: i64, name: &str) -> Value {
    sqlx::query("UPDATE conversations SET last_incoming_at = last_incoming_at - 30 * 3600000")
        .execute(&pair.db.pool)
        .await
        .unwrap();
    let templates = pair
        .admin
        .json(
            "templates",
            &[("conversation_id", &conversation_id.to_string())],
        )
        .await;
    templates["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap()
        .clone()
}

async fn a_closed_window_is_reopened_with_a_priced_template(backend: Backend) {
    let pair = Pair::start(backend).await;
    let line = pair.sandbox.lock().unwrap().lines[0]
        .phone_number_id
        .clone();
    let (account_id,): (i64,) = sqlx::query_as("SELECT id FROM accounts WHERE external_id = $1")
        .bind(&line)
        .fetch_one(&pair.db.pool)
        .await
        .unwrap();
    let synced = pair.sync_templates(account_id).await;
    assert_eq!(
        synced, 5,
        "the approved ones: not the rejected one, nor those in review"
    );
    let (status, _) = pair
        .admin
        .error(
            "save_template_price",
            &[
                ("category", "utility"),
                ("price", "diez"),
                ("currency", "USD"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    pair.admin
        .json(
            "save_template_price",
            &[
                ("category", "utility"),
                ("price", "0.0107"),
                ("currency", "usd"),
            ],
        )
        .await;
    // The settings page: each line with its approved templates, each category with its price.
    let settings = pair.admin.json("template_settings", &[]).await;
    let lines = settings["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3, "both sandbox lines and the Twilio sender");
    assert_eq!(lines.iter().filter(|l| l["channel"] == "twilio").count(), 1);
    let synced_line = lines
        .iter()
        .find(|l| l["account_id"] == account_id)
        .unwrap();
    assert_eq!(synced_line["approved"], 5);
    assert!(synced_line["synced_at"].is_i64());
    assert!(
        lines.iter().any(|l| l["approved"] == 0),
        "the other line is not synced yet"
    );
    assert_eq!(
        settings["prices"],
        json!([
            {"category": "marketing", "price": null, "currency": null},
            {"category": "utility", "price": "0.0107", "currency": "USD"},
            {"category": "authentication", "price": null, "currency": null},
        ])
    );
    let seller = pair
        .server
        .invite_and_accept(&pair.admin, "sergio@andinas.example", "seller")
        .await;
    let (status, _) = seller.error("template_settings", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    pair.customer_sends(json!({"channel": "whatsapp", "text": "hola"}))
        .await;
    let conversation_id = pair.conversation_id().await;
    let follow_up = offered_after_the_window(&pair, conversation_id, "seguimiento_pedido").await;
    assert_eq!(follow_up["category"], "utility");
    assert_eq!(follow_up["status"], "APPROVED");
    assert_eq!(follow_up["params"], 2);
    // The picker lists the others after the approved ones, with Meta's word on each; the
    // server refuses them.
    let offered = pair
        .admin
        .json(
            "templates",
            &[("conversation_id", &conversation_id.to_string())],
        )
        .await;
    assert_eq!(offered["marketing_stopped"], false);
    let statuses: Vec<(&str, &str)> = offered["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    let first_unavailable = statuses.iter().position(|(_, s)| *s != "APPROVED").unwrap();
    assert_eq!(first_unavailable, 5, "{statuses:?}");
    assert!(statuses[5..].iter().all(|(_, s)| *s != "APPROVED"));
    let rejected = offered["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "promo_rechazada")
        .unwrap();
    assert_eq!(rejected["status_reason"], "TAG_CONTENT_MISMATCH");
    let refused = pair
        .admin
        .call_json(
            "send_template",
            &json!({"conversation_id": conversation_id, "template_id": rejected["id"],
                    "params": []}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(follow_up["price_micros"], 10_700);
    assert_eq!(follow_up["currency"], "USD");

    let template_id = follow_up["id"].clone();
    let admin = &pair.admin;
    let send = |params: Value| {
        let body = json!({"conversation_id": conversation_id, "template_id": template_id, "params": params});
        async move { admin.call_json("send_template", &body).await }
    };
    let short = send(json!(["Lucía"])).await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let sent: Value = send(json!(["Lucía", "A-7"])).await.json().await.unwrap();
    assert_eq!(sent["body"], "Hola Lucía, tu pedido A-7 está en camino.");
    assert_eq!(sent["kind"], "template");
    let message_id = sent["id"].as_i64().unwrap();

    let received = template_at_the_provider(&pair).await;
    let request = received.request.unwrap();
    assert_eq!(request["template"]["name"], "seguimiento_pedido");
    assert_eq!(request["template"]["language"]["code"], "es_MX");
    assert_eq!(
        request["template"]["components"][0]["parameters"],
        json!([{"type": "text", "text": "Lucía"}, {"type": "text", "text": "A-7"}])
    );
    let (category, price, currency): (Option<String>, Option<i64>, Option<String>) = eventually(
        "the delivered status",
        Duration::from_secs(15),
        || async {
            let row: (Option<String>, Option<String>, Option<i64>, Option<String>) = sqlx::query_as(
                "SELECT status, pricing_category, price_micros, price_currency FROM messages WHERE id = $1",
            )
            .bind(message_id)
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
            matches!(row.0.as_deref(), Some("delivered" | "read")).then_some((row.1, row.2, row.3))
        },
    )
    .await;
    assert_eq!(category.as_deref(), Some("utility"));
    assert_eq!(price, Some(10_700));
    assert_eq!(currency.as_deref(), Some("USD"));

    // Facebook and Instagram have no templates.
    pair.customer_sends(json!({"channel": "messenger", "text": "hola"}))
        .await;
    let messenger_conversation = pair.conversation_on("messenger").await;
    let refused = pair
        .admin
        .call_json(
            "send_template",
            &json!({"conversation_id": messenger_conversation, "template_id": follow_up["id"], "params": ["a", "b"]}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(
        refused.json::<Value>().await.unwrap(),
        json!({"Window": "TemplatesNotOnThisChannel"})
    );
    pair.stop().await;
}

async fn twilio_templates_come_from_its_content_api_and_go_by_content_sid(backend: Backend) {
    let pair = Pair::start(backend).await;
    let (account_id,): (i64,) = sqlx::query_as("SELECT id FROM accounts WHERE channel = 'twilio'")
        .fetch_one(&pair.db.pool)
        .await
        .unwrap();
    let synced = pair.sync_templates(account_id).await;
    assert_eq!(synced, 5, "approved ones only");

    pair.customer_sends(json!({"channel": "twilio", "text": "hola"}))
        .await;
    let (conversation_id,): (i64,) =
        sqlx::query_as("SELECT c.id FROM conversations c WHERE c.account_id = $1")
            .bind(account_id)
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    let follow_up = offered_after_the_window(&pair, conversation_id, "seguimiento_pedido").await;
    assert_eq!(follow_up["params"], 2);
    let sent = pair
        .admin
        .call_json(
            "send_template",
            &json!({"conversation_id": conversation_id, "template_id": follow_up["id"],
                    "params": ["Lucía", "A-9"]}),
        )
        .await;
    assert_eq!(sent.status(), StatusCode::OK);
    let received = template_at_the_provider(&pair).await;
    assert_eq!(
        received.text.as_deref(),
        Some("Hola Lucía, tu pedido A-9 está en camino.")
    );
    let request = received.request.unwrap();
    assert!(request["ContentSid"].as_str().unwrap().starts_with("HX"));
    assert_eq!(
        serde_json::from_str::<Value>(request["ContentVariables"].as_str().unwrap()).unwrap(),
        json!({"1": "Lucía", "2": "A-9"})
    );
    pair.stop().await;
}

async fn a_mexican_mobile_started_as_52_answers_in_the_same_conversation(backend: Backend) {
    let pair = Pair::start(backend).await;
    let line = pair.sandbox.lock().unwrap().lines[0]
        .phone_number_id
        .clone();
    let (account_id,): (i64,) = sqlx::query_as("SELECT id FROM accounts WHERE external_id = $1")
        .bind(&line)
        .fetch_one(&pair.db.pool)
        .await
        .unwrap();
    pair.sync_templates(account_id).await;
    // Kept as people in Mexico write it (E.164, without the 1 WhatsApp still writes).
    let (contact,): (i64,) = sqlx::query_as(
        "INSERT INTO contacts (org_id, first_name, last_name, primary_phone, created_at, \
         updated_at) SELECT id, 'Julia', 'Mora', '+525543210000', 0, 0 FROM organizations \
         RETURNING id",
    )
    .fetch_one(&pair.db.pool)
    .await
    .unwrap();
    let started = pair
        .admin
        .json(
            "start_conversation",
            &[
                ("contact_id", &contact.to_string()),
                ("account_id", &account_id.to_string()),
            ],
        )
        .await;
    let conversation_id = started["conversation_id"].as_i64().unwrap();
    let key = || async {
        let (key,): (String,) =
            sqlx::query_as("SELECT customer_key FROM conversations WHERE id = $1")
                .bind(conversation_id)
                .fetch_one(&pair.db.pool)
                .await
                .unwrap();
        key
    };
    assert_eq!(key().await, "525543210000");
    let templates = pair
        .admin
        .json(
            "templates",
            &[("conversation_id", &conversation_id.to_string())],
        )
        .await;
    let template = templates["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "seguimiento_pedido")
        .unwrap()["id"]
        .clone();
    let sent = pair
        .admin
        .call_json(
            "send_template",
            &json!({"conversation_id": conversation_id, "template_id": template,
                    "params": ["Julia", "B-2"]}),
        )
        .await;
    assert_eq!(sent.status(), StatusCode::OK);
    // WhatsApp answers the send with the user's id, `521…`: the conversation takes it.
    eventually("the id WhatsApp gave", Duration::from_secs(15), || async {
        (key().await == "5215543210000").then_some(())
    })
    .await;
    pair.customer_sends(json!({"channel": "whatsapp", "from": "5215543210000",
        "name": "Julia Mora", "text": "Gracias, ¿cuándo llega?"}))
        .await;
    eventually(
        "the answer in the conversation",
        Duration::from_secs(15),
        || async {
            let (count,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM messages WHERE conversation_id = $1 AND direction = 'in'",
            )
            .bind(conversation_id)
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
            (count == 1).then_some(())
        },
    )
    .await;
    assert_eq!(pair.count("SELECT COUNT(*) FROM conversations").await, 1);
    pair.stop().await;
}
