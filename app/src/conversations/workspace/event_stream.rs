//! The browser's end of the live stream: one WebSocket to `/api/live`, resumed from the last
//! event seen after any disconnection, with a quiet "reconnecting" state meanwhile. Besides
//! the conversations' events it says when a line's standing or templates changed, or a contact
//! the user may see, which the Contacts and Settings pages follow alone (`Notice`).

#[cfg(feature = "hydrate")]
use leptos::prelude::*;

use crate::conversations::StreamEvent;

/// Word from the stream that is not an event of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A line's standing or one of its templates changed.
    Lines,
    /// This contact changed (or was deleted).
    Contact(i64),
    /// The stream was down for a while: any of the above may have gone by.
    Missed,
}

impl Notice {
    /// The notice a frame of the stream carries, if it is one.
    pub fn parse(text: &str) -> Option<Notice> {
        if text.contains("\"lines\"") {
            return Some(Notice::Lines);
        }
        let contact = text.strip_prefix("{\"contact\":")?.strip_suffix('}')?;
        contact.trim().parse().ok().map(Notice::Contact)
    }
}

/// Whether the stream is connected, for the "reconnecting" notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Connected,
    Reconnecting,
}

/// Whether an event is news to this page: after what the page was loaded with, and not
/// received before. The server replays a few ids early on every (re)connection, because ids are
/// handed out before commit; a replayed event still updates what is shown (that is harmless),
/// but must not chime or mark a conversation unread again.
#[derive(Debug, Default)]
pub struct Seen {
    /// The last event the page's data includes.
    loaded: i64,
    recent: std::collections::BTreeSet<i64>,
}

impl Seen {
    pub fn new(loaded: i64) -> Seen {
        Seen {
            loaded,
            recent: Default::default(),
        }
    }

    /// Records `id`; `true` the first time an id after the loaded data arrives.
    pub fn fresh(&mut self, id: i64) -> bool {
        if id <= self.loaded || !self.recent.insert(id) {
            return false;
        }
        // Replays reach back a few hundred ids at most: older ones are forgotten.
        let newest = self.recent.last().copied().unwrap_or(id);
        self.recent = self.recent.split_off(&(newest - 1024));
        true
    }
}

/// The page's stream: started once, with the first data the page shows, and closed with the
/// page (the owner it was made in), so that no event reaches a page that is gone.
#[derive(Clone, Copy)]
pub struct Stream {
    #[cfg(feature = "hydrate")]
    running: StoredValue<Option<std::rc::Rc<imp::Shared>>, LocalStorage>,
}

impl Stream {
    /// A stream that is not started yet, closed when the current owner is cleaned up.
    pub fn new() -> Stream {
        #[cfg(feature = "hydrate")]
        {
            let running = StoredValue::new_local(None::<std::rc::Rc<imp::Shared>>);
            on_cleanup(move || {
                if let Some(Some(shared)) = running.try_update_value(Option::take) {
                    shared.stop();
                }
            });
            Stream { running }
        }
        #[cfg(not(feature = "hydrate"))]
        Stream {}
    }

