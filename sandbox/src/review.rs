//! Meta's review of the business's templates, played after the first sync as Meta would: the
//! templates waiting for review are decided (one approved, one rejected with its reason), and
//! an approved one's quality drops from green to red until Meta pauses it. Each change reaches
//! Buzón as the business account's own signed webhook (`message_template_status_update`,
//! `message_template_quality_update`), and the sandbox's list agrees, so a later sync says the
//! same.

use std::time::Duration;

use serde_json::{json, Value};

use crate::deliver;
use crate::world::{self, Channel, Shared};

/// A template decided after a sync: its name and what happens to it.
enum Step {
    Status {
        name: &'static str,
        status: &'static str,
        /// Meta's reason code and its words (`rejection_info`), or a pause's notice.
        reason: Option<(&'static str, &'static str)>,
    },
    Quality {
        name: &'static str,
        from: &'static str,
        to: &'static str,
    },
}

/// What Meta decides about the sandbox's templates, in order.
const REVIEW: &[Step] = &[
    Step::Status {
        name: "nueva_coleccion",
        status: "APPROVED",
        reason: None,
    },
    Step::Status {
        name: "liquidacion_total",
        status: "REJECTED",
        reason: Some((
            "INVALID_FORMAT",
            "Los parámetros no pueden ir al principio ni al final del mensaje.",
        )),
    },
    Step::Quality {
        name: "recordatorio_pago",
        from: "GREEN",
        to: "YELLOW",
    },
    Step::Quality {
        name: "recordatorio_pago",
        from: "YELLOW",
        to: "RED",
    },
    Step::Status {
        name: "recordatorio_pago",
        status: "PAUSED",
        reason: Some((
            "NONE",
            "La plantilla se pausó 3 horas porque los clientes la reportaron o bloquearon.",
        )),
    },
];

/// After the first sync of templates, plays [`REVIEW`] once, `behaviour.review_ms` later
/// (0: never, the tests that count templates ask for each change themselves).
pub fn after_sync(world: &Shared) {
    let delay = {
        let mut w = world.lock().unwrap();
        if w.reviewed || w.behaviour.review_ms == 0 {
            return;
        }
        w.reviewed = true;
        w.behaviour.review_ms
    };
    let world = world.clone();
    tokio::spawn(async move {
        for step in REVIEW {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let change = match step {
                Step::Status {
                    name,
                    status,
                    reason,
                } => status_change(&world, name, status, *reason),
                Step::Quality { name, from, to } => quality_change(&world, name, from, to),
            };
            if let Some((field, value)) = change {
                send(&world, field, value).await;
            }
        }
    });
}

/// Sets a template's status in the sandbox's list; the webhook that says so, if it exists.
pub fn status_change(
    world: &Shared,
    name: &str,
    status: &str,
    reason: Option<(&str, &str)>,
) -> Option<(&'static str, Value)> {
    let mut w = world.lock().unwrap();
    let template = w.templates.iter_mut().find(|t| t["name"] == name)?;
    template["status"] = json!(status);
    if let Some(fields) = template.as_object_mut() {
        fields.remove("rejected_reason");
    }
    let mut value = json!({"event": status, "message_template_id": template["id"],
        "message_template_name": name, "message_template_language": template["language"],
        "message_template_category": template["category"],
        "reason": reason.map_or("NONE", |(code, _)| code)});
    match (status, reason) {
        ("REJECTED", Some((_, words))) => {
            template["rejected_reason"] = json!(reason.map(|(code, _)| code));
            value["rejection_info"] = json!({"reason": words,
                "recommendation": "Revisa las pautas de plantillas de WhatsApp."});
        }
        (_, Some((_, words))) => {
            value["reason"] = Value::Null;
            value["other_info"] = json!({"title": "FIRST_PAUSE", "description": words});
        }
        _ => {}
    }
    Some(("message_template_status_update", value))
}

/// Sets a template's quality in the sandbox's list; the webhook that says so.
fn quality_change(
    world: &Shared,
    name: &str,
    from: &str,
    to: &str,
) -> Option<(&'static str, Value)> {
    let mut w = world.lock().unwrap();
    let template = w.templates.iter_mut().find(|t| t["name"] == name)?;
    template["quality_score"] = json!({"score": to, "date": world::now_ms() / 1000});
    Some((
        "message_template_quality_update",
        json!({"previous_quality_score": from, "new_quality_score": to,
            "message_template_id": template["id"], "message_template_name": name,
            "message_template_language": template["language"]}),
    ))
}

/// Sends one change of the business account as Meta does; Buzón's first answer.
pub async fn send(world: &Shared, field: &str, value: Value) -> u16 {
    let payload = json!({"object": "whatsapp_business_account",
        "entry": [{"id": world::WABA_ID, "time": world::now_ms() / 1000,
                   "changes": [{"field": field, "value": value}]}]});
    deliver::meta(world, Channel::Whatsapp, payload).await
}
