//! Templates in the database.

pub mod ssr {
    use channels::outbound::Template;
    use channels::Channel;

    use crate::accounts::ssr::{access, by_id};
    use crate::auth::ssr::require;
    use crate::epoch::EpochMs;
    use crate::error::{AppError, Field, Problem};
    use crate::permissions::can_manage_settings;
    use crate::state::AppState;
    use crate::templates::{
        format_price, CategoryPrice, LineTemplates, TemplateSettings, TemplateState, TemplateView,
        APPROVED, CATEGORIES,
    };

    pub async fn settings() -> Result<TemplateSettings, AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let lines: Vec<LineTemplates> = sqlx::query_as(
            "SELECT a.id AS account_id, a.channel, a.name, COUNT(t.id) AS approved, \
                    MAX(t.synced_at) AS synced_at FROM accounts a \
             LEFT JOIN templates t ON t.account_id = a.id AND t.status = 'APPROVED' \
             WHERE a.org_id = $1 AND a.channel IN ('whatsapp', 'twilio') \
               AND a.status = 'connected' \
             GROUP BY a.id, a.channel, a.name ORDER BY a.channel DESC, a.name, a.id",
        )
        .bind(user.org_id)
        .fetch_all(&state.db.pool)
        .await?;
        let templates: Vec<TemplateState> = sqlx::query_as(
            "SELECT t.id, t.account_id, t.name, t.language, t.category, t.status, \
                    t.status_reason, t.quality, t.next_category, t.next_category_at \
             FROM templates t JOIN accounts a ON a.id = t.account_id \
             WHERE a.org_id = $1 AND a.status = 'connected' \
             ORDER BY t.account_id, t.name, t.language",
        )
        .bind(user.org_id)
        .fetch_all(&state.db.pool)
        .await?;
        let prices: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT category, price_micros, currency FROM template_prices WHERE org_id = $1",
        )
        .bind(user.org_id)
        .fetch_all(&state.db.pool)
        .await?;
        Ok(TemplateSettings {
            lines,
            templates,
            prices: CATEGORIES
                .iter()
                .map(|category| {
                    let set = prices.iter().find(|(c, _, _)| c == category);
                    CategoryPrice {
                        category: category.to_string(),
                        price: set.map(|(_, micros, _)| format_price(*micros)),
                        currency: set.map(|(_, _, currency)| currency.clone()),
                    }
                })
                .collect(),
        })
    }

    pub async fn sync(account_id: i64) -> Result<usize, AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let account = by_id(&state.db, &state.secrets, account_id)
            .await?
            .filter(|a| a.org_id == user.org_id)
            .ok_or(AppError::NotFound)?;
        if !matches!(account.channel, Channel::Whatsapp | Channel::Twilio) {
            return Ok(0);
        }
        let access = access(&account, &state.settings.twilio_status_callback());
        let templates = state.api.templates(&access).await.map_err(AppError::from)?;
        let now = EpochMs::now();
        let mut tx = state.db.begin().await?;
        for template in &templates {
            // The list gives a rejection's code at most; the words a webhook gave (a
            // rejection's, a pause's) stay while the status does, and so does a quality the
            // list leaves out.
            sqlx::query(
                "INSERT INTO templates (org_id, account_id, name, language, category, status, \
                 components, provider_template_id, synced_at, status_reason, quality) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (account_id, name, language) DO UPDATE SET \
                 category = excluded.category, status = excluded.status, \
                 components = excluded.components, \
                 provider_template_id = excluded.provider_template_id, \
                 synced_at = excluded.synced_at, \
                 status_reason = CASE WHEN templates.status = excluded.status \
                     THEN COALESCE(templates.status_reason, excluded.status_reason) \
                     ELSE excluded.status_reason END, \
                 quality = COALESCE(excluded.quality, templates.quality)",
            )
            .bind(user.org_id)
            .bind(account.id)
            .bind(&template.name)
            .bind(&template.language)
            .bind(template.category.to_ascii_lowercase())
            .bind(&template.status)
            .bind(template.components.to_string())
            .bind(&template.provider_id)
            .bind(now)
            .bind(&template.reason)
            .bind(&template.quality)
            .execute(&mut *tx)
            .await?;
        }
        // What the provider no longer lists was deleted there.
        sqlx::query("DELETE FROM templates WHERE account_id = $1 AND synced_at < $2")
            .bind(account.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(templates.iter().filter(|t| t.status == APPROVED).count())
    }

    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        name: String,
        language: String,
        category: String,
        status: String,
        status_reason: Option<String>,
        components: String,
        provider_template_id: Option<String>,
        price_micros: Option<i64>,
        currency: Option<String>,
    }

    impl Row {
        fn template(&self) -> Template {
            Template {
                name: self.name.clone(),
                language: self.language.clone(),
                category: self.category.clone(),
                status: self.status.clone(),
                components: serde_json::from_str(&self.components).unwrap_or_default(),
                provider_id: self.provider_template_id.clone(),
                quality: None,
                reason: self.status_reason.clone(),
            }
        }

        fn view(&self) -> TemplateView {
            let template = self.template();
            TemplateView {
                id: self.id,
                name: self.name.clone(),
                language: self.language.clone(),
                category: self.category.clone(),
                body: template.body_text().unwrap_or_default().to_string(),
                params: template.body_param_count(),
                price_micros: self.price_micros,
                currency: self.currency.clone(),
                status: self.status.clone(),
                status_reason: self.status_reason.clone(),
            }
        }
    }

    const COLUMNS: &str = "t.id, t.name, t.language, t.category, t.status, t.status_reason, \
         t.components, t.provider_template_id, p.price_micros, p.currency";

    /// The templates of an account: the approved ones first, each part by name and language.
    pub async fn for_account(
        state: &AppState,
        account_id: i64,
    ) -> Result<Vec<TemplateView>, AppError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM templates t \
             LEFT JOIN template_prices p ON p.org_id = t.org_id AND p.category = t.category \
             WHERE t.account_id = $1 \
             ORDER BY CASE WHEN t.status = 'APPROVED' THEN 0 ELSE 1 END, t.name, t.language"
        ))
        .bind(account_id)
        .fetch_all(&state.db.pool)
        .await?;
        Ok(rows.iter().map(Row::view).collect())
    }

    /// `0.0250` → 25 000 micros.
    pub fn parse_price(text: &str) -> Option<i64> {
        let text = text.trim().replace(',', ".");
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        if whole.is_empty() && fraction.is_empty()
            || fraction.len() > 6
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let fraction: i64 = format!("{fraction:0<6}").parse().ok()?;
        whole.checked_mul(1_000_000)?.checked_add(fraction)
    }

    pub async fn save_price(
        category: String,
        price: String,
        currency: String,
    ) -> Result<(), AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let category = category.trim().to_ascii_lowercase();
        if !CATEGORIES.contains(&category.as_str()) {
            return Err(AppError::invalid(Field::Category, Problem::Unknown));
        }
        let micros =
            parse_price(&price).ok_or(AppError::invalid(Field::Price, Problem::Malformed))?;
        let currency = currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(AppError::invalid(Field::Currency, Problem::Malformed));
        }
        sqlx::query(
            "INSERT INTO template_prices (org_id, category, price_micros, currency) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, category) DO UPDATE SET \
             price_micros = excluded.price_micros, currency = excluded.currency",
        )
        .bind(user.org_id)
        .bind(&category)
        .bind(micros)
        .bind(&currency)
        .execute(&state.db.pool)
        .await?;
        Ok(())
    }

    /// An approved template of an account, with what one message of its category costs.
    pub struct Approved {
        pub template: Template,
        pub category: String,
        /// Micros and currency.
        pub price: Option<(i64, String)>,
    }

    /// The account's approved template `template_id`; refused as unknown otherwise.
    pub async fn approved(
        state: &AppState,
        account_id: i64,
        template_id: i64,
    ) -> Result<Approved, AppError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM templates t \
             LEFT JOIN template_prices p ON p.org_id = t.org_id AND p.category = t.category \
             WHERE t.id = $1 AND t.account_id = $2 AND t.status = 'APPROVED'"
        ))
        .bind(template_id)
        .bind(account_id)
        .fetch_optional(&state.db.pool)
        .await?;
        let row = row.ok_or(AppError::invalid(Field::Template, Problem::Unknown))?;
        Ok(Approved {
            template: row.template(),
            price: row.price_micros.zip(row.currency.clone()),
            category: row.category,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::parse_price;

        #[test]
        fn prices_are_exact_decimals() {
            assert_eq!(parse_price("0.0250"), Some(25_000));
            assert_eq!(parse_price("1"), Some(1_000_000));
            assert_eq!(parse_price("0,0107"), Some(10_700));
            assert_eq!(parse_price(".5"), Some(500_000));
            assert_eq!(parse_price("1.1234567"), None);
            assert_eq!(parse_price("-1"), None);
            assert_eq!(parse_price("abc"), None);
            assert_eq!(parse_price(""), None);
        }
    }
}
