//! Applying the WhatsApp Business Account's own webhooks to the lines that belong to it: their
//! templates' status, category, quality and text, and each line's standing. Every change is
//! conditional on differing from what is stored, so a webhook delivered again changes nothing
//! twice; what changed is returned, so that the organizations' screens can look again.

use channels::business::{BusinessChange, BusinessUpdate, TemplateChange, TemplateRef};
use serde_json::Value;

use super::store::{RoutedAccount, ACCOUNT_COLUMNS};
use crate::db::Db;
use crate::epoch::EpochMs;
use crate::error::AppError;
use crate::secrets::SecretBox;
use crate::standing::{after_account_event, after_number_event, Standing};

/// The WhatsApp lines of these business accounts, connected or not: a business account's
/// webhooks are verified with its lines' app secret.
pub async fn business_lines(
    db: &Db,
    secrets: &SecretBox,
    business_ids: &[String],
) -> Result<Vec<RoutedAccount>, AppError> {
    let mut found = Vec::new();
    for business_id in business_ids {
        let rows: Vec<super::store::AccountRow> = sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts \
             WHERE channel = 'whatsapp' AND business_id = $1 ORDER BY id"
        ))
        .bind(business_id)
        .fetch_all(&db.pool)
        .await?;
        for row in rows {
            found.push(super::store::routed(secrets, row)?);
        }
    }
    Ok(found)
}

/// Applies one update to `lines` (the connected lines of its business account that verified
/// it); returns the organizations in which something changed.
pub async fn apply(
    db: &Db,
    lines: &[RoutedAccount],
    update: &BusinessUpdate,
) -> Result<Vec<i64>, AppError> {
    let mut changed = Vec::new();
    let mut note = |org_id: i64| {
        if !changed.contains(&org_id) {
            changed.push(org_id);
        }
    };
    match &update.change {
        BusinessChange::Template(template, change) => {
            for line in lines {
                if apply_to_template(db, line.id, template, change).await? {
                    note(line.org_id);
                }
            }
        }
        BusinessChange::Account(event) => {
            for line in lines {
                let standing = standing_of(db, line.id).await?;
                if let Some(next) = after_account_event(
                    standing.clone(),
                    &event.event,
                    &event.restrictions,
                    event.detail.as_deref(),
                ) {
                    if store_standing(db, line.id, &standing, &next).await? {
                        note(line.org_id);
                    }
                }
            }
        }
        BusinessChange::Number {
            display_phone_number,
            event,
            limit,
        } => {
            // The number is named by its display number; a business account with one line
            // needs no name.
            let digits =
                |text: &str| -> String { text.chars().filter(char::is_ascii_digit).collect() };
            let wanted = digits(display_phone_number);
            let named: Vec<&RoutedAccount> = lines
                .iter()
                .filter(|line| {
                    line.display_handle
                        .as_deref()
                        .is_some_and(|handle| digits(handle) == wanted)
                })
                .collect();
            let targets: Vec<&RoutedAccount> = match (named.is_empty(), lines) {
                (false, _) => named,
                (true, [only]) => vec![only],
                (true, _) => Vec::new(),
            };
            for line in targets {
                let standing = standing_of(db, line.id).await?;
                let next = after_number_event(standing.clone(), event, limit.as_deref());
                if store_standing(db, line.id, &standing, &next).await? {
                    note(line.org_id);
                }
            }
        }
        BusinessChange::Capability { daily_limit } => {
            for line in lines {
                let standing = standing_of(db, line.id).await?;
                let mut next = standing.clone();
                next.messaging_limit = daily_limit.clone().or(next.messaging_limit);
                if store_standing(db, line.id, &standing, &next).await? {
                    note(line.org_id);
                }
            }
        }
    }
    Ok(changed)
}

/// The template of `line` a webhook names: by name and language (`en_US` and `en-US` alike).
const SAME_TEMPLATE: &str =
    "account_id = $1 AND name = $2 AND REPLACE(language, '-', '_') = REPLACE($3, '-', '_')";

