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

/// The built-in fields Personalize inserts; the server fills them from the contact when
/// sending. The organization's custom fields follow them in the menu.
pub const FIELDS: &[&str] = crate::contacts::BUILT_IN;

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

/// The contact's fields Personalize inserts as `{field}`, built-in then the organization's
/// custom fields; the server fills them when sending.
#[component]
pub fn PersonalizeMenu(draft: RwSignal<String>, popup: RwSignal<Popup>) -> impl IntoView {
    let locale = use_locale();
    let custom = crate::kit::form::browser_value(crate::contacts::load_contact_fields);
    let insert = move |key: String| {
        draft.update(|d| {
            if !d.is_empty() && !d.ends_with(' ') {
                d.push(' ');
            }
            d.push_str(&format!("{{{key}}}"));
        });
        popup.set(Popup::None);
        browser::focus("composer-text");
    };
    let item = move |key: String, label: String| {
        view! {
            <button type="button" role="menuitem" on:click=move |_| insert(key.clone())>
                {label}
            </button>
        }
    };
    view! {
        <div class="popup personalize" role="menu">
            {FIELDS
                .iter()
                .map(|field| item(field.to_string(), field_label(locale, field).to_string()))
                .collect_view()}
            {move || {
                custom
                    .get()
                    .and_then(Result::ok)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|field| item(field.key, field.name))
                    .collect_view()
            }}
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
