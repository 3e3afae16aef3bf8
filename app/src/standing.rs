//! A WhatsApp line's standing with Meta, as the business account's webhooks tell it: the
//! restrictions on it and when each ends, a policy violation, a ban (or its reinstatement), a
//! disconnection of the business app, the number's quality and its messaging limit. Stored per
//! line as JSON (`accounts.standing`), shown to administrators, and enforced on sends.

use serde::{Deserialize, Serialize};

use crate::epoch::EpochMs;

/// What Meta last said about a line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Standing {
    /// Restrictions in force: Meta's type and when it ends.
    #[serde(default)]
    pub restrictions: Vec<Restriction>,
    /// A policy violation Meta reported (its type, e.g. `ADULT`).
    #[serde(default)]
    pub violation: Option<String>,
    /// The business account is disabled (`DISABLE`) or will be (`SCHEDULE_FOR_DISABLE`).
    #[serde(default)]
    pub ban: Option<String>,
    /// The business account was disconnected or offboarded, with Meta's reason.
    #[serde(default)]
    pub disconnected: Option<String>,
    /// The number's quality as its last update said: `FLAGGED` until `UNFLAGGED`.
    #[serde(default)]
    pub flagged: bool,
    /// Conversations a day the business may start (`TIER_250`, `TIER_2K`, …).
    #[serde(default)]
    pub messaging_limit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Restriction {
    /// Meta's restriction type, e.g. `RESTRICTED_BIZ_INITIATED_MESSAGING`.
    pub kind: String,
    /// When it ends, if Meta said.
    pub until: Option<EpochMs>,
}

crate::from_json!(Restriction { kind, until });
crate::from_json!(Standing {
    restrictions,
    violation,
    ban,
    disconnected,
    flagged,
    messaging_limit
});

/// What a restriction stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Conversations the business starts: templates.
    BusinessInitiated,
    /// Replies to customers who wrote.
    CustomerInitiated,
}

impl Stopped {
    /// The restriction's type as Meta writes it (`restriction_info[].restriction_type`).
    pub fn kind(self) -> &'static str {
        match self {
            Stopped::BusinessInitiated => "RESTRICTED_BIZ_INITIATED_MESSAGING",
            Stopped::CustomerInitiated => "RESTRICTED_CUSTOMER_INITIATED_MESSAGING",
        }
    }
}

impl Standing {
    /// The restrictions still in force at `now`.
    pub fn in_force(&self, now: EpochMs) -> impl Iterator<Item = &Restriction> {
        self.restrictions
            .iter()
            .filter(move |r| r.until.is_none_or(|until| until > now))
    }

    /// Whether sending of this kind is restricted at `now`, and until when.
    pub fn stops(&self, stopped: Stopped, now: EpochMs) -> Option<Option<EpochMs>> {
        self.in_force(now)
            .find(|r| r.kind == stopped.kind())
            .map(|r| r.until)
    }

    /// Whether the line cannot send at all: its business account disabled or disconnected.
    pub fn cut_off(&self) -> bool {
        self.ban.as_deref() == Some("DISABLE") || self.disconnected.is_some()
    }

    /// Whether an administrator should be told anything about this line.
    pub fn needs_attention(&self, now: EpochMs) -> bool {
        self.in_force(now).next().is_some()
            || self.violation.is_some()
            || self.ban.is_some()
            || self.disconnected.is_some()
            || self.flagged
    }
}

/// The standing after an `account_update` (`event`, its restrictions and its detail); `None`
/// when the event says nothing about sending.
pub fn after_account_event(
    mut standing: Standing,
    event: &str,
    restrictions: &[(String, Option<i64>)],
    detail: Option<&str>,
) -> Option<Standing> {
    match event {
        "ACCOUNT_RESTRICTION" => {
            standing.restrictions = restrictions
                .iter()
                .map(|(kind, until)| Restriction {
                    // The older spelling of the same restriction.
                    kind: kind.replace(
                        "RESTRICTION_ON_ADD_PHONE_NUMBER_ACTION",
                        "RESTRICTED_ADD_PHONE_NUMBER_ACTION",
                    ),
                    until: until.map(EpochMs),
                })
                .collect();
        }
        "ACCOUNT_VIOLATION" => standing.violation = detail.map(str::to_string),
        "DISABLED_UPDATE" => {
            standing.ban = detail
                .filter(|state| *state != "REINSTATE")
                .map(str::to_string);
            if standing.ban.is_none() {
                standing.violation = None;
            }
        }
        "PARTNER_REMOVED"
        | "ACCOUNT_OFFBOARDED"
        | "ACCOUNT_DELETED"
        | "PARTNER_APP_UNINSTALLED" => {
            standing.disconnected = Some(detail.unwrap_or(event).to_string());
        }
        "ACCOUNT_RECONNECTED" | "PARTNER_ADDED" | "PARTNER_APP_INSTALLED" => {
            standing.disconnected = None;
        }
        _ => return None,
    }
    Some(standing)
}

