//! What caches and conditional requests see of a response.
//!
//! - `Cache-Control: no-store` on every answer under `/v1` that does not set its own: they
//!   carry personal data or a partner's cases, which no shared or browser cache may keep.
//! - Conditional `GET` (RFC 9110 §13.1.2): a `200` to a `GET` carries a validator (its own
//!   strong `ETag`, the resource's version; or, for a list or a document without one, a weak
//!   `ETag` computed from its content), and a request whose `If-None-Match` matches it is
//!   answered `304 Not Modified` without the content. The handler still runs (a poller's
//!   read of a household's special categories is journalled as one), so a 304 saves the
//!   bytes, not the work.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};
use sha2::Digest;

/// Whether `If-None-Match` (a list of entity tags, or `*`) matches `etag`, by the weak
/// comparison RFC 9110 §13.1.2 requires: `W/"3"` matches `"3"`.
pub fn none_match(if_none_match: &str, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let etag = opaque(etag);
    if if_none_match.trim() == "*" {
        return true;
    }
    // Entity tags hold no comma in what we issue; a foreign one that does cannot match.
    if_none_match.split(',').any(|tag| opaque(tag) == etag)
}

/// A weak entity tag of a content: `W/"` and the first 16 bytes of its SHA-256 in hex.
pub fn weak_etag(content: &[u8]) -> String {
    let digest = sha2::Sha256::digest(content);
    format!("W/\"{}\"", hex::encode(&digest[..16]))
}

/// Middleware: `no-store`, validators and `304` (see the module's documentation).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let personal = req.path().starts_with("/v1/");
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let get = req.method() == Method::GET;
    let mut res = next.call(req).await?.map_into_boxed_body();
    if personal && !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if !get || res.status() != StatusCode::OK {
        return Ok(res);
    }
    let (req, response) = res.into_parts();
    let (mut head, body) = response.into_parts();
    let content = match body.try_into_bytes() {
        Ok(bytes) => bytes,
        // A streamed body (none of ours) keeps its way.
        Err(body) => return Ok(ServiceResponse::new(req, head.set_body(body))),
    };
    let etag = match head
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
    {
        Some(etag) => etag.to_owned(),
        None => {
            let etag = weak_etag(&content);
            if let Ok(v) = HeaderValue::from_str(&etag) {
                head.headers_mut().insert(header::ETAG, v);
            }
            etag
        }
    };
    if if_none_match.is_some_and(|inm| none_match(&inm, &etag)) {
        let mut not_modified = HttpResponse::NotModified();
        for name in [header::ETAG, header::CACHE_CONTROL, header::VARY] {
            if let Some(v) = head.headers().get(&name) {
                not_modified.insert_header((name.clone(), v.clone()));
            }
        }
        return Ok(ServiceResponse::new(req, not_modified.finish()));
    }
    Ok(ServiceResponse::new(
        req,
        head.set_body(BoxBody::new(content)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_comparison() {
        assert!(none_match("\"3\"", "\"3\""));
        assert!(none_match("W/\"3\"", "\"3\""));
        assert!(none_match("\"1\", W/\"3\"", "\"3\""));
        assert!(none_match("*", "\"3\""));
        assert!(!none_match("\"4\"", "\"3\""));
        let tag = weak_etag(b"{}");
        assert!(tag.starts_with("W/\"") && tag.len() == 36, "{tag}");
        assert!(none_match(&tag, &tag));
        assert_ne!(weak_etag(b"{}"), weak_etag(b"[]"));
    }
}
