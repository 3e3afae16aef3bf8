//! The interaction window: what the business may send in a conversation, as a pure
//! function of the channel, the customer's last incoming message and the time. The server
//! checks it on every send; the composer uses it for the live countdown.

use crate::epoch::EpochMs;
use channels::Channel;
use serde::{Deserialize, Serialize};

pub const HOUR_MS: i64 = 3_600_000;
/// WhatsApp's customer-service window, and the standard Messenger/Instagram window.
pub const FREE_WINDOW_MS: i64 = 24 * HOUR_MS;
/// How long after the customer's last message a human agent may still answer on Messenger and
/// Instagram (the HUMAN_AGENT tag).
pub const HUMAN_AGENT_WINDOW_MS: i64 = 7 * 24 * HOUR_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Window {
    /// Any message may be sent until `until`.
    Free { until: EpochMs },
    /// Messenger/Instagram, 24 h to 7 days after the customer wrote: a person may still answer
    /// (sent with the HUMAN_AGENT tag) until `until`.
    HumanAgent { until: EpochMs },
    /// WhatsApp outside the 24 h window: approved templates only.
    TemplatesOnly,
    /// Messenger/Instagram: nothing can be sent.
    Closed(ClosedBecause),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClosedBecause {
    /// The business can never write first on Facebook or Instagram.
    CustomerNeverWrote,
    /// More than 7 days since the customer's last message.
    Expired,
}

/// The window of a conversation on `channel` whose customer last wrote at `last_incoming`.
pub fn window(channel: Channel, last_incoming: Option<EpochMs>, now: EpochMs) -> Window {
    let whatsapp = matches!(channel, Channel::Whatsapp | Channel::Twilio);
    match last_incoming {
        None if whatsapp => Window::TemplatesOnly,
        None => Window::Closed(ClosedBecause::CustomerNeverWrote),
        Some(last) if now < last + FREE_WINDOW_MS => Window::Free {
            until: last + FREE_WINDOW_MS,
        },
        Some(_) if whatsapp => Window::TemplatesOnly,
        Some(last) if now < last + HUMAN_AGENT_WINDOW_MS => Window::HumanAgent {
            until: last + HUMAN_AGENT_WINDOW_MS,
        },
        Some(_) => Window::Closed(ClosedBecause::Expired),
    }
}

/// What the agent is trying to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outgoing {
    /// Text, media, a quick reply: anything that is not an approved template.
    FreeForm,
    /// An approved WhatsApp template.
    Template,
}

/// How a permitted message must go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendAs {
    /// Inside the window (Messenger's `RESPONSE`).
    Response,
    /// Messenger/Instagram after 24 h: `MESSAGE_TAG` + `HUMAN_AGENT`.
    HumanAgentTag,
    Template,
}

/// Why a send is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// WhatsApp outside 24 h: only a template can be sent.
    TemplateRequired,
    /// Templates exist only on WhatsApp.
    TemplatesNotOnThisChannel,
    /// Facebook/Instagram: the customer has not written yet.
    CustomerMustWriteFirst,
    /// Facebook/Instagram: more than 7 days since the customer wrote.
    WindowExpired,
    /// The customer stopped marketing messages: a marketing template would not reach them
    /// (Meta answers 131050).
    MarketingStopped,
    /// Meta restricted the line from starting conversations (templates) for now.
    LineMayNotStart,
    /// Meta restricted the line from answering customers for now.
    LineMayNotReply,
    /// The line's business account is disabled or disconnected.
    LineCutOff,
}

impl Refusal {
    pub const ALL: [Refusal; 8] = [
        Refusal::TemplateRequired,
        Refusal::TemplatesNotOnThisChannel,
        Refusal::CustomerMustWriteFirst,
        Refusal::WindowExpired,
        Refusal::MarketingStopped,
        Refusal::LineMayNotStart,
        Refusal::LineMayNotReply,
        Refusal::LineCutOff,
    ];

