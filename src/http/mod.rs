//! Cross-cutting HTTP pieces, built once for every endpoint.

pub mod actions;
pub mod body;
pub mod caching;
pub mod concurrency;
pub mod extractors;
pub mod idempotency;
pub mod json;
pub mod pagination;
pub mod patch;
pub mod request_context;
pub mod routes;
