//! The JSON API: `/api/tables`, `/api/tables/<name>`, `/api/sources`, `/api/sources/<name>`,
//! `/api/jobs`, `/api/stats` and `POST /api/tables/<name>/force`. Bad input is a 4xx with `{"error": "…"}`, never a 500.

use crate::context::ServerContext;
use crate::errors::AppError;
use crate::model;
use crate::queries;
use crate::query_string::{MAX_JOBS, RangeQuery, TablesQuery, parse_range};
use crate::timefmt;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use duro_core::force::Scope;
use serde::Deserialize;

pub(crate) async fn tables(
    context: web::Data<ServerContext>,
    query: web::Query<TablesQuery>,
) -> Result<HttpResponse, AppError> {
    let list = query.to_list_query()?;
    let now_ms = duro_core::clock::now_ms();
    let body = context
        .read(now_ms, move |view| {
            serde_json::to_vec(&model::select_rows(&view.overview.rows, &list))
                .map_err(|e| AppError::internal(e.to_string()))
        })
        .await?;
    Ok(HttpResponse::Ok().content_type("application/json").body(body))
}

pub(crate) async fn table(
    context: web::Data<ServerContext>,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let now_ms = duro_core::clock::now_ms();
    let name = name.into_inner();
    let detail = context
        .read(now_ms, move |view| {
            queries::table_detail(
                view.state,
                &view.overview,
                &name,
                view.now_ms,
                queries::CHART_RUNS,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(detail))
}

pub(crate) async fn jobs(
    context: web::Data<ServerContext>,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    let now_ms = duro_core::clock::now_ms();
    let query = query.into_inner();
    let (from_ms, to_ms) = parse_range(query.from.as_deref(), query.to.as_deref(), now_ms)?;
    let (jobs, truncated) = context
        .with_state(move |state| queries::jobs(state, from_ms, to_ms, now_ms, MAX_JOBS))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "from": timefmt::iso(from_ms),
        "to": timefmt::iso(to_ms),
        "truncated": truncated,
        "jobs": jobs,
    })))
}

pub(crate) async fn stats(context: web::Data<ServerContext>) -> Result<HttpResponse, AppError> {
    let now_ms = duro_core::clock::now_ms();
    let shared = context.clone();
    let stats = context.with_state(move |state| shared.header_stats(state, now_ms)).await?;
    Ok(HttpResponse::Ok().json(stats))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForceBody {
    #[serde(default)]
    tree: bool,
    #[serde(default)]
    downstream: bool,
    #[serde(default)]
    accept_row_drop: bool,
}

impl ForceBody {
    fn scope(&self) -> Result<Scope, AppError> {
        Scope::from_flags(self.tree, self.downstream, self.accept_row_drop).ok_or_else(|| {
            AppError::bad_request(
                "ask for one of `tree` (what the table reads), `downstream` (what reads it) or `accept_row_drop` (the table alone, letting a smaller version through once)",
            )
        })
    }
}

/// `POST /api/tables/<name>/force` with `{"tree": bool}`, `{"downstream": bool}` or
/// `{"accept_row_drop": bool}` (`Content-Type: application/json`).
pub(crate) async fn force(
    request: HttpRequest,
    context: web::Data<ServerContext>,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    context.auth.check(&request)?;
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(AppError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as JSON with `Content-Type: application/json`, like {\"tree\": false}",
        ));
    }
    let body: ForceBody = if body.iter().all(u8::is_ascii_whitespace) {
        ForceBody { tree: false, downstream: false, accept_row_drop: false }
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            AppError::bad_request(format!("the body must be like {{\"tree\": true}}: {e}"))
        })?
    };
    let scope = body.scope()?;
    let name = name.into_inner();
    let now_ms = duro_core::clock::now_ms();
    let forced_name = name.clone();
    let scheduled = context
        .read(now_ms, move |view| {
            queries::force(view.state, &view.overview, &forced_name, scope, "API", view.now_ms)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "message": format!("Scheduled {} for update", scheduled.join(", ")),
        "table": name,
        "tree": body.tree,
        "downstream": body.downstream,
        "accept_row_drop": body.accept_row_drop,
        "scheduled": scheduled,
    })))
}

/// Every source of the catalog in force, with the tables that read it.
pub(crate) async fn sources(context: web::Data<ServerContext>) -> Result<HttpResponse, AppError> {
    let sources = context.with_state(|state| Ok(state.sources()?)).await?;
    Ok(HttpResponse::Ok().json(sources))
}

/// One source: its name and the tables that read it.
pub(crate) async fn source(
    context: web::Data<ServerContext>,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    let source = context.with_state(move |state| queries::source(state, &name)).await?;
    Ok(HttpResponse::Ok().json(source))
}
