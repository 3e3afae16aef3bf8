//! Accounts in the database. Credentials are one sealed JSON document per account.

use channels::Channel;
use serde::{Deserialize, Serialize};

use crate::auto_contacts::ContactMode;
use crate::db::Db;
use crate::epoch::EpochMs;
use crate::error::{AppError, Field, Problem, ResultExt};
use crate::secrets::SecretBox;

/// The credentials of an account. Which ones apply depends on the channel.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    /// Graph API access token (WhatsApp system-user token, Page token).
    #[serde(default)]
    pub access_token: String,
    /// The Meta app's secret: webhook signatures are checked with it.
    #[serde(default)]
    pub app_secret: String,
    /// What Meta must present in the webhook GET handshake.
    #[serde(default)]
    pub verify_token: String,
    /// Twilio's auth token (API calls and webhook signatures).
    #[serde(default)]
    pub auth_token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// A new connection.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub channel: Channel,
    pub name: String,
    /// What webhooks route on: phone-number id, Page id, Instagram id, Twilio number.
    pub external_id: String,
    pub display_handle: Option<String>,
    /// Non-secret settings (WABA id, API base URL, Twilio account SID, ...).
    pub config: serde_json::Value,
    pub credentials: Credentials,
    pub connected_by: Option<i64>,
}

/// What a webhook needs to know about the account it is addressed to.
#[derive(Debug, Clone)]
pub struct RoutedAccount {
    pub id: i64,
    pub org_id: i64,
    pub channel: Channel,
    pub external_id: String,
    /// The number or handle as people see it (`+52 55 …`).
    pub display_handle: Option<String>,
    pub connected: bool,
    pub config: serde_json::Value,
    pub credentials: Credentials,
    /// What a customer opening a conversation does to the CRM (`auto_contacts`).
    pub contact_mode: ContactMode,
}

/// What an account's sealed credentials are bound to (`SecretBox::seal`): its organization,
/// channel and routing id. Credentials copied into another account's row do not open there.
fn binding(org_id: i64, channel: Channel, external_id: &str) -> String {
    format!("account {org_id} {} {external_id}", channel.as_str())
}

pub fn seal(
    secrets: &SecretBox,
    credentials: &Credentials,
    org_id: i64,
    channel: Channel,
    external_id: &str,
) -> Vec<u8> {
    secrets.seal(
        &serde_json::to_vec(credentials).expect("credentials serialise"),
        &binding(org_id, channel, external_id),
    )
}

pub fn open(
    secrets: &SecretBox,
    sealed: Option<&[u8]>,
    org_id: i64,
    channel: Channel,
    external_id: &str,
) -> Result<Credentials, AppError> {
    match sealed {
        None => Ok(Credentials::default()),
        Some(sealed) => {
            let plain = secrets
                .open(sealed, &binding(org_id, channel, external_id))
                .map_err(AppError::internal)?;
            serde_json::from_slice(&plain).map_err(AppError::internal)
        }
    }
}

/// Binds credentials sealed before they were bound to their account (on start, once): each
/// that opens unbound is sealed again bound. Those already bound are left as they are.
pub async fn bind_sealed_credentials(db: &Db, secrets: &SecretBox) -> Result<u64, AppError> {
    let rows: Vec<AccountRow> = sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE secrets IS NOT NULL"
    ))
    .fetch_all(&db.pool)
    .await?;
    let mut bound = 0;
    for row in rows {
        let (Some(sealed), Some(channel)) = (row.secrets.as_deref(), Channel::parse(&row.channel))
        else {
            continue;
        };
        let binding = binding(row.org_id, channel, &row.external_id);
        if secrets.open(sealed, &binding).is_ok() {
            continue;
        }
        let Ok(plain) = secrets.open(sealed, "") else {
            continue;
        };
        sqlx::query("UPDATE accounts SET secrets = $1 WHERE id = $2 AND secrets = $3")
            .bind(secrets.seal(&plain, &binding))
            .bind(row.id)
            .bind(sealed)
            .execute(&db.pool)
            .await?;
        bound += 1;
    }
    Ok(bound)
}

