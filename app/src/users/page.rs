//! `/users`: invite people, change their role, deactivate and reactivate them.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::RoleView;
use crate::auth::WithUser;
use crate::error::{AppError, Field};
use crate::i18n::*;
use crate::kit::form::{action_error, error_alert, fill, role_name, FieldError, FormError};
use crate::kit::locale::use_locale;
use crate::kit::Forbidden;
use crate::permissions::{can_manage_users, PermissionSet};
use crate::users::{load_team, ChangeUserRole, InviteUser, SetUserActive, TeamMember, UserStatus};

#[component]
pub fn UsersPage() -> impl IntoView {
    let invite = ServerAction::<InviteUser>::new();
    let change_role = ServerAction::<ChangeUserRole>::new();
    let set_active = ServerAction::<SetUserActive>::new();
    let team = Resource::new(
        move || {
            (
                invite.version().get(),
                change_role.version().get(),
                set_active.version().get(),
            )
        },
        |_| load_team(),
    );
    let invite_error = action_error(invite);
    let change_error = Signal::derive(move || {
        action_error(change_role)
            .get()
            .or_else(|| action_error(set_active).get())
    });

    view! {
        <WithUser children=move |user| {
            if !can_manage_users(&user.actor()) {
                return view! { <Forbidden /> }.into_any();
            }
            view! { <Team team invite change_role set_active invite_error change_error /> }.into_any()
        } />
    }
}

