//! Which files each channel accepts: a file's type is read from its first bytes, never
//! from its name, then checked against the channel's types and size limits. Pure, so the
//! composer can check before uploading and the server enforces the same rule.

use serde::{Deserialize, Serialize};

use crate::{Channel, MediaKind};

const MB: u64 = 1024 * 1024;

/// The media type of a file, from its content. `None` when it is not a known kind.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    let at = |offset: usize, magic: &[u8]| {
        bytes.len() >= offset + magic.len() && &bytes[offset..offset + magic.len()] == magic
    };
    if starts(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if starts(b"RIFF") && at(8, b"WEBP") {
        Some("image/webp")
    } else if starts(b"RIFF") && at(8, b"WAVE") {
        Some("audio/wav")
    } else if starts(b"RIFF") && at(8, b"AVI ") {
        Some("video/x-msvideo")
    } else if starts(b"%PDF-") {
        Some("application/pdf")
    } else if starts(b"OggS") {
        Some("audio/ogg")
    } else if starts(b"#!AMR") {
        Some("audio/amr")
    } else if starts(b"ID3") || (bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xE6 == 0xE2) {
        Some("audio/mpeg")
    } else if bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xF6 == 0xF0 {
        Some("audio/aac")
    } else if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("video/webm")
    } else if at(4, b"ftyp") {
        let brand = bytes.get(8..11).unwrap_or_default();
        if brand == b"3gp" {
            Some("video/3gpp")
        } else if brand == b"qt " {
            Some("video/quicktime")
        } else if bytes.get(8..11) == Some(b"M4A") {
            Some("audio/mp4")
        } else {
            Some("video/mp4")
        }
    } else if starts(b"PK\x03\x04") {
        Some("application/zip")
    } else if starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Some("application/x-ole-storage")
    } else if !bytes.is_empty()
        && !bytes.contains(&0)
        && std::str::from_utf8(&bytes[..bytes.len().min(4096)]).is_ok()
    {
        Some("text/plain")
    } else {
        None
    }
}

/// The type to store and send: the sniffed one, refined by the declared one where the
/// content alone cannot tell (Office documents are ZIP or OLE containers).
pub fn effective_type(sniffed: &str, declared: Option<&str>) -> String {
    let declared = declared.map(|d| d.split(';').next().unwrap_or(d).trim().to_ascii_lowercase());
    let office_zip = [
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ];
    let office_ole = [
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
    ];
    match (sniffed, declared.as_deref()) {
        ("application/zip", Some(d)) if office_zip.contains(&d) => d.to_string(),
        ("application/x-ole-storage", Some(d)) if office_ole.contains(&d) => d.to_string(),
        // A UTF-8 text file declared as CSV stays text.
        (sniffed, _) => sniffed.to_string(),
    }
}