/// Connects an account, or reconnects it with new settings if this organization had it;
/// returns its id. WhatsApp lines are limited per organization.
pub async fn connect(
    db: &Db,
    secrets: &SecretBox,
    org_id: i64,
    new: &NewAccount,
) -> Result<i64, AppError> {
    let now = EpochMs::now();
    let mut tx = db.begin().await?;
    // A write first: connections within one organization queue here, so two at once cannot
    // both take the tenth line (a row lock on PostgreSQL, the write lock on SQLite).
    sqlx::query("UPDATE organizations SET id = id WHERE id = $1")
        .bind(org_id)
        .execute(&mut *tx)
        .await?;
    if new.channel == Channel::Whatsapp {
        // Reconnecting a disconnected line takes a place too; saving a connected one does not.
        let (others,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM accounts WHERE org_id = $1 AND channel = 'whatsapp' \
             AND status = 'connected' AND external_id <> $2",
        )
        .bind(org_id)
        .bind(&new.external_id)
        .fetch_one(&mut *tx)
        .await?;
        if others >= super::MAX_WHATSAPP_LINES {
            return Err(AppError::invalid(
                Field::Account,
                Problem::TooMany {
                    max: super::MAX_WHATSAPP_LINES as usize,
                },
            ));
        }
    }
    // Connecting a line again keeps its installer (who may delete its conversations): a
    // settings manager cannot take that over by reconnecting it.
    let business_id = new.config.get("business_id").and_then(|v| v.as_str());
    let existing: Option<(i64,)> = sqlx::query_as(
        "UPDATE accounts SET name = $1, display_handle = $2, config = $3, secrets = $4, \
         status = 'connected', disconnected_at = NULL, connected_by = COALESCE(connected_by, $5), \
         business_id = $9 \
         WHERE org_id = $6 AND channel = $7 AND external_id = $8 RETURNING id",
    )
    .bind(&new.name)
    .bind(&new.display_handle)
    .bind(new.config.to_string())
    .bind(seal(
        secrets,
        &new.credentials,
        org_id,
        new.channel,
        &new.external_id,
    ))
    .bind(new.connected_by)
    .bind(org_id)
    .bind(new.channel.as_str())
    .bind(&new.external_id)
    .bind(business_id)
    .fetch_optional(&mut *tx)
    .await?;
    let id = match existing {
        Some((id,)) => id,
        None => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO accounts (org_id, channel, name, external_id, display_handle, \
                 config, secrets, status, connected_by, connected_at, created_at, business_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'connected', $8, $9, $9, $10) RETURNING id",
            )
            .bind(org_id)
            .bind(new.channel.as_str())
            .bind(&new.name)
            .bind(&new.external_id)
            .bind(&new.display_handle)
            .bind(new.config.to_string())
            .bind(seal(
                secrets,
                &new.credentials,
                org_id,
                new.channel,
                &new.external_id,
            ))
            .bind(new.connected_by)
            .bind(now)
            .bind(business_id)
            .fetch_one(&mut *tx)
            .await
            .on_unique(Field::Account)?;
            id
        }
    };
    tx.commit().await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: i64,
    org_id: i64,
    channel: String,
    external_id: String,
    display_handle: Option<String>,
    status: String,
    config: String,
    secrets: Option<Vec<u8>>,
    contact_mode: String,
}

pub(crate) const ACCOUNT_COLUMNS: &str =
    "id, org_id, channel, external_id, display_handle, status, config, secrets, contact_mode";

pub(crate) fn routed(secrets: &SecretBox, row: AccountRow) -> Result<RoutedAccount, AppError> {
    let channel = Channel::parse(&row.channel)
        .ok_or_else(|| AppError::internal(format!("unknown channel {}", row.channel)))?;
    Ok(RoutedAccount {
        credentials: open(
            secrets,
            row.secrets.as_deref(),
            row.org_id,
            channel,
            &row.external_id,
        )?,
        id: row.id,
        org_id: row.org_id,
        channel,
        external_id: row.external_id,
        display_handle: row.display_handle,
        connected: row.status == "connected",
        config: serde_json::from_str(&row.config).unwrap_or(serde_json::Value::Null),
        contact_mode: ContactMode::from_key(&row.contact_mode).unwrap_or_default(),
    })
}

