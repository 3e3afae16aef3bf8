//! WhatsApp Cloud API webhook bodies, written from the documented shapes, and what Buzón reads
//! from each.

use channels::*;
use serde_json::{json, Value};

const LINE: &str = "106540352242922";

fn change(field: &str, value: Value) -> Vec<u8> {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] = json!({"display_phone_number": "15550783881", "phone_number_id": LINE});
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": field, "value": value}]}]
    }))
    .unwrap()
}

fn incoming(message: Value) -> Vec<u8> {
    let mut message = message;
    message["from"] = json!("5215512345678");
    message["id"] = json!("wamid.IN1");
    message["timestamp"] = json!("1749416383");
    change(
        "messages",
        json!({
            "contacts": [{"profile": {"name": "Lucía Pérez"}, "wa_id": "5215512345678"}],
            "messages": [message]
        }),
    )
}

fn only_message(body: &[u8]) -> Message {
    let batch = Channel::Whatsapp.parse_webhook(body).unwrap();
    assert_eq!(batch.events.len(), 1, "{batch:?}");
    match batch.events.into_iter().next().unwrap() {
        Inbound::Message(message) => message,
        other => panic!("expected a message, got {other:?}"),
    }
}

fn only_event(body: &[u8]) -> Inbound {
    let batch = Channel::Whatsapp.parse_webhook(body).unwrap();
    assert_eq!(batch.events.len(), 1, "{batch:?}");
    batch.events.into_iter().next().unwrap()
}

#[test]
fn text_message_names_line_customer_and_time() {
    let message = only_message(&incoming(
        json!({"type": "text", "text": {"body": "¿Lo tienen en otro color?"}}),
    ));
    assert_eq!(message.account, LINE);
    assert_eq!(message.customer.key, "5215512345678");
    assert_eq!(message.customer.name.as_deref(), Some("Lucía Pérez"));
    assert_eq!(message.customer.phone.as_deref(), Some("5215512345678"));
    assert_eq!(message.provider_id, "wamid.IN1");
    assert_eq!(message.at_ms, 1_749_416_383_000);
    assert!(!message.outgoing);
    assert_eq!(
        message.content,
        Content::Text {
            body: "¿Lo tienen en otro color?".into()
        }
    );
}

#[test]
fn reply_keeps_the_quoted_message_and_forward_is_not_a_reply() {
    let reply = only_message(&incoming(json!({
        "type": "text", "text": {"body": "ese"},
        "context": {"from": "15550783881", "id": "wamid.OUT7"}
    })));
    assert_eq!(reply.reply_to.as_deref(), Some("wamid.OUT7"));
    assert!(!reply.forwarded);

    let forward = only_message(&incoming(json!({
        "type": "text", "text": {"body": "mira"}, "context": {"forwarded": true}
    })));
    assert_eq!(forward.reply_to, None);
    assert!(forward.forwarded);
}

