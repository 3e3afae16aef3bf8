//! The business's side: the parts of Meta's Graph API (WhatsApp Cloud API, Messenger and
//! Instagram Send API, media, templates, profiles) and of Twilio's Messages API that Buzón
//! calls, answering with the providers' shapes, errors and limits.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::{json, Value};

use crate::deliver;
use crate::statuses::{self, Accepted};
use crate::world::{
    now_ms, Channel, Fault, Logged, Shared, StoredMedia, CUSTOMER_WINDOW_MS, HUMAN_AGENT_WINDOW_MS,
    IG_ID, IG_USERNAME, PAGE_ID, PAGE_NAME, TWILIO_NUMBER, WABA_ID,
};

fn graph_error(status: StatusCode, code: i64, message: &str, details: Option<&str>) -> Response {
    let mut error = json!({"message": format!("(#{code}) {message}"), "type": "OAuthException",
                           "code": code, "fbtrace_id": "AsandboxTRACE"});
    if let Some(details) = details {
        error["error_data"] = json!({"messaging_product": "whatsapp", "details": details});
    }
    (status, Json(json!({"error": error}))).into_response()
}

fn authorized(world: &Shared, headers: &HeaderMap) -> bool {
    let expected = format!("Bearer {}", world.lock().unwrap().settings.access_token);
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected)
}

fn unauthorized() -> Response {
    graph_error(
        StatusCode::UNAUTHORIZED,
        190,
        "Error validating access token: The access token is invalid.",
        None,
    )
}

/// What an injected fault does before (or instead of) accepting a send.
enum Before {
    Proceed { hang_after: bool },
    Refuse(Response),
}

async fn before_send(world: &Shared, account: &str) -> Before {
    let (fault, hang) = {
        let mut w = world.lock().unwrap();
        w.send_attempts += 1;
        let hanging = w.behaviour.hanging.iter().any(|a| a == account);
        let fault = if hanging {
            Some(Fault::TimeoutBeforeAccept)
        } else {
            w.take_fault()
        };
        (fault, w.behaviour.hang_ms)
    };
    match fault {
        None => Before::Proceed { hang_after: false },
        Some(Fault::ServerError) => Before::Refuse(graph_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            131000,
            "Something went wrong",
            Some("Internal error, please retry."),
        )),
        Some(Fault::TimeoutBeforeAccept) => {
            tokio::time::sleep(Duration::from_millis(hang)).await;
            Before::Refuse(graph_error(
                StatusCode::SERVICE_UNAVAILABLE,
                131016,
                "Service unavailable",
                None,
            ))
        }
        Some(Fault::TimeoutAfterAccept) => Before::Proceed { hang_after: true },
    }
}

async fn hang(world: &Shared) {
    let ms = world.lock().unwrap().behaviour.hang_ms;
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// `POST /{version}/{id}/messages`: WhatsApp lines, the Page and the Instagram account.
pub async fn messages(
    State(world): State<Shared>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorized(&world, &headers) {
        return unauthorized();
    }
    let is_line = world.lock().unwrap().line(&id).is_some();
    if is_line {
        whatsapp_send(world, id, body).await
    } else if id == PAGE_ID {
        messenger_send(world, Channel::Messenger, id, body).await
    } else if id == IG_ID {
        messenger_send(world, Channel::Instagram, id, body).await
    } else {
        graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Unsupported post request. Object does not exist.",
            None,
        )
    }
}

