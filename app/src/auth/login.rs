//! Checking a login attempt, with failed attempts limited per account and per client address.

use std::net::IpAddr;

use crate::auth::password;
use crate::db::Db;
use crate::epoch::EpochMs;
use crate::error::AppError;

/// Failed attempts allowed in the window before an account is locked for the window's rest.
pub const ACCOUNT_LIMIT: i64 = 5;
/// Failed attempts allowed in the window from one client address, across all accounts.
pub const ADDRESS_LIMIT: i64 = 20;
pub const WINDOW_MS: i64 = 15 * 60 * 1000;

/// Why a login failed, as the login page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    Missing,
    WrongCredentials,
    Deactivated,
    RateLimited { retry_after_secs: u64 },
}

impl LoginFailure {
    /// The code the login page receives in its query string.
    pub fn code(self) -> &'static str {
        match self {
            LoginFailure::Missing => "missing",
            LoginFailure::WrongCredentials => "credentials",
            LoginFailure::Deactivated => "deactivated",
            LoginFailure::RateLimited { .. } => "rate_limited",
        }
    }
}

/// Checks an email and password; on success returns the user's id.
pub async fn authenticate(
    db: &Db,
    email: &str,
    password: &str,
    address: Option<IpAddr>,
) -> Result<Result<i64, LoginFailure>, AppError> {
    let email = email.trim().to_lowercase();
    if email.is_empty() || password.is_empty() {
        return Ok(Err(LoginFailure::Missing));
    }
    let address = address.map(|a| a.to_string());
    let now = EpochMs::now();
    if let Some(wait) = lockout(db, "account", &email, ACCOUNT_LIMIT, now).await? {
        return Ok(Err(LoginFailure::RateLimited {
            retry_after_secs: wait,
        }));
    }
    if let Some(address) = &address {
        if let Some(wait) = lockout(db, "address", address, ADDRESS_LIMIT, now).await? {
            return Ok(Err(LoginFailure::RateLimited {
                retry_after_secs: wait,
            }));
        }
    }

    let user: Option<(i64, Option<String>, String)> =
        sqlx::query_as("SELECT id, password_hash, status FROM users WHERE email = $1")
            .bind(&email)
            .fetch_optional(&db.pool)
            .await?;
    let (id, hash, status) = match user {
        Some((id, hash, status)) => (Some(id), hash, status),
        None => (None, None, String::new()),
    };
    if !password::verify(password.to_string(), hash).await? {
        record_failure(db, "account", &email, now).await?;
        if let Some(address) = &address {
            record_failure(db, "address", address, now).await?;
        }
        return Ok(Err(LoginFailure::WrongCredentials));
    }
    let id = id.ok_or(AppError::Internal)?;
    if status != "active" {
        return Ok(Err(LoginFailure::Deactivated));
    }
    sqlx::query("DELETE FROM login_failures WHERE scope = 'account' AND key = $1")
        .bind(&email)
        .execute(&db.pool)
        .await?;
    Ok(Ok(id))
}

/// Seconds until `key` may try again, when it has used up its failures in the window.
async fn lockout(
    db: &Db,
    scope: &str,
    key: &str,
    limit: i64,
    now: EpochMs,
) -> Result<Option<u64>, AppError> {
    let (count, oldest): (i64, Option<EpochMs>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(at) FROM login_failures WHERE scope = $1 AND key = $2 AND at > $3",
    )
    .bind(scope)
    .bind(key)
    .bind(now - WINDOW_MS)
    .fetch_one(&db.pool)
    .await?;
    Ok(match oldest {
        Some(oldest) if count >= limit => {
            Some((((oldest + WINDOW_MS - now).max(1000)) / 1000) as u64)
        }
        _ => None,
    })
}

async fn record_failure(db: &Db, scope: &str, key: &str, now: EpochMs) -> Result<(), AppError> {
    // Old failures no longer count; drop them while we are here.
    sqlx::query("DELETE FROM login_failures WHERE scope = $1 AND key = $2 AND at <= $3")
        .bind(scope)
        .bind(key)
        .bind(now - WINDOW_MS)
        .execute(&db.pool)
        .await?;
    sqlx::query("INSERT INTO login_failures (scope, key, at) VALUES ($1, $2, $3)")
        .bind(scope)
        .bind(key)
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(())
}
