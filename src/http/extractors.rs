//! Query strings read strictly, and problem+json for actix's own extractor failures (path
//! segments, forms).

use std::any::TypeId;
use std::collections::HashMap;
use std::future::{ready, Ready};
use std::sync::{OnceLock, RwLock};

use actix_web::dev::Payload;
use actix_web::error::{PathError, UrlencodedError};
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::http::pagination::PageParams;

/// The query string as `T`; a parameter that does not parse is named in the 400 (`field`),
/// and so is one that `T` does not take (`unknown_parameter`): a misspelt filter, or
/// `?after=` where the list pages with `?cursor=`, would otherwise be ignored and the
/// answer look right. A list's filters and page come together: [`ListQuery`].
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
        ApiError::bad_request(
            &field,
            "invalid_parameter",
            format!("invalid query parameter `{field}`: {message}"),
        )
    })
}

/// serde names a missing or unknown parameter only in its message.
fn named_in_message(message: &str) -> Option<&str> {
    message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("missing field") || message.starts_with("unknown field"))
}

/// The names of the query parameters `T` takes, as documented. Building `T`'s parameter
/// documentation for every request would cost more than the lookup it serves: the names are
/// read once per type and kept for the life of the process (a handful of types).
fn parameter_names<T: IntoParams + 'static>() -> &'static [String] {
    static NAMES: OnceLock<RwLock<HashMap<TypeId, &'static [String]>>> = OnceLock::new();
    let names = NAMES.get_or_init(Default::default);
    if let Some(known) = names.read().expect("not poisoned").get(&TypeId::of::<T>()) {
        return known;
    }
    let known: &'static [String] = Box::leak(
        T::into_params(|| None)
            .into_iter()
            .map(|p| p.name)
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    names
        .write()
        .expect("not poisoned")
        .entry(TypeId::of::<T>())
        .or_insert(known)
}

/// 400 for the first parameter that is not one of `known` (naming it and what is taken),
/// or whose value holds the NUL character, which PostgreSQL's text refuses.
fn refuse_unknown(query: &str, known: &[&[String]]) -> Result<(), ApiError> {
    let known = known.iter().flat_map(|names| names.iter());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if !known.clone().any(|k| *k == name) {
            let taken = known
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let taken = if taken.is_empty() {
                "none".to_owned()
            } else {
                taken
            };
            return Err(ApiError::bad_request(
                &name,
                "unknown_parameter",
                format!("unknown query parameter `{name}`: this endpoint takes {taken}"),
            ));
        }
        if value.contains('\0') {
            return Err(ApiError::bad_request(
                &name,
                "nul_character",
                "must not contain the NUL character (U+0000)",
            ));
        }
    }
    Ok(())
}

impl<T: DeserializeOwned + IntoParams + 'static> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let query = req.query_string();
        ready(
            refuse_unknown(query, &[parameter_names::<T>()])
                .and_then(|()| parse_query(query))
                .map(Query),
        )
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
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let query = req.query_string();
        let known = [parameter_names::<F>(), parameter_names::<PageParams>()];
        ready(refuse_unknown(query, &known).and_then(|()| {
            Ok(ListQuery {
                filters: parse_query(query)?,
                page: parse_query(query)?,
            })
        }))
    }
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

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(path_error)
}

pub fn form_config(limit: usize) -> web::FormConfig {
    web::FormConfig::default()
        .limit(limit)
        .error_handler(form_error)
}
