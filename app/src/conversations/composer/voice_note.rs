//! Voice notes: the microphone is asked for on the first press; the time recorded shows while
//! recording; Send gives the recording to the composer as a file, Discard (or choosing a
//! template) throws it away. A recording lives in the browser only: on the server nothing is
//! ever stored here.

use leptos::leptos_dom::helpers::IntervalHandle;
use leptos::prelude::*;

use crate::epoch::EpochMs;
use crate::i18n::*;
use crate::kit::browser::{self, PickedFile, RecordError, Recorder};
use crate::kit::clock;

/// A recording holds browser objects, which only the browser's thread may touch.
#[cfg(feature = "hydrate")]
type Held = StoredValue<Option<Recorder>, LocalStorage>;
#[cfg(not(feature = "hydrate"))]
type Held = StoredValue<Option<Recorder>>;

#[derive(Clone, Copy)]
pub(super) struct VoiceNote {
    recorder: Held,
    since: RwSignal<Option<EpochMs>>,
    error: RwSignal<Option<RecordError>>,
    ticking: StoredValue<Option<IntervalHandle>>,
    /// The composer's clock, which ticks faster while recording.
    now: RwSignal<EpochMs>,
}

impl VoiceNote {
    pub fn new(now: RwSignal<EpochMs>) -> Self {
        let note = VoiceNote {
            #[cfg(feature = "hydrate")]
            recorder: StoredValue::new_local(None),
            #[cfg(not(feature = "hydrate"))]
            recorder: StoredValue::new(None),
            since: RwSignal::new(None),
            error: RwSignal::new(None),
            ticking: StoredValue::new(None),
            now,
        };
        // Leaving the conversation lets the microphone go. Only the browser records (the
        // server's cleanup may run on another thread); the signals may be gone by now.
        #[cfg(feature = "hydrate")]
        on_cleanup(move || {
            if let Some(Some(started)) = note.recorder.try_update_value(Option::take) {
                started.cancel();
            }
            if let Some(Some(handle)) = note.ticking.try_get_value() {
                handle.clear();
            }
        });
        note
    }

    pub fn recording(self) -> bool {
        self.since.get().is_some()
    }

    fn stop_ticking(self) {
        if let Some(handle) = self.ticking.get_value() {
            handle.clear();
        }
        self.ticking.set_value(None);
        self.since.set(None);
    }

    pub fn start(self) {
        self.error.set(None);
        leptos::task::spawn_local(async move {
            match browser::start_recording().await {
                Ok(started) => {
                    // The conversation may have been left while the browser asked for the
                    // microphone: the recording stops there.
                    if let Some(Some(started)) = self.recorder.try_set_value(Some(started)) {
                        started.cancel();
                        return;
                    }
                    let since = EpochMs::now();
                    self.since.set(Some(since));
                    self.now.set(since);
                    #[cfg(feature = "hydrate")]
                    if let Ok(handle) = leptos::leptos_dom::helpers::set_interval_with_handle(
                        move || self.now.set(EpochMs::now()),
                        std::time::Duration::from_millis(500),
                    ) {
                        self.ticking.set_value(Some(handle));
                    }
                }
                Err(err) => self.error.set(Some(err)),
            }
        });
    }

    pub fn discard(self) {
        if let Some(started) = self.recorder.try_update_value(Option::take).flatten() {
            started.cancel();
        }
        self.stop_ticking();
    }

    /// Stops recording and hands the file to `attach`.
    fn finish(self, attach: impl Fn(PickedFile) + 'static) {
        let Some(started) = self.recorder.try_update_value(Option::take).flatten() else {
            return;
        };
        self.stop_ticking();
        leptos::task::spawn_local(async move {
            if let Some(file) = started.finish().await {
                attach(file);
            }
        });
    }

    /// Why the microphone could not be used, and the running recording with its buttons.
    pub fn view(
        self,
        locale: Locale,
        attach: impl Fn(PickedFile) + Copy + Send + Sync + 'static,
    ) -> impl IntoView {
        let problem = move || {
            self.error.get().map(|err| {
                let text = match err {
                    RecordError::Denied => td_string!(locale, inbox.mic_denied),
                    RecordError::Unavailable => td_string!(locale, inbox.mic_unavailable),
                };
                view! {
                    <p class="form-error" role="alert">
                        {text}
                    </p>
                }
            })
        };
        let running = move || {
            let since = self.since.get()?;
            let time = clock::stopwatch(self.now.get() - since);
            Some(view! {
                <div class="recording" role="status">
                    <span class="recording-dot" aria-hidden="true"></span>
                    <span>{td_string!(locale, inbox.recording)} " " <time>{time}</time></span>
                    <button type="button" class="button ghost" on:click=move |_| self.discard()>
                        {td_string!(locale, inbox.discard_recording)}
                    </button>
                    <button
                        type="button"
                        class="button primary"
                        on:click=move |_| self.finish(attach)
                    >
                        {td_string!(locale, inbox.send_voice)}
                    </button>
                </div>
            })
        };
        (problem, running)
    }
}
