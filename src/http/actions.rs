//! Action endpoints: `POST /<things>/{id}/<action>` on a versioned resource, declared once.
//!
//! Every state change of an exchanged object (a referral acknowledged, an agreement
//! terminated, a proposal withdrawn, a sub-lease ended…) is the same endpoint: `If-Match`
//! with the version read, an optional `Idempotency-Key`, maybe a JSON body (an action
//! without one refuses any but an empty body or `{}`: see
//! [`ActionBody`](crate::http::body::ActionBody)); 200 with the
//! object and its new `ETag`, or 409 naming `current_status` and `allowed_actions`. The
//! macro writes that endpoint and its documentation; the module's own `act` does the work
//! with the [`ActionTarget`](crate::http::idempotency::ActionTarget) it is handed.
//!
//! ```text
//! action_endpoint! {
//!     /// End a sub-lease
//!     ///
//!     /// Either party ends a planned or active sub-lease, with a coded reason.
//!     end_sublease: "/subleases/{id}/end", tag "subleases", scope "housing:write",
//!     id "The sub-lease's id", returns Sublease, body Ending,
//!     |state, caller, target, ending| act(&state, caller, target, SubleaseAction::End, Some(ending))
//! }
//! ```
//!
//! The caller's module has `actix_web::post` in scope (utoipa reads the route from it). The
//! operation id is the function's name.

#[macro_export]
macro_rules! action_endpoint {
    // A body whose every field is optional: the spec says the body may be left out (an empty
    // body reads as `{}`).
    (
        $(#[doc = $doc:literal])*
        $fn:ident: $path:literal, tag $tag:literal, scope $scope:literal, id $id_doc:literal,
        returns $resp:ty, optional body $body:ty,
        |$state:ident, $caller:ident, $target:ident, $payload:ident| $call:expr
    ) => {
        $crate::action_endpoint! {
            @emit [request_body = Option<$body>,] [$body]
            $(#[doc = $doc])*
            $fn: $path, tag $tag, scope $scope, id $id_doc, returns $resp,
            |$state, $caller, $target, $payload| $call
        }
    };
    (
        $(#[doc = $doc:literal])*
        $fn:ident: $path:literal, tag $tag:literal, scope $scope:literal, id $id_doc:literal,
        returns $resp:ty, body $body:ty,
        |$state:ident, $caller:ident, $target:ident, $payload:ident| $call:expr
    ) => {
        $crate::action_endpoint! {
            @emit [request_body = $body,] [$body]
            $(#[doc = $doc])*
            $fn: $path, tag $tag, scope $scope, id $id_doc, returns $resp,
            |$state, $caller, $target, $payload| $call
        }
    };
    (
        $(#[doc = $doc:literal])*
        $fn:ident: $path:literal, tag $tag:literal, scope $scope:literal, id $id_doc:literal,
        returns $resp:ty,
        |$state:ident, $caller:ident, $target:ident| $call:expr
    ) => {
        $crate::action_endpoint! {
            @emit [] []
            $(#[doc = $doc])*
            $fn: $path, tag $tag, scope $scope, id $id_doc, returns $resp,
            |$state, $caller, $target| $call
        }
    };
    (
        @emit [$($request_body:tt)*] [$($body:ty)?]
        $(#[doc = $doc:literal])*
        $fn:ident: $path:literal, tag $tag:literal, scope $scope:literal, id $id_doc:literal,
        returns $resp:ty,
        |$state:ident, $caller:ident, $target:ident $(, $payload:ident)?| $call:expr
    ) => {
        $(#[doc = $doc])*
        #[utoipa::path(
            tag = $tag,
            $($request_body)*
            params(
                ("id" = uuid::Uuid, Path, description = $id_doc),
                $crate::http::concurrency::IfMatchHeader,
                $crate::http::idempotency::IdempotencyHeader,
            ),
            security(("oauth2" = [$scope])),
            responses(
                (status = 200, description = "Done", body = $resp,
                 headers(("ETag" = String, description = "The new version"))),
                (status = 409, description = "Not allowed in the current state: `current_status` and `allowed_actions` say what is",
                 body = $crate::error::Problem, content_type = "application/problem+json"),
            )
        )]
        #[post($path)]
        pub async fn $fn(
            $state: actix_web::web::Data<$crate::state::AppState>,
            $caller: $crate::auth::caller::Caller,
            req: actix_web::HttpRequest,
            id: actix_web::web::Path<uuid::Uuid>,
            if_match: $crate::http::concurrency::IfMatch,
            key: $crate::http::idempotency::IdempotencyKey,
            body: $crate::http::body::ActionBody<$($body)?>,
        ) -> $crate::error::ApiResult<actix_web::HttpResponse> {
            let _ = &body;
            // The body's bytes, for the idempotency fingerprint; none without a body.
            #[allow(unused_mut, unused_assignments)]
            let mut raw = actix_web::web::Bytes::new();
            $(let $crate::http::body::ActionBody($payload, bytes) = body;
            raw = bytes;)?
            let $target = $crate::http::idempotency::ActionTarget::new(
                &req,
                &raw,
                id.into_inner(),
                if_match,
                key,
            );
            $call.await
        }
    };
}
