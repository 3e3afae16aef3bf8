//! A contact's fields as its page and the inbox's panel show them: each a click away from an
//! input (Enter saves, Escape leaves it as it was, the server's word on a refused value next
//! to it), the owner, the custom fields, the other numbers, and the contact's conversations.

use leptos::prelude::*;

use super::custom::{set_contact_value, CustomField, CustomValue, FieldKind};
use super::duplicates::{dismiss_duplicate, Reason};
use super::merge::undo_merge;
use super::{
    add_contact_phone, remove_contact_phone, update_contact, ContactConversation, ContactDetail,
    ContactField,
};
use crate::error::AppError;
use crate::i18n::*;
use crate::kit::clock;
use crate::kit::form::{error_text, fill, ErrorNote};
use crate::kit::locale::use_locale;

pub fn field_label(locale: Locale, field: ContactField) -> &'static str {
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

/// What a field of the page edits: a built-in field or a custom one.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Builtin(ContactField),
    Custom(CustomField),
}

impl Target {
    /// Its name in element ids (`contact-first_name`, `contact-custom-3`).
    fn key(&self) -> String {
        match self {
            Target::Builtin(field) => field.key().to_string(),
            Target::Custom(field) => format!("custom-{}", field.id),
        }
    }

    fn label(&self, locale: Locale) -> String {
        match self {
            Target::Builtin(field) => field_label(locale, *field).to_string(),
            Target::Custom(field) => field.name.clone(),
        }
    }

    fn kind(&self) -> FieldKind {
        match self {
            Target::Builtin(_) => FieldKind::Text,
            Target::Custom(field) => field.kind,
        }
    }
}

/// The field being edited on a contact's page, what is typed in it and the server's word on
/// it: kept above the page, so that a change another agent made, shown as it arrives, leaves
/// an edit in progress as it was.
#[derive(Clone, Copy)]
pub struct Editing {
    open: RwSignal<Option<String>>,
    draft: RwSignal<String>,
    error: RwSignal<Option<AppError>>,
}

impl Editing {
    pub fn new() -> Editing {
        Editing {
            open: RwSignal::new(None),
            draft: RwSignal::new(String::new()),
            error: RwSignal::new(None),
        }
    }

    fn close(self) {
        self.open.set(None);
        self.error.set(None);
    }
}

impl Default for Editing {
    fn default() -> Self {
        Editing::new()
    }
}

/// Every field of a contact, its custom fields and its other numbers, editable where the
/// caller may.
#[component]
pub fn ContactFields(
    detail: ContactDetail,
    saved: Callback<ContactDetail>,
    edit: Editing,
) -> impl IntoView {
    let locale = use_locale();
    let contact = detail.contact.clone();
    let id = contact.id;
    let may_edit = detail.may_edit;
    let editable = move |field: ContactField, value: Option<String>, shown: Option<String>| {
        view! {
            <EditableField
                contact_id=id
                target=Target::Builtin(field)
                value
                shown
                may_edit
                saved
                edit
            />
        }
    };
    let custom = detail.custom.clone();
    view! {
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
        {(!custom.is_empty())
            .then(|| {
                view! {
                    <section class="contact-section" aria-labelledby="contact-custom">
                        <h3 id="contact-custom">{td_string!(locale, contacts.custom_fields)}</h3>
                        <div class="contact-fields">
                            {custom
                                .into_iter()
                                .map(|value: CustomValue| {
                                    let shown = value.shown();
                                    view! {
                                        <EditableField
                                            contact_id=id
                                            target=Target::Custom(value.field)
                                            value=value.value
                                            shown
                                            may_edit
                                            saved
                                            edit
                                        />
                                    }
                                })
                                .collect_view()}
                        </div>
                    </section>
                }
            })}
        <Phones detail=detail.clone() saved />
    }
}

