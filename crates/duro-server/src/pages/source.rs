//! One source's page: a table the catalog reads that no file defines, and its readers.

use super::render;
use crate::context::ServerContext;
use crate::errors::AppError;
use crate::queries;
use actix_web::{HttpRequest, HttpResponse, web};

pub(crate) async fn source(
    request: HttpRequest,
    context: web::Data<ServerContext>,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let now_ms = duro_core::clock::now_ms();
    let name = name.into_inner();
    let ctx = context.clone();
    let (source, stats) = context
        .read(now_ms, move |view| Ok((queries::source(view.state, &name)?, view.header_stats()?)))
        .await
        .map_err(AppError::page)?;
    render(&request, &ctx, "source.html", "source", &stats, now_ms, |values| {
        values.insert("source", &source);
    })
}
