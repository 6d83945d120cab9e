//! The form behind the "Update table", "Update tree", "Update downstream" and "Accept and
//! rebuild" buttons.

use crate::context::ServerContext;
use crate::errors::AppError;
use crate::queries;
use crate::security;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use duro_core::force::Scope;
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct ForceForm {
    csrf: String,
    #[serde(default)]
    tree: String,
    #[serde(default)]
    downstream: String,
    #[serde(default)]
    accept_row_drop: String,
    #[serde(default)]
    back: String,
}

/// `POST /tables/<name>/force` from a page's button: CSRF and auth checked, then back to the
/// page (303), which now shows the table as scheduled.
pub(crate) async fn force(
    request: HttpRequest,
    context: web::Data<ServerContext>,
    name: web::Path<String>,
    form: web::Form<ForceForm>,
) -> Result<HttpResponse, AppError> {
    security::check_csrf(&request, &form.csrf, &context.csrf_key)?;
    context.auth.check(&request).map_err(AppError::page)?;
    let flag = |name: &str, value: &str| match value {
        "" | "0" | "false" => Ok(false),
        "1" | "true" => Ok(true),
        other => Err(AppError::bad_request(format!("{name} must be 0 or 1, not `{other}`")).page()),
    };
    let scope = Scope::from_flags(
        flag("tree", &form.tree)?,
        flag("downstream", &form.downstream)?,
        flag("accept_row_drop", &form.accept_row_drop)?,
    )
    .ok_or_else(|| {
        AppError::bad_request(
            "ask for one of the tree, the downstream or accepting a smaller table",
        )
        .page()
    })?;
    let name = name.into_inner();
    let now_ms = duro_core::clock::now_ms();
    let forced_name = name.clone();
    context
        .read(now_ms, move |view| {
            queries::force(view.state, &view.overview, &forced_name, scope, "web UI", view.now_ms)
        })
        .await
        .map_err(AppError::page)?;
    let back = same_site_path(&form.back, &context.base_path)
        .map_or_else(|| context.url("/tables/"), str::to_owned);
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, back)).finish())
}

/// `back` when it is a path on this site under `base` (`""` or like `/duro`), never an open
/// redirect: it starts with exactly one `/` (not `//` or `/\`, which browsers read as another
/// host), and has only visible ASCII characters and no backslash (browsers drop tabs and line
/// breaks from URLs, so `/<tab>/evil.example/` would become `//evil.example/`).
fn same_site_path<'a>(back: &'a str, base: &str) -> Option<&'a str> {
    let inside = back.strip_prefix(base).is_some_and(|rest| rest.starts_with('/'));
    let plain = back.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    (inside && plain && !back.starts_with("//")).then_some(back)
}

#[cfg(test)]
mod tests {
    use super::same_site_path;

    #[test]
    fn back_is_a_path_on_this_site_or_nothing() {
        for (back, base, accepted) in [
            ("/tables/", "", true),
            ("/tables/?q=orders&sort=name", "", true),
            ("/tables/shop.orders", "", true),
            ("/", "", true),
            ("/duro/tables/", "/duro", true),
            ("/duro/", "/duro", true),
            ("", "", false),
            ("tables/", "", false),
            ("//evil.example/", "", false),
            ("/\\evil.example/", "", false),
            ("/\tables", "", false),
            ("/\t/evil.example/", "", false),
            ("/tables/\r\nSet-Cookie: x=1", "", false),
            ("/tables/\n", "", false),
            ("/tables/\u{7f}", "", false),
            ("/tables/\u{85}", "", false),
            ("/tables/é", "", false),
            ("/tables/ x", "", false),
            ("https://evil.example/", "", false),
            ("javascript:alert(1)", "", false),
            ("/tables/", "/duro", false),
            ("/durox/tables/", "/duro", false),
            ("/duro", "/duro", false),
            ("//duro/", "/duro", false),
        ] {
            assert_eq!(
                same_site_path(back, base),
                accepted.then_some(back),
                "{back:?} under {base:?}"
            );
        }
    }
}
