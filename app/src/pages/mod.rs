//! The pages that compose several features, and the small pages of the frame: the home
//! address and the page for an unknown address. The contacts page is the contacts feature's,
//! told here of what other screens change.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::WithUser;
use crate::i18n::*;
use crate::kit::locale::use_locale;
use crate::kit::nav::Redirect;
use crate::permissions::can_use_inbox;

/// `/settings`: connected channels, closing, quick replies, templates and roles.
pub mod settings;

/// `/contacts`: the contacts feature's page, with the live stream's word of each contact
/// another screen changed.
#[component]
pub fn ContactsPage() -> impl IntoView {
    use crate::conversations::workspace::event_stream::{Notice, Stream};
    let changed = RwSignal::new((0i64, 0u32));
    Stream::new().follow_notices(move |notice| {
        let contact = match notice {
            Notice::Contact(id) => id,
            Notice::Missed => 0,
            Notice::Lines => return,
        };
        changed.update(|(id, count)| (*id, *count) = (contact, count.wrapping_add(1)));
    });
    view! { <crate::contacts::page::ContactsPage changed=changed.into() /> }
}

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
