//! The providers' HTTP APIs: WhatsApp Cloud API and the Messenger Platform through the Graph
//! API, and Twilio's Messages API. Base URLs are configurable, so the same calls reach Meta,
//! Twilio or the local sandbox.

use std::time::Duration;

use reqwest::multipart::{Form, Part};
use reqwest::{RequestBuilder, Response};
use serde_json::{json, Value};

use crate::media_fetch::MediaFetch;
use crate::outbound::*;
use crate::{Channel, MediaKind};

/// Meta's Graph API, at the version Buzón speaks.
pub const META_GRAPH_URL: &str = "https://graph.facebook.com/v25.0";
pub const TWILIO_API_URL: &str = "https://api.twilio.com";
/// Twilio's Content API, where its WhatsApp templates live.
pub const TWILIO_CONTENT_URL: &str = "https://content.twilio.com";
/// The largest file any channel accepts (WhatsApp documents).
pub const MAX_DOWNLOAD: usize = 100 * 1024 * 1024;

/// What calling the provider on behalf of one account takes.
#[derive(Clone)]
pub struct Access {
    pub channel: Channel,
    /// Phone-number id, Page id, Instagram id, or the Twilio sender number.
    pub external_id: String,
    pub access_token: String,
    /// The WhatsApp Business Account id (templates live there).
    pub business_id: Option<String>,
    pub twilio_account_sid: Option<String>,
    pub twilio_auth_token: String,
    /// Where Twilio should post status callbacks for this sender.
    pub status_callback: Option<String>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("channel", &self.channel)
            .field("external_id", &self.external_id)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
pub struct Api {
    http: reqwest::Client,
    /// Received files, fetched from the providers' hosts only.
    media: MediaFetch,
    timeout: Duration,
    graph: String,
    twilio: String,
    twilio_content: String,
}

impl Api {
    pub fn new(graph_url: &str, twilio_url: &str, content_url: &str, timeout: Duration) -> Api {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("Buzon/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds");
        Api {
            http,
            media: MediaFetch::new(graph_url, twilio_url, timeout),
            timeout,
            graph: graph_url.trim_end_matches('/').to_string(),
            twilio: twilio_url.trim_end_matches('/').to_string(),
            twilio_content: content_url.trim_end_matches('/').to_string(),
        }
    }

    /// Development only: received files may also come from these origins (the sandbox's),
    /// over http and at private addresses.
    pub fn allow_insecure_media_origins(mut self, origins: &[String]) -> Result<Api, String> {
        self.media = self.media.allow_insecure_origins(origins, self.timeout)?;
        Ok(self)
    }

