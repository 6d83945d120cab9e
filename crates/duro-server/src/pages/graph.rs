//! The dependency graph page.

use super::render;
use crate::context::ServerContext;
use crate::errors::AppError;
use crate::graph_svg;
use crate::model;
use actix_web::{HttpRequest, HttpResponse, web};
use duro_core::status::Status;

/// The graph page draws at most this many tables.
pub(super) const MAX_GRAPH_NODES: usize = 400;
pub(crate) async fn graph(
    request: HttpRequest,
    context: web::Data<ServerContext>,
) -> Result<HttpResponse, AppError> {
    let now_ms = duro_core::clock::now_ms();
    let ctx = context.clone();
    let (overview, stats, sources) = context
        .read(now_ms, move |view| {
            let stats = view.header_stats()?;
            Ok((view.overview, stats, view.state.sources()?))
        })
        .await
        .map_err(AppError::page)?;
    let active: Vec<&model::TableRow> =
        overview.rows.iter().filter(|r| r.status != Status::Removed).collect();
    let truncated = active.len() > MAX_GRAPH_NODES;
    let shown = &active[..active.len().min(MAX_GRAPH_NODES)];
    let index: std::collections::HashMap<&str, usize> =
        shown.iter().enumerate().map(|(i, r)| (r.name.as_str(), i)).collect();
    let mut nodes: Vec<graph_svg::Node> = shown
        .iter()
        .map(|r| graph_svg::Node {
            name: r.name.clone(),
            status: r.status,
            href: ctx.url(&format!("/tables/{}", r.name)),
            source: false,
        })
        .collect();
    // The sources the shown tables read, each pointing at its readers.
    let mut source_edges = Vec::new();
    for source in &sources {
        let readers: Vec<usize> =
            source.read_by.iter().filter_map(|r| index.get(r.as_str()).copied()).collect();
        if readers.is_empty() {
            continue;
        }
        let at = nodes.len();
        nodes.push(graph_svg::Node {
            name: source.name.clone(),
            status: Status::Fresh,
            href: ctx.url(&format!("/sources/{}", source.name)),
            source: true,
        });
        source_edges.extend(readers.into_iter().map(|reader| (at, reader)));
    }
    let source_count = nodes.len() - shown.len();
    let edges: Vec<(usize, usize)> = overview
        .tables
        .iter()
        .filter_map(|t| index.get(t.name.as_str()).map(|reader| (t, *reader)))
        .flat_map(|(t, reader)| {
            t.dependencies
                .iter()
                .filter_map(|d| index.get(d.as_str()).map(|dependency| (*dependency, reader)))
                .collect::<Vec<_>>()
        })
        .chain(source_edges)
        .collect();
    let edge_count = edges.len();
    let layout_context = ctx.clone();
    let svg =
        web::block(move || graph_svg::render(&layout_context.graph_layout(&nodes, &edges), &nodes))
            .await
            .map_err(|e| AppError::internal(e.to_string()).page())?;
    render(&request, &ctx, "graph.html", "graph", &stats, now_ms, |values| {
        values.insert("svg", &svg);
        values.insert("nodes", &shown.len());
        values.insert("sources", &source_count);
        values.insert("edges", &edge_count);
        values.insert("truncated", &truncated);
        values.insert("limit", &MAX_GRAPH_NODES);
    })
}
