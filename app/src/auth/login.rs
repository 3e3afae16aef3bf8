//! Checking a login attempt, with tries limited per account and per client address.
//!
//! A try is reserved in the database before its password is hashed, in one conditional
//! statement, so that any number of simultaneous requests get no more tries than one after the
//! other would. Past a few free failures each further try waits, longer after each failure
//! (5 s, 10 s, 20 s … up to 5 minutes), rather than a hard lockout: five wrong passwords typed
//! by someone else cost an administrator seconds, while a guesser gets a dozen tries an hour.

use std::net::IpAddr;

use crate::auth::password;
use crate::db::Db;
use crate::epoch::EpochMs;
use crate::error::AppError;

/// Failures of one account that cost no wait.
pub const ACCOUNT_FREE: i64 = 5;
/// Failures from one client address, across all accounts, that cost no wait.
pub const ADDRESS_FREE: i64 = 20;
/// The wait after the first failure past the free ones; it doubles at each further failure.
pub const FIRST_WAIT_MS: i64 = 5_000;
/// The longest wait between two tries.
pub const MAX_WAIT_MS: i64 = 5 * 60 * 1000;
/// After this long without a try, past failures no longer count.
pub const QUIET_MS: i64 = 15 * 60 * 1000;

/// Why a login failed, as the login page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    Missing,
    WrongCredentials,
    Deactivated,
    RateLimited {
        retry_after_secs: u64,
    },
    /// Too many passwords are being checked at this moment; nothing was counted.
    Busy,
}