    /// Delivers one message; the provider's id for it on success.
    pub async fn send(&self, access: &Access, send: &Send) -> Result<Sent, CallError> {
        match access.channel {
            Channel::Whatsapp => {
                let url = format!("{}/{}/messages", self.graph, access.external_id);
                let body = whatsapp_body(send);
                let answer =
                    graph_call(self.bearer(self.http.post(url), access).json(&body)).await?;
                let recipient = answer
                    .pointer("/contacts/0/wa_id")
                    .and_then(Value::as_str)
                    .filter(|wa_id| *wa_id != send.to)
                    .map(str::to_string);
                answer
                    .pointer("/messages/0/id")
                    .and_then(Value::as_str)
                    .map(|id| Sent {
                        provider_id: id.to_string(),
                        recipient,
                    })
                    .ok_or_else(|| unknown("the answer has no message id"))
            }
            Channel::Messenger | Channel::Instagram => {
                let url = format!("{}/{}/messages", self.graph, access.external_id);
                let body = messenger_body(send);
                let answer =
                    graph_call(self.bearer(self.http.post(url), access).json(&body)).await?;
                answer
                    .get("message_id")
                    .and_then(Value::as_str)
                    .map(|id| Sent {
                        provider_id: id.to_string(),
                        recipient: None,
                    })
                    .ok_or_else(|| unknown("the answer has no message id"))
            }
            Channel::Twilio => {
                let sid = twilio_sid(access)?;
                let url = format!("{}/2010-04-01/Accounts/{sid}/Messages.json", self.twilio);
                let mut form = vec![
                    ("To".to_string(), format!("whatsapp:+{}", send.to)),
                    (
                        "From".to_string(),
                        format!("whatsapp:+{}", access.external_id),
                    ),
                ];
                if let Some(callback) = &access.status_callback {
                    form.push(("StatusCallback".into(), callback.clone()));
                }
                match &send.content {
                    Outbound::Text { body } => form.push(("Body".into(), body.clone())),
                    Outbound::Media { link, caption, .. } => {
                        let link = link.clone().ok_or_else(|| CallError::Permanent {
                            code: "media_link".into(),
                            reason: "Twilio fetches media from a public link".into(),
                        })?;
                        form.push(("MediaUrl".into(), link));
                        if let Some(caption) = caption {
                            form.push(("Body".into(), caption.clone()));
                        }
                    }
                    Outbound::Template {
                        name,
                        body_params,
                        provider_id,
                        ..
                    } => {
                        let content_sid = provider_id.clone().ok_or_else(|| CallError::Permanent {
                            code: "template".into(),
                            reason: format!("the template {name} has no Twilio content SID; sync the templates again"),
                        })?;
                        let variables: serde_json::Map<String, Value> = body_params
                            .iter()
                            .enumerate()
                            .map(|(i, v)| ((i + 1).to_string(), json!(v)))
                            .collect();
                        form.push(("ContentSid".into(), content_sid));
                        form.push((
                            "ContentVariables".into(),
                            Value::Object(variables).to_string(),
                        ));
                    }
                }
                let request = self
                    .http
                    .post(url)
                    .basic_auth(sid, Some(&access.twilio_auth_token))
                    .form(&form);
                let answer = twilio_call(request).await?;
                answer
                    .get("sid")
                    .and_then(Value::as_str)
                    .map(|id| Sent {
                        provider_id: id.to_string(),
                        recipient: None,
                    })
                    .ok_or_else(|| unknown("the answer has no sid"))
            }
        }
    }

