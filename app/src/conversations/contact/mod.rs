//! A conversation's contact: the panel beside the chat, creating a contact from a
//! conversation's customer, linking an existing one, and starting a WhatsApp conversation
//! with a contact.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::contacts::{ContactView, NewContact};
use crate::error::AppError;

/// The contact panel beside the chat window.
pub mod panel;
#[cfg(feature = "ssr")]
mod store;

/// A conversation started from a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub conversation_id: i64,
    /// It already existed (the customer or a colleague had written before).
    pub existed: bool,
}

/// Creates a contact from a conversation's customer and links the conversation to it.
#[server(prefix = "/api", endpoint = "create_contact", output = crate::codec::Json)]
pub async fn create_contact(
    conversation_id: i64,
    contact: NewContact,
) -> Result<ContactView, AppError> {
    store::ssr::create_from_conversation(conversation_id, contact)
        .await
        .map_err(AppError::respond)
}

/// Links a conversation to an existing contact.
#[server(prefix = "/api", endpoint = "link_contact", output = crate::codec::Json)]
pub async fn link_contact(conversation_id: i64, contact_id: i64) -> Result<ContactView, AppError> {
    store::ssr::link(conversation_id, contact_id)
        .await
        .map_err(AppError::respond)
}

/// Opens (or finds) the WhatsApp conversation with a contact on a line.
#[server(prefix = "/api", endpoint = "start_conversation", output = crate::codec::Json)]
pub async fn start_conversation(contact_id: i64, account_id: i64) -> Result<Started, AppError> {
    store::ssr::start(contact_id, account_id)
        .await
        .map_err(AppError::respond)
}
