//! The "Quick replies" section of the settings page: the list, a form to add one (with an
//! optional file, uploaded as soon as it is chosen), delete.

use leptos::prelude::*;

use super::{DeleteQuickReply, QuickReply, SaveQuickReply};
use crate::attachments::AttachmentView;
use crate::error::{AppError, Field};
use crate::i18n::*;
use crate::kit::browser;
use crate::kit::form::{action_error, ErrorNote, FieldError, FormError, FormField};
use crate::kit::locale::use_locale;

pub type QuickRepliesResource = Resource<Result<Vec<QuickReply>, AppError>>;

const FIELDS: &[Field] = &[Field::ShortCode, Field::Message, Field::Attachment];

#[component]
pub fn QuickRepliesSection(
    replies: QuickRepliesResource,
    save: ServerAction<SaveQuickReply>,
    delete: ServerAction<DeleteQuickReply>,
) -> impl IntoView {
    let locale = use_locale();
    let save_error = action_error(save);
    let delete_error = action_error(delete);
    let list = move || replies.get().and_then(Result::ok).unwrap_or_default();
    let file = RwSignal::new(None::<AttachmentView>);
    let progress = RwSignal::new(None::<f64>);
    let file_error = RwSignal::new(None::<AppError>);
    let form = NodeRef::<leptos::html::Form>::new();
    // A saved reply took the file with it; the form starts over for the next one.
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            file.set(None);
            if let Some(form) = form.get_untracked() {
                form.reset();
            }
        }
    });
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let pick = move |picked: browser::PickedFile| {
        file.set(None);
        file_error.set(None);
        progress.set(Some(0.0));
        browser::upload(
            None,
            picked,
            move |fraction| progress.set(Some(fraction)),
            move |stored| {
                progress.set(None);
                match stored {
                    Ok(stored) => file.set(Some(stored)),
                    Err(err) => file_error.set(Some(err)),
                }
            },
        );
    };
    view! {
        <section class="card" aria-labelledby="quick-replies-heading">
            <h2 id="quick-replies-heading">{td_string!(locale, settings.quick_replies_heading)}</h2>
            <p class="muted">{td_string!(locale, settings.quick_replies_intro)}</p>
            <Transition fallback=|| view! { <div class="loading"></div> }>
                <Show when=move || replies.get().and_then(Result::ok).is_some_and(|l| l.is_empty())>
                    <p class="muted">{td_string!(locale, settings.quick_replies_none)}</p>
                </Show>
                <ul class="quick-reply-list">
                    <For each=list key=|r| r.id let:reply>
                        <li class="quick-reply">
                            <code>{format!("/{}", reply.short_code)}</code>
                            <span class="quick-reply-body">
                                {reply.body.clone()}
                                {reply
                                    .attachment
                                    .clone()
                                    .map(|a| {
                                        view! {
                                            <span class="quick-reply-file">
                                                "📎 " {a.file_name.unwrap_or_default()}
                                            </span>
                                        }
                                    })}
                            </span>
                            <ActionForm action=delete>
                                <input type="hidden" name="id" value=reply.id.to_string() />
                                <button
                                    class="button small danger"
                                    type="submit"
                                    aria-label=move || {
                                        format!(
                                            "{} /{}",
                                            td_string!(locale, settings.quick_reply_delete),
                                            reply.short_code,
                                        )
                                    }
                                >
                                    {td_string!(locale, settings.quick_reply_delete)}
                                </button>
                            </ActionForm>
                        </li>
                    </For>
                </ul>
            </Transition>
            <FormError error=delete_error fields=&[] />
            <ActionForm action=save node_ref=form attr:class="quick-reply-form">
                <FormField id="quick-reply-code" label={td_string!(locale, settings.quick_reply_code)} field=Field::ShortCode error=save_error>
                    <input
                        id="quick-reply-code"
                        aria-describedby="quick-reply-code-error"
                        name="short_code"
                        required
                        maxlength="31"
                        autocomplete="off"
                        placeholder=td_string!(locale, settings.quick_reply_code_placeholder)
                    />
                </FormField>
                <FormField id="quick-reply-body" label={td_string!(locale, settings.quick_reply_body)} field=Field::Message error=save_error>
                    <textarea
                        id="quick-reply-body"
                        aria-describedby="quick-reply-body-error"
                        name="body"
                        required=move || file.get().is_none()
                        rows="3"
                    ></textarea>
                    <p class="hint">{td_string!(locale, settings.quick_reply_hint)}</p>
                </FormField>
                <label for="quick-reply-file">{td_string!(locale, settings.quick_reply_file)}</label>
                <input
                    id="quick-reply-file"
                    type="file"
                    accept=".pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.txt,.jpg,.jpeg,.png,.gif,.webp,.mp4,.3gp,.mp3,.ogg,.m4a,.aac,.amr"
                    on:change=move |ev| {
                        #[cfg(feature = "hydrate")]
                        {
                            use wasm_bindgen::JsCast;
                            if let Some(input) = ev
                                .target()
                                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                            {
                                if let Some(picked) = browser::files_of(input.files())
                                    .into_iter()
                                    .next()
                                {
                                    pick(picked);
                                }
                            }
                        }
                        #[cfg(not(feature = "hydrate"))]
                        let _ = ev;
                    }
                />
                {move || {
                    progress
                        .get()
                        .map(|fraction| {
                            view! {
                                <progress
                                    max="100"
                                    value=((fraction * 100.0).round() as i64).to_string()
                                    aria-label=td_string!(locale, inbox.uploading)
                                ></progress>
                            }
                        })
                }}
                {move || {
                    file.get()
                        .map(|stored| {
                            view! {
                                <input type="hidden" name="attachment_id" value=stored.id.to_string() />
                                <p class="hint" role="status">
                                    "📎 "
                                    {stored.file_name.unwrap_or_default()}
                                </p>
                            }
                        })
                }}
                <ErrorNote error=file_error />
                <FieldError error=save_error field=Field::Attachment id="quick-reply-file-error" />
                <FormError error=save_error fields=FIELDS />
                <button class="button primary" type="submit">
                    {td_string!(locale, settings.quick_reply_add)}
                </button>
            </ActionForm>
        </section>
    }
}
