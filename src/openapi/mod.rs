//! The OpenAPI document: collected from the routes by utoipa-actix-web, completed here with
//! what every operation shares (security scheme, error responses, headers).

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{
    ClientCredentials, Flow, OAuth2, Password, Scopes, SecurityScheme,
};

use crate::identity::model::Scope;

mod shapes;

pub use shapes::event_schema_name;
use shapes::{
    body_schema_name, events_are_a_union, link_operations, list_pages_refer_to_their_items,
    optional_bodies_are_left_out, problem_members,
};

/// Where tokens come from (the token endpoint), as the security scheme names it.
pub const TOKEN_URL: &str = "/v1/auth/token";
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
UUID v7 identifiers; lists page by opaque cursor (`limit`, `cursor`, `next_cursor`; the event feed by `after`); errors are \
RFC 9457 `application/problem+json` (the token endpoint answers OAuth errors); every mutable resource \
has a `version` sent as a strong `ETag`, required as `If-Match` to change it (each operation lists the \
headers it takes); creating and transition `POST`s accept `Idempotency-Key` where they list it; \
`allowed_actions` on a resource are exactly the actions that would succeed for the caller now; every \
response carries `X-Request-Id`.\n\n\
Request bodies: a key repeated in an object is refused (422 `duplicate_key`); one 422 names every \
missing (`required`), mistyped (`invalid_type`), unknown (`unknown_field`, `unknown_value`) field and \
every rule the other fields break. `PATCH` is JSON Merge Patch (RFC 7396): an absent field is \
unchanged, `null` clears a field the schema types as nullable and is a 422 (`not_nullable`) on any \
other; a `PATCH` that changes nothing keeps the version and emits no event.\n\n\
Calendar dates (`YYYY-MM-DD`: today, due dates, overdue flags, expiries, the dates of rules of law) \
are French legal dates, taken in `Europe/Paris` for every object, overseas ones included; timestamps \
stay UTC. HTTP is read as RFC 9110 says: `HEAD` wherever `GET`, scheme and header names without \
regard to case, `If-Match` with one or more entity tags.\n\n\
Order of checks: the token (401), its scopes (403 `insufficient-scope`, with \
`WWW-Authenticate: Bearer error=\"insufficient_scope\"`), then the query, `If-Match` and the body \
(400, 428, 422), then the rules of the case (403, 404, 409). Responses under `/v1` are \
`Cache-Control: no-store`; a `GET` answers `304 Not Modified` when `If-None-Match` holds its current \
`ETag` (a resource's version, or a list's weak tag); answers are compressed (gzip, br, zstd) when \
`Accept-Encoding` asks. The feed says when to poll again (`poll_after_seconds`, `Retry-After`).",
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
        (name = "measures", description = "Support measures: the catalogue of kinds and their rules, measures, renewals decided by funders, contacts and objectives"),
        (name = "programmes", description = "Programmes (calls for projects): the measures a funder funds per kind, their use, and the indicators funders and operators see"),
        (name = "webhooks", description = "Outgoing webhooks, as the Standard Webhooks specification says (standardwebhooks.com): your software is called when an event of your organisation's feed happens, instead of polling `GET /v1/events`.\n\nEach delivery is a `POST` to your endpoint's URL with `Content-Type: application/json` and the body `WebhookMessage`: the event exactly as the feed shows it, plus its `feed_position` (catch up from `GET /v1/events?after=` if you missed some). Headers: `webhook-id` (the event's id, the same on every retry: deduplicate on it), `webhook-timestamp` (Unix seconds of this attempt), `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` under the secret's bytes; two signatures, space-separated, while a rotated secret still signs), `User-Agent: passerelle-webhooks/…`. Verify with any Standard Webhooks library and the `whsec_` secret (`WebhookEndpointWithSecret.secret`).\n\nDelivery is at least once. A 2xx answer within 15 seconds (by default) is a success; anything else (another status, a redirect, which is not followed, a timeout, a refused connection, a TLS failure) is a failure, tried again 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after (each ±10 %), then `failed`. A `410 Gone` answer disables the endpoint at once; so do 5 days of failures without a success, and your feed then gets `webhook_endpoint.disabled`. Events are sent no sooner than the feed shows them, and only those your organisation's feed receives. URLs are `https` to public addresses only, checked at registration and at each delivery. Deliveries are kept 30 days."),
        (name = "operations", description = "Health and readiness probes"),
    ),
    components(schemas(
        crate::error::Problem,
        crate::error::FieldError,
        crate::households::events::HouseholdEventData,
        crate::referrals::events::ReferralEventData,
        crate::referrals::events::ReferralCommentEventData,
        crate::units::events::UnitEventData,
        crate::units::events::AgreementEventData,
        crate::units::events::ProposalEventData,
        crate::subleases::events::SubleaseEventData,
        crate::subleases::events::ArrearsEventData,
        crate::measures::events::MeasureEventData,
        crate::measures::events::MeasureContactEventData,
        crate::measures::events::RenewalEventData,
        crate::measures::events::ObjectiveEventData,
        crate::programmes::events::ProgrammeEventData,
        crate::webhooks::events::WebhookEndpointEventData,
        crate::webhooks::model::WebhookMessage,
    ))
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
        // OAuth 2.0, so that each operation shows the scope it needs and Swagger UI's
        // Authorize dialog gets a token itself (the password flow for people, client
        // credentials for partner systems).
        let scopes = || {
            Scopes::from_iter(
                Scope::ALL
                    .iter()
                    .map(|s| (s.as_str().to_owned(), s.description().to_owned())),
            )
        };
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [
                    Flow::ClientCredentials(ClientCredentials::new(TOKEN_URL, scopes())),
                    Flow::Password(Password::with_refresh_url(
                        TOKEN_URL,
                        scopes(),
                        TOKEN_URL,
                    )),
                ],
                "Access tokens (JWT, EdDSA) from the token endpoint, sent as `Authorization: Bearer`. \
A partner system uses client credentials (HTTP Basic or in the form); a person, the password \
grant. The authorization server's metadata (RFC 8414) is at \
`/.well-known/oauth-authorization-server`. A token without the scope an operation lists is a 403 \
with `WWW-Authenticate: Bearer error=\"insufficient_scope\"` (RFC 6750 §3.1).",
            )),
        );
        api.servers = Some(vec![utoipa::openapi::server::ServerBuilder::new()
            .url("/")
            .description(Some(
                "This service (relative to where the document was read)",
            ))
            .build()]);
        api.info.license = Some(
            utoipa::openapi::LicenseBuilder::new()
                .name("AGPL-3.0-or-later")
                .identifier(Some("AGPL-3.0-or-later"))
                .build(),
        );
        list_pages_refer_to_their_items(components);
        events_are_a_union(components);
        problem_members(components);
        // Each body schema's required fields, for the operations' own 422 examples.
        let required_fields: std::collections::BTreeMap<String, Vec<String>> = components
            .schemas
            .iter()
            .filter_map(|(name, schema)| match schema {
                RefOr::T(utoipa::openapi::schema::Schema::Object(o)) => {
                    Some((name.clone(), o.required.clone()))
                }
                _ => None,
            })
            .collect();
        for (path, item) in api.paths.paths.iter_mut() {
            let ops = [
                (true, &mut item.get),
                (false, &mut item.post),
                (false, &mut item.put),
                (false, &mut item.patch),
                (false, &mut item.delete),
            ];
            for (is_get, op) in ops {
                let Some(op) = op else { continue };
                // "No token": `security: []` (no requirement) rather than utoipa's `[{}]`
                // ("an empty requirement"), which client generators read as "authenticated".
                if let Some(security) = &mut op.security {
                    let anonymous = serde_json::to_value(&*security).is_ok_and(|v| {
                        v.as_array().is_some_and(|r| {
                            r.iter()
                                .all(|x| x.as_object().is_some_and(|o| o.is_empty()))
                        })
                    });
                    if anonymous {
                        security.clear();
                    }
                }
                optional_bodies_are_left_out(op);
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
                // OAuth's endpoints answer OAuth errors (RFC 6749 §5.2), declared with them.
                if path.starts_with("/v1/auth/") || !path.starts_with("/v1") {
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
                // The 403 of a token without this operation's scopes, with its challenge;
                // an operation that needs no scope is refused only by role or organisation.
                let scopes = crate::http::routes::operation_scopes(op).unwrap_or_default();
                let forbidden = if scopes.is_empty() {
                    problem_response(
                        "The caller's role or organisation does not allow this",
                        example(
                            403,
                            "forbidden",
                            "Not allowed",
                            "a platform admin has no organisation",
                        ),
                    )
                } else {
                    let mut body = example(
                        403,
                        "insufficient-scope",
                        "Insufficient scope",
                        &format!("this token lacks the scope {}", scopes.join(" and ")),
                    );
                    body["required_scopes"] = scopes.clone().into();
                    problem_response(
                        "The token lacks a scope this operation lists (`insufficient-scope`, with the challenge), or the caller's role or organisation does not allow this (`forbidden`)",
                        body,
                    )
                    .header(
                        "WWW-Authenticate",
                        string_header(&format!(
                            "With `insufficient-scope`: Bearer realm=\"passerelle\", error=\"insufficient_scope\", scope=\"{}\" (RFC 6750 §3.1)",
                            scopes.join(" ")
                        )),
                    )
                };
                add(op, 403, forbidden);
                if is_get {
                    // Conditional GET (`http::caching`).
                    op.parameters.get_or_insert_with(Vec::new).push(RefOr::T(
                        utoipa::openapi::path::ParameterBuilder::new()
                            .name("If-None-Match")
                            .parameter_in(ParameterIn::Header)
                            .required(utoipa::openapi::Required::False)
                            .description(Some(
                                "The `ETag` you hold: `304 Not Modified`, without content, if it is still current",
                            ))
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build(),
                    ));
                    add(
                        op,
                        304,
                        ResponseBuilder::new()
                            .description(
                                "Not modified: the `ETag` sent in `If-None-Match` is current",
                            )
                            .header("ETag", string_header("The current validator")),
                    );
                }
                // A 404 names a resource of the path: an operation without one answers none.
                if path.contains('{') {
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
                }
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
                    // The operation's own example: the fields its body requires, missing.
                    let required = body_schema_name(op)
                        .and_then(|name| required_fields.get(&name).cloned())
                        .unwrap_or_default();
                    let errors: Vec<serde_json::Value> = if required.is_empty() {
                        vec![
                            serde_json::json!({"field": "zz", "code": "unknown_field", "message": "unknown field `zz`"}),
                        ]
                    } else {
                        required
                            .iter()
                            .map(|f| serde_json::json!({"field": f, "code": "required", "message": format!("missing field `{f}`")}))
                            .collect()
                    };
                    let detail = match errors.len() {
                        1 => "1 field is invalid".to_owned(),
                        n => format!("{n} fields are invalid"),
                    };
                    add(
                        op,
                        422,
                        problem_response(
                            "A value breaks a rule; every failing field is listed",
                            serde_json::json!({"type": "/problems/validation", "title": "Invalid request", "status": 422,
                            "detail": detail, "instance": path
                                .split('/')
                                .map(|segment| if segment.starts_with('{') { "0193a5c2-8a40-7c11-8e0f-3b5d2c1a9e77" } else { segment })
                                .collect::<Vec<_>>()
                                .join("/"),
                            "request_id": "0193a5c2-7d1e-7b3a-9c4f-2f0e8d6b1a22", "errors": errors}),
                        ),
                    );
                }
                if has_header(op, "Idempotency-Key") {
                    let mut still_running = example(409, "conflict", "Conflict", "a request with this Idempotency-Key is still being processed; retry shortly");
                    still_running["retry_after_seconds"] = 1.into();
                    add(op, 409, problem_response("A request with this Idempotency-Key is still running (`Retry-After` says when to retry), or the request conflicts with what is stored (the operation's description says how): a duplicate (`existing_id`), a state that forbids it (`current_status`, `allowed_actions`), a full programme (`code` `programme_full`)",
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
        .configure(crate::api::routes)
        .split_for_parts();
    Conventions.modify(&mut api);
    link_operations(&mut api);
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