async fn apply_to_template(
    db: &Db,
    line_id: i64,
    template: &TemplateRef,
    change: &TemplateChange,
) -> Result<bool, AppError> {
    let sql;
    let query = match change {
        TemplateChange::Status {
            status,
            reason,
            category,
        } => {
            sql = format!(
                "UPDATE templates SET status = $4, status_reason = $5, \
                 category = COALESCE($6, category) \
                 WHERE {SAME_TEMPLATE} AND NOT (status = $4 AND COALESCE(status_reason, '') = \
                 COALESCE($5, '') AND category = COALESCE($6, category))"
            );
            // A reinstated template may be sent again: it is approved.
            let status = match status.as_str() {
                "REINSTATED" => "APPROVED",
                other => other,
            };
            sqlx::query(&sql)
                .bind(line_id)
                .bind(&template.name)
                .bind(&template.language)
                .bind(status)
                .bind(reason)
                .bind(category.as_ref().map(|c| c.to_ascii_lowercase()))
        }
        TemplateChange::Category {
            category,
            effective_at: Some(at),
        } if EpochMs(*at) > EpochMs::now() => {
            sql = format!(
                "UPDATE templates SET next_category = $4, next_category_at = $5 \
                 WHERE {SAME_TEMPLATE} AND NOT (COALESCE(next_category, '') = $4 \
                 AND COALESCE(next_category_at, 0) = $5)"
            );
            sqlx::query(&sql)
                .bind(line_id)
                .bind(&template.name)
                .bind(&template.language)
                .bind(category.to_ascii_lowercase())
                .bind(*at)
        }
        TemplateChange::Category { category, .. } => {
            sql = format!(
                "UPDATE templates SET category = $4, next_category = NULL, \
                 next_category_at = NULL \
                 WHERE {SAME_TEMPLATE} AND NOT (category = $4 AND next_category IS NULL)"
            );
            sqlx::query(&sql)
                .bind(line_id)
                .bind(&template.name)
                .bind(&template.language)
                .bind(category.to_ascii_lowercase())
        }
        TemplateChange::Quality { quality } => {
            sql = format!(
                "UPDATE templates SET quality = $4 \
                 WHERE {SAME_TEMPLATE} AND COALESCE(quality, '') <> $4"
            );
            sqlx::query(&sql)
                .bind(line_id)
                .bind(&template.name)
                .bind(&template.language)
                .bind(quality)
        }
        TemplateChange::Components {
            body,
            header,
            footer,
        } => {
            let stored: Option<(String,)> = sqlx::query_as(&format!(
                "SELECT components FROM templates WHERE {SAME_TEMPLATE}"
            ))
            .bind(line_id)
            .bind(&template.name)
            .bind(&template.language)
            .fetch_optional(&db.pool)
            .await?;
            let Some((stored,)) = stored else {
                return Ok(false);
            };
            let next = with_texts(&stored, body, header.as_deref(), footer.as_deref());
            sql = format!(
                "UPDATE templates SET components = $4 WHERE {SAME_TEMPLATE} AND components <> $4"
            );
            sqlx::query(&sql)
                .bind(line_id)
                .bind(&template.name)
                .bind(&template.language)
                .bind(next)
        }
    };
    Ok(query.execute(&db.pool).await?.rows_affected() > 0)
}

/// Meta's components with a new body, header text and footer; buttons and media headers stay.
fn with_texts(stored: &str, body: &str, header: Option<&str>, footer: Option<&str>) -> String {
    let mut components: Vec<Value> = serde_json::from_str(stored).unwrap_or_default();
    let kind = |c: &Value| {
        c.get("type")
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase)
            .unwrap_or_default()
    };
    components.retain(|c| match kind(c).as_str() {
        "BODY" | "FOOTER" => false,
        "HEADER" => c.get("format").and_then(Value::as_str) != Some("TEXT") || header.is_none(),
        _ => true,
    });
    if let Some(header) = header {
        components.push(serde_json::json!({"type": "HEADER", "format": "TEXT", "text": header}));
    }
    components.push(serde_json::json!({"type": "BODY", "text": body}));
    if let Some(footer) = footer {
        components.push(serde_json::json!({"type": "FOOTER", "text": footer}));
    }
    // In Meta's order: header, body, footer, buttons.
    let rank = |c: &Value| match kind(c).as_str() {
        "HEADER" => 0,
        "BODY" => 1,
        "FOOTER" => 2,
        _ => 3,
    };
    components.sort_by_key(rank);
    serde_json::to_string(&components).unwrap_or_else(|_| stored.to_string())
}

/// What is stored of a line's standing.
pub(crate) async fn standing_of(db: &Db, line_id: i64) -> Result<Standing, AppError> {
    let (stored,): (String,) = sqlx::query_as("SELECT standing FROM accounts WHERE id = $1")
        .bind(line_id)
        .fetch_one(&db.pool)
        .await?;
    Ok(serde_json::from_str(&stored).unwrap_or_default())
}

/// Stores `next` unless it is what was read (`before`); whether it changed.
async fn store_standing(
    db: &Db,
    line_id: i64,
    before: &Standing,
    next: &Standing,
) -> Result<bool, AppError> {
    if before == next {
        return Ok(false);
    }
    let json = serde_json::to_string(next).map_err(AppError::internal)?;
    sqlx::query("UPDATE accounts SET standing = $1 WHERE id = $2")
        .bind(json)
        .bind(line_id)
        .execute(&db.pool)
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_texts_replace_the_old_and_buttons_stay() {
        let stored = r#"[{"type":"HEADER","format":"TEXT","text":"Viejo"},{"type":"BODY","text":"Hola {{1}}"},{"type":"FOOTER","text":"Pie"},{"type":"BUTTONS","buttons":[{"type":"URL","text":"Ver"}]}]"#;
        let next: Vec<Value> =
            serde_json::from_str(&with_texts(stored, "Buenas {{1}}", Some("Nuevo"), None)).unwrap();
        let kinds: Vec<&str> = next.iter().map(|c| c["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["HEADER", "BODY", "BUTTONS"]);
        assert_eq!(next[0]["text"], "Nuevo");
        assert_eq!(next[1]["text"], "Buenas {{1}}");
        let image = r#"[{"type":"HEADER","format":"IMAGE"},{"type":"BODY","text":"x"}]"#;
        let next: Vec<Value> =
            serde_json::from_str(&with_texts(image, "y", None, Some("Pie"))).unwrap();
        let kinds: Vec<&str> = next.iter().map(|c| c["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["HEADER", "BODY", "FOOTER"]);
    }
}
