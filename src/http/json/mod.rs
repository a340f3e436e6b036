//! Strict JSON: a body is read with the path of every failing field (missing, mistyped,
//! unknown, repeated, NUL), so that one 422 names them all; a syntax error is a 400 with
//! its line and column.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, FieldError};

/// Parses JSON, reporting syntax errors with their line and column (400) and everything
/// else in one 422: every repeated key (`duplicate_key`: a body that says two things is
/// refused, never read as its last), every NUL character, and every missing field, wrong
/// type, unknown field and unknown value (see `read_value`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match read_json(bytes)? {
        Read::Whole(value) => Ok(value),
        Read::Broken { errors, .. } => Err(ApiError::Validation(errors)),
    }
}

/// What a body turned out to be.
pub(crate) enum Read<T> {
    /// Every field is there, of its type.
    Whole(T),
    /// Not: `errors` names every field that is missing, mistyped or unknown, and `standing_in`
    /// is the body with stand-in values in their place (when one could be found), so that
    /// the rules of the fields that were sent can be checked too.
    Broken {
        errors: Vec<FieldError>,
        standing_in: Option<(T, Vec<String>)>,
    },
}

pub(crate) fn read_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<Read<T>, ApiError> {
    let (value, mut errors) = parse_value(bytes)?;
    find_nul_strings(&value, String::new(), &mut errors);
    let read = read_value::<T>(value);
    if errors.is_empty() {
        return Ok(read);
    }
    Ok(match read {
        Read::Whole(value) => Read::Broken {
            errors,
            standing_in: Some((value, Vec::new())),
        },
        Read::Broken {
            errors: more,
            standing_in,
        } => {
            errors.extend(more);
            Read::Broken {
                errors,
                standing_in,
            }
        }
    })
}

/// Parses JSON into a value, with a `duplicate_key` error for every key an object repeats
/// (serde_json would keep the last one silently). Syntax errors are 400.
pub fn parse_value(bytes: &[u8]) -> Result<(Value, Vec<FieldError>), ApiError> {
    use serde::de::DeserializeSeed;
    let duplicates = std::cell::RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Checked {
        path: String::new(),
        duplicates: &duplicates,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v))
    .map_err(syntax_error)?;
    let errors = duplicates
        .into_inner()
        .into_iter()
        .map(|path: String| {
            let key = path.rsplit(['.', '[']).next().unwrap_or(&path).to_owned();
            FieldError::new(
                path,
                "duplicate_key",
                format!("the key `{key}` appears more than once in its object"),
            )
        })
        .collect();
    Ok((value, errors))
}

/// A JSON value read with every repeated key noted, by its path.
struct Checked<'a> {
    path: String,
    duplicates: &'a std::cell::RefCell<Vec<String>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Checked<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Checked<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Checked {
            path: format!("{}[{}]", self.path, items.len()),
            duplicates: self.duplicates,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            let value = map.next_value_seed(Checked {
                path: path.clone(),
                duplicates: self.duplicates,
            })?;
            if object.contains_key(&key) {
                let mut duplicates = self.duplicates.borrow_mut();
                if !duplicates.contains(&path) {
                    duplicates.push(path);
                }
            } else {
                object.insert(key, value);
            }
        }
        Ok(Value::Object(object))
    }
}

/// A place in a JSON value.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

