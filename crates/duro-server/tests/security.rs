//! The server's defences, in process: credentials for reads (`server.read_auth`), a health
//! check that reads what the pages read, the Content-Security-Policy, redirects that stay on
//! the site, and CSRF tokens signed by the server.

use crate::common::http::{app, csrf, get, json, text};
use actix_web::http::{StatusCode, header};
use actix_web::test;
use base64::Engine;
use duro_core::config::{AuthMode, Config};
use duro_core::state::StateFile;

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[actix_web::test]
async fn read_auth_asks_every_request_but_healthz() {
    let setup = crate::common::shared();
    for base in ["", "/duro"] {
        let mut config = setup.config.clone();
        config.server.auth = AuthMode::Token;
        config.server.token = Some("s3cret-token".into());
        config.server.read_auth = true;
        let service = app(&config, Some(base)).await;
        let request = |path: &str, authorization: Option<String>| {
            let mut request = test::TestRequest::get().uri(&format!("{base}{path}"));
            if let Some(value) = authorization {
                request = request.insert_header((header::AUTHORIZATION, value));
            }
            request.to_request()
        };
        for (path, found) in [
            ("/", true),
            ("/tables/", true),
            ("/tables/shop.orders", true),
            ("/graph", true),
            ("/api/tables", true),
            ("/api/tables/shop.orders", true),
            ("/api/jobs", true),
            ("/api/stats", true),
            ("/metrics", true),
            ("/static/style.css", true),
            ("/nowhere/at/all", false),
        ] {
            for authorization in [None, Some("Bearer wrong".to_owned())] {
                let response = test::call_service(&service, request(path, authorization)).await;
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{base}{path}");
                let challenges: Vec<&str> = response
                    .headers()
                    .get_all(header::WWW_AUTHENTICATE)
                    .map(|v| v.to_str().unwrap())
                    .collect();
                assert_eq!(
                    challenges,
                    ["Basic realm=\"duro\", charset=\"UTF-8\"", "Bearer realm=\"duro\""],
                    "{base}{path}"
                );
                assert!(response.headers().contains_key(header::CONTENT_SECURITY_POLICY));
                let api = path.starts_with("/api/");
                let body = text(response).await;
                if api {
                    assert!(json(&body)["error"].as_str().unwrap().contains("credentials"));
                } else {
                    assert!(body.contains("<h1>401"), "{path}: a page: {body}");
                    assert!(body.contains("reading needs credentials"), "{body}");
                }
            }
            let allowed = if found { StatusCode::OK } else { StatusCode::NOT_FOUND };
            for authorization in [
                "Bearer s3cret-token".to_owned(),
                "bearer s3cret-token".to_owned(),
                basic("anyone", "s3cret-token"),
            ] {
                let response =
                    test::call_service(&service, request(path, Some(authorization.clone()))).await;
                assert_eq!(response.status(), allowed, "{base}{path} with {authorization}");
            }
        }
        let response = test::call_service(&service, request("/healthz", None)).await;
        assert_eq!(response.status(), StatusCode::OK, "{base}/healthz is open");
        assert!(text(response).await.starts_with("ok"));
    }

    // Basic users: the same, with their passwords.
    let mut config = setup.config.clone();
    config.server.auth = AuthMode::Basic;
    config.server.users = Some("alice:one,bob:two".into());
    config.server.read_auth = true;
    let service = app(&config, None).await;
    for (authorization, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(basic("alice", "two")), StatusCode::UNAUTHORIZED),
        (Some(basic("alice", "one")), StatusCode::OK),
        (Some(basic("bob", "two")), StatusCode::OK),
    ] {
        let mut request = test::TestRequest::get().uri("/tables/");
        if let Some(value) = authorization.clone() {
            request = request.insert_header((header::AUTHORIZATION, value));
        }
        let response = test::call_service(&service, request.to_request()).await;
        assert_eq!(response.status(), expected, "{authorization:?}");
        if expected == StatusCode::UNAUTHORIZED {
            assert_eq!(
                response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
                "Basic realm=\"duro\", charset=\"UTF-8\""
            );
        }
    }

    // Off (the default): reads need nothing, even with write credentials configured.
    let mut config = setup.config.clone();
    config.server.auth = AuthMode::Token;
    config.server.token = Some("s3cret-token".into());
    let service = app(&config, None).await;
    for path in ["/", "/tables/", "/api/tables"] {
        assert_eq!(get(&service, path).await.0, StatusCode::OK, "{path}");
    }

    // read_auth without credentials to ask for is a configuration error.
    let mut config = setup.config.clone();
    config.server.read_auth = true;
    let error = duro_server::ServerContext::new(&config, None).err().unwrap();
    assert!(error.contains("server.read_auth needs server.auth"), "{error}");
}

