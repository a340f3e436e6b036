//! Cross-cutting HTTP pieces, built once for every endpoint.

pub mod actions;
pub mod body;
pub mod concurrency;
pub mod extractors;
pub mod fallback;
pub mod idempotency;
pub mod pagination;
pub mod patch;
pub mod request_context;
