//! The merge screen (`/contacts?c=KEPT&merge=OTHER`): both contacts side by side, field by
//! field, with a choice wherever they differ (what the contact kept lacks comes from the other
//! unless someone chooses otherwise), and the one button that merges them.

use leptos::prelude::*;

use super::fields::field_label;
use super::merge::{custom_taken_by_default, merge_contacts, taken_by_default, value_of};
use super::{load_contact, ContactDetail, ContactField, ContactQuery};
use crate::error::AppError;
use crate::i18n::*;
use crate::kit::form::{error_text, fill, ErrorNote};
use crate::kit::locale::use_locale;
use crate::kit::nav::use_navigate;

/// One row of the comparison: its key in the merge's `taken` list, its label and each
/// contact's value as it reads.
struct Row {
    key: String,
    label: String,
    kept: Option<String>,
    other: Option<String>,
}

fn rows(locale: Locale, kept: &ContactDetail, other: &ContactDetail) -> Vec<Row> {
    let shown = |detail: &ContactDetail, field: ContactField| match field {
        ContactField::Owner => detail.contact.owner_name.clone(),
        ContactField::PrimaryPhone => detail.primary_display.clone(),
        ContactField::WhatsappPhone => detail.whatsapp_display.clone(),
        _ => value_of(&detail.contact, field),
    };
    let mut rows: Vec<Row> = ContactField::ALL
        .into_iter()
        .map(|field| Row {
            key: field.key().to_string(),
            label: field_label(locale, field).to_string(),
            kept: shown(kept, field),
            other: shown(other, field),
        })
        .collect();
    for value in &kept.custom {
        let theirs = other.custom.iter().find(|v| v.field.id == value.field.id);
        rows.push(Row {
            key: format!("custom:{}", value.field.id),
            label: value.field.name.clone(),
            kept: value.shown(),
            other: theirs.and_then(|v| v.shown()),
        });
    }
    rows
}

#[component]
pub fn MergeSheet(
    kept_id: i64,
    other_id: i64,
    query: Memo<ContactQuery>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let locale = use_locale();
    let kept = Resource::new(move || kept_id, load_contact);
    let other = Resource::new(move || other_id, load_contact);
    let back = move || super::page::href(&query.get(), Some(kept_id));
    view! {
        <a class="link" href=back>{td_string!(locale, contacts.merge_back)}</a>
        <Transition fallback=|| view! { <div class="loading"></div> }>
            {move || {
                let (kept, other) = (kept.get()?, other.get()?);
                Some(match (kept, other) {
                    (Ok(kept), Ok(other)) if kept.contact.id != other.contact.id => {
                        view! { <Comparison kept other query reload /> }.into_any()
                    }
                    (Ok(_), Ok(_)) => view! { <p class="muted">{td_string!(locale, contacts.already_merged)}</p> }
                        .into_any(),
                    (Err(err), _) | (_, Err(err)) => view! { <p class="form-error" role="alert">{error_text(locale, &err)}</p> }
                        .into_any(),
                })
            }}
        </Transition>
    }
}

#[component]
fn Comparison(
    kept: ContactDetail,
    other: ContactDetail,
    query: Memo<ContactQuery>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let locale = use_locale();
    let navigate = use_navigate();
    let (kept_id, other_id) = (kept.contact.id, other.contact.id);
    let mut defaults: Vec<String> = taken_by_default(&kept.contact, &other.contact)
        .into_iter()
        .map(|f| f.key().to_string())
        .collect();
    defaults.extend(
        custom_taken_by_default(&kept.custom, &other.custom)
            .into_iter()
            .map(|id| format!("custom:{id}")),
    );
    let taken = RwSignal::new(defaults);
    let error = RwSignal::new(None::<AppError>);
    let merge = Action::new(move |_: &()| {
        let taken = taken.get_untracked().join(",");
        async move { merge_contacts(kept_id, other_id, taken).await }
    });
    Effect::new(move |_| match merge.value().get() {
        Some(Ok(_)) => {
            reload.update(|n| *n += 1);
            navigate(&super::page::href(&query.get_untracked(), Some(kept_id)));
        }
        Some(Err(err)) => error.set(Some(err)),
        None => {}
    });
    let (kept_name, other_name) = (kept.contact.name(), other.contact.name());
    let moves = fill(
        td_string!(locale, contacts.merge_moves),
        &[("other", other_name.clone()), ("kept", kept_name.clone())],
    );
    let swap =
        super::page::href(&query.get_untracked(), Some(other_id)) + &format!("&merge={kept_id}");
    view! {
        <article class="contact-sheet merge-sheet">
            <header>
                <h2>{td_string!(locale, contacts.merge_title)}</h2>
                <p class="muted">{td_string!(locale, contacts.merge_intro)}</p>
                <a class="link small" href=swap>{td_string!(locale, contacts.merge_swap)}</a>
            </header>
            <table class="merge-table">
                <thead>
                    <tr>
                        <th scope="col">{td_string!(locale, contacts.merge_field)}</th>
                        <th scope="col">{format!("{kept_name} ({})", td_string!(locale, contacts.merge_kept))}</th>
                        <th scope="col">{other_name.clone()}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows(locale, &kept, &other)
                        .into_iter()
                        .map(|row| {
                            let choice = row.other.is_some() && row.other != row.kept;
                            let key = row.key.clone();
                            let name = format!("merge-{}", row.key);
                            let cell = move |side_other: bool, value: Option<String>| {
                                let text = value.unwrap_or_else(|| "—".to_string());
                                if !choice {
                                    return view! { <td>{text}</td> }.into_any();
                                }
                                let key = key.clone();
                                let checked = {
                                    let key = key.clone();
                                    move || taken.with(|t| t.contains(&key)) == side_other
                                };
                                view! {
                                    <td>
                                        <label class="merge-choice">
                                            <input
                                                type="radio"
                                                name=name.clone()
                                                prop:checked=checked
                                                on:change=move |_| {
                                                    taken.update(|t| {
                                                        t.retain(|k| *k != key);
                                                        if side_other {
                                                            t.push(key.clone());
                                                        }
                                                    });
                                                }
                                            />
                                            {text}
                                        </label>
                                    </td>
                                }
                                .into_any()
                            };
                            let kept_cell = cell(false, row.kept.clone());
                            let other_cell = cell(true, row.other.clone());
                            view! {
                                <tr>
                                    <th scope="row">{row.label}</th>
                                    {kept_cell}
                                    {other_cell}
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            <p class="hint">{moves}</p>
            <div class="form-actions">
                <button
                    type="button"
                    class="button primary"
                    disabled=move || merge.pending().get()
                    on:click=move |_| {
                        merge.dispatch(());
                    }
                >
                    {td_string!(locale, contacts.merge_button)}
                </button>
            </div>
            <ErrorNote error />
        </article>
    }
}
