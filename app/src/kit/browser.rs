//! What the workspace asks of the browser itself: a chime, focus, uploads with progress,
//! keeping the thread's scroll position. On the server each is a no-op.

use crate::attachments::AttachmentView;
use crate::error::AppError;

/// Asks the browser's own yes/no question; `false` without a browser.
pub fn confirm(question: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.confirm_with_message(question).ok())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = question;
        false
    }
}

/// A list kept in the browser's `localStorage` as JSON under `key`; empty without a browser
/// or when what is stored cannot be read.
pub fn load_list<T: crate::json::FromJson>(key: &str) -> Vec<T> {
    #[cfg(feature = "hydrate")]
    if let Some(Ok(Some(text))) = local_storage().map(|s| s.get_item(key)) {
        return crate::json::from_str(&text).unwrap_or_default();
    }
    let _ = key;
    Vec::new()
}

/// Keeps `items` under `key`; an empty list removes the entry.
pub fn save_list<T: serde::Serialize>(key: &str, items: &[T]) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = local_storage() {
        let _ = if items.is_empty() {
            storage.remove_item(key)
        } else {
            match serde_json::to_string(items) {
                Ok(text) => storage.set_item(key, &text),
                Err(_) => Ok(()),
            }
        };
    }
    let _ = (key, items);
}

#[cfg(feature = "hydrate")]
fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// A short two-note chime for a new message, made with Web Audio: no sound file.
pub fn chime() {
    #[cfg(feature = "hydrate")]
    {
        let Ok(context) = web_sys::AudioContext::new() else {
            return;
        };
        let now = context.current_time();
        for (i, frequency) in [880.0f32, 1320.0].into_iter().enumerate() {
            let (Ok(oscillator), Ok(gain)) = (context.create_oscillator(), context.create_gain())
            else {
                return;
            };
            let start = now + i as f64 * 0.12;
            oscillator.frequency().set_value(frequency);
            let _ = gain.gain().set_value_at_time(0.0001, start);
            let _ = gain
                .gain()
                .exponential_ramp_to_value_at_time(0.2, start + 0.02);
            let _ = gain
                .gain()
                .exponential_ramp_to_value_at_time(0.0001, start + 0.25);
            let _ = oscillator.connect_with_audio_node(&gain);
            let _ = gain.connect_with_audio_node(&context.destination());
            let _ = oscillator.start_with_when(start);
            let _ = oscillator.stop_with_when(start + 0.3);
        }
    }
}

