//! Field rules of households: plain functions, unit-tested.

use chrono::NaiveDate;
use unicode_normalization::UnicodeNormalization;

/// A name without accents, case, spaces or punctuation: "Éloïse-Marie  D'Arc" and
/// "eloise marie darc" are the same person's name.
pub fn normalise_name(name: &str) -> String {
    name.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The key duplicates are found by: last name, first names, birth date.
pub fn identity_key(last_name: &str, first_names: &str, birth_date: NaiveDate) -> String {
    format!(
        "{}|{}|{}",
        normalise_name(last_name),
        normalise_name(first_names),
        birth_date
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_case_and_spaces_do_not_matter() {
        let d = NaiveDate::from_ymd_opt(1990, 4, 12).unwrap();
        assert_eq!(
            identity_key("Lefèvre", "Éloïse  Marie", d),
            identity_key(" LEFEVRE ", "eloise-marie", d)
        );
        assert_eq!(normalise_name("D'Arc"), "darc");
        assert_ne!(
            identity_key("Martin", "Léa", d),
            identity_key("Martin", "Léo", d)
        );
        assert_ne!(
            identity_key("Martin", "Léa", d),
            identity_key(
                "Martin",
                "Léa",
                NaiveDate::from_ymd_opt(1990, 4, 13).unwrap()
            )
        );
    }
}
