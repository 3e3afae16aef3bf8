//! What happens to the CRM contact of a customer who opens a conversation (R28, R46), chosen per
//! connected account: nothing; associate the conversation with the contact that has the
//! customer's identity (WhatsApp number, Facebook ID, Instagram username); or associate it and
//! create that contact when none has it.

use serde::{Deserialize, Serialize};

/// An account's choice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContactMode {
    Off,
    #[default]
    Associate,
    CreateAndAssociate,
}

impl ContactMode {
    pub const ALL: [ContactMode; 3] = [
        ContactMode::Off,
        ContactMode::Associate,
        ContactMode::CreateAndAssociate,
    ];

    /// As stored (`accounts.contact_mode`) and posted.
    pub fn key(self) -> &'static str {
        match self {
            ContactMode::Off => "off",
            ContactMode::Associate => "associate",
            ContactMode::CreateAndAssociate => "create",
        }
    }

    pub fn from_key(key: &str) -> Option<ContactMode> {
        ContactMode::ALL.into_iter().find(|m| m.key() == key)
    }
}

/// What to do with a new conversation's contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactStep {
    Leave,
    Link(i64),
    Create,
}

/// The step for a new conversation: `found`, the contact that already has the customer's
/// identity; `identified`, whether the customer has one to look for (a number, a page-scoped
/// id, a username: a WhatsApp customer known only by a business-scoped user id has none).
pub fn contact_step(mode: ContactMode, found: Option<i64>, identified: bool) -> ContactStep {
    match (mode, found) {
        (ContactMode::Off, _) => ContactStep::Leave,
        (_, Some(contact)) => ContactStep::Link(contact),
        (ContactMode::CreateAndAssociate, None) if identified => ContactStep::Create,
        _ => ContactStep::Leave,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_links_creates_or_leaves() {
        use ContactMode::*;
        assert_eq!(contact_step(Off, Some(4), true), ContactStep::Leave);
        assert_eq!(contact_step(Associate, Some(4), true), ContactStep::Link(4));
        assert_eq!(contact_step(Associate, None, true), ContactStep::Leave);
        assert_eq!(
            contact_step(CreateAndAssociate, Some(4), true),
            ContactStep::Link(4)
        );
        assert_eq!(
            contact_step(CreateAndAssociate, None, true),
            ContactStep::Create
        );
        assert_eq!(
            contact_step(CreateAndAssociate, None, false),
            ContactStep::Leave,
            "nothing to find it by later: no contact made"
        );
        for mode in ContactMode::ALL {
            assert_eq!(ContactMode::from_key(mode.key()), Some(mode));
        }
        assert_eq!(ContactMode::default(), Associate);
    }
}
