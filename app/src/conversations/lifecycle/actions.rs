//! What an agent does to a conversation from its header: give it to someone (or nobody),
//! close it with a reason, reopen it; and their own availability in the list's header. The
//! server decides; what comes back on the stream updates the page.

use crate::conversations::ConversationStatus;
use leptos::prelude::*;

use crate::conversations::lifecycle::{
    assign_conversations, close_conversations, delete_conversation, lifecycle_choices,
    reopen_conversation, set_availability,
};
use crate::conversations::workspace::Workspace;
use crate::conversations::ConversationSummary;
use crate::error::AppError;
use crate::i18n::*;
use crate::kit::form::{ErrorNote, FieldError, FormError};
use crate::kit::locale::use_locale;

/// Runs a server call, showing its error beside the control, then `done` once it succeeded.
pub(crate) fn run(
    busy: RwSignal<bool>,
    error: RwSignal<Option<AppError>>,
    call: impl std::future::Future<Output = Result<(), AppError>> + 'static,
    done: impl FnOnce() + 'static,
) {
    busy.set(true);
    error.set(None);
    leptos::task::spawn_local(async move {
        let result = call.await;
        busy.try_set(false);
        match result {
            Ok(()) => done(),
            Err(err) => {
                error.try_set(Some(err));
            }
        }
    });
}

