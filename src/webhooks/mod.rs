//! Outgoing webhooks, following the Standard Webhooks specification
//! (<https://www.standardwebhooks.com>, `spec/standard-webhooks.md`), so that partners verify
//! them with an existing library in their own language.
//!
//! - An organisation registers endpoints (`api`, `service`); each has a signing secret, sealed at
//!   rest with the service's sealing key ([`rules::seal_secret`]).
//! - The outbox feeds the delivery queue (`worker::dispatch`): every event of an
//!   organisation's feed that an enabled endpoint of that organisation asks for becomes one
//!   delivery, once the feed itself can show it (the same horizon as `GET /v1/events`).
//! - Each instance's worker takes due deliveries with `FOR UPDATE SKIP LOCKED` and a lease,
//!   sends them signed ([`rules::signature_header`]) to addresses checked against server-side
//!   request forgery (`target`), and records each attempt; failures are retried on the
//!   schedule of [`rules::RETRY_SCHEDULE`].

pub mod api;
pub mod events;
pub mod model;
pub mod queries;
pub mod rules;
pub mod service;
pub mod target;
pub mod worker;
