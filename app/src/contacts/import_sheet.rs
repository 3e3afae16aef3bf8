//! Importing a CSV file from the Contacts page (`/contacts?import=new`): the file sent, its
//! columns shown with their first values and the field each goes to (guessed from the
//! headers), a check of every row before anything is written (rows refused and why, rows
//! matching a contact already there), then the import in the background
//! (`/contacts?import=ID`) with its progress and the report of every row refused.

use leptos::prelude::*;

use super::import::{
    check_import, load_import, start_import, ImportCheck, ImportPreview, ImportView, Matched,
    OnDuplicate, RowProblem, TARGETS,
};
use super::ContactField;
use crate::error::AppError;
use crate::i18n::*;
use crate::kit::form::{error_text, fill, ErrorNote};
use crate::kit::locale::use_locale;
use crate::kit::nav::{encode, use_navigate};

/// A column's field in words.
fn target_label(locale: Locale, key: &str, preview: &ImportPreview) -> String {
    let field = |f: ContactField| super::fields::field_label(locale, f).to_string();
    match key {
        "first_name" => field(ContactField::FirstName),
        "last_name" => field(ContactField::LastName),
        "name" => td_string!(locale, contacts.full_name).to_string(),
        "email" => field(ContactField::Email),
        "company" => field(ContactField::Company),
        "phone" => field(ContactField::PrimaryPhone),
        "whatsapp_phone" => field(ContactField::WhatsappPhone),
        "other_phone" => td_string!(locale, contacts.other_phones).to_string(),
        "facebook_id" => field(ContactField::FacebookId),
        "instagram_username" => field(ContactField::InstagramUsername),
        "owner" => field(ContactField::Owner),
        "" => td_string!(locale, contacts.import_skip_column).to_string(),
        custom => preview
            .custom
            .iter()
            .find(|f| custom == format!("custom:{}", f.id))
            .map(|f| f.name.clone())
            .unwrap_or_default(),
    }
}

