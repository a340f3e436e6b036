//! The OpenAPI document: collected from the routes by utoipa-actix-web, completed here with
//! what every operation shares (security scheme, error responses, headers).

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, OpenApi, Ref, RefOr, ResponseBuilder, Type};
use utoipa::Modify;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "passerelle",
        description = "The API through which departments, State services and commissions, associations and \
social landlords exchange the cases of the households they house and support: referrals, housing units, \
sub-leases and support measures. Each organisation sees what its part needs and nothing more.\n\n\
Conventions: JSON bodies in `snake_case`; timestamps RFC 3339 UTC; money in integer cents (`*_cents`); \
UUID v7 identifiers; lists page by opaque cursor (`limit`, `cursor`, `next_cursor`); errors are \
RFC 9457 `application/problem+json` (the token endpoint answers OAuth errors); every mutable resource \
has a `version` sent as a strong `ETag`, required as `If-Match` to change it; creating and transition \
`POST`s accept `Idempotency-Key`; every response carries `X-Request-Id`.\n\n\
Request bodies: a key repeated in an object is refused (422 `duplicate_key`); one 422 names every \
missing (`required`), mistyped (`invalid_type`), unknown (`unknown_field`, `unknown_value`) field and \
every rule the other fields break. `PATCH` is JSON Merge Patch (RFC 7396): an absent field is \
unchanged, `null` clears a field the schema types as nullable and is a 422 (`not_nullable`) on any \
other; a `PATCH` that changes nothing keeps the version and emits no event.\n\n\
Calendar dates (`YYYY-MM-DD`: today, due dates, overdue flags, expiries, the dates of rules of law) \
are French legal dates, taken in `Europe/Paris` for every object, overseas ones included; timestamps \
stay UTC. HTTP is read as RFC 9110 says: `HEAD` wherever `GET`, scheme and header names without \
regard to case, `If-Match` with one or more entity tags.",
        version = "1.0.0",
        license(name = "AGPL-3.0-or-later"),
    ),
    tags(
        (name = "auth", description = "Tokens (OAuth 2.0) and the keys that sign them"),
        (name = "organisations", description = "Partner organisations"),
        (name = "accounts", description = "People and partner systems of an organisation"),
        (name = "events", description = "The feed partners sync from"),
        (name = "referrals", description = "The closed-loop referral: a referrer asks an operator to take a household on, and always learns what became of it"),
        (name = "households", description = "Households and their consent to sharing; special-category grounds and their read journal"),
        (name = "units", description = "Housing units landlords hold and make available, and the households associations propose for them"),
        (name = "agreements", description = "Agreements (conventions) by which a landlord makes units available to an association"),
        (name = "subleases", description = "Sub-leases of units to households, until the household rents in its own name; rent arrears"),
        (name = "operations", description = "Health and readiness probes"),
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError))
)]
pub struct ApiDoc;

struct Conventions;

fn problem_response(description: &str, example: serde_json::Value) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        crate::error::PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .example(Some(example))
            .build(),
    )
}

fn example(status: u16, slug: &str, title: &str, detail: &str) -> serde_json::Value {
    serde_json::json!({"type": format!("/problems/{slug}"), "title": title, "status": status, "detail": detail,
        "instance": "/v1/…", "request_id": "0193a5c2-7d1e-7b3a-9c4f-2f0e8d6b1a22"})
}

fn string_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(description))
        .build()
}

fn add(op: &mut Operation, status: u16, response: ResponseBuilder) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::T(response.build()));
}

fn has_header(op: &Operation, name: &str) -> bool {
    op.parameters
        .iter()
        .flatten()
        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case(name)))
}

