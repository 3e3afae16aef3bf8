//! `/contacts`: the CRM's people. A list searched across names, numbers, email, company and
//! usernames, filtered and ordered, a page at a time as it scrolls; beside it on wide screens
//! (alone on phones) a contact's page, where a click on a field edits it (Enter saves, Escape
//! cancels) with the server's word next to it, its numbers, its conversations on every line and
//! the history of its changes. Everything the URL says (`?q=…&o=…&c=12`) is the page's state,
//! so the plain form works before the page is interactive.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{
    add_contact, add_contact_phone, delete_contact, load_contact, load_contacts,
    remove_contact_phone, update_contact, ContactDetail, ContactEvent, ContactField, ContactList,
    ContactQuery, ContactRow, ContactSort,
};
use crate::epoch::EpochMs;
use crate::error::AppError;
use crate::i18n::*;
use crate::kit::browser::confirm;
use crate::kit::clock;
use crate::kit::form::{error_text, fill, ErrorNote, ToggleButton};
use crate::kit::locale::use_locale;
use crate::kit::nav::{encode, use_navigate, use_query_map};

/// The page's address for a query and a chosen contact.
fn href(query: &ContactQuery, contact: Option<i64>) -> String {
    let mut parts = Vec::new();
    if let Some(search) = query.search.as_deref().filter(|s| !s.trim().is_empty()) {
        parts.push(format!("q={}", encode(search)));
    }
    if let Some(owner) = query.owner {
        parts.push(format!("o={owner}"));
    }
    if query.open_conversation {
        parts.push("open=1".to_string());
    }
    if let Some(from) = &query.created_from {
        parts.push(format!("from={}", encode(from)));
    }
    if query.sort == ContactSort::Activity {
        parts.push("sort=activity".to_string());
    }
    if let Some(id) = contact {
        parts.push(format!("c={id}"));
    }
    match parts.is_empty() {
        true => "/contacts".to_string(),
        false => format!("/contacts?{}", parts.join("&")),
    }
}

fn initials(first: &str, last: &str) -> String {
    first
        .chars()
        .next()
        .into_iter()
        .chain(last.chars().next())
        .flat_map(char::to_uppercase)
        .collect()
}

fn field_label(locale: Locale, field: ContactField) -> &'static str {
    match field {
        ContactField::FirstName => td_string!(locale, contacts.first_name),
        ContactField::LastName => td_string!(locale, contacts.last_name),
        ContactField::Email => td_string!(locale, contacts.email),
        ContactField::Company => td_string!(locale, contacts.company),
        ContactField::PrimaryPhone => td_string!(locale, contacts.primary_phone),
        ContactField::WhatsappPhone => td_string!(locale, contacts.whatsapp_phone),
        ContactField::FacebookId => td_string!(locale, contacts.facebook_id),
        ContactField::InstagramUsername => td_string!(locale, contacts.instagram_username),
        ContactField::Owner => td_string!(locale, contacts.owner),
    }
}

#[component]
pub fn ContactsPage() -> impl IntoView {
    let locale = use_locale();
    let query_map = use_query_map();
    let query = Memo::new(move |_| {
        let q = query_map.get();
        ContactQuery {
            search: q.get("q").filter(|s| !s.trim().is_empty()),
            owner: q.get("o").and_then(|o| o.parse().ok()),
            open_conversation: q.get("open").as_deref() == Some("1"),
            created_from: q.get("from").filter(|f| !f.is_empty()),
            sort: match q.get("sort").as_deref() {
                Some("activity") => ContactSort::Activity,
                _ => ContactSort::Name,
            },
            after_key: None,
            after_id: None,
        }
    });
    let selected = Memo::new(move |_| query_map.get().get("c").and_then(|c| c.parse::<i64>().ok()));
    // Bumped when a contact changed: the list reads its first page again.
    let reload = RwSignal::new(0u32);
    let list = Resource::new(
        move || (query.get(), reload.get()),
        |(query, _)| load_contacts(query),
    );
    view! {
        <Title text=td_string!(locale, contacts.title) />
        <div class="contacts" class:has-contact=move || selected.get().is_some()>
            <ContactListPane query selected list reload />
            <section class="contact-pane" aria-label=td_string!(locale, contacts.panel_label)>
                {move || match selected.get() {
                    Some(id) => view! { <ContactCard contact_id=id query reload /> }.into_any(),
                    None => view! { <p class="muted contact-pick">{td_string!(locale, contacts.pick)}</p> }
                        .into_any(),
                }}
            </section>
        </div>
    }
}

