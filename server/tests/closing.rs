//! Automatic closing rules on the server: validation and one active rule per account,
//! deadlines from the customer's last message only (not retroactive, restarted by a new
//! message, dropped when a rule is switched off or deleted), closes of exactly what is due
//! with a clock the test controls, and what fell due while the server was down.

mod common;

use std::time::Duration;

use app::conversations::lifecycle::closing_rules::ssr::close_due;
use app::epoch::EpochMs;
use app::event_log::Hub;
use common::pair::{eventually, Pair};
use common::{Backend, Client, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

const MINUTE: i64 = 60_000;

on_both_databases!(
    rules_are_checked_and_an_account_is_in_one_active_rule,
    due_conversations_close_with_the_rule_reason_and_nothing_else_does,
    a_deadline_that_passed_while_the_server_was_down_is_honoured_at_start_up,
);

async fn account(pair: &Pair, channel: &str) -> i64 {
    let (id,): (i64,) =
        sqlx::query_as("SELECT id FROM accounts WHERE channel = $1 ORDER BY id LIMIT 1")
            .bind(channel)
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    id
}

async fn save_rule(
    client: &Client,
    name: &str,
    enabled: bool,
    amount: &str,
    unit: &str,
    accounts: &[i64],
) -> (StatusCode, Value) {
    let accounts: Vec<(String, String)> = accounts
        .iter()
        .enumerate()
        .map(|(i, id)| (format!("account_ids[{i}]"), id.to_string()))
        .collect();
    let enabled = enabled.to_string();
    let mut form = vec![
        ("name", name),
        ("enabled", enabled.as_str()),
        ("amount", amount),
        ("unit", unit),
        ("reason", "Sin respuesta del cliente"),
    ];
    form.extend(accounts.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let response = client.call("save_closing_rule", &form).await;
    let status = response.status();
    let body = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

async fn switch(client: &Client, id: &Value, on: bool) -> StatusCode {
    client
        .call(
            "switch_closing_rule",
            &[("id", &id.to_string()), ("enabled", &on.to_string())],
        )
        .await
        .status()
}

async fn rules_are_checked_and_an_account_is_in_one_active_rule(backend: Backend) {
    let pair = Pair::start(backend).await;
    let whatsapp = account(&pair, "whatsapp").await;
    let messenger = account(&pair, "messenger").await;
    let admin = &pair.admin;

    let refused = [
        (
            save_rule(admin, "", true, "24", "hours", &[whatsapp]).await,
            "Name",
            "Required",
        ),
        (
            save_rule(admin, "Diario", true, "0", "hours", &[whatsapp]).await,
            "Inactivity",
            "Malformed",
        ),
        (
            save_rule(admin, "Diario", true, "2", "weeks", &[whatsapp]).await,
            "Inactivity",
            "Malformed",
        ),
        (
            save_rule(admin, "Diario", true, "400", "days", &[whatsapp]).await,
            "Inactivity",
            "Malformed",
        ),
        (
            save_rule(admin, "Diario", true, "1.5", "hours", &[whatsapp]).await,
            "Inactivity",
            "Malformed",
        ),
        (
            save_rule(admin, "Diario", true, "24", "hours", &[]).await,
            "Account",
            "Required",
        ),
        (
            save_rule(admin, "Diario", true, "24", "hours", &[9_999]).await,
            "Account",
            "Unknown",
        ),
    ];
    for ((status, error), field, problem) in refused {
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert_eq!(
            error,
            json!({"Invalid": {"field": field, "problem": problem}})
        );
    }

    let (status, daily) = save_rule(admin, "Diario", true, "24", "hours", &[whatsapp]).await;
    assert_eq!(status, StatusCode::OK, "{daily}");
    assert_eq!(daily["account_ids"], json!([whatsapp]));
    // The same account in a second active rule is refused, naming the first.
    let (status, error) = save_rule(
        admin,
        "Rápido",
        true,
        "30",
        "minutes",
        &[messenger, whatsapp],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error, json!({"RuleOverlap": {"rule": "Diario"}}));
    // Saved switched off it may share the account; switched on it may not, until the first
    // one is off.
    let (status, quick) = save_rule(
        admin,
        "Rápido",
        false,
        "30",
        "minutes",
        &[messenger, whatsapp],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        switch(admin, &quick["id"], true).await,
        StatusCode::CONFLICT
    );
    assert_eq!(switch(admin, &daily["id"], false).await, StatusCode::OK);
    assert_eq!(switch(admin, &quick["id"], true).await, StatusCode::OK);
    let (status, error) = save_rule(admin, "Rápido", false, "1", "days", &[messenger]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "names are unique");
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Name", "problem": "Taken"}})
    );

    // Only administrators keep rules.
    let seller = pair
        .server
        .invite_and_accept(admin, "sergio@andinas.example", "seller")
        .await;
    let (status, _) = save_rule(&seller, "Mío", true, "1", "hours", &[messenger]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        seller.call("closing_rules", &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    let listed = admin.json("closing_rules", &[]).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
}

async fn deadline(pair: &Pair, customer: &str) -> (i64, String, Option<i64>, Option<i64>) {
    sqlx::query_as(
        "SELECT id, status, last_incoming_at, auto_close_at FROM conversations \
         WHERE customer_key = $1",
    )
    .bind(customer)
    .fetch_one(&pair.db.pool)
    .await
    .unwrap()
}

/// Moves a conversation's times `by` milliseconds into the past, as if its customer had
/// written that much earlier.
async fn earlier(pair: &Pair, conversation: i64, by: i64) {
    sqlx::query(
        "UPDATE conversations SET last_incoming_at = last_incoming_at - $1, \
           auto_close_at = auto_close_at - $1 WHERE id = $2",
    )
    .bind(by)
    .bind(conversation)
    .execute(&pair.db.pool)
    .await
    .unwrap();
}

async fn due_conversations_close_with_the_rule_reason_and_nothing_else_does(backend: Backend) {
    let pair = Pair::start(backend).await;
    let whatsapp = account(&pair, "whatsapp").await;
    let messenger = account(&pair, "messenger").await;
    let (_, rule) = save_rule(
        &pair.admin,
        "Media hora",
        true,
        "30",
        "minutes",
        &[whatsapp],
    )
    .await;
    // Providers' times are whole seconds: a message in the second the rule was saved counts
    // from the saving.
    let saved = rule["saved_at"].as_i64().unwrap();
    let hub = Hub::new();
    let (ana, beto) = ("5215511110001", "5215511110002");
    for from in [ana, beto] {
        pair.customer_sends(json!({"channel": "whatsapp", "from": from, "text": "Hola"}))
            .await;
    }
    pair.customer_sends(json!({"channel": "messenger", "text": "Hola por Messenger"}))
        .await;

    // Thirty minutes from the customer's message.
    let (a, _, a_last, a_due) = deadline(&pair, ana).await;
    assert_eq!(a_due, Some(a_last.unwrap().max(saved) + 30 * MINUTE));
    // The business answering does not move it.
    pair.admin
        .json(
            "send_text",
            &[("conversation_id", &a.to_string()), ("body", "¡Hola Ana!")],
        )
        .await;
    assert_eq!(deadline(&pair, ana).await.3, a_due);
    // Ana wrote ten minutes ago, Beto twenty; Beto writes again, which restarts his.
    earlier(&pair, a, 10 * MINUTE).await;
    let (b, _, _, _) = deadline(&pair, beto).await;
    earlier(&pair, b, 20 * MINUTE).await;
    let (_, _, _, b_before) = deadline(&pair, beto).await;
    pair.customer_sends(json!({"channel": "whatsapp", "from": beto, "text": "¿Sigue?"}))
        .await;
    let (_, _, b_last, b_due) = deadline(&pair, beto).await;
    assert_eq!(b_due, Some(b_last.unwrap().max(saved) + 30 * MINUTE));
    assert!(b_due.unwrap() >= b_before.unwrap() + 20 * MINUTE);

    // A millisecond before Ana's deadline nothing closes; at it, exactly hers.
    let a_due = deadline(&pair, ana).await.3.unwrap();
    assert_eq!(
        close_due(&pair.db, &hub, EpochMs(a_due - 1)).await.unwrap(),
        0
    );
    assert_eq!(close_due(&pair.db, &hub, EpochMs(a_due)).await.unwrap(), 1);
    assert_eq!(deadline(&pair, ana).await.1, "closed");
    assert_eq!(deadline(&pair, beto).await.1, "open");
    let (reason, event): (Option<String>, String) = sqlx::query_as(
        "SELECT c.close_reason, m.content FROM conversations c \
         JOIN messages m ON m.conversation_id = c.id AND m.direction = 'system' \
         WHERE c.id = $1",
    )
    .bind(a)
    .fetch_one(&pair.db.pool)
    .await
    .unwrap();
    assert_eq!(reason.as_deref(), Some("Sin respuesta del cliente"));
    let event: Value = serde_json::from_str(&event).unwrap();
    assert_eq!(event["event"], "closed");
    assert_eq!(event["automatic"], true);
    assert_eq!(event["rule"], "Media hora");
    // Closing left it unread for the admin, who never opened it.
    let closed = pair
        .admin
        .json("conversations", &[("query[section]", "closed")])
        .await;
    assert_eq!(closed["conversations"][0]["unread"], true);
    // Nothing else is due; the Messenger conversation has no rule at all.
    assert_eq!(close_due(&pair.db, &hub, EpochMs(a_due)).await.unwrap(), 0);
    let far = EpochMs::now().0 + 365 * 24 * 60 * MINUTE;
    let messenger_customer: (String,) =
        sqlx::query_as("SELECT customer_key FROM conversations WHERE account_id = $1")
            .bind(messenger)
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    assert_eq!(deadline(&pair, &messenger_customer.0).await.3, None);

    // A rule saved after the customer's last message counts from when it was saved.
    let m = deadline(&pair, &messenger_customer.0).await.0;
    earlier(&pair, m, 120 * MINUTE).await;
    let (_, hourly) = save_rule(&pair.admin, "Una hora", true, "1", "hours", &[messenger]).await;
    let saved_at = hourly["saved_at"].as_i64().unwrap();
    assert_eq!(
        deadline(&pair, &messenger_customer.0).await.3,
        Some(saved_at + 60 * MINUTE)
    );
    // Counted from the message, it would have been due an hour ago.
    assert_eq!(
        close_due(&pair.db, &hub, EpochMs(saved_at + MINUTE))
            .await
            .unwrap(),
        0
    );

    // Switched off, its deadlines go; deleted likewise; switched on again, they count anew.
    assert_eq!(
        switch(&pair.admin, &rule["id"], false).await,
        StatusCode::OK
    );
    assert_eq!(deadline(&pair, beto).await.3, None);
    assert_eq!(
        close_due(&pair.db, &hub, EpochMs(far)).await.unwrap(),
        1,
        "only the hourly rule's"
    );
    assert_eq!(deadline(&pair, beto).await.1, "open");
    assert_eq!(switch(&pair.admin, &rule["id"], true).await, StatusCode::OK);
    let (_, _, b_last, b_due) = deadline(&pair, beto).await;
    let on_again = pair.admin.json("closing_rules", &[]).await;
    let on_again = on_again
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == rule["id"])
        .unwrap()["saved_at"]
        .as_i64()
        .unwrap();
    assert_eq!(b_due, Some(b_last.unwrap().max(on_again) + 30 * MINUTE));
    pair.admin
        .json("delete_closing_rule", &[("id", &rule["id"].to_string())])
        .await;
    assert_eq!(deadline(&pair, beto).await.3, None);
}

async fn a_deadline_that_passed_while_the_server_was_down_is_honoured_at_start_up(
    backend: Backend,
) {
    // This server applies the rules once, when it starts, and not again for an hour.
    let pair = Pair::start_with(backend, |args| args.closing_tick_ms = 3_600_000).await;
    let whatsapp = account(&pair, "whatsapp").await;
    save_rule(
        &pair.admin,
        "Media hora",
        true,
        "30",
        "minutes",
        &[whatsapp],
    )
    .await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "Hola"}))
        .await;
    let c = pair.conversation_id().await;
    // Its deadline passes (the customer wrote 40 minutes ago) with nobody applying the rule.
    earlier(&pair, c, 40 * MINUTE).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(deadline(&pair, "5215512345678").await.1, "open");

    // A server starting on the same database closes it at once.
    let restarted = TestServer::start_on(pair.server.db.shared(), Default::default()).await;
    eventually(
        "the overdue conversation closes",
        Duration::from_secs(10),
        || async { (deadline(&pair, "5215512345678").await.1 == "closed").then_some(()) },
    )
    .await;
    restarted.stop().await;
}
