//! The "WhatsApp templates" section of the settings page: each line's templates with Meta's
//! review (status and reason, quality, category and an announced new one), kept current by
//! the business account's webhooks through the live stream; syncing from the provider; the
//! price of each category for spend figures.

use leptos::prelude::*;

use super::{
    quality_label, reason_text, status_label, SaveTemplatePrice, SyncTemplates, TemplateSettings,
    TemplateState,
};
use crate::error::{AppError, Field};
use crate::i18n::*;
use crate::kit::clock;
use crate::kit::form::{action_error, fill, outcome_view, FieldError, FormError};
use crate::kit::locale::use_locale;

pub type TemplatesResource = Resource<Result<TemplateSettings, AppError>>;

const PRICE_FIELDS: &[Field] = &[Field::Price, Field::Currency];

fn category_label(locale: Locale, category: &str) -> String {
    match category {
        "marketing" => td_string!(locale, settings.category_marketing),
        "utility" => td_string!(locale, settings.category_utility),
        _ => td_string!(locale, settings.category_authentication),
    }
    .to_string()
}

#[component]
pub fn TemplatesSection(
    templates: TemplatesResource,
    sync: ServerAction<SyncTemplates>,
    save_price: ServerAction<SaveTemplatePrice>,
) -> impl IntoView {
    let locale = use_locale();
    let syncing = RwSignal::new(None::<i64>);
    let price_error = action_error(save_price);
    let settings = move || templates.get().and_then(Result::ok);
    let lines = move || settings().map(|s| s.lines).unwrap_or_default();
    let templates_of = move |account_id: i64| {
        templates.with(|t| match t {
            Some(Ok(settings)) => settings
                .templates
                .iter()
                .filter(|t| t.account_id == account_id)
                .cloned()
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    };
    let prices = move || settings().map(|s| s.prices).unwrap_or_default();
    view! {
        <section class="card" aria-labelledby="templates-heading">
            <h2 id="templates-heading">{td_string!(locale, settings.templates_heading)}</h2>
            <p class="muted">{td_string!(locale, settings.templates_intro)}</p>
            <Transition fallback=|| view! { <div class="loading"></div> }>
                <Show when=move || settings().is_some_and(|s| s.lines.is_empty())>
                    <p class="muted">{td_string!(locale, settings.templates_no_lines)}</p>
                </Show>
                <ul class="account-list">
                    <For each=lines key=|l| (l.account_id, l.approved, l.synced_at) let:line>
                        {
                            let id = line.account_id;
                            let outcome = move || {
                                (syncing.get() == Some(id) && !sync.pending().get())
                                    .then(|| sync.value().get())
                                    .flatten()
                                    .map(|result| {
                                        let notice = result.map(|count| {
                                            fill(
                                                td_string!(locale, settings.templates_synced),
                                                &[("count", count.to_string())],
                                            )
                                        });
                                        outcome_view(locale, notice)
                                    })
                            };
                            view! {
                                <li class="account">
                                    <div class="account-who">
                                        <span class=format!(
                                            "channel channel-{}",
                                            line.channel,
                                        )>
                                            {if line.channel == "twilio" {
                                                "Twilio WhatsApp"
                                            } else {
                                                "WhatsApp"
                                            }}
                                        </span>
                                        <strong>{line.name.clone()}</strong>
                                        <span class="muted small">
                                            {fill(
                                                td_string!(locale, settings.templates_approved),
                                                &[("count", line.approved.to_string())],
                                            )}
                                        </span>
                                    </div>
                                    <div class="account-controls">
                                        <button
                                            class="button small"
                                            type="button"
                                            disabled=move || sync.pending().get()
                                            on:click=move |_| {
                                                syncing.set(Some(id));
                                                sync.dispatch(SyncTemplates { account_id: id });
                                            }
                                        >
                                            {td_string!(locale, settings.templates_sync)}
                                        </button>
                                    </div>
                                    {outcome}
                                    <TemplateStates templates=Signal::derive(move || templates_of(id)) />
                                </li>
                            }
                        }
                    </For>
                </ul>
                <h3>{td_string!(locale, settings.prices_heading)}</h3>
                <div class="price-list">
                    <For each=prices key=|p| (p.category.clone(), p.price.clone(), p.currency.clone()) let:price>
                        {
                            let category = price.category.clone();
                            let input_id = format!("price-{category}");
                            let label = category_label(locale, &category);
                            view! {
                                <ActionForm action=save_price attr:class="price-form">
                                    <input type="hidden" name="category" value=category.clone() />
                                    <label for=input_id.clone()>{label}</label>
                                    <input
                                        id=input_id
                                        name="price"
                                        inputmode="decimal"
                                        placeholder="0.00"
                                        required
                                        value=price.price.clone().unwrap_or_default()
                                    />
                                    <input
                                        name="currency"
                                        maxlength="3"
                                        class="currency"
                                        aria-label=td_string!(locale, settings.currency)
                                        value=price.currency.clone().unwrap_or_else(|| "USD".into())
                                    />
                                    <button class="button small" type="submit">
                                        {td_string!(locale, settings.save_price)}
                                    </button>
                                </ActionForm>
                            }
                        }
                    </For>
                </div>
                <FieldError error=price_error field=Field::Price id="price-error" />
                <FieldError error=price_error field=Field::Currency id="currency-error" />
                <FormError error=price_error fields=PRICE_FIELDS />
                {move || {
                    matches!(save_price.value().get(), Some(Ok(())))
                        .then(|| {
                            view! {
                                <p class="notice" role="status">{td_string!(locale, settings.price_saved)}</p>
                            }
                        })
                }}
            </Transition>
        </section>
    }
}

/// A line's templates, each with Meta's review of it.
#[component]
fn TemplateStates(templates: Signal<Vec<TemplateState>>) -> impl IntoView {
    let locale = use_locale();
    let offset = clock::viewer_offset_minutes();
    view! {
        <Show
            when=move || !templates.with(Vec::is_empty)
            fallback=move || view! { <p class="muted small">{td_string!(locale, template.none)}</p> }
        >
            <ul class="template-states">
                <For
                    each=move || templates.get()
                    key=|t| {
                        (
                            t.id,
                            t.status.clone(),
                            t.status_reason.clone(),
                            t.quality.clone(),
                            t.category.clone(),
                            t.next_category.clone(),
                        )
                    }
                    let:template
                >
                    {
                        let status = template.status.to_ascii_lowercase();
                        // Meta rates a template once customers have received it.
                        let rated = matches!(
                            template.quality.as_deref(),
                            Some("GREEN" | "YELLOW" | "RED")
                        );
                        let quality = template
                            .quality
                            .as_deref()
                            .unwrap_or("unknown")
                            .to_ascii_lowercase();
                        let next = template
                            .next_category
                            .clone()
                            .zip(template.next_category_at)
                            .map(|(category, at)| {
                                fill(
                                    td_string!(locale, template.next_category),
                                    &[
                                        ("category", category_label(locale, &category)),
                                        ("date", clock::date(at, offset)),
                                    ],
                                )
                            });
                        let reason = template
                            .status_reason
                            .as_deref()
                            .map(|reason| {
                                fill(
                                    td_string!(locale, template.reason),
                                    &[("reason", reason_text(locale, reason))],
                                )
                            });
                        view! {
                            <li class="template-state">
                                <div class="template-state-name">
                                    <strong>{template.name.clone()}</strong>
                                    <span class="muted small">{template.language.clone()}</span>
                                </div>
                                <div class="template-state-facts">
                                    <span class=format!("template-status template-{status}")>
                                        {status_label(locale, &template.status)}
                                    </span>
                                    <span class="chip">{category_label(locale, &template.category)}</span>
                                    {rated
                                        .then(|| {
                                            view! {
                                                <span class=format!("quality quality-{quality}")>
                                                    {quality_label(locale, template.quality.as_deref())}
                                                </span>
                                            }
                                        })}
                                </div>
                                {reason.map(|reason| view! { <p class="small template-reason">{reason}</p> })}
                                {next.map(|next| view! { <p class="small muted">{next}</p> })}
                            </li>
                        }
                    }
                </For>
            </ul>
        </Show>
    }
}
