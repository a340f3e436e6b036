//! Programmes (*appels à projets*): a funder (a department or a State service) funds a
//! number of measures per kind, over a period, for a budget, with outcome targets ("45 ASRL
//! and 58 AML measures, 515 000 €, 2019–2020"; DOMAIN.md "Programmes and capacity").
//!
//! - **Who sees a programme**: its funder, and the operators it funds; anyone else gets 404.
//!   Only the funder changes it.
//! - **Places**: a measure belongs to at most one programme (`measures.programme_id`, set
//!   by its operator). It takes a place of its kind when it starts under the programme (or
//!   joins it already started) and keeps it when it closes: a programme funds measures, not
//!   simultaneous places. The place is taken by one conditional `UPDATE … WHERE used <
//!   funded` in the transaction of the start ([`take_place`]): of two operators racing for
//!   the last place, the second waits for the first's row lock, then finds none left (409
//!   `programme_full`, naming `used` and `funded`).
//! - **Indicators** ([`indicators`]): counts, delays and outcomes of the programme's
//!   measures, never a household.

//!
//! The layers: [`api`] → [`service`] → [`queries`] → [`model`]; [`indicators`] is the
//! indicators' use case with its one statement in `indicators::queries` (its endpoint is in
//! [`api`]). Measures reach programmes through
//! [`service`] (re-exported here: [`take_place`], [`check_eligible`]…).

pub mod api;
pub mod events;
pub mod indicators;
pub mod model;
pub mod queries;
pub mod service;

pub use service::{
    check_eligible, find_as_party, has_place, release_place, take_place, view, Eligibility,
    ProgrammeParty,
};
