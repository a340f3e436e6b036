//! Cursor pagination: keyset on the id (UUID v7, time-ordered), never OFFSET, so a walk sees
//! every row once even while rows are being inserted.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// `?limit=&cursor=`, shared by every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// How many items to return (1 to 200, default 50).
    #[param(minimum = 1, maximum = 200, example = 50)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page; omit it for the first page.
    #[param(min_length = 22, max_length = 22, pattern = "^[A-Za-z0-9_-]{22}$")]
    pub cursor: Option<String>,
}

pub use crate::db::Page;

impl PageParams {
    pub fn page(&self) -> Result<Page, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_request(
                "limit",
                "out_of_range",
                format!("limit must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = match &self.cursor {
            None => None,
            Some(c) => Some(decode_cursor(c)?),
        };
        Ok(Page { limit, after })
    }
}

/// Cursors are 16 bytes in base64url: 22 characters. Any such string is a position, so a
/// cursor can only be malformed, never "unknown".
const CURSOR: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

pub fn encode_position(bytes: [u8; 16]) -> String {
    CURSOR.encode(bytes)
}

/// Decodes a cursor given as the parameter `field`.
pub fn decode_position(field: &str, cursor: &str) -> Result<[u8; 16], ApiError> {
    CURSOR
        .decode(cursor)
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                field,
                "invalid_cursor",
                format!("{field} must be a cursor this API issued"),
            )
        })
}

pub fn encode_cursor(id: Uuid) -> String {
    encode_position(*id.as_bytes())
}

pub fn decode_cursor(cursor: &str) -> Result<Uuid, ApiError> {
    decode_position("cursor", cursor).map(Uuid::from_bytes)
}

/// A page of a list: `{"items": [...], "next_cursor": "…" | null}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageOf<T> {
    /// The items of this page, in ascending id order.
    pub items: Vec<T>,
    /// Pass it as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> PageOf<T> {
    /// A page of `items`, with a cursor after the last when `more` exist.
    pub fn new(items: Vec<T>, more: bool, id_of: impl Fn(&T) -> Uuid) -> Self {
        let next_cursor = if more {
            items.last().map(|r| encode_cursor(id_of(r)))
        } else {
            None
        };
        PageOf { items, next_cursor }
    }

    /// Builds a page from up to `limit + 1` rows.
    pub fn from_rows(rows: Vec<T>, page: Page, id_of: impl Fn(&T) -> Uuid) -> Self {
        let (items, more) = page.split(rows);
        PageOf::new(items, more, id_of)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_limits() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        assert!(decode_cursor("nope!").is_err());
        assert!(decode_cursor("AAAA").is_err());
        // Any 22 characters of the alphabet are a position.
        assert!(decode_cursor("zzzzzzzzzzzzzzzzzzzzzz").is_ok());
        assert!(decode_cursor("-_-_-_-_-_-_-_-_-_-_-_").is_ok());
        let p = |limit| {
            PageParams {
                limit,
                cursor: None,
            }
            .page()
        };
        assert_eq!(p(None).unwrap().limit, 50);
        assert!(p(Some(0)).is_err());
        assert!(p(Some(201)).is_err());
        assert_eq!(p(Some(200)).unwrap().limit, 200);
    }

    #[test]
    fn page_from_rows() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = PageOf::from_rows(
            ids.clone(),
            Page {
                limit: 2,
                after: None,
            },
            |u| *u,
        );
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next_cursor, Some(encode_cursor(ids[1])));
        let last = PageOf::from_rows(
            ids[..2].to_vec(),
            Page {
                limit: 2,
                after: None,
            },
            |u| *u,
        );
        assert_eq!(last.next_cursor, None);
    }
}