    /// Uploads a file to send it by id afterwards.
    pub async fn upload(
        &self,
        access: &Access,
        kind: MediaKind,
        mime_type: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<String, CallError> {
        let part = Part::bytes(bytes)
            .file_name(file_name.to_string())
            .mime_str(mime_type)
            .map_err(|_| CallError::Permanent {
                code: "mime".into(),
                reason: format!("invalid media type {mime_type}"),
            })?;
        match access.channel {
            Channel::Whatsapp => {
                let url = format!("{}/{}/media", self.graph, access.external_id);
                let form = Form::new()
                    .text("messaging_product", "whatsapp")
                    .text("type", mime_type.to_string())
                    .part("file", part);
                let answer =
                    graph_call(self.bearer(self.http.post(url), access).multipart(form)).await?;
                text_field(&answer, "id")
            }
            Channel::Messenger | Channel::Instagram => {
                let url = format!("{}/{}/message_attachments", self.graph, access.external_id);
                let message = json!({"attachment": {"type": messenger_attachment_type(kind),
                                                    "payload": {"is_reusable": true}}});
                let mut form = Form::new()
                    .text("message", message.to_string())
                    .part("filedata", part);
                if access.channel == Channel::Instagram {
                    form = form.text("platform", "instagram");
                }
                let answer =
                    graph_call(self.bearer(self.http.post(url), access).multipart(form)).await?;
                text_field(&answer, "attachment_id")
            }
            Channel::Twilio => Err(CallError::Permanent {
                code: "media_link".into(),
                reason: "Twilio fetches media from a public link".into(),
            }),
        }
    }

    /// Downloads received media: by WhatsApp media id, or from the link the webhook carried.
    pub async fn download(
        &self,
        access: &Access,
        media_id: Option<&str>,
        url: Option<&str>,
    ) -> Result<Download, CallError> {
        let link = match (access.channel, media_id, url) {
            (Channel::Whatsapp, Some(media_id), _) => {
                let info = graph_call(
                    self.bearer(self.http.get(format!("{}/{media_id}", self.graph)), access),
                )
                .await?;
                text_field(&info, "url")?
            }
            (_, _, Some(url)) => url.to_string(),
            _ => {
                return Err(CallError::Permanent {
                    code: "no_media".into(),
                    reason: "the message names no media to download".into(),
                })
            }
        };
        let mut response = self.media.get(access, &link).await?;
        let status = response.status();
        if !status.is_success() {
            let code = status.as_u16().to_string();
            let reason = format!("download answered {status}");
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                CallError::Retry { code, reason }
            } else {
                CallError::Permanent { code, reason }
            });
        }
        let mime_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if bytes.len() + chunk.len() > MAX_DOWNLOAD {
                return Err(CallError::Permanent {
                    code: "too_large".into(),
                    reason: "the file is larger than any channel allows".into(),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Download { bytes, mime_type })
    }

    /// The customer's name (and Instagram username) from the user-profile API.
    pub async fn profile(&self, access: &Access, customer: &str) -> Result<Profile, CallError> {
        let fields = match access.channel {
            Channel::Messenger => "first_name,last_name",
            Channel::Instagram => "name,username",
            _ => return Ok(Profile::default()),
        };
        let url = format!("{}/{customer}?fields={fields}", self.graph);
        let answer = graph_call(self.bearer(self.http.get(url), access)).await?;
        let text = |key: &str| {
            answer
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let name = match access.channel {
            Channel::Messenger => {
                let parts: Vec<String> = [text("first_name"), text("last_name")]
                    .into_iter()
                    .flatten()
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            }
            _ => text("name"),
        };
        Ok(Profile {
            name,
            username: text("username"),
        })
    }

    /// The account's WhatsApp templates, whatever their status (approved, pending, rejected,
    /// paused, disabled), with their quality and a rejection's reason.
    pub async fn templates(&self, access: &Access) -> Result<Vec<Template>, CallError> {
        if access.channel == Channel::Twilio {
            return self.twilio_templates(access).await;
        }
        let Some(business_id) = access.business_id.as_deref() else {
            return Ok(Vec::new());
        };
        let mut url = format!(
            "{}/{business_id}/message_templates?fields=name,language,category,status,components,quality_score,rejected_reason&limit=100",
            self.graph
        );
        let mut templates = Vec::new();
        // Follow the pages, with a bound in case a provider keeps answering "next".
        for _ in 0..50 {
            let answer = graph_call(self.bearer(self.http.get(&url), access)).await?;
            for item in answer
                .get("data")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let text = |key: &str| {
                    item.get(key)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let some = |text: String| Some(text).filter(|t| !t.is_empty() && t != "NONE");
                templates.push(Template {
                    name: text("name"),
                    language: text("language"),
                    category: text("category"),
                    status: text("status"),
                    components: item.get("components").cloned().unwrap_or(Value::Null),
                    provider_id: None,
                    quality: item
                        .pointer("/quality_score/score")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    reason: some(text("rejected_reason")),
                });
            }
            // The next page's link carries the token: it is followed only on the Graph API.
            match answer.pointer("/paging/next").and_then(Value::as_str) {
                Some(next) if same_origin(next, &self.graph) => url = next.to_string(),
                _ => break,
            }
        }
        Ok(templates)
    }

    /// Twilio's WhatsApp templates, from its Content API (`ContentAndApprovals`):
    /// sent by their content SID, with the body of their text type.
    async fn twilio_templates(&self, access: &Access) -> Result<Vec<Template>, CallError> {
        let sid = twilio_sid(access)?;
        let mut url = format!(
            "{}/v1/ContentAndApprovals?PageSize=100",
            self.twilio_content
        );
        let mut templates = Vec::new();
        for _ in 0..50 {
            let request = self
                .http
                .get(&url)
                .basic_auth(sid, Some(&access.twilio_auth_token));
            let answer = twilio_call(request).await?;
            for item in answer
                .get("contents")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                // Twilio words WhatsApp's review in lower case (`received`, `pending`,
                // `approved`, `rejected`, `paused`, `disabled`); stored as Meta words it.
                let status = match item
                    .pointer("/approval_requests/status")
                    .and_then(Value::as_str)
                    .unwrap_or("unsubmitted")
                {
                    "received" | "pending" => "PENDING".to_string(),
                    other => other.to_ascii_uppercase(),
                };
                let body = item
                    .get("types")
                    .and_then(Value::as_object)
                    .and_then(|types| types.values().find_map(|t| t.get("body")))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let text = |pointer: &str| {
                    item.pointer(pointer)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                templates.push(Template {
                    name: text("/friendly_name"),
                    language: text("/language"),
                    category: text("/approval_requests/category").to_ascii_uppercase(),
                    status,
                    components: json!([{"type": "BODY", "text": body}]),
                    provider_id: Some(text("/sid")).filter(|sid| !sid.is_empty()),
                    quality: None,
                    reason: Some(text("/approval_requests/rejection_reason"))
                        .filter(|r| !r.is_empty()),
                });
            }
            match answer
                .pointer("/meta/next_page_url")
                .and_then(Value::as_str)
            {
                Some(next) if same_origin(next, &self.twilio_content) => url = next.to_string(),
                _ => break,
            }
        }
        Ok(templates)
    }

    /// Asks WhatsApp to send a Business App number's data (coexistence):
    /// `smb_app_state_sync` (its contacts) or `history` (up to 180 days of chats). The data
    /// arrives later as webhooks; returns the provider's request id.
    pub async fn request_business_app_sync(
        &self,
        access: &Access,
        sync_type: &str,
    ) -> Result<String, CallError> {
        let url = format!("{}/{}/smb_app_data", self.graph, access.external_id);
        let body = json!({"messaging_product": "whatsapp", "sync_type": sync_type});
        let answer = graph_call(self.bearer(self.http.post(url), access).json(&body)).await?;
        text_field(&answer, "request_id")
    }

    /// Checks the credentials by reading the account; returns the provider's name for it.
    pub async fn check(&self, access: &Access) -> Result<String, CallError> {
        let (url, key) = match access.channel {
            Channel::Whatsapp => (
                format!(
                    "{}/{}?fields=display_phone_number,verified_name",
                    self.graph, access.external_id
                ),
                "verified_name",
            ),
            Channel::Messenger => (
                format!("{}/{}?fields=name", self.graph, access.external_id),
                "name",
            ),
            Channel::Instagram => (
                format!("{}/{}?fields=username", self.graph, access.external_id),
                "username",
            ),
            Channel::Twilio => {
                let sid = twilio_sid(access)?;
                let url = format!("{}/2010-04-01/Accounts/{sid}.json", self.twilio);
                let request = self
                    .http
                    .get(url)
                    .basic_auth(sid, Some(&access.twilio_auth_token));
                let answer = twilio_call(request).await?;
                return text_field(&answer, "friendly_name");
            }
        };
        let answer = graph_call(self.bearer(self.http.get(url), access)).await?;
        text_field(&answer, key)
    }

    fn bearer(&self, request: RequestBuilder, access: &Access) -> RequestBuilder {
        request.bearer_auth(&access.access_token)
    }
}

fn twilio_sid(access: &Access) -> Result<&str, CallError> {
    access
        .twilio_account_sid
        .as_deref()
        .ok_or_else(|| CallError::Permanent {
            code: "account_sid".into(),
            reason: "the Twilio account SID is missing".into(),
        })
}

fn unknown(reason: &str) -> CallError {
    CallError::Unknown {
        reason: reason.to_string(),
    }
}

fn text_field(answer: &Value, key: &str) -> Result<String, CallError> {
    answer
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| unknown(&format!("the answer has no {key}")))
}

/// A request that failed before an answer: refused connections never reached the provider.
/// The reason never names the URL, whose query may carry a token (Graph's paging links do).
fn transport(err: reqwest::Error) -> CallError {
    let connect = err.is_connect();
    let err = err.without_url();
    let mut reason = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    if connect {
        CallError::Retry {
            code: "connect".into(),
            reason,
        }
    } else {
        CallError::Unknown { reason }
    }
}

/// Whether `link` has the scheme, host and port of `base`.
fn same_origin(link: &str, base: &str) -> bool {
    match (reqwest::Url::parse(link), reqwest::Url::parse(base)) {
        (Ok(link), Ok(base)) => link.origin() == base.origin(),
        _ => false,
    }
}

async fn read_json(response: Response) -> Result<(u16, Value), CallError> {
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(transport)?;
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok((status, value))
}

/// A Graph API call: the JSON answer, or the error classified by its code.
async fn graph_call(request: RequestBuilder) -> Result<Value, CallError> {
    let response = request.send().await.map_err(transport)?;
    let (status, value) = read_json(response).await?;
    if (200..300).contains(&status) {
        return Ok(value);
    }
    let error = value.get("error");
    let code = error
        .and_then(|e| e.get("code"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let reason = error
        .and_then(|e| {
            e.pointer("/error_data/details")
                .or_else(|| e.get("message"))
        })
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("the provider answered {status}"));
    let code_text = if code == 0 {
        status.to_string()
    } else {
        code.to_string()
    };
    Err(if meta_error_is_temporary(status, code) {
        CallError::Retry {
            code: code_text,
            reason,
        }
    } else {
        CallError::Permanent {
            code: code_text,
            reason,
        }
    })
}

async fn twilio_call(request: RequestBuilder) -> Result<Value, CallError> {
    let response = request.send().await.map_err(transport)?;
    let (status, value) = read_json(response).await?;
    if (200..300).contains(&status) {
        return Ok(value);
    }
    let code = value
        .get("code")
        .map(|c| c.to_string())
        .unwrap_or_else(|| status.to_string());
    let reason = value
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("Twilio refused the request")
        .to_string();
    Err(if status == 429 || status >= 500 {
        CallError::Retry { code, reason }
    } else {
        CallError::Permanent { code, reason }
    })
}

/// The Cloud API body of a send.
pub fn whatsapp_body(send: &Send) -> Value {
    let mut body = json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                          "biz_opaque_callback_data": send.reference});
    // A phone number goes in `to`; a business-scoped user id (username users) in `recipient`.
    if send.to.bytes().all(|b| b.is_ascii_digit()) {
        body["to"] = json!(send.to);
    } else {
        body["recipient"] = json!(send.to);
    }
    if let Some(reply_to) = &send.reply_to {
        body["context"] = json!({"message_id": reply_to});
    }
    match &send.content {
        Outbound::Text { body: text } => {
            body["type"] = json!("text");
            body["text"] = json!({"preview_url": false, "body": text});
        }
        Outbound::Media {
            kind,
            media_id,
            link,
            caption,
            file_name,
        } => {
            let captioned = crate::outbound::carries_caption(Channel::Whatsapp, *kind);
            let kind = match kind {
                MediaKind::Voice => "audio",
                MediaKind::Gif => "video",
                other => other.as_str(),
            };
            let mut media = serde_json::Map::new();
            if let Some(id) = media_id {
                media.insert("id".into(), json!(id));
            } else if let Some(link) = link {
                media.insert("link".into(), json!(link));
            }
            if let Some(caption) = caption.as_ref().filter(|_| captioned) {
                media.insert("caption".into(), json!(caption));
            }
            if let Some(name) = file_name.as_ref().filter(|_| kind == "document") {
                media.insert("filename".into(), json!(name));
            }
            body["type"] = json!(kind);
            body[kind] = Value::Object(media);
        }
        Outbound::Template {
            name,
            language,
            body_params,
            ..
        } => {
            let mut template =
                json!({"name": name, "language": {"code": language, "policy": "deterministic"}});
            if !body_params.is_empty() {
                let parameters: Vec<Value> = body_params
                    .iter()
                    .map(|p| json!({"type": "text", "text": p}))
                    .collect();
                template["components"] = json!([{"type": "body", "parameters": parameters}]);
            }
            body["type"] = json!("template");
            body["template"] = template;
        }
    }
    body
}

fn messenger_attachment_type(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image | MediaKind::Gif | MediaKind::Sticker => "image",
        MediaKind::Video => "video",
        MediaKind::Audio | MediaKind::Voice => "audio",
        MediaKind::Document => "file",
    }
}