async fn whatsapp_send(world: Shared, line: String, body: Value) -> Response {
    let hang_after = match before_send(&world, &line).await {
        Before::Refuse(response) => return response,
        Before::Proceed { hang_after } => hang_after,
    };
    if body["messaging_product"] != "whatsapp" {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Invalid parameter",
            Some("messaging_product must be whatsapp"),
        );
    }
    let Some(to) = body["to"]
        .as_str()
        .or(body["recipient"].as_str())
        .map(whatsapp_user)
    else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            131008,
            "Required parameter is missing",
            Some("to is required"),
        );
    };
    let kind = body["type"].as_str().unwrap_or("text").to_string();
    let mut category = "service".to_string();
    match kind.as_str() {
        "text" => {
            if body["text"]["body"].as_str().is_none_or(str::is_empty) {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    131008,
                    "Required parameter is missing",
                    Some("text.body is required"),
                );
            }
        }
        "image" | "video" | "audio" | "document" | "sticker" => {
            let part = &body[kind.as_str()];
            if let Some(media_id) = part["id"].as_str() {
                if !world.lock().unwrap().media.contains_key(media_id) {
                    return graph_error(
                        StatusCode::BAD_REQUEST,
                        131053,
                        "Media upload error",
                        Some("Unknown media id"),
                    );
                }
            } else if part["link"].as_str().is_none() {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    131008,
                    "Required parameter is missing",
                    Some("media id or link is required"),
                );
            }
        }
        "template" => {
            let name = body["template"]["name"].as_str().unwrap_or_default();
            let language = body["template"]["language"]["code"]
                .as_str()
                .unwrap_or_default();
            let template = world.lock().unwrap().template(name, language).cloned();
            let Some(template) = template.filter(|t| t["status"] == "APPROVED") else {
                return graph_error(
                    StatusCode::NOT_FOUND,
                    132001,
                    "Template name does not exist in the translation",
                    Some(&format!(
                        "template name ({name}) does not exist in {language}"
                    )),
                );
            };
            let expected = template["components"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == "BODY"))
                .and_then(|b| b["text"].as_str())
                .map(|t| t.matches("{{").count())
                .unwrap_or(0);
            let given = body["template"]["components"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == "body"))
                .and_then(|b| b["parameters"].as_array())
                .map(Vec::len)
                .unwrap_or(0);
            if expected != given {
                return graph_error(StatusCode::BAD_REQUEST, 132000, "Number of parameters does not match the expected number of params", Some(&format!("body: number of localizable_params ({given}) does not match the expected number of params ({expected})")));
            }
            category = template["category"]
                .as_str()
                .unwrap_or("utility")
                .to_ascii_lowercase();
        }
        "reaction" => {}
        other => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                131051,
                "Unsupported message type",
                Some(&format!("type {other} is not supported")),
            )
        }
    }
    let (id, inside_window) = {
        let mut w = world.lock().unwrap();
        if !w.within_rate(&line) {
            drop(w);
            return graph_error(
                StatusCode::BAD_REQUEST,
                130429,
                "Rate limit hit",
                Some("Cloud API message throughput has been reached."),
            );
        }
        let id = w.wamid();
        let inside = w
            .last_incoming
            .get(&(line.clone(), to.clone()))
            .is_some_and(|at| now_ms() - at < CUSTOMER_WINDOW_MS);
        let text = body["text"]["body"]
            .as_str()
            .map(str::to_string)
            .or_else(|| body[kind.as_str()]["caption"].as_str().map(str::to_string))
            .or_else(|| {
                body["template"]["name"]
                    .as_str()
                    .map(|n| format!("[plantilla {n}]"))
            });
        w.record(Logged {
            id: id.clone(),
            channel: Channel::Whatsapp,
            account: line.clone(),
            customer: to.clone(),
            from: "business",
            kind: kind.clone(),
            text,
            request: Some(body.clone()),
            at: now_ms(),
            status: Some("accepted".into()),
            reference: body["biz_opaque_callback_data"]
                .as_str()
                .map(str::to_string),
            callback: None,
        });
        (id, inside)
    };
    let accepted = Accepted {
        channel: Channel::Whatsapp,
        account: line,
        customer: to.clone(),
        id: id.clone(),
        reference: body["biz_opaque_callback_data"]
            .as_str()
            .map(str::to_string),
        category,
        status_callback: None,
    };
    if kind != "template" && !inside_window {
        // Meta accepts it, then reports the failure asynchronously.
        let world = world.clone();
        let failed = accepted.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            statuses::report_failure(&world, &failed, 131047, "Re-engagement message",
                "Message failed to send because more than 24 hours have passed since the customer last replied to this number.").await;
        });
    } else {
        statuses::follow_up(world.clone(), accepted);
    }
    if hang_after {
        hang(&world).await;
    }
    let mut answer = json!({"messaging_product": "whatsapp",
        "contacts": [{"input": body["to"].as_str().unwrap_or(&to), "wa_id": to}],
        "messages": [{"id": id}]});
    if kind == "template" {
        answer["messages"][0]["message_status"] = json!("accepted");
    }
    Json(answer).into_response()
}

