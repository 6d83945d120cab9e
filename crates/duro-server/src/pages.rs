//! The HTML pages: jobs (`/`, `/<from>/`, `/<from>/<to>`), all tables, one table, the graph,
//! and the form that forces rebuilds. Pages render Tera templates; the forms are protected by
//! the CSRF token and, when configured, by write authentication.

use crate::charts::{self, DurationPoint};
use crate::context::ServerContext;
use crate::errors::AppError;
use crate::graph_svg;
use crate::load::{self, LISTED_RUNS};
use crate::model::{self, ListQuery, SortKey, Status};
use crate::security;
use crate::timefmt;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

/// The default jobs range: the last 30 minutes.
pub const DEFAULT_JOBS_RANGE_MS: i64 = 30 * 60_000;
/// At most this many builds (the newest) in `/api/jobs` and on the jobs page.
pub const MAX_JOBS: usize = 5_000;
pub const PAGE_JOBS: usize = 1_000;
/// The tables page shows this many rows unless asked for more (`?limit=all`).
pub const DEFAULT_TABLE_ROWS: usize = 500;
/// The graph page draws at most this many tables.
pub const MAX_GRAPH_NODES: usize = 400;

/// Renders `template` with the values every page needs (base path, CSRF token, header stats),
/// setting the CSRF cookie when the browser has none.
fn render(
    request: &HttpRequest,
    context: &ServerContext,
    template: &str,
    page: &str,
    stats: &model::Stats,
    now_ms: i64,
    fill: impl FnOnce(&mut tera::Context),
) -> Result<HttpResponse, AppError> {
    let cookie_path = if context.base_path.is_empty() {
        "/"
    } else {
        &context.base_path
    };
    let (csrf, cookie) = security::csrf_token(request, cookie_path);
    let mut values = tera::Context::new();
    values.insert("base", &context.base_path);
    values.insert("page", page);
    values.insert("csrf", &csrf);
    values.insert("stats", stats);
    values.insert("now", &now_ms);
    values.insert("version", env!("CARGO_PKG_VERSION"));
    fill(&mut values);
    let html = context.templates.render(template, &values)?;
    let mut response = HttpResponse::Ok();
    response.content_type("text/html; charset=utf-8");
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(cookie) = cookie {
        response.cookie(cookie);
    }
    Ok(response.body(html))
}

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
    let now_ms = load::now_ms();
    let query = query.into_inner();
    let from = request
        .match_info()
        .get("from")
        .map(str::to_owned)
        .or(query.from)
        .filter(|s| !s.is_empty());
    let to = request
        .match_info()
        .get("to")
        .map(str::to_owned)
        .or(query.to)
        .filter(|s| !s.is_empty());
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
    render(
        &request,
        &ctx,
        "jobs.html",
        "jobs",
        &stats,
        now_ms,
        |values| {
            values.insert("from_ms", &from_ms);
            values.insert("to_ms", &to_ms);
            values.insert("jobs", &jobs);
            values.insert("truncated", &truncated);
            values.insert("chart", &chart);
            values.insert("quick", &quick);
        },
    )
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

/// The tables list's query string.
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct TablesQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub order: String,
    /// Rows on the page: a number, or `all` (default `DEFAULT_TABLE_ROWS`).
    #[serde(default)]
    pub limit: String,
}

impl TablesQuery {
    /// The validated form; unknown values are 400s that say what is accepted.
    pub fn to_list_query(&self) -> Result<ListQuery, AppError> {
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
        Ok(ListQuery {
            filter: self.q.clone(),
            status,
            sort,
            descending,
        })
    }

    /// How many rows the page shows (`None`: all).
    pub fn row_limit(&self) -> Result<Option<usize>, AppError> {
        match self.limit.as_str() {
            "" => Ok(Some(DEFAULT_TABLE_ROWS)),
            "all" => Ok(None),
            text => text.parse::<usize>().map(Some).map_err(|_| {
                AppError::bad_request(format!("limit must be a number or `all`, not `{text}`"))
            }),
        }
    }
}

