//! The form behind the "Update table" and "Update tree" buttons.

use crate::context::ServerContext;
use crate::errors::AppError;
use crate::load;
use crate::security;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

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
    let shared = context.clone();
    context
        .with_state(move |state| {
            let overview = shared.overview(state, now_ms)?;
            load::force(state, &overview, &forced_name, tree, "web UI", now_ms)
        })
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
