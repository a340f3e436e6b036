//! What every handler shares: the pool, the signing keys, the configuration. Nothing here
//! is state another instance would need: all of that lives in PostgreSQL. (The cache of
//! verified token signatures only spares this instance work it can always redo.)

use std::sync::Arc;

use crate::auth::claims::VerifiedTokens;
use crate::auth::keys::Keys;
use crate::config::Config;
use crate::db::DbPool;

#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub keys: Arc<Keys>,
    pub config: Arc<Config>,
    pub verified_tokens: Arc<VerifiedTokens>,
}
