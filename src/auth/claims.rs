//! An access token's claims, and this instance's cache of the tokens whose signature it has
//! already checked. Below [`state`](crate::state), which holds the cache.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::identity::model::Role;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The account id.
    pub sub: Uuid,
    /// The account's organisation (absent for a platform admin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<Uuid>,
    pub role: Role,
    /// Space-separated scopes.
    pub scope: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: Uuid,
    /// The sign-in session a person's token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    /// The account's credentials version when the token was issued: a rotated secret or a
    /// reset password moves it, and the token stops working at its next request.
    #[serde(default = "first_credentials")]
    pub cv: i32,
}

/// The credentials version of a token issued before tokens carried one.
fn first_credentials() -> i32 {
    1
}

pub const LEEWAY_SECONDS: u64 = 30;

/// This instance's access tokens whose signature and claims it has already checked, until
/// they expire. An Ed25519 verification costs more CPU than the rest of a read by id; the
/// cache holds nothing another instance needs (each checks a token once), and nothing it
/// cannot redo. What can change during a token's life (account, role, session) is still read
/// from the database at each request.
#[derive(Default)]
pub struct VerifiedTokens {
    by_token: Mutex<HashMap<Box<str>, Claims>>,
}

impl VerifiedTokens {
    /// At most this many tokens are kept (a few MB); beyond, expired ones are dropped, then all.
    const CAPACITY: usize = 10_000;

    fn still_valid(claims: &Claims, now: i64) -> bool {
        now <= claims.exp + LEEWAY_SECONDS as i64
    }

    pub fn get(&self, token: &str) -> Option<Claims> {
        let now = chrono::Utc::now().timestamp();
        let map = self.by_token.lock().unwrap_or_else(|e| e.into_inner());
        map.get(token)
            .filter(|c| Self::still_valid(c, now))
            .cloned()
    }

    pub fn insert(&self, token: &str, claims: &Claims) {
        let now = chrono::Utc::now().timestamp();
        let mut map = self.by_token.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::CAPACITY {
            map.retain(|_, c| Self::still_valid(c, now));
            if map.len() >= Self::CAPACITY {
                map.clear();
            }
        }
        map.insert(token.into(), claims.clone());
    }
}
