//! Referrals (*orientations*): a referrer asks an operator to take a household on for a
//! support measure, and always learns what became of it.
//!
//! Owns the `referrals` and `referral_comments` tables, the referral's state table, and the
//! accepted referral's hand-over to [`crate::measures::service::open_from_referral`]. The
//! layers, each calling only those below it: [`api`] (HTTP) → [`service`] (use cases) →
//! [`queries`] (statements) and [`rules`] (pure) → [`model`] (types).

pub mod api;
pub mod events;
pub mod model;
pub mod queries;
pub mod rules;
pub mod service;
