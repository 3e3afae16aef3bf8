//! The composer: text with Enter to send, emoji, Personalize, reply-to,
//! attachments by button, drag-and-drop or paste with upload progress, voice notes, quick
//! replies, templates with their parameters, preview, category and price, and the interaction
//! window ticking live. Sends are optimistic: the message shows at once as pending and is
//! replaced by the stored one; a failure stays on it with a retry.

use leptos::prelude::*;

use super::list::kind_name;
use super::quick_reply_file;
use super::workspace::offline_queue;
use super::workspace::Workspace;
use super::{send_media, MessageView};
use crate::epoch::EpochMs;
use crate::error::AppError;
use crate::i18n::*;
use crate::kit::browser::{self, PickedFile};
use crate::kit::form::{error_text, file_refusal_text, ErrorNote};
use crate::kit::locale::use_locale;
use crate::quick_replies::QuickReply;

/// Emoji and Personalize's fields.
mod popups;
/// Quick replies offered as `/` is typed.
mod quick_reply_menu;
/// What the interaction window allows now.
mod send_window;
/// Sending a template with its parameters.
mod template_picker;
/// A file on its way up.
mod upload;
/// Recording a voice note.
mod voice_note;

pub use popups::FIELDS;
use popups::{EmojiPicker, PersonalizeMenu, Popup};
use quick_reply_menu::QuickReplyMenu;
use send_window::SendWindow;
pub use template_picker::preview;
use template_picker::TemplatePicker;
use upload::{upload_line, Upload};
use voice_note::VoiceNote;

#[component]
pub fn Composer(conversation_id: i64) -> AnyView {
    let locale = use_locale();
    let workspace = expect_context::<Workspace>();
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
    let now = RwSignal::new(EpochMs::now());
    let popup = RwSignal::new(Popup::None);
    let send_window = SendWindow::new(workspace.thread, workspace.overview, now, locale);
    let refusal = move || send_window.refusal();

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
        Err(err) => upload.set(Some(Upload::failed(name, 1.0, error_text(locale, &err)))),
    };
    let quick = QuickReplyMenu::new(draft);
    let send_staged = move |reply: QuickReply, caption: String, reply_to: Option<i64>| {
        let name = reply
            .attachment
            .as_ref()
            .and_then(|a| a.file_name.clone())
            .unwrap_or_default();
        upload.set(Some(Upload {
            progress: 1.0,
            ..Upload::started(name.clone())
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
        let file = quick.staged.get_untracked();
        if (body.trim().is_empty() && file.is_none()) || leaving() || refusal().is_some() {
            return;
        }
        draft.set(String::new());
        quick.staged.set(None);
        let reply_to = workspace.reply_to.get_untracked().map(|m| m.id);
        workspace.reply_to.set(None);
        match file {
            Some(reply) => send_staged(reply, body, reply_to),
            None => queue.send(workspace, conversation_id, body, reply_to),
        }
    };

    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let attach = move |file: PickedFile| {
        let Some((channel, _, _)) = send_window.state() else {
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
                upload.set(Some(Upload::failed(
                    name,
                    0.0,
                    file_refusal_text(locale, refusal),
                )));
                return;
            }
        }
        if refusal().is_some() {
            return;
        }
        upload.set(Some(Upload::started(name.clone())));
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
                Err(err) => upload.set(Some(Upload::failed(name, 0.0, error_text(locale, &err)))),
            },
        );
    };
    let voice = VoiceNote::new(now);
    let dragging = RwSignal::new(false);
    let disabled = move || leaving() || refusal().is_some();

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
            {send_window.notices(popup)}
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
                        removable(
                            "replying",
                            view! {
                                <strong>{td_string!(locale, inbox.replying_to)}</strong>
                                " "
                                {text}
                            },
                            td_string!(locale, inbox.cancel_reply),
                            move || workspace.reply_to.set(None),
                        )
                    })
            }}
            {upload_line(locale, upload)}
            {quick.view(locale)}
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
                <Show when=move || send_window.whatsapp()>
                    <button
                        type="button"
                        class="tool"
                        disabled=move || !send_window.templates_allowed()
                        aria-expanded=move || (popup.get() == Popup::Templates).to_string()
                        on:click=move |_| {
                            voice.discard();
                            popup.update(|p| *p = p.toggle(Popup::Templates))
                        }
                    >
                        {td_string!(locale, inbox.template)}
                    </button>
                </Show>
            </div>
            {voice.view(locale, attach)}
            {quick.staged_view(locale)}
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
                        quick.typed(&text);
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
                        if quick.key(&ev) {
                            return;
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
                    disabled=move || disabled() || voice.recording()
                    on:click=move |_| voice.start()
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

/// A line above the text box with a ✕ that takes it away: the message replied to, a quick
/// reply's file.
fn removable(
    class: &'static str,
    content: impl IntoView + 'static,
    remove_label: &'static str,
    remove: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <div class=class role="status">
            <span>{content}</span>
            <button
                type="button"
                class="link-button"
                aria-label=remove_label
                on:click=move |_| remove()
            >
                "✕"
            </button>
        </div>
    }
}
