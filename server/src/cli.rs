//! Administration from the command line: organizations, users and connected accounts.

use std::io::Read;

use app::auth::{password, Language};
use app::db::Db;
use app::error::{AppError, Field};
use app::users::store::{insert_user, role_by_name, NewUser};
use app::users::UserStatus;
use app::{orgs, validate};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("no organization named or numbered {0:?}")]
    UnknownOrg(String),
    #[error("no role {0:?} in that organization (try admin, seller or editor)")]
    UnknownRole(String),
    #[error("unknown language {0:?} (es or en)")]
    UnknownLanguage(String),
    #[error("cannot read the password from standard input: {0}")]
    Stdin(std::io::Error),
    #[error("unknown channel {0:?} (whatsapp, messenger, instagram or twilio)")]
    UnknownChannel(String),
    #[error("the credentials on standard input are not valid JSON: {0}")]
    Credentials(String),
    #[error("{0}")]
    Invalid(String),
}

impl From<AppError> for CliError {
    fn from(err: AppError) -> CliError {
        CliError::Invalid(match err {
            AppError::Invalid { field, problem } => format!("{field:?}: {problem:?}"),
            other => other.to_string(),
        })
    }
}

/// `buzon org add --name …`; returns the new organization's id.
pub async fn org_add(db: &Db, name: &str, country: Option<&str>) -> Result<i64, CliError> {
    let name = validate::name(Field::Organization, name)?;
    let country = match country.map(|c| c.trim().to_ascii_uppercase()) {
        Some(code) if app::contacts::ssr::phones::known_country(&code) => Some(code),
        Some(code) => return Err(CliError::Invalid(format!("unknown country {code:?}"))),
        None => None,
    };
    let mut tx = db.begin().await.map_err(AppError::from)?;
    let id = orgs::create(&mut tx, &name).await?;
    sqlx::query("UPDATE organizations SET default_country = $1 WHERE id = $2")
        .bind(&country)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(AppError::from)?;
    tx.commit().await.map_err(AppError::from)?;
    Ok(id)
}

pub struct UserAdd<'a> {
    pub org: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub language: &'a str,
}

/// `buzon user add …`; the password comes from `password_source` (standard input).
pub async fn user_add(
    db: &Db,
    user: UserAdd<'_>,
    mut password_source: impl Read,
) -> Result<i64, CliError> {
    let org_id = find_org(db, user.org).await?;
    let role_id = role_by_name(db, org_id, user.role)
        .await?
        .ok_or_else(|| CliError::UnknownRole(user.role.to_string()))?;
    let language = Language::from_code(user.language)
        .ok_or_else(|| CliError::UnknownLanguage(user.language.to_string()))?;
    let email = validate::email(user.email)?;
    let name = validate::name(Field::Name, user.name)?;
    let mut secret = String::new();
    password_source
        .read_to_string(&mut secret)
        .map_err(CliError::Stdin)?;
    let secret = validate::new_password(Field::Password, secret.trim_end_matches(['\n', '\r']))?;
    let hash = password::hash(secret).await?;
    let mut tx = db.begin().await.map_err(AppError::from)?;
    let id = insert_user(
        &mut tx,
        NewUser {
            org_id,
            role_id,
            email: &email,
            name: &name,
            password_hash: Some(&hash),
            status: UserStatus::Active,
            language,
        },
    )
    .await?;
    tx.commit().await.map_err(AppError::from)?;
    Ok(id)
}

async fn find_org(db: &Db, org: &str) -> Result<i64, CliError> {
    let by_id = org.parse::<i64>().ok();
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM organizations WHERE name = $1 OR id = $2")
            .bind(org)
            .bind(by_id.unwrap_or(-1))
            .fetch_optional(&db.pool)
            .await
            .map_err(AppError::from)?;
    row.map(|(id,)| id)
        .ok_or_else(|| CliError::UnknownOrg(org.to_string()))
}

/// The id of the organization's user with that email.
async fn find_user(db: &Db, org_id: i64, email: &str) -> Result<i64, CliError> {
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM users WHERE org_id = $1 AND email = $2")
            .bind(org_id)
            .bind(email.trim().to_lowercase())
            .fetch_optional(&db.pool)
            .await
            .map_err(AppError::from)?;
    found
        .map(|(id,)| id)
        .ok_or_else(|| CliError::Invalid(format!("no user {email:?} there")))
}

pub struct AccountConnect<'a> {
    pub org: &'a str,
    pub channel: &'a str,
    pub external_id: &'a str,
    pub name: &'a str,
    pub handle: Option<&'a str>,
    pub business_id: Option<&'a str>,
    pub account_sid: Option<&'a str>,
    pub connected_by: Option<&'a str>,
}

