//! CRM contacts: the people a team sells to, found by name, number or email, listed,
//! created, edited field by field with a history of every change, and given their numbers in
//! E.164 (`phones`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::epoch::EpochMs;
use crate::error::{AppError, Field};

/// Custom fields: their definitions, values and the rules of each kind.
pub mod custom;
/// Possible duplicates, found as contacts change.
pub mod duplicates;
/// A contact's fields as the page and the inbox's panel edit them.
pub mod fields;
/// Contacts from a CSV file, and to one.
pub mod import;
/// The import's screens.
mod import_sheet;
/// Merging two contacts into one, and undoing it.
pub mod merge;
/// The merge screen.
mod merge_sheet;
/// The Contacts page: the list and a contact's page.
pub mod page;
#[cfg(feature = "ssr")]
pub mod phones;
/// The contacts' part of Settings: the country, the custom fields.
pub mod settings;
#[cfg(feature = "ssr")]
mod store;

pub use custom::{load_contact_fields, CustomField, CustomValue, BUILT_IN};
pub use duplicates::{Duplicate, Reason};
pub use fields::{ContactFields, Conversations, Duplicates, Editing};
pub use merge::MergeView;

/// What other features may do with contacts on the server.
#[cfg(feature = "ssr")]
pub mod ssr {
    pub use super::custom::ssr::by_key as custom_values;
    pub use super::phones;
    pub use super::store::ssr::{
        after_import, after_profile, by_id, identity_lookup, insert, lacks_whatsapp,
        learn_whatsapp, reachable, settle_new_conversation, take_identity, NewContactRecord,
        ProfiledCustomer,
    };
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

/// A contact's field that can be edited on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContactField {
    FirstName,
    LastName,
    Email,
    Company,
    PrimaryPhone,
    WhatsappPhone,
    FacebookId,
    InstagramUsername,
    Owner,
}

impl ContactField {
    pub const ALL: [ContactField; 9] = [
        ContactField::FirstName,
        ContactField::LastName,
        ContactField::Email,
        ContactField::Company,
        ContactField::PrimaryPhone,
        ContactField::WhatsappPhone,
        ContactField::FacebookId,
        ContactField::InstagramUsername,
        ContactField::Owner,
    ];

    /// Its column, and its name in the history and in requests.
    pub fn key(self) -> &'static str {
        match self {
            ContactField::FirstName => "first_name",
            ContactField::LastName => "last_name",
            ContactField::Email => "email",
            ContactField::Company => "company",
            ContactField::PrimaryPhone => "primary_phone",
            ContactField::WhatsappPhone => "whatsapp_phone",
            ContactField::FacebookId => "facebook_id",
            ContactField::InstagramUsername => "instagram_username",
            ContactField::Owner => "owner_id",
        }
    }

    pub fn from_key(key: &str) -> Option<ContactField> {
        ContactField::ALL.into_iter().find(|f| f.key() == key)
    }

    /// The form field its errors are reported on.
    pub fn form_field(self) -> Field {
        match self {
            ContactField::FirstName => Field::FirstName,
            ContactField::LastName => Field::LastName,
            ContactField::Email => Field::Email,
            ContactField::Company => Field::Company,
            ContactField::PrimaryPhone => Field::Phone,
            ContactField::WhatsappPhone => Field::WhatsappPhone,
            ContactField::FacebookId => Field::FacebookId,
            ContactField::InstagramUsername => Field::InstagramUsername,
            ContactField::Owner => Field::Owner,
        }
    }
}

/// How the contacts list is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContactSort {
    /// By name, A to Z.
    #[default]
    Name,
    /// Whoever wrote or was written to last, first.
    Activity,
}

/// What the contacts list shows: a search, filters, an order, and where the page starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactQuery {
    pub search: Option<String>,
    /// Owned by this user.
    pub owner: Option<i64>,
    /// With a conversation that is open now.
    pub open_conversation: bool,
    /// Made from this channel (`whatsapp`, `messenger`, …), the Contacts page (`contacts`) or
    /// an import (`import`).
    pub created_from: Option<String>,
    /// That may be the same person as another contact.
    pub duplicates: bool,
    pub sort: ContactSort,
    /// The last row of the page before (keyset): its order key (`ContactRow::cursor`)…
    pub after_key: Option<String>,
    /// …and its id.
    pub after_id: Option<i64>,
}

