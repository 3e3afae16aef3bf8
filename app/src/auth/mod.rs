//! Who is signed in: the session, the current user and their permissions, login and logout.

#[cfg(feature = "ssr")]
pub mod login;
pub mod login_page;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod session_store;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::permissions::{Actor, BuiltinRole, PermissionSet};

/// The session key holding the signed-in user's id.
pub const USER_ID_KEY: &str = "user_id";

/// An interface language a user can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Language {
    #[default]
    Es,
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Es, Language::En];

    pub fn code(self) -> &'static str {
        match self {
            Language::Es => "es",
            Language::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.code() == code)
    }

    pub fn locale(self) -> crate::i18n::Locale {
        match self {
            Language::Es => crate::i18n::Locale::es,
            Language::En => crate::i18n::Locale::en,
        }
    }
}

/// A role as the interface shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleView {
    pub id: i64,
    /// The stored name; built-in roles are shown by their translated name instead.
    pub name: String,
    pub builtin: Option<BuiltinRole>,
    pub permissions: PermissionSet,
}

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
    pub role: RoleView,
}

impl CurrentUser {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.id,
            org_id: self.org_id,
            permissions: self.role.permissions,
        }
    }
}

/// The signed-in user, or `None` when nobody is.
#[server(prefix = "/api", endpoint = "me", output = crate::codec::Json)]
pub async fn fetch_current_user() -> Result<Option<CurrentUser>, AppError> {
    match ssr::require_user().await {
        Ok(user) => Ok(Some(user)),
        Err(AppError::Unauthenticated) => Ok(None),
        Err(err) => Err(err.respond()),
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
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
    #[derive(Clone, Default)]
    pub struct RequestUser(std::sync::Arc<std::sync::Mutex<Option<CurrentUser>>>);

    impl RequestUser {
        fn get(&self) -> Option<CurrentUser> {
            self.0.lock().ok().and_then(|user| user.clone())
        }

        fn set(&self, user: Option<CurrentUser>) {
            if let Ok(mut kept) = self.0.lock() {
                *kept = user;
            }
        }
    }

    /// The signed-in, active user of the current request. Loaded from the database once per
    /// request, so a role change or a deactivation takes effect on the very next request.
    pub async fn require_user() -> Result<CurrentUser, AppError> {
        let kept = use_context::<RequestUser>();
        if let Some(user) = kept.as_ref().and_then(RequestUser::get) {
            return Ok(user);
        }
        let user = load_signed_in().await?;
        if let Some(kept) = kept {
            kept.set(Some(user.clone()));
        }
        Ok(user)
    }

    async fn load_signed_in() -> Result<CurrentUser, AppError> {
        let state = AppState::current()?;
        let session = session().await?;
        let user_id: Option<i64> = session.get(USER_ID_KEY).await.map_err(AppError::internal)?;
        let user_id = user_id.ok_or(AppError::Unauthenticated)?;
        match load_active_user(&state.db, user_id).await? {
            Some(user) => {
                // A session lasts from the last visit, not from the login. Marking the day is
                // a change, so the session is saved with a new expiry and cookie: once a day,
                // not on every request.
                let today = crate::db::now_ms() / 86_400_000;
                let seen: Option<i64> = session.get(SEEN_DAY_KEY).await.ok().flatten();
                if seen != Some(today) {
                    session
                        .insert(SEEN_DAY_KEY, today)
                        .await
                        .map_err(AppError::internal)?;
                }
                Ok(user)
            }
            None => {
                session.flush().await.map_err(AppError::internal)?;
                Err(AppError::Unauthenticated)
            }
        }
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

    type UserRow = (
        i64,
        i64,
        String,
        String,
        String,
        String,
        String,
        i64,
        i64,
        String,
        Option<String>,
        String,
    );

    /// Signs a user in on the current session: a fresh session id (so an id planted before
    /// login is worthless), the user's id, and their interface language as the locale cookie.
    pub async fn sign_in(user_id: i64, language: Language) -> Result<(), AppError> {
        let session = session().await?;
        if let Some(kept) = use_context::<RequestUser>() {
            kept.set(None);
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

    /// The cookie the translation layer reads the interface language from.
    pub fn language_cookie(language: Language) -> axum::http::HeaderValue {
        axum::http::HeaderValue::from_static(match language {
            Language::Es => "i18n_pref_locale=es; Path=/; Max-Age=31536000; SameSite=Lax",
            Language::En => "i18n_pref_locale=en; Path=/; Max-Age=31536000; SameSite=Lax",
        })
    }

    /// Looks up a user by id for authentication; `None` unless the user exists and is active.
    pub async fn load_active_user(db: &Db, user_id: i64) -> Result<Option<CurrentUser>, AppError> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT u.id, u.org_id, o.name, u.email, u.name, u.status, u.language, \
                    u.sound_enabled, r.id, r.name, r.builtin, r.permissions \
             FROM users u \
             JOIN organizations o ON o.id = u.org_id \
             JOIN roles r ON r.id = u.role_id AND r.org_id = u.org_id \
             WHERE u.id = $1",
        )
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
        let Some((
            id,
            org_id,
            org_name,
            email,
            name,
            status,
            language,
            sound_enabled,
            role_id,
            role_name,
            builtin,
            permissions,
        )) = row
        else {
            return Ok(None);
        };
        if status != "active" {
            return Ok(None);
        }
        Ok(Some(CurrentUser {
            id,
            org_id,
            org_name,
            email,
            name,
            language: Language::from_code(&language).unwrap_or_default(),
            sound_enabled: sound_enabled != 0,
            role: role_view(role_id, role_name, builtin, &permissions)?,
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