/// The standing after a `phone_number_quality_update`.
pub fn after_number_event(mut standing: Standing, event: &str, limit: Option<&str>) -> Standing {
    match event {
        "FLAGGED" => standing.flagged = true,
        "UNFLAGGED" | "UPGRADE" | "THROUGHPUT_UPGRADE" | "ONBOARDING" => standing.flagged = false,
        _ => {}
    }
    if let Some(limit) = limit.filter(|l| *l != "TIER_NOT_SET") {
        standing.messaging_limit = Some(limit.to_string());
    }
    standing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restrictions_stop_their_kind_of_sending_until_they_end() {
        let standing = after_account_event(
            Standing::default(),
            "ACCOUNT_RESTRICTION",
            &[
                ("RESTRICTED_BIZ_INITIATED_MESSAGING".into(), Some(2_000)),
                ("RESTRICTION_ON_ADD_PHONE_NUMBER_ACTION".into(), None),
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            standing.stops(Stopped::BusinessInitiated, EpochMs(1_000)),
            Some(Some(EpochMs(2_000)))
        );
        assert_eq!(
            standing.stops(Stopped::CustomerInitiated, EpochMs(1_000)),
            None
        );
        assert_eq!(
            standing.stops(Stopped::BusinessInitiated, EpochMs(2_000)),
            None
        );
        assert_eq!(
            standing.restrictions[1].kind,
            "RESTRICTED_ADD_PHONE_NUMBER_ACTION"
        );
        assert!(
            standing.needs_attention(EpochMs(3_000)),
            "one without an end"
        );
        // A new restriction list replaces the old one; an empty one lifts them.
        let lifted = after_account_event(standing, "ACCOUNT_RESTRICTION", &[], None).unwrap();
        assert!(!lifted.needs_attention(EpochMs(0)));
    }

    #[test]
    fn bans_violations_and_disconnections_come_and_go() {
        let banned =
            after_account_event(Standing::default(), "DISABLED_UPDATE", &[], Some("DISABLE"))
                .unwrap();
        assert!(banned.cut_off());
        let reinstated =
            after_account_event(banned, "DISABLED_UPDATE", &[], Some("REINSTATE")).unwrap();
        assert!(!reinstated.cut_off() && reinstated.ban.is_none());
        let violated =
            after_account_event(reinstated, "ACCOUNT_VIOLATION", &[], Some("ADULT")).unwrap();
        assert_eq!(violated.violation.as_deref(), Some("ADULT"));
        assert!(!violated.cut_off() && violated.needs_attention(EpochMs(0)));
        let gone =
            after_account_event(violated, "PARTNER_REMOVED", &[], Some("PRIMARY_INACTIVITY"))
                .unwrap();
        assert!(gone.cut_off());
        let back = after_account_event(gone, "ACCOUNT_RECONNECTED", &[], None).unwrap();
        assert!(!back.cut_off());
        assert!(after_account_event(back, "AD_ACCOUNT_LINKED", &[], None).is_none());
    }

    #[test]
    fn a_number_is_flagged_until_unflagged_and_keeps_its_limit() {
        let flagged = after_number_event(Standing::default(), "FLAGGED", Some("TIER_10K"));
        assert!(flagged.flagged);
        assert_eq!(flagged.messaging_limit.as_deref(), Some("TIER_10K"));
        let unflagged = after_number_event(flagged, "UNFLAGGED", Some("TIER_NOT_SET"));
        assert!(!unflagged.flagged);
        assert_eq!(unflagged.messaging_limit.as_deref(), Some("TIER_10K"));
    }
}
