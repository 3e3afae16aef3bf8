//! `GET /media/{attachment id}`: a stored file, to users allowed to see its conversation only
//! (the same permission rule as everywhere). Anyone else gets 404, as if it did not exist.

use app::permissions::can_see_conversation;
use app::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::live::signed_in;

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
    let stored: Option<Stored> = match sqlx::query_as(
        "SELECT at.org_id, at.storage_key, at.mime_type, at.file_name, at.status, c.assignee_id \
         FROM attachments at JOIN messages m ON m.id = at.message_id \
         JOIN conversations c ON c.id = m.conversation_id \
         WHERE at.id = $1 AND c.deleted_at IS NULL",
    )
    .bind(attachment_id)
    .fetch_optional(&state.db.pool)
    .await
    {
        Ok(stored) => stored,
        Err(err) => {
            tracing::error!(%err, "media lookup failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let Some(stored) = stored
        .filter(|s| s.org_id == user.org_id && can_see_conversation(&user.actor(), s.assignee_id))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (Some(key), "ready") = (stored.storage_key.as_deref(), stored.status.as_str()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let bytes = match state.media.get(key).await {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::error!(%err, key, "stored media is missing");
            return StatusCode::NOT_FOUND.into_response();
        }
    };
    let inline = ["image/", "video/", "audio/"]
        .iter()
        .any(|prefix| stored.mime_type.starts_with(prefix));
    let disposition = content_disposition(inline, stored.file_name.as_deref());
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
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
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400, immutable"),
    );
    response
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
