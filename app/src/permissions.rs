//! Who may do what. Pure functions on plain data, shared by the server (which enforces them in
//! every server function, the live stream and the media endpoint) and the browser (which only
//! uses them to hide what a role cannot do).

use serde::{Deserialize, Serialize};

/// One named capability a role can grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Permission {
    /// Open the inbox at all.
    UseInbox,
    /// See every conversation, not only those assigned to oneself.
    SeeAllConversations,
    /// Start conversations with any contact, not only those one owns.
    StartWithAnyContact,
    /// Delete conversations of channels one connected.
    DeleteConversations,
    /// Invite users, change their roles and status, define roles.
    ManageUsers,
    /// Connect channels and change organization settings.
    ManageSettings,
    /// Keep the CRM's contacts: see, create, edit, give to another owner, delete and merge
    /// every contact of the organization, import and export them.
    ManageContacts,
}

impl Permission {
    pub const ALL: [Permission; 7] = [
        Permission::UseInbox,
        Permission::SeeAllConversations,
        Permission::StartWithAnyContact,
        Permission::DeleteConversations,
        Permission::ManageUsers,
        Permission::ManageSettings,
        Permission::ManageContacts,
    ];

    /// The stable name stored in the database.
    pub fn key(self) -> &'static str {
        match self {
            Permission::UseInbox => "use_inbox",
            Permission::SeeAllConversations => "see_all_conversations",
            Permission::StartWithAnyContact => "start_with_any_contact",
            Permission::DeleteConversations => "delete_conversations",
            Permission::ManageUsers => "manage_users",
            Permission::ManageSettings => "manage_settings",
            Permission::ManageContacts => "manage_contacts",
        }
    }

    pub fn from_key(key: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.key() == key)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of permissions: what a role grants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PermissionSet(u32);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet(0);

    pub fn of(permissions: &[Permission]) -> PermissionSet {
        permissions
            .iter()
            .fold(PermissionSet::EMPTY, |set, p| set.with(*p))
    }

    pub fn with(self, permission: Permission) -> PermissionSet {
        PermissionSet(self.0 | permission.bit())
    }

    pub fn has(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// Whether every permission of `other` is in this set.
    pub fn covers(self, other: PermissionSet) -> bool {
        other.0 & !self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(move |p| self.has(*p))
    }

    /// Stored form: the permission keys separated by commas, in a fixed order.
    pub fn to_keys(self) -> String {
        self.iter()
            .map(Permission::key)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses the stored form. Unknown keys are an error so that a typo never silently grants
    /// or removes a capability.
    pub fn from_keys(keys: &str) -> Result<PermissionSet, String> {
        keys.split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .try_fold(PermissionSet::EMPTY, |set, key| {
                Permission::from_key(key)
                    .map(|p| set.with(p))
                    .ok_or_else(|| key.to_string())
            })
    }
}

/// The three roles every organization starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BuiltinRole {
    Administrator,
    Seller,
    Editor,
}

/// Written by the variant's name, as serde's derive writes it.
impl crate::json::FromJson for BuiltinRole {
    fn from_json(value: serde_json::Value) -> Result<Self, crate::json::JsonError> {
        crate::json::variant(value, &BuiltinRole::ALL, |r| match r {
            BuiltinRole::Administrator => "Administrator",
            BuiltinRole::Seller => "Seller",
            BuiltinRole::Editor => "Editor",
        })
    }
}

/// A newtype is written as what it holds.
impl crate::json::FromJson for PermissionSet {
    fn from_json(value: serde_json::Value) -> Result<Self, crate::json::JsonError> {
        <u32 as crate::json::FromJson>::from_json(value).map(PermissionSet)
    }
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 3] = [
        BuiltinRole::Administrator,
        BuiltinRole::Seller,
        BuiltinRole::Editor,
    ];

    pub fn key(self) -> &'static str {
        match self {
            BuiltinRole::Administrator => "admin",
            BuiltinRole::Seller => "seller",
            BuiltinRole::Editor => "editor",
        }
    }

    pub fn from_key(key: &str) -> Option<BuiltinRole> {
        BuiltinRole::ALL.into_iter().find(|r| r.key() == key)
    }

    pub fn permissions(self) -> PermissionSet {
        match self {
            BuiltinRole::Administrator => PermissionSet::of(&Permission::ALL),
            // A seller works the inbox, but only their own conversations and contacts.
            BuiltinRole::Seller => PermissionSet::of(&[Permission::UseInbox]),
            // An editor keeps the CRM up to date and never sees conversations.
            BuiltinRole::Editor => PermissionSet::of(&[Permission::ManageContacts]),
        }
    }
}

/// The user on whose behalf something is being done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: i64,
    pub org_id: i64,
    pub permissions: PermissionSet,
}

impl Actor {
    fn has(&self, permission: Permission) -> bool {
        self.permissions.has(permission)
    }
}

pub fn can_use_inbox(actor: &Actor) -> bool {
    actor.has(Permission::UseInbox)
}

