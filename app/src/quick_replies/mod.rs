//! Quick replies: answers the team prepares once and inserts by typing `/` and a short
//! code in the composer, optionally with a file (a catalogue, a price list, a photo). Managed
//! in the settings; usable on every channel while the window is open (they are free-form
//! messages); a file goes only where that channel accepts it.

/// The "Quick replies" section of the settings page.
pub mod page;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::attachments::AttachmentView;
use crate::error::{AppError, Field, Problem};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuickReply {
    pub id: i64,
    /// Typed after `/`: lower-case letters, digits, `-` and `_`.
    pub short_code: String,
    /// The text; may be empty when there is a file.
    pub body: String,
    pub attachment: Option<AttachmentView>,
}

pub const SHORT_CODE_MAX: usize = 30;
pub const BODY_MAX: usize = 4096;

/// A short code as stored: trimmed, without a leading `/`, lower case; letters (accents
/// included), digits, `-` and `_` only.
pub fn short_code(value: &str) -> Result<String, AppError> {
    let code = value.trim().trim_start_matches('/').to_lowercase();
    if code.is_empty() {
        return Err(AppError::invalid(Field::ShortCode, Problem::Required));
    }
    if code.chars().count() > SHORT_CODE_MAX {
        return Err(AppError::invalid(
            Field::ShortCode,
            Problem::TooLong {
                max: SHORT_CODE_MAX,
            },
        ));
    }
    if !code
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err(AppError::invalid(Field::ShortCode, Problem::Malformed));
    }
    Ok(code)
}

/// What the composer offers for a draft that starts with `/`: codes that start with what was
/// typed first, then codes and texts that contain it. `None` when the draft is not a search.
pub fn matching<'a>(replies: &'a [QuickReply], draft: &str) -> Option<Vec<&'a QuickReply>> {
    let typed = draft.strip_prefix('/')?;
    if typed.contains(char::is_whitespace) {
        return None;
    }
    let typed = typed.to_lowercase();
    let mut first: Vec<&QuickReply> = replies
        .iter()
        .filter(|r| r.short_code.starts_with(&typed))
        .collect();
    first.sort_by(|a, b| a.short_code.cmp(&b.short_code));
    let rest = replies.iter().filter(|r| {
        !r.short_code.starts_with(&typed)
            && (r.short_code.contains(&typed) || r.body.to_lowercase().contains(&typed))
    });
    first.extend(rest);
    first.truncate(8);
    Some(first)
}

/// Every quick reply of the organization, by short code.
#[server(prefix = "/api", endpoint = "quick_replies", output = crate::codec::Json)]
pub async fn load_quick_replies() -> Result<Vec<QuickReply>, AppError> {
    ssr::load().await.map_err(AppError::respond)
}

/// Saves a new quick reply; `attachment_id` is a file uploaded for it (`POST /api/upload`
/// without a conversation).
#[server(prefix = "/api", endpoint = "save_quick_reply", output = crate::codec::Json)]
pub async fn save_quick_reply(
    short_code: String,
    #[server(default)] body: String,
    #[server(default)] attachment_id: Option<i64>,
) -> Result<QuickReply, AppError> {
    ssr::save(short_code, body, attachment_id)
        .await
        .map_err(AppError::respond)
}

#[server(prefix = "/api", endpoint = "delete_quick_reply", output = crate::codec::Json)]
pub async fn delete_quick_reply(id: i64) -> Result<(), AppError> {
    ssr::delete(id).await.map_err(AppError::respond)
}