#[test]
fn reaction_and_its_removal_target_the_reacted_message() {
    match only_event(&incoming(json!({
        "type": "reaction", "reaction": {"message_id": "wamid.OUT7", "emoji": "😮"}
    }))) {
        Inbound::Reaction(r) => {
            assert_eq!(r.target, "wamid.OUT7");
            assert_eq!(r.emoji.as_deref(), Some("😮"));
            assert_eq!(r.customer, "5215512345678");
            assert!(!r.by_business);
        }
        other => panic!("{other:?}"),
    }
    for removal in [
        json!({"type": "reaction", "reaction": {"message_id": "wamid.OUT7", "emoji": ""}}),
        json!({"type": "reaction", "reaction": {"message_id": "wamid.OUT7"}}),
    ] {
        match only_event(&incoming(removal)) {
            Inbound::Reaction(r) => assert_eq!(r.emoji, None),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn location_with_and_without_its_optional_parts() {
    let full = only_message(&incoming(json!({"type": "location", "location": {
        "latitude": 19.4326, "longitude": -99.1332, "name": "Zócalo", "address": "Centro, CDMX",
        "url": "https://maps.example/z"
    }})));
    assert_eq!(
        full.content,
        Content::Location {
            latitude: 19.4326,
            longitude: -99.1332,
            name: Some("Zócalo".into()),
            address: Some("Centro, CDMX".into()),
            url: Some("https://maps.example/z".into()),
        }
    );
    let bare = only_message(&incoming(
        json!({"type": "location", "location": {"latitude": 1.5, "longitude": 2.5}}),
    ));
    assert!(matches!(bare.content, Content::Location { name: None, .. }));
}

fn media_of(message: &Message) -> &Media {
    match &message.content {
        Content::Media(media) => media,
        other => panic!("expected media, got {other:?}"),
    }
}

#[test]
fn voice_note_and_audio_file_are_told_apart() {
    let voice = only_message(&incoming(json!({"type": "audio", "audio": {
        "mime_type": "audio/ogg; codecs=opus", "sha256": "abc", "id": "111", "voice": true
    }})));
    assert_eq!(media_of(&voice).kind, MediaKind::Voice);
    assert_eq!(media_of(&voice).media_id.as_deref(), Some("111"));
    let file = only_message(&incoming(json!({"type": "audio", "audio": {
        "mime_type": "audio/mpeg", "id": "112", "voice": false
    }})));
    assert_eq!(media_of(&file).kind, MediaKind::Audio);
    assert_eq!(voice.content.kind(), "voice");
}

#[test]
fn image_gif_video_document_and_sticker_keep_their_media_ids() {
    let image = only_message(&incoming(json!({"type": "image", "image": {
        "mime_type": "image/jpeg", "sha256": "h", "id": "65463453", "caption": "precio?",
        "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"
    }})));
    let media = media_of(&image);
    assert_eq!(media.kind, MediaKind::Image);
    assert_eq!(media.caption.as_deref(), Some("precio?"));
    assert_eq!(media.mime_type.as_deref(), Some("image/jpeg"));
    assert!(media.url.is_some());
    assert_eq!(image.content.text(), Some("precio?"));

    let gif = only_message(&incoming(
        json!({"type": "image", "image": {"mime_type": "image/gif", "id": "7"}}),
    ));
    assert_eq!(media_of(&gif).kind, MediaKind::Gif);

    let video = only_message(&incoming(json!({"type": "video", "video": {
        "caption": "demo", "mime_type": "video/mp4", "sha256": "h", "id": "8"
    }})));
    assert_eq!(media_of(&video).kind, MediaKind::Video);

    let document = only_message(&incoming(json!({"type": "document", "document": {
        "caption": "cotización", "filename": "cotizacion.pdf", "mime_type": "application/pdf",
        "sha256": "h", "id": "9"
    }})));
    assert_eq!(media_of(&document).kind, MediaKind::Document);
    assert_eq!(
        media_of(&document).file_name.as_deref(),
        Some("cotizacion.pdf")
    );

    let sticker = only_message(&incoming(json!({"type": "sticker", "sticker": {
        "mime_type": "image/webp", "sha256": "h", "id": "10", "animated": false
    }})));
    assert_eq!(media_of(&sticker).kind, MediaKind::Sticker);
}

#[test]
fn button_and_list_replies_become_choices() {
    let button = only_message(&incoming(json!({
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": "si", "title": "Sí"}},
        "context": {"from": "15550783881", "id": "wamid.OUT1"}
    })));
    assert_eq!(
        button.content,
        Content::Choice {
            choice: ChoiceKind::Button,
            id: Some("si".into()),
            title: "Sí".into(),
            description: None
        }
    );
    assert_eq!(button.reply_to.as_deref(), Some("wamid.OUT1"));

    let row = only_message(&incoming(json!({"type": "interactive", "interactive": {
        "type": "list_reply",
        "list_reply": {"id": "m", "title": "Talla M", "description": "Disponible"}
    }})));
    assert!(matches!(
        row.content,
        Content::Choice { choice: ChoiceKind::ListRow, ref title, description: Some(_), .. }
            if title == "Talla M"
    ));

    let template_button = only_message(&incoming(json!({
        "type": "button", "button": {"payload": "CONFIRM", "text": "Confirmar"},
        "context": {"from": "15550783881", "id": "wamid.TPL"}
    })));
    assert!(matches!(
        template_button.content,
        Content::Choice { choice: ChoiceKind::Button, ref title, .. } if title == "Confirmar"
    ));
}

#[test]
fn polls_contacts_orders_and_unknown_types_are_unsupported() {
    let poll = only_message(&incoming(json!({
        "type": "unsupported", "unsupported": {"type": "poll_creation"},
        "errors": [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
                    "error_data": {"details": "Message type is currently not supported."}}]
    })));
    assert_eq!(
        poll.content,
        Content::Unsupported {
            what: "poll_creation".into(),
            text: None
        }
    );
    let contacts = only_message(&incoming(json!({"type": "contacts", "contacts": [{
        "name": {"first_name": "Ana", "formatted_name": "Ana"},
        "phones": [{"phone": "+52 55 1111 2222", "type": "CELL"}]
    }]})));
    assert!(
        matches!(contacts.content, Content::Unsupported { ref what, .. } if what == "contacts")
    );
    let order = only_message(&incoming(json!({"type": "order", "order": {
        "catalog_id": "1", "text": "", "product_items": []
    }})));
    assert_eq!(order.content.kind(), "unsupported");
    let novel = only_message(&incoming(json!({"type": "hologram", "hologram": {}})));
    assert!(matches!(novel.content, Content::Unsupported { ref what, .. } if what == "hologram"));
    let bare = only_message(&incoming(json!({"type": "unsupported"})));
    assert_eq!(bare.content.kind(), "unsupported");
}

#[test]
fn customer_edits_and_deletions_name_the_original() {
    match only_event(&incoming(json!({"type": "edit", "edit": {
        "original_message_id": "wamid.IN0",
        "message": {"type": "text", "text": {"body": "corregido"}}
    }}))) {
        Inbound::Edit(edit) => {
            assert_eq!(edit.target, "wamid.IN0");
            assert_eq!(
                edit.content,
                Content::Text {
                    body: "corregido".into()
                }
            );
        }
        other => panic!("{other:?}"),
    }
    match only_event(&incoming(
        json!({"type": "revoke", "revoke": {"original_message_id": "wamid.IN0"}}),
    )) {
        Inbound::Delete(delete) => assert_eq!(delete.target, "wamid.IN0"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn username_only_customers_are_keyed_by_their_business_scoped_id() {
    let body = change(
        "messages",
        json!({
            "contacts": [{"profile": {"name": "Sol", "username": "sol.mx"},
                          "user_id": "US.13491208655302741918"}],
            "messages": [{"from_user_id": "US.13491208655302741918", "id": "wamid.U",
                          "timestamp": "1749416383", "type": "text", "text": {"body": "hola"}}]
        }),
    );
    let message = only_message(&body);
    assert_eq!(message.customer.key, "US.13491208655302741918");
    assert_eq!(message.customer.username.as_deref(), Some("sol.mx"));
    assert_eq!(message.customer.phone, None);
}

fn status_body(status: Value) -> Vec<u8> {
    change(
        "messages",
        json!({
            "contacts": [{"profile": {"name": "Lucía"}, "wa_id": "5215512345678"}],
            "statuses": [status]
        }),
    )
}

#[test]
fn every_delivery_status_is_read_with_pricing_and_failure_reason() {
    for (name, expected) in [
        ("sent", Delivery::Sent),
        ("delivered", Delivery::Delivered),
        ("read", Delivery::Read),
        ("played", Delivery::Read),
    ] {
        match only_event(&status_body(json!({
            "id": "wamid.OUT1", "status": name, "timestamp": "1750263773",
            "recipient_id": "5215512345678",
            "pricing": {"billable": false, "pricing_model": "PMP",
                        "type": "free_customer_service", "category": "service"}
        }))) {
            Inbound::Status(update) => {
                assert_eq!(update.status, expected);
                assert_eq!(update.provider_id, "wamid.OUT1");
                assert_eq!(update.at_ms, 1_750_263_773_000);
                assert_eq!(update.pricing_category.as_deref(), Some("service"));
                assert_eq!(update.customer.as_deref(), Some("5215512345678"));
            }
            other => panic!("{other:?}"),
        }
    }
    match only_event(&status_body(json!({
        "id": "wamid.OUT2", "status": "failed", "timestamp": "1750263774",
        "recipient_id": "5215512345678",
        "errors": [{"code": 131047, "title": "Re-engagement message",
                    "message": "Re-engagement message",
                    "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}]
    }))) {
        Inbound::Status(update) => {
            assert_eq!(update.status, Delivery::Failed);
            let error = update.error.unwrap();
            assert_eq!(error.code, "131047");
            assert!(error.reason.contains("24 hours"), "{}", error.reason);
            assert_eq!(update.pricing_category, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_batch_with_several_entries_changes_and_messages_yields_them_all() {
    let message = |id: &str, from: &str| json!({"from": from, "id": id, "timestamp": "1", "type": "text", "text": {"body": id}});
    let value = |line: &str, messages: Vec<Value>| {
        json!({"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "1", "phone_number_id": line},
            "messages": messages
        }})
    };
    let body = serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "w1", "changes": [
                value("L1", vec![message("a", "1"), message("b", "2")]),
                value("L2", vec![message("c", "1")])
            ]},
            {"id": "w2", "changes": [value("L3", vec![message("d", "3")])]}
        ]
    }))
    .unwrap();
    let batch = Channel::Whatsapp.parse_webhook(&body).unwrap();
    let seen: Vec<(String, String)> = batch
        .events
        .iter()
        .map(|e| match e {
            Inbound::Message(m) => (m.account.clone(), m.provider_id.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        seen,
        [("L1", "a"), ("L1", "b"), ("L2", "c"), ("L3", "d")]
            .map(|(l, i)| (l.to_string(), i.to_string()))
    );
    assert_eq!(
        Channel::Whatsapp.webhook_accounts(&body).unwrap(),
        vec!["L1", "L2", "L3"]
    );
}

#[test]
fn business_app_echoes_are_outgoing_from_the_phone() {
    let body = change(
        "smb_message_echoes",
        json!({"message_echoes": [
            {"from": "15550783881", "to": "5215512345678", "id": "wamid.E1",
             "timestamp": "1697043223", "type": "text", "text": {"body": "Sí, hay azul"}},
            {"from": "15550783881", "to": "5215512345678", "id": "wamid.E2",
             "timestamp": "1697043224", "type": "revoke", "revoke": {"original_message_id": "wamid.E1"}}
        ]}),
    );
    let batch = Channel::Whatsapp.parse_webhook(&body).unwrap();
    assert_eq!(batch.events.len(), 2);
    match &batch.events[0] {
        Inbound::Message(m) => {
            assert!(m.outgoing);
            assert_eq!(m.sent_from, Some(SentFrom::BusinessApp));
            assert_eq!(m.customer.key, "5215512345678");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&batch.events[1], Inbound::Delete(d) if d.target == "wamid.E1"));
}

#[test]
fn history_import_sorts_each_thread_into_incoming_and_outgoing() {
    let body = change(
        "history",
        json!({"history": [{
            "metadata": {"phase": 1, "chunk_order": 1, "progress": 100},
            "threads": [{"id": "5215512345678", "messages": [
                {"from": "5215512345678", "id": "wamid.H1", "timestamp": "1690000000",
                 "type": "text", "text": {"body": "hola"}, "history_context": {"status": "READ"}},
                {"from": "15550783881", "to": "5215512345678", "id": "wamid.H2",
                 "timestamp": "1690000060", "type": "text", "text": {"body": "buen día"},
                 "history_context": {"status": "DELIVERED"}}
            ]}]
        }]}),
    );
    let batch = Channel::Whatsapp.parse_webhook(&body).unwrap();
    let messages: Vec<&Message> = batch
        .events
        .iter()
        .map(|e| match e {
            Inbound::Message(m) => m,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(!messages[0].outgoing);
    assert!(messages[1].outgoing);
    assert_eq!(messages[1].sent_from, Some(SentFrom::History));
    assert_eq!(messages[1].history_status, Some(Delivery::Delivered));
    assert_eq!(messages[1].customer.key, "5215512345678");

    let declined = change(
        "history",
        json!({"history": [{"errors": [{"code": 2593109, "title": "History sharing declined"}]}]}),
    );
    let batch = Channel::Whatsapp.parse_webhook(&declined).unwrap();
    assert!(batch.events.is_empty());
    assert!(batch.notices.iter().any(|n| n.contains("2593109")));
}

#[test]
fn business_app_contacts_sync_adds_and_removes() {
    let body = change(
        "smb_app_state_sync",
        json!({"state_sync": [
            {"type": "contact", "contact": {"full_name": "Ana Ruiz", "first_name": "Ana",
             "phone_number": "+52 1 55 1234 5678"}, "action": "add", "metadata": {"timestamp": "1"}},
            {"type": "contact", "contact": {"phone_number": "5215599999999"}, "action": "remove"}
        ]}),
    );
    let batch = Channel::Whatsapp.parse_webhook(&body).unwrap();
    assert_eq!(
        batch.events,
        vec![
            Inbound::ContactSync(SyncedContact {
                account: LINE.into(),
                phone: "5215512345678".into(),
                full_name: Some("Ana Ruiz".into()),
                first_name: Some("Ana".into()),
                removed: false
            }),
            Inbound::ContactSync(SyncedContact {
                account: LINE.into(),
                phone: "5215599999999".into(),
                full_name: None,
                first_name: None,
                removed: true
            }),
        ]
    );
}

#[test]
fn bad_bodies_are_errors_and_odd_items_are_notices() {
    assert!(matches!(
        Channel::Whatsapp.parse_webhook(b"{not json"),
        Err(ParseError::Json(_))
    ));
    assert!(matches!(
        Channel::Whatsapp.parse_webhook(br#"{"object":"page","entry":[]}"#),
        Err(ParseError::WrongObject(_))
    ));
    // One message missing its id does not lose its neighbour.
    let body = change(
        "messages",
        json!({"messages": [
            {"from": "1", "timestamp": "1", "type": "text", "text": {"body": "no id"}},
            {"from": "1", "id": "wamid.OK", "timestamp": "1", "type": "text", "text": {"body": "ok"}}
        ], "errors": [{"code": 130429, "title": "Rate limit hit"}]}),
    );
    let batch = Channel::Whatsapp.parse_webhook(&body).unwrap();
    assert_eq!(batch.events.len(), 1);
    assert!(batch.notices.iter().any(|n| n.contains("130429")));
    assert!(batch
        .notices
        .iter()
        .any(|n| n.contains("unreadable message")));
}

#[test]
fn a_body_naming_too_many_accounts_is_refused_before_anything_else() {
    let changes: Vec<Value> = (0..60)
        .map(|n| json!({"field": "messages", "value": {"metadata": {"phone_number_id": n.to_string()}}}))
        .collect();
    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account",
                                          "entry": [{"id": "W", "changes": changes}]}))
    .unwrap();
    assert_eq!(
        Channel::Whatsapp.webhook_accounts(&body),
        Err(ParseError::TooManyAccounts)
    );
    // Repeating one account many times is fine.
    let same: Vec<Value> = (0..500)
        .map(|_| json!({"field": "messages", "value": {"metadata": {"phone_number_id": "L1"}}}))
        .collect();
    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account",
                                          "entry": [{"id": "W", "changes": same}]}))
    .unwrap();
    assert_eq!(Channel::Whatsapp.webhook_accounts(&body).unwrap(), ["L1"]);
}
