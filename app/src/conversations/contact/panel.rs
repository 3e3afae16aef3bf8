//! The contact panel: the linked contact's basic information, or a form to
//! create one from the customer, and a search to link an existing contact instead.
//! Beside the chat on desktops, collapsible on tablets, its own view on phones.

use channels::Channel;
use leptos::prelude::*;

use super::{create_contact, link_contact};
use crate::contacts::{search_contacts, ContactView, NewContact};
use crate::conversations::labels::{channel_label, initials};
use crate::conversations::workspace::Workspace;
use crate::error::{AppError, Field};
use crate::i18n::*;
use crate::kit::form::{ErrorNote, FieldError, FormError, FormField};
use crate::kit::locale::use_locale;

const CONTACT_FIELDS: &[Field] = &[
    Field::FirstName,
    Field::LastName,
    Field::Email,
    Field::Consent,
];

#[component]
pub fn ContactPanel(conversation_id: i64) -> AnyView {
    let locale = use_locale();
    let workspace = expect_context::<Workspace>();
    let shown = move || {
        workspace
            .thread
            .get()
            .and_then(Result::ok)
            .flatten()
            .filter(|t| t.conversation.id == conversation_id)
    };
    // Memos, so that a new message or status in the thread does not rebuild the forms (and
    // lose what is being typed or sent): only a change of the contact itself does.
    let contact = Memo::new(move |_| shown().and_then(|t| t.contact));
    let customer = Memo::new(move |_| {
        shown()
            .map(|t| (t.conversation.channel, t.conversation.customer_name))
            .unwrap_or((Channel::Whatsapp, None))
    });
    // What the panel learned itself (created or linked) shows before the stream confirms it.
    let placed = move |contact: ContactView| {
        workspace.update_thread(conversation_id, |thread| {
            thread.conversation.contact_id = Some(contact.id);
            thread.conversation.contact_name = Some(contact.name()).filter(|n| !n.is_empty());
            thread.contact = Some(contact);
        });
    };
    view! {
        <aside
            id="contact-panel"
            class="contact-panel"
            aria-label=td_string!(locale, contacts.panel_label)
        >
            <a
                class="back phone-only"
                href=move || workspace.href(&[("panel", None)])
                aria-label=td_string!(locale, contacts.back_to_chat)
            >
                "← "
                {td_string!(locale, contacts.back_to_chat)}
            </a>
            {move || match contact.get() {
                Some(contact) => view! { <ContactCard contact /> }.into_any(),
                None => {
                    let (channel, suggested) = customer.get();
                    let suggested = suggested.unwrap_or_default();
                    view! {
                        <div class="not-in-crm">
                            <span class="avatar" aria-hidden="true">
                                {initials(&suggested)}
                            </span>
                            <p class="hint">
                                {crate::kit::form::fill(
                                    td_string!(locale, contacts.not_in_crm),
                                    &[("channel", channel_label(channel).to_string())],
                                )}
                            </p>
                        </div>
                        <CreateContact conversation_id suggested placed />
                        <LinkContact conversation_id placed />
                    }
                        .into_any()
                }
            }}
        </aside>
    }
    .into_any()
}

#[component]
fn ContactCard(contact: ContactView) -> impl IntoView {
    let locale = use_locale();
    let name = contact.name();
    let row = move |label: String, value: Option<String>| {
        value.filter(|v| !v.is_empty()).map(|value| {
            view! {
                <dt>{label}</dt>
                <dd>{value}</dd>
            }
        })
    };
    let others = (!contact.phones.is_empty()).then(|| contact.phones.join(", "));
    view! {
        <div class="contact-card">
            <span class="avatar contact large" aria-hidden="true">
                {initials(&name)}
            </span>
            <h3>{name.clone()}</h3>
            <dl>
                {row(td_string!(locale, contacts.phone).into(), contact.primary_phone.clone())}
                {row(
                    td_string!(locale, contacts.whatsapp_phone).into(),
                    contact.whatsapp_phone.clone(),
                )}
                {row(td_string!(locale, contacts.other_phones).into(), others)}
                {row(td_string!(locale, contacts.email).into(), contact.email.clone())}
                {row(td_string!(locale, contacts.company).into(), contact.company.clone())}
                {row(td_string!(locale, contacts.facebook_id).into(), contact.facebook_id.clone())}
                {row(
                    td_string!(locale, contacts.instagram_username).into(),
                    contact.instagram_username.clone().map(|u| format!("@{u}")),
                )}
                {row(td_string!(locale, contacts.owner).into(), contact.owner_name.clone())}
            </dl>
            <a class="button small" href=format!("/contacts?c={}", contact.id)>
                {td_string!(locale, contacts.open_page)}
            </a>
        </div>
    }
}

