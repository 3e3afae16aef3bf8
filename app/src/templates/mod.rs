//! WhatsApp message templates: synced from the provider (approved ones only), offered to
//! the composer with their category and price.

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
}

/// The categories a template price is set for.
pub const CATEGORIES: [&str; 3] = ["marketing", "utility", "authentication"];

/// What the settings page shows of templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateSettings {
    /// The connected WhatsApp lines (Cloud API and Twilio) and their approved templates.
    pub lines: Vec<LineTemplates>,
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

/// Fetches the account's approved templates from the provider; returns how many there are.
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

    #[test]
    fn prices_show_what_matters() {
        assert_eq!(format_price(25_000), "0.025");
        assert_eq!(format_price(1_500_000), "1.50");
        assert_eq!(format_price(0), "0.00");
        assert_eq!(format_price(123_456), "0.123456");
    }
}