/// The Send API body (Messenger and Instagram).
pub fn messenger_body(send: &Send) -> Value {
    let mut message = match &send.content {
        Outbound::Text { body } => json!({"text": body}),
        Outbound::Media {
            kind,
            media_id,
            link,
            ..
        } => {
            let payload = match (media_id, link) {
                (Some(id), _) => json!({"attachment_id": id}),
                (None, link) => json!({"url": link, "is_reusable": true}),
            };
            json!({"attachment": {"type": messenger_attachment_type(*kind), "payload": payload}})
        }
        Outbound::Template { name, .. } => json!({"text": name}),
    };
    message["metadata"] = json!(send.reference);
    if let Some(reply_to) = &send.reply_to {
        message["reply_to"] = json!({"mid": reply_to});
    }
    let mut body = json!({"recipient": {"id": send.to}, "message": message});
    if send.human_agent {
        body["messaging_type"] = json!("MESSAGE_TAG");
        body["tag"] = json!("HUMAN_AGENT");
    } else {
        body["messaging_type"] = json!("RESPONSE");
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(content: Outbound) -> Send {
        Send {
            to: "5215512345678".into(),
            reply_to: None,
            content,
            human_agent: false,
            reference: "buzon:7".into(),
        }
    }

    #[test]
    fn whatsapp_text_reply_and_template_bodies() {
        let mut text = send(Outbound::Text {
            body: "Hola".into(),
        });
        text.reply_to = Some("wamid.X".into());
        assert_eq!(
            whatsapp_body(&text),
            json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                   "biz_opaque_callback_data": "buzon:7", "to": "5215512345678",
                   "context": {"message_id": "wamid.X"}, "type": "text",
                   "text": {"preview_url": false, "body": "Hola"}})
        );
        let template = whatsapp_body(&send(Outbound::Template {
            name: "order_update".into(),
            language: "es_MX".into(),
            body_params: vec!["Ana".into()],
            provider_id: None,
        }));
        assert_eq!(
            template["template"]["components"][0]["parameters"][0]["text"],
            "Ana"
        );
        assert_eq!(template["template"]["language"]["code"], "es_MX");
        let username = Send {
            to: "US.1349".into(),
            ..send(Outbound::Text { body: "x".into() })
        };
        assert_eq!(whatsapp_body(&username)["recipient"], "US.1349");
    }

    #[test]
    fn whatsapp_media_bodies_name_the_uploaded_file() {
        let document = whatsapp_body(&send(Outbound::Media {
            kind: MediaKind::Document,
            media_id: Some("77".into()),
            link: None,
            caption: Some("Cotización".into()),
            file_name: Some("cotizacion.pdf".into()),
        }));
        assert_eq!(document["type"], "document");
        assert_eq!(
            document["document"],
            json!({"id": "77", "caption": "Cotización", "filename": "cotizacion.pdf"})
        );
        let voice = whatsapp_body(&send(Outbound::Media {
            kind: MediaKind::Voice,
            media_id: Some("78".into()),
            link: None,
            caption: Some("ignored".into()),
            file_name: None,
        }));
        assert_eq!(voice["audio"], json!({"id": "78"}));
    }

    #[test]
    fn messenger_bodies_tag_human_agent_replies_and_carry_the_reference() {
        let mut late = send(Outbound::Text {
            body: "Seguimos".into(),
        });
        late.human_agent = true;
        let body = messenger_body(&late);
        assert_eq!(body["messaging_type"], "MESSAGE_TAG");
        assert_eq!(body["tag"], "HUMAN_AGENT");
        assert_eq!(body["message"]["metadata"], "buzon:7");
        let inside = messenger_body(&send(Outbound::Text {
            body: "Hola".into(),
        }));
        assert_eq!(inside["messaging_type"], "RESPONSE");
        assert!(inside.get("tag").is_none());
        let image = messenger_body(&send(Outbound::Media {
            kind: MediaKind::Image,
            media_id: Some("att1".into()),
            link: None,
            caption: None,
            file_name: None,
        }));
        assert_eq!(
            image["message"]["attachment"],
            json!({"type": "image", "payload": {"attachment_id": "att1"}})
        );
    }

    #[tokio::test]
    async fn a_failed_call_never_names_its_url_or_token() {
        let url = "http://127.0.0.1:9/v25.0/1/message_templates?access_token=EAAGsecret";
        let err = reqwest::Client::new().get(url).send().await.unwrap_err();
        let (CallError::Retry { reason, .. } | CallError::Unknown { reason }) = transport(err)
        else {
            panic!("a transport error")
        };
        assert!(
            !reason.contains("EAAGsecret") && !reason.contains("message_templates"),
            "{reason}"
        );
    }

    #[test]
    fn paging_links_are_followed_on_the_provider_only() {
        let graph = "https://graph.facebook.com/v25.0";
        assert!(same_origin(
            "https://graph.facebook.com/v25.0/1/t?after=x&access_token=y",
            graph
        ));
        assert!(!same_origin(
            "https://evil.example/v25.0/1/t?access_token=y",
            graph
        ));
        assert!(!same_origin("http://graph.facebook.com/v25.0/1/t", graph));
        assert!(!same_origin("not a link", graph));
    }
}