#[component]
pub fn ConversationActions(
    #[prop(into)] conversation: Signal<Option<ConversationSummary>>,
    /// Only the user who connected the line may delete its conversations: the server
    /// says so with the thread.
    #[prop(into)]
    may_delete: Signal<bool>,
) -> AnyView {
    let locale = use_locale();
    let workspace = expect_context::<Workspace>();
    workspace.want_choices(|| Box::pin(lifecycle_choices()));
    let choices = workspace.choices;
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let closing = RwSignal::new(false);
    let reason = RwSignal::new(String::new());
    let contact_too = RwSignal::new(false);
    let team = move || {
        choices
            .get()
            .and_then(Result::ok)
            .map(|c| c.team)
            .unwrap_or_default()
    };
    let reasons = move || {
        choices
            .get()
            .and_then(Result::ok)
            .map(|c| c.reasons)
            .unwrap_or_default()
    };
    let id = move || conversation.get_untracked().map(|c| c.id).unwrap_or(0);
    let assignee = move || conversation.get().and_then(|c| c.assignee_id);
    let is_open = move || {
        conversation
            .get()
            .is_some_and(|c| c.status == ConversationStatus::Open)
    };
    let has_contact = move || conversation.get().is_some_and(|c| c.contact_id.is_some());
    let assign = move |to: Option<i64>| {
        let also = contact_too.get_untracked();
        run(
            busy,
            error,
            async move { assign_conversations(vec![id()], to, also).await.map(|_| ()) },
            || {},
        );
    };
    let close = move || {
        let typed = reason.get_untracked();
        run(
            busy,
            error,
            async move { close_conversations(vec![id()], typed).await.map(|_| ()) },
            move || {
                closing.try_set(false);
                reason.try_set(String::new());
            },
        );
    };
    let reopen = move || {
        run(
            busy,
            error,
            async move { reopen_conversation(id()).await },
            || {},
        );
    };
    let delete = move |_| {
        let Some(shown) = conversation.get_untracked() else {
            return;
        };
        let question = crate::kit::form::fill(
            td_string!(locale, inbox.delete_confirm),
            &[("name", crate::conversations::labels::display_name(&shown))],
        );
        if !crate::kit::browser::confirm(&question) {
            return;
        }
        let navigate = crate::kit::nav::use_navigate();
        let away = workspace.href(&[("c", None), ("panel", None)]);
        run(
            busy,
            error,
            async move { delete_conversation(shown.id).await.map(|_| ()) },
            move || navigate(&away),
        );
    };
    let select_id = move || format!("assignee-{}", id());
    let reasons_id = move || format!("close-reasons-{}", id());
    view! {
        <div class="chat-actions">
            <label class="visually-hidden" for=select_id>
                {td_string!(locale, inbox.assign_to)}
            </label>
            <select
                id=select_id
                class="assignee"
                disabled=move || busy.get()
                prop:value=move || assignee().map(|a| a.to_string()).unwrap_or_default()
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    assign(value.parse().ok());
                }
            >
                <option value="">{td_string!(locale, inbox.nobody)}</option>
                {move || {
                    let current = assignee();
                    team()
                        .into_iter()
                        .map(|member| {
                            let unavailable = !member.available;
                            let label = if unavailable {
                                format!(
                                    "{} {}",
                                    member.name,
                                    td_string!(locale, inbox.not_available_suffix),
                                )
                            } else {
                                member.name.clone()
                            };
                            view! {
                                <option
                                    value=member.id.to_string()
                                    selected=current == Some(member.id)
                                    disabled=unavailable && current != Some(member.id)
                                >
                                    {label}
                                </option>
                            }
                        })
                        .collect_view()
                }}
            </select>
            <Show when=has_contact>
                <label class="checkbox contact-too">
                    <input
                        type="checkbox"
                        prop:checked=move || contact_too.get()
                        on:change=move |ev| contact_too.set(event_target_checked(&ev))
                    />
                    {td_string!(locale, inbox.also_contact_owner)}
                </label>
            </Show>
            <Show
                when=is_open
                fallback=move || {
                    view! {
                        <span class="badge closed">{td_string!(locale, inbox.section_closed)}</span>
                        <button
                            type="button"
                            class="button small"
                            disabled=move || busy.get()
                            on:click=move |_| reopen()
                        >
                            {td_string!(locale, inbox.reopen)}
                        </button>
                    }
                }
            >
                <button
                    type="button"
                    class="button small"
                    aria-expanded=move || closing.get().to_string()
                    on:click=move |_| closing.update(|c| *c = !*c)
                >
                    {td_string!(locale, inbox.close)}
                </button>
            </Show>
            <Show when=move || may_delete.get()>
                <button
                    type="button"
                    class="button small danger"
                    disabled=move || busy.get()
                    on:click=delete
                >
                    {td_string!(locale, inbox.delete)}
                </button>
            </Show>
            <Show when=move || closing.get() && is_open()>
                <form
                    class="close-form"
                    aria-label=td_string!(locale, inbox.close_conversation)
                    on:submit=move |ev| {
                        ev.prevent_default();
                        close();
                    }
                >
                    <label for=move || format!("close-reason-{}", id())>
                        {td_string!(locale, inbox.close_reason)}
                    </label>
                    <input
                        id=move || format!("close-reason-{}", id())
                        list=reasons_id
                        maxlength="200"
                        autocomplete="off"
                        placeholder=td_string!(locale, inbox.close_reason_placeholder)
                        prop:value=move || reason.get()
                        on:input=move |ev| reason.set(event_target_value(&ev))
                    />
                    <datalist id=reasons_id>
                        {move || {
                            reasons()
                                .into_iter()
                                .map(|r| view! { <option value=r.label></option> })
                                .collect_view()
                        }}
                    </datalist>
                    <FieldError
                        error=Signal::derive(move || error.get())
                        field=crate::error::Field::CloseReason
                        id="close-reason-error"
                    />
                    <div class="actions">
                        <button class="button primary small" type="submit" disabled=move || busy.get()>
                            {td_string!(locale, inbox.close_conversation)}
                        </button>
                        <button type="button" class="button small" on:click=move |_| closing.set(false)>
                            {td_string!(locale, inbox.cancel)}
                        </button>
                    </div>
                </form>
            </Show>
            <FormError error=error fields=&[crate::error::Field::CloseReason] />
        </div>
    }
    .into_any()
}

/// The user's own availability: a filled dot when available, an empty one when not.
#[component]
pub fn Availability() -> impl IntoView {
    let locale = use_locale();
    let workspace = expect_context::<Workspace>();
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    // The state the page was loaded with; then the one each toggle answers.
    let available = RwSignal::new(None::<bool>);
    Effect::new(move |_| {
        if let Some(Ok(Some(user))) = workspace.me.get() {
            available.set(Some(user.available));
        }
    });
    let toggle = move |_| {
        let Some(now) = available.get_untracked() else {
            return;
        };
        let wanted = !now;
        run(
            busy,
            error,
            async move { set_availability(wanted).await.map(|_| ()) },
            move || {
                available.try_set(Some(wanted));
                workspace
                    .choices_stale
                    .try_update(|n| *n = n.wrapping_add(1));
            },
        );
    };
    view! {
        <button
            type="button"
            class="availability button small"
            class:available=move || available.get() == Some(true)
            aria-label=td_string!(locale, inbox.availability_label)
            aria-pressed=move || (available.get() == Some(true)).to_string()
            disabled=move || busy.get() || available.get().is_none()
            on:click=toggle
        >
            <span class="dot" aria-hidden="true"></span>
            {move || match available.get() {
                Some(false) => td_string!(locale, inbox.not_available),
                _ => td_string!(locale, inbox.available),
            }}
        </button>
        <ErrorNote error=error />
    }
}

