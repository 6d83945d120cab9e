//! What a request's query string asks for: the range of a jobs view (`?from=&to=`, shared by
//! the jobs page and `/api/jobs`) and the tables list's filter, sort and row limit (shared by the
//! tables page and `/api/tables`), each validated into a 400 that says what is accepted.

use crate::errors::AppError;
use crate::model::{ListQuery, SortKey};
use crate::timefmt;
use duro_core::status::Status;
use serde::{Deserialize, Serialize};

/// The default jobs range: the last 30 minutes.
pub(crate) const DEFAULT_JOBS_RANGE_MS: i64 = 30 * 60_000;
/// At most this many builds (the newest) in `/api/jobs` and on the jobs page.
pub(crate) const MAX_JOBS: usize = 5_000;
/// At most this many builds on the jobs page.
pub(crate) const PAGE_JOBS: usize = 1_000;

/// A jobs view's range, as given in the query string.
#[derive(Deserialize)]
pub(crate) struct RangeQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The range of a jobs view; a missing `from` is 30 minutes before `to`, a missing `to` is now.
pub(crate) fn parse_range(
    from: Option<&str>,
    to: Option<&str>,
    now_ms: i64,
) -> Result<(i64, i64), AppError> {
    let to_ms = match to {
        Some(text) => {
            timefmt::parse_instant(text).map_err(|e| AppError::bad_request(format!("to: {e}")))?
        }
        None => now_ms,
    };
    let from_ms = match from {
        Some(text) => {
            timefmt::parse_instant(text).map_err(|e| AppError::bad_request(format!("from: {e}")))?
        }
        None => to_ms - DEFAULT_JOBS_RANGE_MS,
    };
    if from_ms >= to_ms {
        return Err(AppError::bad_request(format!(
            "the range starts ({}) at or after its end ({}); put the earlier time first",
            timefmt::iso(from_ms),
            timefmt::iso(to_ms)
        )));
    }
    Ok((from_ms, to_ms))
}

/// The tables page shows this many rows unless asked for more (`?limit=all`).
pub(crate) const DEFAULT_TABLE_ROWS: usize = 500;
/// The tables list's query string.
#[derive(Deserialize, Serialize, Default, Clone)]
pub(crate) struct TablesQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub q: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sort: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub order: String,
    /// Rows on the page: a number, or `all` (default `DEFAULT_TABLE_ROWS`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub limit: String,
}

impl TablesQuery {
    /// The validated form; unknown values are 400s that say what is accepted.
    pub(crate) fn to_list_query(&self) -> Result<ListQuery, AppError> {
        let defaults = ListQuery::default();
        let status = match self.status.as_str() {
            "" => None,
            text => Some(Status::parse(text).ok_or_else(|| {
                AppError::bad_request(format!(
                    "unknown status `{text}`; use one of fresh, due, running, failed, forced, removed"
                ))
            })?),
        };
        let sort = match self.sort.as_str() {
            "" => defaults.sort,
            text => SortKey::parse(text).map_err(AppError::bad_request)?,
        };
        let descending = match self.order.as_str() {
            "" | "asc" => false,
            "desc" => true,
            other => {
                return Err(AppError::bad_request(format!(
                    "unknown order `{other}`; use asc or desc"
                )));
            }
        };
        Ok(ListQuery { filter: self.q.clone(), status, sort, descending })
    }

    /// How many rows the page shows (`None`: all).
    pub(crate) fn row_limit(&self) -> Result<Option<usize>, AppError> {
        match self.limit.as_str() {
            "" => Ok(Some(DEFAULT_TABLE_ROWS)),
            "all" => Ok(None),
            text => text.parse::<usize>().map(Some).map_err(|_| {
                AppError::bad_request(format!("limit: use a number of rows or `all`, not `{text}`"))
            }),
        }
    }
}

/// The graph page's query string: `focus=schema.table` and `depth=N` draw the table's
/// neighbourhood (what it reads and what reads it, N steps each way, 2 by default).
#[derive(Deserialize, Default, Clone)]
pub(crate) struct GraphQuery {
    #[serde(default)]
    pub focus: Option<String>,
    #[serde(default)]
    pub depth: Option<String>,
}

/// The most steps a neighbourhood reaches.
pub(crate) const MAX_GRAPH_DEPTH: usize = 10;

impl GraphQuery {
    /// The depth asked for, 2 by default; a 400 naming the value otherwise.
    pub(crate) fn depth(&self) -> Result<usize, AppError> {
        match self.depth.as_deref() {
            None | Some("") => Ok(2),
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|depth| (1..=MAX_GRAPH_DEPTH).contains(depth))
                .ok_or_else(|| {
                    AppError::bad_request(format!(
                        "depth must be a whole number from 1 to {MAX_GRAPH_DEPTH}, not `{text}`"
                    ))
                }),
        }
    }
}
