//! The completions of the document that read it whole: list pages refer to their items,
//! problems list their members, events are a union, optional bodies may be left out, and
//! operations link to what they return.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ObjectBuilder, OpenApi, Ref, RefOr, Type};

use super::has_header;

/// utoipa inlines a generic's argument: `PageOf<Referral>`'s items would be an anonymous
/// copy of `Referral`, and generated clients get two classes for one object. Each
/// `PageOf_X`'s items refer to the component `X` instead (added when only pages used it).
pub(super) fn list_pages_refer_to_their_items(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::schema::{ArrayItems, Schema};
    let pages: Vec<String> = components
        .schemas
        .keys()
        .filter(|name| name.starts_with("PageOf_"))
        .cloned()
        .collect();
    for page in pages {
        let item_name = page.trim_start_matches("PageOf_").to_owned();
        let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&page) else {
            continue;
        };
        let Some(RefOr::T(Schema::Array(array))) = object.properties.get_mut("items") else {
            continue;
        };
        let ArrayItems::RefOrSchema(items) = &mut array.items else {
            continue;
        };
        if let RefOr::T(inline) = items.as_ref() {
            let inline = inline.clone();
            **items = RefOr::Ref(Ref::from_schema_name(&item_name));
            components
                .schemas
                .entry(item_name)
                .or_insert(RefOr::T(inline));
        }
    }
}

/// The members some problems carry beside the standard ones, typed, so that generated
/// clients read them as fields rather than as "additional properties".
pub(super) fn problem_members(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::schema::{ArrayBuilder, Schema};
    let Some(RefOr::T(Schema::Object(problem))) = components.schemas.get_mut("Problem") else {
        return;
    };
    let string = |description: &str| -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
            .into()
    };
    let strings = |description: &str| -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(description))
            .into()
    };
    let integer = |description: &str| -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0))
            .description(Some(description))
            .into()
    };
    let members = [
        ("existing_id", ObjectBuilder::new().schema_type(Type::String).format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(utoipa::openapi::schema::KnownFormat::Uuid))).description(Some("409 `conflict` for a duplicate: the id of what already exists")).into()),
        ("current_version", integer("412: the version the resource has now (read it again, then retry)")),
        ("current_status", string("409 `conflict` for an action the state forbids: the resource's status")),
        ("allowed_actions", strings("409 `conflict` for an action the state forbids: the actions allowed now")),
        ("required_scopes", strings("403 `insufficient-scope`: the scopes the operation needs")),
        ("retry_after_seconds", integer("409 while a request with the same `Idempotency-Key` runs: seconds to wait (also `Retry-After`)")),
    ];
    for (name, schema) in members {
        problem.properties.insert(name.into(), schema);
    }
}

/// The schema name of an event kind: `referral.accepted` → `ReferralAcceptedEvent`.
pub fn event_schema_name(kind: &str) -> String {
    let mut name: String = kind
        .split(['.', '_'])
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    name.push_str("Event");
    name
}

/// `Event` as a union discriminated by `type`: one schema per kind of the catalogue
/// (`events::catalogue::EVENT_KINDS`), whose `type` is that kind and whose `data` is its
/// shape, so that generated clients narrow an event by its type.
pub(super) fn events_are_a_union(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::schema::{Discriminator, OneOfBuilder, Schema};
    let Some(RefOr::T(Schema::Object(envelope))) = components.schemas.get("Event").cloned() else {
        return;
    };
    let mut discriminator = Discriminator::new("type");
    let mut union = OneOfBuilder::new().description(Some(
        "One event of the feed: its `type` says what happened and the shape of its `data`.",
    ));
    for kind in crate::events::catalogue::EVENT_KINDS {
        let name = event_schema_name(kind.name);
        let mut schema = envelope.clone();
        schema.description = Some(format!("`{}`: {}.", kind.name, kind.meaning));
        schema.example = None;
        schema.examples = Vec::new();
        schema.properties.insert(
            "type".into(),
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([kind.name]))
                .description(Some("What happened: this event's kind."))
                .into(),
        );
        schema.properties.insert(
            "data".into(),
            utoipa::openapi::schema::RefBuilder::new()
                .ref_location_from_schema_name(kind.data)
                .description(Some(format!(
                    "What the event carries: a `{}` (see its schema).",
                    kind.data
                )))
                .build()
                .into(),
        );
        components
            .schemas
            .insert(name.clone(), RefOr::T(Schema::Object(schema)));
        discriminator
            .mapping
            .insert(kind.name.into(), format!("#/components/schemas/{name}"));
        union = union.item(Ref::from_schema_name(&name));
    }
    let union = union.discriminator(Some(discriminator));
    components
        .schemas
        .insert("Event".into(), RefOr::T(Schema::OneOf(union.build())));
}

/// The component a JSON content (a body's or a response's `application/json`) refers to.
fn json_schema_name(content: Option<&RefOr<utoipa::openapi::Content>>) -> Option<String> {
    let RefOr::T(content) = content? else {
        return None;
    };
    match &content.schema {
        Some(RefOr::Ref(r)) => r.ref_location.rsplit('/').next().map(str::to_owned),
        _ => None,
    }
}

