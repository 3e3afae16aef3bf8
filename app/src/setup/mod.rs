//! First run: with an empty database, a setup page creates the first organization and its
//! administrator. Further organizations come from `buzon org add`.

pub mod page;

use leptos::prelude::*;

use crate::error::AppError;

/// Creates the first organization and its administrator, and signs the administrator in.
#[server(prefix = "/api", endpoint = "setup", output = crate::codec::Json)]
pub async fn setup(
    organization: String,
    name: String,
    email: String,
    password: String,
    language: String,
) -> Result<(), AppError> {
    ssr::setup(organization, name, email, password, language)
        .await
        .map_err(AppError::respond)
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use crate::auth::ssr::sign_in;
    use crate::auth::{password, Language};
    use crate::error::{Field, Problem};
    use crate::permissions::BuiltinRole;
    use crate::state::AppState;
    use crate::users::ssr::{insert_user, NewUser};
    use crate::users::UserStatus;
    use crate::{orgs, validate};

    pub async fn setup(
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
        let organization = validate::name(Field::Organization, &organization)?;
        let name = validate::name(Field::Name, &name)?;
        let email = validate::email(&email)?;
        let password = validate::new_password(Field::Password, &password)?;
        let hash = password::hash(password).await?;
        let language = Language::from_code(&language)
            .ok_or(AppError::invalid(Field::Language, Problem::Unknown))?;

        let mut tx = state.db.begin().await?;
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
