//! What a page shows to someone whose role does not allow it.

use leptos::prelude::*;
use leptos_meta::Title;

use super::icons;
use super::locale::use_locale;
use crate::i18n::*;

/// Shown instead of a page the user's role does not allow; answers 403 on the server.
#[component]
pub fn Forbidden() -> impl IntoView {
    let locale = use_locale();
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::FORBIDDEN);
    }
    view! {
        <Title text=td_string!(locale, forbidden.title) />
        <section class="empty-state">
            <icons::Lock />
            <h1>{td_string!(locale, forbidden.title)}</h1>
            <p>{td_string!(locale, forbidden.body)}</p>
            <a href="/" class="button">
                {td_string!(locale, forbidden.home)}
            </a>
        </section>
    }
}
