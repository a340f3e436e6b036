//! Integration tests: the real server over HTTP against a real PostgreSQL.

mod accounts;
mod allowed_actions;
mod auth;
mod contract;
mod edges;
mod helpers;
mod households;
mod housing;
mod measures;
mod organisations;
mod outage;
mod programmes;
mod referrals;
mod renewals_and_contacts;
mod sharing;
mod tools;
mod webhooks;
