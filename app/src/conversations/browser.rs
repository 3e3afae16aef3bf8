//! What the workspace asks of the browser itself: a chime, focus, uploads with progress,
//! keeping the thread's scroll position. On the server each is a no-op.

use super::AttachmentView;
use crate::error::AppError;

/// A short two-note chime for a new message (R22), made with Web Audio: no sound file.
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

/// Sends a file to `POST /api/upload`, reporting the fraction sent as it goes, then calls
/// `done` with the stored attachment or the server's refusal.
pub fn upload(
    conversation_id: i64,
    file: PickedFile,
    progress: impl Fn(f64) + 'static,
    done: impl FnOnce(Result<AttachmentView, AppError>) + 'static,
) {
    #[cfg(feature = "hydrate")]
    {
        use std::cell::RefCell;
        use std::rc::Rc;
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;

        type Done = Box<dyn FnOnce(Result<AttachmentView, AppError>)>;
        let fail = |done: Done| done(Err(AppError::Transport("upload".into())));
        let done: Rc<RefCell<Option<Done>>> = Rc::new(RefCell::new(Some(Box::new(done))));
        let (Ok(request), Ok(form)) = (web_sys::XmlHttpRequest::new(), web_sys::FormData::new())
        else {
            if let Some(done) = done.borrow_mut().take() {
                fail(done);
            }
            return;
        };
        let _ = form.append_with_blob_and_filename("file", &file, &file.name());
        let url = format!("/api/upload?conversation_id={conversation_id}");
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
                    serde_json::from_str::<AttachmentView>(&body)
                        .map_err(|e| AppError::Transport(e.to_string()))
                } else {
                    Err(serde_json::from_str::<AppError>(&body)
                        .unwrap_or_else(|_| AppError::Transport(format!("status {status}"))))
                };
                done(result);
            })
        };
        request.set_onloadend(Some(finished.as_ref().unchecked_ref()));
        // Both handlers live until the request ends; they are small and few.
        on_progress.forget();
        finished.forget();
        if request.send_with_opt_form_data(Some(&form)).is_err() {
            if let Some(done) = done.borrow_mut().take() {
                fail(done);
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (conversation_id, file, progress);
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
