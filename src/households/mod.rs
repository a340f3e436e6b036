//! Households (*ménages*): who they are, what they live on, where they live, why they are a
//! priority, and their consent to sharing.

pub mod events;
pub mod handlers;
pub mod journal;
pub mod journey;
pub mod model;
pub mod rules;
pub mod sharing;