    /// The failure code a message refused at delivery is stored with.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::TemplateRequired => "window_template_required",
            Refusal::TemplatesNotOnThisChannel => "window_no_templates",
            Refusal::CustomerMustWriteFirst => "window_customer_first",
            Refusal::WindowExpired => "window_expired",
            Refusal::MarketingStopped => "marketing_stopped",
            Refusal::LineMayNotStart => "line_may_not_start",
            Refusal::LineMayNotReply => "line_may_not_reply",
            Refusal::LineCutOff => "line_cut_off",
        }
    }

    pub fn from_code(code: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// The rule the server enforces on every send.
pub fn may_send(window: Window, channel: Channel, what: Outgoing) -> Result<SendAs, Refusal> {
    let whatsapp = matches!(channel, Channel::Whatsapp | Channel::Twilio);
    match (what, window) {
        (Outgoing::Template, _) if !whatsapp => Err(Refusal::TemplatesNotOnThisChannel),
        (Outgoing::Template, _) => Ok(SendAs::Template),
        (Outgoing::FreeForm, Window::Free { .. }) => Ok(SendAs::Response),
        (Outgoing::FreeForm, Window::HumanAgent { .. }) => Ok(SendAs::HumanAgentTag),
        (Outgoing::FreeForm, Window::TemplatesOnly) => Err(Refusal::TemplateRequired),
        (Outgoing::FreeForm, Window::Closed(ClosedBecause::CustomerNeverWrote)) => {
            Err(Refusal::CustomerMustWriteFirst)
        }
        (Outgoing::FreeForm, Window::Closed(ClosedBecause::Expired)) => Err(Refusal::WindowExpired),
    }
}

/// What the line's standing with Meta and the customer's marketing preference allow, besides
/// the window: a restriction in force stops its kind of sending, a disabled or disconnected
/// business account stops all, and a marketing template does not go to a customer who
/// stopped marketing messages.
pub fn line_allows(
    standing: &crate::standing::Standing,
    what: Outgoing,
    marketing: bool,
    marketing_stopped: bool,
    now: EpochMs,
) -> Result<(), Refusal> {
    use crate::standing::Stopped;
    if standing.cut_off() {
        return Err(Refusal::LineCutOff);
    }
    match what {
        Outgoing::Template if standing.stops(Stopped::BusinessInitiated, now).is_some() => {
            Err(Refusal::LineMayNotStart)
        }
        Outgoing::FreeForm if standing.stops(Stopped::CustomerInitiated, now).is_some() => {
            Err(Refusal::LineMayNotReply)
        }
        Outgoing::Template if marketing && marketing_stopped => Err(Refusal::MarketingStopped),
        _ => Ok(()),
    }
}

impl Window {
    /// When the current state ends, for the countdown.
    pub fn until(self) -> Option<EpochMs> {
        match self {
            Window::Free { until } | Window::HumanAgent { until } => Some(until),
            _ => None,
        }
    }
}

/// The failure codes Buzón itself gives an outgoing message (the providers' codes are
/// numbers; refusals of the interaction window have theirs in [`crate::window::Refusal`]).
pub mod failure {
    /// The account was disconnected before the message went out.
    pub const DISCONNECTED: &str = "disconnected";
    /// The provider may or may not have received it.
    pub const UNKNOWN_OUTCOME: &str = "unknown";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_codes_read_back() {
        for refusal in Refusal::ALL {
            assert_eq!(Refusal::from_code(refusal.code()), Some(refusal));
        }
        assert_eq!(Refusal::from_code("131047"), None);
    }

    const T: EpochMs = EpochMs(1_800_000_000_000);

    #[test]
    fn whatsapp_is_free_for_exactly_24_hours_after_the_customer_wrote() {
        for channel in [Channel::Whatsapp, Channel::Twilio] {
            assert_eq!(
                window(channel, Some(T), T),
                Window::Free {
                    until: T + FREE_WINDOW_MS
                }
            );
            assert_eq!(
                window(channel, Some(T), T + FREE_WINDOW_MS - 1),
                Window::Free {
                    until: T + FREE_WINDOW_MS
                }
            );
            assert_eq!(
                window(channel, Some(T), T + FREE_WINDOW_MS),
                Window::TemplatesOnly
            );
            assert_eq!(
                window(channel, Some(T), T + 30 * 24 * HOUR_MS),
                Window::TemplatesOnly
            );
        }
    }

    #[test]
    fn whatsapp_may_start_a_conversation_with_a_template_only() {
        let start = window(Channel::Whatsapp, None, T);
        assert_eq!(start, Window::TemplatesOnly);
        assert_eq!(
            may_send(start, Channel::Whatsapp, Outgoing::Template),
            Ok(SendAs::Template)
        );
        assert_eq!(
            may_send(start, Channel::Whatsapp, Outgoing::FreeForm),
            Err(Refusal::TemplateRequired)
        );
    }

    #[test]
    fn facebook_and_instagram_never_write_first() {
        for channel in [Channel::Messenger, Channel::Instagram] {
            let w = window(channel, None, T);
            assert_eq!(w, Window::Closed(ClosedBecause::CustomerNeverWrote));
            assert_eq!(
                may_send(w, channel, Outgoing::FreeForm),
                Err(Refusal::CustomerMustWriteFirst)
            );
            assert_eq!(
                may_send(w, channel, Outgoing::Template),
                Err(Refusal::TemplatesNotOnThisChannel)
            );
        }
    }

    #[test]
    fn facebook_and_instagram_answer_with_the_human_agent_tag_until_seven_days() {
        for channel in [Channel::Messenger, Channel::Instagram] {
            let inside = window(channel, Some(T), T + FREE_WINDOW_MS - 1);
            assert_eq!(
                may_send(inside, channel, Outgoing::FreeForm),
                Ok(SendAs::Response)
            );
            let tagged = window(channel, Some(T), T + FREE_WINDOW_MS);
            assert_eq!(
                tagged,
                Window::HumanAgent {
                    until: T + HUMAN_AGENT_WINDOW_MS
                }
            );
            assert_eq!(
                may_send(tagged, channel, Outgoing::FreeForm),
                Ok(SendAs::HumanAgentTag)
            );
            let last_moment = window(channel, Some(T), T + HUMAN_AGENT_WINDOW_MS - 1);
            assert!(matches!(last_moment, Window::HumanAgent { .. }));
            let expired = window(channel, Some(T), T + HUMAN_AGENT_WINDOW_MS);
            assert_eq!(expired, Window::Closed(ClosedBecause::Expired));
            assert_eq!(
                may_send(expired, channel, Outgoing::FreeForm),
                Err(Refusal::WindowExpired)
            );
        }
    }

    #[test]
    fn a_template_is_always_allowed_on_whatsapp_even_inside_the_window() {
        let w = window(Channel::Whatsapp, Some(T), T + 1);
        assert_eq!(
            may_send(w, Channel::Whatsapp, Outgoing::Template),
            Ok(SendAs::Template)
        );
        assert_eq!(w.until(), Some(T + FREE_WINDOW_MS));
        assert_eq!(Window::TemplatesOnly.until(), None);
    }

    #[test]
    fn a_clock_behind_the_last_message_still_counts_as_inside() {
        assert!(matches!(
            window(Channel::Whatsapp, Some(T), T - 5_000),
            Window::Free { .. }
        ));
    }
}
