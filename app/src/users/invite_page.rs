//! `/invite/{token}`: the invitee chooses their name and password.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::Field;
use crate::i18n::*;
use crate::kit::form::{action_error, error_text, fill, FormError, FormField};
use crate::kit::locale::use_locale;
use crate::users::{load_invite, AcceptInvite};

#[component]
pub fn InvitePage(token: String) -> impl IntoView {
    let locale = use_locale();
    let token = StoredValue::new(token);
    let details = Resource::new_blocking(move || token.get_value(), load_invite);
    let action = ServerAction::<AcceptInvite>::new();
    let error = action_error(action);

    view! {
        <Title text=td_string!(locale, invite.title) />
        <main class="auth-page">
            <Suspense>
                {move || Suspend::new(async move {
                    match details.await {
                        Err(err) => {
                            view! {
                                <section class="card auth-card">
                                    <h1 class="auth-title">{td_string!(locale, invite.title)}</h1>
                                    <p class="form-error" role="alert">
                                        {error_text(locale, &err)}
                                    </p>
                                    <a href="/login" class="button wide">
                                        {td_string!(locale, invite.to_login)}
                                    </a>
                                </section>
                            }
                                .into_any()
                        }
                        Ok(details) => {
                            let org = details.org_name.clone();
                            let email = details.email.clone();
                            view! {
                                <ActionForm action attr:class="card auth-card">
                                    <h1 class="auth-title">
                                        <span class="brand-name">{td_string!(locale, brand)}</span>
                                        <span class="auth-subtitle">
                                            {move || fill(td_string!(locale, invite.heading), &[("org", org.clone())]).to_string()}
                                        </span>
                                    </h1>
                                    <p class="muted">
                                        {move || {
                                            fill(td_string!(locale, invite.intro), &[("email", email.clone())])
                                                .to_string()
                                        }}
                                    </p>
                                    <FormError error fields=&[Field::Name, Field::Password] />
                                    <input type="hidden" name="token" value=move || token.get_value() />
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
                                        <p class="hint" id="password-hint">
                                            {td_string!(locale, fields.password_hint)}
                                        </p>
                                    </FormField>
                                    <button
                                        type="submit"
                                        class="button primary wide"
                                        disabled=move || action.pending().get()
                                    >
                                        {td_string!(locale, invite.submit)}
                                    </button>
                                </ActionForm>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </main>
    }
}
