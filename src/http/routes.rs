//! The table of routes, read from the OpenAPI document so that what the spec says is what is
//! enforced: what happens when no route matched (405 with `Allow` when the path exists under
//! other methods, 404 otherwise; both as problem+json), which query parameters each
//! operation takes ([`check_query`]) and which scopes it needs ([`required_scopes`]).

use std::sync::OnceLock;

use actix_web::HttpRequest;
use regex::Regex;

use crate::error::ApiError;

struct RouteEntry {
    pattern: Regex,
    /// How many of its segments are literal: where two templates match a path, the one
    /// with more literal segments is the route.
    literal_segments: usize,
    methods: Vec<&'static str>,
    operations: Vec<OperationEntry>,
}

/// What an operation's documentation says a request must be.
struct OperationEntry {
    method: &'static str,
    /// The query parameters it documents.
    query: Vec<String>,
    /// The scopes its security requirement lists (all are needed); `None` when it needs no
    /// token.
    scopes: Option<Vec<String>>,
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

fn literal_segments(template: &str) -> usize {
    template.split('/').filter(|s| !s.starts_with('{')).count()
}

fn query_parameters(op: &utoipa::openapi::path::Operation) -> Vec<String> {
    op.parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            utoipa::openapi::RefOr::T(p) => Some(p),
            utoipa::openapi::RefOr::Ref(_) => None,
        })
        .filter(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query))
        .map(|p| p.name.clone())
        .collect()
}

/// The scopes of an operation's first security requirement that names a scheme (`[{}]`,
/// "no token", names none).
pub fn operation_scopes(op: &utoipa::openapi::path::Operation) -> Option<Vec<String>> {
    let requirements = serde_json::to_value(op.security.as_ref()?).ok()?;
    requirements
        .as_array()?
        .iter()
        .filter_map(|r| r.as_object())
        .find_map(|r| r.values().next().cloned())
        .map(|scopes| {
            scopes
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
}

/// The documented operation a request is for (the most literal of the templates that match
/// its path), if any. `HEAD` is looked up as `GET`, which it is served as.
fn operation(req: &HttpRequest) -> Option<&'static OperationEntry> {
    let method = req.method().as_str();
    let path = req.path();
    ROUTES
        .get()?
        .iter()
        .filter(|r| r.pattern.is_match(path))
        .filter_map(|r| {
            r.operations
                .iter()
                .find(|o| o.method == method)
                .map(|o| (r.literal_segments, o))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, o)| o)
}

/// The scopes the operation of this request needs, as its documentation lists them; `None`
/// for an operation that needs no token or a path outside the document.
pub fn required_scopes(req: &HttpRequest) -> Option<&'static [String]> {
    operation(req)?.scopes.as_deref()
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
                let mut operations = Vec::new();
                let ops = [
                    (utoipa::openapi::HttpMethod::Get, &item.get),
                    (utoipa::openapi::HttpMethod::Post, &item.post),
                    (utoipa::openapi::HttpMethod::Put, &item.put),
                    (utoipa::openapi::HttpMethod::Delete, &item.delete),
                    (utoipa::openapi::HttpMethod::Patch, &item.patch),
                ];
                for (m, op) in ops.iter() {
                    if let Some(op) = op {
                        methods.push(method_name(m));
                        operations.push(OperationEntry {
                            method: method_name(m),
                            query: query_parameters(op),
                            scopes: operation_scopes(op),
                        });
                    }
                }
                // HEAD is served wherever GET is (see `request_context`).
                if item.get.is_some() {
                    methods.push("HEAD");
                }
                RouteEntry {
                    pattern: template_to_regex(path),
                    literal_segments: literal_segments(path),
                    methods,
                    operations,
                }
            })
            .collect();
        for p in extra_get_paths {
            routes.push(RouteEntry {
                pattern: template_to_regex(p),
                literal_segments: literal_segments(p),
                methods: vec!["GET", "HEAD"],
                operations: Vec::new(),
            });
        }
        routes
    });
}

/// 400 for the first query parameter the operation does not document (`unknown_parameter`,
/// naming it and those that are taken: a misspelt filter, `?after=` where the list pages with
/// `?cursor=`, or a parameter sent to an operation that takes none would otherwise be ignored
/// and the answer look right), or whose value holds the NUL character, which PostgreSQL's
/// text refuses. Routes outside the document (the docs) take anything. `HEAD` is checked as
/// `GET`, which it is served as.
pub fn check_query(req: &HttpRequest) -> Result<(), ApiError> {
    let query = req.query_string();
    if query.is_empty() {
        return Ok(());
    }
    let Some(operation) = operation(req) else {
        return Ok(());
    };
    let known = &operation.query;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if !known.iter().any(|k| *k == name) {
            let taken = if known.is_empty() {
                "no query parameter".to_owned()
            } else {
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(ApiError::bad_request(
                &name,
                "unknown_parameter",
                format!("unknown query parameter `{name}`: this operation takes {taken}"),
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
