//! Quick replies (R19): answers the team prepares once and inserts by typing `/` and a short
//! code in the composer. Managed in the settings; usable on every channel while the window is
//! open (they are free-form messages).

/// The "Quick replies" section of the settings page.
pub mod page;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, Field, Problem};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickReply {
    pub id: i64,
    /// Typed after `/`: lower-case letters, digits, `-` and `_`.
    pub short_code: String,
    pub body: String,
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
#[server(prefix = "/api", endpoint = "quick_replies")]
pub async fn load_quick_replies() -> Result<Vec<QuickReply>, AppError> {
    ssr::load().await.map_err(AppError::respond)
}

#[server(prefix = "/api", endpoint = "save_quick_reply")]
pub async fn save_quick_reply(short_code: String, body: String) -> Result<QuickReply, AppError> {
    ssr::save(short_code, body).await.map_err(AppError::respond)
}

#[server(prefix = "/api", endpoint = "delete_quick_reply")]
pub async fn delete_quick_reply(id: i64) -> Result<(), AppError> {
    ssr::delete(id).await.map_err(AppError::respond)
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::auth::ssr::require;
    use crate::db::now_ms;
    use crate::permissions::{can_manage_settings, can_use_inbox};
    use crate::state::AppState;
    use crate::validate;

    pub async fn load() -> Result<Vec<QuickReply>, AppError> {
        let user = require(|a| can_use_inbox(a) || can_manage_settings(a)).await?;
        let state = AppState::current()?;
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT id, short_code, body FROM quick_replies WHERE org_id = $1 ORDER BY short_code",
        )
        .bind(user.org_id)
        .fetch_all(&state.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, short_code, body)| QuickReply {
                id,
                short_code,
                body,
            })
            .collect())
    }

    pub async fn save(code: String, body: String) -> Result<QuickReply, AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let short_code = short_code(&code)?;
        let body = validate::text(Field::Message, &body, BODY_MAX)?;
        let inserted: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO quick_replies (org_id, short_code, body, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, short_code) DO NOTHING RETURNING id",
        )
        .bind(user.org_id)
        .bind(&short_code)
        .bind(&body)
        .bind(user.id)
        .bind(now_ms())
        .fetch_optional(&state.db.pool)
        .await?;
        let (id,) = inserted.ok_or(AppError::invalid(Field::ShortCode, Problem::Taken))?;
        Ok(QuickReply {
            id,
            short_code,
            body,
        })
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