fn display(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k)
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Whether `field` is `place` or lies inside it.
pub(crate) fn is_within(field: &str, place: &str) -> bool {
    field == place
        || field
            .strip_prefix(place)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

fn slot<'v>(root: &'v mut Value, steps: &[Step]) -> Option<&'v mut Value> {
    let mut here = root;
    for step in steps {
        here = match (step, here) {
            (Step::Key(k), Value::Object(map)) => map.get_mut(k)?,
            (Step::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(here)
}

/// Puts `value` at `steps` (a missing last key is added); false if the parent is not there.
fn put(root: &mut Value, steps: &[Step], value: Value) -> bool {
    let Some((last, parent)) = steps.split_last() else {
        return false;
    };
    match (last, slot(root, parent)) {
        (Step::Key(k), Some(Value::Object(map))) => {
            map.insert(k.clone(), value);
            true
        }
        (Step::Index(i), Some(Value::Array(items))) if *i < items.len() => {
            items[*i] = value;
            true
        }
        _ => false,
    }
}

/// One failure of deserializing a body: where, what, and why.
struct Failure {
    steps: Vec<Step>,
    code: &'static str,
    message: String,
}

fn first_failure<T: DeserializeOwned>(value: &Value) -> Result<T, Failure> {
    serde_path_to_error::deserialize::<_, T>(Strict(value)).map_err(|e| {
        use serde_path_to_error::Segment;
        let mut steps: Vec<Step> = e
            .path()
            .iter()
            .filter_map(|s| match s {
                Segment::Map { key } => Some(Step::Key(key.clone())),
                Segment::Seq { index } => Some(Step::Index(*index)),
                _ => None,
            })
            .collect();
        // serde's words for an enumeration ("string or map": the forms of its variants)
        // are not the API's: its values are strings.
        let message = strip_position(&e.into_inner().to_string()).replace(
            "expected string or map",
            "expected one of the documented values (a string)",
        );
        let quoted = message.split('`').nth(1).unwrap_or("").to_owned();
        let code = if message.starts_with("missing field") {
            // serde names the enclosing object; the field is the missing one.
            steps.push(Step::Key(quoted));
            "required"
        } else if message.starts_with("unknown field") {
            // Here the path already ends with the unknown field.
            if steps.last() != Some(&Step::Key(quoted.clone())) {
                steps.push(Step::Key(quoted));
            }
            "unknown_field"
        } else if message.starts_with("unknown variant") {
            "unknown_value"
        } else if message.starts_with(NULL_REFUSED) {
            "not_nullable"
        } else {
            "invalid_type"
        };
        Failure {
            steps,
            code,
            message,
        }
    })
}

/// A JSON value read as the API's types, more strictly than `serde_json` reads it: an object
/// (a struct) must be a JSON object. Serde's derived structs also take an array of the
/// fields' values in order, so `["Dupont", "1980-01-01"]` would be read as a head of
/// household: a body that happens to line up is not what the partner meant to send.
struct Strict<'de>(&'de Value);

impl<'de> serde::Deserializer<'de> for Strict<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(items) => {
                let mut seq = StrictSeq(items.iter());
                let value = visitor.visit_seq(&mut seq)?;
                match seq.0.len() {
                    0 => Ok(value),
                    _ => Err(serde::de::Error::invalid_length(
                        items.len(),
                        &"fewer elements in the array",
                    )),
                }
            }
            Value::Object(map) => visitor.visit_map(StrictMap {
                entries: map.iter(),
                value: None,
            }),
            other => serde::Deserializer::deserialize_any(other, visitor),
        }
    }

    fn deserialize_option<V: serde::de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(_) => self.deserialize_any(visitor),
            other => Err(serde::de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_enum<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        serde::Deserializer::deserialize_enum(self.0, name, variants, visitor)
    }

    fn deserialize_newtype_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

/// What a value is, in serde's words for an error message.
fn unexpected(value: &Value) -> serde::de::Unexpected<'_> {
    use serde::de::Unexpected;
    match value {
        Value::Null => Unexpected::Option,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Unexpected::Unsigned(u),
            (_, Some(i)) => Unexpected::Signed(i),
            _ => Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

struct StrictSeq<'de>(std::slice::Iter<'de, Value>);

impl<'de> serde::de::SeqAccess<'de> for StrictSeq<'de> {
    type Error = serde_json::Error;
    fn next_element_seed<S: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Self::Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(Strict(v)))
            .transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct StrictMap<'de> {
    entries: serde_json::map::Iter<'de>,
    value: Option<&'de Value>,
}

