//! A conversation's life as pure rules: who it may be assigned to, where it goes when
//! the customer writes again, and when an automatic closing rule closes it. The server applies
//! them; the interface uses them to offer only what the server will accept.

use serde::{Deserialize, Serialize};

use crate::epoch::EpochMs;

pub const MINUTE_MS: i64 = 60_000;

/// The unit an inactivity time is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    Minutes,
    Hours,
    Days,
}

impl Unit {
    pub const ALL: [Unit; 3] = [Unit::Minutes, Unit::Hours, Unit::Days];

    pub fn key(self) -> &'static str {
        match self {
            Unit::Minutes => "minutes",
            Unit::Hours => "hours",
            Unit::Days => "days",
        }
    }

    pub fn from_key(key: &str) -> Option<Unit> {
        Unit::ALL.into_iter().find(|u| u.key() == key)
    }

    fn minutes(self) -> i64 {
        match self {
            Unit::Minutes => 1,
            Unit::Hours => 60,
            Unit::Days => 24 * 60,
        }
    }
}

/// The longest inactivity a rule may wait for: a year.
pub const MAX_INACTIVITY_MINUTES: i64 = 365 * 24 * 60;

/// How long a conversation may stay quiet: a whole number of minutes, hours or days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inactivity {
    pub amount: i64,
    pub unit: Unit,
}

impl Inactivity {
    /// `None` unless the amount is at least one and the whole time at most a year.
    pub fn new(amount: i64, unit: Unit) -> Option<Inactivity> {
        (amount >= 1 && amount.saturating_mul(unit.minutes()) <= MAX_INACTIVITY_MINUTES)
            .then_some(Inactivity { amount, unit })
    }

    pub fn millis(self) -> i64 {
        self.amount * self.unit.minutes() * MINUTE_MS
    }
}

/// The part of an automatic closing rule that decides when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosingRule {
    pub enabled: bool,
    pub inactivity: Inactivity,
    /// When the rule was last saved: inactivity before then does not count.
    pub saved_at: EpochMs,
}

/// When `rule` closes an open conversation whose customer last wrote at `last_incoming`:
/// the inactivity time after that message, or after the rule was saved if the message is
/// older (rules are not retroactive). Only the customer's messages count: what the business
/// sends never moves the deadline, and a conversation the customer never wrote in has none.
/// A disabled rule closes nothing.
pub fn close_at(rule: &ClosingRule, last_incoming: Option<EpochMs>) -> Option<EpochMs> {
    if !rule.enabled {
        return None;
    }
    let quiet_since = last_incoming?.max(rule.saved_at);
    Some(quiet_since + rule.inactivity.millis())
}

/// Whether a conversation due at `deadline` is to be closed at `now`.
pub fn is_due(deadline: Option<EpochMs>, now: EpochMs) -> bool {
    deadline.is_some_and(|at| at <= now)
}

/// A user as a possible assignee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignee {
    pub user_id: i64,
    pub active: bool,
    pub available: bool,
    /// Whether their role opens the inbox at all.
    pub uses_inbox: bool,
}

/// Why an assignment is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// Marked not available: nobody may give them new conversations, themselves included.
    Unavailable,
    /// Deactivated, or a role without the inbox.
    CannotWork,
}

/// Whether a conversation may be given to `to`. Who may do the assigning is the
/// permission module's question; this is about the assignee.
pub fn may_assign(to: &Assignee) -> Result<(), Refusal> {
    if !to.active || !to.uses_inbox {
        return Err(Refusal::CannotWork);
    }
    if !to.available {
        return Err(Refusal::Unavailable);
    }
    Ok(())
}

