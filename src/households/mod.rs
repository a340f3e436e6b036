//! Households (*ménages*): who they are, what they live on, where they live, why they are a
//! priority, and their consent to sharing.
//!
//! Owns the `households`, `household_sharings` and `special_category_reads` tables; beside
//! its layers ([`api`] → [`service`] → [`queries`], [`rules`] → [`model`]) it holds what
//! every case uses of a household: who sees it ([`queries::visible_to`]), the one sharing
//! rule and its record ([`sharing`]), the journal of special-category reads ([`journal`]),
//! and the household's journey across its cases ([`journey`], its statements in
//! `journey::queries`, its endpoint in [`api`]).

pub mod api;
pub mod events;
pub mod journal;
pub mod journey;
pub mod model;
pub mod queries;
pub mod rules;
pub mod service;
pub mod sharing;
