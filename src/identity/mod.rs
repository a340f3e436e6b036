//! Partner identity: organisations and their accounts (persons and partner systems).
//!
//! - `api`: `/v1/organisations`, their accounts, `/v1/me`;
//! - `service`: the use cases (organisations, accounts and their credentials, one's own
//!   password) with their events;
//! - `queries`: every statement on organisations and accounts (other domains read them
//!   here: an organisation's département, whether an account is one of its workers);
//! - `rules`: roles and scopes, emails, SIRET and département codes, commissions;
//! - `model` and `requests`: rows, what is shown, what is sent.

pub mod api;
pub mod model;
pub mod queries;
pub mod requests;
pub mod rules;
pub mod service;
