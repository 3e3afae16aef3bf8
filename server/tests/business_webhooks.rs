//! The WhatsApp Business Account's own webhooks, in the shapes Meta documents: routed by the
//! business account's id to its lines, verified with their app secret, applied once however
//! often they come; fields Buzón does not handle answered 200 and left alone; forged ones and
//! unknown business accounts refused.

mod common;

use std::time::Duration;

use common::live::{next_event, open_with};
use common::meta::*;
use common::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};

const WABA: &str = "102290129340398";

on_both_databases!(
    the_sandbox_sends_these_events_as_meta_would,
    template_updates_reach_the_synced_template_once,
    account_and_number_updates_change_the_lines_standing,
    marketing_preferences_are_kept_on_the_conversation_and_its_contact,
    unknown_fields_are_accepted_and_forged_or_unknown_accounts_refused,
    restrictions_and_stopped_marketing_refuse_sends_before_they_reach_meta,
    line_changes_reach_open_screens_once,
    the_sandbox_reviews_templates_after_the_first_sync,
);

/// The business account `WABA` on the fixture's line, with a synced template.
async fn with_business(f: &Fixture) -> i64 {
    let config = json!({"business_id": WABA}).to_string();
    sqlx::query(
        "UPDATE accounts SET config = $1, business_id = $2, display_handle = '+1 555-078-3881' \
         WHERE external_id = $3",
    )
    .bind(&config)
    .bind(WABA)
    .bind(LINE)
    .execute(&f.db.pool)
    .await
    .unwrap();
    let (line,): (i64,) = sqlx::query_as("SELECT id FROM accounts WHERE external_id = $1")
        .bind(LINE)
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO templates (org_id, account_id, name, language, category, status, \
         components, synced_at) VALUES ($1, $2, 'order_confirmation', 'en_US', 'utility', \
         'APPROVED', $3, 0)",
    )
    .bind(f.org_id)
    .bind(line)
    .bind(r#"[{"type":"BODY","text":"Gracias {{1}}"}]"#)
    .execute(&f.db.pool)
    .await
    .unwrap();
    line
}

fn business(field: &str, value: Value) -> Value {
    json!({"entry": [{"id": WABA, "time": 1751247548, "changes": [{"value": value, "field": field}]}],
           "object": "whatsapp_business_account"})
}

async fn template(f: &Fixture) -> (String, Option<String>, String, Option<String>, String) {
    sqlx::query_as(
        "SELECT status, status_reason, category, quality, components FROM templates \
         WHERE name = 'order_confirmation'",
    )
    .fetch_one(&f.db.pool)
    .await
    .unwrap()
}

