//! Login sessions kept in Buzón's own database (both backends), so they survive restarts and
//! are shared by several server instances. A session is stored under the SHA-256 of its id
//! (`stored_id`), never the id itself: a copy of the table or a backup signs nobody in.

use async_trait::async_trait;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};

use crate::auth::USER_ID_KEY;
use crate::db::Db;
use crate::epoch::EpochMs;

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> DbSessionStore {
        DbSessionStore { db }
    }

    /// Removes expired sessions; run periodically.
    pub async fn delete_expired(&self) -> Result<u64> {
        let result = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(EpochMs::now())
            .execute(&self.db.pool)
            .await
            .map_err(backend)?;
        Ok(result.rows_affected())
    }
}

/// The key a session is stored under: the hex SHA-256 of the id its cookie carries.
pub fn stored_id(id: &str) -> String {
    crate::secrets::sha256_hex(id)
}

/// Ends every session of a user but the one stored under `keep` (a password change, "sign
/// out other devices").
pub async fn end_other_sessions(
    db: &Db,
    user_id: i64,
    keep: Option<&str>,
) -> std::result::Result<u64, sqlx::Error> {
    let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user_id)
        .bind(keep.map(stored_id).unwrap_or_default())
        .execute(&db.pool)
        .await?;
    Ok(ended.rows_affected())
}

/// Ends every session of a user at once (deactivation, password change elsewhere).
pub async fn end_sessions_of_user(
    connection: &mut sqlx::AnyConnection,
    user_id: i64,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(connection)
        .await?;
    Ok(())
}

fn backend(err: sqlx::Error) -> Error {
    Error::Backend(err.to_string())
}

fn columns(record: &Record) -> Result<(String, Option<i64>, String, i64)> {
    let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
    let user_id = record.data.get(USER_ID_KEY).and_then(|v| v.as_i64());
    Ok((
        stored_id(&record.id.to_string()),
        user_id,
        data,
        epoch_ms(record.expiry_date),
    ))
}

/// A moment as Buzón stores every timestamp: milliseconds since the Unix epoch.
fn epoch_ms(moment: OffsetDateTime) -> i64 {
    (moment.unix_timestamp_nanos() / 1_000_000) as i64
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // A fresh random id colliding is astronomically unlikely; if it happens, draw again.
        loop {
            let (id, user_id, data, expires_at) = columns(record)?;
            let inserted = sqlx::query(
                "INSERT INTO sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(user_id)
            .bind(data)
            .bind(expires_at)
            .execute(&self.db.pool)
            .await
            .map_err(backend)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let (id, user_id, data, expires_at) = columns(record)?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, \
             expires_at = excluded.expires_at",
        )
        .bind(id)
        .bind(user_id)
        .bind(data)
        .bind(expires_at)
        .execute(&self.db.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2",
        )
        .bind(stored_id(&id.to_string()))
        .bind(EpochMs::now())
        .fetch_optional(&self.db.pool)
        .await
        .map_err(backend)?;
        let Some((data, expires_at)) = row else {
            return Ok(None);
        };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data).map_err(|e| Error::Decode(e.to_string()))?,
            expiry_date: OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(expires_at) * 1_000_000,
            )
            .map_err(|e| Error::Decode(e.to_string()))?,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(stored_id(&id.to_string()))
            .execute(&self.db.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