/// The WhatsApp user a send's `to` names, as WhatsApp answers it in `contacts[].wa_id`: the
/// number's digits, and for a Mexican mobile written `52` and ten digits, the `521…` id its
/// user has (and writes from).
pub fn whatsapp_user(to: &str) -> String {
    // A username (business-scoped user id) is kept as it is.
    if to.chars().any(char::is_alphabetic) {
        return to.to_string();
    }
    let digits: String = to.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix("52") {
        Some(rest) if rest.len() == 10 => format!("521{rest}"),
        _ => digits,
    }
}

async fn messenger_send(world: Shared, channel: Channel, account: String, body: Value) -> Response {
    let hang_after = match before_send(&world, &account).await {
        Before::Refuse(response) => return response,
        Before::Proceed { hang_after } => hang_after,
    };
    let Some(to) = body["recipient"]["id"].as_str().map(str::to_string) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "The parameter recipient is required",
            None,
        );
    };
    let last = world
        .lock()
        .unwrap()
        .last_incoming
        .get(&(account.clone(), to.clone()))
        .copied();
    let Some(last) = last else {
        return graph_error(StatusCode::BAD_REQUEST, 100, "No matching user found", None);
    };
    let age = now_ms() - last;
    let tagged = body["messaging_type"] == "MESSAGE_TAG" && body["tag"] == "HUMAN_AGENT";
    if age >= HUMAN_AGENT_WINDOW_MS || (age >= CUSTOMER_WINDOW_MS && !tagged) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {
            "message": "(#10) This message is sent outside of allowed window.",
            "type": "OAuthException", "code": 10, "error_subcode": 2_018_278,
            "fbtrace_id": "AsandboxTRACE"}})),
        )
            .into_response();
    }
    let message = &body["message"];
    if message["text"].as_str().is_none() && message["attachment"].is_null() {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "param message must be non-empty",
            None,
        );
    }
    let id = {
        let mut w = world.lock().unwrap();
        let id = w.mid();
        w.record(Logged {
            id: id.clone(),
            channel,
            account: account.clone(),
            customer: to.clone(),
            from: "business",
            kind: if message["text"].is_string() {
                "text".into()
            } else {
                message["attachment"]["type"]
                    .as_str()
                    .unwrap_or("file")
                    .to_string()
            },
            text: message["text"].as_str().map(str::to_string),
            request: Some(body.clone()),
            at: now_ms(),
            status: Some("sent".into()),
            reference: message["metadata"].as_str().map(str::to_string),
            callback: None,
        });
        id
    };
    // The account's own echo of the send. A Page's echo carries the sender's metadata; an
    // Instagram echo carries none and, here, is delivered before the send is answered (the
    // hardest order for the business: a copy it cannot tell from an app's own message).
    let mut echo = message.clone();
    echo["mid"] = json!(id);
    echo["is_echo"] = json!(true);
    echo["app_id"] = json!(1_517_776_481_860_111_u64);
    let object = if channel == Channel::Messenger {
        "page"
    } else {
        echo.as_object_mut().map(|echo| echo.remove("metadata"));
        "instagram"
    };
    let payload = json!({"object": object, "entry": [{"id": account, "time": now_ms(), "messaging": [
        {"sender": {"id": account}, "recipient": {"id": to}, "timestamp": now_ms(), "message": echo}]}]});
    if channel == Channel::Instagram {
        deliver::meta(&world, channel, payload).await;
    } else {
        let world = world.clone();
        tokio::spawn(async move {
            deliver::meta(&world, channel, payload).await;
        });
    }
    statuses::follow_up(
        world.clone(),
        Accepted {
            channel,
            account,
            customer: to.clone(),
            id: id.clone(),
            reference: None,
            category: "service".into(),
            status_callback: None,
        },
    );
    if hang_after {
        hang(&world).await;
    }
    Json(json!({"recipient_id": to, "message_id": id})).into_response()
}

