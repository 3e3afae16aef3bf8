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

// Layers, from the bottom up; a module imports only from the layers below its own, and a
// feature from the features listed in `layers.rs`, whose test checks it.

// Rules and shared data: pure, on both sides.
/// A stored file as the screens see it.
pub mod attachments;
/// What happens to a new conversation's contact, per connected account.
pub mod auto_contacts;
/// How server functions answer (JSON read from text).
pub mod codec;
/// Moments in UTC epoch milliseconds, the unit of every timestamp.
pub mod epoch;
/// The one application error and its translation-ready parts.
pub mod error;
/// JSON read by hand in the browser.
pub mod json;
/// Assignment, reopening and automatic closing as pure rules.
pub mod lifecycle;
/// Who may do what: pure rules, enforced by the server and mirrored by the interface.
pub mod permissions;
/// How a typed search matches names, numbers and usernames.
pub mod search;
/// A WhatsApp line's standing with Meta: restrictions, bans, quality, limits.
pub mod standing;
/// Input rules for forms, shared by both sides.
pub mod validate;
/// The interaction window: what may be sent in a conversation, and when.
pub mod window;

// The interface kit.
/// Navigation, lazy-loaded chunks, icons, form pieces, browser helpers, language, clock.
pub mod kit;

// Infrastructure (server only).
/// The database: backend choice, pool, migrations.
#[cfg(feature = "ssr")]
pub mod db;
/// The event log and the live hub.
#[cfg(feature = "ssr")]
pub mod event_log;
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

// Who is signed in.
/// Sessions, the signed-in user, login.
pub mod auth;

// The features.
/// Connected WhatsApp lines, Pages, Instagram accounts and Twilio senders.
pub mod accounts;
/// CRM contacts.
pub mod contacts;
/// Conversations and messages: the inbox, its live state, the lifecycle.
pub mod conversations;
/// What reaches a user outside the open conversation: push, email, the centre, the chime.
pub mod notifications;
/// A user's own profile.
pub mod profile;
/// Quick replies: prepared answers inserted with `/` in the composer.
pub mod quick_replies;
/// Custom roles.
pub mod roles;
/// First run: the first organization and its administrator.
pub mod setup;
/// WhatsApp templates: sync and prices.
pub mod templates;
/// The team: invitations, roles of users, deactivation.
pub mod users;

// Pages that compose features, then the frame at the top.
/// Settings and the small pages of the frame.
pub mod pages;
/// The document, the page chosen by address, and the navigation.
pub mod shell;

pub use shell::{shell, App};

#[cfg(test)]
mod layers;