pub async fn tables(
    request: HttpRequest,
    context: web::Data<ServerContext>,
    query: web::Query<TablesQuery>,
) -> Result<HttpResponse, AppError> {
    let now_ms = load::now_ms();
    let query = query.into_inner();
    let list = query.to_list_query().map_err(AppError::page)?;
    let limit = query.row_limit().map_err(AppError::page)?;
    let ctx = context.clone();
    let shared = context.clone();
    let (rows, total, matching, counts, stats) = context
        .with_state(move |state| {
            let overview = shared.overview(state, now_ms)?;
            let counts = load::status_counts(&overview.rows);
            let total = overview.rows.len();
            let selected = model::select_rows(&overview.rows, &list);
            let matching = selected.len();
            let rows: Vec<model::TableRow> = selected
                .into_iter()
                .take(limit.unwrap_or(usize::MAX))
                .cloned()
                .collect();
            Ok((
                rows,
                total,
                matching,
                counts,
                shared.header_stats(state, now_ms)?,
            ))
        })
        .await
        .map_err(AppError::page)?;
    let sort_name = SortKey::ALL
        .iter()
        .find(|(_, key)| Some(*key) == query.to_list_query().ok().map(|q| q.sort))
        .map(|(name, _)| *name)
        .unwrap_or("status");
    let current_order = if query.order == "desc" { "desc" } else { "asc" };
    let columns: Vec<serde_json::Value> = [
        ("Table", Some("name")),
        ("Interval", Some("interval")),
        ("Last success", Some("last_success")),
        ("Next due", Some("next_due")),
        ("Average", Some("mean")),
        ("Last", Some("last")),
        ("Status", Some("status")),
        ("Last error", None),
        ("", None),
    ]
    .into_iter()
    .map(|(title, key)| {
        let href = key.map(|key| {
            let order = if key == sort_name && current_order == "asc" {
                "desc"
            } else {
                "asc"
            };
            let link = TablesQuery {
                q: query.q.clone(),
                status: query.status.clone(),
                sort: key.to_owned(),
                order: order.to_owned(),
                limit: query.limit.clone(),
            };
            format!("{}?{}", ctx.url("/tables/"), serde_urlencoded_string(&link))
        });
        serde_json::json!({ "title": title, "key": key, "href": href })
    })
    .collect();
    let back = format!(
        "{}?{}",
        ctx.url("/tables/"),
        serde_urlencoded_string(&query)
    );
    let all_href = format!(
        "{}?{}",
        ctx.url("/tables/"),
        serde_urlencoded_string(&TablesQuery {
            limit: "all".to_owned(),
            ..query.clone()
        })
    );
    render(
        &request,
        &ctx,
        "tables.html",
        "tables",
        &stats,
        now_ms,
        |values| {
            values.insert("rows", &rows);
            values.insert("total", &total);
            values.insert("matching", &matching);
            values.insert("all_href", &all_href);
            values.insert("counts", &counts);
            values.insert("columns", &columns);
            values.insert("statuses", &Status::ALL.map(Status::as_str));
            values.insert(
            "query",
            &serde_json::json!({ "q": query.q, "status": query.status, "sort": sort_name, "order": current_order, "limit": query.limit }),
        );
            values.insert("back", &back);
        },
    )
}

