//! Every page and endpoint, in process, against a state file filled by the real scheduler and
//! creator: content, bad input (4xx with a message, never 500), escaping, CSRF, auth, the
//! base path.

use crate::common::http::{app, csrf, get, json, text};
use actix_web::http::{StatusCode, header};
use actix_web::test;
use base64::Engine;
use duro_core::config::AuthMode;
use duro_core::testing::setup::Setup;

#[actix_web::test]
async fn jobs_page_over_every_range_form() {
    let setup = crate::common::shared();
    let service = app(&setup.config, None).await;
    let (status, body) = get(&service, "/").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<svg"), "the timeline");
    // The last 30 minutes: the latest builds, not the first cycle's (its history is older).
    for table in ["shop.summary", "shop.broken"] {
        assert!(body.contains(&format!("href=\"/tables/{table}\"")), "{table} in the jobs list");
    }
    assert!(!body.contains("href=\"/tables/shop.orders\""));
    assert!(body.contains("Last 24 h:"), "header stats");
    for (uri, empty) in [
        ("/2020-01-19T20:30:00/", false),
        ("/2020-01-19T20:30:00", false),
        ("/?from=2020-01-19T20:30:00Z", false),
        ("/2020-01-19T20:30:00/2020-01-19T20:40:00", true),
        ("/2020-01-19T20:30:00/2020-01-19T20:40:00/", true),
        ("/?from=2020-01-19T20:30:00Z&to=2020-01-19T20:40:00Z", true),
    ] {
        let (status, body) = get(&service, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert_eq!(body.contains("No builds in this range"), empty, "{uri}");
        assert_eq!(!body.contains("href=\"/tables/shop.orders\""), empty, "{uri}");
    }
    let (status, body) = get(&service, "/yesterday/").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("is not a time"), "{body}");
    let (status, body) = get(&service, "/2020-01-19T20:40:00/2020-01-19T20:30:00").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("put the earlier time first"), "{body}");
    let (status, _) = get(&service, "/a/b/c").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn tables_page_lists_statuses_escapes_errors_and_sorts() {
    let setup = crate::common::shared();
    let service = app(&setup.config, None).await;
    let (status, body) = get(&service, "/tables/").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let row = |name: &str| {
        let start =
            body.find(&format!("<tr id=\"row-{name}\"")).unwrap_or_else(|| panic!("{name} listed"));
        let end = start + body[start..].find("</tr>").unwrap();
        body[start..end].to_owned()
    };
    assert!(row("shop.orders").contains("badge fresh"));
    assert!(
        row("shop.orders").contains(">Update table<")
            && row("shop.orders").contains(">Update tree<")
    );
    assert!(row("shop.broken").contains("badge failed"));
    assert!(
        row("shop.broken").contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        row("shop.broken")
    );
    assert!(!body.contains("<script>alert(1)"), "never unescaped");
    assert!(
        row("shop.dependent").contains("badge failed"),
        "skipped because its dependency failed"
    );
    assert!(row("shop.old").contains("badge removed") && row("shop.old").contains(">Removed<"));

    let (_, filtered) = get(&service, "/tables/?q=ORDERS").await;
    assert!(filtered.contains("row-shop.orders") && !filtered.contains("row-shop.summary"));
    let (_, failed) = get(&service, "/tables/?status=failed").await;
    assert!(failed.contains("row-shop.broken") && !failed.contains("row-shop.orders"));
    let (_, sorted) = get(&service, "/tables/?sort=name&order=desc").await;
    let weekly = sorted.find("row-shop.weekly").unwrap();
    let broken = sorted.find("row-shop.broken").unwrap();
    assert!(weekly < broken, "descending by name");
    let (_, linked) = get(&service, "/tables/?q=shop%20o&sort=name").await;
    assert!(
        linked.contains("href=\"/tables/?q=shop+o&amp;sort=name&amp;order=desc\""),
        "the sorted column's header link reverses the order and keeps the filter"
    );
    assert!(linked.contains("href=\"/tables/?q=shop+o&amp;sort=interval&amp;order=asc\""));
    for bad in [
        "/tables/?sort=bogus",
        "/tables/?status=sleepy",
        "/tables/?order=up",
        "/tables/?limit=lots",
    ] {
        let (status, body) = get(&service, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body.contains("use"), "{bad}: says what is accepted: {body}");
    }
    let response =
        test::call_service(&service, test::TestRequest::get().uri("/tables").to_request()).await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.headers().get(header::LOCATION).unwrap(), "/tables/");
}

