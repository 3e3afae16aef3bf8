//! Settings → Inbox → Conversation closing: the close reasons agents choose from, and the
//! automatic closing rules. Read in the browser once the page is interactive.

use leptos::prelude::*;

use crate::accounts::{load_accounts, AccountView};
use crate::conversations::lifecycle::closing_rules::{
    closing_rules, delete_closing_rule, save_closing_rule, switch_closing_rule, RuleView,
};
use crate::conversations::lifecycle::{add_close_reason, delete_close_reason, lifecycle_choices};
use crate::error::{AppError, Field};
use crate::i18n::*;
use crate::kit::form::{ErrorNote, FieldError, FormError, FormField};
use crate::kit::locale::use_locale;

const RULE_FIELDS: &[Field] = &[
    Field::Name,
    Field::Inactivity,
    Field::Account,
    Field::CloseReason,
];

/// Runs a server call; once it has succeeded, `version` is bumped (the lists are read again)
/// and `then` runs.
fn act(
    busy: RwSignal<bool>,
    version: RwSignal<u32>,
    error: RwSignal<Option<AppError>>,
    call: impl std::future::Future<Output = Result<(), AppError>> + 'static,
    then: impl FnOnce() + 'static,
) {
    crate::conversations::lifecycle::actions::run(busy, error, call, move || {
        version.try_update(|v| *v = v.wrapping_add(1));
        then();
    });
}