/// An optional body (`request_body = Option<T>`, an action whose every field is optional) is
/// one the client may leave out, never `null`: utoipa writes it `oneOf: [T, null]`, which
/// client generators read as "send null"; it becomes `T` in a body that is not `required`.
pub(super) fn optional_bodies_are_left_out(op: &mut Operation) {
    use utoipa::openapi::schema::Schema;
    let Some(RefOr::T(body)) = op.request_body.as_mut() else {
        return;
    };
    for content in body.content.values_mut() {
        let RefOr::T(content) = content else { continue };
        let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema else {
            continue;
        };
        let is_null = |s: &RefOr<Schema>| {
            serde_json::to_value(s).is_ok_and(|v| v == serde_json::json!({"type": "null"}))
        };
        if let [RefOr::Ref(r), null] | [null, RefOr::Ref(r)] = one_of.items.as_slice() {
            if is_null(null) {
                content.schema = Some(RefOr::Ref(r.clone()));
            }
        }
    }
}

/// The component an operation's JSON body refers to, if any.
pub(super) fn body_schema_name(op: &Operation) -> Option<String> {
    match op.request_body.as_ref()? {
        RefOr::T(body) => json_schema_name(body.content.get("application/json")),
        RefOr::Ref(_) => None,
    }
}

/// The path parameters of a template, in order: `/v1/a/{id}/b/{x}` → `id`, `x`.
fn path_parameters(template: &str) -> Vec<&str> {
    template
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// The component a response's JSON content refers to, if any.
fn response_schema(response: &RefOr<utoipa::openapi::Response>) -> Option<String> {
    match response {
        RefOr::T(response) => json_schema_name(response.content.get("application/json")),
        RefOr::Ref(_) => None,
    }
}

/// OpenAPI links, so that tools follow a workflow (create a referral, then acknowledge it
/// with its ETag): from every response that returns a resource (its creation, a read, a
/// change, an action) to every operation on that resource (`GET` its path, `PATCH` it, its
/// actions and sub-resources), with the id from the body and, where the target needs
/// `If-Match`, the `ETag` of that response. The resource of a schema is the path of the `GET`
/// that returns it by id.
pub(super) fn link_operations(api: &mut OpenApi) {
    use utoipa::openapi::link::LinkBuilder;
    struct Target {
        path: String,
        operation_id: String,
        if_match: bool,
    }
    let mut resource_of: std::collections::BTreeMap<String, String> = Default::default();
    let mut targets: Vec<Target> = Vec::new();
    for (path, item) in &api.paths.paths {
        let ops = [&item.get, &item.post, &item.put, &item.patch, &item.delete];
        for op in ops.into_iter().flatten() {
            if let Some(id) = &op.operation_id {
                targets.push(Target {
                    path: path.clone(),
                    operation_id: id.clone(),
                    if_match: has_header(op, "If-Match"),
                });
            }
        }
        if let Some(get) = &item.get {
            if path.ends_with('}') {
                if let Some(schema) = get.responses.responses.get("200").and_then(response_schema) {
                    resource_of.entry(schema).or_insert_with(|| path.clone());
                }
            }
        }
    }
    for (source_path, item) in api.paths.paths.iter_mut() {
        let source_parameters: Vec<String> = path_parameters(source_path)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let ops = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for op in ops.into_iter().flatten() {
            let own_id = op.operation_id.clone();
            for (status, response) in op.responses.responses.iter_mut() {
                if status != "200" && status != "201" {
                    continue;
                }
                let Some(resource) = response_schema(response).and_then(|s| resource_of.get(&s))
                else {
                    continue;
                };
                let RefOr::T(response) = response else {
                    continue;
                };
                let etag =
                    response.headers.contains_key("ETag") || response.headers.contains_key("etag");
                let resource_parameters = path_parameters(resource);
                let Some(id_parameter) = resource_parameters.last() else {
                    continue;
                };
                for target in &targets {
                    let on_resource = target.path == *resource
                        || target.path.starts_with(&format!("{resource}/"));
                    if !on_resource || Some(&target.operation_id) == own_id.as_ref() {
                        continue;
                    }
                    if target.if_match && !etag {
                        continue;
                    }
                    let mut link = LinkBuilder::new().operation_id(&target.operation_id);
                    let mut complete = true;
                    for parameter in path_parameters(&target.path) {
                        let expression = if parameter == *id_parameter {
                            "$response.body#/id".to_owned()
                        } else if source_parameters.iter().any(|p| p == parameter) {
                            format!("$request.path.{parameter}")
                        } else {
                            complete = false;
                            break;
                        };
                        link = link.parameter(format!("path.{parameter}"), expression);
                    }
                    if !complete {
                        continue;
                    }
                    if target.if_match {
                        link = link.parameter("header.If-Match", "$response.header.ETag");
                    }
                    response
                        .links
                        .insert(target.operation_id.clone(), RefOr::T(link.build()));
                }
            }
        }
    }
}
