//! `/settings`: the organization's settings: connected channels and roles.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::accounts::page::{AccountsResource, AccountsSection};
use crate::accounts::{load_accounts, DisconnectAccount, SaveAccount};
use crate::auth::{CurrentUser, RoleView};
use crate::conversations::closing_page::ClosingSection;
use crate::error::{AppError, Field};
use crate::i18n::*;
use crate::locale::use_locale;
use crate::permissions::{can_manage_settings, can_manage_users, Permission};
use crate::quick_replies::page::{QuickRepliesResource, QuickRepliesSection};
use crate::quick_replies::{load_quick_replies, DeleteQuickReply, SaveQuickReply};
use crate::roles::{DeleteRole, SaveRole};
use crate::shell::{Forbidden, WithUser};
use crate::templates::page::{TemplatesResource, TemplatesSection};
use crate::templates::{load_template_settings, SaveTemplatePrice, SyncTemplates};
use crate::ui::{action_error, error_text, permission_name, role_name, FieldError, FormError};
use crate::users::load_team;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let save = ServerAction::<SaveRole>::new();
    let delete = ServerAction::<DeleteRole>::new();
    let roles = Resource::new(
        move || (save.version().get(), delete.version().get()),
        |_| async move { load_team().await.map(|t| t.roles) },
    );
    let save_account = ServerAction::<SaveAccount>::new();
    let disconnect = ServerAction::<DisconnectAccount>::new();
    let accounts = Resource::new(
        move || (save_account.version().get(), disconnect.version().get()),
        |_| load_accounts(),
    );
    let sync = ServerAction::<SyncTemplates>::new();
    let save_price = ServerAction::<SaveTemplatePrice>::new();
    let templates = Resource::new(
        move || {
            (
                sync.version().get(),
                save_price.version().get(),
                save_account.version().get(),
                disconnect.version().get(),
            )
        },
        |_| load_template_settings(),
    );
    let save_reply = ServerAction::<SaveQuickReply>::new();
    let delete_reply = ServerAction::<DeleteQuickReply>::new();
    let replies = Resource::new(
        move || (save_reply.version().get(), delete_reply.version().get()),
        |_| load_quick_replies(),
    );
    view! {
        <WithUser children=move |user| {
            let actor = user.actor();
            if !can_manage_settings(&actor) && !can_manage_users(&actor) {
                return view! { <Forbidden /> }.into_any();
            }
            let channels = Channels {
                accounts,
                save: save_account,
                disconnect,
                templates,
                sync,
                save_price,
                replies,
                save_reply,
                delete_reply,
            };
            view! { <Settings user roles save delete channels /> }.into_any()
        } />
    }
}

/// What the connected-channels section needs, created at the page's top level.
#[derive(Clone, Copy)]
struct Channels {
    accounts: AccountsResource,
    save: ServerAction<SaveAccount>,
    disconnect: ServerAction<DisconnectAccount>,
    templates: TemplatesResource,
    sync: ServerAction<SyncTemplates>,
    save_price: ServerAction<SaveTemplatePrice>,
    replies: QuickRepliesResource,
    save_reply: ServerAction<SaveQuickReply>,
    delete_reply: ServerAction<DeleteQuickReply>,
}

#[component]
fn Settings(
    user: CurrentUser,
    roles: Resource<Result<Vec<RoleView>, AppError>>,
    save: ServerAction<SaveRole>,
    delete: ServerAction<DeleteRole>,
    channels: Channels,
) -> impl IntoView {
    let locale = use_locale();
    let actor = user.actor();
    view! {
        <Title text=td_string!(locale, settings.title) />
        <header class="page-header">
            <h1>{td_string!(locale, settings.title)}</h1>
            <p class="muted">{user.org_name.clone()}</p>
        </header>
        {can_manage_settings(&actor)
            .then(|| {
                view! {
                    <AccountsSection
                        accounts=channels.accounts
                        save=channels.save
                        disconnect=channels.disconnect
                    />
                    <TemplatesSection
                        templates=channels.templates
                        sync=channels.sync
                        save_price=channels.save_price
                    />
                    <QuickRepliesSection
                        replies=channels.replies
                        save=channels.save_reply
                        delete=channels.delete_reply
                    />
                    <ClosingSection />
                }
            })}
        {can_manage_users(&actor).then(|| view! { <RolesSection roles save delete /> })}
    }
}

