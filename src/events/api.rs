//! `GET /v1/events`: the feed, read by polling (see [`super::feed`]).

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{feed, Event};
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::http::extractors::Query;
use crate::identity::model::Role;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// The `next_cursor` of the last page you processed; omit it to start from the beginning.
    #[param(min_length = 22, max_length = 22, pattern = "^[A-Za-z0-9_-]{22}$")]
    pub after: Option<String>,
    /// How many events to return (1 to 200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// Events in the order they were committed.
    pub items: Vec<Event>,
    /// Where this page ends: pass it as `after` next time. When the page is empty it is the
    /// `after` you sent (`null` if you sent none and there is no event yet).
    pub next_cursor: Option<String>,
    /// How long to wait before asking again, in seconds: `0` when the page is full (more
    /// may be waiting: ask at once), otherwise 5 (you are up to date;
    /// polling faster finds nothing sooner). Also sent as `Retry-After`.
    #[schema(minimum = 0, example = 5)]
    pub poll_after_seconds: u32,
}

/// What a caught-up poller is asked to wait, in seconds.
pub const POLL_AFTER_SECONDS: u32 = 5;

/// Read the event feed
///
/// The events your organisation may see (see `Event`: its organisation and accounts,
/// households, referrals, housing, measures, programmes and webhook endpoints), in commit
/// order, none missing. Poll with `after` set to the `next_cursor` of
/// the last page you processed. A page holds only events whose transaction is older than
/// every transaction still running, so a page may be empty, or shorter than `limit`,
/// while writes are in flight: the events come on the next poll. Each event's `id` is
/// stable, for deduplication. `poll_after_seconds` (and `Retry-After`) says when to ask
/// again: at once after a full page, a few seconds once you are up to date.
#[utoipa::path(
    tag = "events",
    operation_id = "list_events",
    params(FeedParams),
    security(("oauth2" = ["events:read"])),
    responses((status = 200, description = "A page of events", body = EventPage,
        headers(("Retry-After" = String, description = "Seconds before the next poll: `poll_after_seconds`"))))
)]
#[get("/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    caller: Caller,
    params: Query<FeedParams>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadEvents)?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request(
            "limit",
            "out_of_range",
            "limit must be between 1 and 200",
        ));
    }
    let mut conn = db::conn(&state.pool).await?;
    let (tx_id, seq) = match &params.after {
        None => (i64::MIN, i64::MIN),
        Some(after) => feed::decode_feed_position(after)?,
    };
    let reader = match (caller.role, caller.organisation_id) {
        (Role::PlatformAdmin, _) | (_, None) => feed::Reader::Platform,
        (_, Some(org)) => feed::Reader::Organisation(org),
    };
    let rows = feed::page(&mut conn, reader, (tx_id, seq), limit).await?;
    let full = rows.len() as i64 >= limit;
    let next_cursor = match rows.last() {
        Some((_, position)) => Some(position.clone()),
        None => params.after.clone(),
    };
    let items: Vec<Event> = rows.into_iter().map(|(e, _)| e).collect();
    let poll_after_seconds = if full { 0 } else { POLL_AFTER_SECONDS };
    Ok(HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::RETRY_AFTER,
            poll_after_seconds.to_string(),
        ))
        .json(EventPage {
            items,
            next_cursor,
            poll_after_seconds,
        }))
}
