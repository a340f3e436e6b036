//! The one error type of the API, rendered as RFC 9457 `application/problem+json`.
//!
//! Every failure a handler, an extractor or actix itself can produce ends here, so that a
//! partner's software sees one shape of error everywhere.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// What a 401 says when the request carried no token at all.
pub const NO_TOKEN: &str = "a bearer token is required";

/// One failing field of a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
#[schema(example = json!({"field": "siret", "code": "check_digit", "message": "SIRET check digit is wrong"}))]
pub struct FieldError {
    /// Where the value is: a body field as a dotted path (`household.birth_date`,
    /// `outcomes[1]`), a query parameter or a header by its name, or the stored rule a request
    /// breaks (`measure.rules.max_total_months`).
    pub field: String,
    /// A stable machine-readable code: `required`, `invalid_type` (an array where an object
    /// is expected included), `unknown_field`, `unknown_value`, `duplicate_key` (a key
    /// repeated in its object), `not_nullable` (`null` in a PATCH on a field that cannot be
    /// empty), `not_allowed` (a field this kind of object does not take), `nul_character`;
    /// for a query parameter `unknown_parameter`, `duplicate_parameter`,
    /// `invalid_parameter`; or a rule's own (`length`, `range`, `out_of_range`, `email`,
    /// `check_digit`, `not_attributed`, `in_future`, `in_past`, `consent_required`,
    /// `outside_territory`, `exclusive`, `outside_renewal_window`, …).
    pub code: String,
    /// A human-readable explanation, in English.
    pub message: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document, as every error response carries it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation", "title": "Invalid request", "status": 422,
    "detail": "1 field is invalid", "instance": "/v1/organisations",
    "request_id": "0193a5c2-7d1e-7b3a-9c4f-2f0e8d6b1a22",
    "errors": [{"field": "siret", "code": "check_digit", "message": "SIRET check digit is wrong"}]
}))]
pub struct Problem {
    /// A URI reference naming the kind of problem: `/problems/` and one of `bad-request`,
    /// `unauthorized`, `forbidden`, `insufficient-scope`, `not-found`, `method-not-allowed`,
    /// `conflict`, `precondition-failed`, `precondition-required`, `payload-too-large`,
    /// `unsupported-media-type`, `validation`, `too-many-requests`, `unavailable`,
    /// `internal`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// The path of the request.
    pub instance: String,
    /// The request id, also sent as `X-Request-Id`: quote it when asking for help.
    pub request_id: String,
    /// Every failing field, for 400 and 422.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Problem-specific members: a full programme's `code` `programme_full` with
    /// `programme_id`, `kind`, `used` and `funded`; an overlapping sub-lease's `code`
    /// `overlapping_sublease`; an agreement's `units_covered` and `units_attached`.
    #[serde(flatten)]
    #[schema(additional_properties = true)]
    pub extensions: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("bad request: {detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The token lacks scopes the operation needs (RFC 6750 §3.1): 403 with the `Bearer`
    /// challenge naming them.
    #[error("insufficient scope: {0:?}")]
    InsufficientScope(Vec<String>),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<&'static str> },
    #[error("conflict: {detail}")]
    Conflict {
        detail: String,
        extensions: Map<String, Value>,
    },
    #[error("precondition failed")]
    PreconditionFailed { current_version: i32 },
    #[error("precondition required")]
    PreconditionRequired,
    #[error("payload too large")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type")]
    UnsupportedMediaType { expected: &'static str },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("too many requests")]
    TooManyRequests { retry_after_seconds: u64 },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(field: &str, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError::BadRequest {
            detail: message.clone(),
            errors: vec![FieldError::new(field, code, message)],
        }
    }

    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::Conflict {
            detail: detail.into(),
            extensions: Map::new(),
        }
    }

    /// 409 for a request whose Idempotency-Key is held by a request still running: retry
    /// after `retry_after_seconds` (in the body and as `Retry-After`), when it has finished.
    pub fn still_processing() -> Self {
        let mut extensions = Map::new();
        extensions.insert("retry_after_seconds".into(), Value::from(1));
        ApiError::Conflict {
            detail: "a request with this Idempotency-Key is still being processed; retry shortly"
                .into(),
            extensions,
        }
    }

    /// 409 for a duplicate, naming the existing resource (`existing_id`).
    pub fn duplicate(detail: impl Into<String>, existing_id: uuid::Uuid) -> Self {
        let mut extensions = Map::new();
        extensions.insert("existing_id".into(), Value::from(existing_id.to_string()));
        ApiError::Conflict {
            detail: detail.into(),
            extensions,
        }
    }

    /// 409 `programme_full`: every place of `kind` the programme funds is used; the
    /// problem names `used` and `funded` (its funder raises `funded` with a `PATCH`).
    pub fn programme_full(programme_id: uuid::Uuid, kind: &str, used: i32, funded: i32) -> Self {
        let mut extensions = Map::new();
        extensions.insert("code".into(), Value::from("programme_full"));
        extensions.insert("programme_id".into(), Value::from(programme_id.to_string()));
        extensions.insert("kind".into(), Value::from(kind));
        extensions.insert("used".into(), Value::from(used));
        extensions.insert("funded".into(), Value::from(funded));
        ApiError::Conflict {
            detail: format!(
                "the programme's {kind} places are all used: {used} of {funded} measures \
                 started; its funder may raise the number funded"
            ),
            extensions,
        }
    }

    /// 409 for an action the current state does not allow: `current_status` and the
    /// `allowed_actions` of the caller's party, so a client can show what it may do.
    pub fn not_now(
        detail: impl Into<String>,
        current_status: &str,
        allowed_actions: &[&str],
    ) -> Self {
        let mut extensions = Map::new();
        extensions.insert("current_status".into(), Value::from(current_status));
        extensions.insert(
            "allowed_actions".into(),
            Value::from(allowed_actions.to_vec()),
        );
        ApiError::Conflict {
            detail: detail.into(),
            extensions,
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest { .. } => ("bad-request", "Malformed request"),
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            ApiError::Forbidden(_) => ("forbidden", "Not allowed"),
            ApiError::InsufficientScope(_) => ("insufficient-scope", "Insufficient scope"),
            ApiError::NotFound => ("not-found", "Not found"),
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            ApiError::Conflict { .. } => ("conflict", "Conflict"),
            ApiError::PreconditionFailed { .. } => ("precondition-failed", "Stale version"),
            ApiError::PreconditionRequired => ("precondition-required", "If-Match required"),
            ApiError::PayloadTooLarge { .. } => ("payload-too-large", "Request body too large"),
            ApiError::UnsupportedMediaType { .. } => {
                ("unsupported-media-type", "Unsupported media type")
            }
            ApiError::Validation(_) => ("validation", "Invalid request"),
            ApiError::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
            ApiError::Unavailable(_) => ("unavailable", "Service unavailable"),
            ApiError::Internal(_) => ("internal", "Internal error"),
        }
    }

    /// The problem document this error renders as.
    pub fn to_problem(&self) -> Problem {
        let (slug, title) = self.slug_and_title();
        let ctx = crate::context::current();
        let mut extensions = Map::new();
        let mut errors = Vec::new();
        let detail = match self {
            ApiError::BadRequest { detail, errors: e } => {
                errors = e.clone();
                detail.clone()
            }
            ApiError::Unauthorized(d) | ApiError::Forbidden(d) => d.clone(),
            ApiError::InsufficientScope(scopes) => {
                extensions.insert("required_scopes".into(), Value::from(scopes.clone()));
                format!("this token lacks the scope {}", scopes.join(" and "))
            }
            ApiError::NotFound => "no such resource, or your organisation may not see it".into(),
            ApiError::MethodNotAllowed { allow } => {
                format!("this resource accepts {}", allow.join(", "))
            }
            ApiError::Conflict {
                detail,
                extensions: ext,
            } => {
                extensions = ext.clone();
                detail.clone()
            }
            ApiError::PreconditionFailed { current_version } => {
                extensions.insert("current_version".into(), Value::from(*current_version));
                format!(
                    "the resource has changed: its current version is {current_version}; fetch it again and retry"
                )
            }
            ApiError::PreconditionRequired => {
                "this operation requires an If-Match header with the resource's ETag".into()
            }
            ApiError::PayloadTooLarge { limit } => {
                format!("the request body exceeds {limit} bytes")
            }
            ApiError::UnsupportedMediaType { expected } => {
                format!("the body must be sent as {expected}")
            }
            ApiError::Validation(e) => {
                errors = e.clone();
                let distinct: std::collections::BTreeSet<&str> =
                    e.iter().map(|f| f.field.as_str()).collect();
                match distinct.len() {
                    1 => "1 field is invalid".into(),
                    n => format!("{n} fields are invalid"),
                }
            }
            ApiError::TooManyRequests {
                retry_after_seconds,
            } => {
                format!("retry after {retry_after_seconds} seconds")
            }
            ApiError::Unavailable(_) => "the database is unreachable; retry later".into(),
            ApiError::Internal(_) => {
                "an unexpected error occurred; quote the request id when reporting it".into()
            }
        };
        Problem {
            problem_type: format!("/problems/{slug}"),
            title: title.into(),
            status: self.status_code().as_u16(),
            detail,
            instance: ctx.as_ref().map(|c| c.path.clone()).unwrap_or_default(),
            request_id: ctx.map(|c| c.request_id).unwrap_or_default(),
            errors,
            extensions,
        }
    }
}

pub const PROBLEM_JSON: &str = "application/problem+json";

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::InsufficientScope(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let problem = self.to_problem();
        match self {
            ApiError::Internal(cause) => {
                log::error!("request {} failed: {cause}", problem.request_id)
            }
            ApiError::Unavailable(cause) => {
                log::warn!(
                    "request {}: database unavailable: {cause}",
                    problem.request_id
                )
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self {
            ApiError::Unauthorized(detail) => {
                // RFC 6750 §3.1: a request without credentials gets no error code (a client
                // reading `invalid_token` would try to refresh a token it does not have).
                let challenge = if detail == NO_TOKEN {
                    "Bearer realm=\"passerelle\"".to_owned()
                } else {
                    format!(
                        "Bearer realm=\"passerelle\", error=\"invalid_token\", error_description=\"{}\"",
                        detail.replace('"', "'")
                    )
                };
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    response.insert_header((header::WWW_AUTHENTICATE, v));
                }
            }
            ApiError::InsufficientScope(scopes) => {
                let challenge = format!(
                    "Bearer realm=\"passerelle\", error=\"insufficient_scope\", scope=\"{}\"",
                    scopes.join(" ")
                );
                if let Ok(v) = HeaderValue::from_str(&challenge) {
                    response.insert_header((header::WWW_AUTHENTICATE, v));
                }
            }
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.join(", ")));
            }
            ApiError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            ApiError::Conflict { extensions, .. } => {
                if let Some(seconds) = extensions.get("retry_after_seconds") {
                    response.insert_header((header::RETRY_AFTER, seconds.to_string()));
                }
            }
            ApiError::TooManyRequests {
                retry_after_seconds,
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()));
            }
            _ => {}
        }
        response.body(serde_json::to_vec(&problem).unwrap_or_default())
    }
}

