//! Optimistic concurrency: every mutable resource carries an integer `version`, sent as a
//! strong `ETag`; changes require `If-Match` (428 without it, 412 when stale).

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};

use crate::error::ApiError;

/// The strong entity tag of a version: `"3"`.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The versions a client says it last saw, from `If-Match`: the list of strong tags that name
/// a version (RFC 9110 §13.1.1: the request proceeds if any of them is current). A weak or
/// foreign tag names no version we ever issue and matches none. `If-Match: *` ("any current
/// representation") is the client saying it changes whatever version is current: it
/// matches every version.
#[derive(Debug, Clone)]
pub struct IfMatch {
    versions: Vec<i32>,
    any: bool,
}

impl IfMatch {
    fn parse(value: &str) -> Result<Self, ApiError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ApiError::PreconditionRequired);
        }
        if value == "*" {
            return Ok(IfMatch {
                versions: Vec::new(),
                any: true,
            });
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
        let mut versions = Vec::new();
        let mut rest = value;
        loop {
            let (weak, tag) = match rest.strip_prefix("W/") {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let tag = tag.strip_prefix('"').ok_or_else(malformed)?;
            let end = tag.find('"').ok_or_else(malformed)?;
            // Weak tags never match: the comparison is strong.
            if !weak {
                versions.extend(tag[..end].parse::<i32>().ok());
            }
            rest = tag[end + 1..].trim_start();
            if rest.is_empty() {
                break;
            }
            rest = rest.strip_prefix(',').ok_or_else(malformed)?.trim_start();
        }
        Ok(IfMatch {
            versions,
            any: false,
        })
    }

    /// 412 unless one of the client's versions is the current one.
    pub fn check(&self, current_version: i32) -> Result<(), ApiError> {
        if self.any || self.versions.contains(&current_version) {
            Ok(())
        } else {
            Err(ApiError::PreconditionFailed { current_version })
        }
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    /// Read once the caller is authenticated and authorised (401 and 403 before 428).
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            crate::auth::caller::after_authorisation(&req).await;
            match req.headers().get(header::IF_MATCH) {
                None => Err(ApiError::PreconditionRequired),
                Some(v) => match v.to_str() {
                    Ok(s) => IfMatch::parse(s),
                    Err(_) => Err(ApiError::bad_request(
                        "If-Match",
                        "invalid_header",
                        "If-Match must be visible ASCII",
                    )),
                },
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strong_tags() {
        let versions = |v: &str| IfMatch::parse(v).unwrap().versions;
        assert_eq!(versions("\"3\""), vec![3]);
        assert_eq!(versions("\"x\", \"4\""), vec![4]);
        assert_eq!(versions("W/\"3\""), Vec::<i32>::new());
        for malformed in ["3", "{}", "\"a\"b\"", "\"1\" \"2\""] {
            assert!(
                matches!(IfMatch::parse(malformed), Err(ApiError::BadRequest { .. })),
                "{malformed}"
            );
        }
        assert_eq!(versions("\"x\""), Vec::<i32>::new());
        assert_eq!(versions("W/\"a,b\" ,  \"c,\", \"5\""), vec![5]);
        assert!(IfMatch::parse("*").unwrap().check(7).is_ok());
        assert!(matches!(
            IfMatch::parse(" "),
            Err(ApiError::PreconditionRequired)
        ));
    }

    #[test]
    fn any_listed_version_matches() {
        let list = IfMatch::parse("\"1\", \"2\", W/\"3\"").unwrap();
        assert!(list.check(1).is_ok());
        assert!(list.check(2).is_ok());
        assert!(matches!(
            list.check(3),
            Err(ApiError::PreconditionFailed { current_version: 3 })
        ));
        assert!(IfMatch::parse("\"x\"").unwrap().check(1).is_err());
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
