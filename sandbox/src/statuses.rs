//! What the providers report back about the business's messages: WhatsApp statuses (with
//! pricing and `biz_opaque_callback_data`), Messenger delivery and read watermarks, Instagram
//! seen receipts, Twilio status callbacks. Sometimes duplicated or out of order, on request.

use std::time::Duration;

use serde_json::{json, Value};

use crate::deliver;
use crate::world::{now_ms, Channel, Shared, WABA_ID};

/// A business message the sandbox accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub channel: Channel,
    pub account: String,
    pub customer: String,
    pub id: String,
    pub reference: Option<String>,
    /// Billing category: `service`, or the template's category.
    pub category: String,
    /// Where Twilio should report.
    pub status_callback: Option<String>,
}

pub fn whatsapp_envelope(line: &str, display: &str, value: Value) -> Value {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] = json!({"display_phone_number": display, "phone_number_id": line});
    json!({"object": "whatsapp_business_account",
           "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}]})
}

fn whatsapp_status(world: &Shared, sent: &Accepted, status: &str, errors: Option<Value>) -> Value {
    let display = {
        let world = world.lock().unwrap();
        world
            .line(&sent.account)
            .map(|l| l.display_phone_number.clone())
            .unwrap_or_default()
    };
    let mut item = json!({"id": sent.id, "status": status,
                          "timestamp": (now_ms() / 1000).to_string(),
                          "recipient_id": sent.customer});
    if let Some(reference) = &sent.reference {
        item["biz_opaque_callback_data"] = json!(reference);
    }
    match errors {
        Some(errors) => item["errors"] = errors,
        None => {
            let free = sent.category == "service";
            item["conversation"] = json!({"id": format!("conv{}", sent.customer),
                "expiration_timestamp": ((now_ms() + 86_400_000) / 1000).to_string(),
                "origin": {"type": sent.category}});
            item["pricing"] = json!({"billable": !free, "pricing_model": "PMP",
                "type": if free { "free_customer_service" } else { "regular" },
                "category": sent.category});
        }
    }
    whatsapp_envelope(&sent.account, &display, json!({"statuses": [item]}))
}

fn messaging(object: &str, account: &str, customer: &str, event: (&str, Value)) -> Value {
    let mut item = json!({"sender": {"id": customer}, "recipient": {"id": account},
                          "timestamp": now_ms()});
    item[event.0] = event.1;
    json!({"object": object, "entry": [{"id": account, "time": now_ms(), "messaging": [item]}]})
}

/// Reports one status of one message, the way its channel does.
pub async fn report(world: &Shared, sent: &Accepted, status: &str) {
    world.lock().unwrap().set_status(&sent.id, status);
    match sent.channel {
        Channel::Whatsapp => {
            let payload = whatsapp_status(world, sent, status, None);
            deliver::meta(world, Channel::Whatsapp, payload).await;
        }
        Channel::Messenger => {
            let event = match status {
                "delivered" => (
                    "delivery",
                    json!({"mids": [sent.id], "watermark": now_ms()}),
                ),
                "read" => ("read", json!({"watermark": now_ms()})),
                _ => return,
            };
            let payload = messaging("page", &sent.account, &sent.customer, event);
            deliver::meta(world, Channel::Messenger, payload).await;
        }
        Channel::Instagram => {
            if status != "read" {
                return;
            }
            let payload = messaging(
                "instagram",
                &sent.account,
                &sent.customer,
                ("read", json!({"mid": sent.id})),
            );
            deliver::meta(world, Channel::Instagram, payload).await;
        }
        Channel::Twilio => {
            let Some(url) = sent.status_callback.clone() else {
                return;
            };
            let sid = world.lock().unwrap().settings.twilio_account_sid.clone();
            let params = vec![
                ("MessageSid".to_string(), sent.id.clone()),
                ("SmsSid".to_string(), sent.id.clone()),
                ("AccountSid".to_string(), sid),
                ("MessageStatus".to_string(), status.to_string()),
                ("SmsStatus".to_string(), status.to_string()),
                ("From".to_string(), format!("whatsapp:+{}", sent.account)),
                ("To".to_string(), format!("whatsapp:+{}", sent.customer)),
                ("ApiVersion".to_string(), "2010-04-01".to_string()),
            ];
            deliver::twilio(world, &url, params).await;
        }
    }
}

/// Reports a failure (WhatsApp delivers failures as statuses, after a 200).
pub async fn report_failure(
    world: &Shared,
    sent: &Accepted,
    code: i64,
    title: &str,
    details: &str,
) {
    world.lock().unwrap().set_status(&sent.id, "failed");
    let errors = json!([{"code": code, "title": title, "message": title,
        "error_data": {"details": details},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]);
    let payload = whatsapp_status(world, sent, "failed", Some(errors));
    deliver::meta(world, Channel::Whatsapp, payload).await;
}

/// After an accepted send: sent, then delivered, then (if the customer "reads") read; with
/// chaos, sometimes delivered is skipped, a status repeats, or arrives before the previous.
pub fn follow_up(world: Shared, sent: Accepted) {
    tokio::spawn(async move {
        let (chaos, auto_read) = {
            let w = world.lock().unwrap();
            (w.behaviour.chaos, w.behaviour.auto_read_ms)
        };
        let roll = |world: &Shared| world.lock().unwrap().chance();
        let mut order = vec!["sent", "delivered"];
        if roll(&world) < chaos {
            order.swap(0, 1);
        }
        if roll(&world) < chaos / 2.0 {
            order.retain(|s| *s != "delivered");
        }
        for status in order {
            tokio::time::sleep(Duration::from_millis(80)).await;
            report(&world, &sent, status).await;
            if roll(&world) < chaos {
                report(&world, &sent, status).await;
            }
        }
        if auto_read > 0 {
            tokio::time::sleep(Duration::from_millis(auto_read)).await;
            let already = world
                .lock()
                .unwrap()
                .log
                .iter()
                .any(|l| l.id == sent.id && l.status.as_deref() == Some("read"));
            if !already {
                report(&world, &sent, "read").await;
            }
        }
    });
}