/// A row of the contacts list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRow {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub company: Option<String>,
    pub email: Option<String>,
    /// The primary (or else the WhatsApp) phone as people of the organization write it.
    pub phone: Option<String>,
    pub owner_name: Option<String>,
    pub last_activity_at: EpochMs,
    /// What the next page starts after when this is the last row.
    pub cursor: (String, i64),
}

impl ContactRow {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_string()
    }
}

/// A page of the contacts list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactList {
    pub contacts: Vec<ContactRow>,
    pub has_more: bool,
    /// The team, for the owner filter: (id, name).
    pub owners: Vec<(i64, String)>,
    /// The caller may create contacts.
    pub may_create: bool,
    /// The caller keeps the CRM: may import and export.
    pub may_manage: bool,
}

/// A secondary phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneView {
    pub id: i64,
    /// E.164.
    pub phone: String,
    /// As people of the organization write it.
    pub display: String,
    pub label: Option<String>,
}

/// One conversation of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactConversation {
    pub id: i64,
    pub channel: channels::Channel,
    pub line_name: String,
    pub open: bool,
    pub last_message_at: EpochMs,
    pub preview: Option<String>,
}

/// One entry of a contact's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ContactEvent {
    /// `created`, `changed`, `learned` (an identity the customer wrote from),
    /// `phone_added`, `phone_removed`.
    pub kind: String,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    /// Who did it; `None` for Buzón itself (a channel, an import).
    pub who: Option<String>,
    pub at: EpochMs,
}

/// Everything a contact's page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactDetail {
    pub contact: ContactView,
    /// The primary and WhatsApp phones as people write them.
    pub primary_display: Option<String>,
    pub whatsapp_display: Option<String>,
    pub phones: Vec<PhoneView>,
    /// Every custom field of the organization, with the contact's value.
    pub custom: Vec<CustomValue>,
    /// Contacts that may be this one (those the caller may reach).
    pub duplicates: Vec<Duplicate>,
    /// Merges into it that can still be undone (for those who keep the CRM), newest first.
    pub merges: Vec<MergeView>,
    pub created_at: EpochMs,
    pub created_by: Option<String>,
    pub created_from: Option<String>,
    /// Newest first, on every channel and line the caller may see.
    pub conversations: Vec<ContactConversation>,
    /// Oldest first.
    pub history: Vec<ContactEvent>,
    /// The caller may edit its fields.
    pub may_edit: bool,
    /// The caller keeps the CRM: may give it another owner and delete it.
    pub may_manage: bool,
    /// The team, to choose an owner from (only for `may_manage`).
    pub owners: Vec<(i64, String)>,
}

/// A page of contacts in the list's order.
#[server(prefix = "/api", endpoint = "contacts", output = crate::codec::Json)]
pub async fn load_contacts(
    #[server(default)] query: ContactQuery,
) -> Result<ContactList, AppError> {
    store::ssr::list(query).await.map_err(AppError::respond)
}

/// A contact's page.
#[server(prefix = "/api", endpoint = "contact", output = crate::codec::Json)]
pub async fn load_contact(contact_id: i64) -> Result<ContactDetail, AppError> {
    store::ssr::detail(contact_id)
        .await
        .map_err(AppError::respond)
}

/// Changes one field of a contact (`field`: a [`ContactField`] key); an empty value clears
/// it where it may be empty. Returns the contact's page as it now is.
#[server(prefix = "/api", endpoint = "update_contact", output = crate::codec::Json)]
pub async fn update_contact(
    contact_id: i64,
    field: String,
    value: String,
) -> Result<ContactDetail, AppError> {
    store::ssr::update(contact_id, field, value)
        .await
        .map_err(AppError::respond)
}

