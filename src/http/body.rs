//! Request bodies: JSON parsed with the path of the failing field, then validated, so that
//! every error names its field.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde_json::Value;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::error::{ApiError, FieldError};

/// The largest body accepted, unless configured otherwise.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Body size limit, shared through app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

pub fn is_json_content_type(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// Reads the whole body, refusing more than the configured limit with 413.
pub async fn read_body(req: &HttpRequest, payload: &mut Payload) -> Result<Bytes, ApiError> {
    use futures_util::StreamExt;
    let limit = req
        .app_data::<BodyLimit>()
        .map(|l| l.0)
        .unwrap_or(DEFAULT_BODY_LIMIT);
    if let Some(len) = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
    }
    let mut body = actix_web::web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request("body", "unreadable", e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Parses JSON, reporting syntax errors with their line and column (400) and type errors
/// with the path of the field (422).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value: Value = serde_path_to_error::deserialize(de).map_err(json_error)?;
    // PostgreSQL text cannot hold U+0000: refuse it here, naming the field, rather than
    // fail at the database.
    let mut nul_fields = Vec::new();
    find_nul_strings(&value, String::new(), &mut nul_fields);
    if !nul_fields.is_empty() {
        return Err(ApiError::Validation(
            nul_fields
                .into_iter()
                .map(|f| {
                    FieldError::new(
                        f,
                        "nul_character",
                        "must not contain the NUL character (U+0000)",
                    )
                })
                .collect(),
        ));
    }
    serde_path_to_error::deserialize(value).map_err(json_error)
}

fn find_nul_strings(value: &Value, path: String, out: &mut Vec<String>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => {
            out.push(if path.is_empty() { "body".into() } else { path })
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_nul_strings(item, format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                if k.contains('\0') {
                    out.push(join(k));
                }
                find_nul_strings(v, join(k), out);
            }
        }
        _ => {}
    }
}

fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    {
        let path = e.path().to_string();
        let inner = e.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
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
            Category::Data => {
                let message = strip_position(&inner.to_string());
                let (field, code) = field_of_data_error(&path, &message);
                ApiError::Validation(vec![FieldError::new(field, code, message)])
            }
        }
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// serde reports a missing field on the enclosing object; name the field itself.
fn field_of_data_error(path: &str, message: &str) -> (String, &'static str) {
    let quoted = message.split('`').nth(1).unwrap_or("");
    let join = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    if message.starts_with("missing field") {
        (join(quoted), "required")
    } else if message.starts_with("unknown field") {
        // Here the path already ends with the unknown field.
        (
            if path == "." || path.is_empty() {
                quoted.to_string()
            } else {
                path.to_string()
            },
            "unknown_field",
        )
    } else if path == "." || path.is_empty() {
        ("body".into(), "invalid_type")
    } else if message.starts_with("unknown variant") {
        (path.to_string(), "unknown_value")
    } else {
        (path.to_string(), "invalid_type")
    }
}

/// Turns validator's nested errors into a flat list of dotted field paths.
pub fn flatten_validation_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    collect(errors, "", &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn collect(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let message = e
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| default_message(&e.code, e));
                    out.push(FieldError::new(path.clone(), e.code.to_string(), message));
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    collect(inner, &format!("{path}[{i}]"), out);
                }
            }
        }
    }
}

fn default_message(code: &str, e: &validator::ValidationError) -> String {
    let param = |k: &str| e.params.get(k).map(|v| v.to_string());
    match code {
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max} characters long"),
            (Some(min), None) => format!("must be at least {min} characters long"),
            (None, Some(max)) => format!("must be at most {max} characters long"),
            _ => "has the wrong length".into(),
        },
        "email" => "must be a valid email address".into(),
        "range" => "is out of range".into(),
        other => format!("is invalid ({other})"),
    }
}

/// A JSON body, parsed but not yet validated: for handlers that report the field rules
/// together with the rules only the database can check. `Content-Type` must be JSON.
pub struct ParsedJson<T>(pub T, pub Bytes);

impl<T> ParsedJson<T>
where
    T: Validate,
{
    /// The field rules the body breaks, as a list to extend.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self.0.validate() {
            Ok(()) => Vec::new(),
            Err(e) => flatten_validation_errors(&e),
        }
    }
}

impl<T> FromRequest for ParsedJson<T>
where
    T: DeserializeOwned + 'static,
{
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json_content_type(&req) {
                return Err(ApiError::UnsupportedMediaType {
                    expected: "application/json",
                });
            }
            let bytes = read_body(&req, &mut payload).await?;
            let value: T = parse_json(&bytes)?;
            Ok(ParsedJson(value, bytes))
        })
    }
}

/// A JSON body, parsed and validated. `Content-Type` must be JSON (415 otherwise).
pub struct ValidJson<T>(pub T, pub Bytes);

impl<T> FromRequest for ValidJson<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let parsed = ParsedJson::<T>::from_request(req, payload);
        Box::pin(async move {
            let parsed = parsed.await?;
            let errors = parsed.field_errors();
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            Ok(ValidJson(parsed.0, parsed.1))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

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
            fields(
                parse_json::<Outer>(br#"{"name": "x", "inner": {"n": 1}, "zz": 1}"#).unwrap_err()
            ),
            (422, vec![("zz".into(), "unknown_field".into())])
        );
        assert_eq!(
            fields(parse_json::<Outer>(b"\"text\"").unwrap_err()),
            (422, vec![("body".into(), "invalid_type".into())])
        );
    }
}
