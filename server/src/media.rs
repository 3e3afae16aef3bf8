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
    let Some(_slot) = state
        .extensions
        .get::<Uploads>()
        .and_then(|uploads| uploads.0.take(user.id))
    else {
        return refuse(AppError::Busy);
    };
    let mut staged = match receive(&state, channel, &mut multipart).await {
        Ok(staged) => staged,
        Err(err) => return refuse(err),
    };
    let check = |mime_type: &str, size: u64| match channel {
        Some(channel) => files::check(channel, mime_type, size),
        None => files::check_any(mime_type, size),
    };
    // A voice note recorded in the browser is WebM; it goes out as Ogg Opus, which WhatsApp
    // plays as a voice note (the audio itself is not re-encoded). A voice note is small.
    let mut converted = None;
    if staged.sniffed == "video/webm" && staged.recorded {
        let webm = match tokio::fs::read(&staged.file.path).await {
            Ok(webm) => webm,
            Err(err) => return refuse(AppError::internal(format!("staged upload: {err}"))),
        };
        if let Some(ogg) = channels::voice::webm_to_ogg(&webm) {
            staged.sniffed = "audio/ogg";
            staged.size = ogg.len() as u64;
            staged.file_name = staged.file_name.map(|name| match name.rsplit_once('.') {
                Some((stem, _)) => format!("{stem}.ogg"),
                None => format!("{name}.ogg"),
            });
            converted = Some(ogg);
        }
    }
    let Staged {
        file,
        declared,
        file_name,
        sniffed,
        size,
        ..
    } = staged;
    let mime_type = files::effective_type(sniffed, declared.as_deref());
    if let Err(refusal) = check(&mime_type, size) {
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
    .bind(size as i64)
    .bind(EpochMs::now())
    .bind(user.id)
    .bind(to.conversation_id)
    .fetch_one(&state.db.pool)
    .await;
    let Ok((id,)) = inserted else {
        return refuse(AppError::internal("could not record an upload"));
    };
    let key = format!("{}/{id}", user.org_id);
    let stored = match &converted {
        Some(ogg) => state.media.put(&key, ogg).await,
        None => state.media.put_file(&key, &file.path).await,
    };
    if let Err(err) = stored {
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
        size_bytes: Some(size as i64),
        status: "ready".into(),
    })
    .into_response()
}

/// Uploads in progress, per user and in all (`AppState::extensions`): each holds a file
/// being written and a connection, so a user cannot start more than a few at once.
#[derive(Clone)]
pub struct Uploads(pub crate::slots::Slots);

/// Uploads one user may have in progress at once.
pub const UPLOADS_PER_USER: usize = 3;
/// Uploads in progress at once on this instance.
pub const UPLOADS_AT_ONCE: usize = 32;

impl Default for Uploads {
    fn default() -> Self {
        Uploads(crate::slots::Slots::new(UPLOADS_PER_USER, UPLOADS_AT_ONCE))
    }
}

/// How long a file uploaded but never sent (nor kept for a quick reply) is kept.
pub const UNSENT_KEPT_MS: i64 = 24 * 3_600_000;

/// An upload as it arrived: written to a staging file, never held whole in memory.
struct Staged {
    file: StagingFile,
    declared: Option<String>,
    file_name: Option<String>,
    /// What the first bytes say the file is.
    sniffed: &'static str,
    /// Recorded in the browser (declared `audio/webm`): a voice note.
    recorded: bool,
    size: u64,
}

/// A file in the staging directory, removed when dropped unless the media store took it.
struct StagingFile {
    path: std::path::PathBuf,
}

impl Drop for StagingFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Bytes read before the type is decided from them.
const SNIFF_BYTES: usize = 8 * 1024;

