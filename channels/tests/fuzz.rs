//! The webhook parsers face the internet: whatever bytes arrive, they return a batch or an
//! error and never panic. Valid bodies of every channel are mutated (bytes flipped, cut,
//! spliced, JSON values swapped for values of other types) many thousands of times.

use channels::Channel;
use serde_json::{json, Value};

/// A small deterministic generator, so a failure can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds() -> Vec<(Channel, Value)> {
    let wa = |value: Value| {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
            {"field": "messages", "value": value}]}]})
    };
    let meta = json!({"display_phone_number": "1", "phone_number_id": "L1"});
    vec![
        (
            Channel::Whatsapp,
            wa(
                json!({"metadata": meta, "contacts": [{"profile": {"name": "A"}, "wa_id": "1"}],
            "messages": [{"from": "1", "id": "w1", "timestamp": "1", "type": "text", "text": {"body": "hi"},
                          "context": {"id": "w0"}},
                         {"from": "1", "id": "w2", "timestamp": "1", "type": "image",
                          "image": {"id": "9", "mime_type": "image/jpeg", "caption": "c"}},
                         {"from": "1", "id": "w3", "timestamp": "1", "type": "edit",
                          "edit": {"original_message_id": "w1", "message": {"type": "text", "text": {"body": "x"}}}}],
            "statuses": [{"id": "w0", "status": "failed", "timestamp": "2",
                          "errors": [{"code": 131047, "error_data": {"details": "d"}}]}]}),
            ),
        ),
        (
            Channel::Whatsapp,
            json!({"object": "whatsapp_business_account", "entry": [{"changes": [
            {"field": "history", "value": {"metadata": meta, "history": [{"threads": [{"id": "1",
              "messages": [{"from": "2", "id": "h", "timestamp": "1", "type": "text", "text": {"body": "t"},
                            "history_context": {"status": "READ"}}]}]}]}},
            {"field": "smb_app_state_sync", "value": {"metadata": meta, "state_sync": [
              {"type": "contact", "contact": {"phone_number": "+1 2", "full_name": "F"}, "action": "add"}]}}]}]}),
        ),
        (
            Channel::Messenger,
            json!({"object": "page", "entry": [{"id": "P", "messaging": [
            {"sender": {"id": "U"}, "recipient": {"id": "P"}, "timestamp": 1,
             "message": {"mid": "m", "text": "t", "attachments": [{"type": "image", "payload": {"url": "u"}}],
                         "reply_to": {"mid": "m0"}}},
            {"sender": {"id": "U"}, "recipient": {"id": "P"}, "timestamp": 1,
             "reaction": {"mid": "m", "action": "react", "emoji": "x"}},
            {"sender": {"id": "U"}, "recipient": {"id": "P"}, "delivery": {"mids": ["m"], "watermark": 5}}]}]}),
        ),
        (
            Channel::Instagram,
            json!({"object": "instagram", "entry": [{"id": "I", "messaging": [
            {"sender": {"id": "U"}, "recipient": {"id": "I"}, "timestamp": 1,
             "message": {"mid": "m", "text": "t", "reply_to": {"story": {"id": "s", "url": "u"}}}},
            {"sender": {"id": "U"}, "recipient": {"id": "I"}, "read": {"mid": "m"}}]}]}),
        ),
    ]
}

fn strange_values(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(-1),
        3 => json!(1e308),
        4 => json!(""),
        5 => json!("\u{0}\u{ffff}😀"),
        6 => json!([1, "a", null]),
        _ => json!({"id": 7}),
    }
}

/// Replaces one randomly chosen value anywhere in the tree.
fn swap_a_value(value: &mut Value, rng: &mut Rng) {
    let children = match value {
        Value::Object(map) => map.len(),
        Value::Array(items) => items.len(),
        _ => 0,
    };
    if children == 0 || rng.below(4) == 0 {
        *value = strange_values(rng);
        return;
    }
    let pick = rng.below(children);
    match value {
        Value::Object(map) => {
            let key = map.keys().nth(pick).cloned().unwrap();
            swap_a_value(map.get_mut(&key).unwrap(), rng);
        }
        Value::Array(items) => swap_a_value(&mut items[pick], rng),
        _ => unreachable!(),
    }
}

#[test]
fn mutated_webhook_bodies_never_panic_the_parsers() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let seeds = seeds();
    let mut parsed = 0;
    for round in 0..6000 {
        let (_, seed) = &seeds[round % seeds.len()];
        let mut bytes = if round % 2 == 0 {
            let mut value = seed.clone();
            for _ in 0..=rng.below(3) {
                swap_a_value(&mut value, &mut rng);
            }
            serde_json::to_vec(&value).unwrap()
        } else {
            serde_json::to_vec(seed).unwrap()
        };
        if round % 2 == 1 {
            for _ in 0..=rng.below(4) {
                let at = rng.below(bytes.len());
                match rng.below(3) {
                    0 => bytes[at] = rng.next() as u8,
                    1 => bytes.truncate(at),
                    _ => {
                        let from = rng.below(bytes.len());
                        let piece: Vec<u8> = bytes[from..].iter().take(12).copied().collect();
                        bytes.splice(at..at, piece);
                    }
                }
                if bytes.is_empty() {
                    break;
                }
            }
        }
        for candidate in Channel::ALL {
            if candidate.parse_webhook(&bytes).is_ok() {
                parsed += 1;
            }
            let _ = candidate.webhook_accounts(&bytes);
        }
    }
    // The mutations must leave many bodies readable, or the parsers were barely exercised.
    assert!(parsed > 1000, "only {parsed} mutated bodies parsed");
}

#[test]
fn random_form_bodies_never_panic_the_twilio_parser() {
    let mut rng = Rng(42);
    let names = [
        "MessageSid",
        "From",
        "To",
        "Body",
        "NumMedia",
        "MediaUrl0",
        "MediaContentType0",
        "MessageStatus",
        "Latitude",
        "Longitude",
        "ButtonText",
        "WaId",
        "ErrorCode",
    ];
    for _ in 0..3000 {
        let mut fields = Vec::new();
        for _ in 0..rng.below(10) {
            let name = names[rng.below(names.len())];
            let value: String = (0..rng.below(12))
                .map(|_| {
                    [
                        "1",
                        "whatsapp:+",
                        "%",
                        "&",
                        "=",
                        "ñ",
                        "read",
                        "99999999999999999999",
                    ][rng.below(8)]
                })
                .collect();
            fields.push((name, value));
        }
        let body = serde_urlencoded::to_string(&fields).unwrap();
        let _ = Channel::Twilio.parse_webhook(body.as_bytes());
        let _ = Channel::Twilio.parse_webhook(&body.as_bytes()[..rng.below(body.len() + 1)]);
    }
}
