//! Tidy: rules about the source tree itself, checked over every file of the workspace.
//!
//! - Every Rust file starts with a `//!` comment saying what it is.
//! - Each database driver appears only in the modules allowed to use it: `rusqlite` for the
//!   state file, the `postgres` crate in the warehouse, refresh and creator layers, and every
//!   driver in `sources/`, the place for source-database adapters. Test support may use them to
//!   set up and inspect; the binaries use none directly.
//! - Library code in `duro-core` never prints (`println!`, `eprintln!`): it logs. The one
//!   exception is `startup.rs`, which reports a program's fatal error.
//! - The schema version ARCHITECTURE.md names is the number of migrations.
//!
//! Each rule is a function over (path, text) pairs, and each has cases below showing it fails
//! when the rule is broken.

use std::path::{Path, PathBuf};

/// A database driver crate and where it may be named, as path prefixes from the workspace root.
struct Driver {
    name: &'static str,
    allowed_in: &'static [&'static str],
}

const SOURCES: &str = "crates/duro-core/src/sources/";
const TEST_SUPPORT: &str = "crates/duro-core/src/testing";

const DRIVERS: &[Driver] = &[
    Driver {
        name: "rusqlite",
        allowed_in: &["crates/duro-core/src/state/", SOURCES, TEST_SUPPORT],
    },
    Driver {
        name: "postgres",
        allowed_in: &[
            "crates/duro-core/src/warehouse/",
            "crates/duro-core/src/refresh/",
            "crates/duro-core/src/replication/",
            "crates/duro-core/src/creator/",
            SOURCES,
            TEST_SUPPORT,
        ],
    },
    Driver { name: "mysql", allowed_in: &[SOURCES, TEST_SUPPORT] },
];

/// Where the driver rule applies: library and binary sources (tests, examples and benchmarks
/// may use a driver to set up and inspect).
fn is_product_source(path: &str) -> bool {
    path.starts_with("crates/") && path.contains("/src/")
}

/// Whether `text` names the crate `name` as a path (`name::…`), not as part of a longer name
/// (`tokio_postgres::`).
fn names_crate(text: &str, name: &str) -> bool {
    let pattern = format!("{name}::");
    text.match_indices(&pattern).any(|(at, _)| {
        text[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

fn missing_module_docs(files: &[(String, String)]) -> Vec<String> {
    files
        .iter()
        .filter(|(_, text)| !text.trim_start().starts_with("//!"))
        .map(|(path, _)| format!("{path}: no `//!` comment at the top"))
        .collect()
}

fn drivers_out_of_place(files: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in files.iter().filter(|(path, _)| is_product_source(path)) {
        for driver in DRIVERS {
            let allowed = driver.allowed_in.iter().any(|place| path.starts_with(place));
            if !allowed && names_crate(text, driver.name) {
                found.push(format!(
                    "{path}: uses `{}` outside {:?}",
                    driver.name, driver.allowed_in
                ));
            }
        }
    }
    found
}

/// The library module that reports a program's fatal error on the terminal.
const STARTUP: &str = "crates/duro-core/src/startup.rs";

fn prints_in_the_library(files: &[(String, String)]) -> Vec<String> {
    files
        .iter()
        .filter(|(path, _)| path.starts_with("crates/duro-core/src/") && path != STARTUP)
        .filter(|(_, text)| text.contains("println!") || text.contains("eprintln!"))
        .map(|(path, _)| format!("{path}: prints; library code logs through `tracing`"))
        .collect()
}

/// The version in ARCHITECTURE.md's "The state file (schema version N)" heading.
fn documented_schema_version(architecture: &str) -> Option<usize> {
    let (_, rest) = architecture.split_once("## The state file (schema version ")?;
    rest.split(')').next()?.trim().parse().ok()
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `crates/`, as (path from the workspace root, text).
fn rust_files() -> Vec<(String, String)> {
    let root = workspace_root();
    let mut files = Vec::new();
    let mut folders = vec![root.join("crates")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() && name != "target" && name != "node_modules" {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
                files.push((relative, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn the_tree_is_tidy() {
    let files = rust_files();
    assert!(files.len() > 50, "found only {} files", files.len());
    let mut problems = missing_module_docs(&files);
    problems.extend(drivers_out_of_place(&files));
    problems.extend(prints_in_the_library(&files));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn architecture_names_the_schema_version() {
    let text = std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).unwrap();
    assert_eq!(documented_schema_version(&text), Some(duro_core::state::SCHEMA_VERSION));
}

fn files(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect()
}

#[test]
fn each_rule_fails_when_broken() {
    let undocumented = files(&[
        ("crates/duro-core/src/a.rs", "//! Fine.\nfn a() {}"),
        ("crates/duro-core/src/b.rs", "// Not a module doc.\nfn b() {}"),
    ]);
    assert_eq!(
        missing_module_docs(&undocumented),
        ["crates/duro-core/src/b.rs: no `//!` comment at the top"]
    );

    let drivers = files(&[
        ("crates/duro-core/src/state/mod.rs", "use rusqlite::Connection;"),
        ("crates/duro-core/src/plan.rs", "fn f(c: &rusqlite::Connection) {}"),
        ("crates/duro-core/src/warehouse/catalog.rs", "use postgres::GenericClient;"),
        ("crates/duro-server/src/load.rs", "let c = postgres::Client::connect(url, NoTls);"),
        (
            "crates/duro-core/src/warehouse/connection.rs",
            "use tokio_postgres_rustls::MakeRustlsConnect;",
        ),
        ("crates/duro-core/src/sources/mysql.rs", "use mysql::Pool; use rusqlite::Connection;"),
        ("crates/duro-core/src/refresh/x.rs", "use mysql::Pool;"),
        ("crates/duro-create/tests/cli.rs", "use rusqlite::Connection;"),
    ]);
    let found = drivers_out_of_place(&drivers);
    let paths: Vec<&str> = found.iter().map(|f| f.split(':').next().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "crates/duro-core/src/plan.rs",
            "crates/duro-server/src/load.rs",
            "crates/duro-core/src/refresh/x.rs"
        ],
        "{found:?}"
    );

    let printing = files(&[
        ("crates/duro-core/src/plan.rs", "println!(\"x\");"),
        ("crates/duro-schedule/src/report.rs", "println!(\"x\");"),
        (STARTUP, "eprintln!(\"x\");"),
        ("crates/duro-core/src/startup/more.rs", "eprintln!(\"x\");"),
    ]);
    assert_eq!(prints_in_the_library(&printing).len(), 2);

    assert_eq!(documented_schema_version("# A\n## The state file (schema version 12)\n"), Some(12));
    assert_eq!(documented_schema_version("# A\n## The state file\n"), None);
}

/// The README's table of `.conf` keys names every key of `CONF_KEYS`, and no other.
#[test]
fn the_readme_documents_every_conf_key() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let (_, table) = readme.split_once("### Table configs (`.conf`)").unwrap();
    let documented: Vec<&str> = table
        .lines()
        .skip_while(|line| !line.starts_with("| key"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| line.split('`').nth(1))
        .collect();
    let known: Vec<&str> =
        duro_core::catalog::conf_keys::CONF_KEYS.iter().map(|k| k.name).collect();
    assert_eq!(documented, known);
}