/// How a file of this type is shown and sent.
pub fn kind_of(mime_type: &str) -> MediaKind {
    match mime_type {
        "image/gif" => MediaKind::Gif,
        "image/webp" => MediaKind::Sticker,
        m if m.starts_with("image/") => MediaKind::Image,
        m if m.starts_with("video/") => MediaKind::Video,
        m if m.starts_with("audio/") => MediaKind::Audio,
        _ => MediaKind::Document,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum FileRefusal {
    #[error("this channel does not accept this type of file")]
    Type,
    #[error("the file is larger than this channel allows ({max_bytes} bytes)")]
    TooLarge { max_bytes: u64 },
    #[error("the file is empty")]
    Empty,
}

/// The largest file of `mime_type` the channel accepts, or `None` if it takes no such type.
pub fn limit(channel: Channel, mime_type: &str) -> Option<u64> {
    match channel {
        Channel::Whatsapp | Channel::Twilio => match mime_type {
            "image/jpeg" | "image/png" => Some(5 * MB),
            "image/webp" => Some(500 * 1024),
            "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" | "audio/ogg" => Some(16 * MB),
            "video/mp4" | "video/3gpp" => Some(16 * MB),
            "text/plain"
            | "application/pdf"
            | "application/msword"
            | "application/vnd.ms-excel"
            | "application/vnd.ms-powerpoint"
            | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            | "application/vnd.openxmlformats-officedocument.presentationml.presentation" => {
                Some(100 * MB)
            }
            _ => None,
        },
        Channel::Messenger => match mime_type {
            "image/jpeg" | "image/png" | "image/gif" => Some(8 * MB),
            m if m.starts_with("image/")
                || m.starts_with("video/")
                || m.starts_with("audio/")
                || m.starts_with("application/")
                || m == "text/plain" =>
            {
                Some(25 * MB)
            }
            _ => None,
        },
        Channel::Instagram => match mime_type {
            "image/jpeg" | "image/png" | "image/gif" => Some(8 * MB),
            "video/mp4" | "audio/ogg" | "video/x-msvideo" | "video/quicktime" | "video/webm" => {
                Some(25 * MB)
            }
            "audio/aac" | "audio/mp4" | "audio/wav" => Some(25 * MB),
            "application/pdf" => Some(25 * MB),
            _ => None,
        },
    }
}

/// The largest file of `mime_type` that `channel` takes, or without a channel (a file kept for
/// later) that any channel takes: where an upload of that type is cut off while it arrives.
pub fn largest(channel: Option<Channel>, mime_type: &str) -> Option<u64> {
    match channel {
        Some(channel) => limit(channel, mime_type),
        None => [Channel::Whatsapp, Channel::Messenger, Channel::Instagram]
            .into_iter()
            .filter_map(|c| limit(c, mime_type))
            .max(),
    }
}

/// Whether some channel accepts a file of this type and size: a file kept to be sent later
/// (a quick reply's) on a channel not known yet. Each send checks its own channel again.
pub fn check_any(mime_type: &str, size: u64) -> Result<(), FileRefusal> {
    let all = [Channel::Whatsapp, Channel::Messenger, Channel::Instagram];
    let results: Vec<_> = all.iter().map(|c| check(*c, mime_type, size)).collect();
    if results.iter().any(Result::is_ok) {
        return Ok(());
    }
    let largest = results
        .iter()
        .filter_map(|r| match r {
            Err(FileRefusal::TooLarge { max_bytes }) => Some(*max_bytes),
            _ => None,
        })
        .max();
    Err(match (size, largest) {
        (0, _) => FileRefusal::Empty,
        (_, Some(max_bytes)) => FileRefusal::TooLarge { max_bytes },
        _ => FileRefusal::Type,
    })
}

/// Whether the channel accepts a file of this (sniffed) type and size.
pub fn check(channel: Channel, mime_type: &str, size: u64) -> Result<(), FileRefusal> {
    if size == 0 {
        return Err(FileRefusal::Empty);
    }
    let max_bytes = limit(channel, mime_type).ok_or(FileRefusal::Type)?;
    if size > max_bytes {
        return Err(FileRefusal::TooLarge { max_bytes });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_file_of_a_type_is_the_channels_or_any_channels() {
        assert_eq!(largest(Some(Channel::Whatsapp), "image/jpeg"), Some(5 * MB));
        assert_eq!(largest(None, "image/jpeg"), Some(8 * MB));
        assert_eq!(largest(None, "application/pdf"), Some(100 * MB));
        assert_eq!(largest(Some(Channel::Instagram), "text/plain"), None);
        assert_eq!(largest(None, "text/html"), None);
    }

    #[test]
    fn types_come_from_content_not_names() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff(b"OggS\0\x02"), Some("audio/ogg"));
        assert_eq!(sniff(b"\0\0\0\x20ftypisom"), Some("video/mp4"));
        assert_eq!(sniff(b"\0\0\0\x20ftyp3gp5"), Some("video/3gpp"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"GIF89a...."), Some("image/gif"));
        assert_eq!(
            sniff("Cotización: 3 unidades".as_bytes()),
            Some("text/plain")
        );
        assert_eq!(
            sniff(&[0x4D, 0x5A, 0x90, 0x00, 0x03]),
            None,
            "an executable is nothing we know"
        );
    }

    #[test]
    fn office_documents_need_their_declared_type() {
        let docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        assert_eq!(effective_type("application/zip", Some(docx)), docx);
        assert_eq!(
            effective_type("application/zip", Some("application/pdf")),
            "application/zip"
        );
        assert_eq!(
            effective_type("application/x-ole-storage", Some("application/msword")),
            "application/msword"
        );
        // A renamed PDF is a PDF whatever it claims to be.
        assert_eq!(
            effective_type("application/pdf", Some("image/png")),
            "application/pdf"
        );
    }

    #[test]
    fn whatsapp_limits_by_type() {
        assert_eq!(check(Channel::Whatsapp, "image/jpeg", 5 * MB), Ok(()));
        assert_eq!(
            check(Channel::Whatsapp, "image/jpeg", 5 * MB + 1),
            Err(FileRefusal::TooLarge { max_bytes: 5 * MB })
        );
        assert_eq!(check(Channel::Whatsapp, "application/pdf", 90 * MB), Ok(()));
        assert_eq!(
            check(Channel::Whatsapp, "image/gif", 10),
            Err(FileRefusal::Type)
        );
        assert_eq!(
            check(Channel::Whatsapp, "application/zip", 10),
            Err(FileRefusal::Type)
        );
        assert_eq!(
            check(Channel::Whatsapp, "application/pdf", 0),
            Err(FileRefusal::Empty)
        );
    }

    #[test]
    fn messenger_and_instagram_limits() {
        assert_eq!(
            check(Channel::Messenger, "application/pdf", 25 * MB),
            Ok(())
        );
        assert!(check(Channel::Messenger, "application/pdf", 25 * MB + 1).is_err());
        assert_eq!(check(Channel::Instagram, "image/gif", 8 * MB), Ok(()));
        assert_eq!(
            check(Channel::Instagram, "text/plain", 10),
            Err(FileRefusal::Type)
        );
    }

    #[test]
    fn kinds_follow_types() {
        assert_eq!(kind_of("image/png"), MediaKind::Image);
        assert_eq!(kind_of("image/gif"), MediaKind::Gif);
        assert_eq!(kind_of("audio/ogg"), MediaKind::Audio);
        assert_eq!(kind_of("application/pdf"), MediaKind::Document);
    }

    #[test]
    fn a_file_kept_for_later_needs_one_channel_that_takes_it() {
        assert_eq!(check_any("application/pdf", 10), Ok(()));
        // Messenger takes any document up to 25 MB.
        assert_eq!(check_any("application/zip", 10), Ok(()));
        assert_eq!(check_any("text/html", 0), Err(FileRefusal::Empty));
        assert_eq!(
            check_any("image/png", 9 * MB),
            Err(FileRefusal::TooLarge { max_bytes: 8 * MB })
        );
        assert_eq!(check_any("font/woff", 10), Err(FileRefusal::Type));
    }
}
