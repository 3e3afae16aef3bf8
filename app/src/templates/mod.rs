//! WhatsApp message templates: synced from the provider whatever their review says, kept
//! current by the business account's webhooks (status, category, quality, text), offered to
//! the composer with their category and price, the approved ones only sendable.

/// The templates section of the settings page.
pub mod page;
#[cfg(feature = "ssr")]
mod store;

/// What other features may do with templates on the server.
#[cfg(feature = "ssr")]
pub mod ssr {
    pub use super::store::ssr::{approved, for_account, Approved};
}

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::epoch::EpochMs;
use crate::error::AppError;
use crate::i18n::*;

/// A template as the composer offers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateView {
    pub id: i64,
    pub name: String,
    pub language: String,
    /// `marketing`, `utility` or `authentication`.
    pub category: String,
    /// The body with its `{{1}}`, `{{2}}` ... placeholders.
    pub body: String,
    pub params: usize,
    /// The organization's price for the category, in millionths of `currency`.
    pub price_micros: Option<i64>,
    pub currency: Option<String>,
    /// Meta's review: `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`, …
    pub status: String,
    /// Why it is not approved, when Meta said.
    pub status_reason: Option<String>,
}

/// Why the composer cannot send a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// Meta has not approved it (or no longer does): its status and reason.
    Status(String, Option<String>),
    /// A marketing template, and the customer stopped marketing messages.
    MarketingStopped,
}

impl TemplateView {
    /// Why it cannot go to a customer (`marketing_stopped`: who stopped marketing messages);
    /// `None` when it can. The server refuses the same sends.
    pub fn unavailable(&self, marketing_stopped: bool) -> Option<Unavailable> {
        if self.status != APPROVED {
            Some(Unavailable::Status(
                self.status.clone(),
                self.status_reason.clone(),
            ))
        } else if marketing_stopped && self.category == "marketing" {
            Some(Unavailable::MarketingStopped)
        } else {
            None
        }
    }
}

/// The status of a template that may be sent.
pub const APPROVED: &str = "APPROVED";

/// A template's status as people read it (Meta's word when it is a new one).
pub fn status_label(locale: Locale, status: &str) -> String {
    match status {
        "APPROVED" => td_string!(locale, template.approved),
        "PENDING" => td_string!(locale, template.pending),
        "REJECTED" => td_string!(locale, template.rejected),
        "PAUSED" => td_string!(locale, template.paused),
        "DISABLED" => td_string!(locale, template.disabled),
        "FLAGGED" => td_string!(locale, template.flagged),
        "IN_APPEAL" => td_string!(locale, template.in_appeal),
        other => return other.to_string(),
    }
    .to_string()
}

/// Meta's quality rating as people read it.
pub fn quality_label(locale: Locale, quality: Option<&str>) -> &'static str {
    match quality {
        Some("GREEN") => td_string!(locale, template.quality_green),
        Some("YELLOW") => td_string!(locale, template.quality_yellow),
        Some("RED") => td_string!(locale, template.quality_red),
        _ => td_string!(locale, template.quality_unknown),
    }
}

/// Meta's reason: its codes translated, its sentences as Meta wrote them.
pub fn reason_text(locale: Locale, reason: &str) -> String {
    match reason {
        "INVALID_FORMAT" => td_string!(locale, template.reason_invalid_format),
        "ABUSIVE_CONTENT" => td_string!(locale, template.reason_abusive_content),
        "INCORRECT_CATEGORY" => td_string!(locale, template.reason_incorrect_category),
        "SCAM" => td_string!(locale, template.reason_scam),
        "TAG_CONTENT_MISMATCH" => td_string!(locale, template.reason_tag_content_mismatch),
        other => return other.to_string(),
    }
    .to_string()
}

/// Why the composer cannot send a template, in words.
pub fn unavailable_text(locale: Locale, why: &Unavailable) -> String {
    let (status, reason) = match why {
        Unavailable::MarketingStopped => {
            return td_string!(locale, template.why_marketing).to_string()
        }
        Unavailable::Status(status, reason) => (status.as_str(), reason.as_deref()),
    };
    let why = match status {
        "PENDING" | "IN_APPEAL" => td_string!(locale, template.why_pending).to_string(),
        "REJECTED" => td_string!(locale, template.why_rejected).to_string(),
        "PAUSED" => td_string!(locale, template.why_paused).to_string(),
        "DISABLED" => td_string!(locale, template.why_disabled).to_string(),
        other => crate::kit::form::fill(
            td_string!(locale, template.why_other),
            &[("status", status_label(locale, other))],
        ),
    };
    match reason {
        Some(reason) => format!(
            "{why} {}",
            crate::kit::form::fill(
                td_string!(locale, template.reason),
                &[("reason", reason_text(locale, reason))],
            )
        ),
        None => why,
    }
}

