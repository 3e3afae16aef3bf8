//! Accounts in the database. Credentials are one sealed JSON document per account.

use channels::Channel;
use serde::{Deserialize, Serialize};

use crate::db::{now_ms, Db};
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
    pub connected: bool,
    pub config: serde_json::Value,
    pub credentials: Credentials,
}

pub fn seal(secrets: &SecretBox, credentials: &Credentials) -> Vec<u8> {
    secrets.seal(&serde_json::to_vec(credentials).expect("credentials serialise"))
}

pub fn open(secrets: &SecretBox, sealed: Option<&[u8]>) -> Result<Credentials, AppError> {
    match sealed {
        None => Ok(Credentials::default()),
        Some(sealed) => {
            let plain = secrets.open(sealed).map_err(AppError::internal)?;
            serde_json::from_slice(&plain).map_err(AppError::internal)
        }
    }
}

/// Connects an account, or reconnects it with new settings if this organization had it;
/// returns its id. WhatsApp lines are limited per organization (R2).
pub async fn connect(
    db: &Db,
    secrets: &SecretBox,
    org_id: i64,
    new: &NewAccount,
) -> Result<i64, AppError> {
    let now = now_ms();
    let existing: Option<(i64,)> = sqlx::query_as(
        "UPDATE accounts SET name = $1, display_handle = $2, config = $3, secrets = $4, \
         status = 'connected', disconnected_at = NULL, connected_by = COALESCE($5, connected_by) \
         WHERE org_id = $6 AND channel = $7 AND external_id = $8 RETURNING id",
    )
    .bind(&new.name)
    .bind(&new.display_handle)
    .bind(new.config.to_string())
    .bind(seal(secrets, &new.credentials))
    .bind(new.connected_by)
    .bind(org_id)
    .bind(new.channel.as_str())
    .bind(&new.external_id)
    .fetch_optional(&db.pool)
    .await?;
    if let Some((id,)) = existing {
        return Ok(id);
    }
    if new.channel == Channel::Whatsapp {
        let (lines,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM accounts WHERE org_id = $1 AND channel = 'whatsapp' \
             AND status = 'connected'",
        )
        .bind(org_id)
        .fetch_one(&db.pool)
        .await?;
        if lines >= super::MAX_WHATSAPP_LINES {
            return Err(AppError::invalid(
                Field::Account,
                Problem::TooMany {
                    max: super::MAX_WHATSAPP_LINES as usize,
                },
            ));
        }
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO accounts (org_id, channel, name, external_id, display_handle, config, \
         secrets, status, connected_by, connected_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'connected', $8, $9, $9) RETURNING id",
    )
    .bind(org_id)
    .bind(new.channel.as_str())
    .bind(&new.name)
    .bind(&new.external_id)
    .bind(&new.display_handle)
    .bind(new.config.to_string())
    .bind(seal(secrets, &new.credentials))
    .bind(new.connected_by)
    .bind(now)
    .fetch_one(&db.pool)
    .await
    .on_unique(Field::Account)?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: i64,
    org_id: i64,
    channel: String,
    external_id: String,
    status: String,
    config: String,
    secrets: Option<Vec<u8>>,
}

const ACCOUNT_COLUMNS: &str = "id, org_id, channel, external_id, status, config, secrets";

fn routed(secrets: &SecretBox, row: AccountRow) -> Result<RoutedAccount, AppError> {
    Ok(RoutedAccount {
        id: row.id,
        org_id: row.org_id,
        channel: Channel::parse(&row.channel)
            .ok_or_else(|| AppError::internal(format!("unknown channel {}", row.channel)))?,
        external_id: row.external_id,
        connected: row.status == "connected",
        config: serde_json::from_str(&row.config).unwrap_or(serde_json::Value::Null),
        credentials: open(secrets, row.secrets.as_deref())?,
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
