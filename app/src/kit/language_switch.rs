//! The language switch of the pages before signing in.

use leptos::prelude::*;

use super::locale::{use_locale, Language};
use super::nav::{encode, use_location};
use crate::i18n::*;

/// Switches the interface language before signing in (afterwards the profile decides): plain
/// links to `/language/{code}`, which keeps the choice in the language cookie and loads this
/// page again in it.
#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let locale = use_locale();
    let location = use_location();
    let search = location.search.get_untracked();
    let mut here = location.path.get_untracked();
    if !search.is_empty() {
        here = format!("{here}?{search}");
    }
    let link = move |language: Language| {
        let current = (language.locale() == locale).then_some("true");
        let href = format!("/language/{}?next={}", language.code(), encode(&here));
        (href, current)
    };
    let (es_href, es_current) = link(Language::Es);
    let (en_href, en_current) = link(Language::En);
    view! {
        <nav class="language-switch" aria-label=td_string!(locale, language.label)>
            <a class="link" rel="external" href=es_href aria-current=es_current>
                {td_string!(locale, language.es)}
            </a>
            <a class="link" rel="external" href=en_href aria-current=en_current>
                {td_string!(locale, language.en)}
            </a>
        </nav>
    }
}
