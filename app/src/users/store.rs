//! SQL for users, roles and invitations. Every query takes the caller's organization.

use crate::auth::ssr::role_view;
use crate::auth::{Language, RoleView};
use crate::db::Db;
use crate::epoch::EpochMs;
use crate::error::{AppError, Field, ResultExt};
use crate::orgs::Tx;
use crate::users::{TeamMember, UserStatus};

pub struct NewUser<'a> {
    pub org_id: i64,
    pub role_id: i64,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: Option<&'a str>,
    pub status: UserStatus,
    pub language: Language,
}

pub async fn insert_user(tx: &mut Tx<'_>, user: NewUser<'_>) -> Result<i64, AppError> {
    let now = EpochMs::now();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO users (org_id, role_id, email, name, password_hash, status, language, \
                            created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(user.org_id)
    .bind(user.role_id)
    .bind(user.email)
    .bind(user.name)
    .bind(user.password_hash)
    .bind(user.status.key())
    .bind(user.language.code())
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .on_unique(Field::Email)?;
    Ok(id)
}

/// A user as the team page lists them.
#[derive(sqlx::FromRow)]
struct MemberRow {
    id: i64,
    name: String,
    email: String,
    role_id: i64,
    status: String,
}

pub async fn members(db: &Db, org_id: i64) -> Result<Vec<TeamMember>, AppError> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "SELECT id, name, email, role_id, status FROM users WHERE org_id = $1 \
         ORDER BY lower(name), email",
    )
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let status = UserStatus::from_key(&row.status)
                .ok_or_else(|| AppError::internal(format!("unknown status {:?}", row.status)))?;
            Ok(TeamMember {
                id: row.id,
                name: row.name,
                email: row.email,
                role_id: row.role_id,
                status,
            })
        })
        .collect()
}

/// A role as stored: its permissions a JSON list of their keys.
#[derive(sqlx::FromRow)]
struct RoleRow {
    id: i64,
    name: String,
    builtin: Option<String>,
    permissions: String,
}

pub async fn roles(db: &Db, org_id: i64) -> Result<Vec<RoleView>, AppError> {
    let rows: Vec<RoleRow> = sqlx::query_as(
        "SELECT id, name, builtin, permissions FROM roles WHERE org_id = $1 ORDER BY id",
    )
    .bind(org_id)
    .fetch_all(&db.pool)
    .await?;
    rows.into_iter()
        .map(|row| role_view(row.id, row.name, row.builtin, &row.permissions))
        .collect()
}

pub async fn role(db: &Db, org_id: i64, role_id: i64) -> Result<Option<RoleView>, AppError> {
    let row: Option<RoleRow> = sqlx::query_as(
        "SELECT id, name, builtin, permissions FROM roles WHERE org_id = $1 AND id = $2",
    )
    .bind(org_id)
    .bind(role_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|row| role_view(row.id, row.name, row.builtin, &row.permissions))
        .transpose()
}

/// A role by its name (built-in roles by their key: admin, seller, editor).
pub async fn role_by_name(db: &Db, org_id: i64, name: &str) -> Result<Option<i64>, AppError> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM roles WHERE org_id = $1 AND lower(name) = lower($2)")
            .bind(org_id)
            .bind(name.trim())
            .fetch_optional(&db.pool)
            .await?;
    Ok(row.map(|(id,)| id))
}

/// The role a user of the organization holds.
pub async fn role_of_user(
    tx: &mut Tx<'_>,
    org_id: i64,
    user_id: i64,
) -> Result<Option<RoleView>, AppError> {
    let row: Option<RoleRow> = sqlx::query_as(
        "SELECT r.id, r.name, r.builtin, r.permissions FROM users u \
         JOIN roles r ON r.id = u.role_id AND r.org_id = u.org_id \
         WHERE u.org_id = $1 AND u.id = $2",
    )
    .bind(org_id)
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| role_view(row.id, row.name, row.builtin, &row.permissions))
        .transpose()
}

