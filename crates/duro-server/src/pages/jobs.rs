//! The jobs page: builds of a time range on a timeline.

use super::render;
use crate::charts;
use crate::context::ServerContext;
use crate::errors::AppError;
use crate::queries;
use crate::query_string::{DEFAULT_JOBS_RANGE_MS, PAGE_JOBS, RangeQuery, parse_range};
use crate::timefmt;
use actix_web::{HttpRequest, HttpResponse, web};

/// `/`, `/<from>/` and `/<from>/<to>` (path), or `/?from=&to=` (the range form).
pub(crate) async fn jobs(
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
                queries::jobs(state, from_ms, to_ms, now_ms, PAGE_JOBS)?,
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
