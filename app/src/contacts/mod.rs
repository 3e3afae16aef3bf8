//! CRM contacts as the inbox sees them (R21, R24, R25, R15): the panel beside a conversation,
//! creating a contact from a conversation, linking one, and starting a WhatsApp conversation.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The contact panel beside the chat window.
pub mod panel;
#[cfg(feature = "ssr")]
pub mod store;

/// A contact's basic information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactView {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub company: Option<String>,
    pub primary_phone: Option<String>,
    pub whatsapp_phone: Option<String>,
    /// Secondary phones.
    pub phones: Vec<String>,
    pub facebook_id: Option<String>,
    pub instagram_username: Option<String>,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
}
crate::from_json!(ContactView {
    id,
    first_name,
    last_name,
    email,
    company,
    primary_phone,
    whatsapp_phone,
    phones,
    facebook_id,
    instagram_username,
    owner_id,
    owner_name,
});

impl ContactView {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_string()
    }
}

/// What the "create contact" form sends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewContact {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// The customer agreed to have their personal data stored (R25).
    pub consent: bool,
}

/// A conversation started from a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub conversation_id: i64,
    /// It already existed (the customer or a colleague had written before).
    pub existed: bool,
}

/// Contacts whose first or last name, phone or email contain `query` (at most 20).
#[server(prefix = "/api", endpoint = "search_contacts", output = crate::codec::Json)]
pub async fn search_contacts(query: String) -> Result<Vec<ContactView>, AppError> {
    store::ssr::search(query).await.map_err(AppError::respond)
}

/// Creates a contact from a conversation's customer and links the conversation to it (R25).
#[server(prefix = "/api", endpoint = "create_contact", output = crate::codec::Json)]
pub async fn create_contact(
    conversation_id: i64,
    contact: NewContact,
) -> Result<ContactView, AppError> {
    store::ssr::create_from_conversation(conversation_id, contact)
        .await
        .map_err(AppError::respond)
}

/// Links a conversation to an existing contact (R24).
#[server(prefix = "/api", endpoint = "link_contact", output = crate::codec::Json)]
pub async fn link_contact(conversation_id: i64, contact_id: i64) -> Result<ContactView, AppError> {
    store::ssr::link(conversation_id, contact_id)
        .await
        .map_err(AppError::respond)
}

/// Opens (or finds) the WhatsApp conversation with a contact on a line (R15).
#[server(prefix = "/api", endpoint = "start_conversation", output = crate::codec::Json)]
pub async fn start_conversation(contact_id: i64, account_id: i64) -> Result<Started, AppError> {
    store::ssr::start(contact_id, account_id)
        .await
        .map_err(AppError::respond)
}