async fn read_upload(
    mut multipart: Multipart,
) -> Result<(Option<StoredMedia>, Vec<(String, String)>), String> {
    let mut file = None;
    let mut fields = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" || name == "filedata" {
            let mime_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_string();
            let bytes = field.bytes().await.map_err(|e| e.to_string())?.to_vec();
            file = Some(StoredMedia { bytes, mime_type });
        } else {
            fields.push((name, field.text().await.map_err(|e| e.to_string())?));
        }
    }
    Ok((file, fields))
}

/// `POST /{version}/{line}/media` (WhatsApp upload).
pub async fn upload_media(
    State(world): State<Shared>,
    Path((_, line)): Path<(String, String)>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    if !authorized(&world, &headers) {
        return unauthorized();
    }
    if world.lock().unwrap().line(&line).is_none() {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Unsupported post request",
            None,
        );
    }
    let (file, fields) = match read_upload(multipart).await {
        Ok(parts) => parts,
        Err(problem) => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                131053,
                "Media upload error",
                Some(&problem),
            )
        }
    };
    let Some(file) = file else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            131008,
            "Required parameter is missing",
            Some("file is required"),
        );
    };
    if !fields
        .iter()
        .any(|(k, v)| k == "messaging_product" && v == "whatsapp")
    {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Invalid parameter",
            Some("messaging_product is required"),
        );
    }
    let mut w = world.lock().unwrap();
    let id = w.media_id();
    w.media.insert(id.clone(), file);
    Json(json!({"id": id})).into_response()
}

/// `POST /{version}/{page}/message_attachments` (Messenger and Instagram upload).
pub async fn upload_attachment(
    State(world): State<Shared>,
    Path((_, _page)): Path<(String, String)>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    if !authorized(&world, &headers) {
        return unauthorized();
    }
    let (file, _) = match read_upload(multipart).await {
        Ok(parts) => parts,
        Err(problem) => return graph_error(StatusCode::BAD_REQUEST, 100, &problem, None),
    };
    let Some(file) = file else {
        return graph_error(StatusCode::BAD_REQUEST, 100, "filedata is required", None);
    };
    let mut w = world.lock().unwrap();
    let id = w.media_id();
    w.media.insert(id.clone(), file);
    Json(json!({"attachment_id": id})).into_response()
}

#[derive(serde::Deserialize)]
pub struct Fields {
    fields: Option<String>,
}

/// `GET /{version}/{id}`: media info, a line, the Page, the Instagram account, a customer.
pub async fn object(
    State(world): State<Shared>,
    Path((_, id)): Path<(String, String)>,
    Query(query): Query<Fields>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&world, &headers) {
        return unauthorized();
    }
    let w = world.lock().unwrap();
    let public = w.settings.public_url.clone();
    if let Some(media) = w.media.get(&id) {
        use sha2::Digest;
        return Json(json!({"messaging_product": "whatsapp",
            "url": format!("{public}/media-download/{id}?ext=1&hash=sandbox"),
            "mime_type": media.mime_type, "sha256": hex::encode(sha2::Sha256::digest(&media.bytes)),
            "file_size": media.bytes.len().to_string(), "id": id}))
        .into_response();
    }
    if let Some(line) = w.line(&id) {
        return Json(json!({"display_phone_number": line.display_phone_number,
            "verified_name": line.verified_name, "id": id, "quality_rating": "GREEN"}))
        .into_response();
    }
    if id == PAGE_ID {
        return Json(json!({"name": PAGE_NAME, "id": id})).into_response();
    }
    if id == IG_ID {
        return Json(json!({"username": IG_USERNAME, "id": id})).into_response();
    }
    let fields = query.fields.unwrap_or_default();
    let customer = w
        .customers
        .iter()
        .find(|c| c.id == id && matches!(c.channel, Channel::Messenger | Channel::Instagram));
    match customer {
        Some(c) if c.channel == Channel::Messenger && fields.contains("first_name") => Json(
            json!({"first_name": c.first_name, "last_name": c.last_name, "id": c.id,
                        "profile_pic": format!("{public}/cdn/avatar")}),
        )
        .into_response(),
        Some(c) if c.channel == Channel::Instagram => Json(json!({"name": c.name(),
            "username": c.username.clone().unwrap_or_else(|| c.first_name.to_lowercase()),
            "id": c.id, "profile_pic": format!("{public}/cdn/avatar"),
            "is_user_follow_business": true}))
        .into_response(),
        _ => graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Unsupported get request. Object does not exist.",
            None,
        ),
    }
}

