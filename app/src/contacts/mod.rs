//! CRM contacts: the people a team sells to, found by name, number or email.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[cfg(feature = "ssr")]
mod store;

/// What other features may do with contacts on the server.
#[cfg(feature = "ssr")]
pub mod ssr {
    pub use super::store::ssr::{by_id, insert, reachable, NewContactRecord};
}

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
    /// The customer agreed to have their personal data stored.
    pub consent: bool,
}

/// Contacts whose first or last name, phone or email contain `query` (at most 20).
#[server(prefix = "/api", endpoint = "search_contacts", output = crate::codec::Json)]
pub async fn search_contacts(query: String) -> Result<Vec<ContactView>, AppError> {
    store::ssr::search(query).await.map_err(AppError::respond)
}
