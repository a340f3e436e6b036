//! Authentication (tokens, keys, secrets) and authorisation (the policy).

pub mod caller;
pub mod claims;
pub mod discovery;
pub mod keys;
pub mod oauth;
pub mod policy;
pub mod secrets;
pub mod sessions;
pub mod throttle;
pub mod token;
