//! Files of conversations. `GET /media/{attachment id}`: a stored file, to users allowed to see
//! its conversation only (the same permission rule as everywhere); anyone else gets 404, as if
//! it did not exist. `POST /api/upload?conversation_id=…`: a file an agent is about to send,
//! checked by its content against the conversation's channel before it is kept.
//! `GET /media/{attachment id}/shared?until=…&sig=…`: an outgoing file for a provider that
//! fetches files itself (Twilio), through a link signed with the server key that expires.

use app::attachments::AttachmentView;
use app::conversations::store::ssr::visible_conversation;
use app::epoch::EpochMs;
use app::error::AppError;
use app::permissions::{can_manage_settings, can_see_conversation, can_use_inbox};
use app::state::AppState;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use channels::files;
use tower_sessions::Session;

use crate::event_stream::signed_in;

#[derive(sqlx::FromRow)]
struct Stored {
    org_id: i64,
    storage_key: Option<String>,
    mime_type: String,
    file_name: Option<String>,
    status: String,
    assignee_id: Option<i64>,
}

pub async fn serve(
    State(state): State<AppState>,
    session: Session,
    Path(attachment_id): Path<i64>,
) -> Response {
    let Some(user) = signed_in(&state.db, &session).await else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let stored = match stored_file(&state, attachment_id, false).await {
        Ok(stored) => stored,
        Err(response) => return response,
    };
    let Some(stored) = stored
        .filter(|s| s.org_id == user.org_id && can_see_conversation(&user.actor(), s.assignee_id))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    send_file(&state, &stored, "private, max-age=86400, immutable").await
}

/// How long a link handed to a provider works: it fetches the file at once, and retries of the
/// send make a new link.
pub const SHARED_LINK_MS: i64 = 60 * 60 * 1000;

/// The link a provider downloads an outgoing file from: it names the file and its expiry,
/// signed with the server key, and nothing else.
pub fn shared_link(
    public_url: &str,
    secrets: &app::secrets::SecretBox,
    attachment_id: i64,
    now: EpochMs,
) -> String {
    let until = now + SHARED_LINK_MS;
    let signature = secrets.sign_link(&format!("{attachment_id}:{until}"));
    format!("{public_url}/media/{attachment_id}/shared?until={until}&sig={signature}")
}

/// Missing parts read as an invalid link, answered like every other one.
#[derive(serde::Deserialize)]
pub struct SharedLink {
    #[serde(default)]
    until: EpochMs,
    #[serde(default)]
    sig: String,
}