/// The rows refused, each with its number, why and what it held.
#[component]
fn Refused(rejects: Vec<RowProblem>) -> impl IntoView {
    let locale = use_locale();
    view! {
        <table class="import-table refused">
            <thead>
                <tr>
                    <th scope="col">{td_string!(locale, contacts.import_row)}</th>
                    <th scope="col">{td_string!(locale, contacts.import_reason)}</th>
                    <th scope="col">{td_string!(locale, contacts.import_line)}</th>
                </tr>
            </thead>
            <tbody>
                {rejects
                    .into_iter()
                    .map(|r| {
                        view! {
                            <tr>
                                <td>{r.row}</td>
                                <td>{error_text(locale, &r.error)}</td>
                                <td class="muted">{r.line}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// Sending a file, mapping its columns, checking it and starting it.
#[component]
pub fn NewImport() -> impl IntoView {
    let locale = use_locale();
    let navigate = use_navigate();
    let preview = RwSignal::new(None::<ImportPreview>);
    let mapping = RwSignal::new(Vec::<String>::new());
    let on_duplicate = RwSignal::new(OnDuplicate::Skip);
    let sending = RwSignal::new(None::<f64>);
    let error = RwSignal::new(None::<AppError>);
    let checked = RwSignal::new(None::<ImportCheck>);
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let pick = move |file: crate::kit::browser::PickedFile| {
        let (_, _, name) = crate::kit::browser::describe(&file);
        preview.set(None);
        checked.set(None);
        error.set(None);
        sending.set(Some(0.0));
        crate::kit::browser::send_file(
            format!("/api/contact_imports?name={}", encode(&name)),
            file,
            false,
            move |fraction| sending.set(Some(fraction)),
            move |answer| {
                sending.set(None);
                match answer.and_then(|body| {
                    serde_json::from_str::<ImportPreview>(&body)
                        .map_err(|e| AppError::Transport(e.to_string()))
                }) {
                    Ok(read) => {
                        mapping.set(read.mapping.clone());
                        preview.set(Some(read));
                    }
                    Err(err) => error.set(Some(err)),
                }
            },
        );
    };
    let joined = move || mapping.get().join(",");
    let check = Action::new(move |_: &()| {
        let id = preview
            .with_untracked(|p| p.as_ref().map(|p| p.id))
            .unwrap_or(0);
        let mapping = joined();
        async move { check_import(id, mapping).await }
    });
    Effect::new(move |_| match check.value().get() {
        Some(Ok(found)) => {
            error.set(None);
            checked.set(Some(found));
        }
        Some(Err(err)) => error.set(Some(err)),
        None => {}
    });
    let start = Action::new(move |_: &()| {
        let id = preview
            .with_untracked(|p| p.as_ref().map(|p| p.id))
            .unwrap_or(0);
        let (mapping, duplicates) = (joined(), on_duplicate.get_untracked().key().to_string());
        async move { start_import(id, mapping, duplicates).await }
    });
    Effect::new(move |_| match start.value().get() {
        Some(Ok(view)) => navigate(&format!("/contacts?import={}", view.id)),
        Some(Err(err)) => error.set(Some(err)),
        None => {}
    });
    // Changing the mapping or the choice asks for a new check.
    Effect::new(move |_| {
        mapping.track();
        on_duplicate.track();
        checked.set(None);
    });
    view! {
        <article class="contact-sheet import-sheet">
            <header>
                <h2>{td_string!(locale, contacts.import_title)}</h2>
                <p class="muted">{td_string!(locale, contacts.import_intro)}</p>
            </header>
            <label for="import-file">{td_string!(locale, contacts.import_file)}</label>
            <input
                id="import-file"
                type="file"
                accept=".csv,text/csv,text/plain"
                on:change=move |ev| {
                    #[cfg(feature = "hydrate")]
                    {
                        use wasm_bindgen::JsCast;
                        let input = ev
                            .target()
                            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
                        if let Some(file) = input
                            .and_then(|i| crate::kit::browser::files_of(i.files()).into_iter().next())
                        {
                            pick(file);
                        }
                    }
                    #[cfg(not(feature = "hydrate"))]
                    let _ = ev;
                }
            />
            {move || {
                sending
                    .get()
                    .map(|fraction| {
                        view! {
                            <p class="muted" role="status">
                                {td_string!(locale, contacts.import_sending)} " "
                                <progress max="1" value=fraction></progress>
                            </p>
                        }
                    })
            }}
            {move || {
                preview
                    .get()
                    .map(|read| {
                        let rows = fill(
                            td_string!(locale, contacts.import_rows),
                            &[("rows", read.rows.to_string()), ("name", read.file_name.clone())],
                        );
                        let mut targets: Vec<String> = TARGETS.iter().map(|t| t.to_string()).collect();
                        targets.extend(read.custom.iter().map(|f| format!("custom:{}", f.id)));
                        targets.push(String::new());
                        view! {
                            <p>{rows}</p>
                            <table class="import-table">
                                <thead>
                                    <tr>
                                        <th scope="col">{td_string!(locale, contacts.import_column)}</th>
                                        <th scope="col">{td_string!(locale, contacts.import_sample)}</th>
                                        <th scope="col">{td_string!(locale, contacts.import_field)}</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {read
                                        .columns
                                        .iter()
                                        .enumerate()
                                        .map(|(column, header)| {
                                            let sample: Vec<String> = read
                                                .sample
                                                .iter()
                                                .filter_map(|row| row.get(column).cloned())
                                                .filter(|v| !v.is_empty())
                                                .take(3)
                                                .collect();
                                            let select_id = format!("import-column-{column}");
                                            let options = targets
                                                .iter()
                                                .map(|key| {
                                                    let label = target_label(locale, key, &read);
                                                    let key = key.clone();
                                                    let value = key.clone();
                                                    view! {
                                                        <option
                                                            value=value
                                                            selected=move || mapping.with(|m| m.get(column) == Some(&key))
                                                        >
                                                            {label}
                                                        </option>
                                                    }
                                                })
                                                .collect_view();
                                            view! {
                                                <tr>
                                                    <th scope="row">
                                                        <label for=select_id.clone()>{header.clone()}</label>
                                                    </th>
                                                    <td class="muted">{sample.join(" · ")}</td>
                                                    <td>
                                                        <select
                                                            id=select_id
                                                            on:change=move |ev| {
                                                                let picked = event_target_value(&ev);
                                                                mapping.update(|m| {
                                                                    if let Some(slot) = m.get_mut(column) {
                                                                        *slot = picked;
                                                                    }
                                                                });
                                                            }
                                                        >
                                                            {options}
                                                        </select>
                                                    </td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                            <fieldset class="import-duplicates">
                                <legend>{td_string!(locale, contacts.import_on_duplicate)}</legend>
                                <label class="checkbox">
                                    <input
                                        type="radio"
                                        name="on_duplicate"
                                        prop:checked=move || on_duplicate.get() == OnDuplicate::Skip
                                        on:change=move |_| on_duplicate.set(OnDuplicate::Skip)
                                    />
                                    {td_string!(locale, contacts.import_skip_duplicates)}
                                </label>
                                <label class="checkbox">
                                    <input
                                        type="radio"
                                        name="on_duplicate"
                                        prop:checked=move || on_duplicate.get() == OnDuplicate::Create
                                        on:change=move |_| on_duplicate.set(OnDuplicate::Create)
                                    />
                                    {td_string!(locale, contacts.import_create_duplicates)}
                                </label>
                            </fieldset>
                            <button
                                type="button"
                                class="button"
                                disabled=move || check.pending().get()
                                on:click=move |_| {
                                    check.dispatch(());
                                }
                            >
                                {td_string!(locale, contacts.import_check)}
                            </button>
                        }
                    })
            }}
            {move || {
                checked
                    .get()
                    .map(|found| {
                        let summary = fill(
                            td_string!(locale, contacts.import_summary),
                            &[
                                ("rows", found.rows.to_string()),
                                ("rejected", found.rejected.to_string()),
                                ("duplicates", found.duplicates.to_string()),
                            ],
                        );
                        let (has_rejects, has_matches) = (!found.rejects.is_empty(), !found.matches.is_empty());
                        view! {
                            <section class="import-check" aria-label=td_string!(locale, contacts.import_check)>
                                <p role="status">{summary}</p>
                                {has_rejects
                                    .then(|| {
                                        view! {
                                            <h3>{td_string!(locale, contacts.import_refused_rows)}</h3>
                                            <Refused rejects=found.rejects.clone() />
                                        }
                                    })}
                                {has_matches
                                    .then(|| {
                                        view! {
                                            <h3>{td_string!(locale, contacts.import_matching_rows)}</h3>
                                            <ul class="import-matches">
                                                {found
                                                    .matches
                                                    .iter()
                                                    .map(|m| {
                                                        let row = fill(
                                                            td_string!(locale, contacts.import_match),
                                                            &[("row", m.row.to_string()), ("name", m.name.clone())],
                                                        );
                                                        let matched = match m.matches {
                                                            Matched::Contact(id) => view! {
                                                                <a href=format!("/contacts?c={id}")>{m.matched_name.clone()}</a>
                                                            }
                                                            .into_any(),
                                                            Matched::Row(earlier) => fill(
                                                                    td_string!(locale, contacts.import_match_row),
                                                                    &[("row", earlier.to_string()), ("name", m.matched_name.clone())],
                                                                )
                                                                .into_any(),
                                                        };
                                                        view! { <li>{row} " " {matched}</li> }
                                                    })
                                                    .collect_view()}
                                            </ul>
                                        }
                                    })}
                                <button
                                    type="button"
                                    class="button primary"
                                    disabled=move || start.pending().get()
                                    on:click=move |_| {
                                        start.dispatch(());
                                    }
                                >
                                    {td_string!(locale, contacts.import_start)}
                                </button>
                            </section>
                        }
                    })
            }}
            <ErrorNote error />
        </article>
    }
}

/// An import under way or done: its progress, then what it did and every row refused. Read
/// again every second until it is done.
#[component]
pub fn ImportProgress(import_id: i64, reload: RwSignal<u32>) -> impl IntoView {
    let locale = use_locale();
    let tick = RwSignal::new(0u32);
    let loaded = Resource::new(move || (import_id, tick.get()), |(id, _)| load_import(id));
    let shown = RwSignal::new(None::<ImportView>);
    Effect::new(move |_| {
        if let Some(Ok(view)) = loaded.get() {
            let done = view.status == "done";
            shown.set(Some(view));
            if done {
                reload.update(|n| *n += 1);
            } else {
                set_timeout(
                    move || {
                        let _ = tick.try_update(|n| *n += 1);
                    },
                    std::time::Duration::from_secs(1),
                );
            }
        }
    });
    view! {
        <article class="contact-sheet import-sheet">
            <Transition fallback=|| view! { <div class="loading"></div> }>
                {move || {
                    loaded
                        .get()
                        .map(|first| match first {
                            Err(err) => view! { <p class="form-error" role="alert">{error_text(locale, &err)}</p> }
                                .into_any(),
                            Ok(first) => {
                                let view_of = move || shown.get().unwrap_or_else(|| first.clone());
                                view! {
                                    {move || {
                                        let import = view_of();
                                        let done = import.status == "done";
                                        let progress = fill(
                                            td_string!(locale, contacts.import_progress),
                                            &[("done", import.done.to_string()), ("rows", import.rows.to_string())],
                                        );
                                        let outcome = fill(
                                            td_string!(locale, contacts.import_outcome),
                                            &[
                                                ("created", import.created.to_string()),
                                                ("skipped", import.skipped.to_string()),
                                                ("rejected", import.rejected.to_string()),
                                            ],
                                        );
                                        view! {
                                            <header>
                                                <h2>{import.file_name.clone()}</h2>
                                                <p class="muted">
                                                    {if done {
                                                        td_string!(locale, contacts.import_finished)
                                                    } else {
                                                        td_string!(locale, contacts.import_running)
                                                    }}
                                                </p>
                                            </header>
                                            <label for="import-progress">{progress}</label>
                                            <progress
                                                id="import-progress"
                                                max=import.rows.max(1)
                                                value=import.done
                                            ></progress>
                                            <p role="status">{outcome}</p>
                                            {(!import.rejects.is_empty())
                                                .then(|| {
                                                    view! {
                                                        <h3>{td_string!(locale, contacts.import_refused_rows)}</h3>
                                                        <Refused rejects=import.rejects.clone() />
                                                    }
                                                })}
                                            {done
                                                .then(|| {
                                                    view! {
                                                        <a class="button small" href="/contacts?sort=activity">
                                                            {td_string!(locale, contacts.import_see)}
                                                        </a>
                                                    }
                                                })}
                                        }
                                    }}
                                }
                                    .into_any()
                            }
                        })
                }}
            </Transition>
        </article>
    }
}
