//! `/settings`: the organization's settings: connected channels, templates, quick replies,
//! conversation closing and roles, each section from its own feature.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::accounts::page::{AccountsResource, AccountsSection};
use crate::accounts::{load_accounts, DisconnectAccount, SaveAccount};
use crate::auth::WithUser;
use crate::auth::{CurrentUser, RoleView};
use crate::contacts::settings::{ContactFieldsSection, CountrySection};
use crate::conversations::lifecycle::closing_settings::ClosingSection;
use crate::conversations::workspace::event_stream::{Notice, Stream};
use crate::error::AppError;
use crate::i18n::*;
use crate::kit::locale::use_locale;
use crate::kit::Forbidden;
use crate::permissions::{can_manage_settings, can_manage_users};
use crate::quick_replies::page::{QuickRepliesResource, QuickRepliesSection};
use crate::quick_replies::{load_quick_replies, DeleteQuickReply, SaveQuickReply};
use crate::roles::page::RolesSection;
use crate::roles::{DeleteRole, SaveRole};
use crate::templates::page::{TemplatesResource, TemplatesSection};
use crate::templates::{load_template_settings, SaveTemplatePrice, SyncTemplates};
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
    // What Meta says about the lines and their templates shows as it arrives.
    if can_manage_settings(&actor) {
        Stream::new().follow_notices(move |notice| {
            if matches!(notice, Notice::Lines | Notice::Missed) {
                channels.accounts.refetch();
                channels.templates.refetch();
            }
        });
    }
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
                    <CountrySection />
                    <ContactFieldsSection />
                }
            })}
        {can_manage_users(&actor).then(|| view! { <RolesSection roles save delete /> })}
    }
}