/// Moves the keyboard focus to the element with this id.
pub fn focus(id: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(element) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = element.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// Scrolls the message with this id into view and flashes it (a quoted reply's original).
pub fn show_message(message_id: i64) {
    #[cfg(feature = "hydrate")]
    {
        if let Some(element) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(&format!("m-{message_id}")))
        {
            element.scroll_into_view();
            let list = element.class_list();
            let _ = list.remove_1("flash");
            let _ = list.add_1("flash");
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = message_id;
}

/// A file chosen, dropped or pasted in the browser.
#[cfg(feature = "hydrate")]
pub type PickedFile = web_sys::File;
#[cfg(not(feature = "hydrate"))]
pub type PickedFile = ();

/// The file's declared type, size and name.
pub fn describe(file: &PickedFile) -> (String, u64, String) {
    #[cfg(feature = "hydrate")]
    {
        (file.type_(), file.size() as u64, file.name())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = file;
        (String::new(), 0, String::new())
    }
}

/// Sends a file to `POST /api/upload` (for a conversation, or for a quick reply with `None`),
/// reporting the fraction sent as it goes, then calls `done` with the stored attachment or the
/// server's refusal.
pub fn upload(
    conversation_id: Option<i64>,
    file: PickedFile,
    progress: impl Fn(f64) + 'static,
    done: impl FnOnce(Result<AttachmentView, AppError>) + 'static,
) {
    let url = match conversation_id {
        Some(id) => format!("/api/upload?conversation_id={id}"),
        None => "/api/upload".to_string(),
    };
    send_file(url, file, true, progress, move |answer| {
        done(answer.and_then(|body| {
            crate::json::from_str::<AttachmentView>(&body)
                .map_err(|e| AppError::Transport(e.to_string()))
        }))
    });
}

/// Sends a file as the body of `POST url` (a form's `file` field when `as_form`), reporting
/// the fraction sent as it goes, then calls `done` with the answer's body, or the server's
/// refusal.
pub fn send_file(
    url: String,
    file: PickedFile,
    as_form: bool,
    progress: impl Fn(f64) + 'static,
    done: impl FnOnce(Result<String, AppError>) + 'static,
) {
    #[cfg(feature = "hydrate")]
    {
        use std::cell::RefCell;
        use std::rc::Rc;
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;

        type Done = Box<dyn FnOnce(Result<String, AppError>)>;
        let fail = |done: Done| done(Err(AppError::Transport("upload".into())));
        let done: Rc<RefCell<Option<Done>>> = Rc::new(RefCell::new(Some(Box::new(done))));
        let Ok(request) = web_sys::XmlHttpRequest::new() else {
            if let Some(done) = done.borrow_mut().take() {
                fail(done);
            }
            return;
        };
        if request.open("POST", &url).is_err() {
            if let Some(done) = done.borrow_mut().take() {
                fail(done);
            }
            return;
        }
        let on_progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(
            move |event: web_sys::ProgressEvent| {
                if event.length_computable() && event.total() > 0.0 {
                    progress(event.loaded() / event.total());
                }
            },
        );
        if let Ok(target) = request.upload() {
            target.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        }
        let finished = {
            let request = request.clone();
            let done = done.clone();
            Closure::<dyn FnMut()>::new(move || {
                let Some(done) = done.borrow_mut().take() else {
                    return;
                };
                let status = request.status().unwrap_or(0);
                let body = request.response_text().ok().flatten().unwrap_or_default();
                let result = if status == 200 {
                    Ok(body)
                } else {
                    Err(crate::json::from_str::<AppError>(&body)
                        .unwrap_or_else(|_| AppError::Transport(format!("status {status}"))))
                };
                done(result);
            })
        };
        request.set_onloadend(Some(finished.as_ref().unchecked_ref()));
        // Both handlers live until the request ends; they are small and few.
        on_progress.forget();
        finished.forget();
        let sent = match as_form {
            true => web_sys::FormData::new().and_then(|form| {
                form.append_with_blob_and_filename("file", &file, &file.name())?;
                request.send_with_opt_form_data(Some(&form))
            }),
            false => request.send_with_opt_blob(Some(&file)),
        };
        if sent.is_err() {
            if let Some(done) = done.borrow_mut().take() {
                fail(done);
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (url, file, as_form, progress);
        done(Err(AppError::Transport("no browser".into())));
    }
}

/// The files of a file input, a drop or a paste.
#[cfg(feature = "hydrate")]
pub fn files_of(list: Option<web_sys::FileList>) -> Vec<PickedFile> {
    let Some(list) = list else {
        return Vec::new();
    };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// A microphone recording in progress (a voice note).
#[derive(Clone)]
pub struct Recorder {
    #[cfg(feature = "hydrate")]
    inner: std::rc::Rc<recording::Inner>,
}

/// Why recording could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// The person (or the browser's settings) refused the microphone.
    Denied,
    /// There is no microphone, or this browser cannot record Opus.
    Unavailable,
}

/// Asks for the microphone (the browser asks the person) and starts recording Opus audio.
pub async fn start_recording() -> Result<Recorder, RecordError> {
    #[cfg(feature = "hydrate")]
    {
        recording::start().await
    }
    #[cfg(not(feature = "hydrate"))]
    Err(RecordError::Unavailable)
}

impl Recorder {
    /// Stops and gives the recording as a file (`None` when nothing was recorded).
    pub async fn finish(self) -> Option<PickedFile> {
        #[cfg(feature = "hydrate")]
        {
            recording::finish(&self.inner).await
        }
        #[cfg(not(feature = "hydrate"))]
        None
    }

    /// Stops and throws the recording away.
    pub fn cancel(self) {
        #[cfg(feature = "hydrate")]
        recording::cancel(&self.inner);
    }
}

#[cfg(feature = "hydrate")]
mod recording {
    use std::cell::RefCell;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    use super::{RecordError, Recorder};

    /// What browsers record voice in; the server moves it into Ogg.
    const RECORDED_TYPE: &str = "audio/webm;codecs=opus";

    pub struct Inner {
        recorder: web_sys::MediaRecorder,
        stream: web_sys::MediaStream,
        chunks: std::rc::Rc<RefCell<js_sys::Array>>,
        _on_data: Closure<dyn FnMut(web_sys::BlobEvent)>,
    }

    pub async fn start() -> Result<Recorder, RecordError> {
        let window = web_sys::window().ok_or(RecordError::Unavailable)?;
        if !web_sys::MediaRecorder::is_type_supported(RECORDED_TYPE) {
            return Err(RecordError::Unavailable);
        }
        let devices = window
            .navigator()
            .media_devices()
            .map_err(|_| RecordError::Unavailable)?;
        let constraints = web_sys::MediaStreamConstraints::new();
        constraints.set_audio(&JsValue::TRUE);
        let asked = devices
            .get_user_media_with_constraints(&constraints)
            .map_err(|_| RecordError::Unavailable)?;
        let stream: web_sys::MediaStream = match JsFuture::from(asked).await {
            Ok(stream) => stream.unchecked_into(),
            Err(err) => {
                let name = js_sys::Reflect::get(&err, &"name".into())
                    .ok()
                    .and_then(|n| n.as_string());
                return Err(match name.as_deref() {
                    Some("NotAllowedError" | "SecurityError") => RecordError::Denied,
                    _ => RecordError::Unavailable,
                });
            }
        };
        let options = web_sys::MediaRecorderOptions::new();
        options.set_mime_type(RECORDED_TYPE);
        let recorder = web_sys::MediaRecorder::new_with_media_stream_and_media_recorder_options(
            &stream, &options,
        )
        .map_err(|_| RecordError::Unavailable)?;
        let chunks = std::rc::Rc::new(RefCell::new(js_sys::Array::new()));
        let on_data = {
            let chunks = chunks.clone();
            Closure::<dyn FnMut(web_sys::BlobEvent)>::new(move |event: web_sys::BlobEvent| {
                if let Some(blob) = event.data() {
                    chunks.borrow().push(&blob);
                }
            })
        };
        recorder.set_ondataavailable(Some(on_data.as_ref().unchecked_ref()));
        recorder
            .start_with_time_slice(500)
            .map_err(|_| RecordError::Unavailable)?;
        Ok(Recorder {
            inner: std::rc::Rc::new(Inner {
                recorder,
                stream,
                chunks,
                _on_data: on_data,
            }),
        })
    }

    /// Stops the recorder and lets the microphone go; resolves once the last data is in.
    async fn stop(inner: &Inner) {
        let stopped = js_sys::Promise::new(&mut |resolve, _| {
            inner.recorder.set_onstop(Some(&resolve));
        });
        let _ = inner.recorder.stop();
        let _ = JsFuture::from(stopped).await;
        for track in inner.stream.get_tracks().iter() {
            if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
                track.stop();
            }
        }
    }

    pub async fn finish(inner: &Inner) -> Option<web_sys::File> {
        stop(inner).await;
        let chunks = inner.chunks.borrow();
        if chunks.length() == 0 {
            return None;
        }
        let options = web_sys::FilePropertyBag::new();
        options.set_type("audio/webm");
        let name = format!("nota-de-voz-{}.webm", crate::epoch::EpochMs::now().0 / 1000);
        web_sys::File::new_with_blob_sequence_and_options(&chunks, &name, &options).ok()
    }

    pub fn cancel(inner: &Inner) {
        // The recorder still hands over its last data after stopping; nobody takes it now.
        inner.recorder.set_ondataavailable(None);
        let _ = inner.recorder.stop();
        for track in inner.stream.get_tracks().iter() {
            if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
                track.stop();
            }
        }
    }
}
