//! The interface kit every screen is built from: moving between pages, lazy-loaded chunks,
//! icons, form pieces and translated messages, what the browser itself offers, the page's
//! language and the viewer's clock. It knows no feature.

/// What the browser itself offers: confirm, local storage, a chime, focus, uploads, the
/// microphone. On the server each is a no-op.
pub mod browser;
/// Times and dates in the viewer's time zone.
pub mod clock;
/// What a page shows to someone whose role does not allow it.
mod forbidden;
/// Translated error messages and small form components.
pub mod form;
/// The icons.
pub mod icons;
/// The language switch of the pages before signing in.
mod language_switch;
/// What a WhatsApp line's standing with Meta means, in words.
pub mod line_standing;
/// The page's language.
pub mod locale;
/// Which page an address shows, and moving between pages in place.
pub mod nav;
/// Code split out of the first bundle, fetched when first shown.
pub mod split;

pub use forbidden::Forbidden;
pub use language_switch::LanguageSwitch;
