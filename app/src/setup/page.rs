//! The first-run page: name the organization and create its administrator.

use crate::kit::nav::{use_query_map, Redirect};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::needs_setup;
use crate::error::Field;
use crate::i18n::*;
use crate::kit::form::{action_error, FormError, FormField};
use crate::kit::locale::use_locale;
use crate::kit::LanguageSwitch;
use crate::setup::Setup;

#[component]
pub fn SetupPage() -> impl IntoView {
    let locale = use_locale();
    let needed = Resource::new_blocking(|| (), |_| needs_setup());
    let action = ServerAction::<Setup>::new();
    let error = action_error(action);
    // The link the server prints carries the token; typed by hand otherwise.
    let token = StoredValue::new(
        use_query_map().with_untracked(|query| query.get("token").unwrap_or_default()),
    );

    view! {
        <Title text=td_string!(locale, setup.title) />
        <Suspense>
            {move || Suspend::new(async move {
                if !needed.await.unwrap_or(true) {
                    return view! { <Redirect path="/login" /> }.into_any();
                }
                view! {
                    <main class="auth-page">
                        <ActionForm action attr:class="card auth-card wide-card">
                            <h1 class="auth-title">
                                <span class="brand-name">{td_string!(locale, brand)}</span>
                                <span class="auth-subtitle">{td_string!(locale, setup.title)}</span>
                            </h1>
                            <p class="muted">{td_string!(locale, setup.intro)}</p>
                            <FormError
                                error
                                fields=&[Field::SetupToken, Field::Organization, Field::Name, Field::Email, Field::Password]
                            />
                            <input type="hidden" name="language" value=crate::kit::locale::page_language().code() />
                            <FormField id="token" label={td_string!(locale, fields.setup_token)} field=Field::SetupToken error>
                                <input
                                    id="token"
                                    name="token"
                                    required
                                    autocomplete="off"
                                    spellcheck="false"
                                    value=token.get_value()
                                    aria-describedby="token-error token-hint"
                                />
                                <p class="hint" id="token-hint">{td_string!(locale, fields.setup_token_hint)}</p>
                            </FormField>
                            <FormField id="organization" label={td_string!(locale, fields.organization)} field=Field::Organization error>
                                <input
                                    id="organization"
                                    name="organization"
                                    required
                                    maxlength="100"
                                    autocomplete="organization"
                                    aria-describedby="organization-error"
                                />
                            </FormField>
                            <FormField id="name" label={td_string!(locale, fields.your_name)} field=Field::Name error>
                                <input
                                    id="name"
                                    name="name"
                                    required
                                    maxlength="100"
                                    autocomplete="name"
                                    aria-describedby="name-error"
                                />
                            </FormField>
                            <FormField id="email" label={td_string!(locale, fields.email)} field=Field::Email error>
                                <input
                                    id="email"
                                    name="email"
                                    type="email"
                                    required
                                    autocomplete="username"
                                    aria-describedby="email-error"
                                />
                            </FormField>
                            <FormField id="password" label={td_string!(locale, fields.password)} field=Field::Password error>
                                <input
                                    id="password"
                                    name="password"
                                    type="password"
                                    required
                                    minlength="8"
                                    autocomplete="new-password"
                                    aria-describedby="password-error password-hint"
                                />
                                <p class="hint" id="password-hint">{td_string!(locale, fields.password_hint)}</p>
                            </FormField>
                            <button
                                type="submit"
                                class="button primary wide"
                                disabled=move || action.pending().get()
                            >
                                {td_string!(locale, setup.submit)}
                            </button>
                        </ActionForm>
                        <LanguageSwitch />
                    </main>
                }
                    .into_any()
            })}
        </Suspense>
    }
}
