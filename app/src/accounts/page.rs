//! The "Connected channels" section of the settings page: connect, edit, test and disconnect
//! WhatsApp lines, a Facebook Page, an Instagram account and a Twilio sender.

use channels::Channel;
use leptos::prelude::*;

use super::{
    import_business_app, set_contact_mode, test_account, AccountView, Accounts, DisconnectAccount,
    SaveAccount,
};
use crate::auto_contacts::ContactMode;
use crate::epoch::EpochMs;
use crate::error::{AppError, Field};
use crate::i18n::*;
use crate::kit::clock;
use crate::kit::form::{action_error, outcome_view, FieldError, FormError, FormField};
use crate::kit::line_standing::{messaging_limit, notices, LineAlert};
use crate::kit::locale::use_locale;

pub type AccountsResource = Resource<Result<Accounts, AppError>>;

const FORM_FIELDS: &[Field] = &[
    Field::Channel,
    Field::Name,
    Field::ExternalId,
    Field::AccessToken,
    Field::AppSecret,
    Field::VerifyToken,
    Field::AuthToken,
    Field::AccountSid,
];

/// Settings name Twilio's product, which the inbox calls Twilio for short.
fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Whatsapp => "WhatsApp",
        Channel::Messenger => "Messenger",
        Channel::Instagram => "Instagram",
        Channel::Twilio => "Twilio WhatsApp",
    }
}

#[component]
pub fn AccountsSection(
    accounts: AccountsResource,
    save: ServerAction<SaveAccount>,
    disconnect: ServerAction<DisconnectAccount>,
) -> impl IntoView {
    let locale = use_locale();
    let editing = RwSignal::new(None::<AccountView>);
    let channel = RwSignal::new("whatsapp".to_string());
    let tested = RwSignal::new(None::<(i64, Result<String, AppError>)>);
    let test = Action::new(move |id: &i64| {
        let id = *id;
        async move { (id, test_account(id).await) }
    });
    Effect::new(move |_| {
        if let Some(result) = test.value().get() {
            tested.set(Some(result));
        }
    });
    let imported = RwSignal::new(None::<(i64, Result<(), AppError>)>);
    let import = Action::new(move |id: &i64| {
        let id = *id;
        async move { (id, import_business_app(id).await) }
    });
    Effect::new(move |_| {
        if let Some(result) = import.value().get() {
            imported.set(Some(result));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            editing.set(None);
        }
    });
    let save_error = action_error(save);
    let disconnect_error = action_error(disconnect);
    let rows = move || {
        accounts
            .get()
            .and_then(Result::ok)
            .map(|a| a.accounts)
            .unwrap_or_default()
    };
    let webhook_base = move || {
        accounts
            .get()
            .and_then(Result::ok)
            .map(|a| a.webhook_base)
            .unwrap_or_default()
    };
    view! {
        <section class="card" aria-labelledby="accounts-heading">
            <h2 id="accounts-heading">{td_string!(locale, settings.channels_heading)}</h2>
            <p class="muted small">
                {td_string!(locale, settings.webhook_hint)} " "
                <code>{move || format!("{}/{}", webhook_base(), channel.get())}</code>
            </p>
            <FormError error=disconnect_error fields=&[] />
            <Transition fallback=|| view! { <div class="loading"></div> }>
                <Show when=move || rows().is_empty()>
                    <p class="muted">{td_string!(locale, settings.channels_empty)}</p>
                </Show>
                <ul class="account-list">
                    <For
                        each=rows
                        key=|a| (a.id, a.name.clone(), a.connected, a.external_id.clone(), a.standing.clone())
                        let:account
                    >
                        {
                            let id = account.id;
                            let connected = account.connected;
                            let whatsapp = account.channel == Channel::Whatsapp;
                            let for_edit = account.clone();
                            // What Meta said about a connected line, for its administrators.
                            let alerts = if connected {
                                notices(
                                    locale,
                                    &account.standing,
                                    EpochMs::now(),
                                    clock::viewer_offset_minutes(),
                                )
                            } else {
                                Vec::new()
                            };
                            let limit = messaging_limit(locale, &account.standing)
                                .filter(|_| connected);
                            let detail = format!(
                                "{}{}",
                                account
                                    .display_handle
                                    .clone()
                                    .map(|h| format!("{h} · "))
                                    .unwrap_or_default(),
                                account.external_id,
                            );
                            view! {
                                <li class="account" class:inactive=!connected>
                                    <div class="account-who">
                                        <span class=format!(
                                            "channel channel-{}",
                                            account.channel.as_str(),
                                        )>{channel_label(account.channel)}</span>
                                        <strong>{account.name.clone()}</strong>
                                        <span class="muted small">{detail}</span>
                                        {if connected {
                                            view! {
                                                <span class="status status-active">
                                                    {td_string!(locale, settings.connected)}
                                                </span>
                                            }
                                                .into_any()
                                        } else {
                                            view! {
                                                <span class="status status-deactivated">
                                                    {td_string!(locale, settings.disconnected)}
                                                </span>
                                            }
                                                .into_any()
                                        }}
                                        {limit.map(|limit| view! { <span class="muted small">{limit}</span> })}
                                    </div>
                                    <LineAlert notices=alerts />
                                    {connected.then(|| view! { <ContactModeChoice id mode=account.contact_mode /> })}
                                    <div class="account-controls">
                                        <button
                                            class="button small"
                                            type="button"
                                            on:click=move |_| {
                                                test.dispatch(id);
                                            }
                                        >
                                            {td_string!(locale, settings.test)}
                                        </button>
                                        <button
                                            class="button small"
                                            type="button"
                                            on:click=move |_| {
                                                channel.set(for_edit.channel.as_str().to_string());
                                                editing.set(Some(for_edit.clone()));
                                            }
                                        >
                                            {td_string!(locale, settings.edit)}
                                        </button>
                                        {(connected && whatsapp)
                                            .then(|| {
                                                view! {
                                                    <button
                                                        class="button small"
                                                        type="button"
                                                        on:click=move |_| {
                                                            import.dispatch(id);
                                                        }
                                                    >
                                                        {td_string!(locale, settings.import_business_app)}
                                                    </button>
                                                }
                                            })}
                                        {connected
                                            .then(|| {
                                                view! {
                                                    <button
                                                        class="button small danger"
                                                        type="button"
                                                        on:click=move |_| {
                                                            if confirm(
                                                                td_string!(locale, settings.disconnect_confirm),
                                                            ) {
                                                                disconnect.dispatch(DisconnectAccount { id });
                                                            }
                                                        }
                                                    >
                                                        {td_string!(locale, settings.disconnect)}
                                                    </button>
                                                }
                                            })}
                                    </div>
                                    {move || {
                                        imported
                                            .get()
                                            .filter(|(imported_id, _)| *imported_id == id)
                                            .map(|(_, result)| {
                                                let notice = result
                                                    .map(|()| td_string!(locale, settings.import_started).to_string());
                                                outcome_view(locale, notice)
                                            })
                                    }}
                                    {move || {
                                        tested
                                            .get()
                                            .filter(|(tested_id, _)| *tested_id == id)
                                            .map(|(_, result)| {
                                                let notice = result
                                                    .map(|name| format!("{} {name}", td_string!(locale, settings.test_ok)));
                                                outcome_view(locale, notice)
                                            })
                                    }}
                                </li>
                            }
                        }
                    </For>
                </ul>
            </Transition>
            <AccountForm save editing channel save_error />
        </section>
    }
}

