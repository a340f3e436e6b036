//! What the request being served carries through its task (its id, its path, its clock, a
//! `HEAD`), readable from anywhere below it: an error rendered deep in an extractor still
//! names its request, and the calendar reads the request's clock. Set by
//! [`http::request_context::middleware`](crate::http::request_context::middleware); this
//! module depends on nothing of the crate, so that every module may read it.

use std::future::Future;

#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub path: String,
    /// How far the serving app's calendar runs from the system clock (tests only).
    pub clock_offset: chrono::TimeDelta,
    /// A `HEAD` request, served as `GET` without its body: nothing it reads leaves.
    pub head: bool,
}

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// Runs `f` as the request `ctx`.
pub async fn scope<F: Future>(ctx: RequestContext, f: F) -> F::Output {
    CONTEXT.scope(ctx, f).await
}

/// The context of the request being served by this task, if any.
pub fn current() -> Option<RequestContext> {
    CONTEXT.try_with(|c| c.clone()).ok()
}

/// Whether the request being served is a `HEAD` (its response carries no content).
pub fn is_head() -> bool {
    CONTEXT.try_with(|c| c.head).unwrap_or(false)
}

/// The clock offset of the request being served (zero outside a request).
pub fn clock_offset() -> chrono::TimeDelta {
    CONTEXT
        .try_with(|c| c.clock_offset)
        .unwrap_or_else(|_| chrono::TimeDelta::zero())
}
