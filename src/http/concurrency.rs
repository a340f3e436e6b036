//! Optimistic concurrency: every mutable resource carries an integer `version`, sent as a
//! strong `ETag`; changes require `If-Match` (428 without it, 412 when stale).

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};

use crate::error::ApiError;

/// The strong entity tag of a version: `"3"`.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The version a client says it last saw, from `If-Match`. `None` means a well-formed
/// header that names no version we ever issue (a weak or foreign tag): always stale.
/// `If-Match: *` (RFC 9110 §13.1.1: "any current representation") is the client saying
/// it changes whatever version is current: it matches every version.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<i32>, bool);

impl IfMatch {
    fn parse(value: &str) -> Result<Self, ApiError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ApiError::PreconditionRequired);
        }
        if value == "*" {
            return Ok(IfMatch(None, true));
        }
        // RFC 9110: a comma-separated list of entity tags (whose quoted part may itself
        // hold commas), any of which may match.
        let malformed = || {
            ApiError::bad_request(
                "If-Match",
                "invalid_header",
                "If-Match must be an entity tag such as \"3\", as sent in ETag",
            )
        };
        let mut version = None;
        let mut rest = value;
        loop {
            let (weak, tag) = match rest.strip_prefix("W/") {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let tag = tag.strip_prefix('"').ok_or_else(malformed)?;
            let end = tag.find('"').ok_or_else(malformed)?;
            // Weak tags never match: the comparison is strong.
            if !weak && version.is_none() {
                version = tag[..end].parse::<i32>().ok();
            }
            rest = tag[end + 1..].trim_start();
            if rest.is_empty() {
                break;
            }
            rest = rest.strip_prefix(',').ok_or_else(malformed)?.trim_start();
        }
        Ok(IfMatch(version, false))
    }

    /// 412 unless the client's version is the current one.
    pub fn check(&self, current_version: i32) -> Result<(), ApiError> {
        if self.1 || self.0 == Some(current_version) {
            Ok(())
        } else {
            Err(ApiError::PreconditionFailed { current_version })
        }
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.headers().get(header::IF_MATCH) {
            None => Err(ApiError::PreconditionRequired),
            Some(v) => match v.to_str() {
                Ok(s) => IfMatch::parse(s),
                Err(_) => Err(ApiError::bad_request(
                    "If-Match",
                    "invalid_header",
                    "If-Match must be visible ASCII",
                )),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strong_tags() {
        assert_eq!(IfMatch::parse("\"3\"").unwrap().0, Some(3));
        assert_eq!(IfMatch::parse("\"x\", \"4\"").unwrap().0, Some(4));
        assert_eq!(IfMatch::parse("W/\"3\"").unwrap().0, None);
        assert!(matches!(
            IfMatch::parse("3"),
            Err(ApiError::BadRequest { .. })
        ));
        assert!(matches!(
            IfMatch::parse("{}"),
            Err(ApiError::BadRequest { .. })
        ));
        assert!(matches!(
            IfMatch::parse("\"a\"b\""),
            Err(ApiError::BadRequest { .. })
        ));
        assert_eq!(IfMatch::parse("\"x\"").unwrap().0, None);
        assert_eq!(
            IfMatch::parse("W/\"a,b\" ,  \"c,\", \"5\"").unwrap().0,
            Some(5)
        );
        assert!(matches!(
            IfMatch::parse("\"1\" \"2\""),
            Err(ApiError::BadRequest { .. })
        ));
        assert!(IfMatch::parse("*").unwrap().check(7).is_ok());
        assert!(matches!(
            IfMatch::parse(" "),
            Err(ApiError::PreconditionRequired)
        ));
        assert!(IfMatch(Some(2), false).check(2).is_ok());
        assert!(matches!(
            IfMatch(Some(1), false).check(2),
            Err(ApiError::PreconditionFailed { current_version: 2 })
        ));
        assert!(IfMatch(None, false).check(1).is_err());
        assert_eq!(etag(7), "\"7\"");
    }
}

/// `If-Match` as the spec documents it, on every change of a versioned resource.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatchHeader {
    /// The ETag of the version being changed, e.g. `"3"` (several may be listed; `*`
    /// changes whatever version is current)
    #[param(
        rename = "If-Match",
        pattern = r#"^(\*|(W/)?"[^"]*"( *, *(W/)?"[^"]*")*)$"#
    )]
    pub if_match: String,
}
