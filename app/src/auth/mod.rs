//! Who is signed in: the session, the current user and their permissions, login and logout.

#[cfg(feature = "ssr")]
pub mod login;
pub mod login_page;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod session_store;
/// The signed-in user as every page reads it, and signing out.
mod signed_in;

pub use signed_in::{LogoutButton, Me, ShownName, WithUser};

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::permissions::{Actor, BuiltinRole, PermissionSet};

/// The session key holding the signed-in user's id.
pub const USER_ID_KEY: &str = "user_id";

pub use crate::kit::locale::Language;

/// A role as the interface shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleView {
    pub id: i64,
    /// The stored name; built-in roles are shown by their translated name instead.
    pub name: String,
    pub builtin: Option<BuiltinRole>,
    pub permissions: PermissionSet,
}
crate::from_json!(RoleView {
    id,
    name,
    builtin,
    permissions
});

/// The signed-in user, as every page needs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub email: String,
    pub name: String,
    pub language: Language,
    pub sound_enabled: bool,
    /// Whether they take conversations now; the inbox's availability button starts here.
    pub available: bool,
    pub role: RoleView,
}
crate::from_json!(CurrentUser {
    id,
    org_id,
    org_name,
    email,
    name,
    language,
    sound_enabled,
    available,
    role
});

impl CurrentUser {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.id,
            org_id: self.org_id,
            permissions: self.role.permissions,
        }
    }
}

/// Whether the installation still needs its first organization.
#[server(prefix = "/api", endpoint = "needs_setup", output = crate::codec::Json)]
pub async fn needs_setup() -> Result<bool, AppError> {
    let state = crate::state::AppState::current()?;
    Ok(!crate::orgs::any_exists(&state.db)
        .await
        .map_err(AppError::respond)?)
}

