//! Problem+json for actix's own extractor failures (query strings, path segments, forms).

use actix_web::error::{PathError, QueryPayloadError, UrlencodedError};
use actix_web::{web, HttpRequest};

use crate::error::ApiError;

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let message = match &err {
        QueryPayloadError::Deserialize(e) => e.to_string(),
        other => other.to_string(),
    };
    // serde_urlencoded names the parameter only in its message; keep that message.
    let field = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("missing field") || message.starts_with("unknown field"))
        .unwrap_or("query")
        .to_string();
    ApiError::bad_request(
        &field,
        "invalid_parameter",
        format!("invalid query string: {message}"),
    )
    .into()
}

fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    let message = match &err {
        PathError::Deserialize(e) => e.to_string(),
        other => other.to_string(),
    };
    ApiError::bad_request(
        "path",
        "invalid_parameter",
        format!("invalid path parameter: {message}"),
    )
    .into()
}

fn form_error(err: UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    match err {
        UrlencodedError::Overflow { limit, .. } => ApiError::PayloadTooLarge { limit }.into(),
        UrlencodedError::ContentType => ApiError::UnsupportedMediaType {
            expected: "application/x-www-form-urlencoded",
        }
        .into(),
        other => ApiError::bad_request("body", "malformed_form", other.to_string()).into(),
    }
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(query_error)
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(path_error)
}

pub fn form_config(limit: usize) -> web::FormConfig {
    web::FormConfig::default()
        .limit(limit)
        .error_handler(form_error)
}