/// Receives the `file` field into a staging file, checking its size as it arrives: once its
/// first bytes tell its type, it is cut off as soon as it passes the largest file of that type
/// the channel (or, for a file kept for later, any channel) takes.
async fn receive(
    state: &AppState,
    channel: Option<channels::Channel>,
    multipart: &mut Multipart,
) -> Result<Staged, AppError> {
    use tokio::io::AsyncWriteExt;
    let too_large = |max_bytes: u64| AppError::File(files::FileRefusal::TooLarge { max_bytes });
    // What the largest file of any type is, before the type is known.
    let any_limit = channels::api::MAX_DOWNLOAD as u64;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Err(AppError::File(files::FileRefusal::Empty)),
            Err(_) => return Err(too_large(any_limit)),
        };
        if field.name() != Some("file") {
            continue;
        }
        let declared = field.content_type().map(str::to_string);
        let file_name = field.file_name().map(clean_file_name);
        let recorded = declared
            .as_deref()
            .is_some_and(|d| d.starts_with("audio/webm"));
        let dir = &state.settings.upload_staging;
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|err| AppError::internal(format!("staging directory: {err}")))?;
        let file = StagingFile {
            path: dir.join(format!("{}.part", app::secrets::random_token())),
        };
        let mut out = tokio::fs::File::create(&file.path)
            .await
            .map_err(|err| AppError::internal(format!("staging file: {err}")))?;
        let mut head = Vec::new();
        let mut sniffed = None;
        let mut limit = any_limit;
        let mut size = 0u64;
        loop {
            let chunk = match field.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                // The body limit, or the connection dropped: nothing is kept either way.
                Err(_) => return Err(too_large(limit)),
            };
            size += chunk.len() as u64;
            if sniffed.is_none() {
                // Until the type is known the head holds fewer than SNIFF_BYTES.
                let room = SNIFF_BYTES - head.len();
                head.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if head.len() >= SNIFF_BYTES {
                    let (found, cap) =
                        type_and_limit(channel, &head, declared.as_deref(), recorded)?;
                    sniffed = Some(found);
                    limit = cap;
                }
            }
            if size > limit {
                return Err(too_large(limit));
            }
            out.write_all(&chunk)
                .await
                .map_err(|err| AppError::internal(format!("staging file: {err}")))?;
        }
        out.flush()
            .await
            .map_err(|err| AppError::internal(format!("staging file: {err}")))?;
        let sniffed = match sniffed {
            Some(sniffed) => sniffed,
            None if size == 0 => return Err(AppError::File(files::FileRefusal::Empty)),
            None => {
                let (found, cap) = type_and_limit(channel, &head, declared.as_deref(), recorded)?;
                if size > cap {
                    return Err(too_large(cap));
                }
                found
            }
        };
        return Ok(Staged {
            file,
            declared,
            file_name,
            sniffed,
            recorded,
            size,
        });
    }
}

/// The type of a file from its first bytes, and the largest the channel takes of it.
fn type_and_limit(
    channel: Option<channels::Channel>,
    head: &[u8],
    declared: Option<&str>,
    recorded: bool,
) -> Result<(&'static str, u64), AppError> {
    let sniffed = files::sniff(head).ok_or(AppError::File(files::FileRefusal::Type))?;
    // A recorded voice note goes out as Ogg: its limit is Ogg's.
    let effective = if sniffed == "video/webm" && recorded {
        "audio/ogg".to_string()
    } else {
        files::effective_type(sniffed, declared)
    };
    let limit =
        files::largest(channel, &effective).ok_or(AppError::File(files::FileRefusal::Type))?;
    Ok((sniffed, limit))
}

/// Removes files uploaded but never sent, nor kept for a quick reply, once they are older
/// than [`UNSENT_KEPT_MS`]: their rows, and their stored bytes unless another row (a copy
/// made to send a quick reply's file) still names them. Returns how many were removed.
pub async fn remove_unsent_uploads(
    db: &app::db::Db,
    media: &dyn app::media::MediaStore,
) -> Result<u64, AppError> {
    let horizon = EpochMs::now() - UNSENT_KEPT_MS;
    let unsent: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT a.id, a.storage_key FROM attachments a \
         WHERE a.message_id IS NULL AND a.created_at < $1 \
         AND NOT EXISTS (SELECT 1 FROM quick_replies q WHERE q.attachment_id = a.id) \
         LIMIT 1000",
    )
    .bind(horizon)
    .fetch_all(&db.pool)
    .await?;
    let mut removed = 0;
    for (id, key) in unsent {
        sqlx::query("DELETE FROM attachments WHERE id = $1 AND message_id IS NULL")
            .bind(id)
            .execute(&db.pool)
            .await?;
        removed += 1;
        let Some(key) = key else { continue };
        let (others,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM attachments WHERE storage_key = $1")
                .bind(&key)
                .fetch_one(&db.pool)
                .await?;
        if others == 0 {
            if let Err(err) = media.delete(&key).await {
                tracing::warn!(%err, key, "could not remove an unsent upload's file");
            }
        }
    }
    Ok(removed)
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
