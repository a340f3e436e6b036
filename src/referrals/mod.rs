//! Referrals (*orientations*): a referrer asks an operator to take a household on for a
//! support measure, and always learns what became of it.

pub mod handlers;
pub mod model;
pub mod rules;
pub mod service;