/// `GET /{version}/{waba}/message_templates`.
pub async fn templates(
    State(world): State<Shared>,
    Path((_, waba)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&world, &headers) {
        return unauthorized();
    }
    if waba != WABA_ID {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Unsupported get request",
            None,
        );
    }
    let data = world.lock().unwrap().templates.clone();
    crate::review::after_sync(&world);
    Json(json!({"data": data, "paging": {"cursors": {"before": "MAZDZD", "after": "MjQZD"}}}))
        .into_response()
}

/// The content SID Twilio gives a template.
pub fn content_sid(template: &Value) -> String {
    format!("HX{:0>32}", template["id"].as_str().unwrap_or_default())
}

/// `GET /v1/ContentAndApprovals` (Twilio's Content API): the same templates as the WhatsApp
/// line's, as Twilio describes them, with their WhatsApp approval.
pub async fn twilio_contents(State(world): State<Shared>, headers: HeaderMap) -> Response {
    let sid = world.lock().unwrap().settings.twilio_account_sid.clone();
    if !twilio_authorized(&world, &headers, &sid) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let templates = world.lock().unwrap().templates.clone();
    let contents: Vec<Value> = templates
        .iter()
        .map(|t| {
            let body = t["components"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == "BODY"))
                .and_then(|c| c["text"].as_str())
                .unwrap_or_default();
            json!({"sid": content_sid(t), "account_sid": sid, "friendly_name": t["name"],
                   "language": t["language"], "types": {"twilio/text": {"body": body}},
                   "approval_requests": {"name": t["name"], "category": t["category"],
                       "status": t["status"].as_str().unwrap_or_default().to_ascii_lowercase(),
                       "rejection_reason": "", "content_type": "twilio/text"}})
        })
        .collect();
    Json(
        json!({"contents": contents, "meta": {"page": 0, "page_size": 100,
        "next_page_url": null, "previous_page_url": null, "key": "contents"}}),
    )
    .into_response()
}

/// The file behind a WhatsApp media URL (needs the token, like Meta's).
pub async fn media_download(
    State(world): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&world, &headers) {
        return unauthorized();
    }
    file(&world, &id)
}

/// A CDN link (Messenger and Instagram attachments): no token.
pub async fn cdn(State(world): State<Shared>, Path(id): Path<String>) -> Response {
    file(&world, &id)
}

fn file(world: &Shared, id: &str) -> Response {
    let media = world.lock().unwrap().media.get(id).cloned();
    match media {
        Some(media) => ([(header::CONTENT_TYPE, media.mime_type)], media.bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn twilio_authorized(world: &Shared, headers: &HeaderMap, sid: &str) -> bool {
    let w = world.lock().unwrap();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            w.settings.twilio_account_sid, w.settings.twilio_auth_token
        ))
    );
    sid == w.settings.twilio_account_sid
        && headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == expected)
}

fn twilio_error(status: StatusCode, code: i64, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status.as_u16()})))
        .into_response()
}

