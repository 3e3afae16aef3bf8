//! The signed-in pages whose capabilities arrive later: for now, their empty states.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use super::{icons, WithUser};
use crate::i18n::*;
use crate::permissions::can_use_inbox;
use crate::ui::page_title;

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
    let i18n = use_i18n();
    view! {
        <Title text=page_title(move || t_string!(i18n, contacts.title)) />
        <section class="empty-state">
            <icons::Contacts />
            <h1>{t!(i18n, contacts.empty_title)}</h1>
            <p>{t!(i18n, contacts.empty_body)}</p>
        </section>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    let i18n = use_i18n();
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text=page_title(move || t_string!(i18n, not_found.title)) />
        <section class="empty-state standalone">
            <h1>{t!(i18n, not_found.title)}</h1>
            <p>{t!(i18n, not_found.body)}</p>
            <a href="/" class="button">
                {t!(i18n, not_found.home)}
            </a>
        </section>
    }
}

/// Switches the interface language before signing in (afterwards the profile decides).
#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <nav class="language-switch" aria-label=move || t_string!(i18n, language.label)>
            <button
                type="button"
                class="link"
                aria-pressed=move || (i18n.get_locale() == Locale::es).to_string()
                on:click=move |_| i18n.set_locale(Locale::es)
            >
                {t!(i18n, language.es)}
            </button>
            <button
                type="button"
                class="link"
                aria-pressed=move || (i18n.get_locale() == Locale::en).to_string()
                on:click=move |_| i18n.set_locale(Locale::en)
            >
                {t!(i18n, language.en)}
            </button>
        </nav>
    }
}
