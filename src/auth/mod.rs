//! Authentication (tokens, keys, secrets) and authorisation (the policy).

pub mod caller;
pub mod discovery;
pub mod keys;
pub mod policy;
pub mod secrets;
pub mod throttle;
pub mod token;