#[component]
pub fn ClosingSection() -> AnyView {
    let locale = use_locale();
    let version = RwSignal::new(0u32);
    let busy = RwSignal::new(false);
    let rules = LocalResource::new(move || {
        version.track();
        closing_rules()
    });
    let choices = LocalResource::new(move || {
        version.track();
        lifecycle_choices()
    });
    let accounts = LocalResource::new(load_accounts);
    let account_list = move || {
        accounts
            .get()
            .and_then(Result::ok)
            .map(|a| a.accounts)
            .unwrap_or_default()
    };
    let reasons = move || {
        choices
            .get()
            .and_then(Result::ok)
            .map(|c| c.reasons)
            .unwrap_or_default()
    };

    // Close reasons.
    let reason_label = RwSignal::new(String::new());
    let reason_error = RwSignal::new(None::<AppError>);
    let add_reason = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let label = reason_label.get_untracked();
        act(
            busy,
            version,
            reason_error,
            async move { add_close_reason(label).await.map(|_| ()) },
            move || reason_label.set(String::new()),
        );
    };

    // A new rule.
    let name = RwSignal::new(String::new());
    let amount = RwSignal::new(String::from("24"));
    let unit = RwSignal::new(String::from("hours"));
    let picked = RwSignal::new(Vec::<i64>::new());
    let reason = RwSignal::new(String::new());
    let enabled = RwSignal::new(true);
    let rule_error = RwSignal::new(None::<AppError>);
    let list_error = RwSignal::new(None::<AppError>);
    let add_rule = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let call = save_closing_rule(
            None,
            name.get_untracked(),
            enabled.get_untracked(),
            amount.get_untracked(),
            unit.get_untracked(),
            reason.get_untracked(),
            picked.get_untracked(),
        );
        act(
            busy,
            version,
            rule_error,
            async move { call.await.map(|_| ()) },
            move || {
                name.set(String::new());
                picked.set(Vec::new());
                reason.set(String::new());
            },
        );
    };
    let unit_label = move |key: &str| match key {
        "minutes" => td_string!(locale, settings.unit_minutes),
        "days" => td_string!(locale, settings.unit_days),
        _ => td_string!(locale, settings.unit_hours),
    };
    let account_name = move |id: i64| {
        account_list()
            .into_iter()
            .find(|a| a.id == id)
            .map(|a| a.name)
            .unwrap_or_default()
    };
    let rule_item = move |rule: RuleView| {
        let id = rule.id;
        let on = rule.enabled;
        let unit = match (rule.unit.as_str(), rule.amount) {
            ("minutes", 1) => td_string!(locale, settings.unit_minute),
            ("hours", 1) => td_string!(locale, settings.unit_hour),
            ("days", 1) => td_string!(locale, settings.unit_day),
            (key, _) => unit_label(key),
        };
        let summary = crate::kit::form::fill(
            td_string!(locale, settings.rule_summary),
            &[
                ("amount", rule.amount.to_string()),
                ("unit", unit.to_string()),
            ],
        );
        let lines = rule
            .account_ids
            .iter()
            .map(|a| account_name(*a))
            .collect::<Vec<_>>()
            .join(", ");
        view! {
            <li class="rule">
                <div class="rule-main">
                    <strong>{rule.name.clone()}</strong>
                    <span>{summary}</span>
                    <span class="muted">{lines}</span>
                    <span class="muted">
                        {td_string!(locale, settings.rule_reason)} ": " {rule.reason.clone()}
                    </span>
                </div>
                <label class="checkbox">
                    <input
                        type="checkbox"
                        prop:checked=on
                        on:change=move |ev| {
                            let wanted = event_target_checked(&ev);
                            act(busy, version,
                                list_error,
                                async move { switch_closing_rule(id, wanted).await.map(|_| ()) },
                                || {},
                            );
                        }
                    />
                    {td_string!(locale, settings.rule_active)}
                </label>
                <button
                    type="button"
                    class="button small danger"
                    on:click=move |_| {
                        act(busy, version, list_error, delete_closing_rule(id), || {});
                    }
                >
                    {td_string!(locale, settings.quick_reply_delete)}
                </button>
            </li>
        }
    };
    view! {
        <section class="card" aria-labelledby="closing-heading">
            <h2 id="closing-heading">{td_string!(locale, settings.closing_heading)}</h2>

            <h3>{td_string!(locale, settings.close_reasons_heading)}</h3>
            <ul class="reasons">
                {move || {
                    reasons()
                        .into_iter()
                        .map(|r| {
                            let id = r.id;
                            view! {
                                <li>
                                    {r.label}
                                    <button
                                        type="button"
                                        class="button small danger"
                                        on:click=move |_| {
                                            act(busy, version, reason_error, delete_close_reason(id), || {});
                                        }
                                    >
                                        {td_string!(locale, settings.quick_reply_delete)}
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            <form class="inline-form" on:submit=add_reason>
                <label for="new-close-reason">{td_string!(locale, settings.close_reason_new)}</label>
                <input
                    id="new-close-reason"
                    maxlength="200"
                    prop:value=move || reason_label.get()
                    on:input=move |ev| reason_label.set(event_target_value(&ev))
                />
                <button class="button" type="submit">{td_string!(locale, settings.close_reason_add)}</button>
            </form>
            <ErrorNote error=reason_error />

            <h3>{td_string!(locale, settings.rules_heading)}</h3>
            <p class="muted">{td_string!(locale, settings.rules_intro)}</p>
            <ul class="rules">
                {move || rules.get().and_then(Result::ok).unwrap_or_default().into_iter().map(rule_item).collect_view()}
            </ul>
            <ErrorNote error=list_error />
            <form class="rule-form" aria-labelledby="new-rule-heading" on:submit=add_rule>
                <h4 id="new-rule-heading">{td_string!(locale, settings.rule_new)}</h4>
                <FormField id="rule-name" label={td_string!(locale, settings.rule_name)} field=Field::Name error=rule_error>
                    <input
                        id="rule-name"
                        aria-describedby="rule-name-error"
                        maxlength="60"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                </FormField>
                <fieldset>
                    <legend>{td_string!(locale, settings.rule_after)}</legend>
                    <div class="inline-form">
                        <label class="visually-hidden" for="rule-amount">
                            {td_string!(locale, settings.rule_amount)}
                        </label>
                        <input
                            id="rule-amount"
                            type="number"
                            min="1"
                            inputmode="numeric"
                            prop:value=move || amount.get()
                            on:input=move |ev| amount.set(event_target_value(&ev))
                        />
                        <label class="visually-hidden" for="rule-unit">
                            {td_string!(locale, settings.rule_unit)}
                        </label>
                        <select
                            id="rule-unit"
                            prop:value=move || unit.get()
                            on:change=move |ev| unit.set(event_target_value(&ev))
                        >
                            {["minutes", "hours", "days"]
                                .into_iter()
                                .map(|key| view! { <option value=key>{move || unit_label(key)}</option> })
                                .collect_view()}
                        </select>
                    </div>
                    <FieldError error=rule_error field=Field::Inactivity id="rule-amount-error" />
                </fieldset>
                <fieldset>
                    <legend>{td_string!(locale, settings.rule_accounts)}</legend>
                    {move || {
                        account_list()
                            .into_iter()
                            .map(|account: AccountView| {
                                let id = account.id;
                                view! {
                                    <label class="checkbox">
                                        <input
                                            type="checkbox"
                                            prop:checked=move || picked.with(|p| p.contains(&id))
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                picked
                                                    .update(|p| {
                                                        p.retain(|&a| a != id);
                                                        if on {
                                                            p.push(id);
                                                        }
                                                    });
                                            }
                                        />
                                        {account.name}
                                    </label>
                                }
                            })
                            .collect_view()
                    }}
                    <FieldError error=rule_error field=Field::Account id="rule-accounts-error" />
                </fieldset>
                <FormField id="rule-reason" label={td_string!(locale, settings.rule_reason)} field=Field::CloseReason error=rule_error>
                    <input
                        id="rule-reason"
                        aria-describedby="rule-reason-error"
                        list="rule-reasons"
                        maxlength="200"
                        prop:value=move || reason.get()
                        on:input=move |ev| reason.set(event_target_value(&ev))
                    />
                    <datalist id="rule-reasons">
                        {move || {
                            reasons()
                                .into_iter()
                                .map(|r| view! { <option value=r.label></option> })
                                .collect_view()
                        }}
                    </datalist>
                </FormField>
                <label class="checkbox">
                    <input
                        type="checkbox"
                        prop:checked=move || enabled.get()
                        on:change=move |ev| enabled.set(event_target_checked(&ev))
                    />
                    {td_string!(locale, settings.rule_active)}
                </label>
                <FormError error=rule_error fields=RULE_FIELDS />
                <button class="button primary" type="submit" disabled=move || busy.get()>
                    {td_string!(locale, settings.rule_add)}
                </button>
            </form>
        </section>
    }
    .into_any()
}
