//! The contacts' part of Settings: the organization's country for numbers typed without a
//! prefix, and the custom fields its contacts have.

use leptos::prelude::*;

use super::custom::{
    load_contact_fields, CustomField, DeleteContactField, FieldKind, SaveContactField,
};
use crate::i18n::*;
use crate::kit::browser::confirm;
use crate::kit::form::{action_error, error_text, ErrorNote};
use crate::kit::locale::use_locale;

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

/// A kind of custom field in words.
pub fn kind_label(locale: Locale, kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => td_string!(locale, contacts.kind_text),
        FieldKind::Number => td_string!(locale, contacts.kind_number),
        FieldKind::Date => td_string!(locale, contacts.kind_date),
        FieldKind::Choice => td_string!(locale, contacts.kind_choice),
        FieldKind::Choices => td_string!(locale, contacts.kind_choices),
        FieldKind::Id => td_string!(locale, contacts.kind_id),
    }
}

/// Settings: the custom fields of the organization's contacts, made, renamed, given their
/// choices and deleted.
#[component]
pub fn ContactFieldsSection() -> impl IntoView {
    let locale = use_locale();
    let save = ServerAction::<SaveContactField>::new();
    let delete = ServerAction::<DeleteContactField>::new();
    let save_error = action_error(save);
    let delete_error = action_error(delete);
    let fields = Resource::new(
        move || (save.version().get(), delete.version().get()),
        |_| load_contact_fields(),
    );
    let list = move || fields.get().and_then(Result::ok).unwrap_or_default();
    let kind = RwSignal::new(FieldKind::Text);
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            if let Some(form) = form.get_untracked() {
                form.reset();
            }
            kind.set(FieldKind::Text);
        }
    });
    view! {
        <section class="card" aria-labelledby="contact-fields-heading">
            <h2 id="contact-fields-heading">{td_string!(locale, contacts.fields_heading)}</h2>
            <p class="muted">{td_string!(locale, contacts.fields_intro)}</p>
            <Transition fallback=|| view! { <div class="loading"></div> }>
                <Show when=move || fields.get().and_then(Result::ok).is_some_and(|l| l.is_empty())>
                    <p class="muted">{td_string!(locale, contacts.fields_none)}</p>
                </Show>
                <ul class="custom-field-list">
                    <For each=list key=|f| (f.id, f.name.clone(), f.options.clone()) let:field>
                        <CustomFieldRow field save delete />
                    </For>
                </ul>
            </Transition>
            <ErrorNote error=delete_error />
            <ActionForm action=save node_ref=form attr:class="custom-field-form">
                <label for="custom-field-name">{td_string!(locale, contacts.field_name)}</label>
                <input id="custom-field-name" name="name" required maxlength="60" />
                <label for="custom-field-kind">{td_string!(locale, contacts.field_kind)}</label>
                <select
                    id="custom-field-kind"
                    name="kind"
                    on:change=move |ev| {
                        if let Some(picked) = FieldKind::from_key(&event_target_value(&ev)) {
                            kind.set(picked);
                        }
                    }
                >
                    {FieldKind::ALL
                        .into_iter()
                        .map(|k| view! { <option value=k.key()>{kind_label(locale, k)}</option> })
                        .collect_view()}
                </select>
                <Show when=move || kind.get().has_options()>
                    <label for="custom-field-options">{td_string!(locale, contacts.field_options)}</label>
                    <textarea id="custom-field-options" name="options" rows="4"></textarea>
                    <p class="hint">{td_string!(locale, contacts.field_options_hint)}</p>
                </Show>
                <button class="button small primary" type="submit">{td_string!(locale, contacts.field_add)}</button>
            </ActionForm>
            <ErrorNote error=save_error />
        </section>
    }
}

/// One custom field: its name, kind and Personalize name, a form to rename it and change its
/// choices, and its delete button.
#[component]
fn CustomFieldRow(
    field: CustomField,
    save: ServerAction<SaveContactField>,
    delete: ServerAction<DeleteContactField>,
) -> impl IntoView {
    let locale = use_locale();
    let id = field.id.to_string();
    let field_id = field.id;
    let delete_label = format!(
        "{} {}",
        td_string!(locale, contacts.field_delete),
        field.name
    );
    let name_id = format!("custom-field-{}-name", field.id);
    let options_id = format!("custom-field-{}-options", field.id);
    view! {
        <li class="custom-field">
            <div class="custom-field-head">
                <strong>{field.name.clone()}</strong>
                <span class="chip">{kind_label(locale, field.kind)}</span>
                <code>{format!("{{{}}}", field.key)}</code>
                {field.kind.has_options().then(|| view! { <span class="muted small">{field.options.join(", ")}</span> })}
            </div>
            <details>
                <summary>
                    {if field.kind.has_options() {
                        td_string!(locale, contacts.field_edit)
                    } else {
                        td_string!(locale, contacts.field_rename)
                    }}
                </summary>
                <ActionForm action=save attr:class="custom-field-form">
                    <input type="hidden" name="field_id" value=id.clone() />
                    <input type="hidden" name="kind" value=field.kind.key() />
                    <label for=name_id.clone()>{td_string!(locale, contacts.field_name)}</label>
                    <input id=name_id name="name" required maxlength="60" value=field.name.clone() />
                    {field
                        .kind
                        .has_options()
                        .then(|| {
                            view! {
                                <label for=options_id.clone()>{td_string!(locale, contacts.field_options)}</label>
                                <textarea id=options_id.clone() name="options" rows="4">
                                    {field.options.join("\n")}
                                </textarea>
                            }
                        })}
                    <button class="button small" type="submit">{td_string!(locale, contacts.save)}</button>
                </ActionForm>
            </details>
            <button
                class="button small danger"
                type="button"
                aria-label=delete_label
                on:click=move |_| {
                    if confirm(td_string!(locale, contacts.field_delete_confirm)) {
                        delete.dispatch(DeleteContactField { field_id });
                    }
                }
            >
                {td_string!(locale, contacts.field_delete)}
            </button>
        </li>
    }
}
