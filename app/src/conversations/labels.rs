//! How a conversation and its messages are named and marked in the list and the chat.

use channels::Channel;

use super::ConversationSummary;

/// The name a conversation is shown with: the contact's, the profile's, the username or the
/// number.
pub fn display_name(c: &ConversationSummary) -> String {
    c.contact_name
        .clone()
        .or_else(|| c.customer_name.clone())
        .or_else(|| c.customer_username.clone().map(|u| format!("@{u}")))
        .unwrap_or_else(|| match c.channel {
            Channel::Whatsapp | Channel::Twilio => format!("+{}", c.customer_key),
            Channel::Messenger | Channel::Instagram => c.customer_key.clone(),
        })
}

/// The avatar's letters: the first letter of the name's first two words that start with one
/// ("Cliente 30" is "C", not "C3"); a name without letters (a number) shows its first digit.
pub fn initials(name: &str) -> String {
    let firsts = || {
        name.split_whitespace()
            .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
    };
    let letters: String = firsts().filter(|c| c.is_alphabetic()).take(2).collect();
    if letters.is_empty() {
        firsts().take(1).collect()
    } else {
        letters.to_uppercase()
    }
}

pub fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Whatsapp => "WhatsApp",
        Channel::Messenger => "Messenger",
        Channel::Instagram => "Instagram",
        Channel::Twilio => "Twilio",
    }
}

/// The symbol a message kind is previewed with.
pub fn kind_icon(kind: &str) -> &'static str {
    match kind {
        "image" | "gif" => "📷 ",
        "video" => "🎬 ",
        "audio" | "voice" => "🎤 ",
        "document" => "📄 ",
        "sticker" => "💟 ",
        "location" => "📍 ",
        "template" => "📋 ",
        _ => "",
    }
}
