//! The server in process for the handler tests: an app over a configuration, requests, bodies,
//! and the CSRF cookie and token a page hands out.

use actix_web::cookie::Cookie;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{App, test, web};
use duro_core::config::Config;
use duro_server::{ServerContext, routes};
use serde_json::Value;

pub(crate) fn context(config: &Config, base: Option<&str>) -> web::Data<ServerContext> {
    web::Data::new(ServerContext::new(config, base).unwrap())
}

pub(crate) async fn app(
    config: &Config,
    base: Option<&str>,
) -> impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error> {
    test::init_service(App::new().configure(routes(context(config, base)))).await
}

pub(crate) async fn text(response: ServiceResponse) -> String {
    String::from_utf8(test::read_body(response).await.to_vec()).unwrap()
}

pub(crate) async fn get(
    service: &impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
    uri: &str,
) -> (StatusCode, String) {
    let response =
        test::call_service(service, test::TestRequest::get().uri(uri).to_request()).await;
    let status = response.status();
    (status, text(response).await)
}

pub(crate) fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// The CSRF cookie and token a page hands out.
pub(crate) async fn csrf(
    service: &impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
    uri: &str,
) -> (Cookie<'static>, String) {
    let response =
        test::call_service(service, test::TestRequest::get().uri(uri).to_request()).await;
    let cookie = response
        .response()
        .cookies()
        .find(|c| c.name() == "duro_csrf")
        .expect("a page sets the CSRF cookie")
        .into_owned();
    let body = text(response).await;
    let start = body.find("name=\"csrf\" value=\"").expect("a form with the token") + 19;
    let end = start + body[start..].find('"').expect("the token's end");
    let token = body[start..end].to_owned();
    assert_eq!(token, cookie.value(), "the form repeats the cookie");
    (cookie, token)
}