/// Whether `actor` may read a conversation of their organization assigned to `assignee`.
pub fn can_see_conversation(actor: &Actor, assignee: Option<i64>) -> bool {
    can_use_inbox(actor)
        && (actor.has(Permission::SeeAllConversations) || assignee == Some(actor.user_id))
}

/// Whether `actor` may start a conversation with a contact owned by `contact_owner`.
pub fn can_start_conversation(actor: &Actor, contact_owner: Option<i64>) -> bool {
    can_use_inbox(actor)
        && (actor.has(Permission::StartWithAnyContact) || contact_owner == Some(actor.user_id))
}

/// Whether `actor` may find and read every contact of the organization. Without it, they
/// reach only the contacts they own and those of conversations they can see: a seller
/// cannot page through the whole customer base, its phones and emails.
pub fn can_see_every_contact(actor: &Actor) -> bool {
    can_manage_contacts(actor)
        || can_use_inbox(actor)
            && (actor.has(Permission::SeeAllConversations)
                || actor.has(Permission::StartWithAnyContact))
}

/// Whether `actor` keeps the CRM: every contact, its owner, deleting and merging.
pub fn can_manage_contacts(actor: &Actor) -> bool {
    actor.has(Permission::ManageContacts)
}

/// Whether `actor` may open the contacts at all: the CRM's keepers, and those who work the
/// inbox (their own contacts and those of their conversations).
pub fn can_use_contacts(actor: &Actor) -> bool {
    can_manage_contacts(actor) || can_use_inbox(actor)
}

/// Whether `actor` may change a contact they can reach (`reachable`: one they own or of a
/// conversation they can see, or any with `can_see_every_contact`). Its owner changes only
/// with [`can_manage_contacts`].
pub fn can_edit_contact(actor: &Actor, reachable: bool) -> bool {
    can_manage_contacts(actor) || can_use_inbox(actor) && reachable
}

/// Only the user who connected the channel may delete its conversations.
pub fn can_delete_conversation(actor: &Actor, channel_connected_by: Option<i64>) -> bool {
    can_use_inbox(actor)
        && actor.has(Permission::DeleteConversations)
        && channel_connected_by == Some(actor.user_id)
}

pub fn can_manage_users(actor: &Actor) -> bool {
    actor.has(Permission::ManageUsers)
}

pub fn can_manage_settings(actor: &Actor) -> bool {
    actor.has(Permission::ManageSettings)
}

/// Whether `actor` may change the role or status of `target_user_id`. Nobody changes their own
/// role or deactivates themselves, so an organization cannot lock itself out by accident.
pub fn can_administer_user(actor: &Actor, target_user_id: i64) -> bool {
    can_manage_users(actor) && actor.user_id != target_user_id
}

