//! Request bodies: JSON parsed with the path of the failing field, then validated, so that
//! every error names its field.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use validator::Validate;

use crate::error::{ApiError, FieldError};
use crate::fields::flatten_validation_errors;
use crate::http::json::{is_within, read_json, Read};

pub use crate::config::DEFAULT_BODY_LIMIT;

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

/// A JSON body, parsed but not yet validated: for handlers that report the field rules
/// together with the rules only the database can check. `Content-Type` must be JSON. A body
/// that does not read as `T` never reaches the handler: the 422 names every missing, mistyped,
/// unknown or repeated field and every rule broken by the fields that were sent.
pub struct ParsedJson<T>(pub T, pub Bytes);

/// The field rules `value` breaks, as a list to extend.
pub(crate) fn rule_errors<T: Validate>(value: &T) -> Vec<FieldError> {
    match value.validate() {
        Ok(()) => Vec::new(),
        Err(e) => flatten_validation_errors(&e),
    }
}

impl<T> ParsedJson<T>
where
    T: Validate,
{
    /// The field rules the body breaks, as a list to extend.
    pub fn field_errors(&self) -> Vec<FieldError> {
        rule_errors(&self.0)
    }
}

/// Reads a body as `T`, or the 422 naming every field that does not read and every rule
/// that the others break.
pub(crate) fn read_body_as<T: DeserializeOwned + Validate>(bytes: &[u8]) -> Result<T, ApiError> {
    match read_json::<T>(bytes)? {
        Read::Whole(value) => Ok(value),
        Read::Broken {
            mut errors,
            standing_in,
        } => {
            if let Some((value, stand_ins)) = standing_in {
                errors.extend(
                    rule_errors(&value)
                        .into_iter()
                        .filter(|e| !stand_ins.iter().any(|s| is_within(&e.field, s))),
                );
            }
            Err(ApiError::Validation(errors))
        }
    }
}

impl<T> FromRequest for ParsedJson<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let (value, bytes) = read_request::<T>(&req, &mut payload, false).await?;
            Ok(ParsedJson(value, bytes))
        })
    }
}

/// Reads a request's JSON body as `T` (see [`read_body_as`]), once the caller is authorised
/// and its query checked (401, 403 and 400 come before anything about the body: see
/// `auth::caller`). `Content-Type` must be JSON (415), except
/// for an empty body when `empty_is_object`: it then reads as `{}`.
async fn read_request<T: DeserializeOwned + Validate>(
    req: &HttpRequest,
    payload: &mut Payload,
    empty_is_object: bool,
) -> Result<(T, Bytes), ApiError> {
    crate::auth::caller::after_authorisation(req).await;
    let json = is_json_content_type(req);
    if !json && !empty_is_object {
        return Err(ApiError::UnsupportedMediaType {
            expected: "application/json",
        });
    }
    let bytes = read_body(req, payload).await?;
    let empty = bytes.iter().all(u8::is_ascii_whitespace);
    if empty && empty_is_object {
        return Ok((read_body_as(b"{}")?, bytes));
    }
    if !json {
        return Err(ApiError::UnsupportedMediaType {
            expected: "application/json",
        });
    }
    Ok((read_body_as(&bytes)?, bytes))
}

/// No body: what an action that reads none takes (see [`ActionBody`]).
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Nothing {}

/// The body of an action endpoint (`http::actions`): its JSON `T`, parsed and validated, or
/// for an action that reads none ([`Nothing`]) nothing at all or an empty JSON object,
/// which some clients send with every `POST`. Anything else is refused rather than
/// ignored: 422 naming each field (`unknown_field`), 400 when it is not JSON, 415 when it is
/// not sent as JSON. An empty body reads as `{}`: an action that needs fields names them.
pub struct ActionBody<T = Nothing>(pub T, pub Bytes);

impl<T> FromRequest for ActionBody<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let (value, bytes) = read_request::<T>(&req, &mut payload, true).await?;
            let errors = rule_errors(&value);
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            Ok(ActionBody(value, bytes))
        })
    }
}

/// A create's body: as it was received (for the idempotency fingerprint), and as the
/// service takes it, with the field rules it breaks (none for a [`ValidJson`], refused
/// before).
pub trait RequestBody {
    type Value;
    fn raw(&self) -> &[u8];
    fn into_parts(self) -> (Self::Value, Vec<FieldError>);
}

impl<T: Validate> RequestBody for ParsedJson<T> {
    type Value = T;
    fn raw(&self) -> &[u8] {
        &self.1
    }
    fn into_parts(self) -> (T, Vec<FieldError>) {
        let errors = self.field_errors();
        (self.0, errors)
    }
}

impl<T> RequestBody for ValidJson<T> {
    type Value = T;
    fn raw(&self) -> &[u8] {
        &self.1
    }
    fn into_parts(self) -> (T, Vec<FieldError>) {
        (self.0, Vec::new())
    }
}

impl<T> RequestBody for ActionBody<T> {
    type Value = T;
    fn raw(&self) -> &[u8] {
        &self.1
    }
    fn into_parts(self) -> (T, Vec<FieldError>) {
        (self.0, Vec::new())
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
