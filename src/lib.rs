//! passerelle: the REST/JSON API through which departments, State services, associations and
//! social landlords exchange the cases of the households they house and support.
//!
//! # How the code is shaped
//!
//! ## The layers, from the top
//!
//! | layer | modules | what it does | may call |
//! |---|---|---|---|
//! | binary | `main.rs` | reads the configuration, serves | everything |
//! | serving | [`startup`], [`openapi`], [`api`] | the route table ([`api::routes`]), served by `startup` and documented by `openapi` | domains' `api` |
//! | a domain's **`api`** | `referrals::api`, `units::api::agreements`… | one handler per endpoint and its utoipa documentation: parse, authorise ([`auth::policy::authorize`]), call **one** service function inside the transaction or idempotent run, present (status, `ETag`, `Location`) | its service, `http`, `auth`, `cases` (the history endpoint) |
//! | a domain's **`service`** | `referrals::service`… | the use cases: typed input in, every check against stored data, the state change, the history step ([`cases::record`]) and the events, in the transaction its caller gives | its queries and rules, other domains' **services** (and, while they are being reshaped, their `queries`/`model` functions), the kernel |
//! | a domain's **`queries`** | `referrals::queries`… | every diesel statement of the domain: inserts (an `Insertable` struct), updates (with [`db::bump`]), list builders (with [`db::Keyset`]), locked reads for the jobs | `schema`, `db`, its model |
//! | a domain's **`rules`** | `referrals::rules`… | pure functions and state tables: no connection, no clock but the one passed in | its model |
//! | a domain's **`model`** | `referrals::model`… | the types: stored rows, what each party is shown, what partners send (request bodies, filters), enumerations ([`text_enum!`]) | `schema` (for the derives), other models |
//! | the kernel | [`cases`], [`events`], [`households::journal`], [`households::sharing`] | what every case shares: the party read (404 to a non-party), the start of every action ([`cases::begin_action`]: lock, `If-Match`, the state table, 403/409 with exactly the allowed actions), the one history, the feed and its outbox, the read journal, the one sharing rule | `db`, `auth`, `http` types |
//! | infrastructure | [`http`], [`auth`], [`identity`], [`db`], [`migrate`], [`error`], [`calendar`], [`config`], [`context`] | extractors (strict JSON, `If-Match`, `Idempotency-Key`, pages), tokens and the caller, the pool and transactions, problem+json, the French legal date | what is below it; [`context`] is the bottom |
//!
//! Calls go **downward only**: `make test` runs `scripts/check-layers.py`, which fails on
//! any import cycle between modules and on any `api` module that names diesel or
//! `crate::schema` (its self-test shows both are caught). Another domain is reached through
//! its service, never its `api`.
//!
//! Every domain has these layers: `referrals`, `subleases`, `units`, `households`,
//! `programmes`, `measures`, `webhooks` and `identity` (whose `queries` other domains read
//! an organisation or an account through). A read model that spans case types sits in its
//! own folder with its statements beside it: `households::journey` (the one history, by
//! household) and `programmes::indicators` (one analytical statement). No file with an
//! endpoint names diesel; `events::feed` and `auth::sessions` hold the feed's and the
//! sessions' statements.
//!
//! ## Shared pieces, written once
//!
//! - **A page**: `q.keyset(table::id, page)` ([`db::Keyset`]) after the list's own filters;
//!   [`db::Page::split`] then tells whether more exist, [`http::pagination::PageOf`] is the
//!   wire page.
//! - **A version bump**: `.set((…, db::bump(table::version, table::updated_at)))`: counted
//!   by the database, it is the resource's `ETag`.
//! - **An idempotent create**: the handler takes a [`http::idempotency::Creation`] (the
//!   `Idempotency-Key`, the body and their fingerprint, extracted once) and runs the
//!   service in it; a replay answers the first response.
//! - **An action**: [`action_endpoint!`] documents and extracts (`If-Match`,
//!   `Idempotency-Key`, the optional body); the service starts with
//!   [`cases::begin_action`]; the case type implements [`cases::Case`] and
//!   [`cases::Actionable`] (its state table in `rules`, its exact `allowed_actions`).
//! - **A history**: [`cases::history`] lists a case's steps to its parties, with the case's
//!   redaction rule ([`cases::Case::sees_words`]: a measure's comments and coded reasons
//!   are its operator's and their writer's).
//!
//! ## Adding an endpoint
//! 1. The request and response types in the domain's `model` (derive `ToSchema`, document
//!    every field: shape, unit, rule and source).
//! 2. The statements in `queries`; the use case in `service` (checks, change, history,
//!    events), taking the caller and the transaction's connection.
//! 3. The handler in `api`: `authorize`, then `db::conn` + the service for a read, or
//!    `Creation::run` (creates) / `db::transaction` (patches) around it for a write; its
//!    `#[utoipa::path]` with every status it answers.
//! 4. Register it in [`api::routes`]; `make openapi` writes the spec, `make test` checks it.
//!
//! ## Adding an action to a case
//! 1. The action in the case's action enum (`model`) and its row in the state table
//!    (`rules`: who takes it, from which status, to which).
//! 2. Its effects in the service's `act` (after [`cases::begin_action`]), ending with
//!    [`cases::record`] (the step and the status event).
//! 3. An [`action_endpoint!`] in `api`.
//!
//! ## Adding an event
//! 1. Its payload in the domain's `events.rs` (ids and status only: each party fetches what
//!    its part allows), registered in [`openapi`]'s components.
//! 2. Its type, payload component and meaning in [`events::catalogue::EVENT_KINDS`] (which
//!    names no domain: it is below them).
//! 3. Append it with [`events::append`] in the service's transaction, naming its recipients.
//!
//! ## Adding a case domain
//! 1. A folder with `mod.rs` (what it owns, in a few lines), `model.rs`, `rules.rs`,
//!    `queries.rs`, `service/` and `api.rs` (or `api/` by resource).
//! 2. Its tables in a migration; `diesel print-schema` writes them into `schema.rs`
//!    (`make test` checks it is what the migrated database says).
//! 3. Its row implements [`cases::Case`] (and [`cases::Actionable`] if it has actions), with
//!    a [`cases::CaseType`].
//! 4. Its routes in [`api::routes`], its events in the catalogue, its HTTP tests in
//!    `tests/api/`.

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
pub mod fields;
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
