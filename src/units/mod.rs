//! Landlords' housing units, the agreements that make them available to associations, and
//! the proposals of households for them.

pub mod agreements;
pub mod handlers;
pub mod model;
pub mod proposals;
pub mod rules;