/// `POST /2010-04-01/Accounts/{sid}/Messages.json`.
pub async fn twilio_send(
    State(world): State<Shared>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let sid = sid.trim_end_matches(".json").to_string();
    if !twilio_authorized(&world, &headers, &sid) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let hang_after = match before_send(&world, &get("From").unwrap_or_default()).await {
        Before::Refuse(_) => {
            return twilio_error(
                StatusCode::SERVICE_UNAVAILABLE,
                20500,
                "Internal Server Error",
            )
        }
        Before::Proceed { hang_after } => hang_after,
    };
    let (Some(to), Some(from)) = (get("To"), get("From")) else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number is required.",
        );
    };
    if from != format!("whatsapp:+{TWILIO_NUMBER}") {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            63007,
            "Twilio could not find a Channel with the specified From address",
        );
    }
    let customer: String = to
        .trim_start_matches("whatsapp:")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let is_template = get("ContentSid").is_some();
    // A template goes out by its content SID, filled with its variables.
    let template_text = match get("ContentSid") {
        Some(wanted) => {
            let body = world.lock().unwrap().templates.iter().find_map(|t| {
                (content_sid(t) == wanted && t["status"] == "APPROVED").then(|| {
                    t["components"]
                        .as_array()
                        .and_then(|c| c.iter().find(|c| c["type"] == "BODY"))
                        .and_then(|c| c["text"].as_str())
                        .unwrap_or_default()
                        .to_string()
                })
            });
            let Some(mut body) = body else {
                return twilio_error(StatusCode::BAD_REQUEST, 21655, "The ContentSid is Invalid");
            };
            let variables: serde_json::Map<String, Value> = get("ContentVariables")
                .and_then(|v| serde_json::from_str(&v).ok())
                .unwrap_or_default();
            for (key, value) in variables {
                body = body.replace(
                    &format!("{{{{{key}}}}}"),
                    value.as_str().unwrap_or_default(),
                );
            }
            Some(body)
        }
        None => None,
    };
    if get("Body").is_none() && get("MediaUrl").is_none() && !is_template {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21619,
            "A text message body or media urls must be specified.",
        );
    }
    let (message_sid, inside) = {
        let mut w = world.lock().unwrap();
        let message_sid = w.twilio_sid("SM");
        let inside = w
            .last_incoming
            .get(&(TWILIO_NUMBER.to_string(), customer.clone()))
            .is_some_and(|at| now_ms() - at < CUSTOMER_WINDOW_MS);
        w.record(Logged {
            id: message_sid.clone(),
            channel: Channel::Twilio,
            account: TWILIO_NUMBER.to_string(),
            customer: customer.clone(),
            from: "business",
            kind: if is_template {
                "template".into()
            } else {
                "text".into()
            },
            text: template_text.or_else(|| get("Body")),
            request: Some(json!(form
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect::<serde_json::Map<_, _>>())),
            at: now_ms(),
            status: Some("queued".into()),
            reference: None,
            callback: get("StatusCallback"),
        });
        (message_sid, inside)
    };
    let accepted = Accepted {
        channel: Channel::Twilio,
        account: TWILIO_NUMBER.to_string(),
        customer: customer.clone(),
        id: message_sid.clone(),
        reference: None,
        category: "service".into(),
        status_callback: get("StatusCallback"),
    };
    let media_url = get("MediaUrl");
    let world_for_send = world.clone();
    tokio::spawn(async move {
        let world = world_for_send;
        if !is_template && !inside {
            tokio::time::sleep(Duration::from_millis(100)).await;
            twilio_undelivered(
                &world,
                &accepted,
                63016,
                "Failed to send freeform message because you are outside the allowed window.",
            )
            .await;
            return;
        }
        // Twilio fetches the file from the link it was given before sending it on.
        if let Some(link) = media_url {
            let fetched = match deliver::client().get(&link).send().await {
                Ok(response) if response.status().is_success() => {
                    let mime_type = response
                        .headers()
                        .get(header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("application/octet-stream")
                        .to_string();
                    response
                        .bytes()
                        .await
                        .ok()
                        .map(|bytes| (mime_type, bytes.to_vec()))
                }
                _ => None,
            };
            let Some((mime_type, bytes)) = fetched else {
                twilio_undelivered(&world, &accepted, 11200, "HTTP retrieval failure").await;
                return;
            };
            let kind = match mime_type.split('/').next() {
                Some(kind @ ("image" | "video" | "audio")) => kind.to_string(),
                _ => "document".to_string(),
            };
            let mut w = world.lock().unwrap();
            if let Some(entry) = w.log.iter_mut().rev().find(|l| l.id == accepted.id) {
                entry.kind = kind;
            }
            w.media
                .insert(accepted.id.clone(), StoredMedia { bytes, mime_type });
        }
        statuses::follow_up(world.clone(), accepted);
    });
    if hang_after {
        hang(&world).await;
    }
    (StatusCode::CREATED, Json(json!({"sid": message_sid, "status": "queued", "to": to, "from": from,
        "body": get("Body"), "account_sid": sid, "num_media": if get("MediaUrl").is_some() { "1" } else { "0" },
        "date_created": now_ms().to_string(), "api_version": "2010-04-01"}))).into_response()
}

