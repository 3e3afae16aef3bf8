//! The application frame: the HTML document, the routes, and the navigation around every
//! signed-in page (a side rail on desktop and tablet, a bottom bar on phones).

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};

use crate::auth::login_page::LoginPage;
use crate::auth::{fetch_current_user, CurrentUser, LogoutButton, Me, ShownName};
use crate::conversations::inbox::InboxPage;
use crate::i18n::*;
use crate::kit::form::error_alert;
use crate::kit::icons;
use crate::kit::locale::use_locale;
use crate::kit::nav::{self, NavLink as A, Page, Redirect};
use crate::kit::split::{now_or_later, split};
use crate::pages::settings::SettingsPage;
use crate::pages::{ContactsPage, Home, NotFound};
use crate::permissions::{can_manage_settings, can_manage_users, can_use_inbox};
use crate::profile::page::ProfilePage;
use crate::setup::page::SetupPage;
use crate::users::invite_page::InvitePage;
use crate::users::page::UsersPage;

/// The HTML document the server renders around the application.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    send_content_security_policy();
    let lang = crate::kit::locale::page_language().code();
    view! {
        <!DOCTYPE html>
        <html lang=lang>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover" />
                <meta name="theme-color" content="#0e5e56" />
                <link rel="stylesheet" id="buzon" href="/pkg/buzon.css" />
                <link rel="manifest" href="/manifest.webmanifest" />
                <link rel="icon" href="/icons/icon.svg" />
                <link rel="apple-touch-icon" href="/icons/icon-192.png" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy: scripts only from this site and the inline ones the
/// server wrote into this very page (hydration, streamed resources), which carry this
/// response's nonce; WebAssembly compiled (`'wasm-unsafe-eval'`) but no `eval`; connections,
/// images, sounds, forms and workers of this site only (recordings and previews are `blob:`,
/// small icons `data:`); no plugins, no `<base>`, no framing. Styles may be inline
/// (`style=` attributes for sizes and progress), which runs no code.
#[cfg(feature = "ssr")]
fn send_content_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; \
         connect-src 'self'; font-src 'self'; worker-src 'self'; manifest-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    crate::kit::locale::provide_locale();
    let location = nav::provide_location();
    let page = Memo::new(move |_| location.path.with(|path| Page::at(path)));
    // The pages outside the signed-in frame; moving between those inside keeps the frame.
    let outside = Memo::new(move |_| page.with(|page| (!page.in_frame()).then(|| page.clone())));
    let owner = Owner::current().expect("the application has an owner");
    move || {
        owned(&owner, || match outside.get() {
            None => view! { <SignedIn page /> }.into_any(),
            Some(Page::Setup) => now_or_later(fetch_setup_page, setup_page),
            Some(Page::Login) => now_or_later(fetch_login_page, login_page),
            Some(Page::Invite(token)) => {
                now_or_later(fetch_invite_page, move || invite_page(token.clone()))
            }
            Some(_) => view! { <NotFound /> }.into_any(),
        })
    }
}

/// A page's view, built in an owner of its own that the view's state holds: when another page
/// replaces it, its views and effects are dropped before its signals and resources are
/// disposed. In an owner the showing closure re-creates on each run, the signals would go
/// first, while the effects reading them could still run.
fn owned(parent: &Owner, page: impl FnOnce() -> AnyView) -> AnyView {
    let owner = parent.child();
    owner.with(|| leptos::tachys::reactive_graph::OwnedView::new(page()).into_any())
}

// The pages a working day seldom opens, each split out of the bundle every page loads and
// fetched when first shown. The inbox alone stays in the first bundle: the login page is
// loaded once a day, and the contacts page is the CRM's, not the agent's workspace.

/// A page split out of the first bundle: `$name()` gives its view once its code is in, and
/// `$fetch()` fetches that code.
macro_rules! split_page {
    ($name:ident, $fetch:ident, $page:ident) => {
        split! {
            fn $name() -> AnyView, fetched by $fetch {
                view! { <$page /> }.into_any()
            }
        }
    };
}

split_page!(setup_page, fetch_setup_page, SetupPage);
split_page!(login_page, fetch_login_page, LoginPage);
split_page!(contacts_page, fetch_contacts_page, ContactsPage);
split_page!(settings_page, fetch_settings_page, SettingsPage);
split_page!(users_page, fetch_users_page, UsersPage);
split_page!(profile_page, fetch_profile_page, ProfilePage);

split! {
    fn invite_page(token: String) -> AnyView, fetched by fetch_invite_page {
        view! { <InvitePage token /> }.into_any()
    }
}