/// "Possible duplicate of …" for each contact that may be this one, with a way to compare and
/// merge them or to say they are two people (for those who keep the CRM); and the merges into
/// it that can still be undone.
#[component]
pub fn Duplicates(detail: ContactDetail, saved: Callback<ContactDetail>) -> impl IntoView {
    let locale = use_locale();
    let offset = clock::viewer_offset_minutes();
    let id = detail.contact.id;
    let may_manage = detail.may_manage;
    let error = RwSignal::new(None::<AppError>);
    let dismiss = Action::new(move |other: &i64| {
        let other = *other;
        async move { dismiss_duplicate(id, other).await.map(|()| other) }
    });
    let undo = Action::new(move |merge: &i64| {
        let merge = *merge;
        async move { undo_merge(merge).await }
    });
    let shown = StoredValue::new(detail.clone());
    Effect::new(move |_| match dismiss.value().get() {
        Some(Ok(other)) => {
            let mut fresh = shown.get_value();
            fresh.duplicates.retain(|d| d.id != other);
            saved.run(fresh);
        }
        Some(Err(err)) => error.set(Some(err)),
        None => {}
    });
    Effect::new(move |_| match undo.value().get() {
        Some(Ok(fresh)) => saved.run(fresh),
        Some(Err(err)) => error.set(Some(err)),
        None => {}
    });
    if detail.duplicates.is_empty() && detail.merges.is_empty() {
        return ().into_any();
    }
    view! {
        <section class="contact-notices" aria-label=td_string!(locale, contacts.duplicates_label)>
            {detail
                .duplicates
                .into_iter()
                .map(|duplicate| {
                    let why = match duplicate.reason {
                        Reason::Phone => td_string!(locale, contacts.same_phone),
                        Reason::Email => td_string!(locale, contacts.same_email),
                        Reason::Name => td_string!(locale, contacts.same_name),
                    };
                    let other = duplicate.id;
                    view! {
                        <div class="notice duplicate" role="note">
                            <p>
                                {td_string!(locale, contacts.possible_duplicate)} " "
                                <a href=format!("/contacts?c={other}")>{duplicate.name.clone()}</a>
                                " (" {why} ")"
                            </p>
                            {may_manage
                                .then(|| {
                                    view! {
                                        <div class="notice-actions">
                                            <a class="button small primary" href=format!("/contacts?c={id}&merge={other}")>
                                                {td_string!(locale, contacts.compare_merge)}
                                            </a>
                                            <button
                                                type="button"
                                                class="button small"
                                                disabled=move || dismiss.pending().get()
                                                on:click=move |_| {
                                                    dismiss.dispatch(other);
                                                }
                                            >
                                                {td_string!(locale, contacts.not_duplicate)}
                                            </button>
                                        </div>
                                    }
                                })}
                        </div>
                    }
                })
                .collect_view()}
            {detail
                .merges
                .into_iter()
                .map(|merge| {
                    let text = fill(
                        td_string!(locale, contacts.merged_here),
                        &[
                            ("name", merge.merged_name.clone()),
                            ("when", format!("{} {}", clock::date(merge.at, offset), clock::time_of_day(merge.at, offset))),
                        ],
                    );
                    let merge_id = merge.id;
                    view! {
                        <div class="notice merged" role="note">
                            <p>{text}</p>
                            <button
                                type="button"
                                class="button small"
                                disabled=move || undo.pending().get()
                                on:click=move |_| {
                                    undo.dispatch(merge_id);
                                }
                            >
                                {td_string!(locale, contacts.undo_merge)}
                            </button>
                        </div>
                    }
                })
                .collect_view()}
            <ErrorNote error />
        </section>
    }
    .into_any()
}

