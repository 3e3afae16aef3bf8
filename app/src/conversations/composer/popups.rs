//! The composer's pop-ups that write into the text: emoji and Personalize's fields.

use leptos::prelude::*;

use crate::i18n::*;
use crate::kit::browser;
use crate::kit::locale::use_locale;

/// Emoji offered by the picker: the ones sales conversations use most.
const EMOJI: &[&str] = &[
    "😀", "😊", "😂", "😍", "🙏", "👍", "👏", "🙌", "🎉", "❤️", "🔥", "✅", "👋", "🤝", "😉", "🤔",
    "😅", "😢", "😮", "🥳", "💪", "⭐", "📦", "🚚", "💳", "💰", "🛒", "📍", "📞", "⏰", "📅", "🎁",
];

/// Fields Personalize inserts; the server fills them from the contact when sending.
pub const FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "full_name",
    "phone",
    "email",
    "company",
];

/// Which of the composer's pop-ups is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Popup {
    None,
    Emoji,
    Personalize,
    Templates,
}

impl Popup {
    pub fn toggle(self, other: Popup) -> Popup {
        if self == other {
            Popup::None
        } else {
            other
        }
    }
}

/// The emoji sales conversations use most, added to the text.
#[component]
pub fn EmojiPicker(draft: RwSignal<String>, popup: RwSignal<Popup>) -> impl IntoView {
    let locale = use_locale();
    view! {
        <div class="popup emoji-picker" role="listbox" aria-label=td_string!(locale, inbox.emoji)>
            {EMOJI
                .iter()
                .map(|emoji| {
                    view! {
                        <button
                            type="button"
                            role="option"
                            aria-selected="false"
                            on:click=move |_| {
                                draft.update(|d| d.push_str(emoji));
                                popup.set(Popup::None);
                                browser::focus("composer-text");
                            }
                        >
                            {*emoji}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}

/// The contact's fields Personalize inserts as `{field}`; the server fills them when sending.
#[component]
pub fn PersonalizeMenu(draft: RwSignal<String>, popup: RwSignal<Popup>) -> impl IntoView {
    let locale = use_locale();
    view! {
        <div class="popup personalize" role="menu">
            {FIELDS
                .iter()
                .map(|field| {
                    view! {
                        <button
                            type="button"
                            role="menuitem"
                            on:click=move |_| {
                                draft
                                    .update(|d| {
                                        if !d.is_empty() && !d.ends_with(' ') {
                                            d.push(' ');
                                        }
                                        d.push_str(&format!("{{{field}}}"));
                                    });
                                popup.set(Popup::None);
                                browser::focus("composer-text");
                            }
                        >
                            {field_label(locale, field)}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}

fn field_label(locale: Locale, field: &str) -> &'static str {
    match field {
        "first_name" => td_string!(locale, contacts.first_name),
        "last_name" => td_string!(locale, contacts.last_name),
        "full_name" => td_string!(locale, contacts.full_name),
        "phone" => td_string!(locale, contacts.phone),
        "email" => td_string!(locale, contacts.email),
        _ => td_string!(locale, contacts.company),
    }
}
