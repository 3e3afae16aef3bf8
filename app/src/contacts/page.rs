//! `/contacts`: the CRM's people. A list searched across names, numbers, email, company and
//! usernames, filtered and ordered, a page at a time as it scrolls; beside it on wide screens
//! (alone on phones) a contact's page, where a click on a field edits it (Enter saves, Escape
//! cancels) with the server's word next to it, its numbers, its conversations on every line and
//! the history of its changes. Everything the URL says (`?q=…&o=…&c=12`) is the page's state,
//! so the plain form works before the page is interactive.

use leptos::prelude::*;
use leptos_meta::Title;

use super::fields::{field_label, ContactFields, Conversations, Duplicates, Editing};
use super::import_sheet::{ImportProgress, NewImport};
use super::merge_sheet::MergeSheet;
use super::{
    add_contact, delete_contact, load_contact, load_contacts, ContactDetail, ContactEvent,
    ContactField, ContactList, ContactQuery, ContactRow, ContactSort,
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
pub(super) fn href(query: &ContactQuery, contact: Option<i64>) -> String {
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
    if query.duplicates {
        parts.push("dup=1".to_string());
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

/// The page; `changed` names each contact another screen changed (its id and a count that
/// moves with each change; id `0` after the live stream was down: any of them).
#[component]
pub fn ContactsPage(changed: Signal<(i64, u32)>) -> impl IntoView {
    let locale = use_locale();
    let query_map = use_query_map();
    let query = Memo::new(move |_| {
        let q = query_map.get();
        ContactQuery {
            search: q.get("q").filter(|s| !s.trim().is_empty()),
            owner: q.get("o").and_then(|o| o.parse().ok()),
            open_conversation: q.get("open").as_deref() == Some("1"),
            duplicates: q.get("dup").as_deref() == Some("1"),
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
    // `merge=ID`: the chosen contact compared with that one, to merge them.
    let merging = Memo::new(move |_| {
        query_map
            .get()
            .get("merge")
            .and_then(|c| c.parse::<i64>().ok())
    });
    // `import=new`: a file to import; `import=ID`: an import under way or done.
    let importing = Memo::new(move |_| query_map.get().get("import"));
    // Bumped when a contact changed: the list reads its first page again.
    let reload = RwSignal::new(0u32);
    let list = Resource::new(
        move || (query.get(), reload.get()),
        |(query, _)| load_contacts(query),
    );
    view! {
        <Title text=td_string!(locale, contacts.title) />
        <div
            class="contacts"
            class:has-contact=move || selected.get().is_some() || importing.get().is_some()
        >
            <ContactListPane query selected list reload changed />
            <section class="contact-pane" aria-label=td_string!(locale, contacts.panel_label)>
                {move || match (importing.get(), selected.get(), merging.get()) {
                    (Some(import), _, _) => match import.parse::<i64>() {
                        Ok(id) => view! { <ImportProgress import_id=id reload /> }.into_any(),
                        Err(_) => view! { <NewImport /> }.into_any(),
                    },
                    (None, Some(id), Some(other)) => view! { <MergeSheet kept_id=id other_id=other query reload /> }
                        .into_any(),
                    (None, Some(id), None) => view! { <ContactCard contact_id=id query reload changed /> }.into_any(),
                    (None, None, _) => view! { <p class="muted contact-pick">{td_string!(locale, contacts.pick)}</p> }
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
    changed: Signal<(i64, u32)>,
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
    // Another screen's change shows in the first page; pages read further down stay as they
    // were read (reading them again would lose the place).
    Effect::new(move |first: Option<()>| {
        changed.track();
        if first.is_some() && more.with_untracked(Vec::is_empty) {
            list.refetch();
        }
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
    let (go_owner, go_open, go_from, go_sort, go_dup, go_search) = (
        go.clone(),
        go.clone(),
        go.clone(),
        go.clone(),
        go.clone(),
        go,
    );
    view! {
        <section class="contact-list" aria-label=td_string!(locale, contacts.list_label)>
            <header class="list-header">
                <h1>{td_string!(locale, contacts.title)}</h1>
                <ToggleButton open=creating>{td_string!(locale, contacts.new)}</ToggleButton>
            </header>
            // Who keeps the CRM imports a file and exports what the list shows.
            <Transition fallback=|| ()>
                {move || {
                    first()
                        .filter(|l| l.may_manage)
                        .map(|_| {
                            let export = href(&query.get(), None).replacen("/contacts", "/api/contacts.csv", 1);
                            view! {
                                <div class="list-tools">
                                    <a class="link small" href="/contacts?import=new">{td_string!(locale, contacts.import)}</a>
                                    <a class="link small" href=export download="contactos.csv">
                                        {td_string!(locale, contacts.export)}
                                    </a>
                                </div>
                            }
                        })
                }}
            </Transition>
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
                <label class="checkbox small">
                    <input
                        type="checkbox"
                        name="dup"
                        value="1"
                        prop:checked=move || query.get().duplicates
                        on:change=move |ev| {
                            go_dup(ContactQuery {
                                duplicates: event_target_checked(&ev),
                                ..query.get_untracked()
                            })
                        }
                    />
                    {td_string!(locale, contacts.duplicates_filter)}
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
fn ContactCard(
    contact_id: i64,
    query: Memo<ContactQuery>,
    reload: RwSignal<u32>,
    changed: Signal<(i64, u32)>,
) -> impl IntoView {
    let locale = use_locale();
    let loaded = Resource::new(move || contact_id, load_contact);
    let edit = Editing::new();
    // Another screen changed it: read it again (what is being typed here stays).
    Effect::new(move |first: Option<()>| {
        let (id, _) = changed.get();
        if first.is_some() && (id == contact_id || id == 0) {
            loaded.refetch();
        }
    });
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
                            view! { {move || view! { <ContactSheet detail=shown() saved query reload edit /> }} }
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
    edit: Editing,
) -> impl IntoView {
    let locale = use_locale();
    let navigate = use_navigate();
    let offset = clock::viewer_offset_minutes();
    let contact = detail.contact.clone();
    let id = contact.id;
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
            <Duplicates detail=detail.clone() saved />
            <ContactFields detail=detail.clone() saved edit />
            <section class="contact-section" aria-labelledby="contact-conversations">
                <h3 id="contact-conversations">{td_string!(locale, contacts.conversations)}</h3>
                <Conversations conversations=detail.conversations.clone() except=None />
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
        "merged" => fill(
            td_string!(locale, contacts.event_merged),
            &[("name", event.old_value.clone().unwrap_or_default())],
        ),
        "merged_into" => fill(
            td_string!(locale, contacts.event_merged_into),
            &[("name", event.new_value.clone().unwrap_or_default())],
        ),
        "merge_undone" => fill(
            td_string!(locale, contacts.event_merge_undone),
            &[("name", event.old_value.clone().unwrap_or_default())],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_carries_the_whole_state() {
        let query = ContactQuery {
            search: Some("lucía p".into()),
            owner: Some(3),
            open_conversation: true,
            duplicates: true,
            created_from: Some("whatsapp".into()),
            sort: ContactSort::Activity,
            after_key: None,
            after_id: None,
        };
        assert_eq!(
            href(&query, Some(12)),
            "/contacts?q=luc%C3%ADa%20p&o=3&open=1&dup=1&from=whatsapp&sort=activity&c=12"
        );
        assert_eq!(href(&ContactQuery::default(), None), "/contacts");
        assert_eq!(initials("lucía", "pérez"), "LP");
    }
}
