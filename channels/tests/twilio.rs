//! Twilio WhatsApp form bodies, written from the documented field list.

use channels::*;

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(fields).unwrap().into_bytes()
}

fn base<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
        ("SmsSid", "SM0123456789abcdef0123456789abcdef"),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("From", "whatsapp:+5491155556666"),
        ("To", "whatsapp:+14155238886"),
        ("ProfileName", "Martín"),
        ("WaId", "5491155556666"),
        ("SmsStatus", "received"),
        ("ApiVersion", "2010-04-01"),
    ];
    fields.extend_from_slice(extra);
    fields
}

fn messages(body: &[u8]) -> Vec<Message> {
    Channel::Twilio
        .parse_webhook(body)
        .unwrap()
        .events
        .into_iter()
        .map(|e| match e {
            Inbound::Message(m) => m,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn text_routes_on_the_business_number_and_keys_on_the_wa_id() {
    let body = form(&base(&[
        ("Body", "Hola, ¿precio + envío?"),
        ("NumMedia", "0"),
        ("MessageType", "text"),
    ]));
    let message = &messages(&body)[0];
    assert_eq!(message.account, "14155238886");
    assert_eq!(message.customer.key, "5491155556666");
    assert_eq!(message.customer.name.as_deref(), Some("Martín"));
    assert_eq!(
        message.content,
        Content::Text {
            body: "Hola, ¿precio + envío?".into()
        }
    );
    assert_eq!(
        Channel::Twilio.webhook_accounts(&body).unwrap(),
        ["14155238886"]
    );
}

#[test]
fn media_location_button_and_reply_context() {
    let body = form(&base(&[
        ("Body", "foto"),
        ("NumMedia", "2"),
        (
            "MediaUrl0",
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        ),
        ("MediaContentType0", "image/jpeg"),
        (
            "MediaUrl1",
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2",
        ),
        ("MediaContentType1", "audio/ogg"),
        ("OriginalRepliedMessageSid", "SMprevious"),
    ]));
    let media = messages(&body);
    assert_eq!(media.len(), 2);
    assert_eq!(media[0].content.kind(), "image");
    assert_eq!(media[0].content.text(), Some("foto"));
    assert_eq!(media[0].reply_to.as_deref(), Some("SMprevious"));
    assert_eq!(media[1].content.kind(), "audio");
    assert_eq!(media[1].provider_id, "SM0123456789abcdef0123456789abcdef#1");

    let location = form(&base(&[
        ("MessageType", "location"),
        ("Latitude", "-34.6037"),
        ("Longitude", "-58.3816"),
        ("Label", "Obelisco"),
        ("NumMedia", "0"),
    ]));
    assert!(matches!(messages(&location)[0].content,
        Content::Location { ref name, .. } if name.as_deref() == Some("Obelisco")));

    let button = form(&base(&[
        ("MessageType", "button"),
        ("ButtonText", "Confirmar"),
        ("ButtonPayload", "OK"),
        ("Body", "Confirmar"),
    ]));
    assert!(matches!(messages(&button)[0].content,
        Content::Choice { ref id, .. } if id.as_deref() == Some("OK")));

    let unknown = form(&base(&[("MessageType", "contacts"), ("NumMedia", "0")]));
    assert_eq!(messages(&unknown)[0].content.kind(), "unsupported");
}

#[test]
fn status_callbacks_route_on_the_sender_and_carry_errors() {
    let body = form(&[
        ("MessageSid", "SMout"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "63016"),
        ("From", "whatsapp:+14155238886"),
        ("To", "whatsapp:+5491155556666"),
        ("AccountSid", "AC1"),
    ]);
    let batch = Channel::Twilio.parse_webhook(&body).unwrap();
    match &batch.events[..] {
        [Inbound::Status(update)] => {
            assert_eq!(update.account, "14155238886");
            assert_eq!(update.provider_id, "SMout");
            assert_eq!(update.status, Delivery::Failed);
            assert_eq!(update.error.as_ref().unwrap().code, "63016");
            assert_eq!(update.customer.as_deref(), Some("5491155556666"));
        }
        other => panic!("{other:?}"),
    }
    for (status, expected) in [
        ("sent", Delivery::Sent),
        ("delivered", Delivery::Delivered),
        ("read", Delivery::Read),
    ] {
        let body = form(&[
            ("MessageSid", "SMout"),
            ("MessageStatus", status),
            ("From", "whatsapp:+14155238886"),
            ("To", "whatsapp:+5491155556666"),
        ]);
        let events = Channel::Twilio.parse_webhook(&body).unwrap().events;
        assert!(matches!(&events[..], [Inbound::Status(u)] if u.status == expected));
    }
    let queued = form(&[
        ("MessageSid", "SMout"),
        ("MessageStatus", "queued"),
        ("From", "whatsapp:+14155238886"),
    ]);
    assert!(Channel::Twilio
        .parse_webhook(&queued)
        .unwrap()
        .events
        .is_empty());
}
