//! The measures' endpoints, by resource: parse, authorise, call [`super::service`],
//! present. No statement here.

pub mod contacts;
pub mod kinds;
pub mod measures;
pub mod objectives;
pub mod renewals;
