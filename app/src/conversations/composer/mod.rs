//! The composer: text with Enter to send, emoji, Personalize, reply-to,
//! attachments by button, drag-and-drop or paste with upload progress, templates with their
//! parameters, preview, category and price, and the interaction window ticking live.
//! Sends are optimistic: the message shows at once as pending and is replaced by the stored
//! one; a failure stays on it with a retry.

use leptos::prelude::*;

use super::list::kind_name;
use super::quick_reply_file;
use super::workspace::offline_queue;
use super::workspace::Workspace;
use super::{send_media, MessageView};
use crate::error::AppError;
use crate::i18n::*;
use crate::kit::browser::{self, PickedFile};
use crate::kit::clock;
use crate::kit::form::{error_text, file_refusal_text, refusal_text, ErrorNote};
use crate::kit::locale::use_locale;
use crate::quick_replies::{load_quick_replies, matching, QuickReply};
use crate::window::{may_send, window, Outgoing, Window};

/// Emoji and Personalize's fields.
mod popups;
/// Sending a template with its parameters.
mod template_picker;

pub use popups::FIELDS;
use popups::{EmojiPicker, PersonalizeMenu, Popup};
pub use template_picker::preview;
use template_picker::TemplatePicker;

#[component]
pub fn Composer(conversation_id: i64) -> AnyView {
    let locale = use_locale();
    let workspace = expect_context::<Workspace>();
    let thread = workspace.thread;
    // What was written here and not sent comes back when the agent does, after a reload too.
    let drafts = workspace.drafts;
    let draft = RwSignal::new(drafts.get(conversation_id).unwrap_or_default());
    Effect::new(move |_| {
        drafts.track();
        if draft.get_untracked().is_empty() {
            if let Some(text) = drafts.get(conversation_id) {
                draft.set(text);
            }
        }
    });
    Effect::new(move |_| drafts.put(conversation_id, &draft.get()));
    let error = RwSignal::new(None::<AppError>);
    let now = RwSignal::new(clock::now_ms());
    let popup = RwSignal::new(Popup::None);
    // The remaining window ticks with the clock.
    #[cfg(feature = "hydrate")]
    {
        use leptos::leptos_dom::helpers::set_interval_with_handle;
        if let Ok(handle) = set_interval_with_handle(
            move || now.set(clock::now_ms()),
            std::time::Duration::from_secs(15),
        ) {
            on_cleanup(move || handle.clear());
        }
    }
    // The time now, read again whenever the clock ticks or what it is compared with changes
    // (a customer's message that came since the last tick must not show a longer window).
    let at_now = move || {
        now.track();
        clock::now_ms()
    };
    // Read with `try_with`: a file or a recording may finish after the page has gone.
    let state = move || {
        thread
            .try_with(|t| {
                t.as_ref()
                    .and_then(|t| t.as_ref().ok())
                    .and_then(|t| t.as_ref())
                    .map(|t| {
                        let channel = t.conversation.channel;
                        (
                            channel,
                            t.conversation.last_incoming_at,
                            t.account_connected,
                        )
                    })
            })
            .flatten()
    };
    let whatsapp = move || {
        state().is_some_and(|(c, _, _)| {
            matches!(c, channels::Channel::Whatsapp | channels::Channel::Twilio)
        })
    };
    let refusal = move || {
        let (channel, last, connected) = state()?;
        if !connected {
            return Some(error_text(locale, &AppError::AccountDisconnected));
        }
        let open = window(channel, last, at_now());
        may_send(open, channel, Outgoing::FreeForm)
            .err()
            .map(|r| refusal_text(locale, r))
    };
    let templates_allowed = move || {
        let Some((channel, last, connected)) = state() else {
            return false;
        };
        connected && may_send(window(channel, last, at_now()), channel, Outgoing::Template).is_ok()
    };
    // Shown once the page runs in the browser: the server's clock would not match it.
    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));
    let remaining = move || {
        if !mounted.get() {
            return None;
        }
        let (channel, last, connected) = state()?;
        if !connected {
            return None;
        }
        let whatsapp = matches!(
            channel,
            channels::Channel::Whatsapp | channels::Channel::Twilio
        );
        let at = at_now();
        match window(channel, last, at) {
            // WhatsApp: free messages until the window closes, templates after.
            Window::Free { until } if whatsapp => Some(fill(
                td_string!(locale, inbox.window_left),
                clock::duration(until - at),
            )),
            // Facebook and Instagram: any answer until 7 days after the customer wrote.
            Window::Free { .. } | Window::HumanAgent { .. } => {
                let until = last? + crate::window::HUMAN_AGENT_WINDOW_MS;
                Some(fill(
                    td_string!(locale, inbox.window_left_reply),
                    clock::duration(until - at),
                ))
            }
            _ => None,
        }
    };

    // Another conversation was picked and this one stays on screen until that one's thread
    // arrives: what is typed now must not go to the customer being left.
    let leaving = move || workspace.selected.get() != Some(conversation_id);

    // Sends are optimistic and survive going offline: see `offline_queue`.
    let queue = workspace.offline_queue;
    // Attachments: checked against the channel before the upload, then uploaded with
    // progress and sent with the text box's content as caption.
    let upload = RwSignal::new(None::<Upload>);
    // A file's message, once sent: shown in the thread, or its failure on the upload line.
    let file_sent = move |name: String, result: Result<MessageView, AppError>| match result {
        Ok(message) => {
            upload.set(None);
            offline_queue::settle(workspace, locale, 0, Ok(message));
        }
        Err(err) => upload.set(Some(Upload {
            name,
            progress: 1.0,
            error: Some(error_text(locale, &err)),
        })),
    };
    // A quick reply's file, sent with the text when the message goes.
    let staged = RwSignal::new(None::<QuickReply>);
    let send_staged = move |reply: QuickReply, caption: String, reply_to: Option<i64>| {
        let name = reply
            .attachment
            .as_ref()
            .and_then(|a| a.file_name.clone())
            .unwrap_or_default();
        upload.set(Some(Upload {
            name: name.clone(),
            progress: 1.0,
            error: None,
        }));
        leptos::task::spawn_local(async move {
            let caption = Some(caption).filter(|c| !c.trim().is_empty());
            let sent = match quick_reply_file(conversation_id, reply.id).await {
                Ok(file) => send_media(conversation_id, file.id, caption, reply_to).await,
                Err(err) => Err(err),
            };
            file_sent(name, sent);
        });
    };
    let submit = move || {
        let body = draft.get_untracked();
        let file = staged.get_untracked();
        if (body.trim().is_empty() && file.is_none()) || leaving() || refusal().is_some() {
            return;
        }
        draft.set(String::new());
        staged.set(None);
        let reply_to = workspace.reply_to.get_untracked().map(|m| m.id);
        workspace.reply_to.set(None);
        match file {
            Some(reply) => send_staged(reply, body, reply_to),
            None => queue.send(workspace, conversation_id, body, reply_to),
        }
    };

    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let attach = move |file: PickedFile| {
        let Some((channel, _, _)) = state() else {
            return;
        };
        let (mime, size, name) = browser::describe(&file);
        // A voice note is recorded as WebM and sent as Ogg (the server moves it).
        let sent_as = if mime.starts_with("audio/webm") {
            "audio/ogg"
        } else {
            mime.as_str()
        };
        if let Err(refusal) = channels::files::check(channel, sent_as, size) {
            // An unknown declared type is left to the server, which reads the bytes.
            if !mime.is_empty() {
                upload.set(Some(Upload {
                    name,
                    progress: 0.0,
                    error: Some(file_refusal_text(locale, refusal)),
                }));
                return;
            }
        }
        if refusal().is_some() {
            return;
        }
        upload.set(Some(Upload {
            name: name.clone(),
            progress: 0.0,
            error: None,
        }));
        browser::upload(
            Some(conversation_id),
            file,
            move |fraction| {
                upload.update(|u| {
                    if let Some(u) = u {
                        u.progress = fraction;
                    }
                })
            },
            // The upload may end after the conversation was left: the file still goes, read
            // with `try_`, without the caption and the reply of a composer that has gone.
            move |stored| match stored {
                Ok(attachment) => {
                    let caption = draft.try_get_untracked().unwrap_or_default();
                    draft.try_set(String::new());
                    let reply_to = workspace
                        .reply_to
                        .try_get_untracked()
                        .flatten()
                        .map(|m| m.id);
                    workspace.reply_to.try_set(None);
                    leptos::task::spawn_local(async move {
                        let caption = Some(caption).filter(|c| !c.trim().is_empty());
                        let sent =
                            send_media(conversation_id, attachment.id, caption, reply_to).await;
                        file_sent(name, sent);
                    });
                }
                Err(err) => upload.set(Some(Upload {
                    name,
                    progress: 0.0,
                    error: Some(error_text(locale, &err)),
                })),
            },
        );
    };
    // Voice notes: the microphone is asked for on the first press; the time recorded shows
    // while recording; Template (or Discard) throws the recording away.
    // A recording lives in the browser only; on the server nothing is ever stored here.
    #[cfg(feature = "hydrate")]
    let recorder = StoredValue::new_local(None::<browser::Recorder>);
    #[cfg(not(feature = "hydrate"))]
    let recorder = StoredValue::new(None::<browser::Recorder>);
    let recording_since = RwSignal::new(None::<i64>);
    let record_error = RwSignal::new(None::<browser::RecordError>);
    let ticking = StoredValue::new(None::<leptos::leptos_dom::helpers::IntervalHandle>);
    let stop_ticking = move || {
        if let Some(handle) = ticking.get_value() {
            handle.clear();
        }
        ticking.set_value(None);
        recording_since.set(None);
    };
    let start_recording = move || {
        record_error.set(None);
        leptos::task::spawn_local(async move {
            match browser::start_recording().await {
                Ok(started) => {
                    // The conversation may have been left while the browser asked for the
                    // microphone: the recording stops there.
                    if let Some(Some(started)) = recorder.try_set_value(Some(started)) {
                        started.cancel();
                        return;
                    }
                    let since = clock::now_ms();
                    recording_since.set(Some(since));
                    now.set(since);
                    #[cfg(feature = "hydrate")]
                    if let Ok(handle) = leptos::leptos_dom::helpers::set_interval_with_handle(
                        move || now.set(clock::now_ms()),
                        std::time::Duration::from_millis(500),
                    ) {
                        ticking.set_value(Some(handle));
                    }
                }
                Err(err) => record_error.set(Some(err)),
            }
        });
    };
    let discard_recording = move || {
        if let Some(started) = recorder.try_update_value(Option::take).flatten() {
            started.cancel();
        }
        stop_ticking();
    };
    let send_recording = move || {
        let Some(started) = recorder.try_update_value(Option::take).flatten() else {
            return;
        };
        stop_ticking();
        leptos::task::spawn_local(async move {
            if let Some(file) = started.finish().await {
                attach(file);
            }
        });
    };
    // Leaving the conversation lets the microphone go. Only the browser records (the
    // server's cleanup may run on another thread); the signals may be gone by now.
    #[cfg(feature = "hydrate")]
    on_cleanup(move || {
        if let Some(Some(started)) = recorder.try_update_value(Option::take) {
            started.cancel();
        }
        if let Some(Some(handle)) = ticking.try_get_value() {
            handle.clear();
        }
    });
    let elapsed = move || {
        recording_since
            .get()
            .map(|since| clock::stopwatch(now.get() - since))
    };
    let dragging = RwSignal::new(false);
    let disabled = move || leaving() || refusal().is_some();

    // Quick replies: typing `/` offers them, loaded the first time.
    let quick = RwSignal::new(None::<Vec<QuickReply>>);
    let quick_asked = StoredValue::new(false);
    let highlighted = RwSignal::new(0usize);
    let suggestions = move || -> Vec<QuickReply> {
        let draft = draft.get();
        quick
            .get()
            .and_then(|list| matching(&list, &draft).map(|m| m.into_iter().cloned().collect()))
            .unwrap_or_default()
    };
    let ask_quick = move |text: &str| {
        if text.starts_with('/') && !quick_asked.get_value() {
            quick_asked.set_value(true);
            leptos::task::spawn_local(async move {
                if let Ok(list) = load_quick_replies().await {
                    quick.set(Some(list));
                }
            });
        }
        highlighted.set(0);
    };
    let choose = move |reply: QuickReply| {
        draft.set(reply.body.clone());
        staged.set(reply.attachment.is_some().then_some(reply));
        browser::focus("composer-text");
    };

    view! {
        <form
            class="composer"
            class:dragging=move || dragging.get()
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
            on:dragover=move |ev: leptos::ev::DragEvent| {
                ev.prevent_default();
                if !disabled() {
                    dragging.set(true);
                }
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=move |ev: leptos::ev::DragEvent| {
                ev.prevent_default();
                dragging.set(false);
                #[cfg(feature = "hydrate")]
                if !disabled() {
                    let files = browser::files_of(ev.data_transfer().and_then(|d| d.files()));
                    if let Some(file) = files.into_iter().next() {
                        attach(file);
                    }
                }
            }
        >
            {move || {
                refusal()
                    .map(|reason| {
                        let templates = whatsapp() && templates_allowed();
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
            }}
            {move || remaining().map(|text| view! { <p class="window-left">{text}</p> })}
            <ErrorNote error=error />
            {move || {
                workspace
                    .reply_to
                    .get()
                    .map(|m| {
                        let text = m
                            .body
                            .clone()
                            .filter(|b| !b.is_empty())
                            .unwrap_or_else(|| kind_name(locale, &m.kind));
                        view! {
                            <div class="replying" role="status">
                                <span>
                                    <strong>{td_string!(locale, inbox.replying_to)}</strong>
                                    " "
                                    {text}
                                </span>
                                <button
                                    type="button"
                                    class="link-button"
                                    aria-label=td_string!(locale, inbox.cancel_reply)
                                    on:click=move |_| workspace.reply_to.set(None)
                                >
                                    "✕"
                                </button>
                            </div>
                        }
                    })
            }}
            {move || {
                upload
                    .get()
                    .map(|u| {
                        let percent = (u.progress * 100.0).round() as u32;
                        view! {
                            <div class="upload" class:failed=u.error.is_some()>
                                <span class="upload-name">{u.name.clone()}</span>
                                {match u.error.clone() {
                                    Some(error) => {
                                        view! {
                                            <span class="form-error" role="alert">
                                                {error}
                                            </span>
                                            <button
                                                type="button"
                                                class="link-button"
                                                on:click=move |_| upload.set(None)
                                            >
                                                {td_string!(locale, inbox.dismiss)}
                                            </button>
                                        }
                                            .into_any()
                                    }
                                    None => {
                                        view! {
                                            <progress
                                                max="100"
                                                value=percent.to_string()
                                                aria-label=td_string!(locale, inbox.uploading)
                                            ></progress>
                                            <span class="upload-percent">{format!("{percent} %")}</span>
                                        }
                                            .into_any()
                                    }
                                }}
                            </div>
                        }
                    })
            }}
            {move || {
                let found = suggestions();
                (!found.is_empty())
                    .then(|| {
                        view! {
                            <ul
                                class="popup quick-replies"
                                role="listbox"
                                id="quick-replies"
                                aria-label=td_string!(locale, inbox.quick_replies)
                            >
                                {found
                                    .into_iter()
                                    .enumerate()
                                    .map(|(i, reply)| {
                                        let code = format!("/{}", reply.short_code);
                                        let body = match &reply.attachment {
                                            Some(file) => format!(
                                                "📎 {} {}",
                                                file.file_name.clone().unwrap_or_default(),
                                                reply.body,
                                            ),
                                            None => reply.body.clone(),
                                        };
                                        view! {
                                            <li
                                                role="option"
                                                aria-selected=move || (highlighted.get() == i).to_string()
                                                on:mousedown=move |ev| {
                                                    ev.prevent_default();
                                                    choose(reply.clone());
                                                }
                                            >
                                                <code>{code}</code>
                                                <span>{body}</span>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                    })
            }}
            {move || match popup.get() {
                Popup::None => None,
                Popup::Emoji => Some(view! { <EmojiPicker draft popup /> }.into_any()),
                Popup::Personalize => {
                    Some(view! { <PersonalizeMenu draft popup /> }.into_any())
                }
                Popup::Templates => {
                    Some(
                        view! {
                            <TemplatePicker
                                conversation_id
                                close=move || popup.set(Popup::None)
                                sent=move |message| {
                                    offline_queue::settle(workspace, locale, 0, Ok(message))
                                }
                            />
                        }
                            .into_any(),
                    )
                }
            }}
            <div class="composer-tools">
                <button
                    type="button"
                    class="tool"
                    aria-label=td_string!(locale, inbox.emoji)
                    title=td_string!(locale, inbox.emoji)
                    disabled=disabled
                    on:click=move |_| popup.update(|p| *p = p.toggle(Popup::Emoji))
                >
                    "😊"
                </button>
                <button
                    type="button"
                    class="tool"
                    disabled=disabled
                    on:click=move |_| popup.update(|p| *p = p.toggle(Popup::Personalize))
                >
                    {td_string!(locale, inbox.personalize)}
                </button>
                <label class="tool" class:disabled=disabled>
                    <span>{td_string!(locale, inbox.attach)}</span>
                    <input
                        type="file"
                        class="visually-hidden"
                        accept=".pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.txt,.jpg,.jpeg,.png,.gif,.webp,.mp4,.3gp,.mp3,.ogg,.m4a,.aac,.amr"
                        disabled=disabled
                        on:change=move |ev| {
                            #[cfg(feature = "hydrate")]
                            {
                                use wasm_bindgen::JsCast;
                                if let Some(input) = ev
                                    .target()
                                    .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                                {
                                    if let Some(file) = browser::files_of(input.files())
                                        .into_iter()
                                        .next()
                                    {
                                        attach(file);
                                    }
                                    input.set_value("");
                                }
                            }
                            #[cfg(not(feature = "hydrate"))]
                            let _ = ev;
                        }
                    />
                </label>
                <Show when=whatsapp>
                    <button
                        type="button"
                        class="tool"
                        disabled=move || !templates_allowed()
                        aria-expanded=move || (popup.get() == Popup::Templates).to_string()
                        on:click=move |_| {
                            discard_recording();
                            popup.update(|p| *p = p.toggle(Popup::Templates))
                        }
                    >
                        {td_string!(locale, inbox.template)}
                    </button>
                </Show>
            </div>
            {move || {
                record_error
                    .get()
                    .map(|err| {
                        let text = match err {
                            browser::RecordError::Denied => td_string!(locale, inbox.mic_denied),
                            browser::RecordError::Unavailable => {
                                td_string!(locale, inbox.mic_unavailable)
                            }
                        };
                        view! {
                            <p class="form-error" role="alert">
                                {text}
                            </p>
                        }
                    })
            }}
            {move || {
                elapsed()
                    .map(|time| {
                        view! {
                            <div class="recording" role="status">
                                <span class="recording-dot" aria-hidden="true"></span>
                                <span>{td_string!(locale, inbox.recording)} " " <time>{time}</time></span>
                                <button
                                    type="button"
                                    class="button ghost"
                                    on:click=move |_| discard_recording()
                                >
                                    {td_string!(locale, inbox.discard_recording)}
                                </button>
                                <button
                                    type="button"
                                    class="button primary"
                                    on:click=move |_| send_recording()
                                >
                                    {td_string!(locale, inbox.send_voice)}
                                </button>
                            </div>
                        }
                    })
            }}
            {move || {
                staged
                    .get()
                    .and_then(|reply| reply.attachment)
                    .map(|file| {
                        view! {
                            <div class="staged-file" role="status">
                                <span>
                                    "📎 "
                                    {file.file_name.unwrap_or_default()}
                                </span>
                                <button
                                    type="button"
                                    class="link-button"
                                    aria-label=td_string!(locale, inbox.remove_file)
                                    on:click=move |_| staged.set(None)
                                >
                                    "✕"
                                </button>
                            </div>
                        }
                    })
            }}
            <div class="composer-row">
                <label class="visually-hidden" for="composer-text">
                    {td_string!(locale, inbox.write)}
                </label>
                <textarea
                    id="composer-text"
                    name="body"
                    rows="1"
                    placeholder=td_string!(locale, inbox.write)
                    prop:value=move || draft.get()
                    disabled=disabled
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        ask_quick(&text);
                        draft.set(text);
                    }
                    on:paste=move |ev: leptos::ev::ClipboardEvent| {
                        #[cfg(feature = "hydrate")]
                        {
                            let files = browser::files_of(
                                ev.clipboard_data().and_then(|d| d.files()),
                            );
                            if let Some(file) = files.into_iter().next() {
                                ev.prevent_default();
                                attach(file);
                            }
                        }
                        #[cfg(not(feature = "hydrate"))]
                        let _ = ev;
                    }
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        let found = suggestions();
                        if !found.is_empty() {
                            let last = found.len() - 1;
                            match ev.key().as_str() {
                                "ArrowDown" => {
                                    ev.prevent_default();
                                    highlighted.update(|i| *i = (*i + 1).min(last));
                                    return;
                                }
                                "ArrowUp" => {
                                    ev.prevent_default();
                                    highlighted.update(|i| *i = i.saturating_sub(1));
                                    return;
                                }
                                "Enter" | "Tab" => {
                                    ev.prevent_default();
                                    let i = highlighted.get_untracked().min(last);
                                    choose(found[i].clone());
                                    return;
                                }
                                _ => {}
                            }
                        }
                        if ev.key() == "Enter" && !ev.shift_key() {
                            ev.prevent_default();
                            submit();
                        }
                    }
                ></textarea>
                <button
                    type="button"
                    class="tool record"
                    aria-label=td_string!(locale, inbox.record)
                    title=td_string!(locale, inbox.record)
                    disabled=move || disabled() || recording_since.get().is_some()
                    on:click=move |_| start_recording()
                >
                    "🎤"
                </button>
                <button class="button primary" type="submit" disabled=disabled>
                    {td_string!(locale, inbox.send)}
                </button>
            </div>
        </form>
    }
    .into_any()
}

/// A file on its way up.
#[derive(Debug, Clone, PartialEq)]
struct Upload {
    name: String,
    progress: f64,
    error: Option<String>,
}

fn fill(template: &str, duration: String) -> String {
    crate::kit::form::fill(template, &[("time", duration)]).to_string()
}
