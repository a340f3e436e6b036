//! Postcodes and the communes they serve: La Poste's postcodes against INSEE's commune codes,
//! as Etalab publishes them (`postcodes.txt`, from `@etalab/decoupage-administratif`).
//!
//! What a mismatch means: a unit's postcode and INSEE code are refused only when the table
//! shows them certainly inconsistent:
//! - both are in the table and the postcode does not serve that commune
//!   (`not_served_by_postcode`), the message naming the communes it serves;
//! - one of them is not in the table (a delegated commune, which has its own INSEE code but
//!   no postcode of its own; a code newer than the table; a CEDEX postcode) and the
//!   commune's département is not one the postcode serves (`not_in_postcode_department`):
//!   a postcode may cross a département border (05110 serves 04 and 05), so the départements
//!   come from the table when the postcode is in it, else from its first digits.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

static TABLE: &str = include_str!("postcodes.txt");

struct Postcodes {
    /// Postcode → INSEE codes of the communes it serves.
    served: HashMap<&'static str, Vec<&'static str>>,
    /// Every INSEE code the table knows.
    communes: std::collections::HashSet<&'static str>,
}

fn postcodes() -> &'static Postcodes {
    static PARSED: OnceLock<Postcodes> = OnceLock::new();
    PARSED.get_or_init(|| {
        let mut served = HashMap::new();
        let mut communes = std::collections::HashSet::new();
        for line in TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let mut fields = line.split(' ');
            let postcode = fields.next().expect("a postcode on each line");
            let codes: Vec<&'static str> = fields.collect();
            communes.extend(codes.iter().copied());
            served.insert(postcode, codes);
        }
        Postcodes { served, communes }
    })
}

/// The département of an INSEE commune code: `2A`/`2B` in Corsica, three digits overseas
/// (971…978, 986…988), else its first two digits.
pub fn insee_department(insee: &str) -> &str {
    if insee.starts_with("97") || insee.starts_with("98") {
        &insee[..3.min(insee.len())]
    } else {
        &insee[..2.min(insee.len())]
    }
}

/// The département a postcode's digits point to, when it is not in the table: the first
/// two digits (`20` is Corsica: `2A` and `2B`), three overseas.
fn postcode_department_by_digits(postcode: &str) -> Vec<&str> {
    match &postcode[..2] {
        "20" => vec!["2A", "2B"],
        "97" | "98" => vec![&postcode[..3]],
        d => vec![d],
    }
}

/// Why an INSEE code and a postcode cannot both be a unit's address, if they cannot: the
/// error's code and message. Both arguments are well-formed (5 characters).
pub fn mismatch(insee: &str, postcode: &str) -> Option<(&'static str, String)> {
    let table = postcodes();
    let served = table.served.get(postcode);
    if let Some(codes) = served {
        if codes.contains(&insee) {
            return None;
        }
        if table.communes.contains(insee) {
            return Some((
                "not_served_by_postcode",
                format!(
                    "postcode {postcode} does not serve the commune {insee}; it serves {} (official table of postcodes)",
                    codes.join(", ")
                ),
            ));
        }
    }
    let departments: BTreeSet<&str> = match served {
        Some(codes) => codes.iter().map(|c| insee_department(c)).collect(),
        None => postcode_department_by_digits(postcode)
            .into_iter()
            .collect(),
    };
    let department = insee_department(insee);
    (!departments.contains(department)).then(|| {
        (
            "not_in_postcode_department",
            format!(
                "the commune {insee} is in département {department}; postcode {postcode} serves {}",
                departments.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_places_are_accepted() {
        for (insee, postcode) in [
            ("71076", "71100"), // Chalon-sur-Saône
            ("03185", "03100"), // Montluçon
            ("53130", "53000"), // Laval
            ("75056", "75011"), // Paris
            ("75111", "75011"), // Paris 11e
            ("13201", "13001"), // Marseille 1er
            ("69381", "69001"), // Lyon 1er
            ("2A004", "20000"), // Ajaccio
            ("2A004", "20090"),
            ("97411", "97400"), // Saint-Denis (La Réunion)
            ("97801", "97150"), // Saint-Martin
            ("97701", "97133"), // Saint-Barthélemy
            ("97502", "97500"), // Saint-Pierre
            ("04058", "05110"), // a postcode across a border, on its other side
        ] {
            assert_eq!(mismatch(insee, postcode), None, "{insee} {postcode}");
        }
    }

    #[test]
    fn what_is_certainly_wrong_is_refused() {
        // Both known, not together.
        let (code, message) = mismatch("71076", "03100").unwrap();
        assert_eq!(code, "not_served_by_postcode");
        assert!(message.contains("03185"), "{message}");
        // Same département, another commune's postcode.
        assert_eq!(
            mismatch("71076", "71000").unwrap().0,
            "not_served_by_postcode"
        );
        // Unknown code (a delegated commune, or newer than the table): its département.
        assert_eq!(mismatch("71999", "71100"), None);
        assert_eq!(
            mismatch("03999", "71100").unwrap().0,
            "not_in_postcode_department"
        );
        // Unknown postcode: its digits.
        assert_eq!(mismatch("71999", "71990"), None);
        assert_eq!(mismatch("2B999", "20999"), None);
        assert_eq!(
            mismatch("97499", "97100").unwrap().0,
            "not_in_postcode_department"
        );
        assert_eq!(
            mismatch("71999", "99999").unwrap().0,
            "not_in_postcode_department"
        );
    }

    #[test]
    fn the_table_is_whole() {
        let t = postcodes();
        assert!(t.served.len() > 6_000, "{}", t.served.len());
        assert!(t.communes.len() > 34_000, "{}", t.communes.len());
    }
}
