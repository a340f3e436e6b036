//! Query strings read strictly, and problem+json for actix's own extractor failures (path
//! segments, forms).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::{PathError, UrlencodedError};
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::http::pagination::PageParams;

/// The query string as `T`; a parameter that does not parse is named in the 400 (`field`),
/// and one the operation does not take is refused with the caller (see [`check_query`]): both
/// after the token and its scopes. A list's filters and
/// page come together: [`ListQuery`].
///
/// [`check_query`]: crate::http::routes::check_query
pub struct Query<T>(pub T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Parses a query string, naming the parameter that breaks.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let field = if path.is_empty() || path == "." {
            named_in_message(&message).unwrap_or("query").to_string()
        } else {
            path
        };
        if message.starts_with("duplicate field") {
            return ApiError::bad_request(
                &field,
                "duplicate_parameter",
                format!("the query parameter `{field}` is sent more than once"),
            );
        }
        // A date's or a timestamp's usual traps: a date alone where a timestamp is asked for,
        // or a `+` left unencoded (read as a space). The spec says which the parameter is.
        let hint = if message.contains("premature end of input")
            || message.contains("input contains invalid characters")
            || message.contains("input is out of range")
        {
            " (a date is YYYY-MM-DD, such as 2026-12-01; a timestamp is RFC 3339, such as \
             2026-12-01T08:30:00Z; encode `+` as %2B)"
        } else {
            ""
        };
        ApiError::bad_request(
            &field,
            "invalid_parameter",
            format!("invalid query parameter `{field}`: {message}{hint}"),
        )
    })
}

/// serde names a missing or unknown parameter only in its message.
fn named_in_message(message: &str) -> Option<&str> {
    message.split('`').nth(1).filter(|_| {
        ["missing field", "unknown field", "duplicate field"]
            .iter()
            .any(|start| message.starts_with(start))
    })
}

impl<T: DeserializeOwned + IntoParams + 'static> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    /// Read once the caller is authenticated and authorised (401 and 403 come first).
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            crate::auth::caller::after_authorisation(&req).await;
            parse_query(req.query_string()).map(Query)
        })
    }
}

/// A list's query string: its filters `F` and the page (`limit`, `cursor`), no other
/// parameter (see [`Query`]).
pub struct ListQuery<F> {
    pub filters: F,
    pub page: PageParams,
}

impl<F: DeserializeOwned + IntoParams + 'static> FromRequest for ListQuery<F> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    /// Read once the caller is authenticated and authorised (401 and 403 come first).
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            crate::auth::caller::after_authorisation(&req).await;
            let query = req.query_string();
            Ok(ListQuery {
                filters: parse_query(query)?,
                page: parse_query(query)?,
            })
        })
    }
}

fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    let message = match &err {
        PathError::Deserialize(e) => e.to_string(),
        other => other.to_string(),
    };
    let message = if message.contains("UUID parsing failed") {
        "an id in the path is not a UUID (such as 0193a5c2-8a40-7c11-8e0f-3b5d2c1a9e77)".to_owned()
    } else {
        format!("invalid path parameter: {message}")
    };
    ApiError::bad_request("path", "invalid_parameter", message).into()
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

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(path_error)
}

pub fn form_config(limit: usize) -> web::FormConfig {
    web::FormConfig::default()
        .limit(limit)
        .error_handler(form_error)
}

/// A text query parameter's length rule (the spec's `minLength`/`maxLength`, which the
/// query parser does not read): 400 `length` naming it.
pub fn check_length(field: &str, value: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(ApiError::bad_request(
            field,
            "length",
            format!("{field} must be {min} to {max} characters long"),
        ));
    }
    Ok(())
}
