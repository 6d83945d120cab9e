//! The real binary in a real browser: `duro-server` serves a state file filled by the scheduler
//! and creator; `tests/browser/ui.mjs` drives Debian's headless Chromium through playwright-core
//! (click "Update table", see "Scheduled", see a table's chart, click "Update downstream" and
//! "Accept and rebuild", take screenshots into `target/screenshots/`). Then the force requests must be in the state file.
//!
//! Needs `node`, `/usr/bin/chromium` and `tests/browser/node_modules`; `tests/run.sh` installs
//! them.

use duro_core::testing::Cli;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

#[test]
#[allow(clippy::print_stdout, reason = "the browser checks' log is shown with the test's output")]
fn update_table_in_headless_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let browser_dir = root.join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is missing: run `bash tests/run.sh` (or `npm ci --prefix tests/browser`)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: run `bash tests/run.sh` (or `apt-get install chromium`)"
    );

    let setup = crate::common::filled();
    crate::common::record_broken_rule(&setup, "shop.dependent");
    let config = setup.config_file("");
    // Killed when dropped, should the test fail before it is stopped.
    let mut server = Cli::new(env!("CARGO_BIN_EXE_duro-server"))
        .args(["--config", config.to_str().unwrap(), "--bind", "127.0.0.1:0", "--workers", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .start();
    let stdout = server.take_stdout();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("the server prints its address, got {line:?}"))
        .trim_end_matches('/')
        .to_owned();

    let shots = root.join("target/screenshots");
    let output = Cli::new("node")
        .arg(browser_dir.join("ui.mjs"))
        .args([
            &url,
            shots.to_str().unwrap(),
            "shop.orders",
            "shop.summary",
            "shop.report,shop.weekly",
            "shop.dependent",
        ])
        .env("CHROMIUM", &chromium)
        .run();
    let report = output.both();
    println!("{report}");
    assert!(output.status.success(), "the browser checks failed:\n{report}");
    server.kill();

    let requests = setup.state().force_requests().unwrap();
    assert!(
        requests.contains(&("shop.orders".to_owned(), "web UI: update table".to_owned())),
        "the click left a force request: {requests:?}"
    );
    assert_eq!(
        setup.state().row_check_of("shop.dependent").unwrap().1.as_deref(),
        Some("web UI: accept and rebuild"),
        "\"Accept and rebuild\" left a force request accepting a smaller table"
    );
    for table in ["shop.summary", "shop.report", "shop.weekly"] {
        assert!(
            requests.contains(&(
                table.to_owned(),
                "web UI: update downstream of shop.summary".to_owned()
            )),
            "{table} scheduled by \"Update downstream\": {requests:?}"
        );
    }
    for shot in [
        "jobs.png",
        "tables.png",
        "tables-after-update.png",
        "table.png",
        "graph.png",
        "tables-after-downstream.png",
    ] {
        let size = std::fs::metadata(shots.join(shot)).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "{shot} is a real screenshot ({size} bytes)");
    }
}