/// First name, last name, email and the consent checkbox; the WhatsApp number the customer
/// wrote from becomes the primary and WhatsApp phone on the server.
#[component]
fn CreateContact(
    conversation_id: i64,
    suggested: String,
    placed: impl Fn(ContactView) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let locale = use_locale();
    let (first, last) = match suggested.split_once(' ') {
        Some((first, last)) => (first.to_string(), last.to_string()),
        None => (suggested.clone(), String::new()),
    };
    let first_name = RwSignal::new(first);
    let last_name = RwSignal::new(last);
    let email = RwSignal::new(String::new());
    let consent = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let save = Action::new(move |form: &NewContact| {
        let form = form.clone();
        async move { create_contact(conversation_id, form).await }
    });
    Effect::new(move |_| {
        if let Some(result) = save.value().get() {
            match result {
                Ok(contact) => {
                    error.set(None);
                    placed(contact);
                }
                Err(err) => error.set(Some(err)),
            }
        }
    });
    view! {
        <form
            class="create-contact"
            on:submit=move |ev| {
                ev.prevent_default();
                save.dispatch(NewContact {
                    first_name: first_name.get_untracked(),
                    last_name: last_name.get_untracked(),
                    email: email.get_untracked(),
                    consent: consent.get_untracked(),
                });
            }
        >
            <h3>{td_string!(locale, contacts.create_title)}</h3>
            <FormField id="contact-first-name" label={td_string!(locale, contacts.first_name)} field=Field::FirstName error>
                <input
                    id="contact-first-name"
                    aria-describedby="contact-first-name-error"
                    type="text"
                    required
                    autocomplete="off"
                    prop:value=move || first_name.get()
                    on:input=move |ev| first_name.set(event_target_value(&ev))
                />
            </FormField>
            <FormField id="contact-last-name" label={td_string!(locale, contacts.last_name)} field=Field::LastName error>
                <input
                    id="contact-last-name"
                    aria-describedby="contact-last-name-error"
                    type="text"
                    required
                    autocomplete="off"
                    prop:value=move || last_name.get()
                    on:input=move |ev| last_name.set(event_target_value(&ev))
                />
            </FormField>
            <FormField id="contact-email" label={td_string!(locale, contacts.email_optional)} field=Field::Email error>
                <input
                    id="contact-email"
                    aria-describedby="contact-email-error"
                    type="email"
                    autocomplete="off"
                    on:input=move |ev| email.set(event_target_value(&ev))
                />
            </FormField>
            <label class="checkbox">
                <input
                    type="checkbox"
                    prop:checked=move || consent.get()
                    on:change=move |ev| consent.set(event_target_checked(&ev))
                />
                <span>{td_string!(locale, contacts.consent)}</span>
            </label>
            <FieldError error field=Field::Consent id="contact-consent-error" />
            <FormError error fields=CONTACT_FIELDS />
            <button class="button primary" type="submit" disabled=move || save.pending().get()>
                {td_string!(locale, contacts.create)}
            </button>
        </form>
    }
}

/// Search by first name, last name, phone or email and link the conversation.
#[component]
fn LinkContact(
    conversation_id: i64,
    placed: impl Fn(ContactView) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let locale = use_locale();
    let query = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let link = Action::new(move |contact_id: &i64| {
        let contact_id = *contact_id;
        async move { link_contact(conversation_id, contact_id).await }
    });
    Effect::new(move |_| {
        if let Some(result) = link.value().get() {
            match result {
                Ok(contact) => {
                    error.set(None);
                    placed(contact);
                }
                Err(err) => error.set(Some(err)),
            }
        }
    });
    view! {
        <div class="link-contact">
            <h3>{td_string!(locale, contacts.link_title)}</h3>
            <label class="visually-hidden" for="link-contact-search">
                {td_string!(locale, contacts.link_search)}
            </label>
            <input
                id="link-contact-search"
                type="search"
                autocomplete="off"
                placeholder=td_string!(locale, contacts.link_search)
                on:input=move |ev| query.set(event_target_value(&ev))
            />
            <ContactResults
                query
                pick=move |id| {
                    link.dispatch(id);
                }
            />
            <ErrorNote error=error />
        </div>
    }
}

/// The contacts matching `query` (two characters at least), each a button that calls `pick`
/// with its id.
#[component]
pub fn ContactResults(
    query: RwSignal<String>,
    pick: impl Fn(i64) + Copy + Send + Sync + 'static,
    #[prop(into, optional)] disabled: Signal<bool>,
) -> impl IntoView {
    // Asked from the browser only, as the person types: nothing to render on the server.
    let found = crate::kit::form::browser_value(move || {
        let query = query.get();
        async move {
            if query.trim().chars().count() < 2 {
                return Ok(Vec::new());
            }
            search_contacts(query).await
        }
    });
    // The server (which never asks) and the hydrating browser both render the empty list.
    view! {
        <ul class="contact-results">
                {move || {
                    found
                        .get()
                        .and_then(Result::ok)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|contact: ContactView| {
                            let id = contact.id;
                            let name = contact.name();
                            let detail = contact
                                .whatsapp_phone
                                .clone()
                                .or(contact.primary_phone.clone())
                                .or(contact.email.clone())
                                .unwrap_or_default();
                            view! {
                                <li>
                                    <button
                                        type="button"
                                        class="contact-result"
                                        disabled=move || disabled.get()
                                        on:click=move |_| pick(id)
                                    >
                                        <span class="avatar contact" aria-hidden="true">
                                            {initials(&name)}
                                        </span>
                                        <span>{name}</span>
                                        <span class="muted">{detail}</span>
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
    }
}