/// Whether a user manager may give, take away, define or change a role granting `granted`:
/// only one whose every permission they hold themselves. Managing users is not a way to more
/// authority: its holder can neither make a role stronger than their own, nor invite or
/// promote anyone to one, nor demote or deactivate someone who holds more.
pub fn can_delegate(actor: &Actor, granted: PermissionSet) -> bool {
    can_manage_users(actor) && actor.permissions.covers(granted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: BuiltinRole) -> Actor {
        Actor {
            user_id: 7,
            org_id: 1,
            permissions: role.permissions(),
        }
    }

    fn custom(permissions: &[Permission]) -> Actor {
        Actor {
            user_id: 7,
            org_id: 1,
            permissions: PermissionSet::of(permissions),
        }
    }

    #[test]
    fn a_user_manager_delegates_only_what_they_hold() {
        let manager = custom(&[Permission::UseInbox, Permission::ManageUsers]);
        assert!(
            !can_delegate(&manager, BuiltinRole::Editor.permissions()),
            "editors keep every contact, which this manager does not"
        );
        assert!(can_delegate(
            &manager,
            PermissionSet::of(&[Permission::UseInbox])
        ));
        assert!(can_delegate(&manager, BuiltinRole::Seller.permissions()));
        assert!(!can_delegate(
            &manager,
            PermissionSet::of(&[Permission::UseInbox, Permission::SeeAllConversations])
        ));
        assert!(!can_delegate(
            &manager,
            BuiltinRole::Administrator.permissions()
        ));
        let admin = actor(BuiltinRole::Administrator);
        for role in BuiltinRole::ALL {
            assert!(can_delegate(&admin, role.permissions()));
        }
        // Without managing users, nothing at all.
        assert!(!can_delegate(
            &actor(BuiltinRole::Seller),
            PermissionSet::EMPTY
        ));
    }

    #[test]
    fn editors_keep_the_crm_sellers_their_own_contacts() {
        let (admin, seller, editor) = (
            actor(BuiltinRole::Administrator),
            actor(BuiltinRole::Seller),
            actor(BuiltinRole::Editor),
        );
        assert!(can_manage_contacts(&admin) && can_manage_contacts(&editor));
        assert!(!can_manage_contacts(&seller));
        assert!(can_see_every_contact(&editor), "without the inbox");
        for who in [&admin, &seller, &editor] {
            assert!(can_use_contacts(who));
        }
        assert!(can_edit_contact(&editor, false));
        assert!(can_edit_contact(&seller, true));
        assert!(!can_edit_contact(&seller, false));
        let nobody = custom(&[Permission::ManageSettings]);
        assert!(!can_use_contacts(&nobody) && !can_edit_contact(&nobody, true));
    }

    #[test]
    fn sellers_reach_only_their_own_contacts() {
        assert!(can_see_every_contact(&actor(BuiltinRole::Administrator)));
        assert!(!can_see_every_contact(&actor(BuiltinRole::Seller)));
        assert!(can_see_every_contact(&custom(&[
            Permission::UseInbox,
            Permission::StartWithAnyContact
        ])));
        assert!(!can_see_every_contact(&custom(&[
            Permission::SeeAllConversations
        ])));
    }

    #[test]
    fn administrator_sees_every_conversation() {
        let admin = actor(BuiltinRole::Administrator);
        assert!(can_see_conversation(&admin, None));
        assert!(can_see_conversation(&admin, Some(7)));
        assert!(can_see_conversation(&admin, Some(99)));
    }

    #[test]
    fn seller_sees_only_conversations_assigned_to_them() {
        let seller = actor(BuiltinRole::Seller);
        assert!(can_see_conversation(&seller, Some(7)));
        assert!(!can_see_conversation(&seller, Some(99)));
        assert!(!can_see_conversation(&seller, None));
    }

    #[test]
    fn editor_has_no_inbox_at_all() {
        let editor = actor(BuiltinRole::Editor);
        assert!(!can_use_inbox(&editor));
        assert!(!can_see_conversation(&editor, Some(7)));
        assert!(!can_start_conversation(&editor, Some(7)));
    }

    #[test]
    fn seeing_everything_without_the_inbox_grants_nothing() {
        let odd = custom(&[Permission::SeeAllConversations]);
        assert!(!can_see_conversation(&odd, None));
    }

    #[test]
    fn administrator_starts_conversations_with_any_contact() {
        let admin = actor(BuiltinRole::Administrator);
        assert!(can_start_conversation(&admin, None));
        assert!(can_start_conversation(&admin, Some(99)));
    }

    #[test]
    fn seller_starts_conversations_only_with_owned_contacts() {
        let seller = actor(BuiltinRole::Seller);
        assert!(can_start_conversation(&seller, Some(7)));
        assert!(!can_start_conversation(&seller, Some(99)));
        assert!(!can_start_conversation(&seller, None));
    }

    #[test]
    fn custom_role_can_see_all_but_start_only_with_owned_contacts() {
        let supervisor = custom(&[Permission::UseInbox, Permission::SeeAllConversations]);
        assert!(can_see_conversation(&supervisor, Some(99)));
        assert!(!can_start_conversation(&supervisor, Some(99)));
        assert!(can_start_conversation(&supervisor, Some(7)));
    }

    #[test]
    fn only_the_user_who_connected_the_channel_deletes_its_conversations() {
        let admin = actor(BuiltinRole::Administrator);
        assert!(can_delete_conversation(&admin, Some(7)));
        assert!(!can_delete_conversation(&admin, Some(99)));
        assert!(!can_delete_conversation(&admin, None));
        let seller = actor(BuiltinRole::Seller);
        assert!(!can_delete_conversation(&seller, Some(7)));
    }

    #[test]
    fn only_user_managers_administer_users_and_never_themselves() {
        let admin = actor(BuiltinRole::Administrator);
        assert!(can_administer_user(&admin, 99));
        assert!(!can_administer_user(&admin, 7));
        assert!(!can_administer_user(&actor(BuiltinRole::Seller), 99));
        assert!(!can_administer_user(&actor(BuiltinRole::Editor), 99));
    }

    #[test]
    fn settings_belong_to_administrators_and_custom_roles_that_grant_them() {
        assert!(can_manage_settings(&actor(BuiltinRole::Administrator)));
        assert!(!can_manage_settings(&actor(BuiltinRole::Seller)));
        assert!(can_manage_settings(&custom(&[Permission::ManageSettings])));
        assert!(!can_manage_users(&custom(&[Permission::ManageSettings])));
    }

    #[test]
    fn permission_sets_round_trip_through_their_stored_form() {
        for role in BuiltinRole::ALL {
            let set = role.permissions();
            assert_eq!(PermissionSet::from_keys(&set.to_keys()), Ok(set));
        }
        let set = PermissionSet::of(&[Permission::ManageUsers, Permission::UseInbox]);
        assert_eq!(set.to_keys(), "use_inbox,manage_users");
        assert_eq!(
            BuiltinRole::Editor.permissions().to_keys(),
            "manage_contacts"
        );
    }

    #[test]
    fn unknown_permission_keys_are_refused() {
        assert_eq!(
            PermissionSet::from_keys("use_inbox,fly"),
            Err("fly".to_string())
        );
        assert_eq!(PermissionSet::from_keys(""), Ok(PermissionSet::EMPTY));
    }

    #[test]
    fn builtin_roles_are_found_by_key() {
        for role in BuiltinRole::ALL {
            assert_eq!(BuiltinRole::from_key(role.key()), Some(role));
        }
        assert_eq!(BuiltinRole::from_key("owner"), None);
    }
}