/// What applies to the rows picked in the list: give them all to someone, or close them all
/// with one reason, in one action each (one transaction on the server).
#[component]
pub fn BulkActions() -> AnyView {
    let locale = use_locale();
    let workspace = expect_context::<Workspace>();
    workspace.want_choices(|| Box::pin(lifecycle_choices()));
    let choices = workspace.choices;
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let to = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let done = RwSignal::new(None::<usize>);
    let picked = move || workspace.picked.get().unwrap_or_default();
    let count = move || picked().len();
    let finish = move |changed: usize| {
        done.try_set(Some(changed));
        workspace.picked.try_set(Some(Vec::new()));
    };
    let assign = move |_| {
        let ids = picked();
        let target = to.get_untracked().parse().ok();
        run(
            busy,
            error,
            async move { assign_conversations(ids, target, false).await.map(finish) },
            || {},
        );
    };
    let close = move |_| {
        let ids = picked();
        let typed = reason.get_untracked();
        run(
            busy,
            error,
            async move { close_conversations(ids, typed).await.map(finish) },
            move || {
                reason.try_set(String::new());
            },
        );
    };
    view! {
        <div class="bulk" role="group" aria-label=td_string!(locale, inbox.bulk_label)>
            <p class="bulk-count" role="status">
                {move || {
                    crate::kit::form::fill(td_string!(locale, inbox.picked), &[("count", count().to_string())])
                }}
            </p>
            <div class="bulk-row">
                <label class="visually-hidden" for="bulk-assignee">
                    {td_string!(locale, inbox.assign_to)}
                </label>
                <select
                    id="bulk-assignee"
                    prop:value=move || to.get()
                    on:change=move |ev| to.set(event_target_value(&ev))
                >
                    <option value="">{td_string!(locale, inbox.nobody)}</option>
                    {move || {
                        choices
                            .get()
                            .and_then(Result::ok)
                            .map(|c| c.team)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|m| {
                                view! {
                                    <option value=m.id.to_string() disabled=!m.available>
                                        {m.name}
                                    </option>
                                }
                            })
                            .collect_view()
                    }}
                </select>
                <button
                    type="button"
                    class="button small"
                    disabled=move || busy.get() || count() == 0
                    on:click=assign
                >
                    {td_string!(locale, inbox.apply_to_selected)}
                </button>
            </div>
            <div class="bulk-row">
                <label class="visually-hidden" for="bulk-reason">
                    {td_string!(locale, inbox.close_reason)}
                </label>
                <input
                    id="bulk-reason"
                    list="bulk-reasons"
                    maxlength="200"
                    autocomplete="off"
                    placeholder=td_string!(locale, inbox.close_reason_placeholder)
                    prop:value=move || reason.get()
                    on:input=move |ev| reason.set(event_target_value(&ev))
                />
                <datalist id="bulk-reasons">
                    {move || {
                        choices
                            .get()
                            .and_then(Result::ok)
                            .map(|c| c.reasons)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|r| view! { <option value=r.label></option> })
                            .collect_view()
                    }}
                </datalist>
                <button
                    type="button"
                    class="button small"
                    disabled=move || busy.get() || count() == 0
                    on:click=close
                >
                    {td_string!(locale, inbox.close_selected)}
                </button>
            </div>
            {move || {
                done.get()
                    .map(|n| {
                        view! {
                            <p class="notice" role="status">
                                {crate::kit::form::fill(
                                    td_string!(locale, inbox.done_count),
                                    &[("count", n.to_string())],
                                )}
                            </p>
                        }
                    })
            }}
            <ErrorNote error=error />
        </div>
    }
    .into_any()
}