pub async fn serve_shared(
    State(state): State<AppState>,
    Path(attachment_id): Path<i64>,
    Query(link): Query<SharedLink>,
) -> Response {
    let signed = state
        .secrets
        .verify_link(&format!("{attachment_id}:{}", link.until), &link.sig);
    if !signed || link.until < EpochMs::now() {
        return StatusCode::NOT_FOUND.into_response();
    }
    // Only files the business sends are ever shared this way.
    let stored = match stored_file(&state, attachment_id, true).await {
        Ok(stored) => stored,
        Err(response) => return response,
    };
    match stored {
        Some(stored) => send_file(&state, &stored, "no-store").await,
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A file of a message of a conversation not deleted (`outgoing_only`: of a message the
/// business sent); a failed lookup is the response to give.
async fn stored_file(
    state: &AppState,
    attachment_id: i64,
    outgoing_only: bool,
) -> Result<Option<Stored>, Response> {
    sqlx::query_as(
        "SELECT at.org_id, at.storage_key, at.mime_type, at.file_name, at.status, c.assignee_id \
         FROM attachments at JOIN messages m ON m.id = at.message_id \
         JOIN conversations c ON c.id = m.conversation_id \
         WHERE at.id = $1 AND c.deleted_at IS NULL AND ($2 = 0 OR m.direction = 'out')",
    )
    .bind(attachment_id)
    .bind(i64::from(outgoing_only))
    .fetch_optional(&state.db.pool)
    .await
    .map_err(|err| {
        tracing::error!(%err, "media lookup failed");
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    })
}

/// A stored file as the response body, streamed, with headers that keep it from ever acting
/// as a page.
async fn send_file(state: &AppState, stored: &Stored, cache: &'static str) -> Response {
    let (Some(key), "ready") = (stored.storage_key.as_deref(), stored.status.as_str()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Streamed: a large video is never held in memory whole.
    let (reader, length) = match state.media.open(key).await {
        Ok(opened) => opened,
        Err(err) => {
            tracing::error!(%err, key, "stored media is missing");
            return StatusCode::NOT_FOUND.into_response();
        }
    };
    let inline = ["image/", "video/", "audio/"]
        .iter()
        .any(|prefix| stored.mime_type.starts_with(prefix));
    let disposition = content_disposition(inline, stored.file_name.as_deref());
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(reader));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Ok(value) = HeaderValue::from_str(&stored.mime_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A file is never a page: no scripts, no plugins, even if a browser tried to render it.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; media-src 'self'; sandbox"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

#[derive(serde::Deserialize)]
pub struct UploadTo {
    /// The conversation the file is for; none for a quick reply's file (administrators).
    conversation_id: Option<i64>,
}

/// An error as server functions send it, so the browser translates it the same way.
fn refuse(error: AppError) -> Response {
    (error.status(), Json(error)).into_response()
}

pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    Query(to): Query<UploadTo>,
    mut multipart: Multipart,
) -> Response {
    let Some(user) = signed_in(&state.db, &session).await else {
        return refuse(AppError::Unauthenticated);
    };
    // For a conversation: its channel decides. For a quick reply: some channel must take it.
    let channel = match to.conversation_id {
        Some(conversation_id) => {
            if !can_use_inbox(&user.actor()) {
                return refuse(AppError::Forbidden);
            }
            let visible = match visible_conversation(&state, &user.actor(), conversation_id).await {
                Ok(visible) => visible,
                Err(err) => return refuse(err),
            };
            if !visible.account_connected {
                return refuse(AppError::AccountDisconnected);
            }
            Some(visible.channel)
        }
        None if can_manage_settings(&user.actor()) => None,
        None => return refuse(AppError::Forbidden),
    };
    let check = |mime_type: &str, size: u64| match channel {
        Some(channel) => files::check(channel, mime_type, size),
        None => files::check_any(mime_type, size),
    };
    let mut file = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() != Some("file") {
            continue;
        }
        let declared = field.content_type().map(str::to_string);
        let name = field.file_name().map(clean_file_name);
        match field.bytes().await {
            Ok(bytes) => file = Some((bytes, declared, name)),
            Err(_) => {
                let channel = channel.unwrap_or(channels::Channel::Messenger);
                return refuse(AppError::File(files::FileRefusal::TooLarge {
                    max_bytes: files::limit(channel, "application/pdf").unwrap_or(0),
                }));
            }
        }
        break;
    }
    let Some((mut bytes, declared, mut file_name)) = file else {
        return refuse(AppError::File(files::FileRefusal::Empty));
    };
    // What the bytes are, not what the name or the browser says.
    let Some(mut sniffed) = files::sniff(&bytes) else {
        return refuse(AppError::File(files::FileRefusal::Type));
    };
    // A voice note recorded in the browser is WebM; it goes out as Ogg Opus, which WhatsApp
    // plays as a voice note (the audio itself is not re-encoded).
    let recorded = declared
        .as_deref()
        .is_some_and(|d| d.starts_with("audio/webm"));
    if sniffed == "video/webm" && recorded {
        if let Some(ogg) = channels::voice::webm_to_ogg(&bytes) {
            bytes = ogg.into();
            sniffed = "audio/ogg";
            file_name = file_name.map(|name| match name.rsplit_once('.') {
                Some((stem, _)) => format!("{stem}.ogg"),
                None => format!("{name}.ogg"),
            });
        }
    }
    let mime_type = files::effective_type(sniffed, declared.as_deref());
    if let Err(refusal) = check(&mime_type, bytes.len() as u64) {
        return refuse(AppError::File(refusal));
    }
    let kind = files::kind_of(&mime_type);
    let inserted: Result<(i64,), sqlx::Error> = sqlx::query_as(
        "INSERT INTO attachments (org_id, kind, mime_type, file_name, size_bytes, status, \
         uploaded_by, upload_conversation_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'uploading', $7, $8, $6) RETURNING id",
    )
    .bind(user.org_id)
    .bind(kind.as_str())
    .bind(&mime_type)
    .bind(&file_name)
    .bind(bytes.len() as i64)
    .bind(EpochMs::now())
    .bind(user.id)
    .bind(to.conversation_id)
    .fetch_one(&state.db.pool)
    .await;
    let Ok((id,)) = inserted else {
        return refuse(AppError::internal("could not record an upload"));
    };
    let key = format!("{}/{id}", user.org_id);
    if let Err(err) = state.media.put(&key, &bytes).await {
        return refuse(AppError::internal(format!("media store: {err}")));
    }
    let ready =
        sqlx::query("UPDATE attachments SET status = 'ready', storage_key = $1 WHERE id = $2")
            .bind(&key)
            .bind(id)
            .execute(&state.db.pool)
            .await;
    if ready.is_err() {
        return refuse(AppError::internal("could not record an upload"));
    }
    Json(AttachmentView {
        id,
        kind: kind.as_str().to_string(),
        mime_type,
        file_name,
        size_bytes: Some(bytes.len() as i64),
        status: "ready".into(),
    })
    .into_response()
}

/// The last path segment of a browser-given name, without control characters.
fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    if cleaned.trim().is_empty() {
        "archivo".to_string()
    } else {
        cleaned
    }
}

/// `inline` or `attachment`, with the file name encoded per RFC 6266 / 5987.
fn content_disposition(inline: bool, file_name: Option<&str>) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    match file_name.filter(|n| !n.is_empty()) {
        None => kind.to_string(),
        Some(name) => {
            let ascii: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let encoded: String = name
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn file_names_are_quoted_safely() {
        assert_eq!(content_disposition(true, None), "inline");
        assert_eq!(
            content_disposition(false, Some("cotización \"final\".pdf")),
            "attachment; filename=\"cotizaci_n _final_.pdf\"; filename*=UTF-8''cotizaci%C3%B3n%20%22final%22.pdf"
        );
    }
}