async fn template_updates_reach_the_synced_template_once(backend: Backend) {
    let f = Fixture::new(backend).await;
    with_business(&f).await;
    let rejected = business(
        "message_template_status_update",
        json!({"event": "REJECTED", "message_template_id": 1689556908129835_i64,
               "message_template_name": "order_confirmation", "message_template_language": "en-US",
               "reason": "INVALID_FORMAT", "message_template_category": "UTILITY",
               "rejection_info": {"reason": "Parameters placed next to each other.",
                                  "recommendation": "Separate them."}}),
    );
    for _ in 0..2 {
        assert_eq!(f.post_whatsapp(&rejected).await, StatusCode::OK);
        let (status, reason, category, _, _) = template(&f).await;
        assert_eq!(status, "REJECTED");
        assert_eq!(
            reason.as_deref(),
            Some("Parameters placed next to each other.")
        );
        assert_eq!(category, "utility");
    }
    let quality = business(
        "message_template_quality_update",
        json!({"previous_quality_score": "GREEN", "new_quality_score": "RED",
               "message_template_id": 1, "message_template_name": "order_confirmation",
               "message_template_language": "en_US"}),
    );
    assert_eq!(f.post_whatsapp(&quality).await, StatusCode::OK);
    assert_eq!(template(&f).await.3.as_deref(), Some("RED"));
    let recategorized = business(
        "template_category_update",
        json!({"message_template_id": 1, "message_template_name": "order_confirmation",
               "message_template_language": "en-US", "previous_category": "UTILITY",
               "new_category": "MARKETING"}),
    );
    assert_eq!(f.post_whatsapp(&recategorized).await, StatusCode::OK);
    assert_eq!(template(&f).await.2, "marketing");
    let reworded = business(
        "message_template_components_update",
        json!({"message_template_id": 1, "message_template_name": "order_confirmation",
               "message_template_language": "en_US",
               "message_template_element": "Gracias por tu pedido, {{1}}"}),
    );
    assert_eq!(f.post_whatsapp(&reworded).await, StatusCode::OK);
    assert!(template(&f).await.4.contains("Gracias por tu pedido"));
    let approved = business(
        "message_template_status_update",
        json!({"event": "APPROVED", "message_template_id": 1,
               "message_template_name": "order_confirmation", "message_template_language": "en_US",
               "reason": "NONE"}),
    );
    assert_eq!(f.post_whatsapp(&approved).await, StatusCode::OK);
    let (status, reason, ..) = template(&f).await;
    assert_eq!((status.as_str(), reason), ("APPROVED", None));
    // Paused for its quality, then reinstated: sendable again.
    let paused = business(
        "message_template_status_update",
        json!({"event": "PAUSED", "message_template_id": 1,
               "message_template_name": "order_confirmation", "message_template_language": "en_US",
               "reason": null, "other_info": {"title": "FIRST_PAUSE",
               "description": "Paused for 3 hours because it had issues."}}),
    );
    assert_eq!(f.post_whatsapp(&paused).await, StatusCode::OK);
    let (status, reason, ..) = template(&f).await;
    assert_eq!(status, "PAUSED");
    assert_eq!(
        reason.as_deref(),
        Some("Paused for 3 hours because it had issues.")
    );
    let mut reinstated = paused.clone();
    reinstated["entry"][0]["changes"][0]["value"] = json!({"event": "REINSTATED",
        "message_template_id": 1, "message_template_name": "order_confirmation",
        "message_template_language": "en_US", "reason": null});
    assert_eq!(f.post_whatsapp(&reinstated).await, StatusCode::OK);
    assert_eq!(template(&f).await.0, "APPROVED");
    f.stop().await;
}

async fn standing(f: &Fixture) -> Value {
    let (standing,): (String,) =
        sqlx::query_as("SELECT standing FROM accounts WHERE external_id = $1")
            .bind(LINE)
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
    serde_json::from_str(&standing).unwrap()
}

async fn account_and_number_updates_change_the_lines_standing(backend: Backend) {
    let f = Fixture::new(backend).await;
    with_business(&f).await;
    let restricted = business(
        "account_update",
        json!({"event": "ACCOUNT_RESTRICTION", "restriction_info": [
            {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": 4102444800_i64}]}),
    );
    assert_eq!(f.post_whatsapp(&restricted).await, StatusCode::OK);
    assert_eq!(
        standing(&f).await["restrictions"],
        json!([{"kind": "RESTRICTED_BIZ_INITIATED_MESSAGING", "until": 4102444800000_i64}])
    );
    let flagged = business(
        "phone_number_quality_update",
        json!({"display_phone_number": "15550783881", "event": "FLAGGED", "current_limit": "TIER_10K"}),
    );
    assert_eq!(f.post_whatsapp(&flagged).await, StatusCode::OK);
    let now = standing(&f).await;
    assert_eq!(now["flagged"], true);
    assert_eq!(now["messaging_limit"], "TIER_10K");
    let banned = business(
        "account_update",
        json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "DISABLE",
               "waba_ban_date": "April 17, 2026"}}),
    );
    assert_eq!(f.post_whatsapp(&banned).await, StatusCode::OK);
    assert_eq!(standing(&f).await["ban"], "DISABLE");
    let reinstated = business(
        "account_update",
        json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "REINSTATE",
               "waba_ban_date": "April 18, 2026"}}),
    );
    assert_eq!(f.post_whatsapp(&reinstated).await, StatusCode::OK);
    assert_eq!(standing(&f).await["ban"], Value::Null);
    // The other line of the fixture has no business account: untouched.
    let (other,): (String,) =
        sqlx::query_as("SELECT standing FROM accounts WHERE external_id = 'L2'")
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
    assert_eq!(other, "{}");
    f.stop().await;
}

