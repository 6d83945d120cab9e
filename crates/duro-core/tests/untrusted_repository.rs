//! The views repository is untrusted input: only regular files inside it are read, never more
//! than `views.max_file_size`, and text that could run more than its one intended statement is
//! a check-time error naming the file and line. Each case is a regression test of an attack or
//! fault found at an earlier version.

use crate::common::{assert_diagnostic, check, repository};
use duro_core::schedule::{CheckOptions, CheckedRepository, check_repository};
use std::os::unix::fs::symlink;
use std::time::{Duration, Instant};

/// The error diagnostics of a file, rendered (`file:line: error: message`).
fn errors_of(checked: &CheckedRepository, file: &str) -> Vec<String> {
    checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error() && d.file.as_deref() == Some(file))
        .map(ToString::to_string)
        .collect()
}

/// Symlinks leading out of the repository, as a view, a test, a config, a processor script and
/// its requirements: errors, and not a byte of the target reaches the catalog.
#[test]
fn symlinks_leading_outside_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, "DURO_WAREHOUSE__PASSWORD=hunter2").unwrap();
    let dir = repository(&[
        ("leak/t — 1h.sql", "select 1 as a"),
        ("leak/p_select.sql", "select 1 as a"),
        ("leak/p — 1h.sql", "create table leak.p (a int)"),
        ("inside/real — 1h.sql", "select 2 as b"),
        ("leak/n — 1h.replication.yml", "source: app\nsource_table: public.n\nstrategy: full\n"),
    ]);
    let root = dir.path();
    for link in [
        "leak/t_test.sql",
        "leak/v — 1h.sql",
        "leak/t.conf",
        "leak/p.py",
        "leak/p_requirements.txt",
        "leak/r — 1h.replication.yml",
        "leak/n.ddl.sql",
        "leak/s — 1h.s3.yml",
    ] {
        symlink(&secret, root.join(link)).unwrap();
    }
    symlink("/proc/self/environ", root.join("leak/e — 1h.sql")).unwrap();
    // A symlink that stays inside keeps working.
    symlink("real — 1h.sql", root.join("inside/alias — 1h.sql")).unwrap();
    let checked = check_repository(root, &CheckOptions::default()).unwrap();
    for file in [
        "leak/t_test.sql",
        "leak/v — 1h.sql",
        "leak/t.conf",
        "leak/p.py",
        "leak/p_requirements.txt",
        "leak/r — 1h.replication.yml",
        "leak/n.ddl.sql",
        "leak/s — 1h.s3.yml",
        "leak/e — 1h.sql",
    ] {
        assert_diagnostic(&checked, &format!("{file}: error"), "points outside the repository");
    }
    let catalog = format!("{:?}", checked.catalog);
    assert!(!catalog.contains("hunter2"), "{catalog}");
    assert_eq!(
        checked.catalog.get("inside.alias").map(|t| t.query.as_str()),
        Some("select 2 as b")
    );
}

/// A FIFO (which blocked the scheduler forever) and a socket are errors, found at once.
#[test]
fn fifos_and_sockets_are_not_read() {
    let dir = repository(&[("s/t — 1h.sql", "select 1 as a")]);
    let root = dir.path();
    let made =
        std::process::Command::new("mkfifo").arg(root.join("s/t_test.sql")).status().unwrap();
    assert!(made.success());
    let _socket = std::os::unix::net::UnixListener::bind(root.join("s/u — 1h.sql")).unwrap();
    let started = Instant::now();
    let checked = check_repository(root, &CheckOptions::default()).unwrap();
    assert!(started.elapsed() < Duration::from_secs(30), "blocked on the FIFO");
    assert_diagnostic(&checked, "s/t_test.sql: error", "is not a regular file");
    assert_diagnostic(&checked, "s/u — 1h.sql: error", "is not a regular file");
}

#[test]
fn files_larger_than_the_limit_are_errors() {
    let dir = repository(&[
        ("s/big — 1h.sql", &format!("select 1 as a -- {}", "x".repeat(2_000))),
        ("s/small — 1h.sql", "select 1 as a"),
    ]);
    let checked = check_repository(
        dir.path(),
        &CheckOptions { max_file_size: 1_000, ..CheckOptions::default() },
    )
    .unwrap();
    assert_diagnostic(&checked, "s/big — 1h.sql: error", "views.max_file_size");
    assert!(checked.catalog.get("s.small").is_some());
}

