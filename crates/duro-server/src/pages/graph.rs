//! The dependency graph page: the whole catalog (up to `MAX_GRAPH_NODES` tables), or one
//! table's neighbourhood (`?focus=schema.table&depth=N`), which any catalog size can browse.

use super::render;
use crate::context::ServerContext;
use crate::errors::AppError;
use crate::graph_svg;
use crate::model;
use crate::query_string::GraphQuery;
use actix_web::{HttpRequest, HttpResponse, web};
use duro_core::status::Status;
use std::collections::{HashMap, HashSet};

/// The graph page draws at most this many tables.
pub(super) const MAX_GRAPH_NODES: usize = 400;
pub(crate) async fn graph(
    request: HttpRequest,
    context: web::Data<ServerContext>,
    query: web::Query<GraphQuery>,
) -> Result<HttpResponse, AppError> {
    let depth = query.depth().map_err(AppError::page)?;
    let focus = query.focus.clone().filter(|f| !f.is_empty());
    let now_ms = duro_core::clock::now_ms();
    let ctx = context.clone();
    let (overview, stats, sources) = context
        .read(now_ms, move |view| {
            let stats = view.header_stats()?;
            Ok((view.overview, stats, view.state.sources()?))
        })
        .await
        .map_err(AppError::page)?;
    let mut active: Vec<&model::TableRow> =
        overview.rows.iter().filter(|r| r.status != Status::Removed).collect();
    if let Some(focus) = &focus {
        if !active.iter().any(|r| &r.name == focus) {
            return Err(AppError::not_found(format!("no table `{focus}` in the catalog")).page());
        }
        let near = neighbourhood(&overview.tables, focus, depth);
        active.retain(|r| near.contains(r.name.as_str()));
    }
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
        values.insert("focus", &focus);
        values.insert("depth", &depth);
    })
}

/// `focus` and the tables within `depth` steps of it, up (what it reads) and down (what reads
/// it), each direction walked on its own.
fn neighbourhood<'a>(
    tables: &'a [duro_core::state::TableSummary],
    focus: &'a str,
    depth: usize,
) -> HashSet<&'a str> {
    let mut readers: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut reads: HashMap<&str, Vec<&str>> = HashMap::new();
    for table in tables.iter().filter(|t| t.deleted_at_ms.is_none()) {
        for dependency in &table.dependencies {
            readers.entry(dependency.as_str()).or_default().push(table.name.as_str());
            reads.entry(table.name.as_str()).or_default().push(dependency.as_str());
        }
    }
    let mut near = HashSet::from([focus]);
    for edges in [&reads, &readers] {
        let mut seen = HashSet::from([focus]);
        let mut frontier = vec![focus];
        for _ in 0..depth {
            frontier = frontier
                .iter()
                .flat_map(|name| edges.get(name).into_iter().flatten().copied())
                .filter(|name| seen.insert(*name))
                .collect();
        }
        near.extend(seen);
    }
    near
}