/// A page rendered at an address whose page is split out is hydrated with that page's view:
/// the browser loads its code before hydrating (`frontend`), so that the view is built at
/// once, as on the server. `Err` when that code could not be fetched.
#[cfg(feature = "hydrate")]
pub async fn load_rendered_page() -> Result<(), crate::kit::split::Unloaded> {
    let path = window().location().pathname().unwrap_or_default();
    match Page::at(&path) {
        Page::Setup => fetch_setup_page().await?,
        Page::Login => fetch_login_page().await?,
        Page::Invite(_) => fetch_invite_page().await?,
        Page::Contacts => fetch_contacts_page().await?,
        Page::Settings => fetch_settings_page().await?,
        Page::Users => fetch_users_page().await?,
        Page::Profile => fetch_profile_page().await?,
        Page::Home | Page::Inbox | Page::NotFound => {}
    }
    Ok(())
}

/// Every page that needs a signed-in user: sends everyone else to the login page.
#[component]
fn SignedIn(page: Memo<Page>) -> impl IntoView {
    let locale = use_locale();
    // The page inside the frame; the last one while the frame goes away.
    let shown = Memo::new(move |before: Option<&Page>| match page.get() {
        page if page.in_frame() => page,
        _ => before.cloned().unwrap_or(Page::Home),
    });
    let owner = Owner::current().expect("the frame has an owner");
    let me = Resource::new_with_options(|| (), |_| fetch_current_user(), true);
    provide_context(Me(me));
    provide_context(ShownName(RwSignal::new(String::new())));
    view! {
        <div class="app">
            <Suspense>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(Some(user)) => view! { <Navigation user /> }.into_any(),
                        Ok(None) => view! { <Redirect path="/login" /> }.into_any(),
                        Err(err) => error_alert(locale, &err),
                    }
                })}
            </Suspense>
            <main class="content" id="main">
                {move || {
                    owned(
                        &owner,
                        || match shown.get() {
                            Page::Inbox => view! { <InboxPage /> }.into_any(),
                            Page::Contacts => now_or_later(fetch_contacts_page, contacts_page),
                            Page::Settings => now_or_later(fetch_settings_page, settings_page),
                            Page::Users => now_or_later(fetch_users_page, users_page),
                            Page::Profile => now_or_later(fetch_profile_page, profile_page),
                            _ => view! { <Home /> }.into_any(),
                        },
                    )
                }}
            </main>
        </div>
    }
}

#[component]
fn Navigation(user: CurrentUser) -> impl IntoView {
    let locale = use_locale();
    let actor = user.actor();
    let shown_name = expect_context::<ShownName>().0;
    let name = user.name.clone();
    let name = move || {
        let changed = shown_name.get();
        if changed.is_empty() {
            name.clone()
        } else {
            changed
        }
    };
    view! {
        <Title formatter=|text: String| format!("{text} · Buzón") />
        <nav class="nav" aria-label=td_string!(locale, nav.label)>
            <a href="/" class="brand">
                <icons::Logo />
                <span class="brand-name">{td_string!(locale, brand)}</span>
            </a>
            <ul class="nav-links">
                {can_use_inbox(&actor)
                    .then(|| {
                        view! {
                            <li>
                                <A href="/inbox">
                                    <icons::Inbox />
                                    <span>{td_string!(locale, nav.inbox)}</span>
                                </A>
                            </li>
                        }
                    })}
                <li>
                    <A href="/contacts">
                        <icons::Contacts />
                        <span>{td_string!(locale, nav.contacts)}</span>
                    </A>
                </li>
                {can_manage_users(&actor)
                    .then(|| {
                        view! {
                            <li>
                                <A href="/users">
                                    <icons::Team />
                                    <span>{td_string!(locale, nav.users)}</span>
                                </A>
                            </li>
                        }
                    })}
                {(can_manage_settings(&actor) || can_manage_users(&actor))
                    .then(|| {
                        view! {
                            <li>
                                <A href="/settings">
                                    <icons::Settings />
                                    <span>{td_string!(locale, nav.settings)}</span>
                                </A>
                            </li>
                        }
                    })}
                <li>
                    <A href="/profile">
                        <icons::Person />
                        <span>{td_string!(locale, nav.profile)}</span>
                    </A>
                </li>
            </ul>
            <div class="nav-foot">
                <div class="whoami">
                    <span class="whoami-name">{name}</span>
                    <span class="whoami-org">{user.org_name.clone()}</span>
                </div>
                <LogoutButton />
            </div>
        </nav>
    }
}
