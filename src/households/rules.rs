//! Field rules of households: plain functions, unit-tested.

use chrono::NaiveDate;

/// A name as it is compared: transliterated to ASCII (`deunicode`: œ → oe, æ → ae, ß → ss,
/// accents dropped, other scripts spelt in Latin letters), lower-case, without spaces or
/// punctuation. "Lœuillet", "LOEUILLET" and "Loeuillet" are one name; so are "Éloïse-Marie
/// D’Arc" and "eloise marie darc" (typographic or straight apostrophe). Names are compared,
/// never rewritten: the head's name is stored and shown as it was typed.
pub fn normalise_name(name: &str) -> String {
    deunicode::deunicode(name)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
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

    /// Spellings of one name as they reach a case file: typed on a French keyboard, on a
    /// foreign one, copied from an ID document in capitals, from a PDF with its ligatures,
    /// decomposed by a Mac, with the typographic apostrophe of a word processor.
    #[test]
    fn the_ways_french_names_are_typed_are_one_name() {
        let same: [&[&str]; 17] = [
            &[
                "Lœuillet",
                "Loeuillet",
                "LOEUILLET",
                "LŒUILLET",
                "L\u{0153}uillet",
            ],
            &["Lætitia", "Laetitia", "LAETITIA", "Lǽtitia"],
            &[
                "Bénédicte",
                "Benedicte",
                "BÉNÉDICTE",
                "Be\u{0301}ne\u{0301}dicte",
            ],
            &["François", "Francois", "FRANÇOIS"],
            &["Jean-Loïc", "Jean Loic", "jean loïc", "JEAN-LOÏC"],
            &["D'Arc", "D’Arc", "d arc", "DARC"],
            &["N’Diaye", "N'Diaye", "NDIAYE", "N Diaye"],
            &["Strauß", "Strauss"],
            &["Ångström", "Angstrom"],
            &["Müller", "Muller"],
            &["Œdipe", "Oedipe"],
            &["Ｍａｒｔｉｎ", "Martin"],
            &["Çelik", "Celik"],
            &["Yıldız", "Yildiz"],
            &["Nguyễn", "Nguyen"],
            &["Dąbrowski", "Dabrowski"],
            &["Øster", "Oster"],
        ];
        for names in same {
            let first = normalise_name(names[0]);
            assert!(!first.is_empty(), "{names:?}");
            for n in names {
                assert_eq!(normalise_name(n), first, "{n} in {names:?}");
            }
        }
        for (a, b) in [("Lefèvre", "Lefebvre"), ("Léa", "Léo"), ("Marie", "Mari")] {
            assert_ne!(normalise_name(a), normalise_name(b), "{a} / {b}");
        }
    }

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
