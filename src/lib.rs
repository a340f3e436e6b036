//! passerelle: the REST/JSON API through which departments, State services, associations and
//! social landlords exchange the cases of the households they house and support.

pub mod api;
pub mod auth;
pub mod bootstrap;
pub mod calendar;
pub mod cases;
pub mod config;
pub mod context;
pub mod db;
pub mod embedded_pg;
pub mod error;
pub mod events;
pub mod health;
pub mod households;
pub mod http;
pub mod identity;
pub mod jobs;
pub mod measures;
pub mod migrate;
pub mod openapi;
pub mod programmes;
pub mod reference;
pub mod referrals;
pub mod schema;
pub mod startup;
pub mod state;
pub mod subleases;
pub mod text_enum;
pub mod units;
pub mod webhooks;