/// The contact's conversations (but `except`, the one open beside it), newest first, each
/// opening the inbox at it.
#[component]
pub fn Conversations(
    conversations: Vec<ContactConversation>,
    except: Option<i64>,
) -> impl IntoView {
    let locale = use_locale();
    let offset = clock::viewer_offset_minutes();
    let shown: Vec<_> = conversations
        .into_iter()
        .filter(|c| Some(c.id) != except)
        .collect();
    if shown.is_empty() {
        let empty = match except {
            Some(_) => td_string!(locale, contacts.no_other_conversations),
            None => td_string!(locale, contacts.no_conversations),
        };
        return view! { <p class="muted small">{empty}</p> }.into_any();
    }
    view! {
        <ul class="contact-conversations">
            {shown
                .into_iter()
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
}

/// A field that turns into an input when clicked: Enter saves it, Escape leaves it as it was;
/// the server's word on a refused value stays next to it. A date field edits with a date
/// input, a choice with a list, several choices with boxes to tick.
#[component]
fn EditableField(
    contact_id: i64,
    target: Target,
    /// What is stored, to edit.
    value: Option<String>,
    /// How it reads, when that differs from what is stored (a number in its country's format).
    shown: Option<String>,
    may_edit: bool,
    saved: Callback<ContactDetail>,
    edit: Editing,
) -> impl IntoView {
    let locale = use_locale();
    let key = target.key();
    let label = target.label(locale);
    let kind = target.kind();
    let editing = {
        let key = key.clone();
        move || edit.open.with(|open| open.as_deref() == Some(key.as_str()))
    };
    let (draft, all_errors) = (edit.draft, edit.error);
    let error = {
        let editing = editing.clone();
        Signal::derive(move || all_errors.get().filter(|_| editing()))
    };
    // What the server answers is applied by the save itself, not by an effect of this field:
    // the contact's fresh copy, arriving through the stream first, may already have redrawn
    // the page and with it this field, and the field being edited is kept above the page.
    let save = {
        let (target, key) = (target.clone(), key.clone());
        Action::new(move |text: &String| {
            let (text, target, key) = (text.clone(), target.clone(), key.clone());
            async move {
                let result = match target {
                    Target::Builtin(field) => {
                        update_contact(contact_id, field.key().to_string(), text).await
                    }
                    Target::Custom(field) => set_contact_value(contact_id, field.id, text).await,
                };
                let still_open = edit
                    .open
                    .try_with_untracked(|open| open.as_deref() == Some(key.as_str()))
                    .unwrap_or(false);
                match result {
                    Ok(fresh) => {
                        if still_open {
                            edit.close();
                        }
                        saved.try_run(fresh);
                    }
                    Err(err) if still_open => {
                        all_errors.try_set(Some(err));
                    }
                    Err(_) => {}
                }
            }
        })
    };
    let input_id = format!("contact-{key}");
    let error_id = format!("contact-{key}-error");
    let reading = shown.or(value.clone());
    let original = value.unwrap_or_default();
    let options = match &target {
        Target::Custom(field) => field.options.clone(),
        Target::Builtin(_) => Vec::new(),
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Enter" if kind != FieldKind::Choices => {
            ev.prevent_default();
            save.dispatch(draft.get_untracked());
        }
        "Escape" => edit.close(),
        _ => {}
    };
    let input = {
        let (input_id, error_id, legend) = (input_id.clone(), error_id.clone(), label.clone());
        move || {
            let invalid = move || error.with(Option::is_some).then_some("true");
            match kind {
                FieldKind::Choice => view! {
                    <select
                        id=input_id.clone()
                        aria-invalid=invalid
                        aria-describedby=error_id.clone()
                        on:change=move |ev| draft.set(event_target_value(&ev))
                        on:keydown=on_key
                    >
                        <option value="" selected=move || draft.with(String::is_empty)>"—"</option>
                        {options
                            .iter()
                            .map(|option| {
                                let (option, value) = (option.clone(), option.clone());
                                view! {
                                    <option
                                        value=value
                                        selected=move || draft.with(|d| *d == option)
                                    >
                                        {option.clone()}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                }
                .into_any(),
                FieldKind::Choices => view! {
                    <fieldset
                        class="choices"
                        id=input_id.clone()
                        aria-describedby=error_id.clone()
                        on:keydown=on_key
                    >
                        <legend class="visually-hidden">{legend.clone()}</legend>
                        {options
                            .iter()
                            .map(|option| {
                                let option = option.clone();
                                let (ticked, toggled) = (option.clone(), option.clone());
                                view! {
                                    <label class="checkbox">
                                        <input
                                            type="checkbox"
                                            prop:checked=move || draft.with(|d| d.lines().any(|l| l == ticked))
                                            on:change=move |_| {
                                                draft.update(|d| *d = toggle_line(d, &toggled));
                                            }
                                        />
                                        {option}
                                    </label>
                                }
                            })
                            .collect_view()}
                    </fieldset>
                }
                .into_any(),
                _ => {
                    let (kind_attr, mode) = match kind {
                        FieldKind::Date => ("date", None),
                        FieldKind::Number => ("text", Some("decimal")),
                        _ => ("text", None),
                    };
                    view! {
                        <input
                            id=input_id.clone()
                            type=kind_attr
                            inputmode=mode
                            prop:value=move || draft.get()
                            aria-invalid=invalid
                            aria-describedby=error_id.clone()
                            on:input=move |ev| draft.set(event_target_value(&ev))
                            on:keydown=on_key
                        />
                    }
                    .into_any()
                }
            }
        }
    };
    let open = {
        let key = key.clone();
        move || {
            draft.set(original.clone());
            all_errors.set(None);
            edit.open.set(Some(key.clone()));
            crate::kit::browser::focus(&format!("contact-{key}"));
        }
    };
    view! {
        <div class="contact-field">
            <label class="field-label" for=input_id.clone()>{label}</label>
            <Show
                when=editing.clone()
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
                        let open = open.clone();
                        view! {
                            <button
                                type="button"
                                class="field-value"
                                class:empty=empty
                                id=input_id.clone()
                                disabled=!may_edit
                                on:click=move |_| open()
                            >
                                {text}
                            </button>
                        }
                    }
                }
            >
                <div class="field-edit">
                    {input.clone()}
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
                    <button type="button" class="button small" on:click=move |_| edit.close()>
                        {td_string!(locale, contacts.cancel)}
                    </button>
                </div>
            </Show>
            {
                let error_id = error_id.clone();
                move || {
                    error
                        .get()
                        .map(|err| {
                            view! {
                                <p class="field-error" id=error_id.clone() role="alert">
                                    {error_text(locale, &err)}
                                </p>
                            }
                        })
                }
            }
        </div>
    }
}

/// Several choices kept one per line: `option` added when missing, removed when there.
fn toggle_line(lines: &str, option: &str) -> String {
    let mut picked: Vec<&str> = lines.lines().filter(|l| !l.is_empty()).collect();
    match picked.iter().position(|l| *l == option) {
        Some(at) => {
            picked.remove(at);
        }
        None => picked.push(option),
    }
    picked.join("\n")
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

#[cfg(test)]
mod tests {
    use super::toggle_line;

    #[test]
    fn ticking_a_choice_adds_or_removes_its_line() {
        assert_eq!(toggle_line("", "Oro"), "Oro");
        assert_eq!(toggle_line("Oro", "Plata"), "Oro\nPlata");
        assert_eq!(toggle_line("Oro\nPlata", "Oro"), "Plata");
    }
}
