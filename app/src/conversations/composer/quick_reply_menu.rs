//! Quick replies in the composer: typing `/` offers them (loaded the first time), the arrows
//! move through them, Enter or Tab takes one; a reply's file waits beside the text box until the
//! message goes.

use leptos::prelude::*;

use crate::i18n::*;
use crate::kit::browser;
use crate::quick_replies::{load_quick_replies, matching, QuickReply};

#[derive(Clone, Copy)]
pub(super) struct QuickReplyMenu {
    draft: RwSignal<String>,
    loaded: RwSignal<Option<Vec<QuickReply>>>,
    asked: StoredValue<bool>,
    highlighted: RwSignal<usize>,
    /// A quick reply's file, sent with the text when the message goes.
    pub staged: RwSignal<Option<QuickReply>>,
}

impl QuickReplyMenu {
    pub fn new(draft: RwSignal<String>) -> Self {
        QuickReplyMenu {
            draft,
            loaded: RwSignal::new(None),
            asked: StoredValue::new(false),
            highlighted: RwSignal::new(0),
            staged: RwSignal::new(None),
        }
    }

    fn suggestions(self) -> Vec<QuickReply> {
        let draft = self.draft.get();
        self.loaded
            .get()
            .and_then(|list| matching(&list, &draft).map(|m| m.into_iter().cloned().collect()))
            .unwrap_or_default()
    }

    /// The text box changed: the first `/` loads the replies.
    pub fn typed(self, text: &str) {
        if text.starts_with('/') && !self.asked.get_value() {
            self.asked.set_value(true);
            let loaded = self.loaded;
            leptos::task::spawn_local(async move {
                if let Ok(list) = load_quick_replies().await {
                    loaded.set(Some(list));
                }
            });
        }
        self.highlighted.set(0);
    }

    fn choose(self, reply: QuickReply) {
        self.draft.set(reply.body.clone());
        self.staged.set(reply.attachment.is_some().then_some(reply));
        browser::focus("composer-text");
    }

    /// A key pressed in the text box while the menu is open; true when the menu took it.
    pub fn key(self, ev: &leptos::ev::KeyboardEvent) -> bool {
        let found = self.suggestions();
        let Some(last) = found.len().checked_sub(1) else {
            return false;
        };
        match ev.key().as_str() {
            "ArrowDown" => self.highlighted.update(|i| *i = (*i + 1).min(last)),
            "ArrowUp" => self.highlighted.update(|i| *i = i.saturating_sub(1)),
            "Enter" | "Tab" => {
                let i = self.highlighted.get_untracked().min(last);
                self.choose(found[i].clone());
            }
            _ => return false,
        }
        ev.prevent_default();
        true
    }

    /// The list of matching replies, while there is one.
    pub fn view(self, locale: Locale) -> impl IntoView {
        move || {
            let found = self.suggestions();
            (!found.is_empty()).then(|| {
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
                                        aria-selected=move || {
                                            (self.highlighted.get() == i).to_string()
                                        }
                                        on:mousedown=move |ev| {
                                            ev.prevent_default();
                                            self.choose(reply.clone());
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
        }
    }

    /// The chosen reply's file, with a button to leave it out.
    pub fn staged_view(self, locale: Locale) -> impl IntoView {
        move || {
            self.staged
                .get()
                .and_then(|reply| reply.attachment)
                .map(|file| {
                    super::removable(
                        "staged-file",
                        view! { "📎 " {file.file_name.unwrap_or_default()} },
                        td_string!(locale, inbox.remove_file),
                        move || self.staged.set(None),
                    )
                })
        }
    }
}
