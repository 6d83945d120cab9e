//! `duro-server`: the web UI and JSON API over the state file. It reads what `duro-schedule`
//! and `duro-create` record and writes only force requests; it never talks to the warehouse.
//!
//! [`routes`] mounts everything under the configured base path, behind the read check
//! (`server.read_auth`), with the default security headers, a `Content-Security-Policy` and the
//! access log on every answer; [`serve`] listens and runs it. `main.rs` only parses flags.

mod api;
mod charts;
mod context;
mod errors;
mod graph_svg;
mod memo;
mod metrics;
mod model;
mod pages;
mod queries;
mod query_string;
mod security;
mod templates;
mod timefmt;

pub use context::{ServerContext, normalize_base_path};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpResponse, HttpServer, middleware, web};
use errors::AppError;
use std::time::Instant;

const STYLESHEET: &str = include_str!("../static/style.css");

/// What pages may load: only the server's own stylesheet and links; no scripts, no inline
/// styles, no framing, no `<base>`, forms only to this server.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Registers every route under the context's base path.
pub fn routes(context: web::Data<ServerContext>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        let base = context.base_path.clone();
        let json_errors = web::JsonConfig::default();
        let query_errors = web::QueryConfig::default().error_handler(|error, request| {
            let message = format!("bad query string: {error}");
            if request.path().contains("/api/") {
                AppError::bad_request(message).into()
            } else {
                AppError::bad_request(message).page().into()
            }
        });
        let form_errors = web::FormConfig::default().error_handler(|error, _| {
            AppError::bad_request(format!("bad form: {error}")).page().into()
        });
        config
            .app_data(context)
            .app_data(json_errors)
            .app_data(query_errors)
            .app_data(form_errors)
            .service(
                web::scope(&base)
                    .wrap(from_fn(read_auth))
                    .wrap(from_fn(content_security_policy))
                    .wrap(from_fn(server_timing))
                    .wrap(
                        middleware::DefaultHeaders::new()
                            .add(("X-Content-Type-Options", "nosniff"))
                            .add(("X-Frame-Options", "DENY"))
                            .add(("Referrer-Policy", "same-origin")),
                    )
                    .wrap(
                        middleware::Logger::new("%a \"%r\" %s %b %Dms")
                            .log_target("duro_server::access"),
                    )
                    .route("/healthz", web::get().to(healthz))
                    .route("/metrics", web::get().to(metrics))
                    .route("/static/style.css", web::get().to(stylesheet))
                    .route("/api/tables", web::get().to(api::tables))
                    .route("/api/tables/", web::get().to(api::tables))
                    .route("/api/tables/{name}", web::get().to(api::table))
                    .route("/api/tables/{name}/force", web::post().to(api::force))
                    .route("/api/sources", web::get().to(api::sources))
                    .route("/api/sources/{name}", web::get().to(api::source))
                    .route("/api/jobs", web::get().to(api::jobs))
                    .route("/api/stats", web::get().to(api::stats))
                    .route("/api/{rest:.*}", web::route().to(api_not_found))
                    .route("/tables", web::get().to(redirect_to_tables))
                    .route("/tables/", web::get().to(pages::tables))
                    .route("/tables/{name}", web::get().to(pages::table))
                    .route("/tables/{name}/force", web::post().to(pages::force))
                    .route("/sources/{name}", web::get().to(pages::source))
                    .route("/graph", web::get().to(pages::graph))
                    .route("/graph/", web::get().to(pages::graph))
                    .route("/", web::get().to(pages::jobs))
                    .route("", web::get().to(pages::jobs))
                    .route("/{from}", web::get().to(pages::jobs))
                    .route("/{from}/", web::get().to(pages::jobs))
                    .route("/{from}/{to}", web::get().to(pages::jobs))
                    .route("/{from}/{to}/", web::get().to(pages::jobs))
                    .default_service(web::to(page_not_found)),
            );
    }
}

/// Listens on `bind` and serves [`routes`] until SIGTERM or SIGINT (finishing requests in
/// flight), printing the address first.
pub async fn serve(
    context: web::Data<ServerContext>,
    bind: &str,
    workers: Option<usize>,
) -> Result<(), String> {
    let base = context.base_path.clone();
    let write_auth = if context.auth.is_open() { "open" } else { "authenticated" };
    let read_auth = if context.read_auth { "authenticated" } else { "open" };
    let app_context = context.clone();
    let mut server = HttpServer::new(move || App::new().configure(routes(app_context.clone())))
        .bind(bind)
        .map_err(|e| format!("cannot listen on `{bind}`: {e} (set --bind or DURO_SERVER__BIND)"))?;
    if let Some(workers) = workers {
        server = server.workers(workers.max(1));
    }
    for address in server.addrs() {
        let line = format!(
            "duro-server: listening on http://{address}{base}/ (reads {read_auth}, writes {write_auth})"
        );
        println_flushed(&line);
    }
    server.run().await.map_err(|e| e.to_string())
}

/// The address line the deployment scripts wait for, on stdout at once.
fn println_flushed(line: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Adds `Server-Timing: app;dur=<ms>`: the time from the request's arrival to its complete
/// answer (every handler builds its whole body first), without the network.
async fn server_timing(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let mut response = next.call(request).await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(value) = HeaderValue::from_str(&format!("app;dur={ms:.1}")) {
        response.headers_mut().insert(HeaderName::from_static("server-timing"), value);
    }
    Ok(response)
}

/// With `server.read_auth`, asks for the configured credentials on every request but
/// `/healthz` (API paths answer JSON, pages an HTML page).
async fn read_auth(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(context) = request.app_data::<web::Data<ServerContext>>() else {
        let error = AppError::internal("the server's context is missing");
        return Ok(request.error_response(error).map_into_right_body());
    };
    if context.read_auth
        && request.path() != context.url("/healthz")
        && let Err(error) = context.auth.check_read(request.request())
    {
        let api = request.path().starts_with(&context.url("/api/"));
        let error = if api { error } else { error.page() };
        return Ok(request.error_response(error).map_into_right_body());
    }
    Ok(next.call(request).await?.map_into_left_body())
}

/// Adds `Content-Security-Policy` to every answer (pages, error pages, the rest).
async fn content_security_policy(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut response = next.call(request).await?;
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    Ok(response)
}

/// `200 ok` when the state file opens and the table overview the pages show reads from it,
/// `503` with the reason otherwise.
async fn healthz(context: web::Data<ServerContext>) -> HttpResponse {
    let now_ms = duro_core::clock::now_ms();
    let read = context
        .read(now_ms, |view| Ok((view.state.schema_version()?, view.overview.rows.len())))
        .await;
    match read {
        Ok((version, tables)) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(format!("ok (state schema {version}, {tables} tables)\n")),
        Err(error) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .body(format!("unavailable: {}\n", error.message)),
    }
}

async fn metrics(context: web::Data<ServerContext>) -> Result<HttpResponse, AppError> {
    let now_ms = duro_core::clock::now_ms();
    let text = context
        .read(now_ms, |view| {
            Ok(metrics::render(
                &view.overview.rows,
                &view.state.build_counts()?,
                &view.state.duration_buckets()?,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(text))
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(STYLESHEET)
}

async fn redirect_to_tables(context: web::Data<ServerContext>) -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, context.url("/tables/")))
        .finish()
}

async fn api_not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::not_found("no such API endpoint; see /api/tables, /api/jobs, /api/stats"))
}

async fn page_not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::not_found("no such page").page())
}