/// One account with its credentials opened, for calling its provider.
pub async fn by_id(
    db: &Db,
    secrets: &SecretBox,
    account_id: i64,
) -> Result<Option<RoutedAccount>, AppError> {
    let row: Option<AccountRow> = sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
    ))
    .bind(account_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|row| routed(secrets, row)).transpose()
}

/// The accounts of `channel` with these routing ids (unknown ids are simply absent).
pub async fn routed_accounts(
    db: &Db,
    secrets: &SecretBox,
    channel: Channel,
    external_ids: &[String],
) -> Result<Vec<RoutedAccount>, AppError> {
    let mut found = Vec::with_capacity(external_ids.len());
    for external_id in external_ids {
        let row: Option<AccountRow> = sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE channel = $1 AND external_id = $2"
        ))
        .bind(channel.as_str())
        .bind(external_id)
        .fetch_optional(&db.pool)
        .await?;
        if let Some(row) = row {
            found.push(routed(secrets, row)?);
        }
    }
    Ok(found)
}

/// Every connected account of `channel` (the webhook handshake does not say which one it is for).
pub async fn connected_accounts(
    db: &Db,
    secrets: &SecretBox,
    channel: Channel,
) -> Result<Vec<RoutedAccount>, AppError> {
    let rows: Vec<AccountRow> = sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE channel = $1 AND status = 'connected'"
    ))
    .bind(channel.as_str())
    .fetch_all(&db.pool)
    .await?;
    rows.into_iter().map(|row| routed(secrets, row)).collect()
}

impl RoutedAccount {
    /// A text setting of the account's configuration (`business_id`, `account_sid`).
    pub fn setting(&self, key: &str) -> Option<String> {
        self.config
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }
}

/// How to call the provider for an account.
pub fn access(account: &RoutedAccount, twilio_status_callback: &str) -> channels::api::Access {
    let text = |key: &str| account.setting(key);
    channels::api::Access {
        channel: account.channel,
        external_id: account.external_id.clone(),
        access_token: account.credentials.access_token.clone(),
        business_id: text("business_id"),
        twilio_account_sid: text("account_sid"),
        twilio_auth_token: account.credentials.auth_token.clone(),
        status_callback: Some(twilio_status_callback.to_string()),
    }
}

/// What the settings form sends.
#[derive(Debug, Clone, Default)]
pub struct AccountForm {
    pub id: Option<i64>,
    pub channel: String,
    pub name: String,
    pub external_id: String,
    pub handle: Option<String>,
    pub business_id: Option<String>,
    pub account_sid: Option<String>,
    pub access_token: Option<String>,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub auth_token: Option<String>,
}

