//! How a typed search matches: the text as the search indexes keep it, and a number by its
//! digits. The same rule on the server and in the browser, for rows that arrive live.

/// Text as the search index keeps it: lower case, without the accents of Spanish, Portuguese
/// and French.
pub fn search_folded(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

/// What a search box's text is looked for as, on the server and in live rows alike: at most 100
/// characters, and a number written with spaces, dashes or a plus by its digits alone. `None` for
/// a blank box.
pub fn search_term(query: &str) -> Option<String> {
    let query: String = query.trim().chars().take(100).collect();
    if query.is_empty() {
        None
    } else if is_phone_search(&query) {
        Some(query.chars().filter(char::is_ascii_digit).collect())
    } else {
        Some(query)
    }
}

/// A search of digits with the usual phone punctuation (`+52 55-1234`) looks for a number.
pub fn is_phone_search(query: &str) -> bool {
    query.chars().any(|c| c.is_ascii_digit())
        && query
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_is_its_trimmed_text_or_a_number_s_digits() {
        assert_eq!(search_term("  "), None);
        assert_eq!(search_term(" Lucía ").as_deref(), Some("Lucía"));
        assert_eq!(search_term("+52 (55) 1234").as_deref(), Some("52551234"));
        assert_eq!(search_term(&"a".repeat(150)).map(|t| t.len()), Some(100));
    }

    #[test]
    fn search_folds_case_and_accents() {
        assert_eq!(search_folded("José NÚÑEZ Çà"), "jose nunez ca");
        assert_eq!(search_folded("mar_ia 55"), "mar_ia 55");
    }

    #[test]
    fn phone_searches_are_digits_with_phone_punctuation() {
        assert!(is_phone_search("+52 (55) 1234-5678"));
        assert!(is_phone_search("5512"));
        assert!(!is_phone_search("Ana 55"));
        assert!(!is_phone_search("+"));
    }
}
