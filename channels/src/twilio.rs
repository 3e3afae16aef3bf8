//! Twilio's WhatsApp webhooks: form-encoded incoming messages (routed on `To`, the connected
//! sender) and status callbacks (routed on `From`). Numbers become digits without `+`.

use crate::inbound::*;
use crate::ParseError;

/// The form's name/value pairs, in the order sent (needed for the signature check).
pub fn form_params(body: &[u8]) -> Result<Vec<(String, String)>, ParseError> {
    serde_urlencoded::from_bytes(body).map_err(|e| ParseError::Form(e.to_string()))
}

/// `whatsapp:+14155238886` → `14155238886`.
pub fn number(address: &str) -> String {
    let address = address.strip_prefix("whatsapp:").unwrap_or(address);
    address.chars().filter(char::is_ascii_digit).collect()
}

struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn is_status_callback(&self) -> bool {
        self.get("MessageStatus")
            .is_some_and(|status| status != "received")
    }

    fn account(&self) -> Option<String> {
        let field = if self.is_status_callback() {
            "From"
        } else {
            "To"
        };
        self.get(field).map(number).filter(|n| !n.is_empty())
    }
}

pub(crate) fn accounts(body: &[u8]) -> Result<Vec<String>, ParseError> {
    Ok(Form(form_params(body)?).account().into_iter().collect())
}

pub fn parse(body: &[u8]) -> Result<Batch, ParseError> {
    let form = Form(form_params(body)?);
    let mut batch = Batch::default();
    let Some(account) = form.account() else {
        batch
            .notices
            .push("request without the business number".into());
        return Ok(batch);
    };
    let Some(sid) = form.get("MessageSid").or(form.get("SmsSid")) else {
        batch.notices.push("request without a MessageSid".into());
        return Ok(batch);
    };
    if form.is_status_callback() {
        status(&form, account, sid, &mut batch);
    } else {
        message(&form, account, sid, &mut batch);
    }
    Ok(batch)
}

fn status(form: &Form, account: String, sid: &str, batch: &mut Batch) {
    let status = match form.get("MessageStatus").unwrap_or_default() {
        "sent" => Delivery::Sent,
        "delivered" => Delivery::Delivered,
        "read" => Delivery::Read,
        "failed" | "undelivered" => Delivery::Failed,
        // queued, accepted, sending: nothing the agent needs beyond "pending".
        _ => return,
    };
    let error = form.get("ErrorCode").map(|code| ProviderError {
        code: code.to_string(),
        reason: form
            .get("ErrorMessage")
            .unwrap_or("The message could not be delivered")
            .to_string(),
    });
    batch.events.push(Inbound::Status(StatusUpdate {
        account,
        provider_id: sid.to_string(),
        customer: form.get("To").map(number),
        status,
        // Twilio's callbacks carry no event time; ingest uses its own clock.
        at_ms: 0,
        error,
        pricing_category: None,
        reference: None,
    }));
}

fn message(form: &Form, account: String, sid: &str, batch: &mut Batch) {
    let Some(from) = form
        .get("WaId")
        .map(str::to_string)
        .or(form.get("From").map(number))
    else {
        batch
            .notices
            .push(format!("message {sid} without a sender"));
        return;
    };
    let customer = Customer {
        key: from.clone(),
        name: form.get("ProfileName").map(str::to_string),
        username: None,
        phone: Some(from),
    };
    let body = form.get("Body").map(str::to_string);
    let media_count: usize = form
        .get("NumMedia")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
        .min(10);
    let mut contents = Vec::new();
    for index in 0..media_count {
        let Some(url) = form.get(&format!("MediaUrl{index}")) else {
            continue;
        };
        let mime = form
            .get(&format!("MediaContentType{index}"))
            .unwrap_or("application/octet-stream");
        contents.push(Content::Media(Media {
            kind: media_kind(mime),
            media_id: None,
            url: Some(url.to_string()),
            mime_type: Some(mime.to_string()),
            sha256: None,
            file_name: None,
            caption: if index == 0 { body.clone() } else { None },
        }));
    }
    if contents.is_empty() {
        contents.push(non_media_content(form, body));
    }
    let forwarded =
        form.get("Forwarded") == Some("true") || form.get("FrequentlyForwarded") == Some("true");
    for (index, content) in contents.into_iter().enumerate() {
        batch.events.push(Inbound::Message(Message {
            account: account.clone(),
            customer: customer.clone(),
            provider_id: if index == 0 {
                sid.to_string()
            } else {
                format!("{sid}#{index}")
            },
            outgoing: false,
            sent_from: None,
            at_ms: 0,
            content,
            reply_to: if index == 0 {
                form.get("OriginalRepliedMessageSid").map(str::to_string)
            } else {
                None
            },
            story: None,
            forwarded,
            history_status: None,
            echo_metadata: None,
            referral: form.get("ReferralCtwaClid").is_some()
                || form.get("ReferralSourceUrl").is_some(),
        }));
    }
}

fn non_media_content(form: &Form, body: Option<String>) -> Content {
    if let (Some(lat), Some(long)) = (form.get("Latitude"), form.get("Longitude")) {
        if let (Ok(latitude), Ok(longitude)) = (lat.parse::<f64>(), long.parse::<f64>()) {
            return Content::Location {
                latitude,
                longitude,
                name: form.get("Label").map(str::to_string),
                address: form.get("Address").map(str::to_string),
                url: None,
            };
        }
    }
    if let Some(title) = form.get("ButtonText") {
        return Content::Choice {
            choice: ChoiceKind::Button,
            id: form.get("ButtonPayload").map(str::to_string),
            title: title.to_string(),
            description: None,
        };
    }
    match (form.get("MessageType"), body) {
        (Some("text") | None, Some(body)) => Content::Text { body },
        (Some(kind), text) if kind != "text" => Content::Unsupported {
            what: kind.to_string(),
            text,
        },
        (_, text) => Content::Unsupported {
            what: "empty".into(),
            text,
        },
    }
}

fn media_kind(mime: &str) -> MediaKind {
    let essence = mime.split(';').next().unwrap_or(mime).trim();
    crate::files::kind_of(essence)
}
