//! The login page. A plain HTML form posted to `/login`, so it works with JavaScript disabled;
//! the server answers with a redirect, carrying an error code back here when it fails.

use crate::kit::nav::{use_query_map, Redirect};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::needs_setup;
use crate::i18n::*;
use crate::kit::form::rate_limited_text;
use crate::kit::locale::use_locale;
use crate::kit::LanguageSwitch;

#[component]
pub fn LoginPage() -> impl IntoView {
    let locale = use_locale();
    let query = use_query_map();
    let setup = Resource::new_blocking(|| (), |_| needs_setup());
    let error = move || {
        let query = query.read();
        let retry = query
            .get("retry")
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(60);
        match query.get("error").as_deref() {
            Some("credentials") => Some(td_string!(locale, errors.credentials).to_string()),
            Some("missing") => Some(td_string!(locale, login.missing).to_string()),
            Some("deactivated") => Some(td_string!(locale, errors.deactivated).to_string()),
            Some("rate_limited") => Some(rate_limited_text(locale, retry)),
            Some("busy") => Some(td_string!(locale, errors.busy).to_string()),
            Some(_) => Some(td_string!(locale, errors.internal).to_string()),
            None => None,
        }
    };
    let email = move || query.read().get("email").unwrap_or_default();
    let next = move || query.read().get("next").unwrap_or_default();
    let logged_out = move || query.read().get("bye").is_some();

    view! {
        <Title text=td_string!(locale, login.title) />
        <Suspense>
            {move || Suspend::new(async move {
                if setup.await.unwrap_or(false) {
                    return view! { <Redirect path="/setup" /> }.into_any();
                }
                view! {
                    <main class="auth-page">
                        <form method="post" action="/login" class="card auth-card">
                            <h1 class="auth-title">
                                <span class="brand-name">{td_string!(locale, brand)}</span>
                                <span class="auth-subtitle">{td_string!(locale, login.title)}</span>
                            </h1>
                            {move || {
                                logged_out()
                                    .then(|| {
                                        view! {
                                            <p class="notice" role="status">
                                                {td_string!(locale, login.logged_out)}
                                            </p>
                                        }
                                    })
                            }}
                            {move || {
                                error()
                                    .map(|message| {
                                        view! {
                                            <p class="form-error" role="alert" id="login-error">
                                                {message}
                                            </p>
                                        }
                                    })
                            }}
                            <input type="hidden" name="next" value=next />
                            <label for="email">{td_string!(locale, fields.email)}</label>
                            <input
                                id="email"
                                name="email"
                                type="email"
                                autocomplete="username"
                                required
                                autofocus
                                value=email
                            />
                            <label for="password">{td_string!(locale, fields.password)}</label>
                            <input
                                id="password"
                                name="password"
                                type="password"
                                autocomplete="current-password"
                                required
                            />
                            <button type="submit" class="button primary wide">
                                {td_string!(locale, login.submit)}
                            </button>
                        </form>
                        <LanguageSwitch />
                    </main>
                }
                    .into_any()
            })}
        </Suspense>
    }
}