async fn marketing_preferences_are_kept_on_the_conversation_and_its_contact(backend: Backend) {
    let f = Fixture::new(backend).await;
    assert_eq!(
        f.post_whatsapp(&text_from("5215512345678", "w.1", "hola"))
            .await,
        StatusCode::OK
    );
    sqlx::query(
        "INSERT INTO contacts (org_id, first_name, last_name, whatsapp_phone, created_at, \
         updated_at) VALUES ($1, 'Lucía', 'Pérez', '+525512345678', 0, 0)",
    )
    .bind(f.org_id)
    .execute(&f.db.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE conversations SET contact_id = (SELECT id FROM contacts)")
        .execute(&f.db.pool)
        .await
        .unwrap();
    let preference = |value: &str, timestamp: i64| {
        let mut body = whatsapp(
            LINE,
            json!({"contacts": [{"wa_id": "5215512345678"}],
                   "user_preferences": [{"wa_id": "5215512345678", "category": "marketing_messages",
                     "detail": format!("User requested to {value} marketing messages"),
                     "value": value, "timestamp": timestamp}]}),
        );
        body["entry"][0]["changes"][0]["field"] = json!("user_preferences");
        body
    };
    let stopped = || async {
        let (conversation, contact): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT c.marketing_stopped_at, k.marketing_stopped_at FROM conversations c \
             JOIN contacts k ON k.id = c.contact_id",
        )
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
        (conversation, contact)
    };
    assert_eq!(
        f.post_whatsapp(&preference("stop", 1731705721)).await,
        StatusCode::OK
    );
    assert_eq!(
        stopped().await,
        (Some(1_731_705_721_000), Some(1_731_705_721_000))
    );
    // An older "resume" delivered late changes nothing; a newer one does.
    assert_eq!(
        f.post_whatsapp(&preference("resume", 1731705000)).await,
        StatusCode::OK
    );
    assert_eq!(stopped().await.0, Some(1_731_705_721_000));
    assert_eq!(
        f.post_whatsapp(&preference("resume", 1731709999)).await,
        StatusCode::OK
    );
    assert_eq!(stopped().await, (None, None));
    f.stop().await;
}

async fn unknown_fields_are_accepted_and_forged_or_unknown_accounts_refused(backend: Backend) {
    let f = Fixture::new(backend).await;
    with_business(&f).await;
    let name = business(
        "phone_number_name_update",
        json!({"display_phone_number": "15550783881", "decision": "APPROVED",
               "requested_verified_name": "Andinas", "rejection_reason": null}),
    );
    assert_eq!(f.post_whatsapp(&name).await, StatusCode::OK);
    let mut calls = whatsapp(
        LINE,
        json!({"contacts": [{"wa_id": "5215512345678"}],
               "calls": [{"id": "wacid.1", "from": "5215512345678", "to": "15550783881",
                          "event": "connect", "timestamp": "1671644824",
                          "direction": "USER_INITIATED"}]}),
    );
    calls["entry"][0]["changes"][0]["field"] = json!("calls");
    assert_eq!(f.post_whatsapp(&calls).await, StatusCode::OK);
    assert_eq!(f.messages().await, 0);

    let paused = business(
        "message_template_status_update",
        json!({"event": "PAUSED", "message_template_name": "order_confirmation",
               "message_template_language": "en_US", "reason": "NONE"}),
    );
    assert_eq!(
        f.post_meta("whatsapp", &paused, Some("not-the-secret"))
            .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        f.post_meta("whatsapp", &paused, None).await,
        StatusCode::UNAUTHORIZED
    );
    let mut elsewhere = paused.clone();
    elsewhere["entry"][0]["id"] = json!("999999999");
    assert_eq!(f.post_whatsapp(&elsewhere).await, StatusCode::UNAUTHORIZED);
    assert_eq!(template(&f).await.0, "APPROVED");
    f.stop().await;
}

