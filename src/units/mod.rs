//! Landlords' housing units, the agreements that make them available to associations, and
//! the proposals of households for them.

pub mod api;
pub mod events;
pub mod model;
pub mod queries;
pub mod rules;
pub mod service;
