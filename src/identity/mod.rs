//! Partner identity: organisations and their accounts (persons and partner systems).

pub mod accounts;
pub mod me;
pub mod model;
pub mod organisations;
pub mod requests;
pub mod rules;
pub mod service;
