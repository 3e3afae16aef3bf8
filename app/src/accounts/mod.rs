//! Connected accounts: WhatsApp lines, Facebook Pages, Instagram accounts and Twilio
//! senders, with their credentials sealed at rest and never sent back to the browser.

/// Applying the WhatsApp Business Account's own webhooks.
#[cfg(feature = "ssr")]
pub mod business;
pub mod page;
#[cfg(feature = "ssr")]
pub mod store;

/// What other features may do with accounts on the server.
#[cfg(feature = "ssr")]
pub mod ssr {
    pub use super::store::{access, by_id};
}

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// At most this many WhatsApp lines per organization.
pub const MAX_WHATSAPP_LINES: i64 = 10;

/// An account as the settings page shows it: which credentials are stored, never their values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub id: i64,
    pub channel: channels::Channel,
    pub name: String,
    pub external_id: String,
    pub display_handle: Option<String>,
    pub business_id: Option<String>,
    pub account_sid: Option<String>,
    pub connected: bool,
    pub has_access_token: bool,
    pub has_app_secret: bool,
    pub has_verify_token: bool,
    pub has_auth_token: bool,
    /// What Meta last said about the line: restrictions, a ban, its quality and limit.
    #[serde(default)]
    pub standing: crate::standing::Standing,
    /// What a new conversation does with its customer's contact.
    #[serde(default)]
    pub contact_mode: crate::auto_contacts::ContactMode,
}

/// The organization's accounts and the address providers must call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accounts {
    pub accounts: Vec<AccountView>,
    /// `https://…/webhooks`: add `/whatsapp`, `/messenger`, `/instagram` or `/twilio`.
    pub webhook_base: String,
}

#[server(prefix = "/api", endpoint = "accounts", output = crate::codec::Json)]
pub async fn load_accounts() -> Result<Accounts, AppError> {
    store::ssr::load_accounts().await.map_err(AppError::respond)
}

pub use save::{save_account, SaveAccount};

mod save {
    // One argument per form field, so the plain HTML form posts to it without JavaScript.
    #![allow(clippy::too_many_arguments)]
    use super::*;

    /// Connects a new account, or edits one (`id`); empty credential fields keep what is stored.
    #[server(prefix = "/api", endpoint = "save_account", output = crate::codec::Json)]
    pub async fn save_account(
        id: Option<i64>,
        channel: String,
        name: String,
        external_id: String,
        handle: Option<String>,
        business_id: Option<String>,
        account_sid: Option<String>,
        access_token: Option<String>,
        app_secret: Option<String>,
        verify_token: Option<String>,
        auth_token: Option<String>,
    ) -> Result<AccountView, AppError> {
        let form = store::AccountForm {
            id,
            channel,
            name,
            external_id,
            handle,
            business_id,
            account_sid,
            access_token,
            app_secret,
            verify_token,
            auth_token,
        };
        store::ssr::save_account(form)
            .await
            .map_err(AppError::respond)
    }
}

/// Disconnects an account: its conversations stay, read only.
#[server(prefix = "/api", endpoint = "disconnect_account", output = crate::codec::Json)]
pub async fn disconnect_account(id: i64) -> Result<(), AppError> {
    store::ssr::disconnect_account(id)
        .await
        .map_err(AppError::respond)
}

/// What a new conversation on this account does with its customer's contact (`off`,
/// `associate` or `create`).
#[server(prefix = "/api", endpoint = "set_contact_mode", output = crate::codec::Json)]
pub async fn set_contact_mode(id: i64, mode: String) -> Result<(), AppError> {
    store::ssr::set_contact_mode(id, mode)
        .await
        .map_err(AppError::respond)
}

/// Calls the provider with the stored credentials; returns the name it knows the account by.
#[server(prefix = "/api", endpoint = "test_account", output = crate::codec::Json)]
pub async fn test_account(id: i64) -> Result<String, AppError> {
    store::ssr::test_account(id)
        .await
        .map_err(AppError::respond)
}

/// Imports a WhatsApp Business App number's contacts, then its chat history. Both arrive
/// as webhooks within minutes; run it once, soon after connecting the number.
#[server(prefix = "/api", endpoint = "import_business_app", output = crate::codec::Json)]
pub async fn import_business_app(id: i64) -> Result<(), AppError> {
    store::ssr::import_business_app(id)
        .await
        .map_err(AppError::respond)
}
