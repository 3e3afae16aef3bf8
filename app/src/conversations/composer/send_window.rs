//! What the conversation's channel lets the agent send now: a disconnected line sends nothing,
//! nor does one whose business account Meta disabled; a restriction Meta put on the line stops
//! its kind of sending until it ends; a closed interaction window allows templates only
//! (WhatsApp) or nothing, and the time left in an open window ticks live.

use leptos::prelude::*;

use super::popups::Popup;
use crate::conversations::workspace::{OverviewResource, ThreadResource};
use crate::epoch::EpochMs;
use crate::error::AppError;
use crate::i18n::*;
use crate::kit::clock;
use crate::kit::form::{error_text, refusal_text};
use crate::kit::line_standing::restriction;
use crate::standing::{Standing, Stopped};
use crate::window::{
    line_allows, may_send, window, Outgoing, Refusal, Window, HUMAN_AGENT_WINDOW_MS,
};
use channels::Channel;

#[derive(Clone, Copy)]
pub(super) struct SendWindow {
    thread: ThreadResource,
    /// Carries each line's standing with Meta, kept current by the stream.
    overview: OverviewResource,
    now: RwSignal<EpochMs>,
    /// Set once the page runs in the browser: the server's clock would not match it.
    mounted: RwSignal<bool>,
    locale: Locale,
}

impl SendWindow {
    /// `now` is the composer's clock; the remaining window ticks with it every 15 seconds.
    pub fn new(
        thread: ThreadResource,
        overview: OverviewResource,
        now: RwSignal<EpochMs>,
        locale: Locale,
    ) -> Self {
        #[cfg(feature = "hydrate")]
        {
            use leptos::leptos_dom::helpers::set_interval_with_handle;
            if let Ok(handle) = set_interval_with_handle(
                move || now.set(EpochMs::now()),
                std::time::Duration::from_secs(15),
            ) {
                on_cleanup(move || handle.clear());
            }
        }
        let mounted = RwSignal::new(false);
        Effect::new(move |_| mounted.set(true));
        SendWindow {
            thread,
            overview,
            now,
            mounted,
            locale,
        }
    }

    /// The conversation's channel, when the customer last wrote, and whether its line is
    /// connected. Read with `try_with`: a file or a recording may finish after the page has
    /// gone.
    pub fn state(self) -> Option<(Channel, Option<EpochMs>, bool)> {
        self.thread
            .try_with(|t| {
                t.as_ref()
                    .and_then(|t| t.as_ref().ok())
                    .and_then(|t| t.as_ref())
                    .map(|t| {
                        (
                            t.conversation.channel,
                            t.conversation.last_incoming_at,
                            t.account_connected,
                        )
                    })
            })
            .flatten()
    }

    /// What Meta last said about the conversation's line.
    fn standing(self) -> Standing {
        let Some(account_id) = self
            .thread
            .try_with(|t| {
                t.as_ref()
                    .and_then(|t| t.as_ref().ok())
                    .and_then(|t| t.as_ref())
                    .map(|t| t.conversation.account_id)
            })
            .flatten()
        else {
            return Standing::default();
        };
        self.overview
            .try_with(|o| {
                o.as_ref()
                    .and_then(|o| o.as_ref().ok())
                    .and_then(|o| o.lines.iter().find(|l| l.id == account_id))
                    .map(|l| l.standing.clone())
            })
            .flatten()
            .unwrap_or_default()
    }

    /// The time now, read again whenever the clock ticks or what it is compared with changes
    /// (a customer's message that came since the last tick must not show a longer window).
    fn at_now(self) -> EpochMs {
        self.now.track();
        EpochMs::now()
    }

    /// WhatsApp and Twilio: the channels with templates.
    pub fn whatsapp(self) -> bool {
        self.state().is_some_and(|(c, _, _)| with_templates(c))
    }

    /// Why a free-form message cannot be sent now, if it cannot.
    pub fn refusal(self) -> Option<String> {
        let (channel, last, connected) = self.state()?;
        if !connected {
            return Some(error_text(self.locale, &AppError::AccountDisconnected));
        }
        let now = self.at_now();
        let standing = self.standing();
        match line_allows(&standing, Outgoing::FreeForm, false, false, now) {
            Err(Refusal::LineMayNotReply) => {
                let offset = clock::viewer_offset_minutes();
                return restriction(
                    self.locale,
                    &standing,
                    Stopped::CustomerInitiated,
                    now,
                    offset,
                );
            }
            Err(refusal) => return Some(refusal_text(self.locale, refusal)),
            Ok(()) => {}
        }
        let open = window(channel, last, now);
        may_send(open, channel, Outgoing::FreeForm)
            .err()
            .map(|r| refusal_text(self.locale, r))
    }

    /// What a restriction on starting conversations means here, when one is in force.
    fn may_not_start(self) -> Option<String> {
        let (channel, _, connected) = self.state()?;
        if !connected || !with_templates(channel) {
            return None;
        }
        let offset = clock::viewer_offset_minutes();
        restriction(
            self.locale,
            &self.standing(),
            Stopped::BusinessInitiated,
            self.at_now(),
            offset,
        )
    }

    pub fn templates_allowed(self) -> bool {
        let Some((channel, last, connected)) = self.state() else {
            return false;
        };
        let now = self.at_now();
        connected
            && may_send(window(channel, last, now), channel, Outgoing::Template).is_ok()
            && line_allows(&self.standing(), Outgoing::Template, false, false, now).is_ok()
    }

    /// How long the open window lasts, in words.
    fn remaining(self) -> Option<String> {
        if !self.mounted.get() {
            return None;
        }
        let (channel, last, connected) = self.state()?;
        if !connected {
            return None;
        }
        let locale = self.locale;
        let whatsapp = with_templates(channel);
        let at = self.at_now();
        match window(channel, last, at) {
            // WhatsApp: free messages until the window closes, templates after.
            Window::Free { until } if whatsapp => Some(fill(
                td_string!(locale, inbox.window_left),
                clock::duration(until - at),
            )),
            // Facebook and Instagram: any answer until 7 days after the customer wrote.
            Window::Free { .. } | Window::HumanAgent { .. } => {
                let until = last? + HUMAN_AGENT_WINDOW_MS;
                Some(fill(
                    td_string!(locale, inbox.window_left_reply),
                    clock::duration(until - at),
                ))
            }
            _ => None,
        }
    }

    /// Why nothing can be sent (with the way to a template where one may go), or the time
    /// left.
    pub fn notices(self, popup: RwSignal<Popup>) -> impl IntoView {
        let locale = self.locale;
        let closed = move || {
            self.refusal().map(|reason| {
                let templates = self.whatsapp() && self.templates_allowed();
                view! {
                    <p class="window-closed" role="status">
                        {reason}
                        {templates
                            .then(|| {
                                view! {
                                    " "
                                    <button
                                        type="button"
                                        class="link-button"
                                        on:click=move |_| popup.set(Popup::Templates)
                                    >
                                        {td_string!(locale, inbox.choose_template)}
                                    </button>
                                }
                            })}
                    </p>
                }
            })
        };
        let left = move || {
            self.remaining()
                .map(|text| view! { <p class="window-left">{text}</p> })
        };
        let restricted = move || {
            self.may_not_start().map(|text| {
                view! { <p class="window-closed line-restricted" role="status">{text}</p> }
            })
        };
        (closed, restricted, left)
    }
}

fn with_templates(channel: Channel) -> bool {
    matches!(channel, Channel::Whatsapp | Channel::Twilio)
}

fn fill(template: &str, duration: String) -> String {
    crate::kit::form::fill(template, &[("time", duration)]).to_string()
}
