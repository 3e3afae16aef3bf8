//! A user's own settings: name, password, interface language and notification sound.

pub mod page;

use leptos::prelude::*;

use crate::error::AppError;

/// Saves the name, language and sound preference. `sound` is a checkbox: present means on.
#[server(prefix = "/api", endpoint = "update_profile", output = crate::codec::Json)]
pub async fn update_profile(
    name: String,
    language: String,
    sound: Option<String>,
) -> Result<(), AppError> {
    ssr::update_profile(name, language, sound.is_some())
        .await
        .map_err(AppError::respond)
}

#[server(prefix = "/api", endpoint = "change_password", output = crate::codec::Json)]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    ssr::change_password(current_password, new_password)
        .await
        .map_err(AppError::respond)
}

/// Ends every other session of the signed-in user; returns how many were ended.
#[server(prefix = "/api", endpoint = "sign_out_other_devices", output = crate::codec::Json)]
pub async fn sign_out_other_devices() -> Result<u64, AppError> {
    ssr::sign_out_other_devices()
        .await
        .map_err(AppError::respond)
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::auth::login::guarded_verify;
    use crate::auth::session_store::end_other_sessions;
    use crate::auth::ssr::{language_cookie, require_user, session};
    use crate::auth::{password, Language};
    use crate::error::{Field, Problem};
    use crate::state::AppState;
    use crate::users::ssr as store;
    use crate::validate;

    pub async fn update_profile(
        name: String,
        language: String,
        sound_enabled: bool,
    ) -> Result<(), AppError> {
        let me = require_user().await?;
        let db = &AppState::current()?.db;
        let name = validate::name(Field::Name, &name)?;
        let language = Language::from_code(&language)
            .ok_or(AppError::invalid(Field::Language, Problem::Unknown))?;
        store::update_profile(db, me.org_id, me.id, &name, language, sound_enabled).await?;
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.append_header(axum::http::header::SET_COOKIE, language_cookie(language));
        }
        Ok(())
    }

    pub async fn change_password(
        current_password: String,
        new_password: String,
    ) -> Result<(), AppError> {
        let me = require_user().await?;
        let db = &AppState::current()?.db;
        if current_password.is_empty() {
            return Err(AppError::invalid(Field::CurrentPassword, Problem::Required));
        }
        let new_password = validate::new_password(Field::Password, &new_password)?;
        let stored = store::password_hash(db, me.org_id, me.id).await?;
        // Tried as a login of this account is: a stolen session cannot guess the password
        // faster than the login page could.
        if !guarded_verify(db, &me.email, None, current_password, stored).await? {
            return Err(AppError::invalid(Field::CurrentPassword, Problem::Wrong));
        }
        let hash = password::hash(new_password).await?;
        store::set_password_hash(db, me.org_id, me.id, &hash).await?;
        // Whoever knew the old password and signed in elsewhere is signed out now.
        end_other_sessions(db, me.id, this_session().await?.as_deref()).await?;
        AppState::current()?.hub.access_changed(me.org_id);
        Ok(())
    }

    pub async fn sign_out_other_devices() -> Result<u64, AppError> {
        let me = require_user().await?;
        let state = AppState::current()?;
        let ended = end_other_sessions(&state.db, me.id, this_session().await?.as_deref()).await?;
        state.hub.access_changed(me.org_id);
        Ok(ended)
    }

    /// The id of the current request's session.
    async fn this_session() -> Result<Option<String>, AppError> {
        Ok(session().await?.id().map(|id| id.to_string()))
    }
}
