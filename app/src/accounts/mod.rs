//! Connected accounts (R1–R5): WhatsApp lines, Facebook Pages, Instagram accounts and Twilio
//! senders, with their credentials sealed at rest.

#[cfg(feature = "ssr")]
pub mod store;

/// At most this many WhatsApp lines per organization (R2).
pub const MAX_WHATSAPP_LINES: i64 = 10;