fn confirm(question: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.confirm_with_message(question).ok())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = question;
        false
    }
}

#[component]
fn AccountForm(
    save: ServerAction<SaveAccount>,
    editing: RwSignal<Option<AccountView>>,
    channel: RwSignal<String>,
    save_error: Signal<Option<AppError>>,
) -> impl IntoView {
    let locale = use_locale();
    let is_meta = move || channel.get() != "twilio";
    let value = move |pick: fn(&AccountView) -> Option<String>| {
        move || editing.get().as_ref().and_then(pick).unwrap_or_default()
    };
    let kept = move |has: fn(&AccountView) -> bool| {
        move || {
            if editing.get().as_ref().is_some_and(has) {
                td_string!(locale, settings.secret_kept).to_string()
            } else {
                String::new()
            }
        }
    };
    let external_label = move || match channel.get().as_str() {
        "whatsapp" => td_string!(locale, settings.phone_number_id),
        "messenger" => td_string!(locale, settings.page_id),
        "instagram" => td_string!(locale, settings.instagram_id),
        _ => td_string!(locale, settings.twilio_number),
    };
    view! {
        <ActionForm action=save attr:class="account-form stack-form">
            <h3>
                {move || {
                    if editing.get().is_some() {
                        td_string!(locale, settings.edit_account)
                    } else {
                        td_string!(locale, settings.connect_account)
                    }
                }}
            </h3>
            {move || {
                editing
                    .get()
                    .map(|account| view! { <input type="hidden" name="id" value=account.id /> })
            }}
            <label for="account-channel">{td_string!(locale, settings.channel)}</label>
            <select
                id="account-channel"
                name="channel"
                prop:value=move || channel.get()
                disabled=move || editing.get().is_some()
                on:change=move |ev| channel.set(event_target_value(&ev))
            >
                <option value="whatsapp">"WhatsApp"</option>
                <option value="messenger">"Messenger"</option>
                <option value="instagram">"Instagram"</option>
                <option value="twilio">"Twilio WhatsApp"</option>
            </select>
            {move || {
                editing
                    .get()
                    .map(|account| view! { <input type="hidden" name="channel" value=account.channel.as_str() /> })
            }}
            <FormField id="account-name" label={td_string!(locale, settings.account_name)} field=Field::Name error=save_error>
                <input id="account-name" aria-describedby="account-name-error" name="name" required prop:value=value(|a| Some(a.name.clone())) />
            </FormField>
            // Its label follows the channel chosen, so it is not a `FormField`'s fixed one.
            <label for="account-external">{external_label}</label>
            <input
                id="account-external"
                aria-describedby="account-external-error"
                name="external_id"
                required
                inputmode="numeric"
                prop:value=value(|a| Some(a.external_id.clone()))
            />
            <FieldError error=save_error field=Field::ExternalId id="account-external-error" />
            <label for="account-handle">{td_string!(locale, settings.handle)}</label>
            <input id="account-handle" name="handle" prop:value=value(|a| a.display_handle.clone()) />
            <div class:hidden=move || channel.get() != "whatsapp">
                <label for="account-business">{td_string!(locale, settings.business_id)}</label>
                <input id="account-business" name="business_id" prop:value=value(|a| a.business_id.clone()) />
            </div>
            <div class:hidden=is_meta>
                <FormField id="account-sid" label={td_string!(locale, settings.account_sid)} field=Field::AccountSid error=save_error>
                    <input id="account-sid" aria-describedby="account-sid-error" name="account_sid" prop:value=value(|a| a.account_sid.clone()) />
                </FormField>
                <FormField id="account-auth" label={td_string!(locale, settings.auth_token)} field=Field::AuthToken error=save_error>
                    <input
                        id="account-auth"
                        aria-describedby="account-auth-error"
                        name="auth_token"
                        type="password"
                        autocomplete="off"
                        placeholder=kept(|a| a.has_auth_token)
                    />
                </FormField>
            </div>
            <div class:hidden=move || !is_meta()>
                <FormField id="account-token" label={td_string!(locale, settings.access_token)} field=Field::AccessToken error=save_error>
                    <input
                        id="account-token"
                        aria-describedby="account-token-error"
                        name="access_token"
                        type="password"
                        autocomplete="off"
                        placeholder=kept(|a| a.has_access_token)
                    />
                </FormField>
                <FormField id="account-secret" label={td_string!(locale, settings.app_secret)} field=Field::AppSecret error=save_error>
                    <input
                        id="account-secret"
                        aria-describedby="account-secret-error"
                        name="app_secret"
                        type="password"
                        autocomplete="off"
                        placeholder=kept(|a| a.has_app_secret)
                    />
                </FormField>
                <FormField id="account-verify" label={td_string!(locale, settings.verify_token)} field=Field::VerifyToken error=save_error>
                    <input
                        id="account-verify"
                        aria-describedby="account-verify-error"
                        name="verify_token"
                        type="password"
                        autocomplete="off"
                        placeholder=kept(|a| a.has_verify_token)
                    />
                </FormField>
            </div>
            <FormError error=save_error fields=FORM_FIELDS />
            <div class="form-actions">
                <button class="button primary" type="submit">
                    {move || {
                        if editing.get().is_some() {
                            td_string!(locale, settings.save_account)
                        } else {
                            td_string!(locale, settings.connect)
                        }
                    }}
                </button>
                <Show when=move || editing.get().is_some()>
                    <button class="button ghost" type="button" on:click=move |_| editing.set(None)>
                        {td_string!(locale, settings.cancel)}
                    </button>
                </Show>
            </div>
        </ActionForm>
    }
}