/// The signed-in user, or `None` when nobody is.
#[server(prefix = "/api", endpoint = "me", output = crate::codec::Read)]
pub async fn fetch_current_user() -> Result<Option<CurrentUser>, AppError> {
    match ssr::require_user().await {
        Ok(user) => Ok(Some(user)),
        Err(AppError::Unauthenticated) => Ok(None),
        Err(err) => Err(err.respond()),
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::collections::HashMap;

    use tower_sessions::Session;

    use super::*;
    use crate::db::Db;
    use crate::state::AppState;

    /// The session key holding the day (since 1970) of the session's last use.
    const SEEN_DAY_KEY: &str = "seen_day";

    /// The session of the current request.
    pub async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>()
            .await
            .map_err(AppError::internal)
    }

    /// The user of one request, once loaded: a page render asks for it in every resource
    /// and a server function in every check. Given to each request's context by the server.
    /// Resources that start side by side wait for one load rather than each making their own.
    #[derive(Clone, Default)]
    pub struct RequestUser {
        user: std::sync::Arc<std::sync::Mutex<Option<CurrentUser>>>,
        loading: std::sync::Arc<tokio::sync::Mutex<()>>,
    }

    impl RequestUser {
        fn get(&self) -> Option<CurrentUser> {
            self.user.lock().ok().and_then(|user| user.clone())
        }

        fn set(&self, user: Option<CurrentUser>) {
            if let Ok(mut kept) = self.user.lock() {
                *kept = user;
            }
        }
    }

    /// The users of the sessions seen lately, by session id: a guess, never trusted, that lets
    /// a request's reads start side by side with the check of its session (see `read_as`).
    #[derive(Clone, Default)]
    pub struct SessionUsers(std::sync::Arc<std::sync::Mutex<HashMap<String, CurrentUser>>>);

    impl SessionUsers {
        /// Enough for every agent of a large team on several devices; past it, the guesses
        /// start again from nothing (each costs its request the wait for the session check).
        const MAX: usize = 10_000;

        /// The server's cache (`AppState::extensions`), when it keeps one.
        fn of(state: &AppState) -> Option<&SessionUsers> {
            state.extensions.get::<SessionUsers>()
        }

        fn guess(&self, session_id: &str) -> Option<CurrentUser> {
            self.0.lock().ok()?.get(session_id).cloned()
        }

        fn remember(&self, session_id: String, user: &CurrentUser) {
            if let Ok(mut users) = self.0.lock() {
                if users.get(&session_id) == Some(user) {
                    return;
                }
                if users.len() >= Self::MAX {
                    users.clear();
                }
                users.insert(session_id, user.clone());
            }
        }

        fn forget(&self, session_id: &str) {
            if let Ok(mut users) = self.0.lock() {
                users.remove(session_id);
            }
        }
    }

    /// The signed-in, active user of the current request. Loaded from the database once per
    /// request, so a role change or a deactivation takes effect on the very next request.
    pub async fn require_user() -> Result<CurrentUser, AppError> {
        let Some(kept) = use_context::<RequestUser>() else {
            return load_signed_in().await;
        };
        if let Some(user) = kept.get() {
            return Ok(user);
        }
        let _loading = kept.loading.lock().await;
        if let Some(user) = kept.get() {
            return Ok(user);
        }
        let user = load_signed_in().await?;
        kept.set(Some(user.clone()));
        Ok(user)
    }

    /// `read` for the signed-in user, who must hold the permission checked by `allowed`, as
    /// `require` and then `read` would give it, but in the time of the slower of the two
    /// alone: a request whose session was seen before reads for the user it belonged to then
    /// while its session is checked, and keeps that read only if the check finds the very same
    /// user (role, permissions and all); otherwise it reads again for the user found. Only for
    /// reads: `read` may run for a user the request turns out not to have.
    pub async fn read_as<T, Read, Reading>(
        allowed: impl Fn(&Actor) -> bool,
        read: Read,
    ) -> Result<T, AppError>
    where
        Read: Fn(CurrentUser) -> Reading,
        Reading: std::future::Future<Output = Result<T, AppError>>,
    {
        if let Some(guess) = guessed_user().await {
            if allowed(&guess.actor()) {
                let (checked, early) = tokio::join!(require_user(), read(guess.clone()));
                if checked? == guess {
                    return early;
                }
            }
        }
        read(require(allowed).await?).await
    }

    /// The user this request's session belonged to when last checked, unless this request
    /// has checked it already.
    async fn guessed_user() -> Option<CurrentUser> {
        if use_context::<RequestUser>()?.get().is_some() {
            return None;
        }
        let id = session().await.ok()?.id()?;
        SessionUsers::of(&AppState::current().ok()?)?.guess(&id.to_string())
    }

    async fn load_signed_in() -> Result<CurrentUser, AppError> {
        let state = AppState::current()?;
        let session = session().await?;
        let user = user_of_session(&state.db, &session).await?;
        let Some((user, seen)) = user else {
            // Nobody is signed in. A stored session whose user was deactivated or removed,
            // or which expired, is ended, and its cookie with it.
            if let Some(id) = session.id() {
                if let Some(users) = SessionUsers::of(&state) {
                    users.forget(&id.to_string());
                }
                session.flush().await.map_err(AppError::internal)?;
            }
            return Err(AppError::Unauthenticated);
        };
        // The request's log lines say whose it is (`server::observe`).
        tracing::Span::current()
            .record("org", user.org_id)
            .record("user", user.id);
        if let Some(id) = session.id() {
            if let Some(users) = SessionUsers::of(&state) {
                users.remember(id.to_string(), &user);
            }
        }
        // A session lasts from the last visit, not from the login. Marking the day is a
        // change, so the session is saved with a new expiry and cookie: once a day, not on
        // every request.
        let today = crate::epoch::EpochMs::now().0 / 86_400_000;
        if seen != Some(today) {
            session
                .insert(SEEN_DAY_KEY, today)
                .await
                .map_err(AppError::internal)?;
        }
        Ok(user)
    }

    /// The active user signed in on `session` and the day the session was last marked as
    /// used. A session this request has not changed is read together with its user in one
    /// statement, the first thing every page waits for; one it changed (a sign-in cycles the
    /// session's id) is read through the session itself.
    pub async fn user_of_session(
        db: &Db,
        session: &Session,
    ) -> Result<Option<(CurrentUser, Option<i64>)>, AppError> {
        if let Some(id) = session.id() {
            return session_user(db, &id.to_string()).await;
        }
        let user_id: Option<i64> = session.get(USER_ID_KEY).await.map_err(AppError::internal)?;
        let Some(user_id) = user_id else {
            return Ok(None);
        };
        let seen: Option<i64> = session.get(SEEN_DAY_KEY).await.ok().flatten();
        Ok(load_active_user(db, user_id)
            .await?
            .map(|user| (user, seen)))
    }

    /// The columns of a `UserRecord`, and the tables they come from.
    const USER_COLUMNS: &str = "u.id AS user_id, u.org_id, o.name AS org_name, u.email, \
        u.name AS user_name, u.status, u.language, u.sound_enabled, u.available, r.id AS role_id, \
        r.name AS role_name, r.builtin, r.permissions \
        FROM users u \
        JOIN organizations o ON o.id = u.org_id \
        JOIN roles r ON r.id = u.role_id AND r.org_id = u.org_id";

    /// The stored, unexpired session `session_id` with its active user, and the day the
    /// session was last marked as used.
    async fn session_user(
        db: &Db,
        session_id: &str,
    ) -> Result<Option<(CurrentUser, Option<i64>)>, AppError> {
        let row: Option<SessionUser> = sqlx::query_as(&format!(
            "SELECT s.data, {USER_COLUMNS} JOIN sessions s ON s.user_id = u.id \
             WHERE s.id = $1 AND s.expires_at > $2"
        ))
        .bind(super::session_store::stored_id(session_id))
        .bind(crate::epoch::EpochMs::now())
        .fetch_optional(&db.pool)
        .await?;
        let Some(SessionUser { data, user }) = row else {
            return Ok(None);
        };
        let seen = serde_json::from_str::<serde_json::Value>(&data)
            .ok()
            .and_then(|data| data.get(SEEN_DAY_KEY).and_then(|day| day.as_i64()));
        Ok(current_user(user)?.map(|user| (user, seen)))
    }

    /// The signed-in user, who must hold the permission checked by `allowed`.
    pub async fn require(allowed: impl Fn(&Actor) -> bool) -> Result<CurrentUser, AppError> {
        let user = require_user().await?;
        if allowed(&user.actor()) {
            Ok(user)
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// A user as `USER_COLUMNS` reads it.
    #[derive(sqlx::FromRow)]
    struct UserRecord {
        user_id: i64,
        org_id: i64,
        org_name: String,
        email: String,
        user_name: String,
        status: String,
        language: String,
        sound_enabled: i64,
        available: i64,
        role_id: i64,
        role_name: String,
        builtin: Option<String>,
        permissions: String,
    }

    /// A stored session's data and its user.
    #[derive(sqlx::FromRow)]
    struct SessionUser {
        data: String,
        #[sqlx(flatten)]
        user: UserRecord,
    }

    /// Signs a user in on the current session: a fresh session id (so an id planted before
    /// login is worthless), the user's id, and their interface language as the locale cookie.
    pub async fn sign_in(user_id: i64, language: Language) -> Result<(), AppError> {
        let session = session().await?;
        if let Some(kept) = use_context::<RequestUser>() {
            kept.set(None);
        }
        if let Some(id) = session.id() {
            if let Some(users) = SessionUsers::of(&AppState::current()?) {
                users.forget(&id.to_string());
            }
        }
        session.cycle_id().await.map_err(AppError::internal)?;
        session
            .insert(USER_ID_KEY, user_id)
            .await
            .map_err(AppError::internal)?;
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.append_header(axum::http::header::SET_COOKIE, language_cookie(language));
        }
        Ok(())
    }

    /// The cookie the server reads the page's language from (`crate::locale`).
    pub fn language_cookie(language: Language) -> axum::http::HeaderValue {
        let cookie = format!(
            "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            crate::kit::locale::LANGUAGE_COOKIE,
            language.code()
        );
        axum::http::HeaderValue::from_str(&cookie).expect("a cookie of plain ASCII")
    }

    /// Looks up a user by id for authentication; `None` unless the user exists and is active.
    pub async fn load_active_user(db: &Db, user_id: i64) -> Result<Option<CurrentUser>, AppError> {
        let row: Option<UserRecord> =
            sqlx::query_as(&format!("SELECT {USER_COLUMNS} WHERE u.id = $1"))
                .bind(user_id)
                .fetch_optional(&db.pool)
                .await?;
        match row {
            Some(row) => current_user(row),
            None => Ok(None),
        }
    }

    /// The user of a `UserRecord`; `None` unless active.
    fn current_user(row: UserRecord) -> Result<Option<CurrentUser>, AppError> {
        if row.status != "active" {
            return Ok(None);
        }
        Ok(Some(CurrentUser {
            id: row.user_id,
            org_id: row.org_id,
            org_name: row.org_name,
            email: row.email,
            name: row.user_name,
            language: Language::from_code(&row.language).unwrap_or_default(),
            sound_enabled: row.sound_enabled != 0,
            available: row.available != 0,
            role: role_view(row.role_id, row.role_name, row.builtin, &row.permissions)?,
        }))
    }

    /// Builds a role from its stored columns.
    pub fn role_view(
        id: i64,
        name: String,
        builtin: Option<String>,
        permissions: &str,
    ) -> Result<RoleView, AppError> {
        Ok(RoleView {
            id,
            name,
            builtin: builtin.as_deref().and_then(BuiltinRole::from_key),
            permissions: PermissionSet::from_keys(permissions)
                .map_err(|key| AppError::internal(format!("unknown permission {key:?}")))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shell reads the signed-in user by hand (`crate::json`): every role and language
    /// reads back as serde wrote it.
    #[test]
    fn the_signed_in_user_reads_back_as_written() {
        for (builtin, language) in [
            (Some(BuiltinRole::Administrator), Language::Es),
            (Some(BuiltinRole::Seller), Language::En),
            (Some(BuiltinRole::Editor), Language::Es),
            (None, Language::En),
        ] {
            let user = CurrentUser {
                id: 7,
                org_id: 1,
                org_name: "Ferretería \"El Clavo\"".into(),
                email: "ana@example.com".into(),
                name: "Ana".into(),
                language,
                sound_enabled: true,
                available: builtin.is_some(),
                role: RoleView {
                    id: 3,
                    name: "Custom".into(),
                    builtin,
                    permissions: builtin.map_or(PermissionSet::EMPTY, BuiltinRole::permissions),
                },
            };
            let answer: Result<Option<CurrentUser>, AppError> = Ok(Some(user));
            let text = serde_json::to_string(&answer).unwrap();
            assert_eq!(
                crate::json::from_str::<Result<Option<CurrentUser>, AppError>>(&text).unwrap(),
                answer
            );
        }
        let nobody: Result<Option<CurrentUser>, AppError> = Ok(None);
        let text = serde_json::to_string(&nobody).unwrap();
        assert_eq!(
            crate::json::from_str::<Result<Option<CurrentUser>, AppError>>(&text).unwrap(),
            nobody
        );
        assert!(crate::json::from_str::<Language>(r#""Fr""#).is_err());
    }
}
