//! `/profile`: the user's own name, language, notification sound and password, and signing out
//! their other devices.

use crate::kit::nav::use_query_map;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::{CurrentUser, Language};
use crate::auth::{LogoutButton, ShownName, WithUser};
use crate::error::Field;
use crate::i18n::*;
use crate::kit::form::{action_error, fill, role_name, FormError, FormField};
use crate::kit::locale::use_locale;
use crate::profile::{ChangePassword, SignOutOtherDevices, UpdateProfile};

#[component]
pub fn ProfilePage() -> impl IntoView {
    view! { <WithUser children=|user| view! { <Profile user /> } /> }
}

#[component]
fn Profile(user: CurrentUser) -> impl IntoView {
    let locale = use_locale();
    let shown_name = expect_context::<ShownName>();
    let update = ServerAction::<UpdateProfile>::new();
    let change_password = ServerAction::<ChangePassword>::new();
    let sign_out_others = ServerAction::<SignOutOtherDevices>::new();
    let sign_out_error = action_error(sign_out_others);
    let update_error = action_error(update);
    let password_error = action_error(change_password);

    // Once saved, show the new name in the navigation; a new language loads the page again,
    // which says it was saved (`?saved`).
    let chosen_language = RwSignal::new(user.language);
    let typed_name = RwSignal::new(user.name.clone());
    let saved_on_load = use_query_map().with_untracked(|query| query.get("saved").is_some());
    Effect::new(move |_| {
        if let Some(Ok(())) = update.value().get() {
            if chosen_language.get_untracked().locale() != locale {
                let _ = window().location().replace("/profile?saved");
                return;
            }
            shown_name
                .0
                .set(typed_name.get_untracked().trim().to_string());
        }
    });
    let password_saved = move || matches!(change_password.value().get(), Some(Ok(())));
    let profile_saved = move || match update.value().get() {
        Some(result) => result.is_ok(),
        None => saved_on_load,
    };

    view! {
        <Title text=td_string!(locale, profile.title) />
        <header class="page-header">
            <h1>{td_string!(locale, profile.title)}</h1>
            <p class="muted">
                {user.email.clone()} " · "
                {role_name(locale, &user.role.name, user.role.builtin)}
            </p>
        </header>
        <section class="card">
            <h2>{td_string!(locale, profile.details_heading)}</h2>
            <ActionForm action=update attr:class="stack-form">
                <FormError error=update_error fields=&[Field::Name, Field::Language] />
                <FormField id="profile-name" label={td_string!(locale, fields.your_name)} field=Field::Name error=update_error>
                    <input
                        id="profile-name"
                        name="name"
                        required
                        maxlength="100"
                        autocomplete="name"
                        value=user.name.clone()
                        on:input=move |ev| typed_name.set(event_target_value(&ev))
                        aria-describedby="profile-name-error"
                    />
                </FormField>
                <FormField id="profile-language" label={td_string!(locale, fields.language)} field=Field::Language error=update_error>
                    <select
                        id="profile-language"
                        aria-describedby="profile-language-error"
                        name="language"
                        on:change=move |ev| {
                            if let Some(language) = Language::from_code(&event_target_value(&ev)) {
                                chosen_language.set(language);
                            }
                        }
                    >
                        <option value="es" selected=user.language == Language::Es>
                            {td_string!(locale, language.es)}
                        </option>
                        <option value="en" selected=user.language == Language::En>
                            {td_string!(locale, language.en)}
                        </option>
                    </select>
                </FormField>
                <label class="checkbox">
                    <input type="checkbox" name="sound" value="on" checked=user.sound_enabled />
                    <span>{td_string!(locale, profile.sound)}</span>
                </label>
                <div class="form-actions">
                    <button type="submit" class="button primary" disabled=move || update.pending().get()>
                        {td_string!(locale, profile.save)}
                    </button>
                    {move || {
                        profile_saved()
                            .then(|| view! { <span class="saved" role="status">{td_string!(locale, profile.saved)}</span> })
                    }}
                </div>
            </ActionForm>
        </section>
        <section class="card">
            <h2>{td_string!(locale, profile.password_heading)}</h2>
            <ActionForm action=change_password attr:class="stack-form">
                <FormError error=password_error fields=&[Field::CurrentPassword, Field::Password] />
                <FormField id="current-password" label={td_string!(locale, fields.current_password)} field=Field::CurrentPassword error=password_error>
                    <input
                        id="current-password"
                        name="current_password"
                        type="password"
                        required
                        autocomplete="current-password"
                        aria-describedby="current-password-error"
                    />
                </FormField>
                <FormField id="new-password" label={td_string!(locale, fields.new_password)} field=Field::Password error=password_error>
                    <input
                        id="new-password"
                        name="new_password"
                        type="password"
                        required
                        minlength="8"
                        autocomplete="new-password"
                        aria-describedby="new-password-error"
                    />
                </FormField>
                <div class="form-actions">
                    <button type="submit" class="button primary" disabled=move || change_password.pending().get()>
                        {td_string!(locale, profile.change_password)}
                    </button>
                    {move || {
                        password_saved()
                            .then(|| {
                                view! { <span class="saved" role="status">{td_string!(locale, profile.password_changed)}</span> }
                            })
                    }}
                </div>
            </ActionForm>
        </section>
        <section class="card">
            <h2>{td_string!(locale, profile.sessions_heading)}</h2>
            <p class="muted">{td_string!(locale, profile.sessions_intro)}</p>
            <ActionForm action=sign_out_others attr:class="stack-form">
                <FormError error=sign_out_error fields=&[] />
                <div class="form-actions">
                    <button type="submit" class="button" disabled=move || sign_out_others.pending().get()>
                        {td_string!(locale, profile.sign_out_others)}
                    </button>
                    {move || match sign_out_others.value().get() {
                        Some(Ok(count)) => Some(view! {
                            <span class="saved" role="status">
                                {fill(td_string!(locale, profile.signed_out_others), &[("count", count.to_string())]).to_string()}
                            </span>
                        }),
                        _ => None,
                    }}
                </div>
            </ActionForm>
        </section>
        <section class="card phone-only">
            <LogoutButton />
        </section>
    }
}
