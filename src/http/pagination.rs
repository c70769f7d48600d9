//! The one pagination style of every list: `limit` and `cursor` in,
//! `{items, next_cursor}` out, where `next_cursor` (the key of the page's last
//! item) is passed back as `cursor` for the next page and is `null` on the
//! last one. Keyset, never offset: a page costs the same wherever it is, and
//! rows inserted meanwhile neither repeat nor vanish.
//!
//! Lists with their own cursor type (orders, offers, invoices…) keep their
//! own page struct with the same two fields; [`Page`] serves the lists whose
//! cursor is a plain key (communes, the directory).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, FieldError};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// The page size asked for, checked against 1..=[`MAX_LIMIT`].
pub fn limit(asked: Option<u32>) -> Result<u32, FieldError> {
    let limit = asked.unwrap_or(DEFAULT_LIMIT);
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ))
    }
}

/// The query of a list paged by the id of its last item.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KeysetQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<Uuid>,
}

impl KeysetQuery {
    pub fn keyset(&self) -> Result<Keyset, ApiError> {
        keyset(self.limit, self.cursor)
    }
}

/// A checked page request of a list keyed by id.
#[derive(Debug, Clone, Copy)]
pub struct Keyset {
    pub limit: u32,
    pub cursor: Option<Uuid>,
}

impl Keyset {
    /// Rows to fetch: one more than the page, to tell whether another follows.
    pub fn fetch(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// The page from the rows fetched, `id` naming each row.
    pub fn page<T>(&self, rows: Vec<T>, id: impl Fn(&T) -> Uuid) -> (Vec<T>, Option<Uuid>) {
        split(rows, self.limit, id)
    }
}

pub fn keyset(limit: Option<u32>, cursor: Option<Uuid>) -> Result<Keyset, ApiError> {
    let limit = self::limit(limit).map_err(|error| ApiError::InvalidParameters(vec![error]))?;
    Ok(Keyset { limit, cursor })
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass it as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The page from up to `limit + 1` rows: the extra row only says that
    /// another page follows, and `key` names the last row kept.
    pub fn from_rows(rows: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Self {
        let (items, next_cursor) = split(rows, limit, key);
        Self { items, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Up to `limit + 1` rows as the page's `limit` rows and, when the extra row
/// was there, the key of the last row kept.
fn split<T, K>(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> K) -> (Vec<T>, Option<K>) {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(key) } else { None };
    (rows, next)
}

/// The error of a cursor that names nothing in the list.
pub fn unknown_cursor() -> ApiError {
    ApiError::invalid_parameter("cursor", "is not a `next_cursor` of this list")
}