/// Regression: a `.conf` saved with a byte-order mark lost its first key.
#[test]
fn a_byte_order_mark_keeps_the_first_key() {
    let checked = check(
        &[
            ("s/t — 1h.sql", "\u{feff}select 1 as a"),
            ("s/t.conf", "\u{feff}grant_select-=metabase\ngrant_select+=jane\n"),
            ("global.conf", "grant_select=metabase\n"),
        ],
        false,
    );
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let table = checked.catalog.get("s.t").unwrap();
    assert_eq!(table.config.grant_select, ["jane"]);
    assert_eq!(table.query, "select 1 as a");
}

/// Regression: a NUL byte passed the check, then every build failed as a retried connection error.
#[test]
fn a_nul_byte_is_an_error() {
    let checked = check(&[("s/t — 1h.sql", "select 1 as a\n, 2 as b\0")], false);
    assert_diagnostic(&checked, "s/t — 1h.sql:2: error", "NUL byte");
}

/// Regression: files five or more folders deep were silently ignored.
#[test]
fn folders_too_deep_are_reported() {
    let checked = check(
        &[("s/t — 1h.sql", "select 1 as a"), ("a/b/c/d/e/f — 1h.sql", "select 1 as a")],
        false,
    );
    assert_diagnostic(&checked, "a/b/c/d/e: error", "nested folders");
}

/// Regression: `timeout=30d` passed every check, then every PostgreSQL build failed.
#[test]
fn timeouts_longer_than_a_warehouse_allows_are_errors() {
    let checked = check(&[("s/t — 1h.sql", "select 1 as a"), ("s/t.conf", "timeout=30d\n")], false);
    assert_diagnostic(&checked, "s/t.conf:1: error", "at most 2147483 s");
}

/// Text that would close the statement Duro wraps it in, or carry a second one, is an error at
/// its line even when it does not parse; so is a test that is not one read-only query.
#[test]
fn more_than_one_statement_is_an_error() {
    let checked = check(
        &[
            (
                "s/v — 1h.sql",
                "select 1 as a); drop table victim.k1; create table victim.pwned as (select current_user::text as who",
            ),
            ("s/w — 1h.sql", "select 1 as a\n-- fine so far\n)"),
            ("s/p_select.sql", "select 1 as a;\ndrop table victim.k1"),
            ("s/p.py", "print(1)"),
            ("s/p — 1h.sql", "drop table victim.k1;\ncreate table s.p (a int)"),
            ("s/q_select.sql", "select 1 as a"),
            ("s/q.py", "print(1)"),
            ("s/q — 1h.sql", "create table s.q (a int);\n\ndrop table victim.k1"),
            ("s/r — 1h.replication.yml", "source: app\nsource_table: public.r\nstrategy: full\n"),
            ("s/r.ddl.sql", "create table s.r (a int);\n\ndrop table victim.k1"),
            ("s/t — 1h.sql", "select 1 as a"),
            (
                "s/t_test.sql",
                "select count(*) = 1 as one from s.t;\ndrop table victim.k1;\nwith gone as (delete from victim.k1 returning *) select true from gone, s.t;\nselect true as copied into victim.copy from s.t",
            ),
        ],
        false,
    );
    assert_diagnostic(&checked, "s/v — 1h.sql:1: error", "a second statement");
    assert_diagnostic(&checked, "s/w — 1h.sql:3: error", "never opened");
    assert_diagnostic(&checked, "s/p_select.sql:2: error", "2 statements");
    assert_diagnostic(&checked, "s/p — 1h.sql:2: error", "a second statement");
    assert_diagnostic(&checked, "s/q — 1h.sql:3: error", "a second statement");
    assert_diagnostic(&checked, "s/r.ddl.sql:3: error", "a second statement");
    assert_diagnostic(&checked, "s/t_test.sql:2: error", "test 2 is not a query");
    assert_diagnostic(&checked, "s/t_test.sql:3: error", "test 3 contains `delete`");
    assert_diagnostic(&checked, "s/t_test.sql:4: error", "test 4 contains `into`");
    assert_eq!(errors_of(&checked, "s/t_test.sql").len(), 3);
}
