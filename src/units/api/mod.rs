//! The units domain's endpoints, by resource.

pub mod agreements;
pub mod proposals;
pub mod units;
