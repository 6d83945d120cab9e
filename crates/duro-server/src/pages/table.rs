//! One table's page: facts, duration chart, config, query, neighbours and the run log.

use super::render;
use crate::charts::{self, DurationPoint};
use crate::context::ServerContext;
use crate::errors::AppError;
use crate::queries::{self, LISTED_RUNS};
use actix_web::{HttpRequest, HttpResponse, web};

pub(crate) async fn table(
    request: HttpRequest,
    context: web::Data<ServerContext>,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let now_ms = duro_core::clock::now_ms();
    let name = name.into_inner();
    let ctx = context.clone();
    let (detail, stats) = context
        .read(now_ms, move |view| {
            Ok((
                queries::table_detail(
                    view.state,
                    &view.overview,
                    &name,
                    view.now_ms,
                    queries::CHART_RUNS,
                )?,
                view.header_stats()?,
            ))
        })
        .await
        .map_err(AppError::page)?;
    let points: Vec<DurationPoint> = detail
        .runs
        .iter()
        .map(|r| &r.job)
        .filter(|j| j.finish_ms.is_some() && (j.state == "succeeded" || j.state == "failed"))
        .map(|j| DurationPoint {
            start_ms: j.start_ms,
            seconds: j.duration_ms as f64 / 1000.0,
            succeeded: j.state == "succeeded",
        })
        .collect();
    let chart = charts::durations(&points).map_err(|e| AppError::internal(e).page())?;
    let back = ctx.url(&format!("/tables/{}", detail.row.name));
    let more_runs = detail.runs.len() > LISTED_RUNS;
    render(&request, &ctx, "table.html", "table", &stats, now_ms, |values| {
        values.insert("row", &detail.row);
        values.insert("query", &detail.query);
        values.insert("ddl", &detail.ddl);
        values.insert("tests", &detail.tests);
        values.insert("processor", &detail.processor);
        values.insert("replication", &detail.replication);
        values.insert("s3_load", &detail.s3_load);
        values.insert("sources", &detail.sources);
        values.insert("row_rules", &detail.row_rules);
        values.insert("offer_accept", &detail.offer_accept);
        values.insert("max_cost", &detail.max_cost);
        values.insert("last_plan_cost", &detail.last_plan_cost);
        values.insert("files", &detail.files);
        values.insert("upstream", &detail.upstream);
        values.insert("downstream", &detail.downstream);
        values.insert("config", &detail.config);
        values.insert("runs", &detail.runs[..detail.runs.len().min(LISTED_RUNS)]);
        values.insert("more_runs", &more_runs);
        values.insert("chart", &chart);
        values.insert("back", &back);
    })
}
