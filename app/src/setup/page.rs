//! The first-run page: name the organization and create its administrator.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::error::Field;
use crate::i18n::*;
use crate::setup::{needs_setup, Setup};
use crate::shell::pages::LanguageSwitch;
use crate::ui::{action_error, page_title, FieldError, FormError};

#[component]
pub fn SetupPage() -> impl IntoView {
    let i18n = use_i18n();
    let needed = Resource::new_blocking(|| (), |_| needs_setup());
    let action = ServerAction::<Setup>::new();
    let error = action_error(action);
    let locale_code = move || match i18n.get_locale() {
        Locale::en => "en",
        Locale::es => "es",
    };

    view! {
        <Title text=page_title(move || t_string!(i18n, setup.title)) />
        <Suspense>
            {move || Suspend::new(async move {
                if !needed.await.unwrap_or(true) {
                    return view! { <Redirect path="/login" /> }.into_any();
                }
                view! {
                    <main class="auth-page">
                        <ActionForm action attr:class="card auth-card wide-card">
                            <h1 class="auth-title">
                                <span class="brand-name">{t!(i18n, brand)}</span>
                                <span class="auth-subtitle">{t!(i18n, setup.title)}</span>
                            </h1>
                            <p class="muted">{t!(i18n, setup.intro)}</p>
                            <FormError
                                error
                                fields=&[Field::Organization, Field::Name, Field::Email, Field::Password]
                            />
                            <input type="hidden" name="language" value=locale_code />
                            <label for="organization">{t!(i18n, fields.organization)}</label>
                            <input
                                id="organization"
                                name="organization"
                                required
                                maxlength="100"
                                autocomplete="organization"
                                aria-describedby="organization-error"
                            />
                            <FieldError error field=Field::Organization id="organization-error" />
                            <label for="name">{t!(i18n, fields.your_name)}</label>
                            <input
                                id="name"
                                name="name"
                                required
                                maxlength="100"
                                autocomplete="name"
                                aria-describedby="name-error"
                            />
                            <FieldError error field=Field::Name id="name-error" />
                            <label for="email">{t!(i18n, fields.email)}</label>
                            <input
                                id="email"
                                name="email"
                                type="email"
                                required
                                autocomplete="username"
                                aria-describedby="email-error"
                            />
                            <FieldError error field=Field::Email id="email-error" />
                            <label for="password">{t!(i18n, fields.password)}</label>
                            <input
                                id="password"
                                name="password"
                                type="password"
                                required
                                minlength="8"
                                autocomplete="new-password"
                                aria-describedby="password-error password-hint"
                            />
                            <p class="hint" id="password-hint">{t!(i18n, fields.password_hint)}</p>
                            <FieldError error field=Field::Password id="password-error" />
                            <button
                                type="submit"
                                class="button primary wide"
                                disabled=move || action.pending().get()
                            >
                                {t!(i18n, setup.submit)}
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