/// Who a closed conversation belongs to when the customer writes again: still its assignee
/// while that user is active and works the inbox; otherwise nobody (Unassigned). Availability
/// does not matter here: the conversation is theirs already.
pub fn assignee_on_reopen(current: Option<Assignee>) -> Option<i64> {
    current
        .filter(|a| a.active && a.uses_inbox)
        .map(|a| a.user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 60 * MINUTE_MS;

    fn rule(amount: i64, unit: Unit, saved_at: i64) -> ClosingRule {
        ClosingRule {
            enabled: true,
            inactivity: Inactivity::new(amount, unit).unwrap(),
            saved_at: at(saved_at),
        }
    }

    /// The moment `ms` milliseconds after the epoch.
    fn at(ms: i64) -> EpochMs {
        EpochMs(ms)
    }

    #[test]
    fn the_deadline_counts_from_the_last_incoming_message() {
        let r = rule(2, Unit::Hours, 0);
        assert_eq!(close_at(&r, Some(at(10 * HOUR))), Some(at(12 * HOUR)));
        // Due exactly at the deadline, not a millisecond before.
        assert!(!is_due(
            close_at(&r, Some(at(10 * HOUR))),
            at(12 * HOUR - 1)
        ));
        assert!(is_due(close_at(&r, Some(at(10 * HOUR))), at(12 * HOUR)));
    }

    #[test]
    fn a_new_incoming_message_restarts_it() {
        let r = rule(30, Unit::Minutes, 0);
        let first = close_at(&r, Some(at(HOUR))).unwrap();
        let again = close_at(&r, Some(at(HOUR + 20 * MINUTE_MS))).unwrap();
        assert_eq!(again - first, 20 * MINUTE_MS);
    }

    #[test]
    fn outgoing_messages_do_not_count_and_silence_from_the_start_has_no_deadline() {
        // Only the last incoming time is an input: a reply by the business cannot move it.
        let r = rule(1, Unit::Days, 0);
        assert_eq!(close_at(&r, Some(at(0))), Some(at(24 * HOUR)));
        assert_eq!(close_at(&r, None), None);
    }

    #[test]
    fn a_rule_saved_after_the_last_message_counts_from_when_it_was_saved() {
        let saved = 100 * HOUR;
        let r = rule(3, Unit::Hours, saved);
        assert_eq!(close_at(&r, Some(at(HOUR))), Some(at(saved + 3 * HOUR)));
        // A message after saving counts from the message.
        assert_eq!(
            close_at(&r, Some(at(saved + HOUR))),
            Some(at(saved + 4 * HOUR))
        );
    }

    #[test]
    fn a_disabled_rule_closes_nothing() {
        let mut r = rule(1, Unit::Minutes, 0);
        r.enabled = false;
        assert_eq!(close_at(&r, Some(at(0))), None);
        assert!(!is_due(None, at(i64::MAX)));
    }

    #[test]
    fn units_and_limits() {
        assert_eq!(
            Inactivity::new(1, Unit::Minutes).unwrap().millis(),
            MINUTE_MS
        );
        assert_eq!(Inactivity::new(1, Unit::Hours).unwrap().millis(), HOUR);
        assert_eq!(Inactivity::new(1, Unit::Days).unwrap().millis(), 24 * HOUR);
        assert_eq!(Inactivity::new(0, Unit::Hours), None);
        assert_eq!(Inactivity::new(-5, Unit::Minutes), None);
        assert!(Inactivity::new(365, Unit::Days).is_some());
        assert_eq!(Inactivity::new(366, Unit::Days), None);
        assert_eq!(Inactivity::new(i64::MAX, Unit::Days), None);
        for unit in Unit::ALL {
            assert_eq!(Unit::from_key(unit.key()), Some(unit));
        }
        assert_eq!(Unit::from_key("weeks"), None);
    }

    fn user(active: bool, available: bool, uses_inbox: bool) -> Assignee {
        Assignee {
            user_id: 7,
            active,
            available,
            uses_inbox,
        }
    }

    #[test]
    fn only_an_available_active_inbox_user_is_assigned() {
        assert_eq!(may_assign(&user(true, true, true)), Ok(()));
        assert_eq!(
            may_assign(&user(true, false, true)),
            Err(Refusal::Unavailable)
        );
        assert_eq!(
            may_assign(&user(false, true, true)),
            Err(Refusal::CannotWork)
        );
        assert_eq!(
            may_assign(&user(true, true, false)),
            Err(Refusal::CannotWork)
        );
    }

    #[test]
    fn a_reopened_conversation_stays_with_an_active_owner() {
        assert_eq!(assignee_on_reopen(Some(user(true, false, true))), Some(7));
        assert_eq!(assignee_on_reopen(Some(user(false, true, true))), None);
        assert_eq!(assignee_on_reopen(Some(user(true, true, false))), None);
        assert_eq!(assignee_on_reopen(None), None);
    }
}
