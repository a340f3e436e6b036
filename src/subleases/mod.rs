//! Sub-leases: an association (the main tenant) sub-lets a unit to a household, until the
//! household rents in its own name (a sliding lease that glides) or leaves; rent arrears on
//! them start eviction prevention.
//!
//! Owns the `subleases` and `rent_arrears` tables and the sub-lease's state table; the
//! unit's status follows through [`crate::units::service`]. The layers, each calling only
//! those below it: [`api`] (HTTP) → [`service`] (use cases) → [`queries`] (statements) and
//! [`rules`] (pure) → [`model`] (types).

pub mod api;
pub mod events;
pub mod model;
pub mod queries;
pub mod rules;
pub mod service;
