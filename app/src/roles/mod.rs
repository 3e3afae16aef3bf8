//! Custom roles: an administrator defines a role as a set of named permissions.

pub mod page;

use leptos::prelude::*;

use crate::error::AppError;
use crate::permissions::Permission;
use leptos::server_fn::codec::Json;

/// Creates a role (`id` None) or changes a custom one. Built-in roles are fixed.
#[server(prefix = "/api", endpoint = "save_role", input = Json, output = crate::codec::Json)]
pub async fn save_role(
    id: Option<i64>,
    name: String,
    permissions: Vec<Permission>,
) -> Result<i64, AppError> {
    ssr::save_role(id, name, permissions)
        .await
        .map_err(AppError::respond)
}

/// Deletes a custom role nobody holds.
#[server(prefix = "/api", endpoint = "delete_role", output = crate::codec::Json)]
pub async fn delete_role(id: i64) -> Result<(), AppError> {
    ssr::delete_role(id).await.map_err(AppError::respond)
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::auth::ssr::require;
    use crate::auth::{CurrentUser, RoleView};
    use crate::epoch::EpochMs;
    use crate::error::{Field, Problem, ResultExt};
    use crate::permissions::{can_delegate, can_manage_users, PermissionSet};
    use crate::state::AppState;
    use crate::users::ssr::role;
    use crate::validate;

    pub async fn save_role(
        id: Option<i64>,
        name: String,
        permissions: Vec<Permission>,
    ) -> Result<i64, AppError> {
        let me = require(can_manage_users).await?;
        let db = &AppState::current()?.db;
        let name = validate::text(Field::RoleName, &name, validate::ROLE_NAME_MAX)?;
        let permissions = PermissionSet::of(&permissions);
        if !can_delegate(&me.actor(), permissions) {
            return Err(AppError::Forbidden);
        }
        let permissions = permissions.to_keys();
        match id {
            None => {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO roles (org_id, name, builtin, permissions, created_at) \
                     VALUES ($1, $2, NULL, $3, $4) RETURNING id",
                )
                .bind(me.org_id)
                .bind(&name)
                .bind(&permissions)
                .bind(EpochMs::now())
                .fetch_one(&db.pool)
                .await
                .on_unique(Field::RoleName)?;
                Ok(id)
            }
            Some(id) => {
                let existing = role(db, me.org_id, id).await?.ok_or(AppError::NotFound)?;
                if !may_change(&me, &existing) {
                    return Err(AppError::Forbidden);
                }
                sqlx::query(
                    "UPDATE roles SET name = $1, permissions = $2 WHERE org_id = $3 AND id = $4",
                )
                .bind(&name)
                .bind(&permissions)
                .bind(me.org_id)
                .bind(id)
                .execute(&db.pool)
                .await
                .on_unique(Field::RoleName)?;
                // Its holders' open streams apply the new permissions now.
                AppState::current()?.hub.access_changed(me.org_id);
                Ok(id)
            }
        }
    }

    /// Built-in roles are fixed; nobody edits the role they hold themselves, nor one that
    /// grants something they do not hold.
    fn may_change(me: &CurrentUser, role: &RoleView) -> bool {
        role.builtin.is_none()
            && role.id != me.role.id
            && can_delegate(&me.actor(), role.permissions)
    }

    pub async fn delete_role(id: i64) -> Result<(), AppError> {
        let me = require(can_manage_users).await?;
        let db = &AppState::current()?.db;
        let existing = role(db, me.org_id, id).await?.ok_or(AppError::NotFound)?;
        if !may_change(&me, &existing) {
            return Err(AppError::Forbidden);
        }
        let (holders,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM users WHERE org_id = $1 AND role_id = $2")
                .bind(me.org_id)
                .bind(id)
                .fetch_one(&db.pool)
                .await?;
        if holders > 0 {
            return Err(AppError::invalid(Field::Role, Problem::InUse));
        }
        sqlx::query("DELETE FROM roles WHERE org_id = $1 AND id = $2")
            .bind(me.org_id)
            .bind(id)
            .execute(&db.pool)
            .await?;
        Ok(())
    }
}
