//! Organizations: the tenants of one installation.

use crate::epoch::EpochMs;
use crate::error::{AppError, Field, ResultExt};
use crate::permissions::BuiltinRole;

pub type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// Creates an organization with its three built-in roles; returns its id.
pub async fn create(tx: &mut Tx<'_>, name: &str) -> Result<i64, AppError> {
    let now = EpochMs::now();
    let (org_id,): (i64,) =
        sqlx::query_as("INSERT INTO organizations (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(now)
            .fetch_one(&mut **tx)
            .await
            .on_unique(Field::Organization)?;
    for role in BuiltinRole::ALL {
        sqlx::query(
            "INSERT INTO roles (org_id, name, builtin, permissions, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org_id)
        .bind(role.key())
        .bind(role.key())
        .bind(role.permissions().to_keys())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(org_id)
}

/// The id of a built-in role of an organization.
pub async fn builtin_role_id(
    tx: &mut Tx<'_>,
    org_id: i64,
    role: BuiltinRole,
) -> Result<i64, AppError> {
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM roles WHERE org_id = $1 AND builtin = $2")
        .bind(org_id)
        .bind(role.key())
        .fetch_one(&mut **tx)
        .await?;
    Ok(id)
}

/// Whether any organization exists yet (the first run shows the setup page).
pub async fn any_exists(db: &crate::db::Db) -> Result<bool, AppError> {
    let found: Option<(i64,)> = sqlx::query_as("SELECT id FROM organizations LIMIT 1")
        .fetch_optional(&db.pool)
        .await?;
    Ok(found.is_some())
}
