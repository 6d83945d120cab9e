//! The tables page: every table with its status, sorted and filtered by the query string.

use super::render;
use crate::context::ServerContext;
use crate::errors::AppError;
use crate::model::{self, SortKey};
use crate::queries;
use crate::query_string::TablesQuery;
use actix_web::{HttpRequest, HttpResponse, web};
use duro_core::status::Status;

pub(crate) async fn tables(
    request: HttpRequest,
    context: web::Data<ServerContext>,
    query: web::Query<TablesQuery>,
) -> Result<HttpResponse, AppError> {
    let now_ms = duro_core::clock::now_ms();
    let query = query.into_inner();
    let list = query.to_list_query().map_err(AppError::page)?;
    let sort = list.sort;
    let limit = query.row_limit().map_err(AppError::page)?;
    let ctx = context.clone();
    let (rows, total, matching, counts, stats) = context
        .read(now_ms, move |view| {
            let rows = &view.overview.rows;
            let counts = queries::status_counts(rows);
            let total = rows.len();
            let selected = model::select_rows(rows, &list);
            let matching = selected.len();
            let rows: Vec<model::TableRow> =
                selected.into_iter().take(limit.unwrap_or(usize::MAX)).cloned().collect();
            Ok((rows, total, matching, counts, view.header_stats()?))
        })
        .await
        .map_err(AppError::page)?;
    let sort_name =
        SortKey::ALL.iter().find(|(_, key)| *key == sort).map_or("status", |(name, _)| *name);
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
            let order = if key == sort_name && current_order == "asc" { "desc" } else { "asc" };
            let link = TablesQuery {
                q: query.q.clone(),
                status: query.status.clone(),
                sort: key.to_owned(),
                order: order.to_owned(),
                limit: query.limit.clone(),
            };
            link.href(&ctx)
        });
        serde_json::json!({ "title": title, "key": key, "href": href })
    })
    .collect();
    let back = query.href(&ctx);
    let all_href = TablesQuery { limit: "all".to_owned(), ..query.clone() }.href(&ctx);
    render(&request, &ctx, "tables.html", "tables", &stats, now_ms, |values| {
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
    })
}

impl TablesQuery {
    /// The list's address with this query (empty values left out).
    fn href(&self, context: &ServerContext) -> String {
        let query = serde_urlencoded::to_string(self).unwrap_or_default();
        format!("{}?{query}", context.url("/tables/"))
    }
}