impl Modify for Conventions {
    fn modify(&self, api: &mut OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from POST /v1/auth/token"))
                    .build(),
            ),
        );
        for (path, item) in api.paths.paths.iter_mut() {
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                // Every response carries the request id.
                for response in op.responses.responses.values_mut() {
                    if let RefOr::T(r) = response {
                        r.headers.insert(
                            "X-Request-Id".into(),
                            RefOr::T(string_header(
                                "The request id (yours if you sent a valid one)",
                            )),
                        );
                    }
                }
                if path == "/v1/auth/token" || !path.starts_with("/v1") {
                    continue;
                }
                add(
                    op,
                    400,
                    problem_response(
                        "A parameter or the body cannot be parsed",
                        example(
                            400,
                            "bad-request",
                            "Malformed request",
                            "the body is not valid JSON: expected value (line 1, column 2)",
                        ),
                    ),
                );
                let mut unauthorized = problem_response(
                    "No token, or an invalid, expired or revoked one",
                    example(
                        401,
                        "unauthorized",
                        "Authentication required",
                        "the token has expired",
                    ),
                );
                unauthorized = unauthorized.header(
                    "WWW-Authenticate",
                    string_header("Bearer realm=\"passerelle\", error=\"invalid_token\""),
                );
                add(op, 401, unauthorized);
                add(
                    op,
                    403,
                    problem_response(
                        "The caller's role or scopes do not allow this",
                        example(
                            403,
                            "forbidden",
                            "Not allowed",
                            "only the organisation's admins manage its accounts",
                        ),
                    ),
                );
                add(
                    op,
                    404,
                    problem_response(
                        "No such resource, or the caller's organisation may not see it",
                        example(
                            404,
                            "not-found",
                            "Not found",
                            "no such resource, or your organisation may not see it",
                        ),
                    ),
                );
                if op.request_body.is_some() {
                    add(
                        op,
                        413,
                        problem_response(
                            "The body is too large",
                            example(
                                413,
                                "payload-too-large",
                                "Request body too large",
                                "the request body exceeds 1048576 bytes",
                            ),
                        ),
                    );
                    add(
                        op,
                        415,
                        problem_response(
                            "The body is not JSON",
                            example(
                                415,
                                "unsupported-media-type",
                                "Unsupported media type",
                                "the body must be sent as application/json",
                            ),
                        ),
                    );
                }
                if op.request_body.is_some() || has_header(op, "Idempotency-Key") {
                    add(
                        op,
                        422,
                        problem_response(
                            "A value breaks a rule; every failing field is listed",
                            serde_json::json!({"type": "/problems/validation", "title": "Invalid request", "status": 422,
                            "detail": "1 field is invalid", "instance": "/v1/…", "request_id": "0193a5c2-7d1e-7b3a-9c4f-2f0e8d6b1a22",
                            "errors": [{"field": "siret", "code": "check_digit", "message": "SIRET check digit is wrong"}]}),
                        ),
                    );
                }
                if has_header(op, "Idempotency-Key") {
                    let mut still_running = example(409, "conflict", "Conflict", "a request with this Idempotency-Key is still being processed; retry shortly");
                    still_running["retry_after_seconds"] = 1.into();
                    add(op, 409, problem_response("A request with this Idempotency-Key is still running (`Retry-After` says when to retry), or the state forbids the action",
                        still_running)
                        .header("Retry-After", string_header("Seconds to wait, when a request with the same key is still running")));
                    if let Some(RefOr::T(r)) = op.responses.responses.values_mut().find(|_| true) {
                        r.headers.insert("Idempotent-Replayed".into(), RefOr::T(string_header("`true` when this is the stored response of an earlier request with the same key")));
                    }
                }
                if has_header(op, "If-Match") {
                    add(
                        op,
                        412,
                        problem_response(
                            "If-Match does not match the current version",
                            serde_json::json!({"type": "/problems/precondition-failed", "title": "Stale version", "status": 412,
                            "detail": "the resource has changed: its current version is 4; fetch it again and retry",
                            "instance": "/v1/…", "request_id": "0193a5c2-7d1e-7b3a-9c4f-2f0e8d6b1a22", "current_version": 4}),
                        ),
                    );
                    add(op, 428, problem_response("If-Match is missing",
                        example(428, "precondition-required", "If-Match required", "this operation requires an If-Match header with the resource's ETag")));
                }
                add(
                    op,
                    500,
                    problem_response(
                        "An unexpected error; its cause is logged with the request id",
                        example(
                            500,
                            "internal",
                            "Internal error",
                            "an unexpected error occurred; quote the request id when reporting it",
                        ),
                    ),
                );
                let unavailable = problem_response(
                    "The database is unreachable",
                    example(
                        503,
                        "unavailable",
                        "Service unavailable",
                        "the database is unreachable; retry later",
                    ),
                )
                .header("Retry-After", string_header("Seconds to wait"));
                add(op, 503, unavailable);
            }
        }
    }
}

/// The complete document the service serves.
pub fn document() -> OpenApi {
    use utoipa::OpenApi as _;
    use utoipa_actix_web::AppExt;
    let (_, mut api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::startup::routes)
        .split_for_parts();
    Conventions.modify(&mut api);
    api
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut s = document()
        .to_pretty_json()
        .expect("the document serialises");
    s.push('\n');
    s
}