/// The routing id as providers send it: digits only (a Twilio number loses `+` and spaces).
pub fn normalize_external_id(channel: Channel, value: &str) -> Option<String> {
    let value = value.trim();
    let value = match channel {
        Channel::Twilio => value.strip_prefix("whatsapp:").unwrap_or(value),
        _ => value,
    };
    let digits: String = value
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')'))
        .collect();
    (!digits.is_empty() && digits.len() <= 32 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

pub mod ssr {
    use super::*;
    use crate::accounts::{AccountView, Accounts};
    use crate::auth::ssr::require;
    use crate::permissions::can_manage_settings;
    use crate::state::AppState;
    use crate::validate;

    fn view(
        account: &RoutedAccount,
        name: String,
        handle: Option<String>,
        standing: crate::standing::Standing,
    ) -> AccountView {
        let text = |key: &str| account.setting(key);
        AccountView {
            id: account.id,
            channel: account.channel,
            name,
            external_id: account.external_id.clone(),
            display_handle: handle,
            business_id: text("business_id"),
            account_sid: text("account_sid"),
            connected: account.connected,
            has_access_token: !account.credentials.access_token.is_empty(),
            has_app_secret: !account.credentials.app_secret.is_empty(),
            has_verify_token: !account.credentials.verify_token.is_empty(),
            has_auth_token: !account.credentials.auth_token.is_empty(),
            standing,
            contact_mode: account.contact_mode,
        }
    }

    pub async fn load_accounts() -> Result<Accounts, AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        #[derive(sqlx::FromRow)]
        struct Listed {
            name: String,
            display_handle: Option<String>,
            standing: String,
            #[sqlx(flatten)]
            row: AccountRow,
        }
        let rows: Vec<Listed> = sqlx::query_as(&format!(
            "SELECT name, standing, {ACCOUNT_COLUMNS} \
             FROM accounts \
             WHERE org_id = $1 \
             ORDER BY status, channel, name, id"
        ))
        .bind(user.org_id)
        .fetch_all(&state.db.pool)
        .await?;
        let mut accounts = Vec::with_capacity(rows.len());
        for listed in rows {
            let account = routed(&state.secrets, listed.row)?;
            let standing = serde_json::from_str(&listed.standing).unwrap_or_default();
            accounts.push(view(&account, listed.name, listed.display_handle, standing));
        }
        Ok(Accounts {
            accounts,
            webhook_base: format!("{}/webhooks", state.settings.public_url),
        })
    }

    fn given(value: Option<String>) -> Option<String> {
        value
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    pub async fn save_account(form: AccountForm) -> Result<AccountView, AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let channel = Channel::parse(&form.channel)
            .ok_or(AppError::invalid(Field::Channel, Problem::Unknown))?;
        let name = validate::name(Field::Name, &form.name)?;
        let external_id = normalize_external_id(channel, &form.external_id).ok_or(
            if form.external_id.trim().is_empty() {
                AppError::invalid(Field::ExternalId, Problem::Required)
            } else {
                AppError::invalid(Field::ExternalId, Problem::Malformed)
            },
        )?;
        let existing = match form.id {
            Some(id) => {
                let account = by_id(&state.db, &state.secrets, id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                let (org_id,): (i64,) = sqlx::query_as("SELECT org_id FROM accounts WHERE id = $1")
                    .bind(id)
                    .fetch_one(&state.db.pool)
                    .await?;
                if org_id != user.org_id {
                    return Err(AppError::NotFound);
                }
                Some(account)
            }
            None => None,
        };
        // Empty secret fields keep what is stored.
        let stored = existing
            .as_ref()
            .map(|a| a.credentials.clone())
            .unwrap_or_default();
        let credentials = Credentials {
            access_token: given(form.access_token).unwrap_or(stored.access_token),
            app_secret: given(form.app_secret).unwrap_or(stored.app_secret),
            verify_token: given(form.verify_token).unwrap_or(stored.verify_token),
            auth_token: given(form.auth_token).unwrap_or(stored.auth_token),
        };
        let business_id = given(form.business_id);
        let account_sid = given(form.account_sid);
        let required: &[(Field, bool)] = match channel {
            Channel::Twilio => &[
                (Field::AccountSid, account_sid.is_some()),
                (Field::AuthToken, !credentials.auth_token.is_empty()),
            ],
            _ => &[
                (Field::AccessToken, !credentials.access_token.is_empty()),
                (Field::AppSecret, !credentials.app_secret.is_empty()),
                (Field::VerifyToken, !credentials.verify_token.is_empty()),
            ],
        };
        if let Some((field, _)) = required.iter().find(|(_, present)| !present) {
            return Err(AppError::invalid(*field, Problem::Required));
        }
        let mut config = serde_json::Map::new();
        if let Some(id) = &business_id {
            config.insert("business_id".into(), id.clone().into());
        }
        if let Some(sid) = &account_sid {
            config.insert("account_sid".into(), sid.clone().into());
        }
        let handle = given(form.handle);
        let new = NewAccount {
            channel,
            name: name.clone(),
            external_id,
            display_handle: handle.clone(),
            config: serde_json::Value::Object(config),
            credentials,
            connected_by: Some(user.id),
        };
        // The provider is asked, with the credentials given, for the very account to bind:
        // a Page or number is bound only by someone whose token reaches it, so nobody binds
        // (and so squats) one that is not theirs. Saving what is already bound, with the same
        // credentials, asks nothing.
        let unchanged = existing.as_ref().is_some_and(|account| {
            account.external_id == new.external_id
                && account.credentials == new.credentials
                && account.config == new.config
        });
        if !unchanged {
            let access = channels::api::Access {
                channel,
                external_id: new.external_id.clone(),
                access_token: new.credentials.access_token.clone(),
                business_id: business_id.clone(),
                twilio_account_sid: account_sid.clone(),
                twilio_auth_token: new.credentials.auth_token.clone(),
                status_callback: None,
            };
            state.api.check(&access).await.map_err(AppError::from)?;
        }
        let id = match existing {
            // Editing may change the routing id too; the row keeps its history.
            Some(account) => {
                sqlx::query(
                    "UPDATE accounts SET name = $1, external_id = $2, display_handle = $3, \
                     config = $4, secrets = $5, business_id = $7 WHERE id = $6",
                )
                .bind(&new.name)
                .bind(&new.external_id)
                .bind(&new.display_handle)
                .bind(new.config.to_string())
                .bind(seal(
                    &state.secrets,
                    &new.credentials,
                    account.org_id,
                    account.channel,
                    &new.external_id,
                ))
                .bind(account.id)
                .bind(business_id.as_deref())
                .execute(&state.db.pool)
                .await
                .on_unique(Field::ExternalId)?;
                account.id
            }
            None => connect(&state.db, &state.secrets, user.org_id, &new).await?,
        };
        changed(&state);
        let saved = by_id(&state.db, &state.secrets, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let standing = crate::accounts::business::standing_of(&state.db, id).await?;
        Ok(view(&saved, name, handle, standing))
    }

    pub async fn set_contact_mode(id: i64, mode: String) -> Result<(), AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let mode = crate::auto_contacts::ContactMode::from_key(mode.trim())
            .ok_or(AppError::invalid(Field::Contact, Problem::Unknown))?;
        let updated =
            sqlx::query("UPDATE accounts SET contact_mode = $1 WHERE id = $2 AND org_id = $3")
                .bind(mode.key())
                .bind(id)
                .bind(user.org_id)
                .execute(&state.db.pool)
                .await?
                .rows_affected();
        if updated == 0 {
            return Err(AppError::NotFound);
        }
        // Webhooks read the mode with the account they route to.
        changed(&state);
        Ok(())
    }

    async fn own_account(
        state: &AppState,
        org_id: i64,
        id: i64,
    ) -> Result<RoutedAccount, AppError> {
        let account = by_id(&state.db, &state.secrets, id)
            .await?
            .filter(|a| a.org_id == org_id)
            .ok_or(AppError::NotFound)?;
        Ok(account)
    }

    pub async fn disconnect_account(id: i64) -> Result<(), AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        own_account(&state, user.org_id, id).await?;
        sqlx::query(
            "UPDATE accounts SET status = 'disconnected', disconnected_at = $1 \
             WHERE id = $2 AND org_id = $3",
        )
        .bind(EpochMs::now())
        .bind(id)
        .bind(user.org_id)
        .execute(&state.db.pool)
        .await?;
        changed(&state);
        Ok(())
    }

    /// Cached copies of accounts are stale now.
    fn changed(state: &AppState) {
        state
            .accounts_version
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    pub async fn import_business_app(id: i64) -> Result<(), AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let account = own_account(&state, user.org_id, id).await?;
        if account.channel != Channel::Whatsapp || !account.connected {
            return Err(AppError::invalid(Field::Account, Problem::Unknown));
        }
        let access = access(&account, &state.settings.twilio_status_callback());
        // Contacts first: history threads then find their names in the CRM.
        for sync_type in ["smb_app_state_sync", "history"] {
            state
                .api
                .request_business_app_sync(&access, sync_type)
                .await
                .map_err(AppError::from)?;
        }
        Ok(())
    }

    pub async fn test_account(id: i64) -> Result<String, AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let account = own_account(&state, user.org_id, id).await?;
        let access = access(&account, &state.settings.twilio_status_callback());
        state.api.check(&access).await.map_err(AppError::from)
    }
}