impl<'de> serde::de::MapAccess<'de> for StrictMap<'de> {
    type Error = serde_json::Error;
    fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(serde::de::value::BorrowedStrDeserializer::new(key))
                    .map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<S: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, Self::Error> {
        let value = self
            .value
            .take()
            .ok_or_else(|| serde::de::Error::custom("a value was read before its key"))?;
        seed.deserialize(Strict(value))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// What a field refusing `null` says (see `http::patch`).
pub const NULL_REFUSED: &str = "must not be null";

/// Values tried, in turn, in place of a missing or mistyped field until the body reads: the
/// value serde's message asks for first (an enumeration's first value), then one of each
/// JSON type and of the formats the API reads from strings.
fn stand_ins(message: &str) -> std::collections::VecDeque<Value> {
    let mut out = std::collections::VecDeque::new();
    out.extend(suggested_value(message));
    out.extend([
        Value::from(""),
        Value::from(0),
        Value::Bool(false),
        Value::Object(Default::default()),
        Value::Array(Vec::new()),
        Value::from("2000-01-01"),
        Value::from("2000-01-01T00:00:00Z"),
        Value::from("00000000-0000-0000-0000-000000000000"),
        Value::from(1),
        Value::Null,
    ]);
    out
}

/// The first value serde's message says it expected (`expected one of `a`, `b``).
fn suggested_value(message: &str) -> Option<Value> {
    let expected = message.split("expected ").nth(1)?;
    expected.split('`').nth(1).map(Value::from)
}

/// The most failures one body is read for: past it, those found are reported.
const MOST_FAILURES: usize = 50;

/// Deserializes `T`, reporting every missing field, wrong type, unknown field and unknown
/// value at once: serde stops at the first, so each failing field is noted, given a stand-in
/// value (or, unknown, removed) and the body read again. Failures inside a stand-in are not
/// the caller's and are not reported.
fn read_value<T: DeserializeOwned>(mut value: Value) -> Read<T> {
    let mut errors: Vec<FieldError> = Vec::new();
    let mut standing_in: Vec<String> = Vec::new();
    for _ in 0..MOST_FAILURES * 2 {
        let failure = match first_failure::<T>(&value) {
            Ok(read) if errors.is_empty() => return Read::Whole(read),
            Ok(read) => {
                errors.sort_by(|a, b| a.field.cmp(&b.field));
                return Read::Broken {
                    errors,
                    standing_in: Some((read, standing_in)),
                };
            }
            Err(failure) => failure,
        };
        let field = display(&failure.steps);
        if failure.steps.is_empty() {
            errors.push(FieldError::new("body", "invalid_type", failure.message));
            break;
        }
        let ours = standing_in.iter().any(|s| is_within(&field, s));
        if !ours {
            errors.push(FieldError::new(
                &field,
                failure.code,
                failure.message.clone(),
            ));
        }
        if errors.len() >= MOST_FAILURES {
            break;
        }
        if failure.code == "unknown_field" {
            let (last, parent) = failure.steps.split_last().expect("not empty");
            match (last, slot(&mut value, parent)) {
                (Step::Key(k), Some(Value::Object(map))) => {
                    map.remove(k);
                }
                _ => break,
            }
            continue;
        }
        standing_in.push(field.clone());
        let mut candidates = stand_ins(&failure.message);
        let mut fits = false;
        let mut tried = 0;
        while let Some(candidate) = candidates.pop_front() {
            tried += 1;
            if tried > 16 || !put(&mut value, &failure.steps, candidate) {
                break;
            }
            match first_failure::<T>(&value) {
                Err(next) if display(&next.steps) == field => {
                    // An enumeration names its values only once it is given a wrong one.
                    if let Some(suggested) = suggested_value(&next.message) {
                        candidates.push_front(suggested);
                    }
                }
                _ => {
                    fits = true;
                    break;
                }
            }
        }
        if !fits {
            break;
        }
    }
    errors.sort_by(|a, b| a.field.cmp(&b.field));
    Read::Broken {
        errors,
        standing_in: None,
    }
}

fn find_nul_strings(value: &Value, path: String, out: &mut Vec<FieldError>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => out.push(nul_error(if path.is_empty() {
            "body".into()
        } else {
            path
        })),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_nul_strings(item, format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                if k.contains('\0') {
                    out.push(nul_error(join(k)));
                }
                find_nul_strings(v, join(k), out);
            }
        }
        _ => {}
    }
}

/// PostgreSQL text cannot hold U+0000: refused here, naming the field, rather than at the
/// database.
fn nul_error(field: String) -> FieldError {
    FieldError::new(
        field,
        "nul_character",
        "must not contain the NUL character (U+0000)",
    )
}

fn syntax_error(inner: serde_json::Error) -> ApiError {
    let message = format!(
        "the body is not valid JSON: {} (line {}, column {})",
        strip_position(&inner.to_string()),
        inner.line(),
        inner.column()
    );
    ApiError::BadRequest {
        detail: message.clone(),
        errors: vec![FieldError::new("body", "malformed_json", message)],
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests;