impl LoginFailure {
    /// The code the login page receives in its query string.
    pub fn code(self) -> &'static str {
        match self {
            LoginFailure::Missing => "missing",
            LoginFailure::WrongCredentials => "credentials",
            LoginFailure::Deactivated => "deactivated",
            LoginFailure::RateLimited { .. } => "rate_limited",
            LoginFailure::Busy => "busy",
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
    let user: Option<(i64, Option<String>, String)> = sqlx::query_as(
        "SELECT id, password_hash, status FROM users \
             WHERE email = $1 AND password_hash IS NOT NULL",
    )
    .bind(&email)
    .fetch_optional(&db.pool)
    .await?;
    let (id, hash, status) = match user {
        Some((id, hash, status)) => (Some(id), hash, status),
        None => (None, None, String::new()),
    };
    let address = address.map(address_key);
    match guarded_verify(db, &email, address.as_deref(), password.to_string(), hash).await {
        Ok(true) => {}
        Ok(false) => return Ok(Err(LoginFailure::WrongCredentials)),
        Err(AppError::RateLimited { retry_after_secs }) => {
            return Ok(Err(LoginFailure::RateLimited { retry_after_secs }))
        }
        Err(AppError::Busy) => return Ok(Err(LoginFailure::Busy)),
        Err(err) => return Err(err),
    }
    let id = id.ok_or(AppError::Internal)?;
    if status != "active" {
        return Ok(Err(LoginFailure::Deactivated));
    }
    Ok(Ok(id))
}

/// Checks `password` against `stored` as a try of `account` (an email) from `address`: the
/// try is reserved first (`AppError::RateLimited` when it must wait), the hash checked within
/// the server's hashing limit (`AppError::Busy` when it is full), and a right password, or a
/// try that could not be checked, gives the try back.
pub async fn guarded_verify(
    db: &Db,
    account: &str,
    address: Option<&str>,
    password: String,
    stored: Option<String>,
) -> Result<bool, AppError> {
    let now = EpochMs::now();
    if let Err(wait) = reserve(db, "account", account, ACCOUNT_FREE, now).await? {
        return Err(AppError::RateLimited {
            retry_after_secs: wait,
        });
    }
    if let Some(address) = address {
        if let Err(wait) = reserve(db, "address", address, ADDRESS_FREE, now).await? {
            give_back(db, "account", account).await?;
            return Err(AppError::RateLimited {
                retry_after_secs: wait,
            });
        }
    }
    let checked = password::verify(password, stored).await;
    if !matches!(checked, Ok(false)) {
        if checked.is_ok() {
            // A success clears the account's failures, not only this try.
            sqlx::query("DELETE FROM login_throttle WHERE scope = 'account' AND key = $1")
                .bind(account)
                .execute(&db.pool)
                .await?;
        } else {
            give_back(db, "account", account).await?;
        }
        if let Some(address) = address {
            give_back(db, "address", address).await?;
        }
    }
    checked
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

/// The wait before the next try after `failures` failures in a row.
fn wait_after(failures: i64, free: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = (failures - free).min(20) as u32;
    FIRST_WAIT_MS
        .saturating_mul(1 << doublings)
        .min(MAX_WAIT_MS)
}

/// The throttle's row for one account or address.
#[derive(sqlx::FromRow)]
struct Throttle {
    failures: i64,
    last_at: EpochMs,
    next_at: EpochMs,
}

/// Reserves a try for `key`, counted as a failure until it is given back: `Err(seconds)` when
/// the key must wait that long first. Each change is conditional on the row read, so that of
/// simultaneous tries exactly one moves it on at a time.
async fn reserve(
    db: &Db,
    scope: &str,
    key: &str,
    free: i64,
    now: EpochMs,
) -> Result<Result<(), u64>, AppError> {
    // Simultaneous tries go one round each per try that gets through; past a few rounds the
    // key is so busy that waiting a second is the honest answer.
    for _ in 0..(free + 4) {
        let row: Option<Throttle> = sqlx::query_as(
            "SELECT failures, last_at, next_at FROM login_throttle WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(&db.pool)
        .await?;
        let changed = match row {
            None => sqlx::query(
                "INSERT INTO login_throttle (scope, key, failures, last_at, next_at)                  VALUES ($1, $2, 1, $3, $4) ON CONFLICT (scope, key) DO NOTHING",
            )
            .bind(scope)
            .bind(key)
            .bind(now)
            .bind(now + wait_after(1, free))
            .execute(&db.pool)
            .await?
            .rows_affected(),
            Some(row) if row.next_at > now => {
                return Ok(Err(((row.next_at - now).max(1000) as u64).div_ceil(1000)));
            }
            Some(row) => {
                let failures = if now - row.last_at > QUIET_MS {
                    1
                } else {
                    row.failures + 1
                };
                sqlx::query(
                    "UPDATE login_throttle SET failures = $1, last_at = $2, next_at = $3                      WHERE scope = $4 AND key = $5 AND failures = $6 AND last_at = $7",
                )
                .bind(failures)
                .bind(now)
                .bind(now + wait_after(failures, free))
                .bind(scope)
                .bind(key)
                .bind(row.failures)
                .bind(row.last_at)
                .execute(&db.pool)
                .await?
                .rows_affected()
            }
        };
        if changed == 1 {
            return Ok(Ok(()));
        }
    }
    Ok(Err(1))
}

/// Gives a reserved try back: it was right, or it could not be checked.
async fn give_back(db: &Db, scope: &str, key: &str) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE login_throttle SET failures = failures - 1, next_at = last_at          WHERE scope = $1 AND key = $2 AND failures > 0",
    )
    .bind(scope)
    .bind(key)
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

    #[test]
    fn the_wait_grows_past_the_free_failures_and_stops_growing() {
        assert_eq!(wait_after(1, ACCOUNT_FREE), 0);
        assert_eq!(wait_after(ACCOUNT_FREE - 1, ACCOUNT_FREE), 0);
        assert_eq!(wait_after(ACCOUNT_FREE, ACCOUNT_FREE), 5_000);
        assert_eq!(wait_after(ACCOUNT_FREE + 1, ACCOUNT_FREE), 10_000);
        assert_eq!(wait_after(ACCOUNT_FREE + 3, ACCOUNT_FREE), 40_000);
        assert_eq!(wait_after(ACCOUNT_FREE + 6, ACCOUNT_FREE), MAX_WAIT_MS);
        assert_eq!(wait_after(10_000, ACCOUNT_FREE), MAX_WAIT_MS);
    }
}
