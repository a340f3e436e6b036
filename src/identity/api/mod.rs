//! Identity's endpoints: parse, authorise, call [`super::service`], present.

pub mod accounts;
pub mod me;
pub mod organisations;
