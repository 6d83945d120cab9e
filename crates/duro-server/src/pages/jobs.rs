//! The jobs page: builds of a time range on a timeline, and the range parsing the API shares.

use super::render;
use crate::charts;
use crate::context::ServerContext;
use crate::errors::AppError;
use crate::load;
use crate::timefmt;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

/// The default jobs range: the last 30 minutes.
pub const DEFAULT_JOBS_RANGE_MS: i64 = 30 * 60_000;
/// At most this many builds (the newest) in `/api/jobs` and on the jobs page.
pub const MAX_JOBS: usize = 5_000;
pub const PAGE_JOBS: usize = 1_000;
#[derive(Deserialize)]
pub struct RangeQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// `/`, `/<from>/` and `/<from>/<to>` (path), or `/?from=&to=` (the range form).
pub async fn jobs(
    request: HttpRequest,
    context: web::Data<ServerContext>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    let now_ms = duro_core::clock::now_ms();
    let query = query.into_inner();
    let from = request
        .match_info()
        .get("from")
        .map(str::to_owned)
        .or(query.from)
        .filter(|s| !s.is_empty());
    let to =
        request.match_info().get("to").map(str::to_owned).or(query.to).filter(|s| !s.is_empty());
    let (from_ms, to_ms) =
        parse_range(from.as_deref(), to.as_deref(), now_ms).map_err(AppError::page)?;
    let ctx = context.clone();
    let shared = context.clone();
    let ((jobs, truncated), stats) = context
        .with_state(move |state| {
            Ok((
                load::jobs(state, from_ms, to_ms, now_ms, PAGE_JOBS)?,
                shared.header_stats(state, now_ms)?,
            ))
        })
        .await
        .map_err(AppError::page)?;
    let chart = charts::timeline(&jobs, from_ms, to_ms, now_ms)
        .map_err(|e| AppError::internal(e).page())?;
    let quick = serde_json::json!({
        "m30": timefmt::iso(now_ms - DEFAULT_JOBS_RANGE_MS),
        "h2": timefmt::iso(now_ms - 2 * 3_600_000),
        "h24": timefmt::iso(now_ms - 24 * 3_600_000),
        "d7": timefmt::iso(now_ms - 7 * 86_400_000),
    });
    render(&request, &ctx, "jobs.html", "jobs", &stats, now_ms, |values| {
        values.insert("from_ms", &from_ms);
        values.insert("to_ms", &to_ms);
        values.insert("jobs", &jobs);
        values.insert("truncated", &truncated);
        values.insert("chart", &chart);
        values.insert("quick", &quick);
    })
}

/// The range of a jobs view; a missing `from` is 30 minutes before `to`, a missing `to` is now.
pub fn parse_range(
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
