//! The application frame: the HTML document, the routes, and the navigation around every
//! signed-in page (a side rail on desktop and tablet, a bottom bar on phones).

mod icons;
pub mod nav;
pub mod pages;
pub mod split;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};

use crate::auth::login_page::LoginPage;
use crate::auth::{fetch_current_user, CurrentUser};
use crate::conversations::inbox::InboxPage;
use crate::i18n::*;
use crate::locale::use_locale;
use crate::permissions::{can_manage_settings, can_manage_users, can_use_inbox};
use crate::profile::page::ProfilePage;
use crate::roles::page::SettingsPage;
use crate::setup::page::SetupPage;
use crate::ui::error_text;
use crate::users::invite_page::InvitePage;
use crate::users::page::UsersPage;
use nav::{NavLink as A, Page, Redirect};
use pages::{ContactsPage, Home, NotFound};
pub use split::now_or_later;
use split::split;

/// The HTML document the server renders around the application.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = crate::locale::page_language().code();
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

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    crate::locale::provide_locale();
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
pub async fn load_rendered_page() -> Result<(), split::Unloaded> {
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

/// The signed-in user's name as the navigation shows it; the profile page updates it in place
/// so that saving a new name does not reload the frame. Empty until the profile changes it.
#[derive(Clone, Copy)]
pub struct ShownName(pub RwSignal<String>);

/// The signed-in user, loaded once by the frame for every page inside it.
#[derive(Clone, Copy)]
pub struct Me(
    pub Resource<Result<Option<CurrentUser>, crate::error::AppError>, crate::codec::ReadJson>,
);

/// Renders `children` with the signed-in user once known (at once after the first load).
///
/// Pages create their resources *before* this, at their top level: a resource created inside
/// a `Suspend` can be created again when it re-runs, and the server and the browser would then
/// number their resources differently and fail to hydrate.
#[component]
pub fn WithUser<F, V>(children: F) -> impl IntoView
where
    F: Fn(CurrentUser) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let me = expect_context::<Me>().0;
    let children = StoredValue::new(children);
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                // The page may have gone by the time the user is known.
                me.await
                    .ok()
                    .flatten()
                    .and_then(|user| children.try_with_value(|render| render(user)))
            })}
        </Suspense>
    }
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
                        Err(err) => {
                            view! {
                                <p class="form-error" role="alert">
                                    {error_text(locale, &err)}
                                </p>
                            }
                                .into_any()
                        }
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

/// A plain form, so signing out works without JavaScript too.
#[component]
pub fn LogoutButton() -> impl IntoView {
    let locale = use_locale();
    view! {
        <form method="post" action="/logout" class="logout">
            <button type="submit" class="button ghost">
                {td_string!(locale, nav.logout)}
            </button>
        </form>
    }
}

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
