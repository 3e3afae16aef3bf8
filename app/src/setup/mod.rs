//! First run: with an empty database, a setup page creates the first organization and its
//! administrator. Further organizations come from `buzon org add`.
//!
//! Whoever reaches a fresh installation first must not become its administrator: the setup
//! asks for a one-time token that only the operator sees, printed by the server on start
//! (`announce`) or chosen by them (`BUZON_SETUP_TOKEN`). A drawn token is kept in the
//! database, so every instance on it prints and accepts the same one; the setup that uses it
//! removes it.

pub mod page;

use leptos::prelude::*;

use crate::error::AppError;

/// Creates the first organization and its administrator, and signs the administrator in.
#[server(prefix = "/api", endpoint = "setup", output = crate::codec::Json)]
pub async fn setup(
    token: String,
    organization: String,
    name: String,
    email: String,
    password: String,
    language: String,
) -> Result<(), AppError> {
    ssr::setup(token, organization, name, email, password, language)
        .await
        .map_err(AppError::respond)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::auth::ssr::sign_in;
    use crate::auth::{password, Language};
    use crate::db::{Backend, Db};
    use crate::epoch::EpochMs;
    use crate::error::{Field, Problem};
    use crate::permissions::BuiltinRole;
    use crate::state::AppState;
    use crate::state::Settings;
    use crate::users::ssr::{insert_user, NewUser};
    use crate::users::UserStatus;
    use crate::{orgs, validate};

    /// While no organization exists: the setup token (the operator's, or one drawn now and
    /// kept), printed with the link that opens the setup page with it.
    pub async fn announce(db: &Db, settings: &Settings) -> Result<Option<String>, AppError> {
        if orgs::any_exists(db).await? {
            return Ok(None);
        }
        let token = match &settings.setup_token {
            Some(token) => token.clone(),
            None => {
                let drawn = crate::secrets::random_token();
                sqlx::query(
                    "INSERT INTO setup_token (id, token, created_at) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(&drawn)
                .bind(EpochMs::now())
                .execute(&db.pool)
                .await?;
                stored_token(db).await?.unwrap_or(drawn)
            }
        };
        tracing::warn!(
            "No organization yet. Create the first administrator at {}/setup?token={token} \
             (setup token: {token})",
            settings.public_url
        );
        Ok(Some(token))
    }

    async fn stored_token(db: &Db) -> Result<Option<String>, AppError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT token FROM setup_token WHERE id = 1")
            .fetch_optional(&db.pool)
            .await?;
        Ok(row.map(|(token,)| token))
    }

    /// Whether `given` is the setup token, compared through digests so that the time taken
    /// says nothing about how much of it was right.
    async fn token_is_right(db: &Db, settings: &Settings, given: &str) -> Result<bool, AppError> {
        let expected = match &settings.setup_token {
            Some(token) => Some(token.clone()),
            None => stored_token(db).await?,
        };
        let digest = |text: &str| crate::secrets::sha256_hex(text.trim());
        Ok(
            expected.is_some_and(|expected| digest(&expected) == digest(given))
                && !given.is_empty(),
        )
    }

    pub async fn setup(
        token: String,
        organization: String,
        name: String,
        email: String,
        password: String,
        language: String,
    ) -> Result<(), AppError> {
        let state = AppState::current()?;
        if orgs::any_exists(&state.db).await? {
            return Err(AppError::AlreadySetUp);
        }
        if !token_is_right(&state.db, &state.settings, &token).await? {
            return Err(AppError::invalid(Field::SetupToken, Problem::Wrong));
        }
        let organization = validate::name(Field::Organization, &organization)?;
        let name = validate::name(Field::Name, &name)?;
        let email = validate::email(&email)?;
        let password = validate::new_password(Field::Password, &password)?;
        let hash = password::hash(password).await?;
        let language = Language::from_code(&language)
            .ok_or(AppError::invalid(Field::Language, Problem::Unknown))?;

        let mut tx = state.db.begin().await?;
        // Two setups at once: the second waits here for the first, then finds its
        // organization (SQLite's transactions take the write lock at the start already).
        if state.db.backend == Backend::Postgres {
            sqlx::query("LOCK TABLE organizations IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let (organizations,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM organizations")
            .fetch_one(&mut *tx)
            .await?;
        if organizations > 0 {
            return Err(AppError::AlreadySetUp);
        }
        sqlx::query("DELETE FROM setup_token")
            .execute(&mut *tx)
            .await?;
        let org_id = orgs::create(&mut tx, &organization).await?;
        let role_id = orgs::builtin_role_id(&mut tx, org_id, BuiltinRole::Administrator).await?;
        let user_id = insert_user(
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
        tx.commit().await?;
        sign_in(user_id, language).await?;
        leptos_axum::redirect("/");
        Ok(())
    }
}