    /// Follows the stream from event `after`, calling `on_event` for each event in order, with
    /// whether it is news to the page (see [`Seen`]), `on_link` when the connection is made
    /// or lost, and `on_notice` for each [`Notice`]. Only the first call starts it.
    pub fn follow(
        self,
        after: i64,
        on_event: impl Fn(StreamEvent, bool) + 'static,
        on_link: impl Fn(Link) + 'static,
        on_notice: impl Fn(Notice) + 'static,
    ) {
        #[cfg(feature = "hydrate")]
        self.start(imp::Handlers {
            after: Some(after),
            on_event: Box::new(on_event),
            on_link: Box::new(on_link),
            on_notice: Box::new(on_notice),
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (after, on_event, on_link, on_notice);
    }

    /// Follows only the notices (lines, contacts), from now on.
    pub fn follow_notices(self, on_notice: impl Fn(Notice) + 'static) {
        #[cfg(feature = "hydrate")]
        self.start(imp::Handlers {
            after: None,
            on_event: Box::new(|_, _| {}),
            on_link: Box::new(|_| {}),
            on_notice: Box::new(on_notice),
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = on_notice;
    }

    #[cfg(feature = "hydrate")]
    fn start(self, handlers: imp::Handlers) {
        if self.running.try_with_value(Option::is_some) != Some(false) {
            return;
        }
        let shared = imp::start(handlers);
        self.running.set_value(Some(shared));
    }
}

impl Default for Stream {
    fn default() -> Self {
        Stream::new()
    }
}

#[cfg(feature = "hydrate")]
mod imp {
    use super::{Link, Notice, Seen, StreamEvent};
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    /// What the page does with the stream; `after: None` follows the notices only.
    pub struct Handlers {
        pub after: Option<i64>,
        pub on_event: Box<dyn Fn(StreamEvent, bool)>,
        pub on_link: Box<dyn Fn(Link)>,
        pub on_notice: Box<dyn Fn(Notice)>,
    }

    pub struct Shared {
        last: Cell<i64>,
        /// Only the notices: nothing to resume from.
        notices_only: bool,
        seen: RefCell<Seen>,
        failures: Cell<u32>,
        /// Set when the page is gone: nothing is called, nothing reconnects.
        stopped: Cell<bool>,
        socket: RefCell<Option<web_sys::WebSocket>>,
        /// The current connection's handlers, freed when it is replaced or stopped (each holds
        /// this, so keeping them here also lets `stop` break the cycle).
        listeners: RefCell<Option<Listeners>>,
        on_event: Box<dyn Fn(StreamEvent, bool)>,
        on_link: Box<dyn Fn(Link)>,
        on_notice: Box<dyn Fn(Notice)>,
    }

    type Listeners = (
        Closure<dyn FnMut()>,
        Closure<dyn FnMut(web_sys::MessageEvent)>,
        Closure<dyn FnMut()>,
    );

    impl Shared {
        pub fn stop(&self) {
            self.stopped.set(true);
            if let Some(socket) = self.socket.borrow_mut().take() {
                socket.set_onopen(None);
                socket.set_onmessage(None);
                socket.set_onclose(None);
                let _ = socket.close();
            }
            // Freed once this turn is over, never from inside one of them.
            if let Some(listeners) = self.listeners.borrow_mut().take() {
                let later = Closure::once_into_js(move || drop(listeners));
                if let Some(window) = web_sys::window() {
                    let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                        later.unchecked_ref(),
                        0,
                    );
                }
            }
        }
    }

    pub fn start(handlers: Handlers) -> Rc<Shared> {
        let after = handlers.after.unwrap_or(0);
        let shared = Rc::new(Shared {
            last: Cell::new(after),
            notices_only: handlers.after.is_none(),
            seen: RefCell::new(Seen::new(after)),
            failures: Cell::new(0),
            stopped: Cell::new(false),
            socket: RefCell::new(None),
            listeners: RefCell::new(None),
            on_event: handlers.on_event,
            on_link: handlers.on_link,
            on_notice: handlers.on_notice,
        });
        connect(shared.clone());
        shared
    }

    fn connect(shared: Rc<Shared>) {
        if shared.stopped.get() {
            return;
        }
        let Some(window) = web_sys::window() else {
            return;
        };
        let location = window.location();
        let scheme = if location.protocol().ok().as_deref() == Some("https:") {
            "wss"
        } else {
            "ws"
        };
        let host = location.host().unwrap_or_default();
        let url = if shared.notices_only {
            format!("{scheme}://{host}/api/live?only=notices")
        } else {
            format!("{scheme}://{host}/api/live?after={}", shared.last.get())
        };
        let Ok(socket) = web_sys::WebSocket::new(&url) else {
            return retry(shared);
        };
        let on_open = {
            let shared = shared.clone();
            Closure::<dyn FnMut()>::new(move || {
                if shared.stopped.get() {
                    return;
                }
                // A notice may have gone by while the connection was down.
                if shared.failures.get() > 0 {
                    (shared.on_notice)(Notice::Missed);
                }
                shared.failures.set(0);
                (shared.on_link)(Link::Connected);
            })
        };
        let on_message = {
            let shared = shared.clone();
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                if shared.stopped.get() {
                    return;
                }
                let Some(text) = event.data().as_string() else {
                    return;
                };
                if let Ok(event) = crate::json::from_str::<StreamEvent>(&text) {
                    if event.id > shared.last.get() {
                        shared.last.set(event.id);
                    }
                    let fresh = shared.seen.borrow_mut().fresh(event.id);
                    (shared.on_event)(event, fresh);
                } else if let Some(notice) = Notice::parse(&text) {
                    (shared.on_notice)(notice);
                } else if text.contains("\"resync\"") {
                    // Too far behind to replay: the page starts over from fresh data.
                    let _ = web_sys::window().map(|w| w.location().reload());
                }
            })
        };
        let on_close = {
            let shared = shared.clone();
            Closure::<dyn FnMut()>::new(move || {
                if shared.stopped.get() {
                    return;
                }
                (shared.on_link)(Link::Reconnecting);
                retry(shared.clone());
            })
        };
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        // Those of the connection before, closed by now, are freed here: this runs from the
        // retry's timer, not from one of them.
        *shared.listeners.borrow_mut() = Some((on_open, on_message, on_close));
        *shared.socket.borrow_mut() = Some(socket);
    }

    fn retry(shared: Rc<Shared>) {
        let failures = shared.failures.get() + 1;
        shared.failures.set(failures);
        let delay = (500 * 2i32.pow(failures.min(5))).min(15_000);
        let again = Closure::once_into_js(move || connect(shared));
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                again.unchecked_ref(),
                delay,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Notice, Seen};

    #[test]
    fn notices_are_read_from_their_frames() {
        assert_eq!(Notice::parse(r#"{"lines":true}"#), Some(Notice::Lines));
        assert_eq!(
            Notice::parse(r#"{"contact":12}"#),
            Some(Notice::Contact(12))
        );
        assert_eq!(Notice::parse(r#"{"contact":"x"}"#), None);
        assert_eq!(Notice::parse(r#"{"resync":true}"#), None);
    }

    #[test]
    fn replayed_events_are_not_news() {
        let mut seen = Seen::new(41);
        // The replay after connecting starts before 41: all of that is in the loaded data.
        assert!(!seen.fresh(1));
        assert!(!seen.fresh(41));
        assert!(seen.fresh(42));
        assert!(seen.fresh(44));
        // A reconnection replays 42 and 44 again, and brings 43, committed late.
        assert!(!seen.fresh(42));
        assert!(seen.fresh(43));
        assert!(!seen.fresh(44));
        assert!(seen.fresh(45));
    }

    #[test]
    fn only_recent_ids_are_kept() {
        let mut seen = Seen::new(0);
        for id in 1..=5000 {
            assert!(seen.fresh(id));
        }
        assert!(seen.recent.len() <= 1025);
    }
}