fn serde_urlencoded_string(query: &TablesQuery) -> String {
    let pairs = [
        ("q", &query.q),
        ("status", &query.status),
        ("sort", &query.sort),
        ("order", &query.order),
    ];
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but unreserved characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn table(
    request: HttpRequest,
    context: web::Data<ServerContext>,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let now_ms = load::now_ms();
    let name = name.into_inner();
    let ctx = context.clone();
    let shared = context.clone();
    let (detail, stats) = context
        .with_state(move |state| {
            Ok((
                load::table_detail(
                    state,
                    &*shared.overview(state, now_ms)?,
                    &name,
                    now_ms,
                    load::CHART_RUNS,
                )?,
                shared.header_stats(state, now_ms)?,
            ))
        })
        .await
        .map_err(AppError::page)?;
    let points: Vec<DurationPoint> = detail
        .runs
        .iter()
        .filter(|r| r.finished_at_ms.is_some() && (r.state == "succeeded" || r.state == "failed"))
        .map(|r| DurationPoint {
            start_ms: r.started_at_ms,
            seconds: r.duration_ms as f64 / 1000.0,
            succeeded: r.state == "succeeded",
        })
        .collect();
    let chart = charts::durations(&points).map_err(|e| AppError::internal(e).page())?;
    let back = ctx.url(&format!("/tables/{}", detail.row.name));
    let more_runs = detail.runs.len() > LISTED_RUNS;
    render(
        &request,
        &ctx,
        "table.html",
        "table",
        &stats,
        now_ms,
        |values| {
            values.insert("row", &detail.row);
            values.insert("query", &detail.query);
            values.insert("ddl", &detail.ddl);
            values.insert("tests", &detail.tests);
            values.insert("processor", &detail.processor);
            values.insert("files", &detail.files);
            values.insert("upstream", &detail.upstream);
            values.insert("downstream", &detail.downstream);
            values.insert("config", &detail.config);
            values.insert("runs", &detail.runs[..detail.runs.len().min(LISTED_RUNS)]);
            values.insert("more_runs", &more_runs);
            values.insert("chart", &chart);
            values.insert("back", &back);
        },
    )
}

pub async fn graph(
    request: HttpRequest,
    context: web::Data<ServerContext>,
) -> Result<HttpResponse, AppError> {
    let now_ms = load::now_ms();
    let ctx = context.clone();
    let shared = context.clone();
    let (overview, stats) = context
        .with_state(move |state| {
            Ok((
                shared.overview(state, now_ms)?,
                shared.header_stats(state, now_ms)?,
            ))
        })
        .await
        .map_err(AppError::page)?;
    let active: Vec<&model::TableRow> = overview
        .rows
        .iter()
        .filter(|r| r.status != Status::Removed)
        .collect();
    let truncated = active.len() > MAX_GRAPH_NODES;
    let shown = &active[..active.len().min(MAX_GRAPH_NODES)];
    let index: std::collections::HashMap<&str, usize> = shown
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    let nodes: Vec<graph_svg::Node> = shown
        .iter()
        .map(|r| graph_svg::Node {
            name: r.name.clone(),
            status: r.status,
            href: ctx.url(&format!("/tables/{}", r.name)),
        })
        .collect();
    let edges: Vec<(usize, usize)> = overview
        .tables
        .iter()
        .filter_map(|t| index.get(t.name.as_str()).map(|reader| (t, *reader)))
        .flat_map(|(t, reader)| {
            t.dependencies
                .iter()
                .filter_map(|d| {
                    index
                        .get(d.as_str())
                        .map(|dependency| (*dependency, reader))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let edge_count = edges.len();
    let layout_context = ctx.clone();
    let svg =
        web::block(move || graph_svg::render(&layout_context.graph_layout(&nodes, &edges), &nodes))
            .await
            .map_err(|e| AppError::internal(e.to_string()).page())?;
    render(
        &request,
        &ctx,
        "graph.html",
        "graph",
        &stats,
        now_ms,
        |values| {
            values.insert("svg", &svg);
            values.insert("nodes", &shown.len());
            values.insert("edges", &edge_count);
            values.insert("truncated", &truncated);
            values.insert("limit", &MAX_GRAPH_NODES);
        },
    )
}

#[derive(Deserialize)]
pub struct ForceForm {
    csrf: String,
    #[serde(default)]
    tree: String,
    #[serde(default)]
    back: String,
}

/// `POST /tables/<name>/force` from a page's button: CSRF and auth checked, then back to the
/// page (303), which now shows the table as scheduled.
pub async fn force(
    request: HttpRequest,
    context: web::Data<ServerContext>,
    name: web::Path<String>,
    form: web::Form<ForceForm>,
) -> Result<HttpResponse, AppError> {
    security::check_csrf(&request, &form.csrf)?;
    context.auth.check(&request).map_err(AppError::page)?;
    let tree = match form.tree.as_str() {
        "" | "0" | "false" => false,
        "1" | "true" => true,
        other => {
            return Err(
                AppError::bad_request(format!("tree must be 0 or 1, not `{other}`")).page(),
            );
        }
    };
    let name = name.into_inner();
    let now_ms = load::now_ms();
    let forced_name = name.clone();
    context
        .with_state(move |state| load::force(state, &forced_name, tree, "web UI", now_ms))
        .await
        .map_err(AppError::page)?;
    // Only local paths inside the app: never an open redirect.
    let back = if form.back.starts_with(&format!("{}/", context.base_path))
        && !form.back.starts_with("//")
        && !form.back.contains("://")
        && !form.back.contains('\\')
    {
        form.back.clone()
    } else {
        context.url("/tables/")
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, back))
        .finish())
}
