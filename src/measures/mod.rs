//! Support measures (*mesures d'accompagnement*): the catalogue of kinds and their rules,
//! measures (opened directly by an operator, or when it accepts a referral), their
//! renewals, contacts and objectives. Every measure and renewal is a case of the kernel
//! (`crate::cases`): one history, one party read, one refusal.

pub mod catalogue;
pub mod contacts;
pub mod contacts_api;
pub mod events;
pub mod handlers;
pub mod model;
pub mod queries;
pub mod renewals;
pub mod renewals_api;
pub mod rules;
pub mod service;
