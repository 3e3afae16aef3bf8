//! The team: inviting users, changing their role and status, accepting an invitation.

pub mod invite_page;
pub mod page;
#[cfg(feature = "ssr")]
pub mod store;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::RoleView;
use crate::error::AppError;
use crate::permissions::PermissionSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserStatus {
    /// Invited, has not set a password yet.
    Invited,
    Active,
    Deactivated,
}

impl UserStatus {
    pub fn key(self) -> &'static str {
        match self {
            UserStatus::Invited => "invited",
            UserStatus::Active => "active",
            UserStatus::Deactivated => "deactivated",
        }
    }

    pub fn from_key(key: &str) -> Option<UserStatus> {
        [
            UserStatus::Invited,
            UserStatus::Active,
            UserStatus::Deactivated,
        ]
        .into_iter()
        .find(|s| s.key() == key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role_id: i64,
    pub status: UserStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub me: i64,
    /// What the viewer holds: they give, take away and manage only roles within it
    /// (`permissions::can_delegate`).
    pub my_permissions: PermissionSet,
    pub members: Vec<TeamMember>,
    pub roles: Vec<RoleView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteOutcome {
    pub email: String,
    /// The link to hand over, when it was not emailed.
    pub link: Option<String>,
}

/// What the invitation page shows before the invitee sets a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteDetails {
    pub email: String,
    pub org_name: String,
}

/// The users and roles of the caller's organization.
#[server(prefix = "/api", endpoint = "team", output = crate::codec::Json)]
pub async fn load_team() -> Result<Team, AppError> {
    ssr::load_team().await.map_err(AppError::respond)
}

/// Invites someone by email with a role: a pending user and a one-time link.
#[server(prefix = "/api", endpoint = "invite_user", output = crate::codec::Json)]
pub async fn invite_user(email: String, role_id: String) -> Result<InviteOutcome, AppError> {
    ssr::invite_user(email, role_id)
        .await
        .map_err(AppError::respond)
}

#[server(prefix = "/api", endpoint = "change_user_role", output = crate::codec::Json)]
pub async fn change_user_role(user_id: i64, role_id: String) -> Result<(), AppError> {
    ssr::change_user_role(user_id, role_id)
        .await
        .map_err(AppError::respond)
}

/// Deactivates (ending all their sessions at once) or reactivates a user.
#[server(prefix = "/api", endpoint = "set_user_active", output = crate::codec::Json)]
pub async fn set_user_active(user_id: i64, active: bool) -> Result<(), AppError> {
    ssr::set_user_active(user_id, active)
        .await
        .map_err(AppError::respond)
}

#[server(prefix = "/api", endpoint = "load_invite", output = crate::codec::Json)]
pub async fn load_invite(token: String) -> Result<InviteDetails, AppError> {
    ssr::load_invite(token).await.map_err(AppError::respond)
}

/// Sets the invitee's name and password, activates them and signs them in.
#[server(prefix = "/api", endpoint = "accept_invite", output = crate::codec::Json)]
pub async fn accept_invite(token: String, name: String, password: String) -> Result<(), AppError> {
    ssr::accept_invite(token, name, password)
        .await
        .map_err(AppError::respond)
}

/// The server functions' bodies, and what other features may do with users on the server:
/// create one (first run), read a role, change a user's own profile and password.
#[cfg(feature = "ssr")]
pub mod ssr {
    pub use super::store::{
        insert_user, password_hash, role, set_password_hash, update_profile, NewUser,
    };

    use super::*;
    use crate::auth::password;
    use crate::auth::session_store::end_sessions_of_user;
    use crate::auth::ssr::{require, require_user, sign_in};
    use crate::auth::{CurrentUser, RoleView};
    use crate::epoch::EpochMs;
    use crate::error::{Field, Problem};
    use crate::kit::form::fill;
    use crate::orgs::Tx;
    use crate::permissions::{can_administer_user, can_delegate, can_manage_users, BuiltinRole};
    use crate::state::AppState;
    use crate::users::store;
    use crate::validate;

    pub async fn load_team() -> Result<Team, AppError> {
        let me = require(can_manage_users).await?;
        let db = &AppState::current()?.db;
        Ok(Team {
            me: me.id,
            my_permissions: me.role.permissions,
            members: store::members(db, me.org_id).await?,
            roles: store::roles(db, me.org_id).await?,
        })
    }

    fn parse_role_id(role_id: &str) -> Result<i64, AppError> {
        role_id
            .trim()
            .parse()
            .map_err(|_| AppError::invalid(Field::Role, Problem::Unknown))
    }

    pub async fn invite_user(email: String, role_id: String) -> Result<InviteOutcome, AppError> {
        let me = require(can_manage_users).await?;
        let state = AppState::current()?;
        let email = validate::email(&email)?;
        let role_id = parse_role_id(&role_id)?;
        let role = store::role(&state.db, me.org_id, role_id)
            .await?
            .ok_or(AppError::invalid(Field::Role, Problem::Unknown))?;
        if !can_delegate(&me.actor(), role.permissions) {
            return Err(AppError::Forbidden);
        }

        let token = crate::secrets::random_token();
        let now = EpochMs::now();
        let mut tx = state.db.begin().await?;
        let user_id = store::insert_user(
            &mut tx,
            store::NewUser {
                org_id: me.org_id,
                role_id,
                email: &email,
                name: "",
                password_hash: None,
                status: UserStatus::Invited,
                language: me.language,
            },
        )
        .await?;
        store::insert_invite(
            &mut tx,
            me.org_id,
            user_id,
            &token_hash(&token),
            me.id,
            now + state.settings.invite_ttl_ms,
        )
        .await?;
        let link = format!(
            "{}/invite/{token}",
            state.settings.public_url.trim_end_matches('/')
        );

        tx.commit().await?;
        let Some(mailer) = &state.mailer else {
            return Ok(InviteOutcome {
                email,
                link: Some(link),
            });
        };
        let locale = me.language.locale();
        let message = crate::mail::Email {
            to: email.clone(),
            subject: fill(
                crate::i18n::td_string!(locale, invite_email.subject),
                &[("org", me.org_name.clone())],
            ),
            body: fill(
                crate::i18n::td_string!(locale, invite_email.body),
                &[
                    ("inviter", me.name.clone()),
                    ("org", me.org_name.clone()),
                    ("link", link),
                    (
                        "days",
                        (state.settings.invite_ttl_ms / 86_400_000).to_string(),
                    ),
                ],
            ),
        };
        // Sent after the commit so no transaction waits on the mail server; if the mail
        // cannot go out, the pending user is removed again and the admin can retry.
        if let Err(err) = mailer.send(message).await {
            tracing::warn!(%err, "invitation email not sent");
            store::delete_pending_user(&state.db, me.org_id, user_id).await?;
            return Err(AppError::EmailNotSent);
        }
        Ok(InviteOutcome { email, link: None })
    }

    pub async fn change_user_role(user_id: i64, role_id: String) -> Result<(), AppError> {
        let me = require_user().await?;
        if !can_administer_user(&me.actor(), user_id) {
            return Err(AppError::Forbidden);
        }
        let db = &AppState::current()?.db;
        let role_id = parse_role_id(&role_id)?;
        let role = store::role(db, me.org_id, role_id)
            .await?
            .ok_or(AppError::invalid(Field::Role, Problem::Unknown))?;
        if !can_delegate(&me.actor(), role.permissions) {
            return Err(AppError::Forbidden);
        }
        let mut tx = db.begin().await?;
        let held = held_by(&mut tx, db, &me, user_id).await?;
        if held.builtin == Some(BuiltinRole::Administrator)
            && role.builtin != Some(BuiltinRole::Administrator)
            && !store::another_active_administrator(&mut tx, me.org_id, user_id).await?
        {
            return Err(AppError::LastAdministrator);
        }
        store::set_role(&mut tx, me.org_id, user_id, role_id).await?;
        tx.commit().await?;
        AppState::current()?.hub.access_changed(me.org_id);
        Ok(())
    }

    pub async fn set_user_active(user_id: i64, active: bool) -> Result<(), AppError> {
        let me = require_user().await?;
        if !can_administer_user(&me.actor(), user_id) {
            return Err(AppError::Forbidden);
        }
        let db = &AppState::current()?.db;
        let status = if active {
            UserStatus::Active
        } else {
            UserStatus::Deactivated
        };
        let mut tx = db.begin().await?;
        let held = held_by(&mut tx, db, &me, user_id).await?;
        if !active
            && held.builtin == Some(BuiltinRole::Administrator)
            && !store::another_active_administrator(&mut tx, me.org_id, user_id).await?
        {
            return Err(AppError::LastAdministrator);
        }
        store::set_status(&mut tx, me.org_id, user_id, status).await?;
        if !active {
            end_sessions_of_user(&mut tx, user_id).await?;
        }
        tx.commit().await?;
        AppState::current()?.hub.access_changed(me.org_id);
        Ok(())
    }

    /// The role `user_id` holds, which `me` must be able to delegate to change anything about
    /// them (someone who holds more is out of their reach). On PostgreSQL, the organization's
    /// Administrator role is locked first, so that two changes at once cannot each leave the
    /// other as the last Administrator and then remove them too (SQLite's transactions take
    /// the write lock at the start).
    async fn held_by(
        tx: &mut Tx<'_>,
        db: &crate::db::Db,
        me: &CurrentUser,
        user_id: i64,
    ) -> Result<RoleView, AppError> {
        if db.backend == crate::db::Backend::Postgres {
            store::lock_administrators(tx, me.org_id).await?;
        }
        let held = store::role_of_user(tx, me.org_id, user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !can_delegate(&me.actor(), held.permissions) {
            return Err(AppError::Forbidden);
        }
        Ok(held)
    }

    pub async fn load_invite(token: String) -> Result<InviteDetails, AppError> {
        let db = &AppState::current()?.db;
        let invite = usable_invite(db, &token).await?;
        Ok(InviteDetails {
            email: invite.email,
            org_name: invite.org_name,
        })
    }

    pub async fn accept_invite(
        token: String,
        name: String,
        password: String,
    ) -> Result<(), AppError> {
        let state = AppState::current()?;
        let invite = usable_invite(&state.db, &token).await?;
        let name = validate::name(Field::Name, &name)?;
        let password = validate::new_password(Field::Password, &password)?;
        let hash = password::hash(password).await?;
        let mut tx = state.db.begin().await?;
        // Claiming the invite first makes a second, concurrent acceptance fail cleanly.
        if !store::claim_invite(&mut tx, invite.id, EpochMs::now()).await? {
            return Err(AppError::invalid(Field::Invite, Problem::AlreadyUsed));
        }
        store::activate_invited(&mut tx, invite.org_id, invite.user_id, &name, &hash).await?;
        tx.commit().await?;
        sign_in(invite.user_id, invite.language).await?;
        leptos_axum::redirect("/");
        Ok(())
    }

    /// The invite behind a token, if it is still usable.
    async fn usable_invite(db: &crate::db::Db, token: &str) -> Result<store::Invite, AppError> {
        let invite = store::invite_by_token_hash(db, &token_hash(token.trim()))
            .await?
            .ok_or(AppError::invalid(Field::Invite, Problem::Unknown))?;
        if invite.used_at.is_some() {
            return Err(AppError::invalid(Field::Invite, Problem::AlreadyUsed));
        }
        if invite.expires_at <= EpochMs::now() {
            return Err(AppError::invalid(Field::Invite, Problem::Expired));
        }
        Ok(invite)
    }

    /// Only this hash is stored, so the database never holds a usable link.
    pub fn token_hash(token: &str) -> String {
        crate::secrets::sha256_hex(token)
    }
}
