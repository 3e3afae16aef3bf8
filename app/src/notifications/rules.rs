//! Who hears of an event, and on which channels: one pure rule for every way a notification
//! goes out, decided from what the event log says happened.

use serde::{Deserialize, Serialize};

use crate::permissions::{can_see_conversation, Actor};

/// What a user is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// A new message in a conversation assigned to them.
    MessageMine,
    /// A new message in a conversation assigned to someone else.
    MessageOthers,
    /// A new message in a conversation nobody has.
    MessageUnassigned,
    /// A conversation assigned or passed on to them.
    AssignedToMe,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::MessageMine,
        Kind::AssignedToMe,
        Kind::MessageUnassigned,
        Kind::MessageOthers,
    ];

    /// As stored (`notifications.kind`, `notification_settings.kind`).
    pub fn key(self) -> &'static str {
        match self {
            Kind::MessageMine => "message_mine",
            Kind::MessageOthers => "message_others",
            Kind::MessageUnassigned => "message_unassigned",
            Kind::AssignedToMe => "assigned_to_me",
        }
    }

    pub fn from_key(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.key() == key)
    }
}

/// What happened in a conversation, as its event says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happened {
    /// The customer wrote; the conversation is `assignee`'s (or nobody's) now.
    Incoming { assignee: Option<i64> },
    /// The conversation was given to `to`, by `by` (nobody: a rule).
    Assigned { to: i64, by: Option<i64> },
}

/// How `user` hears of `happened`, if at all: never about a conversation they may not open,
/// nor about what they did themselves.
pub fn kind_for(user: &Actor, happened: Happened) -> Option<Kind> {
    match happened {
        Happened::Incoming { assignee } => {
            if !can_see_conversation(user, assignee) {
                return None;
            }
            Some(match assignee {
                Some(id) if id == user.user_id => Kind::MessageMine,
                Some(_) => Kind::MessageOthers,
                None => Kind::MessageUnassigned,
            })
        }
        Happened::Assigned { to, by } => {
            (to == user.user_id && by != Some(user.user_id) && can_see_conversation(user, Some(to)))
                .then_some(Kind::AssignedToMe)
        }
    }
}

/// The ways a kind reaches a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channels {
    pub push: bool,
    pub email: bool,
    /// The notification centre.
    pub in_app: bool,
    pub sound: bool,
}

impl Channels {
    const NONE: Channels = Channels {
        push: false,
        email: false,
        in_app: false,
        sound: false,
    };

    /// What a user who has not chosen gets: their own conversations and assignments
    /// everywhere (messages not by email: a conversation is answered in the app), unassigned
    /// ones everywhere but email (only those who see them are told, by `kind_for`), other
    /// people's conversations nowhere.
    pub fn default_for(kind: Kind) -> Channels {
        let everywhere_but_email = Channels {
            push: true,
            email: false,
            in_app: true,
            sound: true,
        };
        match kind {
            Kind::MessageMine | Kind::MessageUnassigned => everywhere_but_email,
            Kind::AssignedToMe => Channels {
                email: true,
                ..everywhere_but_email
            },
            Kind::MessageOthers => Channels::NONE,
        }
    }

    pub fn any(self) -> bool {
        self.push || self.email || self.in_app || self.sound
    }

    /// During quiet hours only the notification centre keeps them.
    pub fn quiet(self) -> Channels {
        Channels {
            in_app: self.in_app,
            ..Channels::NONE
        }
    }
}

/// A user's quiet hours: from `from` to `until`, minutes after midnight in their time zone
/// (over midnight when `until` is the smaller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    pub from: u16,
    pub until: u16,
}

impl QuietHours {
    /// Whether `minute` (after their midnight) falls within them; the end is not.
    pub fn holds(self, minute: u16) -> bool {
        match self.from.cmp(&self.until) {
            std::cmp::Ordering::Less => (self.from..self.until).contains(&minute),
            std::cmp::Ordering::Greater => minute >= self.from || minute < self.until,
            std::cmp::Ordering::Equal => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::{BuiltinRole, Permission, PermissionSet};

    fn user(id: i64, role: BuiltinRole) -> Actor {
        Actor {
            user_id: id,
            org_id: 1,
            permissions: role.permissions(),
        }
    }

    #[test]
    fn a_message_is_told_as_whose_conversation_it_is_to_those_who_may_open_it() {
        let admin = user(1, BuiltinRole::Administrator);
        let seller = user(2, BuiltinRole::Seller);
        let editor = user(3, BuiltinRole::Editor);
        let mine = Happened::Incoming { assignee: Some(2) };
        assert_eq!(kind_for(&seller, mine), Some(Kind::MessageMine));
        assert_eq!(kind_for(&admin, mine), Some(Kind::MessageOthers));
        assert_eq!(kind_for(&editor, mine), None, "an editor has no inbox");
        let unassigned = Happened::Incoming { assignee: None };
        assert_eq!(kind_for(&admin, unassigned), Some(Kind::MessageUnassigned));
        assert_eq!(
            kind_for(&seller, unassigned),
            None,
            "a seller sees only their own conversations"
        );
        let others = Happened::Incoming { assignee: Some(9) };
        assert_eq!(kind_for(&seller, others), None);
        let custom = Actor {
            user_id: 4,
            org_id: 1,
            permissions: PermissionSet::EMPTY
                .with(Permission::UseInbox)
                .with(Permission::SeeAllConversations),
        };
        assert_eq!(kind_for(&custom, others), Some(Kind::MessageOthers));
    }

    #[test]
    fn an_assignment_is_told_to_its_new_assignee_unless_they_took_it() {
        let seller = user(2, BuiltinRole::Seller);
        let admin = user(1, BuiltinRole::Administrator);
        assert_eq!(
            kind_for(&seller, Happened::Assigned { to: 2, by: Some(1) }),
            Some(Kind::AssignedToMe)
        );
        assert_eq!(
            kind_for(&seller, Happened::Assigned { to: 2, by: None }),
            Some(Kind::AssignedToMe),
            "a rule gave it"
        );
        assert_eq!(
            kind_for(&seller, Happened::Assigned { to: 2, by: Some(2) }),
            None
        );
        assert_eq!(
            kind_for(&admin, Happened::Assigned { to: 2, by: Some(1) }),
            None
        );
    }

    #[test]
    fn defaults_keep_other_people_s_conversations_quiet() {
        assert!(!Channels::default_for(Kind::MessageOthers).any());
        assert!(!Channels::default_for(Kind::MessageMine).email);
        assert!(Channels::default_for(Kind::AssignedToMe).email);
        assert!(Channels::default_for(Kind::MessageUnassigned).push);
        let quiet = Channels::default_for(Kind::AssignedToMe).quiet();
        assert_eq!((quiet.in_app, quiet.any()), (true, true));
        assert!(!quiet.push && !quiet.email && !quiet.sound);
        for kind in Kind::ALL {
            assert_eq!(Kind::from_key(kind.key()), Some(kind));
        }
    }

    #[test]
    fn quiet_hours_may_run_over_midnight() {
        let night = QuietHours {
            from: 22 * 60,
            until: 7 * 60,
        };
        assert!(night.holds(23 * 60));
        assert!(night.holds(0));
        assert!(night.holds(6 * 60 + 59));
        assert!(!night.holds(7 * 60));
        assert!(!night.holds(12 * 60));
        let lunch = QuietHours {
            from: 13 * 60,
            until: 14 * 60,
        };
        assert!(lunch.holds(13 * 60 + 30));
        assert!(!lunch.holds(14 * 60));
        assert!(!QuietHours {
            from: 60,
            until: 60
        }
        .holds(60));
    }
}