/// Locks the organization's Administrator role until the transaction ends (PostgreSQL):
/// changes that could remove an Administrator happen one at a time.
pub async fn lock_administrators(tx: &mut Tx<'_>, org_id: i64) -> Result<(), AppError> {
    sqlx::query("SELECT id FROM roles WHERE org_id = $1 AND builtin = 'admin' FOR UPDATE")
        .bind(org_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(())
}

/// Whether an active Administrator other than `user_id` is left.
pub async fn another_active_administrator(
    tx: &mut Tx<'_>,
    org_id: i64,
    user_id: i64,
) -> Result<bool, AppError> {
    let (others,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM users u JOIN roles r ON r.id = u.role_id AND r.org_id = u.org_id \
         WHERE u.org_id = $1 AND u.id <> $2 AND u.status = 'active' AND r.builtin = 'admin'",
    )
    .bind(org_id)
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(others > 0)
}

pub async fn set_role(
    tx: &mut Tx<'_>,
    org_id: i64,
    user_id: i64,
    role_id: i64,
) -> Result<(), AppError> {
    sqlx::query("UPDATE users SET role_id = $1, updated_at = $2 WHERE org_id = $3 AND id = $4")
        .bind(role_id)
        .bind(EpochMs::now())
        .bind(org_id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Activates or deactivates a user who has accepted their invitation (a pending invitee stays
/// pending when "reactivated").
pub async fn set_status(
    tx: &mut Tx<'_>,
    org_id: i64,
    user_id: i64,
    status: UserStatus,
) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE users SET status = CASE WHEN password_hash IS NULL THEN \
                 (CASE WHEN $1 = 'active' THEN 'invited' ELSE $1 END) ELSE $1 END, \
                 updated_at = $2 \
         WHERE org_id = $3 AND id = $4",
    )
    .bind(status.key())
    .bind(EpochMs::now())
    .bind(org_id)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes a user who never accepted their invitation (and, by cascade, the invitation).
pub async fn delete_pending_user(db: &Db, org_id: i64, user_id: i64) -> Result<(), AppError> {
    sqlx::query("DELETE FROM users WHERE org_id = $1 AND id = $2 AND status = 'invited'")
        .bind(org_id)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn insert_invite(
    tx: &mut Tx<'_>,
    org_id: i64,
    user_id: i64,
    token_hash: &str,
    created_by: i64,
    expires_at: EpochMs,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO invites (org_id, user_id, token_hash, created_by, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(org_id)
    .bind(user_id)
    .bind(token_hash)
    .bind(created_by)
    .bind(expires_at)
    .bind(EpochMs::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub struct Invite {
    pub id: i64,
    pub org_id: i64,
    pub user_id: i64,
    pub email: String,
    pub org_name: String,
    pub language: Language,
    pub expires_at: EpochMs,
    pub used_at: Option<EpochMs>,
}

#[derive(sqlx::FromRow)]
struct InviteRow {
    id: i64,
    org_id: i64,
    user_id: i64,
    email: String,
    org_name: String,
    language: String,
    expires_at: EpochMs,
    used_at: Option<EpochMs>,
    status: String,
}

/// Looks an invitation up by the hash of its token. The token is the only key a stranger
/// holds, so this lookup is not scoped by organization; everything after it is.
pub async fn invite_by_token_hash(db: &Db, token_hash: &str) -> Result<Option<Invite>, AppError> {
    let row: Option<InviteRow> = sqlx::query_as(
        "SELECT i.id, i.org_id, i.user_id, u.email, o.name AS org_name, u.language, i.expires_at, \
                    i.used_at, u.status \
             FROM invites i \
             JOIN users u ON u.id = i.user_id AND u.org_id = i.org_id \
             JOIN organizations o ON o.id = i.org_id \
             WHERE i.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|row| Invite {
        id: row.id,
        org_id: row.org_id,
        user_id: row.user_id,
        email: row.email,
        org_name: row.org_name,
        language: Language::from_code(&row.language).unwrap_or_default(),
        expires_at: row.expires_at,
        // An invitee deactivated before accepting cannot use the link either.
        used_at: row
            .used_at
            .or((row.status == UserStatus::Deactivated.key()).then_some(row.expires_at)),
    }))
}

/// Marks an invitation used; `false` when someone else used it first.
pub async fn claim_invite(tx: &mut Tx<'_>, invite_id: i64, now: EpochMs) -> Result<bool, AppError> {
    let result = sqlx::query("UPDATE invites SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(invite_id)
        .execute(&mut **tx)
        .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn activate_invited(
    tx: &mut Tx<'_>,
    org_id: i64,
    user_id: i64,
    name: &str,
    password_hash: &str,
) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE users SET name = $1, password_hash = $2, status = 'active', updated_at = $3 \
         WHERE org_id = $4 AND id = $5 AND status = 'invited'",
    )
    .bind(name)
    .bind(password_hash)
    .bind(EpochMs::now())
    .bind(org_id)
    .bind(user_id)
    .execute(&mut **tx)
    .await
    // The invitee's email has an account in another organization already.
    .on_unique(Field::Invite)?;
    Ok(())
}

/// The profile fields a user edits about themselves.
pub async fn update_profile(
    db: &Db,
    org_id: i64,
    user_id: i64,
    name: &str,
    language: Language,
    sound_enabled: bool,
) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE users SET name = $1, language = $2, sound_enabled = $3, updated_at = $4 \
         WHERE org_id = $5 AND id = $6",
    )
    .bind(name)
    .bind(language.code())
    .bind(i64::from(sound_enabled))
    .bind(EpochMs::now())
    .bind(org_id)
    .bind(user_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn password_hash(db: &Db, org_id: i64, user_id: i64) -> Result<Option<String>, AppError> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT password_hash FROM users WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(row.and_then(|(hash,)| hash))
}

pub async fn set_password_hash(
    db: &Db,
    org_id: i64,
    user_id: i64,
    password_hash: &str,
) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE users SET password_hash = $1, updated_at = $2 WHERE org_id = $3 AND id = $4",
    )
    .bind(password_hash)
    .bind(EpochMs::now())
    .bind(org_id)
    .bind(user_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}