#[component]
fn RolesSection(
    roles: Resource<Result<Vec<RoleView>, AppError>>,
    save: ServerAction<SaveRole>,
    delete: ServerAction<DeleteRole>,
) -> impl IntoView {
    let locale = use_locale();
    let save_error = action_error(save);
    let delete_error = action_error(delete);
    let new_name = RwSignal::new(String::new());
    let new_permissions = RwSignal::new(vec![Permission::UseInbox]);
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            new_name.set(String::new());
            new_permissions.set(vec![Permission::UseInbox]);
        }
    });

    view! {
        <section class="card">
            <h2>{td_string!(locale, settings.roles_heading)}</h2>
            <p class="muted">{td_string!(locale, settings.roles_intro)}</p>
            <FormError error=delete_error fields=&[] />
            <Transition fallback=|| view! { <p class="loading" aria-busy="true"></p> }>
                {move || Suspend::new(async move {
                    match roles.await {
                        Err(err) => {
                            view! {
                                <p class="form-error" role="alert">
                                    {error_text(locale, &err)}
                                </p>
                            }
                                .into_any()
                        }
                        Ok(roles) => {
                            view! {
                                <ul class="role-list">
                                    {roles
                                        .into_iter()
                                        .map(|role| view! { <RoleItem role delete /> })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
            <form
                class="stack-form role-form"
                on:submit=move |ev| {
                    ev.prevent_default();
                    save.dispatch(SaveRole {
                        id: None,
                        name: new_name.get_untracked(),
                        permissions: new_permissions.get_untracked(),
                    });
                }
            >
                <h3>{td_string!(locale, settings.new_role)}</h3>
                <label for="role-name">{td_string!(locale, fields.role_name)}</label>
                <input
                    id="role-name"
                    maxlength="50"
                    prop:value=new_name
                    on:input=move |ev| new_name.set(event_target_value(&ev))
                    aria-describedby="role-name-error"
                />
                <FieldError error=save_error field=Field::RoleName id="role-name-error" />
                <fieldset class="permission-grid">
                    <legend>{td_string!(locale, settings.permissions)}</legend>
                    {Permission::ALL
                        .into_iter()
                        .map(|permission| {
                            view! {
                                <label class="checkbox">
                                    <input
                                        type="checkbox"
                                        prop:checked=move || new_permissions.read().contains(&permission)
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            new_permissions
                                                .update(|set| {
                                                    set.retain(|p| *p != permission);
                                                    if on {
                                                        set.push(permission);
                                                    }
                                                });
                                        }
                                    />
                                    <span>{move || permission_name(locale, permission)}</span>
                                </label>
                            }
                        })
                        .collect_view()}
                </fieldset>
                <FormError error=save_error fields=&[Field::RoleName] />
                <div class="form-actions">
                    <button type="submit" class="button primary" disabled=move || save.pending().get()>
                        {td_string!(locale, settings.create_role)}
                    </button>
                </div>
            </form>
        </section>
    }
}

#[component]
fn RoleItem(role: RoleView, delete: ServerAction<DeleteRole>) -> impl IntoView {
    let locale = use_locale();
    let id = role.id;
    let builtin = role.builtin.is_some();
    let permissions: Vec<Permission> = role.permissions.iter().collect();
    view! {
        <li class="role">
            <div class="role-head">
                <strong>{move || role_name(locale, &role.name, role.builtin)}</strong>
                {builtin.then(|| view! { <span class="badge">{td_string!(locale, settings.builtin)}</span> })}
                {(!builtin)
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="button small danger"
                                on:click=move |_| {
                                    delete.dispatch(DeleteRole { id });
                                }
                            >
                                {td_string!(locale, settings.delete_role)}
                            </button>
                        }
                    })}
            </div>
            <ul class="chips">
                {if permissions.is_empty() {
                    view! { <li class="chip muted">{td_string!(locale, settings.no_permissions)}</li> }.into_any()
                } else {
                    permissions
                        .into_iter()
                        .map(|p| view! { <li class="chip">{move || permission_name(locale, p)}</li> })
                        .collect_view()
                        .into_any()
                }}
            </ul>
        </li>
    }
}
