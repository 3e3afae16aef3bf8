//! The template picker: an approved template, its parameters with a live preview, its
//! category and price, sent; the line's other templates listed apart, each with why it cannot
//! go (Meta's review, or a customer who stopped marketing messages).

use leptos::prelude::*;

use super::super::{load_templates, send_template, MessageView};
use crate::error::AppError;
use crate::i18n::*;
use crate::kit::form::{error_alert, ErrorNote};
use crate::kit::locale::use_locale;
use crate::templates::{format_price, unavailable_text, TemplateView};

/// `{{1}}` ... replaced by the parameters typed so far (`{{n}}` stays visible until then).
pub fn preview(body: &str, params: &[String]) -> String {
    let mut text = body.to_string();
    for (i, value) in params.iter().enumerate() {
        if !value.trim().is_empty() {
            text = text.replace(&format!("{{{{{}}}}}", i + 1), value.trim());
        }
    }
    text
}

/// Pick an approved template, fill its parameters with a live preview, see its category and
/// price, send it.
#[component]
pub fn TemplatePicker(
    conversation_id: i64,
    close: impl Fn() + Copy + Send + Sync + 'static,
    sent: impl Fn(MessageView) + Copy + Send + Sync + 'static,
) -> AnyView {
    let locale = use_locale();
    let templates = LocalResource::new(move || load_templates(conversation_id));
    let chosen = RwSignal::new(None::<TemplateView>);
    let params = RwSignal::new(Vec::<String>::new());
    let error = RwSignal::new(None::<AppError>);
    let send = Action::new(move |(template_id, values): &(i64, Vec<String>)| {
        let (template_id, values) = (*template_id, values.clone());
        async move { send_template(conversation_id, template_id, values).await }
    });
    Effect::new(move |_| {
        if let Some(result) = send.value().get() {
            match result {
                Ok(message) => {
                    error.set(None);
                    sent(message);
                    close();
                }
                Err(err) => error.set(Some(err)),
            }
        }
    });
    view! {
        <div class="popup template-picker" role="dialog" aria-labelledby="template-picker-title">
            <h3 id="template-picker-title">{td_string!(locale, inbox.templates_title)}</h3>
            <Transition fallback=|| view! { <div class="loading"></div> }>
                {move || {
                    templates
                        .get()
                        .map(|result| match result {
                            Err(err) => error_alert(locale, &err),
                            Ok(choices) if choices.templates.is_empty() => {
                                view! { <p class="hint">{td_string!(locale, inbox.no_templates)}</p> }
                                    .into_any()
                            }
                            Ok(choices) => {
                                let (usable, unavailable): (Vec<_>, Vec<_>) = choices
                                    .templates
                                    .into_iter()
                                    .map(|t| (t.unavailable(choices.marketing_stopped), t))
                                    .partition(|(why, _)| why.is_none());
                                let label = |t: &TemplateView| format!("{} ({})", t.name, t.language);
                                view! {
                                    <ul class="template-list">
                                        {usable
                                            .into_iter()
                                            .map(|(_, template)| {
                                                let id = template.id;
                                                let text = label(&template);
                                                let pick = template.clone();
                                                view! {
                                                    <li>
                                                        <button
                                                            type="button"
                                                            class="template-option"
                                                            aria-pressed=move || {
                                                                (chosen.get().map(|t| t.id) == Some(id)).to_string()
                                                            }
                                                            on:click=move |_| {
                                                                params.set(vec![String::new(); pick.params]);
                                                                chosen.set(Some(pick.clone()));
                                                            }
                                                        >
                                                            {text}
                                                        </button>
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                    {(!unavailable.is_empty())
                                        .then(|| {
                                            view! {
                                                <h4 class="template-group">{td_string!(locale, template.unavailable)}</h4>
                                                <ul class="template-list unavailable">
                                                    {unavailable
                                                        .into_iter()
                                                        .filter_map(|(why, template)| Some((why?, template)))
                                                        .map(|(why, template)| {
                                                            view! {
                                                                <li class="template-unavailable">
                                                                    <span>{label(&template)}</span>
                                                                    <span class="small muted">{unavailable_text(locale, &why)}</span>
                                                                </li>
                                                            }
                                                        })
                                                        .collect_view()}
                                                </ul>
                                            }
                                        })}
                                }
                                    .into_any()
                            }
                        })
                }}
            </Transition>
            {move || {
                chosen
                    .get()
                    .map(|template| {
                        let category = match template.category.as_str() {
                            "marketing" => td_string!(locale, settings.category_marketing),
                            "utility" => td_string!(locale, settings.category_utility),
                            _ => td_string!(locale, settings.category_authentication),
                        };
                        let price = match (template.price_micros, template.currency.clone()) {
                            (Some(micros), Some(currency)) => {
                                format!("{} {currency}", format_price(micros))
                            }
                            _ => td_string!(locale, inbox.price_unknown).to_string(),
                        };
                        let body = template.body.clone();
                        let template_id = template.id;
                        view! {
                            <div class="template-form">
                                <p class="template-meta">
                                    <span class="badge">{category}</span>
                                    " "
                                    <span>{td_string!(locale, inbox.price)} ": " {price}</span>
                                </p>
                                {(0..template.params)
                                    .map(|i| {
                                        let id = format!("template-param-{}", i + 1);
                                        view! {
                                            <label for=id.clone()>
                                                {crate::kit::form::fill(
                                                    td_string!(locale, inbox.template_param),
                                                    &[("n", (i + 1).to_string())],
                                                )}
                                            </label>
                                            <input
                                                id=id
                                                type="text"
                                                on:input=move |ev| {
                                                    let value = event_target_value(&ev);
                                                    params
                                                        .update(|p| {
                                                            if let Some(slot) = p.get_mut(i) {
                                                                *slot = value;
                                                            }
                                                        });
                                                }
                                            />
                                        }
                                    })
                                    .collect_view()}
                                <p class="template-preview" aria-live="polite">
                                    <span class="visually-hidden">{td_string!(locale, inbox.preview)}</span>
                                    {move || preview(&body, &params.get())}
                                </p>
                                <button
                                    type="button"
                                    class="button primary"
                                    disabled=move || send.pending().get()
                                    on:click=move |_| {
                                        send.dispatch((template_id, params.get_untracked()));
                                    }
                                >
                                    {td_string!(locale, inbox.send_template)}
                                </button>
                            </div>
                        }
                    })
            }}
            <ErrorNote error=error />
            <button type="button" class="button small" on:click=move |_| close()>
                {td_string!(locale, inbox.cancel)}
            </button>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_preview_fills_what_was_typed_and_keeps_the_rest() {
        let body = "Hola {{1}}, tu pedido {{2}} está listo.";
        assert_eq!(
            preview(body, &["Ana".into(), String::new()]),
            "Hola Ana, tu pedido {{2}} está listo."
        );
        assert_eq!(
            preview(body, &["Ana".into(), " 123 ".into()]),
            "Hola Ana, tu pedido 123 está listo."
        );
    }
}
