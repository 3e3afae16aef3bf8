//! The pages that compose several features, and the small pages of the frame: the home
//! address and the page for an unknown address. The contacts page is the contacts feature's.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::WithUser;
use crate::i18n::*;
use crate::kit::locale::use_locale;
use crate::kit::nav::Redirect;
use crate::permissions::can_use_inbox;

/// `/settings`: connected channels, closing, quick replies, templates and roles.
pub mod settings;

pub use crate::contacts::page::ContactsPage;

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