/// A Twilio message that did not go out, told to its status callback.
async fn twilio_undelivered(world: &Shared, accepted: &Accepted, code: u32, message: &str) {
    world
        .lock()
        .unwrap()
        .set_status(&accepted.id, "undelivered");
    if let Some(url) = accepted.status_callback.clone() {
        let params = vec![
            ("MessageSid".to_string(), accepted.id.clone()),
            ("MessageStatus".to_string(), "undelivered".to_string()),
            ("ErrorCode".to_string(), code.to_string()),
            ("ErrorMessage".to_string(), message.to_string()),
            ("From".to_string(), format!("whatsapp:+{TWILIO_NUMBER}")),
            ("To".to_string(), format!("whatsapp:+{}", accepted.customer)),
        ];
        deliver::twilio(world, &url, params).await;
    }
}

/// `GET /2010-04-01/Accounts/{sid}.json` (the connection test).
pub async fn twilio_account(
    State(world): State<Shared>,
    Path(sid): Path<String>,
    headers: HeaderMap,
) -> Response {
    let sid = sid.trim_end_matches(".json").to_string();
    if !twilio_authorized(&world, &headers, &sid) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    Json(json!({"sid": sid, "friendly_name": "Sandbox Twilio", "status": "active"})).into_response()
}

/// `GET /2010-04-01/Accounts/{sid}/Messages/{message}/Media/{media}` (inbound media).
pub async fn twilio_media(
    State(world): State<Shared>,
    Path((sid, _message, media)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if !twilio_authorized(&world, &headers, &sid) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    file(&world, &media)
}

/// `POST /{version}/{line}/smb_app_data`: the Business App's contacts or history, delivered as
/// webhooks shortly after the request, as Meta does for coexistence numbers.
pub async fn business_app_data(
    State(world): State<Shared>,
    Path((_, line)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorized(&world, &headers) {
        return unauthorized();
    }
    let display = {
        let w = world.lock().unwrap();
        match w.line(&line) {
            Some(l) => l.display_phone_number.clone(),
            None => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    100,
                    "Unsupported post request",
                    None,
                )
            }
        }
    };
    let sync_type = body["sync_type"].as_str().unwrap_or_default().to_string();
    let value = match sync_type.as_str() {
        "smb_app_state_sync" => json!({"state_sync": [
            {"type": "contact", "contact": {"full_name": "Rosa Martínez", "first_name": "Rosa",
             "phone_number": "+52 1 55 3000 1111"}, "action": "add", "metadata": {"timestamp": (now_ms() / 1000).to_string()}},
            {"type": "contact", "contact": {"full_name": "Pedro Salas", "first_name": "Pedro",
             "phone_number": "+52 1 55 3000 2222"}, "action": "add", "metadata": {"timestamp": (now_ms() / 1000).to_string()}}
        ]}),
        "history" => {
            let day = 86_400;
            let base = now_ms() / 1000 - 3 * day;
            json!({"history": [{"metadata": {"phase": 1, "chunk_order": 1, "progress": 100}, "threads": [
            {"id": "5215530001111", "messages": [
                {"from": "5215530001111", "id": "wamid.HISTORY1", "timestamp": base.to_string(),
                 "type": "text", "text": {"body": "¿Me guardas dos cajas?"}, "history_context": {"status": "READ"}},
                {"from": display, "to": "5215530001111", "id": "wamid.HISTORY2", "timestamp": (base + 60).to_string(),
                 "type": "text", "text": {"body": "¡Claro! Pasa el viernes."}, "history_context": {"status": "READ"}}
            ]}]}]})
        }
        _ => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                100,
                "Invalid parameter",
                Some("sync_type must be smb_app_state_sync or history"),
            )
        }
    };
    let field = if sync_type == "history" {
        "history"
    } else {
        "smb_app_state_sync"
    };
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] = json!({"display_phone_number": display, "phone_number_id": line});
    let payload = json!({"object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": field, "value": value}]}]});
    let request_id = format!("req{}", world.lock().unwrap().next_number());
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        deliver::meta(&world, Channel::Whatsapp, payload).await;
    });
    Json(json!({"messaging_product": "whatsapp", "request_id": request_id})).into_response()
}
