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
    let address = address.map(address_key);
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

/// The key a client's failures count under: its address, or for IPv6 its /64 network, which
/// one subscriber holds whole and can take a new address from at every attempt.
fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_network_counts_as_one_client() {
        let key = |a: &str| address_key(a.parse().unwrap());
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            key("2001:db8:1:2::9")
        );
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }
}