/// What a new conversation on the account does with its customer's contact.
#[component]
fn ContactModeChoice(id: i64, mode: ContactMode) -> impl IntoView {
    let locale = use_locale();
    let error = RwSignal::new(None::<AppError>);
    let save = Action::new(move |mode: &String| {
        let mode = mode.clone();
        async move { set_contact_mode(id, mode).await }
    });
    Effect::new(move |_| {
        if let Some(result) = save.value().get() {
            error.set(result.err());
        }
    });
    let select_id = format!("contact-mode-{id}");
    view! {
        <div class="contact-mode">
            <label for=select_id.clone() class="small">{td_string!(locale, settings.contact_mode)}</label>
            <select id=select_id on:change=move |ev| { save.dispatch(event_target_value(&ev)); }>
                {ContactMode::ALL
                    .into_iter()
                    .map(|choice| {
                        let label = match choice {
                            ContactMode::Off => td_string!(locale, settings.contact_mode_off),
                            ContactMode::Associate => td_string!(locale, settings.contact_mode_associate),
                            ContactMode::CreateAndAssociate => td_string!(locale, settings.contact_mode_create),
                        };
                        view! { <option value=choice.key() selected=choice == mode>{label}</option> }
                    })
                    .collect_view()}
            </select>
            <crate::kit::form::ErrorNote error />
        </div>
    }
}
