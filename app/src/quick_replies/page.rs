//! The "Quick replies" section of the settings page: the list, a form to add one, delete.

use leptos::prelude::*;

use super::{DeleteQuickReply, QuickReply, SaveQuickReply};
use crate::error::{AppError, Field};
use crate::i18n::*;
use crate::ui::{action_error, FieldError, FormError};

pub type QuickRepliesResource = Resource<Result<Vec<QuickReply>, AppError>>;

const FIELDS: &[Field] = &[Field::ShortCode, Field::Message];

#[component]
pub fn QuickRepliesSection(
    replies: QuickRepliesResource,
    save: ServerAction<SaveQuickReply>,
    delete: ServerAction<DeleteQuickReply>,
) -> impl IntoView {
    let i18n = use_i18n();
    let save_error = action_error(save);
    let delete_error = action_error(delete);
    let list = move || replies.get().and_then(Result::ok).unwrap_or_default();
    view! {
        <section class="card" aria-labelledby="quick-replies-heading">
            <h2 id="quick-replies-heading">{t!(i18n, settings.quick_replies_heading)}</h2>
            <p class="muted">{t!(i18n, settings.quick_replies_intro)}</p>
            <Transition fallback=|| view! { <div class="loading"></div> }>
                <Show when=move || replies.get().and_then(Result::ok).is_some_and(|l| l.is_empty())>
                    <p class="muted">{t!(i18n, settings.quick_replies_none)}</p>
                </Show>
                <ul class="quick-reply-list">
                    <For each=list key=|r| r.id let:reply>
                        <li class="quick-reply">
                            <code>{format!("/{}", reply.short_code)}</code>
                            <span class="quick-reply-body">{reply.body.clone()}</span>
                            <ActionForm action=delete>
                                <input type="hidden" name="id" value=reply.id.to_string() />
                                <button
                                    class="button small danger"
                                    type="submit"
                                    aria-label=move || {
                                        format!(
                                            "{} /{}",
                                            t_string!(i18n, settings.quick_reply_delete),
                                            reply.short_code,
                                        )
                                    }
                                >
                                    {t!(i18n, settings.quick_reply_delete)}
                                </button>
                            </ActionForm>
                        </li>
                    </For>
                </ul>
            </Transition>
            <FormError error=delete_error fields=&[] />
            <ActionForm action=save attr:class="quick-reply-form">
                <label for="quick-reply-code">{t!(i18n, settings.quick_reply_code)}</label>
                <input
                    id="quick-reply-code"
                    name="short_code"
                    required
                    maxlength="31"
                    autocomplete="off"
                    placeholder=move || t_string!(i18n, settings.quick_reply_code_placeholder)
                />
                <FieldError error=save_error field=Field::ShortCode id="quick-reply-code-error" />
                <label for="quick-reply-body">{t!(i18n, settings.quick_reply_body)}</label>
                <textarea id="quick-reply-body" name="body" required rows="3"></textarea>
                <p class="hint">{t!(i18n, settings.quick_reply_hint)}</p>
                <FieldError error=save_error field=Field::Message id="quick-reply-body-error" />
                <FormError error=save_error fields=FIELDS />
                <button class="button primary" type="submit">
                    {t!(i18n, settings.quick_reply_add)}
                </button>
            </ActionForm>
        </section>
    }
}
