//! The application frame: the HTML document, the routes, and the navigation around every
//! signed-in page (a side rail on desktop and tablet, a bottom bar on phones).

mod icons;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Outlet, ParentRoute, Redirect, Route, Router, Routes, A};
use leptos_router::{lazy_route, path, Lazy, LazyRoute, SsrMode};

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
use pages::{ContactsPage, Home, NotFound};

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
    view! {
        <Router>
                <Routes fallback=NotFound>
                    <Route path=path!("/setup") view={Lazy::<Setup>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/login") view={Lazy::<Login>::new()} ssr=SsrMode::Async />
                    <Route
                        path=path!("/invite/:token")
                        view={Lazy::<Invite>::new()}
                        ssr=SsrMode::Async
                    />
                    <ParentRoute path=path!("") view=SignedIn ssr=SsrMode::Async>
                        <Route path=path!("") view=Home />
                        <Route path=path!("/inbox") view=InboxPage />
                        <Route path=path!("/contacts") view={Lazy::<Contacts>::new()} />
                        <Route path=path!("/settings") view={Lazy::<Settings>::new()} />
                        <Route path=path!("/users") view={Lazy::<Users>::new()} />
                        <Route path=path!("/profile") view={Lazy::<Profile>::new()} />
                    </ParentRoute>
                </Routes>
        </Router>
    }
}

/// A route whose page is loaded when first opened: its code is split out of the bundle every
/// page loads (`cargo leptos build --split`).
macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                $page().into_any()
            }
        }
    };
}

// The pages a working day seldom opens. The inbox alone stays in the first bundle: the login
// page is loaded once a day, and the contacts page is the CRM's, not the agent's workspace.
lazy_page!(Setup, SetupPage);
lazy_page!(Login, LoginPage);
lazy_page!(Contacts, ContactsPage);
lazy_page!(Invite, InvitePage);
lazy_page!(Settings, SettingsPage);
lazy_page!(Users, UsersPage);
lazy_page!(Profile, ProfilePage);

/// A page rendered at a lazy route is hydrated with that page's view, whose code is split out:
/// the browser loads it before hydrating (`frontend`), so the router finds it there and
/// hydrates the page at once, like every other.
#[cfg(feature = "hydrate")]
pub async fn load_rendered_page() {
    let path = window().location().pathname().unwrap_or_default();
    match path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
    {
        "setup" => Setup::preload().await,
        "login" => Login::preload().await,
        "invite" => Invite::preload().await,
        "contacts" => Contacts::preload().await,
        "settings" => Settings::preload().await,
        "users" => Users::preload().await,
        "profile" => Profile::preload().await,
        _ => {}
    }
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
                me.await.ok().flatten().map(|user| children.with_value(|render| render(user)))
            })}
        </Suspense>
    }
}

/// Every page that needs a signed-in user: sends everyone else to the login page.
#[component]
fn SignedIn() -> impl IntoView {
    let locale = use_locale();
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
                <Outlet />
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