/// A synced template as the settings page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct TemplateState {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: String,
    pub status_reason: Option<String>,
    /// `GREEN`, `YELLOW`, `RED` or `UNKNOWN`; `None` before Meta rated it.
    pub quality: Option<String>,
    /// A category Meta announced, and when it takes effect.
    pub next_category: Option<String>,
    pub next_category_at: Option<EpochMs>,
}

/// The categories a template price is set for.
pub const CATEGORIES: [&str; 3] = ["marketing", "utility", "authentication"];

/// What the settings page shows of templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateSettings {
    /// The connected WhatsApp lines (Cloud API and Twilio) and how many templates each has
    /// approved.
    pub lines: Vec<LineTemplates>,
    /// Every synced template of those lines, by line, name and language.
    pub templates: Vec<TemplateState>,
    /// One entry per category of [`CATEGORIES`], in that order.
    pub prices: Vec<CategoryPrice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct LineTemplates {
    pub account_id: i64,
    /// `whatsapp` or `twilio`.
    pub channel: String,
    pub name: String,
    pub approved: i64,
    /// When they were last synced (epoch ms).
    pub synced_at: Option<EpochMs>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryPrice {
    pub category: String,
    /// As entered, e.g. `0.025`.
    pub price: Option<String>,
    pub currency: Option<String>,
}

/// `25_000` micros → `0.025`; at least two decimals.
pub fn format_price(micros: i64) -> String {
    let fraction = format!("{:06}", micros % 1_000_000);
    let trimmed = fraction.trim_end_matches('0');
    let decimals = if trimmed.len() < 2 {
        &fraction[..2]
    } else {
        trimmed
    };
    format!("{}.{decimals}", micros / 1_000_000)
}

#[server(prefix = "/api", endpoint = "template_settings", output = crate::codec::Json)]
pub async fn load_template_settings() -> Result<TemplateSettings, AppError> {
    store::ssr::settings().await.map_err(AppError::respond)
}

/// Fetches the account's templates from the provider; returns how many are approved.
#[server(prefix = "/api", endpoint = "sync_templates", output = crate::codec::Json)]
pub async fn sync_templates(account_id: i64) -> Result<usize, AppError> {
    store::ssr::sync(account_id)
        .await
        .map_err(AppError::respond)
}

/// Sets the price of a template category for spend figures (e.g. `0.0250` USD per message).
#[server(prefix = "/api", endpoint = "save_template_price", output = crate::codec::Json)]
pub async fn save_template_price(
    category: String,
    price: String,
    currency: String,
) -> Result<(), AppError> {
    store::ssr::save_price(category, price, currency)
        .await
        .map_err(AppError::respond)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(status: &str, category: &str) -> TemplateView {
        TemplateView {
            id: 1,
            name: "t".into(),
            language: "es_MX".into(),
            category: category.into(),
            body: String::new(),
            params: 0,
            price_micros: None,
            currency: None,
            status: status.into(),
            status_reason: Some("INVALID_FORMAT".into()).filter(|_| status == "REJECTED"),
        }
    }

    #[test]
    fn only_approved_templates_go_and_marketing_not_to_who_stopped_it() {
        assert_eq!(template("APPROVED", "utility").unavailable(true), None);
        assert_eq!(template("APPROVED", "marketing").unavailable(false), None);
        assert_eq!(
            template("APPROVED", "marketing").unavailable(true),
            Some(Unavailable::MarketingStopped)
        );
        assert_eq!(
            template("REJECTED", "utility").unavailable(false),
            Some(Unavailable::Status(
                "REJECTED".into(),
                Some("INVALID_FORMAT".into())
            ))
        );
        assert_eq!(
            template("PAUSED", "marketing").unavailable(true),
            Some(Unavailable::Status("PAUSED".into(), None)),
            "the status says more than the preference"
        );
    }

    #[test]
    fn reasons_read_in_the_viewers_language() {
        let rejected = Unavailable::Status("REJECTED".into(), Some("INVALID_FORMAT".into()));
        assert_eq!(
            unavailable_text(Locale::es, &rejected),
            "Meta la rechazó. Motivo: formato no válido"
        );
        let paused = Unavailable::Status("PAUSED".into(), Some("Paused for 3 hours.".into()));
        assert_eq!(
            unavailable_text(Locale::en, &paused),
            "Meta paused it for its quality. Reason: Paused for 3 hours."
        );
        let archived = Unavailable::Status("ARCHIVED".into(), None);
        assert_eq!(
            unavailable_text(Locale::en, &archived),
            "Meta has not approved it (ARCHIVED)."
        );
        assert_eq!(status_label(Locale::es, "PENDING"), "En revisión");
        assert_eq!(quality_label(Locale::en, None), "Quality not rated");
    }

    #[test]
    fn prices_show_what_matters() {
        assert_eq!(format_price(25_000), "0.025");
        assert_eq!(format_price(1_500_000), "1.50");
        assert_eq!(format_price(0), "0.00");
        assert_eq!(format_price(123_456), "0.123456");
    }
}
