//! The signed-in pages whose capabilities arrive later: for now, their empty states.

use super::nav::{use_location, Redirect};
use leptos::prelude::*;
use leptos_meta::Title;

use super::{icons, WithUser};
use crate::auth::Language;
use crate::conversations::inbox::encode;
use crate::i18n::*;
use crate::locale::use_locale;
use crate::permissions::can_use_inbox;

/// `/`: the inbox for those who may use it, the contacts for everyone else.
#[component]
pub fn Home() -> impl IntoView {
    view! {
        <WithUser children=|user| {
            let target = if can_use_inbox(&user.actor()) { "/inbox" } else { "/contacts" };
            view! { <Redirect path=target /> }
        } />
    }
}

#[component]
pub fn ContactsPage() -> impl IntoView {
    let locale = use_locale();
    view! {
        <Title text=td_string!(locale, contacts.title) />
        <section class="empty-state">
            <icons::Contacts />
            <h1>{td_string!(locale, contacts.empty_title)}</h1>
            <p>{td_string!(locale, contacts.empty_body)}</p>
        </section>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    let locale = use_locale();
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text=td_string!(locale, not_found.title) />
        <section class="empty-state standalone">
            <h1>{td_string!(locale, not_found.title)}</h1>
            <p>{td_string!(locale, not_found.body)}</p>
            <a href="/" class="button">
                {td_string!(locale, not_found.home)}
            </a>
        </section>
    }
}

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