/// Whether a database error means the server cannot be reached (503) rather than a fault
/// of ours (500).
fn is_connection_failure(kind: &diesel::result::DatabaseErrorKind, message: &str) -> bool {
    use diesel::result::DatabaseErrorKind as K;
    matches!(kind, K::ClosedConnection | K::UnableToSendCommand)
        || message.contains("connection closed")
        || message.contains("terminating connection")
        || message.contains("shutting down")
        || message.contains("Connection refused")
        || message.contains("error communicating")
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match e {
            E::NotFound => ApiError::NotFound,
            E::DatabaseError(K::UniqueViolation, info) => ApiError::conflict(format!(
                "already exists ({})",
                info.constraint_name().unwrap_or("unique")
            )),
            E::DatabaseError(kind, info) if is_connection_failure(&kind, info.message()) => {
                ApiError::Unavailable(info.message().to_string())
            }
            E::BrokenTransactionManager => ApiError::Unavailable("broken transaction".into()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        ApiError::Unavailable(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// `NotFound` as `None`, for a lookup whose absence is a field error rather than a 404
/// (an unknown organisation named in a body, a unit the caller does not see).
pub trait OptionalFound<T> {
    fn optional_found(self) -> Result<Option<T>, ApiError>;
}

impl<T> OptionalFound<T> for Result<T, ApiError> {
    fn optional_found(self) -> Result<Option<T>, ApiError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(ApiError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_detail_counts_fields() {
        let e = ApiError::Validation(vec![
            FieldError::new("a", "required", "a is required"),
            FieldError::new("b", "required", "b is required"),
        ]);
        let p = e.to_problem();
        assert_eq!(p.status, 422);
        assert_eq!(p.detail, "2 fields are invalid");
        assert_eq!(p.problem_type, "/problems/validation");
        assert_eq!(p.errors.len(), 2);
    }

    #[test]
    fn unique_violation_is_conflict() {
        let e: ApiError = diesel::result::Error::NotFound.into();
        assert_eq!(e.status_code(), StatusCode::NOT_FOUND);
    }
}