/// `buzon account connect …`; the credentials (JSON) come from `source` (standard input).
pub async fn account_connect(
    db: &Db,
    secrets: &app::secrets::SecretBox,
    account: AccountConnect<'_>,
    mut source: impl Read,
) -> Result<i64, CliError> {
    use app::accounts::store::{connect, Credentials, NewAccount};
    let org_id = find_org(db, account.org).await?;
    let channel = channels::Channel::parse(account.channel)
        .ok_or_else(|| CliError::UnknownChannel(account.channel.to_string()))?;
    let external_id = account.external_id.trim();
    let name = validate::name(Field::Account, account.name)?;
    if external_id.is_empty() {
        return Err(CliError::Invalid("the external id is required".into()));
    }
    let mut text = String::new();
    source.read_to_string(&mut text).map_err(CliError::Stdin)?;
    let credentials: Credentials =
        serde_json::from_str(&text).map_err(|e| CliError::Credentials(e.to_string()))?;
    let mut config = serde_json::Map::new();
    if let Some(id) = account.business_id {
        config.insert("business_id".into(), id.into());
    }
    if let Some(sid) = account.account_sid {
        config.insert("account_sid".into(), sid.into());
    }
    let new = NewAccount {
        channel,
        name,
        external_id: external_id.to_string(),
        display_handle: account.handle.map(str::to_string),
        config: serde_json::Value::Object(config),
        credentials,
        connected_by: match account.connected_by {
            Some(email) => Some(find_user(db, org_id, email).await?),
            None => None,
        },
    };
    Ok(connect(db, secrets, org_id, &new).await?)
}

pub struct ContactAdd<'a> {
    pub org: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub owner: Option<&'a str>,
}

/// `buzon contact add …`; returns the new contact's id.
pub async fn contact_add(db: &Db, contact: ContactAdd<'_>) -> Result<i64, CliError> {
    let org_id = find_org(db, contact.org).await?;
    let first_name = validate::name(Field::FirstName, contact.first_name)?;
    let last_name = contact.last_name.trim().to_string();
    let (country,): (Option<String>,) =
        sqlx::query_as("SELECT default_country FROM organizations WHERE id = $1")
            .bind(org_id)
            .fetch_one(&db.pool)
            .await
            .map_err(AppError::from)?;
    let phone = match contact.phone.map(str::trim).filter(|p| !p.is_empty()) {
        Some(phone) => Some(
            app::contacts::ssr::phones::normalize(phone, country.as_deref()).map_err(|_| {
                CliError::Invalid(
                    "not a phone number: write it with its country code (+52 …)".into(),
                )
            })?,
        ),
        None => None,
    };
    let email = contact.email.map(validate::email).transpose()?;
    let owner_id = match contact.owner {
        Some(owner) => Some(find_user(db, org_id, owner).await?),
        None => None,
    };
    let now = app::epoch::EpochMs::now();
    let mut tx = db.begin().await.map_err(AppError::from)?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO contacts (org_id, first_name, last_name, email, primary_phone, \
         whatsapp_phone, owner_id, created_at, updated_at, created_from, last_activity_at) \
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $7, 'import', $7) RETURNING id",
    )
    .bind(org_id)
    .bind(first_name)
    .bind(last_name)
    .bind(email)
    .bind(phone)
    .bind(owner_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(AppError::from)?;
    app::contacts::ssr::after_import(&mut tx, org_id, id).await?;
    tx.commit().await.map_err(AppError::from)?;
    Ok(id)
}

/// What `buzon contact import` did.
pub struct Imported {
    pub created: i64,
    pub skipped: i64,
    /// Each row refused: its number and why.
    pub rejects: Vec<(i64, String)>,
}

/// `buzon contact import …`: the file imported as the Contacts page would, with the mapping its
/// headers suggest, in this process (batch by batch, each committed with its progress).
pub async fn contact_import(
    db: &Db,
    org: &str,
    owner: Option<&str>,
    keep_duplicates: bool,
    file: &std::path::Path,
    progress: impl Fn(i64, i64),
) -> Result<Imported, CliError> {
    use app::contacts::import::{ssr as imports, OnDuplicate};
    let org_id = find_org(db, org).await?;
    let owner_id = match owner {
        Some(owner) => Some(find_user(db, org_id, owner).await?),
        None => None,
    };
    let bytes = std::fs::read(file)
        .map_err(|err| CliError::Invalid(format!("{}: {err}", file.display())))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let preview = imports::create(db, org_id, owner_id, &name, &bytes).await?;
    imports::complete(&preview.mapping).map_err(|_| {
        CliError::Invalid(format!(
            "the headers {:?} give no name and no phone or email column",
            preview.columns
        ))
    })?;
    let on_duplicate = match keep_duplicates {
        true => OnDuplicate::Create,
        false => OnDuplicate::Skip,
    };
    imports::queue(db, preview.id, &preview.mapping, on_duplicate).await?;
    imports::run(db, preview.id, progress).await?;
    let done = imports::progress(db, preview.id).await?;
    Ok(Imported {
        created: done.created,
        skipped: done.skipped,
        rejects: done
            .rejects
            .into_iter()
            .map(|r| (r.row, format!("{} ({})", r.error, r.line)))
            .collect(),
    })
}
