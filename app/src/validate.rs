//! Input rules for the forms, shared by the server (which enforces them) and the browser.

use crate::error::{AppError, Field, Problem};

pub const NAME_MAX: usize = 100;
pub const EMAIL_MAX: usize = 254;
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 256;
pub const ROLE_NAME_MAX: usize = 50;

/// A trimmed, non-empty text of at most `max` characters.
pub fn text(field: Field, value: &str, max: usize) -> Result<String, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::invalid(field, Problem::Required));
    }
    if value.chars().count() > max {
        return Err(AppError::invalid(field, Problem::TooLong { max }));
    }
    Ok(value.to_string())
}

/// A person's or an organization's name.
pub fn name(field: Field, value: &str) -> Result<String, AppError> {
    text(field, value, NAME_MAX)
}

/// An email address, normalised to lower case. Deliberately simple: one `@`, something before
/// it, a dotted domain after it, no spaces. The real check is the invitation email arriving.
pub fn email(value: &str) -> Result<String, AppError> {
    let value = text(Field::Email, value, EMAIL_MAX)?.to_lowercase();
    let malformed = || AppError::invalid(Field::Email, Problem::Malformed);
    let (local, domain) = value.split_once('@').ok_or_else(malformed)?;
    let domain_ok = !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty() || !domain_ok || value.chars().any(char::is_whitespace) {
        return Err(malformed());
    }
    Ok(value)
}

/// A new password. Length is what matters; no composition rules.
pub fn new_password(field: Field, value: &str) -> Result<String, AppError> {
    let count = value.chars().count();
    if count == 0 {
        return Err(AppError::invalid(field, Problem::Required));
    }
    if count < PASSWORD_MIN {
        return Err(AppError::invalid(
            field,
            Problem::TooShort { min: PASSWORD_MIN },
        ));
    }
    if count > PASSWORD_MAX {
        return Err(AppError::invalid(
            field,
            Problem::TooLong { max: PASSWORD_MAX },
        ));
    }
    Ok(value.to_string())
}

/// A link a customer's message may carry as a link: http or https only, so that a
/// `javascript:` or `data:` address from a webhook never becomes something to click.
pub fn web_link(url: &str) -> Option<&str> {
    let scheme = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (scheme.starts_with("https://") || scheme.starts_with("http://")).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(email("  Ana@Empresa.MX ").unwrap(), "ana@empresa.mx");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "ana",
            "ana@",
            "@empresa.mx",
            "ana@empresa",
            "a b@c.mx",
            "a@@c.mx",
            "a@c..mx",
        ] {
            assert_eq!(
                email(bad),
                Err(AppError::invalid(Field::Email, Problem::Malformed)),
                "{bad}"
            );
        }
        assert_eq!(
            email("   "),
            Err(AppError::invalid(Field::Email, Problem::Required))
        );
    }

    #[test]
    fn names_are_required_and_bounded() {
        assert_eq!(name(Field::Name, " Ana ").unwrap(), "Ana");
        assert_eq!(
            name(Field::Name, ""),
            Err(AppError::invalid(Field::Name, Problem::Required))
        );
        let long = "ñ".repeat(NAME_MAX + 1);
        assert_eq!(
            name(Field::Name, &long),
            Err(AppError::invalid(
                Field::Name,
                Problem::TooLong { max: NAME_MAX }
            ))
        );
        assert!(name(Field::Name, &"ñ".repeat(NAME_MAX)).is_ok());
    }

    #[test]
    fn passwords_have_a_minimum_length() {
        assert!(new_password(Field::Password, "12345678").is_ok());
        assert_eq!(
            new_password(Field::Password, "1234567"),
            Err(AppError::invalid(
                Field::Password,
                Problem::TooShort { min: PASSWORD_MIN }
            ))
        );
    }

    #[test]
    fn only_web_addresses_are_links() {
        assert_eq!(
            web_link("https://instagram.com/p/1"),
            Some("https://instagram.com/p/1")
        );
        assert_eq!(web_link("HTTP://example.com"), Some("HTTP://example.com"));
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:x",
            "//evil.example",
            "",
            "http:",
        ] {
            assert_eq!(web_link(bad), None, "{bad}");
        }
    }
}