#[actix_web::test]
async fn table_page_shows_chart_runs_query_config_and_neighbours() {
    let setup = crate::common::shared();
    let service = app(&setup.config, None).await;
    let (status, body) = get(&service, "/tables/shop.summary").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"durations\"") && body.contains("<polyline"), "duration chart");
    assert!(body.contains("select count(*) as orders from shop.orders"), "the query");
    assert!(body.contains("href=\"/tables/shop.orders\""), "upstream link");
    assert!(body.contains("href=\"/tables/shop.report\""), "downstream link");
    assert!(body.contains("badge succeeded"), "the run log");
    assert!(body.contains("create_temp") && body.contains("swap"), "phases");

    let (status, broken) = get(&service, "/tables/shop.broken").await;
    assert_eq!(status, StatusCode::OK);
    assert!(broken.contains("sql_error"));
    assert!(broken.contains("&lt;script&gt;") && !broken.contains("<script>alert"));

    let (status, missing) = get(&service, "/tables/nope.nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(missing.contains("no table `nope.nothing`"), "{missing}");
    let (status, odd) = get(&service, "/tables/%3Cb%3E").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(odd.contains("&lt;b&gt;") && !odd.contains("<b>"), "{odd}");
}

#[actix_web::test]
async fn graph_page_links_every_table() {
    let setup = crate::common::shared();
    let service = app(&setup.config, None).await;
    let (status, body) = get(&service, "/graph").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for table in ["shop.orders", "shop.summary", "shop.report", "shop.weekly", "shop.broken"] {
        assert!(
            body.contains(&format!("<a href=\"/tables/{table}\"")),
            "{table} links to its page"
        );
    }
    assert!(!body.contains("href=\"/tables/shop.old\""), "removed tables are not drawn");
}