/// Adds a secondary phone, with an optional label ("Oficina").
#[server(prefix = "/api", endpoint = "add_contact_phone", output = crate::codec::Json)]
pub async fn add_contact_phone(
    contact_id: i64,
    phone: String,
    label: Option<String>,
) -> Result<ContactDetail, AppError> {
    store::ssr::add_phone(contact_id, phone, label)
        .await
        .map_err(AppError::respond)
}

/// Removes a secondary phone.
#[server(prefix = "/api", endpoint = "remove_contact_phone", output = crate::codec::Json)]
pub async fn remove_contact_phone(
    contact_id: i64,
    phone_id: i64,
) -> Result<ContactDetail, AppError> {
    store::ssr::remove_phone(contact_id, phone_id)
        .await
        .map_err(AppError::respond)
}

/// Creates a contact from the Contacts page: a first name and a phone or an email identify
/// it. Returns its id.
#[server(prefix = "/api", endpoint = "add_contact", output = crate::codec::Json)]
pub async fn add_contact(
    first_name: String,
    last_name: String,
    phone: String,
    email: String,
    company: String,
) -> Result<i64, AppError> {
    store::ssr::create(first_name, last_name, phone, email, company)
        .await
        .map_err(AppError::respond)
}

/// Deletes a contact; its conversations stay, without a contact.
#[server(prefix = "/api", endpoint = "delete_contact", output = crate::codec::Json)]
pub async fn delete_contact(contact_id: i64) -> Result<(), AppError> {
    store::ssr::delete(contact_id)
        .await
        .map_err(AppError::respond)
}

/// The organization's country for numbers typed without a prefix (ISO 3166, e.g. `MX`);
/// empty for none.
#[server(prefix = "/api", endpoint = "save_default_country", output = crate::codec::Json)]
pub async fn save_default_country(country: String) -> Result<(), AppError> {
    store::ssr::save_default_country(country)
        .await
        .map_err(AppError::respond)
}

/// The organization's country for numbers typed without a prefix.
#[server(prefix = "/api", endpoint = "default_country", output = crate::codec::Json)]
pub async fn load_default_country() -> Result<Option<String>, AppError> {
    store::ssr::default_country()
        .await
        .map_err(AppError::respond)
}

/// Whether a contact is identified enough to be kept (R47): a first name, and a phone or an
/// email, or the Facebook ID or Instagram username of the channel it came from. The field
/// to report when it is not.
pub fn identified(contact: &ContactView) -> Result<(), Field> {
    let given = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.trim().is_empty());
    if contact.first_name.trim().is_empty() {
        return Err(Field::FirstName);
    }
    let reachable = given(&contact.primary_phone)
        || given(&contact.whatsapp_phone)
        || given(&contact.email)
        || given(&contact.facebook_id)
        || given(&contact.instagram_username);
    if reachable {
        Ok(())
    } else {
        Err(Field::Contact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact() -> ContactView {
        ContactView {
            id: 1,
            first_name: "Lucía".into(),
            last_name: String::new(),
            email: None,
            company: None,
            primary_phone: Some("+525512345678".into()),
            whatsapp_phone: None,
            phones: Vec::new(),
            facebook_id: None,
            instagram_username: None,
            owner_id: None,
            owner_name: None,
        }
    }

    #[test]
    fn a_contact_needs_a_first_name_and_a_way_to_reach_it() {
        assert_eq!(identified(&contact()), Ok(()));
        let nameless = ContactView {
            first_name: " ".into(),
            ..contact()
        };
        assert_eq!(identified(&nameless), Err(Field::FirstName));
        let unreachable = ContactView {
            primary_phone: None,
            ..contact()
        };
        assert_eq!(identified(&unreachable), Err(Field::Contact));
        let by_email = ContactView {
            email: Some("lucia@example.com".into()),
            ..unreachable.clone()
        };
        assert_eq!(identified(&by_email), Ok(()));
        let from_instagram = ContactView {
            instagram_username: Some("lucia.p".into()),
            ..unreachable
        };
        assert_eq!(identified(&from_instagram), Ok(()));
    }

    #[test]
    fn fields_read_back_from_their_keys() {
        for field in ContactField::ALL {
            assert_eq!(ContactField::from_key(field.key()), Some(field));
        }
        assert_eq!(ContactField::from_key("password"), None);
    }
}
