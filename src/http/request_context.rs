//! The request middleware: gives each request its id and its [`crate::context`],
//! turns errors rendered outside the handlers into problem+json, writes the access log.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError};

use crate::context::{self, RequestContext};
use crate::error::ApiError;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The account a request was authenticated as, recorded by the auth extractor for the
/// access log (an opaque id: no personal data).
#[derive(Debug, Clone, Copy)]
pub struct LoggedAccount(pub uuid::Uuid);

fn escaped_error(e: &Error) -> HttpResponse {
    let status = e.as_response_error().status_code();
    let api_error = match status.as_u16() {
        400 => ApiError::bad_request("request", "refused", e.to_string()),
        401 => ApiError::Unauthorized(e.to_string()),
        403 => ApiError::Forbidden(e.to_string()),
        404 => ApiError::NotFound,
        413 => ApiError::PayloadTooLarge { limit: 0 },
        503 => ApiError::Unavailable(e.to_string()),
        _ => ApiError::Internal(e.to_string()),
    };
    api_error.error_response()
}

/// A caller's request id is kept when it is short and plain; anything else is replaced, so
/// that logs and headers never carry arbitrary input.
fn acceptable_request_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Middleware: assigns the request id, runs the request inside its context, returns the id
/// as `X-Request-Id` and writes one access-log line (method, route pattern, status, time:
/// never the query string or body, which may hold personal data).
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let clock_offset = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .map(|s| s.config.clock.offset())
        .unwrap_or_else(chrono::TimeDelta::zero);
    let method = req.method().clone();
    let head = method == actix_web::http::Method::HEAD;
    if head {
        // RFC 9110 §9.3.2: HEAD is GET without the content. The routes are declared for GET;
        // actix's encoder already leaves out the body of a response to a HEAD request
        // (it noted the method when it read the request) and keeps its headers.
        req.head_mut().method = actix_web::http::Method::GET;
    }
    let ctx = RequestContext {
        request_id: request_id.clone(),
        path: req.path().to_owned(),
        clock_offset,
        head,
    };
    let res = context::scope(ctx.clone(), next.call(req)).await?;
    // An error rendered by a middleware of actix's (a refused CORS preflight, say) is
    // turned into problem+json like every other.
    let foreign_error = res.response().error().is_some()
        && res
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .is_none_or(|v| v.as_bytes() != crate::error::PROBLEM_JSON.as_bytes());
    let mut res = if foreign_error {
        let response = context::scope(ctx, async {
            escaped_error(res.response().error().expect("checked above"))
        })
        .await;
        res.into_response(response).map_into_right_body()
    } else {
        res.map_into_left_body()
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    let pattern = res.request().match_pattern().unwrap_or_else(|| "-".into());
    let account = res
        .request()
        .extensions()
        .get::<LoggedAccount>()
        .map(|a| a.0.to_string())
        .unwrap_or_else(|| "-".into());
    log::info!(
        target: "passerelle::access",
        "{method} {pattern} {} {:.1}ms request_id={request_id} account={account}",
        res.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0,
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::acceptable_request_id;

    #[test]
    fn request_ids() {
        assert!(acceptable_request_id("abc-123_x.y:z"));
        assert!(!acceptable_request_id(""));
        assert!(!acceptable_request_id("with space"));
        assert!(!acceptable_request_id(&"a".repeat(129)));
        assert!(!acceptable_request_id("é"));
    }
}
