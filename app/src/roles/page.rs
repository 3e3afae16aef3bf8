//! The roles section of the settings page: custom roles and their permissions.

use leptos::prelude::*;

use super::{DeleteRole, SaveRole};
use crate::auth::RoleView;
use crate::error::{AppError, Field};
use crate::i18n::*;
use crate::kit::form::{
    action_error, error_alert, permission_name, role_name, FormError, FormField,
};
use crate::kit::locale::use_locale;
use crate::permissions::Permission;

#[component]
pub fn RolesSection(
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
                        Err(err) => error_alert(locale, &err),
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
                <FormField id="role-name" label={td_string!(locale, fields.role_name)} field=Field::RoleName error=save_error>
                    <input
                        id="role-name"
                        maxlength="50"
                        prop:value=new_name
                        on:input=move |ev| new_name.set(event_target_value(&ev))
                        aria-describedby="role-name-error"
                    />
                </FormField>
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
