//! Messenger and Instagram webhook bodies, written from the documented shapes.

use channels::*;
use serde_json::{json, Value};

const PAGE: &str = "1234567890";
const IG: &str = "17841400000000000";
const PSID: &str = "6655443322";

fn page_event(event: Value) -> Vec<u8> {
    envelope("page", PAGE, event)
}

fn ig_event(event: Value) -> Vec<u8> {
    envelope("instagram", IG, event)
}

fn envelope(object: &str, account: &str, event: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": object,
        "entry": [{"id": account, "time": 1_458_692_752_478_i64, "messaging": [event]}]
    }))
    .unwrap()
}

fn from_customer(account: &str, part: (&str, Value)) -> Value {
    let mut event = json!({
        "sender": {"id": PSID}, "recipient": {"id": account}, "timestamp": 1_458_692_752_478_i64
    });
    event[part.0] = part.1;
    event
}

fn events(channel: Channel, body: &[u8]) -> Vec<Inbound> {
    channel.parse_webhook(body).unwrap().events
}

fn one_message(channel: Channel, body: &[u8]) -> Message {
    let mut events = events(channel, body);
    assert_eq!(events.len(), 1, "{events:?}");
    match events.remove(0) {
        Inbound::Message(m) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn messenger_text_with_reply_and_quick_reply() {
    let message = one_message(
        Channel::Messenger,
        &page_event(from_customer(
            PAGE,
            (
                "message",
                json!({"mid": "m_1", "text": "hola", "reply_to": {"mid": "m_0", "is_self_reply": false}}),
            ),
        )),
    );
    assert_eq!(message.account, PAGE);
    assert_eq!(message.customer.key, PSID);
    assert_eq!(message.at_ms, 1_458_692_752_478);
    assert_eq!(message.reply_to.as_deref(), Some("m_0"));
    assert_eq!(
        message.content,
        Content::Text {
            body: "hola".into()
        }
    );

    let quick = one_message(
        Channel::Messenger,
        &page_event(from_customer(
            PAGE,
            (
                "message",
                json!({"mid": "m_2", "text": "Rojo", "quick_reply": {"payload": "RED"}}),
            ),
        )),
    );
    assert_eq!(
        quick.content,
        Content::Choice {
            choice: ChoiceKind::QuickReply,
            id: Some("RED".into()),
            title: "Rojo".into(),
            description: None
        }
    );
}

#[test]
fn messenger_attachments_each_become_a_message() {
    let body = page_event(from_customer(
        PAGE,
        (
            "message",
            json!({"mid": "m_3", "text": "mira", "attachments": [
                {"type": "image", "payload": {"url": "https://cdn.example/a.jpg?x=1"}},
                {"type": "file", "payload": {"url": "https://cdn.example/b.pdf"}},
                {"type": "video", "payload": {"url": "https://cdn.example/c.mp4"}},
                {"type": "audio", "payload": {"url": "https://cdn.example/d.mp4"}},
                {"type": "image", "payload": {"url": "https://cdn.example/e.png", "sticker_id": 369239263222822_i64}},
                {"type": "image", "payload": {"url": "https://cdn.example/f.GIF"}},
                {"type": "fallback", "title": "Una nota", "payload": {"url": "https://example.com/n"}},
                {"type": "appointment_booking", "payload": {}}
            ]}),
        ),
    ));
    let messages: Vec<Message> = events(Channel::Messenger, &body)
        .into_iter()
        .map(|e| match e {
            Inbound::Message(m) => m,
            other => panic!("{other:?}"),
        })
        .collect();
    let kinds: Vec<&str> = messages.iter().map(|m| m.content.kind()).collect();
    assert_eq!(
        kinds,
        [
            "image",
            "document",
            "video",
            "audio",
            "sticker",
            "gif",
            "share",
            "unsupported"
        ]
    );
    assert_eq!(messages[0].provider_id, "m_3");
    assert_eq!(messages[1].provider_id, "m_3#1");
    assert_eq!(messages[0].content.text(), Some("mira"));
    assert_eq!(messages[1].content.text(), None);
    match &messages[0].content {
        Content::Media(media) => {
            assert_eq!(media.url.as_deref(), Some("https://cdn.example/a.jpg?x=1"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn messenger_location_reaction_delivery_read_edit_and_postback() {
    let location = one_message(
        Channel::Messenger,
        &page_event(from_customer(
            PAGE,
            (
                "message",
                json!({"mid": "m_4", "attachments": [{"type": "location", "title": "Tienda",
                "payload": {"coordinates": {"lat": -34.6, "long": -58.38}}}]}),
            ),
        )),
    );
    assert!(matches!(location.content, Content::Location { latitude, .. } if latitude == -34.6));

    let reacted = events(
        Channel::Messenger,
        &page_event(from_customer(
            PAGE,
            (
                "reaction",
                json!({"reaction": "love", "emoji": "❤️", "action": "react", "mid": "m_out"}),
            ),
        )),
    );
    assert!(matches!(&reacted[0], Inbound::Reaction(r)
        if r.target == "m_out" && r.emoji.as_deref() == Some("❤️") && !r.by_business));
    let unreacted = events(
        Channel::Messenger,
        &page_event(from_customer(
            PAGE,
            (
                "reaction",
                json!({"reaction": "love", "action": "unreact", "mid": "m_out"}),
            ),
        )),
    );
    assert!(matches!(&unreacted[0], Inbound::Reaction(r) if r.emoji.is_none()));

    let delivered = events(
        Channel::Messenger,
        &page_event(from_customer(
            PAGE,
            (
                "delivery",
                json!({"mids": ["m_out"], "watermark": 1_458_668_856_253_i64}),
            ),
        )),
    );
    assert_eq!(
        delivered,
        vec![Inbound::Watermark(Watermark {
            account: PAGE.into(),
            customer: PSID.into(),
            status: Delivery::Delivered,
            up_to: WatermarkPoint::Time(1_458_668_856_253)
        })]
    );
    let read = events(
        Channel::Messenger,
        &page_event(from_customer(
            PAGE,
            ("read", json!({"watermark": 1_458_668_856_300_i64})),
        )),
    );
    assert!(matches!(&read[0], Inbound::Watermark(w) if w.status == Delivery::Read));

    let edited = events(
        Channel::Messenger,
        &page_event(from_customer(
            PAGE,
            (
                "message_edit",
                json!({"mid": "m_1", "text": "hola!", "num_edit": 1}),
            ),
        )),
    );
    assert!(matches!(&edited[0], Inbound::Edit(e) if e.target == "m_1"));

    let postback = one_message(
        Channel::Messenger,
        &page_event(from_customer(
            PAGE,
            (
                "postback",
                json!({"mid": "m_pb", "title": "Ver catálogo", "payload": "CATALOG"}),
            ),
        )),
    );
    assert!(
        matches!(postback.content, Content::Choice { ref title, .. } if title == "Ver catálogo")
    );
}

#[test]
fn page_echoes_are_outgoing_and_carry_our_metadata() {
    let body = page_event(json!({
        "sender": {"id": PAGE}, "recipient": {"id": PSID}, "timestamp": 1_458_692_752_999_i64,
        "message": {"mid": "m_echo", "is_echo": true, "app_id": 1517776481860111_i64,
                    "metadata": "buzon:42", "text": "Te escribo desde el celular"}
    }));
    let echo = one_message(Channel::Messenger, &body);
    assert!(echo.outgoing);
    assert_eq!(echo.sent_from, Some(SentFrom::NativeApp));
    assert_eq!(echo.customer.key, PSID);
    assert_eq!(echo.echo_metadata.as_deref(), Some("buzon:42"));

    // A page reacting from its own inbox is the business reacting.
    let body = page_event(json!({
        "sender": {"id": PAGE}, "recipient": {"id": PSID}, "timestamp": 1,
        "reaction": {"mid": "m_1", "action": "react", "emoji": "👍", "reaction": "like"}
    }));
    assert!(
        matches!(&events(Channel::Messenger, &body)[0], Inbound::Reaction(r)
        if r.by_business && r.customer == PSID)
    );
}

#[test]
fn standby_events_are_read_too_and_entries_route_by_page() {
    let body = serde_json::to_vec(&json!({"object": "page", "entry": [
        {"id": "P1", "time": 1, "messaging": [{"sender": {"id": "U1"}, "recipient": {"id": "P1"},
            "timestamp": 1, "message": {"mid": "a", "text": "1"}}]},
        {"id": "P2", "time": 1, "standby": [{"sender": {"id": "U2"}, "recipient": {"id": "P2"},
            "timestamp": 2, "message": {"mid": "b", "text": "2"}}]}
    ]}))
    .unwrap();
    let accounts: Vec<String> = events(Channel::Messenger, &body)
        .iter()
        .map(|e| e.account().to_string())
        .collect();
    assert_eq!(accounts, ["P1", "P2"]);
    assert_eq!(
        Channel::Messenger.webhook_accounts(&body).unwrap(),
        ["P1", "P2"]
    );
}

#[test]
fn instagram_story_reply_mention_share_deletion_and_unsupported() {
    let story_reply = one_message(
        Channel::Instagram,
        &ig_event(from_customer(
            IG,
            (
                "message",
                json!({"mid": "ig_1", "text": "¡Me encanta!",
                "reply_to": {"story": {"id": "1790", "url": "https://cdn.example/story.mp4"}}}),
            ),
        )),
    );
    assert_eq!(story_reply.reply_to, None);
    assert_eq!(
        story_reply.story,
        Some(StoryRef {
            id: Some("1790".into()),
            url: Some("https://cdn.example/story.mp4".into())
        })
    );
    assert_eq!(
        story_reply.content,
        Content::Text {
            body: "¡Me encanta!".into()
        }
    );

    let mention = one_message(
        Channel::Instagram,
        &ig_event(from_customer(
            IG,
            (
                "message",
                json!({"mid": "ig_2", "attachments": [{"type": "story_mention",
                "payload": {"url": "https://cdn.example/m.jpg"}}]}),
            ),
        )),
    );
    assert!(mention.story.is_some());
    assert_eq!(mention.content.kind(), "share");

    let post = one_message(
        Channel::Instagram,
        &ig_event(from_customer(
            IG,
            (
                "message",
                json!({"mid": "ig_3", "attachments": [{"type": "ig_post",
                "payload": {"url": "https://cdn.example/p.jpg", "title": "Nueva colección", "ig_post_media_id": "99"}}]}),
            ),
        )),
    );
    assert_eq!(
        post.content,
        Content::Share {
            url: Some("https://cdn.example/p.jpg".into()),
            title: Some("Nueva colección".into())
        }
    );

    let deleted = events(
        Channel::Instagram,
        &ig_event(from_customer(
            IG,
            ("message", json!({"mid": "ig_1", "is_deleted": true})),
        )),
    );
    assert!(matches!(&deleted[0], Inbound::Delete(d) if d.target == "ig_1"));

    let unsupported = one_message(
        Channel::Instagram,
        &ig_event(from_customer(
            IG,
            ("message", json!({"mid": "ig_4", "is_unsupported": true})),
        )),
    );
    assert_eq!(unsupported.content.kind(), "unsupported");
}

#[test]
fn instagram_seen_receipt_points_at_a_message_and_echoes_are_outgoing() {
    let seen = events(
        Channel::Instagram,
        &ig_event(from_customer(IG, ("read", json!({"mid": "ig_out_9"})))),
    );
    assert_eq!(
        seen,
        vec![Inbound::Watermark(Watermark {
            account: IG.into(),
            customer: PSID.into(),
            status: Delivery::Read,
            up_to: WatermarkPoint::Messages(vec!["ig_out_9".into()])
        })]
    );
    let echo = one_message(
        Channel::Instagram,
        &ig_event(
            json!({"sender": {"id": IG}, "recipient": {"id": PSID}, "timestamp": 5,
            "message": {"mid": "ig_e", "is_echo": true, "text": "desde la app"}}),
        ),
    );
    assert!(echo.outgoing);
    assert_eq!(echo.customer.key, PSID);
}

#[test]
fn a_page_body_is_not_an_instagram_body() {
    let body = page_event(from_customer(
        PAGE,
        ("message", json!({"mid": "m", "text": "x"})),
    ));
    assert!(matches!(
        Channel::Instagram.parse_webhook(&body),
        Err(ParseError::WrongObject(_))
    ));
}
