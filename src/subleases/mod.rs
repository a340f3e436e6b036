//! Sub-leases: an association (the main tenant) sub-lets a unit to a household, until the
//! household rents in its own name (a sliding lease that glides) or leaves; rent arrears on
//! them start eviction prevention.

pub mod handlers;
pub mod model;
pub mod rules;