/// What other features may do with quick replies on the server (and the store behind the
/// server functions above).
#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::auth::ssr::require;
    use crate::epoch::EpochMs;
    use crate::permissions::{can_manage_settings, can_use_inbox};
    use crate::state::AppState;
    use crate::validate;

    /// A quick reply as [`COLUMNS`] reads it, with its file's columns when it has one.
    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        short_code: String,
        body: String,
        file_id: Option<i64>,
        kind: Option<String>,
        mime_type: Option<String>,
        file_name: Option<String>,
        size_bytes: Option<i64>,
    }

    const COLUMNS: &str = "q.id, q.short_code, q.body, a.id AS file_id, a.kind, a.mime_type, \
                           a.file_name, a.size_bytes";

    fn reply(row: Row) -> QuickReply {
        QuickReply {
            id: row.id,
            short_code: row.short_code,
            body: row.body,
            attachment: row.file_id.map(|id| AttachmentView {
                id,
                kind: row.kind.unwrap_or_default(),
                mime_type: row.mime_type.unwrap_or_default(),
                file_name: row.file_name,
                size_bytes: row.size_bytes,
                status: "ready".into(),
            }),
        }
    }

    pub async fn load() -> Result<Vec<QuickReply>, AppError> {
        let user = require(|a| can_use_inbox(a) || can_manage_settings(a)).await?;
        let state = AppState::current()?;
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM quick_replies q LEFT JOIN attachments a ON a.id = q.attachment_id \
             WHERE q.org_id = $1 ORDER BY q.short_code"
        ))
        .bind(user.org_id)
        .fetch_all(&state.db.pool)
        .await?;
        Ok(rows.into_iter().map(reply).collect())
    }

    pub async fn save(
        code: String,
        body: String,
        attachment_id: Option<i64>,
    ) -> Result<QuickReply, AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let short_code = short_code(&code)?;
        // A file may go without words; words without a file are required.
        let body = match attachment_id {
            Some(_) if body.trim().is_empty() => String::new(),
            _ => validate::text(Field::Message, &body, BODY_MAX)?,
        };
        if let Some(id) = attachment_id {
            // A file uploaded for a quick reply, by this organization, not sent as a message.
            let found: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM attachments WHERE id = $1 AND org_id = $2 AND status = 'ready' \
                 AND message_id IS NULL AND upload_conversation_id IS NULL",
            )
            .bind(id)
            .bind(user.org_id)
            .fetch_optional(&state.db.pool)
            .await?;
            if found.is_none() {
                return Err(AppError::invalid(Field::Attachment, Problem::Unknown));
            }
        }
        let inserted: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO quick_replies (org_id, short_code, body, attachment_id, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (org_id, short_code) DO NOTHING RETURNING id",
        )
        .bind(user.org_id)
        .bind(&short_code)
        .bind(&body)
        .bind(attachment_id)
        .bind(user.id)
        .bind(EpochMs::now())
        .fetch_optional(&state.db.pool)
        .await?;
        let (id,) = inserted.ok_or(AppError::invalid(Field::ShortCode, Problem::Taken))?;
        let row: Row = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM quick_replies q LEFT JOIN attachments a ON a.id = q.attachment_id \
             WHERE q.id = $1"
        ))
        .bind(id)
        .fetch_one(&state.db.pool)
        .await?;
        Ok(reply(row))
    }

    /// A quick reply's file as stored: kind, type, name, size, hash and where the bytes are.
    #[derive(sqlx::FromRow)]
    pub struct StoredFile {
        pub kind: String,
        pub mime_type: String,
        pub file_name: Option<String>,
        pub size_bytes: Option<i64>,
        pub sha256: Option<String>,
        pub storage_key: Option<String>,
    }

    /// The file of the organization's quick reply `quick_reply_id`, if it has one.
    pub async fn file_of(
        state: &AppState,
        org_id: i64,
        quick_reply_id: i64,
    ) -> Result<Option<StoredFile>, AppError> {
        let file: Option<StoredFile> = sqlx::query_as(
            "SELECT a.kind, a.mime_type, a.file_name, a.size_bytes, a.sha256, a.storage_key \
                 FROM quick_replies q JOIN attachments a ON a.id = q.attachment_id \
                 WHERE q.id = $1 AND q.org_id = $2",
        )
        .bind(quick_reply_id)
        .bind(org_id)
        .fetch_optional(&state.db.pool)
        .await?;
        Ok(file)
    }

    pub async fn delete(id: i64) -> Result<(), AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let deleted = sqlx::query("DELETE FROM quick_replies WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(user.org_id)
            .execute(&state.db.pool)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(AppError::NotFound);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: &str, body: &str) -> QuickReply {
        QuickReply {
            id: 0,
            short_code: code.into(),
            body: body.into(),
            attachment: None,
        }
    }

    #[test]
    fn short_codes_are_one_lower_case_word() {
        assert_eq!(short_code(" /Envío ").unwrap(), "envío");
        assert_eq!(short_code("horario_2").unwrap(), "horario_2");
        assert!(short_code("dos palabras").is_err());
        assert!(short_code("/").is_err());
        assert!(short_code(&"x".repeat(31)).is_err());
    }

    #[test]
    fn a_slash_offers_codes_that_start_with_it_first() {
        let replies = [
            reply("pago", "Aceptamos tarjeta y transferencia"),
            reply("envio", "Enviamos a todo el país"),
            reply("envio-express", "Llega mañana"),
        ];
        let codes = |draft: &str| {
            matching(&replies, draft)
                .map(|m| m.iter().map(|r| r.short_code.clone()).collect::<Vec<_>>())
        };
        assert_eq!(codes("/env").unwrap(), ["envio", "envio-express"]);
        assert_eq!(codes("/").unwrap().len(), 3);
        assert_eq!(codes("/transfer").unwrap(), ["pago"]);
        assert_eq!(codes("/ENV").unwrap(), ["envio", "envio-express"]);
        assert_eq!(codes("hola /env"), None);
        assert_eq!(codes("/env más"), None);
    }
}