#[component]
fn Team(
    team: Resource<Result<crate::users::Team, AppError>>,
    invite: ServerAction<InviteUser>,
    change_role: ServerAction<ChangeUserRole>,
    set_active: ServerAction<SetUserActive>,
    invite_error: Signal<Option<AppError>>,
    change_error: Signal<Option<AppError>>,
) -> impl IntoView {
    let locale = use_locale();
    view! {
        <Title text=td_string!(locale, users.title) />
        <header class="page-header">
            <h1>{td_string!(locale, users.title)}</h1>
        </header>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true"></p> }>
            {move || Suspend::new(async move {
                match team.await {
                    Err(err) => error_alert(locale, &err),
                    Ok(team) => {
                        let roles = StoredValue::new(team.roles.clone());
                        let me = team.me;
                        let mine = team.my_permissions;
                        view! {
                            <section class="card">
                                <h2>{td_string!(locale, users.invite_heading)}</h2>
                                <ActionForm action=invite attr:class="inline-form">
                                    <div class="field grow">
                                        <label for="invite-email">{td_string!(locale, fields.email)}</label>
                                        <input
                                            id="invite-email"
                                            name="email"
                                            type="email"
                                            required
                                            autocomplete="off"
                                            aria-describedby="invite-email-error"
                                        />
                                        <FieldError
                                            error=invite_error
                                            field=Field::Email
                                            id="invite-email-error"
                                        />
                                    </div>
                                    <div class="field">
                                        <label for="invite-role">{td_string!(locale, fields.role)}</label>
                                        <select
                                            id="invite-role"
                                            name="role_id"
                                            aria-describedby="invite-role-error"
                                        >
                                            {roles
                                                .get_value()
                                                .into_iter()
                                                .filter(|role| mine.covers(role.permissions))
                                                .map(|role| role_option(locale, &role, None))
                                                .collect_view()}
                                        </select>
                                        <FieldError
                                            error=invite_error
                                            field=Field::Role
                                            id="invite-role-error"
                                        />
                                    </div>
                                    <button
                                        type="submit"
                                        class="button primary"
                                        disabled=move || invite.pending().get()
                                    >
                                        {td_string!(locale, users.invite_submit)}
                                    </button>
                                </ActionForm>
                                <FormError error=invite_error fields=&[Field::Email, Field::Role] />
                                <InviteResult invite />
                            </section>
                            <section class="card">
                                <h2>{td_string!(locale, users.members_heading)}</h2>
                                <FormError error=change_error fields=&[] />
                                <ul class="member-list">
                                    {team
                                        .members
                                        .into_iter()
                                        .map(|member| {
                                            view! {
                                                <MemberRow
                                                    member
                                                    me
                                                    mine
                                                    roles
                                                    change_role
                                                    set_active
                                                />
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            </section>
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

fn role_option(locale: Locale, role: &RoleView, selected: Option<i64>) -> impl IntoView {
    view! {
        <option value=role.id.to_string() selected=selected == Some(role.id)>
            {role_name(locale, &role.name, role.builtin)}
        </option>
    }
}

/// After an invitation: confirmation, and the link to copy when no email was sent.
#[component]
fn InviteResult(invite: ServerAction<InviteUser>) -> impl IntoView {
    let locale = use_locale();
    move || {
        invite.value().get().and_then(Result::ok).map(|outcome| {
            let email = outcome.email.clone();
            match outcome.link {
                None => view! {
                    <p class="notice" role="status">
                        {move || fill(td_string!(locale, users.invite_emailed), &[("email", email.clone())]).to_string()}
                    </p>
                }
                .into_any(),
                Some(link) => view! {
                    <div class="notice" role="status">
                        <p>
                            {move || fill(td_string!(locale, users.invite_link), &[("email", email.clone())]).to_string()}
                        </p>
                        <div class="copy-row">
                            <input
                                readonly
                                id="invite-link"
                                aria-label=td_string!(locale, users.invite_link_label)
                                value=link.clone()
                                on:focus=|ev| {
                                    use wasm_bindgen::JsCast;
                                    if let Some(input) = ev
                                        .target()
                                        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                                    {
                                        input.select();
                                    }
                                }
                            />
                            <CopyButton text=link.clone() />
                        </div>
                    </div>
                }
                .into_any(),
            }
        })
    }
}

#[component]
fn CopyButton(text: String) -> impl IntoView {
    let locale = use_locale();
    let copied = RwSignal::new(false);
    let copy = move |_| {
        if let Some(window) = web_sys::window() {
            let _ = window.navigator().clipboard().write_text(&text);
            copied.set(true);
        }
    };
    view! {
        <button type="button" class="button" on:click=copy>
            {move || {
                if copied.get() {
                    td_string!(locale, users.copied).to_string()
                } else {
                    td_string!(locale, users.copy).to_string()
                }
            }}
        </button>
    }
}

#[component]
fn MemberRow(
    member: TeamMember,
    me: i64,
    mine: PermissionSet,
    roles: StoredValue<Vec<RoleView>>,
    change_role: ServerAction<ChangeUserRole>,
    set_active: ServerAction<SetUserActive>,
) -> impl IntoView {
    let locale = use_locale();
    let is_me = member.id == me;
    // Someone whose role grants more than the viewer holds is out of their reach.
    let in_reach = !is_me
        && roles.with_value(|roles| {
            roles
                .iter()
                .find(|role| role.id == member.role_id)
                .is_some_and(|role| mine.covers(role.permissions))
        });
    let user_id = member.id;
    let status = member.status;
    let display_name = if member.name.is_empty() {
        member.email.clone()
    } else {
        member.name.clone()
    };
    let select_id = format!("role-{user_id}");
    view! {
        <li class="member" class:inactive=status == UserStatus::Deactivated>
            <div class="member-who">
                <span class="avatar" aria-hidden="true">
                    {display_name.chars().next().unwrap_or('?').to_uppercase().to_string()}
                </span>
                <div>
                    <p class="member-name">
                        {display_name.clone()}
                        {is_me.then(|| view! { <span class="badge">{td_string!(locale, users.you)}</span> })}
                    </p>
                    <p class="muted small">{member.email.clone()}</p>
                </div>
            </div>
            <div class="member-controls">
                <label class="visually-hidden" for=select_id.clone()>
                    {move || fill(td_string!(locale, users.role_of), &[("name", display_name.clone())]).to_string()}
                </label>
                <select
                    id=select_id
                    disabled=!in_reach
                    on:change=move |ev| {
                        change_role
                            .dispatch(ChangeUserRole {
                                user_id,
                                role_id: event_target_value(&ev),
                            });
                    }
                >
                    {roles
                        .get_value()
                        .iter()
                        .filter(|role| role.id == member.role_id || mine.covers(role.permissions))
                        .map(|role| role_option(locale, role, Some(member.role_id)))
                        .collect_view()}
                </select>
                <span class=format!("status status-{}", status.key())>
                    {match status {
                        UserStatus::Invited => td_string!(locale, users.status_invited).into_any(),
                        UserStatus::Active => td_string!(locale, users.status_active).into_any(),
                        UserStatus::Deactivated => td_string!(locale, users.status_deactivated).into_any(),
                    }}
                </span>
                {in_reach
                    .then(|| {
                        let activate = status == UserStatus::Deactivated;
                        view! {
                            <button
                                type="button"
                                class="button small"
                                class:danger=!activate
                                on:click=move |_| {
                                    set_active
                                        .dispatch(SetUserActive {
                                            user_id,
                                            active: activate,
                                        });
                                }
                            >
                                {if activate {
                                    td_string!(locale, users.reactivate).into_any()
                                } else {
                                    td_string!(locale, users.deactivate).into_any()
                                }}
                            </button>
                        }
                    })}
            </div>
        </li>
    }
}