#[component]
fn ContactListPane(
    query: Memo<ContactQuery>,
    selected: Memo<Option<i64>>,
    list: Resource<Result<ContactList, AppError>>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let locale = use_locale();
    let navigate = use_navigate();
    let creating = RwSignal::new(false);
    // Pages after the first, read as the list scrolls; gone when the query changes.
    let more = RwSignal::new(Vec::<ContactRow>::new());
    let more_left = RwSignal::new(None::<bool>);
    let loading = RwSignal::new(false);
    let more_error = RwSignal::new(None::<AppError>);
    Effect::new(move |_| {
        query.track();
        reload.track();
        more.set(Vec::new());
        more_left.set(None);
    });
    let first = move || list.get().and_then(Result::ok);
    let rows = move || {
        let mut rows = first().map(|l| l.contacts).unwrap_or_default();
        rows.extend(more.get());
        rows
    };
    let has_more = move || {
        more_left
            .get()
            .unwrap_or_else(|| first().is_some_and(|l| l.has_more))
    };
    let load_more = move |_| {
        let Some(last) = rows().last().map(|r| r.cursor.clone()) else {
            return;
        };
        loading.set(true);
        let next = ContactQuery {
            after_key: Some(last.0),
            after_id: Some(last.1),
            ..query.get_untracked()
        };
        leptos::task::spawn_local(async move {
            match load_contacts(next).await {
                Ok(page) => {
                    more.try_update(|m| m.extend(page.contacts));
                    more_left.try_set(Some(page.has_more));
                    more_error.try_set(None);
                }
                Err(err) => {
                    more_error.try_set(Some(err));
                }
            }
            loading.try_set(false);
        });
    };
    let owners = move || first().map(|l| l.owners).unwrap_or_default();
    let search = RwSignal::new(query.get_untracked().search.unwrap_or_default());
    let go = {
        let navigate = navigate.clone();
        move |query: ContactQuery| navigate(&href(&query, None))
    };
    let (go_owner, go_open, go_from, go_sort, go_search) =
        (go.clone(), go.clone(), go.clone(), go.clone(), go);
    view! {
        <section class="contact-list" aria-label=td_string!(locale, contacts.list_label)>
            <header class="list-header">
                <h1>{td_string!(locale, contacts.title)}</h1>
                <ToggleButton open=creating>{td_string!(locale, contacts.new)}</ToggleButton>
            </header>
            <Show when=move || creating.get()>
                <NewContact query reload creating />
            </Show>
            <form
                class="filters contact-filters"
                role="search"
                method="get"
                action="/contacts"
                on:submit=move |ev| {
                    ev.prevent_default();
                    go_search(ContactQuery {
                        search: Some(search.get_untracked()),
                        ..query.get_untracked()
                    });
                }
            >
                <label class="visually-hidden" for="contact-search">
                    {td_string!(locale, contacts.search)}
                </label>
                <input
                    id="contact-search"
                    type="search"
                    name="q"
                    placeholder=td_string!(locale, contacts.search)
                    prop:value=move || search.get()
                    on:input=move |ev| search.set(event_target_value(&ev))
                />
                <label class="visually-hidden" for="contact-owner">
                    {td_string!(locale, contacts.owner_filter)}
                </label>
                <select
                    id="contact-owner"
                    name="o"
                    on:change=move |ev| {
                        go_owner(ContactQuery {
                            owner: event_target_value(&ev).parse().ok(),
                            ..query.get_untracked()
                        })
                    }
                >
                    <option value="">{td_string!(locale, contacts.all_owners)}</option>
                    // The team comes with the list: read where the page waits for it.
                    <Transition fallback=|| ()>
                        <For each=owners key=|(id, _)| *id let:owner>
                            <option
                                value=owner.0.to_string()
                                selected=move || query.get().owner == Some(owner.0)
                            >
                                {owner.1.clone()}
                            </option>
                        </For>
                    </Transition>
                </select>
                <label class="visually-hidden" for="contact-from">
                    {td_string!(locale, contacts.from_filter)}
                </label>
                <select
                    id="contact-from"
                    name="from"
                    on:change=move |ev| {
                        go_from(ContactQuery {
                            created_from: Some(event_target_value(&ev)).filter(|f| !f.is_empty()),
                            ..query.get_untracked()
                        })
                    }
                >
                    {[
                        ("", td_string!(locale, contacts.from_any)),
                        ("whatsapp", "WhatsApp"),
                        ("messenger", "Messenger"),
                        ("instagram", "Instagram"),
                        ("twilio", "Twilio"),
                        ("contacts", td_string!(locale, contacts.from_contacts)),
                        ("import", td_string!(locale, contacts.from_import)),
                    ]
                        .into_iter()
                        .map(|(value, label)| {
                            view! {
                                <option
                                    value=value
                                    selected=move || {
                                        query.get().created_from.as_deref().unwrap_or("") == value
                                    }
                                >
                                    {label}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <label class="visually-hidden" for="contact-sort">
                    {td_string!(locale, contacts.sort)}
                </label>
                <select
                    id="contact-sort"
                    name="sort"
                    on:change=move |ev| {
                        go_sort(ContactQuery {
                            sort: if event_target_value(&ev) == "activity" {
                                ContactSort::Activity
                            } else {
                                ContactSort::Name
                            },
                            ..query.get_untracked()
                        })
                    }
                >
                    <option value="name" selected=move || query.get().sort == ContactSort::Name>
                        {td_string!(locale, contacts.sort_name)}
                    </option>
                    <option value="activity" selected=move || query.get().sort == ContactSort::Activity>
                        {td_string!(locale, contacts.sort_activity)}
                    </option>
                </select>
                <label class="checkbox small">
                    <input
                        type="checkbox"
                        name="open"
                        value="1"
                        prop:checked=move || query.get().open_conversation
                        on:change=move |ev| {
                            go_open(ContactQuery {
                                open_conversation: event_target_checked(&ev),
                                ..query.get_untracked()
                            })
                        }
                    />
                    {td_string!(locale, contacts.open_filter)}
                </label>
                <button class="button small apply-filters" type="submit">
                    {td_string!(locale, contacts.apply)}
                </button>
            </form>
            <Transition fallback=|| view! { <div class="loading"></div> }>
                {move || {
                    list.get()
                        .map(|result| match result {
                            Err(err) => view! { <p class="form-error" role="alert">{error_text(locale, &err)}</p> }
                                .into_any(),
                            Ok(page) if page.contacts.is_empty() => {
                                let text = if query.get().search.is_some() {
                                    td_string!(locale, contacts.none_found)
                                } else {
                                    td_string!(locale, contacts.empty_body)
                                };
                                view! { <p class="muted empty-list">{text}</p> }.into_any()
                            }
                            Ok(_) => ().into_any(),
                        })
                }}
                <ul class="contact-rows">
                    <For each=rows key=|r| (r.id, r.cursor.clone(), r.phone.clone(), r.company.clone()) let:row>
                        {
                            let id = row.id;
                            let offset = clock::viewer_offset_minutes();
                            let sub = [row.company.clone(), row.phone.clone(), row.email.clone()]
                                .into_iter()
                                .flatten()
                                .collect::<Vec<_>>()
                                .join(" · ");
                            view! {
                                <li>
                                    <a
                                        class="contact-row"
                                        href=move || href(&query.get(), Some(id))
                                        aria-current=move || (selected.get() == Some(id)).then_some("true")
                                    >
                                        <span class="avatar">{initials(&row.first_name, &row.last_name)}</span>
                                        <span class="contact-row-text">
                                            <strong>{row.name()}</strong>
                                            <span class="muted small">{sub}</span>
                                        </span>
                                        <span class="muted small contact-row-when">
                                            {(row.last_activity_at > EpochMs(0))
                                                .then(|| clock::short_date(row.last_activity_at, offset))}
                                        </span>
                                    </a>
                                </li>
                            }
                        }
                    </For>
                </ul>
                <Show when=has_more>
                    <button
                        type="button"
                        class="button small load-more"
                        disabled=move || loading.get()
                        on:click=load_more
                    >
                        {td_string!(locale, contacts.more)}
                    </button>
                </Show>
                <ErrorNote error=more_error />
            </Transition>
        </section>
    }
}

/// Creating a contact from the Contacts page: a first name and a phone or an email.
#[component]
fn NewContact(
    query: Memo<ContactQuery>,
    reload: RwSignal<u32>,
    creating: RwSignal<bool>,
) -> impl IntoView {
    let locale = use_locale();
    let navigate = use_navigate();
    let (first, last, phone, email, company) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let error = RwSignal::new(None::<AppError>);
    let create = Action::new(move |_: &()| {
        let (f, l, p, e, c) = (
            first.get_untracked(),
            last.get_untracked(),
            phone.get_untracked(),
            email.get_untracked(),
            company.get_untracked(),
        );
        async move { add_contact(f, l, p, e, c).await }
    });
    Effect::new(move |_| {
        if let Some(result) = create.value().get() {
            match result {
                Ok(id) => {
                    error.set(None);
                    creating.set(false);
                    reload.update(|n| *n += 1);
                    navigate(&href(&query.get_untracked(), Some(id)));
                }
                Err(err) => error.set(Some(err)),
            }
        }
    });
    let input = move |id: &'static str,
                      label: &'static str,
                      value: RwSignal<String>,
                      kind: &'static str| {
        view! {
            <label for=id>{label}</label>
            <input
                id=id
                type=kind
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        }
    };
    view! {
        <form
            class="new-contact"
            on:submit=move |ev| {
                ev.prevent_default();
                create.dispatch(());
            }
        >
            <p class="hint">{td_string!(locale, contacts.identity_hint)}</p>
            {input("new-first-name", td_string!(locale, contacts.first_name), first, "text")}
            {input("new-last-name", td_string!(locale, contacts.last_name), last, "text")}
            {input("new-phone", td_string!(locale, contacts.phone), phone, "tel")}
            {input("new-email", td_string!(locale, contacts.email), email, "email")}
            {input("new-company", td_string!(locale, contacts.company), company, "text")}
            <ErrorNote error />
            <button class="button primary" type="submit" disabled=move || create.pending().get()>
                {td_string!(locale, contacts.create)}
            </button>
        </form>
    }
}

/// A contact's page.
#[component]
fn ContactCard(contact_id: i64, query: Memo<ContactQuery>, reload: RwSignal<u32>) -> impl IntoView {
    let locale = use_locale();
    let loaded = Resource::new(move || contact_id, load_contact);
    let detail = RwSignal::new(None::<ContactDetail>);
    Effect::new(move |_| {
        if let Some(Ok(found)) = loaded.get() {
            detail.set(Some(found));
        }
    });
    let saved = Callback::new(move |fresh: ContactDetail| {
        detail.set(Some(fresh));
        reload.update(|n| *n += 1);
    });
    view! {
        <a class="link back-to-list" href=move || href(&query.get(), None)>
            {td_string!(locale, contacts.back)}
        </a>
        <Transition fallback=|| view! { <div class="loading"></div> }>
            {move || {
                loaded
                    .get()
                    .map(|result| match result {
                        Err(err) => view! { <p class="form-error" role="alert">{error_text(locale, &err)}</p> }
                            .into_any(),
                        Ok(first) => {
                            let shown = move || detail.get().unwrap_or_else(|| first.clone());
                            view! { {move || view! { <ContactSheet detail=shown() saved query reload /> }} }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}

#[component]
fn ContactSheet(
    detail: ContactDetail,
    saved: Callback<ContactDetail>,
    query: Memo<ContactQuery>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let locale = use_locale();
    let navigate = use_navigate();
    let offset = clock::viewer_offset_minutes();
    let contact = detail.contact.clone();
    let id = contact.id;
    let editable = |field: ContactField, value: Option<String>, shown: Option<String>| {
        view! {
            <EditableField
                contact_id=id
                field
                value
                shown
                may_edit=detail.may_edit
                saved
            />
        }
    };
    let created = match &detail.created_by {
        Some(who) => fill(
            td_string!(locale, contacts.created_by),
            &[
                ("who", who.clone()),
                ("when", clock::date(detail.created_at, offset)),
            ],
        ),
        None => fill(
            td_string!(locale, contacts.created_on),
            &[("when", clock::date(detail.created_at, offset))],
        ),
    };
    let deleting = Action::new(move |_: &()| async move { delete_contact(id).await });
    let delete_error = RwSignal::new(None::<AppError>);
    Effect::new(move |_| {
        if let Some(result) = deleting.value().get() {
            match result {
                Ok(()) => {
                    reload.update(|n| *n += 1);
                    navigate(&href(&query.get_untracked(), None));
                }
                Err(err) => delete_error.set(Some(err)),
            }
        }
    });
    view! {
        <article class="contact-sheet">
            <header class="contact-head">
                <span class="avatar large">{initials(&contact.first_name, &contact.last_name)}</span>
                <div>
                    <h2>{contact.name()}</h2>
                    <p class="muted small">{created}</p>
                </div>
            </header>
            {detail.may_edit.then(|| view! { <p class="hint">{td_string!(locale, contacts.edit_hint)}</p> })}
            <div class="contact-fields">
                {editable(ContactField::FirstName, Some(contact.first_name.clone()), None)}
                {editable(
                    ContactField::LastName,
                    Some(contact.last_name.clone()).filter(|n| !n.is_empty()),
                    None,
                )}
                {editable(ContactField::PrimaryPhone, contact.primary_phone.clone(), detail.primary_display.clone())}
                {editable(ContactField::WhatsappPhone, contact.whatsapp_phone.clone(), detail.whatsapp_display.clone())}
                {editable(ContactField::Email, contact.email.clone(), None)}
                {editable(ContactField::Company, contact.company.clone(), None)}
                {editable(ContactField::FacebookId, contact.facebook_id.clone(), None)}
                {editable(ContactField::InstagramUsername, contact.instagram_username.clone(), None)}
                <OwnerField
                    contact_id=id
                    owner=contact.owner_id
                    owner_name=contact.owner_name.clone()
                    owners=detail.owners.clone()
                    may_manage=detail.may_manage
                    saved
                />
            </div>
            <Phones detail=detail.clone() saved />
            <section class="contact-section" aria-labelledby="contact-conversations">
                <h3 id="contact-conversations">{td_string!(locale, contacts.conversations)}</h3>
                {if detail.conversations.is_empty() {
                    view! { <p class="muted small">{td_string!(locale, contacts.no_conversations)}</p> }.into_any()
                } else {
                    view! {
                        <ul class="contact-conversations">
                            {detail
                                .conversations
                                .iter()
                                .map(|c| {
                                    let channel = match c.channel {
                                        channels::Channel::Whatsapp => "WhatsApp",
                                        channels::Channel::Messenger => "Messenger",
                                        channels::Channel::Instagram => "Instagram",
                                        channels::Channel::Twilio => "Twilio",
                                    };
                                    view! {
                                        <li>
                                            <a class="contact-conversation" href=format!("/inbox?c={}", c.id)>
                                                <span class=format!("channel channel-{}", c.channel.as_str())>{channel}</span>
                                                <span class="line-tag">{c.line_name.clone()}</span>
                                                <span class="muted small">
                                                    {if c.open {
                                                        td_string!(locale, contacts.open)
                                                    } else {
                                                        td_string!(locale, contacts.closed)
                                                    }}
                                                    " · "
                                                    {clock::short_date(c.last_message_at, offset)}
                                                </span>
                                                <span class="contact-conversation-preview">
                                                    {c.preview.clone().unwrap_or_default()}
                                                </span>
                                            </a>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                        .into_any()
                }}
            </section>
            <section class="contact-section" aria-labelledby="contact-history">
                <h3 id="contact-history">{td_string!(locale, contacts.history)}</h3>
                <ol class="contact-history">
                    {detail
                        .history
                        .iter()
                        .map(|event| {
                            view! {
                                <li>
                                    <span>{event_text(locale, event)}</span>
                                    <span class="muted small">
                                        {event.who.clone().unwrap_or_else(|| td_string!(locale, contacts.someone).to_string())}
                                        " · "
                                        {format!(
                                            "{} {}",
                                            clock::date(event.at, offset),
                                            clock::time_of_day(event.at, offset),
                                        )}
                                    </span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            </section>
            {detail
                .may_manage
                .then(|| {
                    view! {
                        <button
                            type="button"
                            class="button small danger"
                            on:click=move |_| {
                                if confirm(td_string!(locale, contacts.delete_confirm)) {
                                    deleting.dispatch(());
                                }
                            }
                        >
                            {td_string!(locale, contacts.delete)}
                        </button>
                        <ErrorNote error=delete_error />
                    }
                })}
        </article>
    }
}

/// The field an entry of the history is about, as the page names it.
fn field_name(locale: Locale, event: &ContactEvent) -> String {
    event
        .field
        .as_deref()
        .and_then(ContactField::from_key)
        .map(|f| field_label(locale, f).to_string())
        .unwrap_or_else(|| event.field.clone().unwrap_or_default())
}

/// One line of a contact's history.
fn event_text(locale: Locale, event: &ContactEvent) -> String {
    let empty = || td_string!(locale, contacts.empty_value).to_string();
    match event.kind.as_str() {
        "created" => td_string!(locale, contacts.event_created).to_string(),
        "phone_added" => fill(
            td_string!(locale, contacts.event_phone_added),
            &[("new", event.new_value.clone().unwrap_or_default())],
        ),
        "learned" => fill(
            td_string!(locale, contacts.event_learned),
            &[
                ("field", field_name(locale, event)),
                ("new", event.new_value.clone().unwrap_or_default()),
            ],
        ),
        "phone_removed" => fill(
            td_string!(locale, contacts.event_phone_removed),
            &[("old", event.old_value.clone().unwrap_or_default())],
        ),
        _ => {
            let field = field_name(locale, event);
            fill(
                td_string!(locale, contacts.event_changed),
                &[
                    ("field", field),
                    ("old", event.old_value.clone().unwrap_or_else(empty)),
                    ("new", event.new_value.clone().unwrap_or_else(empty)),
                ],
            )
        }
    }
}

/// A field that turns into an input when clicked: Enter saves it, Escape leaves it as it was;
/// the server's word on a refused value stays next to it.
#[component]
fn EditableField(
    contact_id: i64,
    field: ContactField,
    /// What is stored, to edit.
    value: Option<String>,
    /// How it reads, when that differs from what is stored (a number in its country's format).
    shown: Option<String>,
    may_edit: bool,
    saved: Callback<ContactDetail>,
) -> impl IntoView {
    let locale = use_locale();
    let label = field_label(locale, field);
    let editing = RwSignal::new(false);
    let draft = RwSignal::new(value.clone().unwrap_or_default());
    let error = RwSignal::new(None::<AppError>);
    let save = Action::new(move |text: &String| {
        let text = text.clone();
        async move { update_contact(contact_id, field.key().to_string(), text).await }
    });
    Effect::new(move |_| {
        if let Some(result) = save.value().get() {
            match result {
                Ok(fresh) => {
                    error.set(None);
                    editing.set(false);
                    saved.run(fresh);
                }
                Err(err) => error.set(Some(err)),
            }
        }
    });
    let input_id = format!("contact-{}", field.key());
    let error_id = format!("contact-{}-error", field.key());
    let reading = shown.or(value.clone());
    let original = value.unwrap_or_default();
    let cancel = move || {
        draft.set(original.clone());
        error.set(None);
        editing.set(false);
    };
    let cancel_key = cancel.clone();
    view! {
        <div class="contact-field">
            <label class="field-label" for=input_id.clone()>{label}</label>
            <Show
                when=move || editing.get()
                fallback={
                    let reading = reading.clone();
                    let input_id = input_id.clone();
                    move || {
                        let empty = reading.is_none();
                        let text = reading
                            .clone()
                            .unwrap_or_else(|| {
                                if may_edit {
                                    td_string!(locale, contacts.add_value).to_string()
                                } else {
                                    "—".to_string()
                                }
                            });
                        let input_id = input_id.clone();
                        view! {
                            <button
                                type="button"
                                class="field-value"
                                class:empty=empty
                                id=input_id
                                disabled=!may_edit
                                on:click=move |_| {
                                    editing.set(true);
                                    crate::kit::browser::focus(&format!("contact-{}", field.key()));
                                }
                            >
                                {text}
                            </button>
                        }
                    }
                }
            >
                {
                    let cancel_key = cancel_key.clone();
                    let cancel = cancel.clone();
                    view! {
                        <div class="field-edit">
                            <input
                                id=format!("contact-{}", field.key())
                                prop:value=move || draft.get()
                                aria-invalid=move || error.with(Option::is_some).then_some("true")
                                aria-describedby=error_id.clone()
                                on:input=move |ev| draft.set(event_target_value(&ev))
                                on:keydown={
                                    let cancel_key = cancel_key.clone();
                                    move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
                                        "Enter" => {
                                            ev.prevent_default();
                                            save.dispatch(draft.get_untracked());
                                        }
                                        "Escape" => cancel_key(),
                                        _ => {}
                                    }
                                }
                            />
                            <button
                                type="button"
                                class="button small primary"
                                disabled=move || save.pending().get()
                                on:click=move |_| {
                                    save.dispatch(draft.get_untracked());
                                }
                            >
                                {td_string!(locale, contacts.save)}
                            </button>
                            <button type="button" class="button small" on:click=move |_| cancel()>
                                {td_string!(locale, contacts.cancel)}
                            </button>
                        </div>
                    }
                }
            </Show>
            {move || {
                error
                    .get()
                    .map(|err| {
                        view! {
                            <p class="field-error" id=format!("contact-{}-error", field.key()) role="alert">
                                {error_text(locale, &err)}
                            </p>
                        }
                    })
            }}
        </div>
    }
}

/// Who the contact belongs to: a choice of the team for those who keep the CRM.
#[component]
fn OwnerField(
    contact_id: i64,
    owner: Option<i64>,
    owner_name: Option<String>,
    owners: Vec<(i64, String)>,
    may_manage: bool,
    saved: Callback<ContactDetail>,
) -> impl IntoView {
    let locale = use_locale();
    let error = RwSignal::new(None::<AppError>);
    let save = Action::new(move |owner: &String| {
        let owner = owner.clone();
        async move { update_contact(contact_id, ContactField::Owner.key().to_string(), owner).await }
    });
    Effect::new(move |_| {
        if let Some(result) = save.value().get() {
            match result {
                Ok(fresh) => saved.run(fresh),
                Err(err) => error.set(Some(err)),
            }
        }
    });
    view! {
        <div class="contact-field">
            <label class="field-label" for="contact-owner-choice">{td_string!(locale, contacts.owner)}</label>
            {if may_manage {
                view! {
                    <select
                        id="contact-owner-choice"
                        on:change=move |ev| {
                            save.dispatch(event_target_value(&ev));
                        }
                    >
                        {owner.is_none().then(|| view! { <option value="" selected>"—"</option> })}
                        {owners
                            .into_iter()
                            .map(|(id, name)| {
                                view! { <option value=id.to_string() selected=owner == Some(id)>{name}</option> }
                            })
                            .collect_view()}
                    </select>
                }
                    .into_any()
            } else {
                view! { <span class="field-value" id="contact-owner-choice">{owner_name.unwrap_or_else(|| "—".into())}</span> }
                    .into_any()
            }}
            <ErrorNote error />
        </div>
    }
}

/// The contact's other numbers, each with its label; added and removed in place.
#[component]
fn Phones(detail: ContactDetail, saved: Callback<ContactDetail>) -> impl IntoView {
    let locale = use_locale();
    let contact_id = detail.contact.id;
    let number = RwSignal::new(String::new());
    let label = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let add = Action::new(move |_: &()| {
        let (phone, text) = (number.get_untracked(), label.get_untracked());
        async move { add_contact_phone(contact_id, phone, Some(text)).await }
    });
    let remove = Action::new(move |phone_id: &i64| {
        let phone_id = *phone_id;
        async move { remove_contact_phone(contact_id, phone_id).await }
    });
    Effect::new(move |_| {
        if let Some(result) = add.value().get() {
            match result {
                Ok(fresh) => {
                    number.set(String::new());
                    label.set(String::new());
                    error.set(None);
                    saved.run(fresh);
                }
                Err(err) => error.set(Some(err)),
            }
        }
    });
    Effect::new(move |_| {
        if let Some(result) = remove.value().get() {
            match result {
                Ok(fresh) => saved.run(fresh),
                Err(err) => error.set(Some(err)),
            }
        }
    });
    let may_edit = detail.may_edit;
    view! {
        <section class="contact-section" aria-labelledby="contact-phones">
            <h3 id="contact-phones">{td_string!(locale, contacts.other_phones)}</h3>
            <ul class="contact-phones">
                {detail
                    .phones
                    .into_iter()
                    .map(|phone| {
                        let id = phone.id;
                        view! {
                            <li>
                                <span>{phone.display.clone()}</span>
                                {phone.label.clone().map(|l| view! { <span class="chip">{l}</span> })}
                                {may_edit
                                    .then(|| {
                                        view! {
                                            <button
                                                type="button"
                                                class="link-button small"
                                                on:click=move |_| {
                                                    remove.dispatch(id);
                                                }
                                            >
                                                {td_string!(locale, contacts.remove_phone)}
                                            </button>
                                        }
                                    })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            {may_edit
                .then(|| {
                    view! {
                        <form
                            class="add-phone"
                            on:submit=move |ev| {
                                ev.prevent_default();
                                add.dispatch(());
                            }
                        >
                            <label class="visually-hidden" for="add-phone-number">{td_string!(locale, contacts.phone)}</label>
                            <input
                                id="add-phone-number"
                                type="tel"
                                placeholder=td_string!(locale, contacts.phone)
                                prop:value=move || number.get()
                                on:input=move |ev| number.set(event_target_value(&ev))
                            />
                            <label class="visually-hidden" for="add-phone-label">{td_string!(locale, contacts.phone_label)}</label>
                            <input
                                id="add-phone-label"
                                placeholder=td_string!(locale, contacts.phone_label)
                                prop:value=move || label.get()
                                on:input=move |ev| label.set(event_target_value(&ev))
                            />
                            <button class="button small" type="submit" disabled=move || add.pending().get()>
                                {td_string!(locale, contacts.add_phone)}
                            </button>
                        </form>
                    }
                })}
            <ErrorNote error />
        </section>
    }
}

/// The countries offered for numbers typed without a prefix: Latin America first, then the
/// countries its teams most often sell to.
const COUNTRIES: &[(&str, &str)] = &[
    ("MX", "+52"),
    ("AR", "+54"),
    ("BO", "+591"),
    ("CL", "+56"),
    ("CO", "+57"),
    ("CR", "+506"),
    ("CU", "+53"),
    ("DO", "+1"),
    ("EC", "+593"),
    ("SV", "+503"),
    ("GT", "+502"),
    ("HN", "+504"),
    ("NI", "+505"),
    ("PA", "+507"),
    ("PY", "+595"),
    ("PE", "+51"),
    ("PR", "+1"),
    ("UY", "+598"),
    ("VE", "+58"),
    ("BR", "+55"),
    ("US", "+1"),
    ("CA", "+1"),
    ("ES", "+34"),
];

/// Settings: the organization's country for numbers typed without a prefix.
#[component]
pub fn CountrySection() -> impl IntoView {
    let locale = use_locale();
    let save = ServerAction::<super::SaveDefaultCountry>::new();
    let current = Resource::new(
        move || save.version().get(),
        |_| super::load_default_country(),
    );
    view! {
        <section class="card" aria-labelledby="organization-heading">
            <h2 id="organization-heading">{td_string!(locale, contacts.organization_heading)}</h2>
            <ActionForm action=save attr:class="country-form">
                <label for="default-country">{td_string!(locale, contacts.default_country)}</label>
                <Transition fallback=|| ()>
                    {move || {
                        let chosen = current.get().and_then(Result::ok).flatten().unwrap_or_default();
                        view! {
                            <select id="default-country" name="country">
                                <option value="" selected=chosen.is_empty()>
                                    {td_string!(locale, contacts.no_country)}
                                </option>
                                {COUNTRIES
                                    .iter()
                                    .map(|(code, prefix)| {
                                        view! {
                                            <option value=*code selected=chosen == *code>
                                                {format!("{code} ({prefix})")}
                                            </option>
                                        }
                                    })
                                    .collect_view()}
                            </select>
                        }
                    }}
                </Transition>
                <p class="hint">{td_string!(locale, contacts.default_country_hint)}</p>
                <button class="button small" type="submit">{td_string!(locale, contacts.save)}</button>
            </ActionForm>
            {move || {
                save.value()
                    .get()
                    .map(|result| match result {
                        Ok(()) => view! { <p class="notice" role="status">{td_string!(locale, contacts.country_saved)}</p> }
                            .into_any(),
                        Err(err) => view! { <p class="form-error" role="alert">{error_text(locale, &err)}</p> }
                            .into_any(),
                    })
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_carries_the_whole_state() {
        let query = ContactQuery {
            search: Some("lucía p".into()),
            owner: Some(3),
            open_conversation: true,
            created_from: Some("whatsapp".into()),
            sort: ContactSort::Activity,
            after_key: None,
            after_id: None,
        };
        assert_eq!(
            href(&query, Some(12)),
            "/contacts?q=luc%C3%ADa%20p&o=3&open=1&from=whatsapp&sort=activity&c=12"
        );
        assert_eq!(href(&ContactQuery::default(), None), "/contacts");
        assert_eq!(initials("lucía", "pérez"), "LP");
    }
}
