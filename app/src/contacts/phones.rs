//! Phone numbers as contacts keep them: E.164 (`+525512345678`), read with libphonenumber's
//! rules and the organization's country for numbers typed without a prefix, and shown the way
//! people of that country write them.

use phonenumber::{country, Mode};

use crate::error::Problem;

/// A number as typed by a person or given by a channel, in E.164. Without `+`, it is read as a
/// number of `country` (ISO 3166, e.g. `MX`); without a country, a number long enough to carry
/// its country code (WhatsApp's ids: `5215512345678`) is read as international.
pub fn normalize(text: &str, country: Option<&str>) -> Result<String, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Problem::Required);
    }
    if text.len() > 40
        || !text
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        return Err(Problem::Malformed);
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let region = country.and_then(|c| c.trim().to_ascii_uppercase().parse::<country::Id>().ok());
    let international = text.starts_with('+') || (region.is_none() && digits.len() >= 11);
    let candidate = if international {
        format!("+{}", mexican_mobile(&digits))
    } else {
        text.to_string()
    };
    let number = phonenumber::parse(if international { None } else { region }, &candidate)
        .map_err(|_| Problem::Malformed)?;
    if !phonenumber::is_valid(&number) {
        return Err(Problem::Malformed);
    }
    let e164 = number.format().mode(Mode::E164).to_string();
    Ok(format!("+{}", mexican_mobile(e164.trim_start_matches('+'))))
}

/// A WhatsApp id (`5215512345678`, the number's digits) as a contact's number; kept as
/// `+digits` if libphonenumber does not know it. A customer known by a username instead of a
/// number (a business-scoped user id) has none.
pub fn from_whatsapp(wa_id: &str) -> Option<String> {
    let digits = wa_id.trim_start_matches('+');
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(normalize(&format!("+{digits}"), None).unwrap_or_else(|_| format!("+{digits}")))
}

/// Mexico's mobiles lost the `1` after `+52` in 2019; WhatsApp still writes them with it
/// (`521…`). Both are one number: kept without it, so that either matches the other.
fn mexican_mobile(digits: &str) -> String {
    match digits.strip_prefix("521") {
        Some(rest) if rest.len() == 10 => format!("52{rest}"),
        _ => digits.to_string(),
    }
}

/// The digits of a number being searched for, as numbers are kept: WhatsApp's Mexican
/// `521…` found as the `52…` stored.
pub fn search_digits(digits: &str) -> String {
    match digits.strip_prefix("521") {
        Some(rest) if rest.len() >= 2 => format!("52{rest}"),
        _ => digits.to_string(),
    }
}

/// `number` (E.164) as people write it: in the national format when it is of `country`, in
/// the international one otherwise. A number that does not parse is shown as stored.
pub fn display(number: &str, country: Option<&str>) -> String {
    let Ok(parsed) = phonenumber::parse(None, number) else {
        return number.to_string();
    };
    let home = country.and_then(|c| c.trim().to_ascii_uppercase().parse::<country::Id>().ok());
    let mode = if home.is_some() && parsed.country().id() == home {
        Mode::National
    } else {
        Mode::International
    };
    parsed.format().mode(mode).to_string()
}

/// Whether `country` is a country libphonenumber knows (ISO 3166 alpha-2).
pub fn known_country(country: &str) -> bool {
    country.len() == 2 && country.to_ascii_uppercase().parse::<country::Id>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_typed_every_way_are_one_number() {
        for typed in [
            "55 1234 5678",
            "(55) 1234-5678",
            "+52 55 1234 5678",
            "+52 1 55 1234 5678",
        ] {
            assert_eq!(
                normalize(typed, Some("MX")).as_deref(),
                Ok("+525512345678"),
                "{typed}"
            );
        }
        // WhatsApp's id of the same Mexican mobile, with no country to go by.
        assert_eq!(
            normalize("5215512345678", None).as_deref(),
            Ok("+525512345678")
        );
        assert_eq!(
            from_whatsapp("5215512345678").as_deref(),
            Some("+525512345678")
        );
        assert_eq!(
            from_whatsapp("15550001234").as_deref(),
            Some("+15550001234")
        );
        assert_eq!(from_whatsapp("US.13491208655302741918"), None);
        assert_eq!(search_digits("5215512345"), "525512345");
        assert_eq!(search_digits("5512345"), "5512345");
        assert_eq!(
            normalize("+54 9 11 5555-6666", Some("MX")).as_deref(),
            Ok("+5491155556666")
        );
        assert_eq!(
            normalize("011 15-5555-6666", Some("AR")).as_deref(),
            Ok("+5491155556666")
        );
        assert_eq!(
            normalize("300 123 4567", Some("co")).as_deref(),
            Ok("+573001234567")
        );
    }

    #[test]
    fn what_is_not_a_number_is_refused() {
        assert_eq!(normalize("  ", Some("MX")), Err(Problem::Required));
        assert_eq!(normalize("hola", Some("MX")), Err(Problem::Malformed));
        assert_eq!(normalize("123", Some("MX")), Err(Problem::Malformed));
        assert_eq!(normalize("55 1234 5678", None), Err(Problem::Malformed));
        assert_eq!(
            normalize("+52 55 1234 5678 99999", Some("MX")),
            Err(Problem::Malformed)
        );
    }

    #[test]
    fn numbers_show_as_their_country_writes_them() {
        assert_eq!(display("+525512345678", Some("MX")), "55 1234 5678");
        assert_eq!(display("+525512345678", Some("AR")), "+52 55 1234 5678");
        assert_eq!(display("+525512345678", None), "+52 55 1234 5678");
        assert_eq!(display("no es un número", Some("MX")), "no es un número");
        assert!(known_country("mx") && !known_country("XX") && !known_country("MEX"));
    }
}
