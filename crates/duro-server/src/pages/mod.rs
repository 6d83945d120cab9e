//! The HTML pages: jobs (`/`, `/<from>/`, `/<from>/<to>`), all tables, one table, one source,
//! the graph, and the form that forces rebuilds. Pages render Tera templates; the forms are protected by
//! the CSRF token and, when configured, by write authentication.

mod force;
mod graph;
mod jobs;
mod source;
mod table;
mod tables;

pub(crate) use force::force;
pub(crate) use graph::graph;
pub(crate) use jobs::jobs;
pub(crate) use source::source;
pub(crate) use table::table;
pub(crate) use tables::tables;

use crate::context::ServerContext;
use crate::errors::AppError;
use crate::model;
use crate::security;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

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
    let cookie_path = if context.base_path.is_empty() { "/" } else { &context.base_path };
    let (csrf, cookie) = security::csrf_token(request, cookie_path, &context.csrf_key);
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