#[actix_web::test]
async fn healthz_fails_when_the_pages_cannot_read_the_tables() {
    // (damage done to a new state file, expected status, words in the answer)
    for (damage, expected, words) in [
        ("", StatusCode::OK, "ok (state schema"),
        ("drop table tables", StatusCode::SERVICE_UNAVAILABLE, "without Duro's tables"),
        (
            "drop table tables; create table tables (name text primary key)",
            StatusCode::SERVICE_UNAVAILABLE,
            "the state file cannot be read",
        ),
        (
            "drop table table_history",
            StatusCode::SERVICE_UNAVAILABLE,
            "no such table: table_history",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.state.path = dir.path().join("duro.db");
        drop(StateFile::open(&config.state.path).unwrap());
        rusqlite::Connection::open(&config.state.path).unwrap().execute_batch(damage).unwrap();
        let service = app(&config, None).await;
        let (status, body) = get(&service, "/healthz").await;
        assert_eq!(status, expected, "{damage}: {body}");
        assert!(body.contains(words), "{damage}: {body}");
        if expected != StatusCode::OK {
            assert!(body.starts_with("unavailable: "), "{body}");
            assert!(body.lines().count() == 1, "a short reason: {body}");
            // The pages fail the same way.
            assert_eq!(get(&service, "/api/tables").await.0.as_u16() / 100, 5);
        }
    }
}

#[actix_web::test]
async fn every_answer_has_the_content_security_policy() {
    let setup = crate::common::shared();
    let service = app(&setup.config, None).await;
    for (uri, html) in [
        ("/", true),
        ("/tables/", true),
        ("/tables/shop.summary", true),
        ("/tables/shop.broken", true),
        ("/graph", true),
        ("/tables/nope.nothing", true),
        ("/yesterday/", true),
        ("/api/tables", false),
        ("/healthz", false),
    ] {
        let response =
            test::call_service(&service, test::TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(
            response.headers().get(header::CONTENT_SECURITY_POLICY).unwrap(),
            "default-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
            "{uri}"
        );
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "same-origin"),
        ] {
            assert_eq!(response.headers().get(name).unwrap(), value, "{uri}: {name}");
        }
        let is_html = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
        assert_eq!(is_html, html, "{uri}");
        let body = text(response).await;
        // Nothing the policy would block on a page: no scripts, no inline styles.
        for blocked in ["<script", "javascript:", "<style", "style=\"", " onclick=", " onload="] {
            assert!(!(html && body.contains(blocked)), "{uri} has {blocked}");
        }
    }
}

#[actix_web::test]
async fn form_force_redirects_only_inside_the_site() {
    let setup = crate::common::filled();
    let service = app(&setup.config, None).await;
    let (cookie, token) = csrf(&service, "/tables/").await;
    for (back, location) in [
        ("/tables/?q=orders", "/tables/?q=orders"),
        ("/tables/shop.orders", "/tables/shop.orders"),
        ("/\t/evil.example/", "/tables/"),
        ("/\t\t/evil.example/", "/tables/"),
        ("//evil.example/", "/tables/"),
        ("/\\evil.example/", "/tables/"),
        ("https://evil.example/", "/tables/"),
        ("/tables/\r\nSet-Cookie: x=1", "/tables/"),
        ("/tables/\n", "/tables/"),
        ("/tables/été", "/tables/"),
        ("", "/tables/"),
    ] {
        let response = test::call_service(
            &service,
            test::TestRequest::post()
                .uri("/tables/shop.orders/force")
                .cookie(cookie.clone())
                .set_form([("csrf", token.as_str()), ("tree", "0"), ("back", back)])
                .to_request(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{back:?}");
        assert_eq!(response.headers().get(header::LOCATION).unwrap(), location, "{back:?}");
        assert!(!response.headers().contains_key(header::SET_COOKIE), "{back:?}");
    }
}

#[actix_web::test]
async fn csrf_tokens_are_signed_by_this_server() {
    let setup = crate::common::filled();
    let service = app(&setup.config, None).await;
    let post = |cookie: &str, field: &str| {
        test::TestRequest::post()
            .uri("/tables/shop.orders/force")
            .cookie(actix_web::cookie::Cookie::new("duro_csrf", cookie.to_owned()))
            .set_form([("csrf", field), ("tree", "0")])
            .to_request()
    };
    // A page of the server before a restart (another key): out of date, with a clear page.
    let before_restart = app(&setup.config, None).await;
    let (old_cookie, old_token) = csrf(&before_restart, "/tables/").await;
    let forged = format!("{}.{}", "0".repeat(32), "0".repeat(64));
    for (cookie, field) in [
        (old_cookie.value(), old_token.as_str()),
        (forged.as_str(), forged.as_str()),
        ("0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"),
    ] {
        let response = test::call_service(&service, post(cookie, field)).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{cookie}");
        assert!(response.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        let body = text(response).await;
        assert!(body.starts_with("<!doctype html>"), "{body}");
        assert!(body.contains("the page is out of date: reload the page and try again"), "{body}");
    }
    assert!(
        !setup.state().force_requests().unwrap().iter().any(|(t, _)| t == "shop.orders"),
        "refused posts write nothing"
    );

    // Reloading the page with the old cookie hands out a new one that works.
    let response = test::call_service(
        &service,
        test::TestRequest::get().uri("/tables/").cookie(old_cookie.clone()).to_request(),
    )
    .await;
    let fresh = response
        .response()
        .cookies()
        .find(|c| c.name() == "duro_csrf")
        .expect("a new cookie")
        .into_owned();
    assert_ne!(fresh.value(), old_cookie.value());
    let response = test::call_service(&service, post(fresh.value(), fresh.value())).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // The cookie is `Secure` when the request came over HTTPS (as the reverse proxy says).
    for (forwarded, secure) in [(None, false), (Some("http"), false), (Some("https"), true)] {
        let mut request = test::TestRequest::get().uri("/tables/");
        if let Some(value) = forwarded {
            request = request.insert_header(("X-Forwarded-Proto", value));
        }
        let response = test::call_service(&service, request.to_request()).await;
        let cookie =
            response.response().cookies().find(|c| c.name() == "duro_csrf").unwrap().into_owned();
        assert_eq!(cookie.secure().unwrap_or(false), secure, "{forwarded:?}");
        assert!(cookie.http_only().unwrap());
    }
}
