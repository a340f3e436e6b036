//! Support measures (*mesures d'accompagnement*): the catalogue of kinds and their rules,
//! measures (opened directly by an operator, or when it accepts a referral), their
//! renewals, contacts and objectives. Every measure, renewal, objective and contact is a
//! case of the kernel (`crate::cases`): one history, one party read, one refusal.
//!
//! - `api`: by resource (measures, objectives, renewals, contacts, the catalogue's kinds);
//! - `service`: the use cases, one file each, and who sees what of a measure;
//! - `queries`: every statement, by table;
//! - `rules`: the state tables, the planned end, renewals, the contact rhythm, what an
//!   action writes;
//! - `model`: rows, enumerations, request bodies and what each party is shown.

pub mod api;
pub mod events;
pub mod model;
pub mod queries;
pub mod rules;
pub mod service;
