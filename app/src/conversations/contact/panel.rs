//! The contact panel: the linked contact in two tabs, Contact (every field, edited in place as
//! on its page, with the custom fields and other numbers) and CRM (its other conversations),
//! told live of other agents' changes; or a form to create a contact from the customer, and a
//! search to link an existing one instead. Beside the chat on desktops, collapsible on tablets,
//! its own view on phones.

use channels::Channel;
use leptos::prelude::*;

use super::{create_contact, link_contact};
use crate::contacts::{
    load_contact, search_contacts, ContactDetail, ContactFields, ContactView, Conversations,
    Duplicates, Editing, NewContact,
};
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
    // The tabs are made again only for another contact, not for each change of this one.
    let contact_id = Memo::new(move |_| contact.with(|c| c.as_ref().map(|c| c.id)));
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
            {move || match contact_id.get() {
                Some(contact_id) => {
                    let first = contact.get_untracked();
                    view! { <ContactTabs contact_id first conversation_id /> }.into_any()
                }
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

/// Which tab of the linked contact shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Contact,
    Crm,
}

/// The linked contact: its name, the Contact and CRM tabs, and a link to its page. `first` is
/// what the conversation already says of it, shown while its page loads.
#[component]
fn ContactTabs(contact_id: i64, first: Option<ContactView>, conversation_id: i64) -> impl IntoView {
    let locale = use_locale();
    let workspace = expect_context::<Workspace>();
    let loaded = Resource::new(move || contact_id, load_contact);
    let detail = RwSignal::new(None::<ContactDetail>);
    let edit = Editing::new();
    let tab = RwSignal::new(Tab::Contact);
    // What the page says goes into the conversation too (its header names the contact).
    let show = move |fresh: ContactDetail| {
        let contact = fresh.contact.clone();
        detail.set(Some(fresh));
        let name = Some(contact.name()).filter(|n| !n.is_empty());
        let (id, named) = (contact.id, name.clone());
        workspace.update_thread(conversation_id, |thread| {
            thread.conversation.contact_name = named;
            thread.contact = Some(contact);
        });
        // The list's rows of the contact too, only when its name changed.
        let renamed = workspace.list.with_untracked(|list| {
            list.as_ref()
                .and_then(|l| l.as_ref().ok())
                .is_some_and(|inbox| {
                    inbox
                        .conversations
                        .iter()
                        .any(|c| c.contact_id == Some(id) && c.contact_name != name)
                })
        });
        if renamed {
            workspace.update_list(|inbox| {
                for row in inbox.conversations.iter_mut() {
                    if row.contact_id == Some(id) {
                        row.contact_name = name.clone();
                    }
                }
            });
        }
    };
    Effect::new(move |_| {
        if let Some(Ok(fresh)) = loaded.get() {
            show(fresh);
        }
    });
    // Another agent changed it: read it again (what is being typed here stays).
    Effect::new(move |first_run: Option<()>| {
        let (id, _) = workspace.contact_changed.get();
        if first_run.is_some() && (id == contact_id || id == 0) {
            loaded.refetch();
        }
    });
    let saved = Callback::new(show);
    let first = first.map(|c| c.name()).unwrap_or_default();
    let name = Signal::derive(move || {
        detail
            .with(|d| d.as_ref().map(|d| d.contact.name()))
            .unwrap_or_else(|| first.clone())
    });
    let tab_button = move |which: Tab, label: &'static str| {
        view! {
            <button
                type="button"
                role="tab"
                class="tab"
                id=format!("contact-tab-{}", if which == Tab::Contact { "contact" } else { "crm" })
                aria-selected=move || (tab.get() == which).to_string()
                aria-controls="contact-tab-panel"
                on:click=move |_| tab.set(which)
            >
                {label}
            </button>
        }
    };
    view! {
        <div class="contact-card">
            <span class="avatar contact large" aria-hidden="true">
                {move || initials(&name.get())}
            </span>
            <h3>{name}</h3>
            <div class="tabs contact-tabs" role="tablist">
                {tab_button(Tab::Contact, td_string!(locale, contacts.tab_contact))}
                {tab_button(Tab::Crm, td_string!(locale, contacts.tab_crm))}
            </div>
            <div class="contact-tab-panel" id="contact-tab-panel" role="tabpanel">
                <Transition fallback=|| view! { <div class="loading"></div> }>
                    {move || {
                        loaded
                            .get()
                            .map(|result| match result {
                                Err(err) => crate::kit::form::error_alert(locale, &err),
                                Ok(loaded) => {
                                    let shown = move || detail.get().unwrap_or_else(|| loaded.clone());
                                    view! {
                                        {move || match tab.get() {
                                            Tab::Contact => view! {
                                                <Duplicates detail=shown() saved />
                                                <ContactFields detail=shown() saved edit />
                                            }
                                                .into_any(),
                                            Tab::Crm => view! {
                                                <h4>{td_string!(locale, contacts.other_conversations)}</h4>
                                                <Conversations
                                                    conversations=shown().conversations
                                                    except=Some(conversation_id)
                                                />
                                            }
                                                .into_any(),
                                        }}
                                    }
                                        .into_any()
                                }
                            })
                    }}
                </Transition>
            </div>
            <a class="button small" href=format!("/contacts?c={contact_id}")>
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
