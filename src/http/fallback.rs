//! What happens when no route matched: 405 with `Allow` when the path exists under other
//! methods, 404 otherwise; both as problem+json. The table of paths and methods is read
//! from the OpenAPI document, so it cannot drift from the routes.

use std::sync::OnceLock;

use actix_web::HttpRequest;
use regex::Regex;

use crate::error::ApiError;

struct RouteEntry {
    pattern: Regex,
    methods: Vec<&'static str>,
}

static ROUTES: OnceLock<Vec<RouteEntry>> = OnceLock::new();

fn method_name(m: &utoipa::openapi::HttpMethod) -> &'static str {
    use utoipa::openapi::HttpMethod as H;
    match m {
        H::Get => "GET",
        H::Post => "POST",
        H::Put => "PUT",
        H::Delete => "DELETE",
        H::Options => "OPTIONS",
        H::Head => "HEAD",
        H::Patch => "PATCH",
        H::Trace => "TRACE",
    }
}

fn template_to_regex(template: &str) -> Regex {
    let mut out = String::from("^");
    for (i, part) in template.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if part.starts_with('{') && part.ends_with('}') {
            out.push_str("[^/]+");
        } else {
            out.push_str(&regex::escape(part));
        }
    }
    out.push('$');
    Regex::new(&out).expect("path templates are valid")
}

/// Records the routes of the API (once per process; every app has the same routes).
pub fn register_routes(api: &utoipa::openapi::OpenApi, extra_get_paths: &[&str]) {
    ROUTES.get_or_init(|| {
        let mut routes: Vec<RouteEntry> = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let mut methods: Vec<&'static str> = Vec::new();
                let ops = [
                    (utoipa::openapi::HttpMethod::Get, &item.get),
                    (utoipa::openapi::HttpMethod::Post, &item.post),
                    (utoipa::openapi::HttpMethod::Put, &item.put),
                    (utoipa::openapi::HttpMethod::Delete, &item.delete),
                    (utoipa::openapi::HttpMethod::Patch, &item.patch),
                ];
                for (m, op) in ops.iter() {
                    if op.is_some() {
                        methods.push(method_name(m));
                    }
                }
                // HEAD is served wherever GET is (see `request_context`).
                if item.get.is_some() {
                    methods.push("HEAD");
                }
                RouteEntry {
                    pattern: template_to_regex(path),
                    methods,
                }
            })
            .collect();
        for p in extra_get_paths {
            routes.push(RouteEntry {
                pattern: template_to_regex(p),
                methods: vec!["GET", "HEAD"],
            });
        }
        routes
    });
}

/// The default service of the app.
pub async fn not_matched(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    let path = req.path();
    let allowed: Vec<&'static str> = ROUTES
        .get()
        .map(|routes| {
            let mut m: Vec<&'static str> = routes
                .iter()
                .filter(|r| r.pattern.is_match(path))
                .flat_map(|r| r.methods.iter().copied())
                .collect();
            m.sort();
            m.dedup();
            m
        })
        .unwrap_or_default();
    Err(if allowed.is_empty() {
        ApiError::NotFound
    } else {
        ApiError::MethodNotAllowed { allow: allowed }
    })
}

#[cfg(test)]
mod tests {
    use super::template_to_regex;

    #[test]
    fn templates() {
        let r = template_to_regex("/v1/organisations/{id}/accounts");
        assert!(r.is_match("/v1/organisations/abc/accounts"));
        assert!(!r.is_match("/v1/organisations/abc/def/accounts"));
        assert!(!r.is_match("/v1/organisations/abc"));
    }
}