/// A line restricted from starting conversations takes no template; a customer who stopped
/// marketing takes no marketing template (Meta would fail it with 131050), a utility one still.
async fn restrictions_and_stopped_marketing_refuse_sends_before_they_reach_meta(backend: Backend) {
    let f = Fixture::new(backend).await;
    let line = with_business(&f).await;
    sqlx::query(
        "INSERT INTO templates (org_id, account_id, name, language, category, status, \
         components, synced_at) VALUES ($1, $2, 'promo', 'es', 'marketing', 'APPROVED', $3, 0)",
    )
    .bind(f.org_id)
    .bind(line)
    .bind(r#"[{"type":"BODY","text":"Oferta"}]"#)
    .execute(&f.db.pool)
    .await
    .unwrap();
    assert_eq!(
        f.post_whatsapp(&text_from("5215512345678", "w.1", "hola"))
            .await,
        StatusCode::OK
    );
    let (conversation,): (i64,) = sqlx::query_as("SELECT id FROM conversations")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    let template = |name: &'static str| {
        let pool = f.db.pool.clone();
        async move {
            let (id,): (i64,) = sqlx::query_as("SELECT id FROM templates WHERE name = $1")
                .bind(name)
                .fetch_one(&pool)
                .await
                .unwrap();
            id
        }
    };
    let (utility, promo) = (
        template("order_confirmation").await,
        template("promo").await,
    );
    let send = |template_id: i64| {
        let admin = f.admin.clone();
        async move {
            let response = admin
                .call_json(
                    "send_template",
                    &json!({"conversation_id": conversation, "template_id": template_id,
                            "params": ["Lucía"]}),
                )
                .await;
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let restrict = |until: Option<i64>| {
        let restrictions = match until {
            Some(until) => json!([{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
                                   "expiration": until}]),
            None => json!([]),
        };
        business(
            "account_update",
            json!({"event": "ACCOUNT_RESTRICTION", "restriction_info": restrictions}),
        )
    };
    assert_eq!(
        f.post_whatsapp(&restrict(Some(4102444800))).await,
        StatusCode::OK
    );
    assert_eq!(
        send(utility).await,
        (StatusCode::CONFLICT, json!({"Window": "LineMayNotStart"}))
    );
    // A restriction that ended stops nothing.
    assert_eq!(
        f.post_whatsapp(&restrict(Some(1641330498))).await,
        StatusCode::OK
    );
    let mut stop = whatsapp(
        LINE,
        json!({"contacts": [{"wa_id": "5215512345678"}],
               "user_preferences": [{"wa_id": "5215512345678", "category": "marketing_messages",
                 "detail": "User requested to stop marketing messages", "value": "stop",
                 "timestamp": 1760000500}]}),
    );
    stop["entry"][0]["changes"][0]["field"] = json!("user_preferences");
    assert_eq!(f.post_whatsapp(&stop).await, StatusCode::OK);
    assert_eq!(
        send(promo).await,
        (StatusCode::CONFLICT, json!({"Window": "MarketingStopped"}))
    );
    let (status, sent) = send(utility).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["kind"], "template");
    f.stop().await;
}

/// The sandbox plays Meta: a customer pressing "Stop promotions", a template paused, the line
/// restricted and the restriction lifted, each reaching Buzón as a signed webhook.
async fn the_sandbox_sends_these_events_as_meta_would(backend: Backend) {
    use common::pair::Pair;
    let pair = Pair::start(backend).await;
    let account_id = pair.first_whatsapp_account().await;
    pair.sync_templates(account_id).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "hola"}))
        .await;
    pair.customer_sends(json!({"channel": "whatsapp", "type": "stop_promotions"}))
        .await;
    let (stopped,): (Option<i64>,) =
        sqlx::query_as("SELECT marketing_stopped_at FROM conversations")
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    assert!(stopped.is_some());

    let business = |event: Value| {
        let request = pair
            .http
            .post(format!("{}/sandbox/api/business", pair.sandbox_url))
            .json(&event);
        async move {
            let answer: Value = request.send().await.unwrap().json().await.unwrap();
            assert_eq!(answer["webhook_status"], 200, "{answer}");
        }
    };
    business(
        json!({"event": "template_status", "name": "retomar_conversacion",
                    "status": "PAUSED"}),
    )
    .await;
    let (status,): (String,) = sqlx::query_as(
        "SELECT status FROM templates WHERE name = 'retomar_conversacion' \
                        AND account_id = $1",
    )
    .bind(account_id)
    .fetch_one(&pair.db.pool)
    .await
    .unwrap();
    assert_eq!(status, "PAUSED");

    business(json!({"event": "restriction", "hours": 24})).await;
    let (standing,): (String,) = sqlx::query_as("SELECT standing FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_one(&pair.db.pool)
        .await
        .unwrap();
    assert!(
        standing.contains("RESTRICTED_BIZ_INITIATED_MESSAGING"),
        "{standing}"
    );
    business(json!({"event": "lift_restriction"})).await;
    let (standing,): (String,) = sqlx::query_as("SELECT standing FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_one(&pair.db.pool)
        .await
        .unwrap();
    assert!(!standing.contains("RESTRICTED"), "{standing}");
    pair.stop().await;
}

/// A change of a line's standing or templates tells the organization's open screens to look
/// again (`{"lines":true}`), once per change: the inbox's stream and the settings page's,
/// which carries nothing else.
async fn line_changes_reach_open_screens_once(backend: Backend) {
    let f = Fixture::new(backend).await;
    with_business(&f).await;
    let quiet = Duration::from_millis(700);
    let wait = Duration::from_secs(5);
    let mut inbox = open_with(&f.admin, "").await.unwrap();
    let mut settings = open_with(&f.admin, "only=notices").await.unwrap();
    f.post_whatsapp(&text_from("5215500000001", "w.1", "hola"))
        .await;
    let event = next_event(&mut inbox, wait).await.unwrap();
    assert_eq!(event["change"]["message"]["body"], "hola");
    assert_eq!(
        next_event(&mut settings, quiet).await,
        None,
        "no conversations on the settings page's stream"
    );
    let restricted = business(
        "account_update",
        json!({"event": "ACCOUNT_RESTRICTION", "restriction_info": [
            {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": 4102444800_i64}]}),
    );
    assert_eq!(f.post_whatsapp(&restricted).await, StatusCode::OK);
    for socket in [&mut inbox, &mut settings] {
        assert_eq!(next_event(socket, wait).await, Some(json!({"lines": true})));
    }
    // Delivered again, it changes nothing and says nothing.
    assert_eq!(f.post_whatsapp(&restricted).await, StatusCode::OK);
    assert_eq!(next_event(&mut settings, quiet).await, None);
    // What the inbox's line filter and the settings page read now.
    let overview = f.admin.json("inbox_overview", &[]).await;
    let line = overview["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| {
            l["standing"]["restrictions"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
        })
        .expect("the restricted line");
    assert_eq!(
        line["standing"]["restrictions"][0]["kind"],
        "RESTRICTED_BIZ_INITIATED_MESSAGING"
    );
    let accounts = f.admin.json("accounts", &[]).await;
    assert!(accounts["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["standing"]["restrictions"][0]["until"] == 4102444800000_i64));
    f.stop().await;
}

/// After the first sync the sandbox plays Meta's review: one template approved, one rejected
/// with its reason, one whose quality drops until it is paused; each arrives as Meta's webhook
/// and the next sync agrees.
async fn the_sandbox_reviews_templates_after_the_first_sync(backend: Backend) {
    use common::pair::{eventually, Pair};
    let pair = Pair::start(backend).await;
    pair.sandbox.lock().unwrap().behaviour.review_ms = 50;
    let account_id = pair.first_whatsapp_account().await;
    let synced = pair.sync_templates(account_id).await;
    assert_eq!(synced, 5);
    let settings = || async {
        let settings = pair.admin.json("template_settings", &[]).await;
        settings["templates"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["account_id"] == account_id)
            .map(|t| (t["name"].as_str().unwrap().to_string(), t.clone()))
            .collect::<std::collections::HashMap<String, Value>>()
    };
    let before = settings().await;
    assert_eq!(before["nueva_coleccion"]["status"], "PENDING");
    assert_eq!(before["recordatorio_pago"]["quality"], "GREEN");
    assert_eq!(
        before["promo_rechazada"]["status_reason"],
        "TAG_CONTENT_MISMATCH"
    );
    let after = eventually("Meta's review", Duration::from_secs(15), || async {
        let now = settings().await;
        (now["recordatorio_pago"]["status"] == "PAUSED").then_some(now)
    })
    .await;
    assert_eq!(after["nueva_coleccion"]["status"], "APPROVED");
    assert_eq!(after["liquidacion_total"]["status"], "REJECTED");
    assert_eq!(
        after["liquidacion_total"]["status_reason"],
        "Los parámetros no pueden ir al principio ni al final del mensaje."
    );
    assert_eq!(after["recordatorio_pago"]["quality"], "RED");
    assert!(after["recordatorio_pago"]["status_reason"]
        .as_str()
        .unwrap()
        .contains("pausó"));
    // A sync now lists the same; the words of Meta's webhooks, which the list lacks, stay.
    let synced = pair.sync_templates(account_id).await;
    assert_eq!(synced, 5, "one more approved, one paused");
    let resynced = settings().await;
    assert_eq!(resynced["recordatorio_pago"]["status"], "PAUSED");
    assert_eq!(
        resynced["recordatorio_pago"]["status_reason"],
        after["recordatorio_pago"]["status_reason"]
    );
    assert_eq!(resynced["recordatorio_pago"]["quality"], "RED");
    assert_eq!(
        resynced["liquidacion_total"]["status_reason"], after["liquidacion_total"]["status_reason"],
        "Meta's words, not the list's code"
    );
    pair.stop().await;
}
