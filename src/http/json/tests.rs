//! The strict reading of request bodies, field by field.

use super::*;
use crate::http::body::{read_body_as, rule_errors};
use serde::Deserialize;
use validator::Validate;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Inner {
    n: u32,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Outer {
    name: String,
    inner: Inner,
}

fn fields(e: ApiError) -> (u16, Vec<(String, String)>) {
    let p = e.to_problem();
    (
        p.status,
        p.errors.into_iter().map(|e| (e.field, e.code)).collect(),
    )
}

#[test]
fn syntax_error_has_line_and_column() {
    let e = parse_json::<Outer>(b"{\n  \"name\": \"x\",,\n}").unwrap_err();
    let p = e.to_problem();
    assert_eq!(p.status, 400);
    assert!(p.detail.contains("line 2"), "{}", p.detail);
    assert!(p.detail.contains("column"), "{}", p.detail);
}

#[test]
fn data_errors_name_the_field() {
    assert_eq!(
        fields(parse_json::<Outer>(br#"{"name": "x", "inner": {"n": -1}}"#).unwrap_err()),
        (422, vec![("inner.n".into(), "invalid_type".into())])
    );
    assert_eq!(
        fields(parse_json::<Outer>(br#"{"name": "x"}"#).unwrap_err()),
        (422, vec![("inner".into(), "required".into())])
    );
    assert_eq!(
        fields(parse_json::<Outer>(br#"{"name": "x", "inner": {}}"#).unwrap_err()),
        (422, vec![("inner.n".into(), "required".into())])
    );
    assert_eq!(
        fields(parse_json::<Outer>(br#"{"name": "x", "inner": {"n": 1}, "zz": 1}"#).unwrap_err()),
        (422, vec![("zz".into(), "unknown_field".into())])
    );
    assert_eq!(
        fields(parse_json::<Outer>(b"\"text\"").unwrap_err()),
        (422, vec![("body".into(), "invalid_type".into())])
    );
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Many {
    #[validate(length(min = 2))]
    name: String,
    #[validate(range(min = 1))]
    count: u32,
    when: chrono::NaiveDate,
    kind: Kind,
    #[validate(nested)]
    inner: Inner2,
    #[validate(length(max = 1))]
    tags: Option<Vec<String>>,
}
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Inner2 {
    #[validate(range(min = 5))]
    n: u32,
}
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    First,
    Second,
}

fn all(body: &[u8]) -> Vec<(String, String)> {
    let e = read_body_as::<Many>(body).map(|_| ()).unwrap_err();
    fields(e).1
}

#[test]
fn every_missing_and_mistyped_field_at_once() {
    assert_eq!(
        all(b"{}"),
        vec![
            ("count".into(), "required".into()),
            ("inner".into(), "required".into()),
            ("kind".into(), "required".into()),
            ("name".into(), "required".into()),
            ("when".into(), "required".into()),
        ]
    );
    // Wrong types, an unknown value, an unknown field, a nested field, and the rules of
    // the fields that were sent (but not of the stand-ins: `count` is not also "range").
    assert_eq!(
        all(
            br#"{"name": "x", "count": "3", "when": "soon", "kind": "third",
                 "inner": {"n": 1}, "tags": ["a", "b"], "zz": 0}"#
        ),
        vec![
            ("count".into(), "invalid_type".into()),
            ("kind".into(), "unknown_value".into()),
            ("when".into(), "invalid_type".into()),
            ("zz".into(), "unknown_field".into()),
            ("inner.n".into(), "range".into()),
            ("name".into(), "length".into()),
            ("tags".into(), "length".into()),
        ]
    );
    // A missing object: its own fields are not the caller's failures.
    assert_eq!(
        all(br#"{"name": "xy", "count": 2, "when": "2026-01-01", "kind": "first", "inner": 7}"#),
        vec![("inner".into(), "invalid_type".into())]
    );
}

#[test]
fn objects_sent_as_arrays_are_refused() {
    // serde's derived structs would read these as the fields in order.
    assert_eq!(
        fields(parse_json::<Outer>(br#"["x", {"n": 1}]"#).unwrap_err()),
        (422, vec![("body".into(), "invalid_type".into())])
    );
    assert_eq!(
        all(br#"{"name": "xy", "count": 2, "when": "2026-01-01", "kind": "first", "inner": [6]}"#),
        vec![("inner".into(), "invalid_type".into())]
    );
    // Lists of objects: each item must be an object.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Many2 {
        items: Vec<Inner>,
    }
    assert_eq!(
        fields(parse_json::<Many2>(br#"{"items": [{"n": 1}, [2]]}"#).unwrap_err()),
        (422, vec![("items[1]".into(), "invalid_type".into())])
    );
    // What is not a struct reads as before.
    let ok: Many2 = parse_json(br#"{"items": [{"n": 1}, {"n": 2}]}"#).unwrap();
    assert_eq!(ok.items.len(), 2);
}

#[test]
fn lengths_count_items_in_lists() {
    let read = read_body_as::<Many>(
        br#"{"name": "xy", "count": 2, "when": "2026-01-01", "kind": "first",
             "inner": {"n": 6}, "tags": ["a", "b"]}"#,
    )
    .unwrap();
    let errors = rule_errors(&read);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].message, "must have at most 1 items");
    let short = read_body_as::<Many>(
        br#"{"name": "x", "count": 2, "when": "2026-01-01", "kind": "first", "inner": {"n": 6}}"#,
    )
    .unwrap();
    assert_eq!(
        rule_errors(&short)[0].message,
        "must be at least 2 characters long"
    );
}

#[test]
fn repeated_keys_are_refused_wherever_they_are() {
    assert_eq!(
        all(
            br#"{"name": "xy", "count": 2, "count": 3, "when": "2026-01-01", "kind": "first",
                 "inner": {"n": 6, "n": 7}}"#
        ),
        vec![
            ("count".into(), "duplicate_key".into()),
            ("inner.n".into(), "duplicate_key".into()),
        ]
    );
    // Whatever order the values come in.
    let (status, errors) = fields(
        parse_json::<Outer>(br#"{"name": "x", "inner": {"n": 1}, "name": "y"}"#).unwrap_err(),
    );
    assert_eq!(status, 422);
    assert_eq!(errors, vec![("name".into(), "duplicate_key".into())]);
    // Inside arrays too; the same key in two objects is not a repetition.
    let (value, errors) = parse_value(br#"[{"a": 1}, {"a": 2}, {"b": 1, "b": 1}]"#).unwrap();
    assert_eq!(value.as_array().unwrap().len(), 3);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "[2].b");
}