#[actix_web::test]
async fn api_reads() {
    let setup = crate::common::shared();
    let service = app(&setup.config, None).await;
    let (status, body) = get(&service, "/api/tables").await;
    assert_eq!(status, StatusCode::OK);
    let tables = json(&body);
    let by_name = |name: &str| {
        tables
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}"))
    };
    assert_eq!(by_name("shop.orders")["status"], "fresh");
    assert_eq!(by_name("shop.orders")["interval_minutes"], 60);
    assert!(by_name("shop.orders")["last_success_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(by_name("shop.broken")["status"], "failed");
    assert_eq!(by_name("shop.broken")["failure_class"], "sql_error");
    assert_eq!(by_name("shop.old")["status"], "removed");
    let (_, failed) = get(&service, "/api/tables?status=failed&sort=name").await;
    let names: Vec<String> = json(&failed)
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["shop.broken", "shop.dependent"]);

    let (status, body) = get(&service, "/api/tables/shop.orders").await;
    assert_eq!(status, StatusCode::OK);
    let detail = json(&body);
    assert_eq!(detail["row"]["name"], "shop.orders");
    assert_eq!(detail["downstream"], serde_json::json!(["shop.summary"]));
    let run = &detail["runs"][0];
    assert_eq!(run["state"], "succeeded");
    assert_eq!(run["rows"], 5);
    assert!(run["phases"].as_array().unwrap().iter().any(|p| p["name"] == "swap"));

    let (status, body) = get(&service, "/api/jobs").await;
    assert_eq!(status, StatusCode::OK);
    let jobs = json(&body);
    assert!(
        jobs["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["table"] == "shop.summary" && j["state"] == "succeeded")
    );
    let (status, body) =
        get(&service, "/api/jobs?from=2020-01-19%2020:30:00+01:00&to=2020-01-20").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(json(&body)["from"], "2020-01-19T19:30:00Z", "an unencoded + in the offset");
    assert_eq!(json(&body)["jobs"], serde_json::json!([]));

    let (status, body) = get(&service, "/api/stats").await;
    assert_eq!(status, StatusCode::OK);
    let stats = json(&body);
    assert!(stats["tables"].as_i64().unwrap() >= 5, "{stats}");
    assert!(stats["failures"].as_i64().unwrap() >= 1, "{stats}");
    assert!(stats["load_percent"].as_f64().unwrap() >= 0.0);

    for (uri, expected) in [
        ("/api/jobs?from=soon", StatusCode::BAD_REQUEST),
        ("/api/jobs?from=2020-01-02&to=2020-01-01", StatusCode::BAD_REQUEST),
        ("/api/tables/nope.nothing", StatusCode::NOT_FOUND),
        ("/api/tables?sort=size", StatusCode::BAD_REQUEST),
        ("/api/nothing", StatusCode::NOT_FOUND),
    ] {
        let (status, body) = get(&service, uri).await;
        assert_eq!(status, expected, "{uri}: {body}");
        assert!(json(&body)["error"].as_str().is_some_and(|e| !e.is_empty()), "{uri}: {body}");
    }
}

#[actix_web::test]
async fn metrics_and_health() {
    let setup = crate::common::shared();
    let service = app(&setup.config, None).await;
    let (status, body) = get(&service, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("duro_tables{status=\"removed\"} 1\n"), "{body}");
    assert!(body.contains("duro_tables{status=\"failed\"} 2\n"), "{body}");
    // Every cycle retried the broken table and skipped its dependent.
    let state = setup.state();
    let failed = state.builds("shop.broken").unwrap().len();
    let skipped = state.builds("shop.dependent").unwrap().len();
    assert!(failed >= 1 && failed == skipped);
    assert!(
        body.contains(&format!(
            "duro_build_failures_total{{class=\"sql_error\",outcome=\"failed\"}} {failed}\n"
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "duro_build_failures_total{{class=\"dependency_failed\",outcome=\"skipped\"}} {skipped}\n"
        )),
        "{body}"
    );
    assert!(body.contains("duro_build_duration_seconds_count"), "{body}");
    assert!(body.contains("duro_table_last_build_seconds{table=\"shop.orders\"}"), "{body}");
    let (status, body) = get(&service, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("ok"));
}

#[actix_web::test]
async fn api_force_checks_its_input_and_schedules_the_tree() {
    let setup = crate::common::filled();
    let service = app(&setup.config, None).await;
    // The failed tables keep the scheduler's `new` requests.
    let before = setup.state().force_requests().unwrap();
    assert_eq!(
        before.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["shop.broken", "shop.dependent"]
    );
    let post = |uri: &str, content_type: &str, body: &str| {
        test::TestRequest::post()
            .uri(uri)
            .insert_header((header::CONTENT_TYPE, content_type.to_owned()))
            .set_payload(body.to_owned())
            .to_request()
    };
    for (request, expected) in [
        (
            post("/api/tables/shop.report/force", "text/plain", "{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            post("/api/tables/shop.report/force", "application/json", "{\"tree\": \"yes\"}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            post("/api/tables/shop.report/force", "application/json", "{\"tre\": true}"),
            StatusCode::BAD_REQUEST,
        ),
        (post("/api/tables/shop.report/force", "application/json", "[1"), StatusCode::BAD_REQUEST),
        (post("/api/tables/nope.nothing/force", "application/json", "{}"), StatusCode::NOT_FOUND),
        (post("/api/tables/shop.old/force", "application/json", "{}"), StatusCode::CONFLICT),
    ] {
        let response = test::call_service(&service, request).await;
        let status = response.status();
        let body = text(response).await;
        assert_eq!(status, expected, "{body}");
        assert!(json(&body)["error"].is_string(), "{body}");
    }
    assert_eq!(setup.state().force_requests().unwrap(), before, "bad requests write nothing");

    let response = test::call_service(
        &service,
        post("/api/tables/shop.report/force", "application/json", "{\"tree\": true}"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(&text(response).await);
    assert_eq!(
        body["scheduled"],
        serde_json::json!(["shop.orders", "shop.report", "shop.summary"])
    );
    let forced: Vec<String> =
        setup.state().force_requests().unwrap().into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        forced,
        ["shop.broken", "shop.dependent", "shop.orders", "shop.report", "shop.summary"]
    );

    let response =
        test::call_service(&service, post("/api/tables/shop.weekly/force", "application/json", ""))
            .await;
    assert_eq!(response.status(), StatusCode::OK, "an empty body means one table");
    let (_, weekly) = get(&service, "/api/tables/shop.weekly").await;
    assert_eq!(json(&weekly)["row"]["status"], "forced");
    assert_eq!(json(&weekly)["row"]["forced_reason"], "API: update table");
}

#[actix_web::test]
async fn form_force_needs_the_csrf_token_and_redirects_back() {
    let setup = crate::common::filled();
    let service = app(&setup.config, None).await;
    let (cookie, token) = csrf(&service, "/tables/").await;
    let form = |token: &str| {
        vec![
            ("csrf".to_owned(), token.to_owned()),
            ("tree".to_owned(), "0".to_owned()),
            ("back".to_owned(), "/tables/?q=orders".to_owned()),
        ]
    };
    // No cookie, a wrong token, or a token without its cookie: refused, nothing written.
    for request in [
        test::TestRequest::post()
            .uri("/tables/shop.orders/force")
            .set_form(form(&token))
            .to_request(),
        test::TestRequest::post()
            .uri("/tables/shop.orders/force")
            .cookie(cookie.clone())
            .set_form(form(&"0".repeat(32)))
            .to_request(),
    ] {
        let response = test::call_service(&service, request).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(text(response).await.contains("CSRF"));
    }
    let before = setup.state().force_requests().unwrap();
    assert!(!before.iter().any(|(t, _)| t == "shop.orders"));

    let response = test::call_service(
        &service,
        test::TestRequest::post()
            .uri("/tables/shop.orders/force")
            .cookie(cookie.clone())
            .set_form(form(&token))
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers().get(header::LOCATION).unwrap(), "/tables/?q=orders");
    let after = setup.state().force_requests().unwrap();
    assert!(
        after.contains(&("shop.orders".to_owned(), "web UI: update table".to_owned())),
        "{after:?}"
    );
    let (_, page) = get(&service, "/tables/?q=orders").await;
    assert!(page.contains(">Scheduled<"), "the button shows the new state");

    // An outside `back` is never followed.
    let mut evil = form(&token);
    evil[2].1 = "https://evil.example/".to_owned();
    let response = test::call_service(
        &service,
        test::TestRequest::post()
            .uri("/tables/shop.summary/force")
            .cookie(cookie)
            .set_form(evil)
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers().get(header::LOCATION).unwrap(), "/tables/");
}

#[actix_web::test]
async fn writes_need_credentials_when_auth_is_configured() {
    let setup = crate::common::shared();
    let mut config = setup.config.clone();
    config.server.auth = AuthMode::Token;
    config.server.token = Some("s3cret-token".into());
    let service = app(&config, None).await;
    let request = |authorization: Option<&str>| {
        let mut request = test::TestRequest::post()
            .uri("/api/tables/nope.nothing/force")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload("{}");
        if let Some(value) = authorization {
            request = request.insert_header((header::AUTHORIZATION, value.to_owned()));
        }
        request.to_request()
    };
    let response = test::call_service(&service, request(None)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    let response = test::call_service(&service, request(Some("Bearer wrong"))).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // The right token gets through to the next check (the table does not exist).
    let response = test::call_service(&service, request(Some("Bearer s3cret-token"))).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let basic =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("me:s3cret-token"));
    let response = test::call_service(&service, request(Some(&basic))).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Reads stay open.
    let (status, _) = get(&service, "/api/tables").await;
    assert_eq!(status, StatusCode::OK);

    // The HTML form: a valid CSRF token is not enough without credentials.
    let (cookie, token) = csrf(&service, "/tables/").await;
    let response = test::call_service(
        &service,
        test::TestRequest::post()
            .uri("/tables/shop.orders/force")
            .cookie(cookie)
            .set_form([("csrf", token.as_str()), ("tree", "0")])
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn everything_lives_under_the_base_path() {
    let setup = crate::common::shared();
    let service = app(&setup.config, Some("/tools/duro/")).await;
    let (status, body) = get(&service, "/tools/duro/tables/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("href=\"/tools/duro/tables/shop.orders\""));
    assert!(body.contains("formaction=\"/tools/duro/tables/shop.orders/force\""));
    assert!(body.contains("href=\"/tools/duro/static/style.css\""));
    let (status, _) = get(&service, "/tools/duro/api/tables").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(&service, "/tools/duro/healthz").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(&service, "/tables/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let response = test::call_service(
        &service,
        test::TestRequest::get().uri("/tools/duro/tables").to_request(),
    )
    .await;
    assert_eq!(response.headers().get(header::LOCATION).unwrap(), "/tools/duro/tables/");
}

#[actix_web::test]
async fn a_running_build_shows_as_running() {
    let setup: Setup = crate::common::filled();
    let mut state = setup.state();
    let now = duro_core::clock::now_ms();
    let started = state.begin_build("shop.weekly", "test-worker", now, 60_000, now).unwrap();
    assert!(matches!(started, duro_core::state::BuildStart::Started(_)));
    let service = app(&setup.config, None).await;
    let (_, body) = get(&service, "/api/tables/shop.weekly").await;
    assert_eq!(json(&body)["row"]["status"], "running");
    let (_, jobs) = get(&service, "/api/jobs").await;
    assert!(
        json(&jobs)["jobs"].as_array().unwrap().iter().any(|j| j["table"] == "shop.weekly"
            && j["state"] == "running"
            && j["finish"].is_null())
    );
    let (_, stats) = get(&service, "/api/stats").await;
    assert_eq!(json(&stats)["running"], 1);
    let (_, page) = get(&service, "/tables/?q=weekly").await;
    assert!(page.contains(">Running<"));
}

/// A replication node's page and JSON show what it copies, its watermark and each run's state
/// and bounds (the source here is a schema of the warehouse's own database).
#[actix_web::test]
async fn a_replication_node_shows_its_source_watermark_and_runs() {
    let setup = std::thread::spawn(|| {
        let mut setup = Setup::new(
            &[
                (
                    "app/events — 1h.replication.yml",
                    "source: app\nsource_table: src.events\nstrategy: identity\n",
                ),
                ("app/events.ddl.sql", "create table app.events (id integer, name text)"),
            ],
            "create schema app; create schema src;
             create table src.events (id integer primary key, name text);
             insert into src.events values (1, 'one'), (2, 'two');",
        );
        setup.config.connections.insert(
            "app".into(),
            duro_core::config::SourceConnection {
                url: Some(setup.url.as_str().into()),
                tls: Some(duro_core::config::TlsMode::Disable),
                ..Default::default()
            },
        );
        let report = setup.cycle();
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        setup
    })
    .join()
    .unwrap();
    let service = app(&setup.config, None).await;
    let (status, body) = get(&service, "/tables/app.events").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<dd>replication</dd>"), "the kind");
    assert!(
        body.contains("<code>src.events</code> from <code>app</code>, identity by <code>id</code>"),
        "what it copies: {body}"
    );
    assert!(body.contains("<dt>Watermark</dt><dd><code>2</code></dd>"), "the watermark");
    assert!(body.contains("imported, up to <code>2</code>"), "the run's state and bounds");
    assert!(body.contains("connect_source") && body.contains("import"), "the run's phases");

    let (status, body) = get(&service, "/api/tables/app.events").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let detail = json(&body);
    assert_eq!(detail["row"]["kind"], "replication");
    assert_eq!(detail["replication"]["watermark"], "2");
    assert_eq!(detail["replication"]["strategy"], "identity");
    assert_eq!(detail["runs"][0]["replication"]["state"], "imported");
    assert_eq!(detail["runs"][0]["replication"]["hi"], "2");
    assert_eq!(detail["runs"][0]["rows"], 2);
}

/// An S3 load node's page and JSON show where it reads, the file it loaded last and the newest
/// data date, and each run's file.
#[actix_web::test]
async fn an_s3_load_node_shows_its_last_file_and_data_date() {
    let files = tempfile::tempdir().unwrap();
    let root = files.path().to_owned();
    let setup = std::thread::spawn(move || {
        std::fs::write(
            root.join("raw_pages_2015-07-03T00:00:00Z.json"),
            "{\"id\": 1, \"day\": \"2015-07-03\"}\n",
        )
        .unwrap();
        let mut setup = Setup::new(&[], "create schema raw");
        setup.config.s3.load_file_roots = vec![root.clone()];
        let node = format!(
            "bucket: file://{}\ndata_date_column: day\ncolumns: [{{name: id, type: int}}, {{name: day, type: date}}]\n",
            root.display()
        );
        setup.write(&[("raw/pages — 1h.s3.yml", &node)]);
        setup.schedule();
        let report = setup.cycle();
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        setup
    })
    .join()
    .unwrap();
    let file = format!("file://{}/raw_pages_2015-07-03T00:00:00Z.json", files.path().display());
    let service = app(&setup.config, None).await;
    let (status, body) = get(&service, "/tables/raw.pages").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<dd>s3_load</dd>"), "the kind: {body}");
    assert!(body.contains(&format!("<dd id=\"last-file\"><code>{file}</code>")), "{body}");
    assert!(body.contains("<dd id=\"data-date\"><code>2015-07-03T00:00:00Z</code></dd>"), "{body}");
    let (status, body) = get(&service, "/api/tables/raw.pages").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let detail = json(&body);
    assert_eq!(detail["row"]["kind"], "s3_load");
    assert_eq!(detail["s3_load"]["last_file"], file.as_str());
    assert_eq!(detail["s3_load"]["data_date"], "2015-07-03T00:00:00Z");
    assert_eq!(detail["s3_load"]["mode"], "append");
    assert_eq!(detail["runs"][0]["s3_load"]["files"][0], file.as_str());
    assert_eq!(detail["runs"][0]["rows"], 1);
}

/// Sources (tables the catalog reads that no file defines): their page and JSON with the
/// tables that read them, a 404 naming anything else, a link from each reader's page, and a
/// dashed box on the graph.
#[actix_web::test]
async fn sources_have_a_page_an_api_and_a_place_on_the_graph() {
    let setup = std::thread::spawn(|| {
        Setup::new(
            &[
                ("shop/orders — 1h.sql", "select * from raw.orders"),
                (
                    "shop/summary — 1h.sql",
                    "select count(*) as n from shop.orders join raw.orders using (id)",
                ),
            ],
            "",
        )
    })
    .join()
    .unwrap();
    let service = app(&setup.config, None).await;
    let (status, body) = get(&service, "/api/sources/raw.orders").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        json(&body),
        serde_json::json!({"name": "raw.orders", "read_by": ["shop.orders", "shop.summary"]})
    );
    let (_, body) = get(&service, "/api/sources").await;
    assert_eq!(json(&body).as_array().unwrap().len(), 1);
    let (status, body) = get(&service, "/api/sources/shop.orders").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        json(&body)["error"].as_str().unwrap().contains("`shop.orders` is not a source"),
        "{body}"
    );
    let (status, body) = get(&service, "/sources/raw.orders").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<dd id=\"read-by\"><a href=\"/tables/shop.orders\">shop.orders</a>, <a href=\"/tables/shop.summary\">shop.summary</a></dd>"), "{body}");
    let (status, _) = get(&service, "/sources/raw.nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, body) = get(&service, "/tables/shop.summary").await;
    assert!(
        body.contains("<dd id=\"sources\"><a href=\"/sources/raw.orders\">raw.orders</a></dd>"),
        "{body}"
    );
    let (_, body) = get(&service, "/graph").await;
    assert!(body.contains("1 sources"), "{body}");
    assert!(
        body.contains("stroke-dasharray=\"4 2\"") && body.contains("href=\"/sources/raw.orders\""),
        "{body}"
    );
}

/// `POST /api/tables/<name>/force` with `{"downstream": true}` schedules the table and every
/// table that reads it, directly or not; asking for the tree and the downstream at once is a
/// 400; every table row offers "Update downstream".
#[actix_web::test]
async fn forcing_downstream_through_the_api() {
    let setup = crate::common::filled();
    let service = app(&setup.config, None).await;
    let post_json = |uri: &'static str, body: &'static str| {
        let request = test::TestRequest::post()
            .uri(uri)
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload(body)
            .to_request();
        let service = &service;
        async move {
            let response = test::call_service(service, request).await;
            (response.status(), text(response).await)
        }
    };
    let (status, body) =
        post_json("/api/tables/shop.summary/force", r#"{"downstream": true}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer = json(&body);
    assert_eq!(
        answer["scheduled"],
        serde_json::json!(["shop.report", "shop.summary", "shop.weekly"])
    );
    assert_eq!(answer["downstream"], true);
    let (status, body) =
        post_json("/api/tables/shop.summary/force", r#"{"downstream": true, "tree": true}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("ask for one of `tree`"), "{body}");
    let (_, page) = get(&service, "/tables/").await;
    assert!(page.contains(">Update downstream<"), "the tables page offers it");
}

/// `/graph?focus=…&depth=N` draws one table's neighbourhood, N steps each way (2 by default),
/// linked from every table page; an unknown table is a 404 and a bad depth a 400. A catalog
/// far over the full graph's limit is browsed this way.
#[actix_web::test]
async fn the_graph_around_one_table() {
    let setup = crate::common::shared();
    let service = app(&setup.config, None).await;
    let nodes = |body: &str| -> Vec<String> {
        let mut found: Vec<String> = body
            .split("class=\"node-link\"><title>")
            .skip(1)
            .map(|rest| rest.split(':').next().unwrap().to_owned())
            .collect();
        found.sort();
        found
    };
    let (status, body) = get(&service, "/graph?focus=shop.report&depth=1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(nodes(&body), ["shop.report", "shop.summary", "shop.weekly"]);
    let (_, body) = get(&service, "/graph?focus=shop.report").await;
    assert_eq!(nodes(&body), ["shop.orders", "shop.report", "shop.summary", "shop.weekly"]);
    assert!(body.contains("depth=3\">One step further</a>"), "{body}");
    let (status, _) = get(&service, "/graph?focus=shop.nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = get(&service, "/graph?focus=shop.report&depth=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("depth must be a whole number from 1 to 10"), "{body}");
    let (_, body) = get(&service, "/tables/shop.report").await;
    assert!(body.contains("<a id=\"neighbourhood\" href=\"/graph?focus=shop.report\">"), "{body}");

    let big = std::thread::spawn(|| {
        let files: Vec<(String, String)> = (0..1_000)
            .map(|n| {
                let body = match n {
                    0 => "select 1 as id".to_owned(),
                    _ => format!("select id from big.t{}", n - 1),
                };
                (format!("big/t{n} — 1h.sql"), body)
            })
            .collect();
        let files: Vec<(&str, &str)> =
            files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
        Setup::new(&files, "")
    })
    .join()
    .unwrap();
    let service = app(&big.config, None).await;
    let (_, body) = get(&service, "/graph").await;
    assert!(body.contains("The graph shows the first 400 tables"), "the full graph is cut");
    let (status, body) = get(&service, "/graph?focus=big.t500&depth=3").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(nodes(&body).len(), 7, "{:?}", nodes(&body));
}

/// A table's page and JSON list its row-count rules and its plan cost. After a build broke a
/// rule, the page offers "Accept and rebuild": a write under the CSRF rule, like the API's
/// `{"accept_row_drop": true}`, which schedules the table alone accepting a smaller version.
#[actix_web::test]
async fn a_table_lists_its_row_count_rules_and_offers_to_accept() {
    let setup = std::thread::spawn(|| {
        Setup::new(
            &[
                ("s/t — 1h.sql", "select 1 as id"),
                ("s/t.conf", "min_rows = 1\nmax_row_drop = 20%\nmax_cost = 5000\n"),
                ("s/reader — 1h.sql", "select id from s.t"),
            ],
            "",
        )
    })
    .join()
    .unwrap();
    let service = app(&setup.config, None).await;
    let (status, body) = get(&service, "/tables/s.t").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<dd id=\"row-rules\">min_rows=1, max_row_drop=20%:"), "{body}");
    assert!(
        body.contains("<dd id=\"plan-cost\">not asked yet; limit <code>max_cost=5000</code>"),
        "{body}"
    );
    assert!(!body.contains("Accept and rebuild"), "offered only after a broken rule");
    let (_, body) = get(&service, "/api/tables/s.t").await;
    assert_eq!(json(&body)["row_rules"], serde_json::json!(["min_rows=1", "max_row_drop=20%"]));

    crate::common::record_broken_rule(&setup, "s.t");
    let state = setup.state();
    let (_, body) = get(&service, "/tables/s.t").await;
    assert!(body.contains("<dd id=\"plan-cost\">1234.5 at the last build that asked"), "{body}");
    assert!(body.contains("plan cost 1234.5"), "the run shows its cost");
    assert!(body.contains("</span> validation_failed</td>"), "the run shows its class");
    assert!(body.contains("id=\"accept-row-drop\""), "{body}");
    assert_eq!(json(&get(&service, "/api/tables/s.t").await.1)["runs"][0]["plan_cost"], 1234.5);

    // The button's form: refused without the CSRF token, then scheduled accepting the drop.
    let (cookie, token) = csrf(&service, "/tables/s.t").await;
    let form = |token: &str| {
        vec![
            ("csrf".to_owned(), token.to_owned()),
            ("accept_row_drop".to_owned(), "1".to_owned()),
            ("back".to_owned(), "/tables/s.t".to_owned()),
        ]
    };
    let refused = test::TestRequest::post().uri("/tables/s.t/force").set_form(form(&token));
    assert_eq!(
        test::call_service(&service, refused.to_request()).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(state.row_check_of("s.t").unwrap().1, None);
    let accepted =
        test::TestRequest::post().uri("/tables/s.t/force").cookie(cookie).set_form(form(&token));
    let response = test::call_service(&service, accepted.to_request()).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(state.row_check_of("s.t").unwrap().1.as_deref(), Some("web UI: accept and rebuild"));
    assert_eq!(state.row_check_of("s.reader").unwrap().1, None, "the table alone");

    // The API: the same request; combined with another scope it is refused.
    let post_json = |body: &'static str| {
        test::TestRequest::post()
            .uri("/api/tables/s.t/force")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload(body)
            .to_request()
    };
    let response = test::call_service(&service, post_json(r#"{"accept_row_drop": true}"#)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer = json(&text(response).await);
    assert_eq!(
        (answer["accept_row_drop"].clone(), answer["scheduled"].clone()),
        (serde_json::json!(true), serde_json::json!(["s.t"]))
    );
    let response =
        test::call_service(&service, post_json(r#"{"accept_row_drop": true, "downstream": true}"#))
            .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}
