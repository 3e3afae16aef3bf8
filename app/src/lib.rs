//! Buzón's application: the screens, the server functions behind them, and the rules both
//! share. Compiled twice: with `ssr` into the server, with `hydrate` into the browser's WASM.
#![recursion_limit = "512"]

/// The translations (`locales/*.json`), checked at compile time.
mod translations {
    // The macro form is deprecated in favour of a build-script generator that needs several
    // heavy build dependencies; the generated module is the same.
    #![allow(deprecated)]
    leptos_i18n::load_locales!();
}
pub use translations::i18n;

/// Times and dates in the viewer's time zone.
pub mod clock;
/// How server functions answer (JSON read from text).
pub mod codec;
/// The one application error and its translation-ready parts.
pub mod error;
/// JSON read by hand in the browser.
pub mod json;
/// Assignment, reopening and automatic closing as pure rules (R33-R37).
pub mod lifecycle;
/// The page's language.
pub mod locale;
/// Who may do what: pure rules, enforced by the server and mirrored by the interface.
pub mod permissions;
/// Translated error messages and small form components.
pub mod ui;
/// Input rules for forms, shared by both sides.
pub mod validate;
/// The interaction window: what may be sent in a conversation, and when (R11-R14).
pub mod window;

/// Connected WhatsApp lines, Pages, Instagram accounts and Twilio senders.
pub mod accounts;
/// Sessions, the signed-in user, login.
pub mod auth;
/// CRM contacts as the inbox sees them: the panel, create, link, start a conversation.
pub mod contacts;
/// Conversations and messages as the browser sees them, and the changes the stream pushes.
pub mod conversations;
/// A user's own profile.
pub mod profile;
/// Quick replies: prepared answers inserted with `/` in the composer.
pub mod quick_replies;
/// Custom roles and the settings page.
pub mod roles;
/// First run: the first organization and its administrator.
pub mod setup;
/// The document, routes and navigation.
pub mod shell;
/// WhatsApp templates: sync, prices, sending.
pub mod templates;
/// The team: invitations, roles of users, deactivation.
pub mod users;

/// The database: backend choice, pool, migrations.
#[cfg(feature = "ssr")]
pub mod db;
/// The event log and the live hub.
#[cfg(feature = "ssr")]
pub mod live;
/// Outgoing email.
#[cfg(feature = "ssr")]
pub mod mail;
/// Where received and sent files are kept.
#[cfg(feature = "ssr")]
pub mod media;
/// Organizations (tenants).
#[cfg(feature = "ssr")]
pub mod orgs;
/// Provider credentials sealed with the server key.
#[cfg(feature = "ssr")]
pub mod secrets;
/// State shared by every request.
#[cfg(feature = "ssr")]
pub mod state;

pub use shell::{shell, App};
