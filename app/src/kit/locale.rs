//! The page's language. The server chooses it for each request (the language cookie the
//! profile and the sign-in set, else the browser's preferred languages, else Spanish) and
//! writes it into `<html lang>`; the browser reads it from there. It stays fixed for the page's
//! life, so translated text is written once and never watched; choosing another language
//! loads the page again.

use leptos::prelude::*;

use crate::i18n::Locale;
use crate::kit::clock::find_cookie;
use serde::{Deserialize, Serialize};

/// The cookie that keeps the chosen language.
pub const LANGUAGE_COOKIE: &str = "i18n_pref_locale";

/// The language every view of this page is written in.
pub fn use_locale() -> Locale {
    use_context::<Locale>().unwrap_or_default()
}

/// Makes the page's language known to every view under the caller.
pub fn provide_locale() {
    provide_context(page_language().locale());
}

/// The language the server chose for this request.
#[cfg(feature = "ssr")]
pub fn page_language() -> Language {
    leptos::reactive::owner::with_context(|parts: &axum::http::request::Parts| {
        let header = |name| {
            parts
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
        };
        choose(
            header(axum::http::header::COOKIE),
            header(axum::http::header::ACCEPT_LANGUAGE),
        )
    })
    .unwrap_or_default()
}

/// The language the server wrote into the page.
#[cfg(not(feature = "ssr"))]
pub fn page_language() -> Language {
    document()
        .document_element()
        .and_then(|html| html.get_attribute("lang"))
        .and_then(|code| Language::from_code(&code))
        .unwrap_or_default()
}

/// The language for a request with these `Cookie` and `Accept-Language` headers: the cookie's,
/// else the first of the browser's preferences that the interface speaks (`es-MX` is Spanish),
/// else Spanish. Preferences with `q=0` are refusals.
pub fn choose(cookie: &str, accept_language: &str) -> Language {
    find_cookie(cookie, LANGUAGE_COOKIE)
        .and_then(|code| Language::from_code(&code))
        .or_else(|| {
            let mut offered: Vec<(f32, usize, Language)> = accept_language
                .split(',')
                .enumerate()
                .filter_map(|(position, item)| {
                    let mut parts = item.split(';');
                    let tag = parts.next()?.trim();
                    let primary = tag.split('-').next()?.to_ascii_lowercase();
                    let language = Language::from_code(&primary)?;
                    let quality = parts
                        .find_map(|p| p.trim().strip_prefix("q="))
                        .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                    (quality > 0.0).then_some((quality, position, language))
                })
                .collect();
            offered.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            offered.first().map(|&(_, _, language)| language)
        })
        .unwrap_or_default()
}

/// An interface language a user can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Language {
    #[default]
    Es,
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Es, Language::En];

    pub fn code(self) -> &'static str {
        match self {
            Language::Es => "es",
            Language::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.code() == code)
    }

    pub fn locale(self) -> crate::i18n::Locale {
        match self {
            Language::Es => crate::i18n::Locale::es,
            Language::En => crate::i18n::Locale::en,
        }
    }
}

/// Written by the variant's name, as serde's derive writes it.
impl crate::json::FromJson for Language {
    fn from_json(value: serde_json::Value) -> Result<Self, crate::json::JsonError> {
        crate::json::variant(value, &Language::ALL, |l| match l {
            Language::Es => "Es",
            Language::En => "En",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_wins_over_the_browser() {
        assert_eq!(
            choose("tz=-300; i18n_pref_locale=en", "es-MX,es;q=0.9"),
            Language::En
        );
        assert_eq!(choose("i18n_pref_locale=es", "en-US"), Language::Es);
    }

    #[test]
    fn an_unknown_cookie_falls_back_to_the_browser() {
        assert_eq!(
            choose("i18n_pref_locale=fr", "en-GB,en;q=0.8"),
            Language::En
        );
        assert_eq!(choose("other=en", "es-AR"), Language::Es);
    }

    #[test]
    fn the_browser_preferences_are_read_by_weight_then_order() {
        assert_eq!(choose("", "fr-FR,en;q=0.5,es;q=0.8"), Language::Es);
        assert_eq!(choose("", "pt-BR, en-US;q=0.9, es;q=0.9"), Language::En);
        assert_eq!(choose("", "en;q=0,es-CO"), Language::Es);
        assert_eq!(choose("", "EN-us"), Language::En);
    }

    #[test]
    fn spanish_when_nothing_matches() {
        assert_eq!(choose("", ""), Language::Es);
        assert_eq!(choose("", "fr, de;q=0.5"), Language::Es);
        assert_eq!(choose("", "en;q=abc"), Language::Es);
    }
}
