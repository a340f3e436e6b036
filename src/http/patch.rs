//! `PATCH` bodies are JSON Merge Patch (RFC 7396): a field that is absent stays as it is, a
//! value replaces it, and `null` clears it where the field may be empty. Where it may not,
//! `null` is a 422 (`not_nullable`) rather than silently ignored, and the spec types the
//! field without `null`. A PATCH that changes nothing changes no version and emits no event
//! (each handler compares what it would write with what is stored).
//!
//! Serde reads a JSON `null` and an absent field alike as `None`; the two functions below
//! tell them apart:
//!
//! ```text
//! #[serde(default, deserialize_with = "patch::not_null")]
//! #[schema(nullable = false)]
//! pub name: Option<String>,                 // absent: None; null: 422
//!
//! #[serde(default, deserialize_with = "patch::nullable")]
//! #[schema(value_type = Option<String>)]
//! pub partner_reference: Option<Option<String>>,   // absent: None; null: Some(None)
//! ```

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use crate::http::json::NULL_REFUSED;

/// A field that cannot be empty: `null` is refused (`not_nullable`).
pub fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<T>::deserialize(deserializer)? {
        Some(value) => Ok(Some(value)),
        None => Err(D::Error::custom(format!(
            "{NULL_REFUSED}: this field cannot be cleared; leave it out to keep its value"
        ))),
    }
}

/// A field that may be cleared: present as `null` is `Some(None)`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The value a nullable field takes: the one sent (a value, or `null` to clear it), or the
/// current one when absent.
pub fn merge<T: Clone>(sent: &Option<Option<T>>, current: &Option<T>) -> Option<T> {
    match sent {
        Some(value) => value.clone(),
        None => current.clone(),
    }
}

/// Whether two stored lists hold the same items, in whatever order and however often: a
/// list the spec calls a set (grounds, resource kinds) sent again in another order is no
/// change.
pub fn same_set(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    fn items(v: &serde_json::Value) -> Option<Vec<String>> {
        let mut out: Vec<String> = v.as_array()?.iter().map(|i| i.to_string()).collect();
        out.sort();
        out.dedup();
        Some(out)
    }
    match (items(a), items(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// What a change did: `No` when what was sent is what was stored (no new version, no event).
pub enum Changed<T> {
    Yes(T),
    No(T),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct P {
        #[serde(default, deserialize_with = "not_null")]
        name: Option<String>,
        #[serde(default, deserialize_with = "nullable")]
        reference: Option<Option<String>>,
    }

    #[test]
    fn absent_null_and_values_differ() {
        let p: P = serde_json::from_str("{}").unwrap();
        assert_eq!((p.name, p.reference), (None, None));
        let p: P = serde_json::from_str(r#"{"reference": null}"#).unwrap();
        assert_eq!(p.reference, Some(None));
        let p: P = serde_json::from_str(r#"{"name": "a", "reference": "b"}"#).unwrap();
        assert_eq!(
            (p.name, p.reference),
            (Some("a".into()), Some(Some("b".into())))
        );
        let e = serde_json::from_str::<P>(r#"{"name": null}"#).unwrap_err();
        assert!(e.to_string().starts_with(NULL_REFUSED), "{e}");
        assert_eq!(merge(&Some(None), &Some(1)), None);
        assert_eq!(merge(&None, &Some(1)), Some(1));
        assert_eq!(merge(&Some(Some(2)), &Some(1)), Some(2));
    }

    #[test]
    fn sets_compare_without_order() {
        use serde_json::json;
        assert!(same_set(&json!(["a", "b"]), &json!(["b", "a", "a"])));
        assert!(!same_set(&json!(["a"]), &json!(["a", "b"])));
        assert!(same_set(&json!([]), &json!([])));
    }
}
