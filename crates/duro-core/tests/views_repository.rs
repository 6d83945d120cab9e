//! Reading whole views repositories: every convention, every diagnostic, and Python Duro's
//! file-handling bugs (case-sensitive dependency search, layouts that crashed its scheduler) as
//! regression tests.

use crate::common::{
    README_EXAMPLE, assert_diagnostic, check, has_diagnostic, rendered, repository,
};
use duro_core::catalog::{KindName, TableKind};
use duro_core::config::Dialect;
use duro_core::schedule::{CheckOptions, check_repository};
use duro_core::sql::DependencyMethod;

#[test]
fn readme_example() {
    let checked = check(README_EXAMPLE, false);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let names: Vec<&str> = checked.catalog.tables.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["finances.revenue", "finances.simplified", "first.cities", "first.people", "first.shops"]
    );
    let table = |name: &str| checked.catalog.get(name).unwrap();
    assert_eq!(table("first.cities").interval_minutes, Some(1_440));
    assert_eq!(table("first.shops").interval_minutes, None);
    assert_eq!(table("first.shops").dependencies, ["first.cities"]);
    assert_eq!(table("first.people").dependencies, ["first.shops"]);
    assert_eq!(table("finances.revenue").dependencies, ["first.shops"]);
    assert_eq!(table("first.cities").config.grant_select, ["jane", "john"]);
    assert_eq!(table("first.cities").config.distkey.as_deref(), Some("city"));
    assert_eq!(table("first.cities").config.sortkey, ["city"]);
    assert_eq!(table("first.people").config.grant_select, ["metabase"]);
    assert_eq!(table("finances.revenue").config.grant_select, Vec::<String>::new());
    assert_eq!(table("finances.simplified").config.grant_select, ["metabase"]);
    assert_eq!(
        table("finances.simplified").config.sources["grant_select"],
        "finances/simplified.conf"
    );
    assert_eq!(
        table("first.cities").files,
        ["first/cities — 24h.sql", "first/cities.conf", "first/cities_test.sql"]
    );
    assert!(table("first.cities").tests.as_deref().unwrap().contains("correct_capital_of_france"));
}

/// A table name of 118 bytes: with `_duro_temp` it is one byte over Redshift's limit.
const LONGEST_FOR_REDSHIFT_PLUS_ONE: &str = "first/abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefgh — 1h.sql";

/// A table name of 55 bytes: fine on Redshift, too long for `_duro_temp` on PostgreSQL.
const TOO_LONG_FOR_POSTGRES: &str =
    "first/abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij_long — 1h.sql";

/// The diagnostics of the repository at `path`, checked for a warehouse of `dialect`.
fn checked_for(path: &std::path::Path, dialect: Dialect) -> Vec<String> {
    let checked =
        check_repository(path, &CheckOptions { dialect, ..CheckOptions::default() }).unwrap();
    rendered(&checked)
}

/// The name limits are the configured dialect's (`--dialect` on the command line).
#[test]
fn name_limits_follow_the_dialect() {
    let dir = tempfile::tempdir().unwrap();
    duro_core::testing::write_files(dir.path(), &[(TOO_LONG_FOR_POSTGRES, "select 1")]);
    let with = |dialect| checked_for(dir.path(), dialect);
    assert_eq!(with(Dialect::Redshift), Vec::<String>::new());
    assert_eq!(
        with(Dialect::Postgres),
        [format!(
            "{TOO_LONG_FOR_POSTGRES}: error: the name `abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij_long` is 55 bytes; with `_duro_temp` it exceeds PostgreSQL's 63-byte limit (at most 53 bytes); shorten it"
        )]
    );
}

/// `indexes` is refused at check time on Redshift (it has none) and accepted on PostgreSQL;
/// its columns must be among the table's.
#[test]
fn indexes_follow_the_dialect() {
    let dir = tempfile::tempdir().unwrap();
    duro_core::testing::write_files(
        dir.path(),
        &[
            ("first/t — 1h.sql", "select 1 as a, 2 as b"),
            ("first/t.conf", "indexes=(a), unique (a, b)"),
        ],
    );
    let with = |dialect| checked_for(dir.path(), dialect);
    assert_eq!(with(Dialect::Postgres), Vec::<String>::new());
    assert_eq!(
        with(Dialect::Redshift),
        [
            "first/t.conf: error: `first.t` sets `indexes`, but Redshift has no indexes; remove the key (use `sortkey` and `distkey`)"
        ]
    );
}

/// Two tables whose `indexes` would give an index the same name (one namespace per schema in
/// PostgreSQL) are refused at check time, naming the name and the other table.
#[test]
fn index_names_are_unique_in_a_schema() {
    let dir = tempfile::tempdir().unwrap();
    duro_core::testing::write_files(
        dir.path(),
        &[
            ("first/orders — 1h.sql", "select 1 as customer_id"),
            ("first/orders.conf", "indexes=(customer_id)"),
            ("first/orders_customer — 1h.sql", "select 1 as id"),
            ("first/orders_customer.conf", "indexes=(id)"),
            ("first/other — 1h.sql", "select 1 as id"),
            ("first/other.conf", "indexes=(id)"),
        ],
    );
    assert_eq!(
        checked_for(dir.path(), Dialect::Postgres),
        [
            "first/orders_customer.conf: error: index `(id)` of `first.orders_customer` would be named `orders_customer_id_idx`, which `first.orders` already uses (PostgreSQL keeps table and index names in one namespace per schema); leave the index out or index other columns"
        ]
    );
}

/// Each case: files, whether `--strict`, and an expected diagnostic as printed: what comes before
/// its message (`file: severity` or `file:line: severity`) and a part of the message.
#[test]
fn diagnostics() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], bool, &'a str, &'a str);
    let root = ("first/root — 1h.sql", "select 1 as x");
    let cases: &[Case] = &[
        ("no schema", &[root, ("cities.sql", "select 1")], false, "cities.sql: error", "no schema"),
        (
            "nested folder",
            &[root, ("first/sub/x.sql", "select 1")],
            false,
            "first/sub/x.sql: error",
            "nested folders",
        ),
        (
            "hyphen in name",
            &[root, ("first/my-table.sql", "select 1")],
            false,
            "first/my-table.sql: error",
            "`table` is not an interval",
        ),
        (
            "two definitions",
            &[("first/cities.sql", "select 1 as a"), ("first.cities - 2h.sql", "select 2 as a")],
            false,
            "first/cities.sql: error",
            "has two definitions",
        ),
        (
            "test without table",
            &[root, ("first/ghost_test.sql", "select true")],
            false,
            "first/ghost_test.sql: error",
            "no table definition",
        ),
        (
            "processor without select",
            &[("first/p — 1h.sql", "create table first.p (a int)"), ("first/p.py", "")],
            false,
            "first/p.py: error",
            "has no SELECT",
        ),
        (
            "processor without DDL",
            &[root, ("first/p_select.sql", "select 1 as a"), ("first/p.py", "")],
            false,
            "first/p.py: error",
            "has no CREATE TABLE",
        ),
        (
            "helper script",
            &[root, ("first/utils.py", "")],
            false,
            "first/utils.py: warning",
            "not a processor",
        ),
        (
            "orphan tests beside a helper script",
            &[root, ("first/countries.py", ""), ("first/countries_test.sql", "select true")],
            false,
            "first/countries_test.sql: error",
            "tests for `first.countries`, but no table definition",
        ),
        (
            "orphan config beside a helper script",
            &[root, ("first/countries.py", ""), ("first/countries.conf", "distkey=a")],
            false,
            "first/countries.conf: warning",
            "config for `first.countries`, which no file defines",
        ),
        (
            "two selects for one processor",
            &[
                ("first/p — 1h.sql", "create table first.p (a int)"),
                ("first/p_select.sql", "select 1 as a"),
                ("first.p_select.sql", "select 2 as a"),
                ("first/p.py", ""),
            ],
            false,
            "first/p_select.sql: error",
            "`first.p` has two select files: `first.p_select.sql` and `first/p_select.sql`",
        ),
        (
            "negative interval",
            &[("first/cities — -1h.sql", "select 1")],
            false,
            "first/cities — -1h.sql: error",
            "more than one dash before the interval",
        ),
        (
            "DDL for another table",
            &[
                ("first/p — 1h.sql", "create table first.q (a int)"),
                ("first/p_select.sql", "select 1 as a"),
                ("first/p.py", ""),
            ],
            false,
            "first/p — 1h.sql: error",
            "the DDL creates `first.q`",
        ),
        (
            "DDL that is a select",
            &[
                ("first/p — 1h.sql", "select 1"),
                ("first/p_select.sql", "select 1 as a"),
                ("first/p.py", ""),
            ],
            false,
            "first/p — 1h.sql: error",
            "must hold its `create table first.p (…)`",
        ),
        (
            "root without interval",
            &[("first/a.sql", "select 1")],
            false,
            "first/a.sql: error",
            "has no interval and no table reads it",
        ),
        (
            "cycle, lenient",
            &[
                root,
                ("first/a — 1h.sql", "select * from first.b"),
                ("first/b.sql", "select * from first.a"),
            ],
            false,
            "first/a — 1h.sql: warning",
            "first.a → first.b → first.a",
        ),
        (
            "cycle, strict",
            &[
                root,
                ("first/a — 1h.sql", "select * from first.b"),
                ("first/b.sql", "select * from first.a"),
            ],
            true,
            "first/a — 1h.sql: error",
            "dependency cycle between 2 tables",
        ),
        (
            "cycle nobody reads, without interval",
            &[
                root,
                ("first/a.sql", "select * from first.b"),
                ("first/b.sql", "select * from first.a"),
            ],
            false,
            "first/a.sql: error",
            "none has an interval",
        ),
        (
            "distkey not in output",
            &[("first/t — 1h.sql", "select a, b from x.y"), ("first/t.conf", "distkey=c")],
            false,
            "first/t.conf: error",
            "distkey `c` of `first.t` is not among the output columns",
        ),
        (
            "index column not in output",
            &[
                ("first/t — 1h.sql", "select a, b from x.y"),
                ("first/t.conf", "indexes=(a), (b, c)"),
            ],
            false,
            "first/t.conf: error",
            "indexes `c` of `first.t` is not among the output columns",
        ),
        (
            "inherited sortkey not in output",
            &[("first/t — 1h.sql", "select a from x.y"), ("global.conf", "sortkey=a, z")],
            false,
            "global.conf: error",
            "sortkey `z`",
        ),
        (
            "processor sortkey not in DDL",
            &[
                (
                    "first/p — 1h.sql",
                    "create table first.p (a int encode zstd) compound sortkey (a)",
                ),
                ("first/p_select.sql", "select 1 as a"),
                ("first/p.py", ""),
                ("first/p.conf", "sortkey=b"),
            ],
            false,
            "first/p.conf: error",
            "not among the columns of its CREATE TABLE",
        ),
        (
            "diststyle key without distkey",
            &[root, ("global.conf", "diststyle=key")],
            false,
            "global.conf: error",
            "no `distkey`",
        ),
        (
            "two statements",
            &[("first/t — 1h.sql", "select 1; select 2")],
            false,
            "first/t — 1h.sql:1: error",
            "2 statements",
        ),
        (
            "not a select",
            &[("first/t — 1h.sql", "delete from x.y")],
            false,
            "first/t — 1h.sql: error",
            "not a `select`",
        ),
        (
            "does not parse",
            &[("first/t — 1h.sql", "select a from x.y where (")],
            false,
            "first/t — 1h.sql: warning",
            "scanning its words",
        ),
        (
            "empty definition",
            &[root, ("first/t.sql", " ;\n")],
            false,
            "first/t.sql: error",
            "the file is empty",
        ),
        (
            "bad conf value",
            &[root, ("first/root.conf", "# x\nsnapshots_interval=daily")],
            false,
            "first/root.conf:2: error",
            "`daily` is not an interval",
        ),
        (
            "unknown conf key",
            &[root, ("global.conf", "colour=blue")],
            false,
            "global.conf:1: warning",
            "unknown key `colour`",
        ),
        (
            "conf for unknown table",
            &[root, ("first/ghost.conf", "distkey=a")],
            false,
            "first/ghost.conf: warning",
            "which no file defines",
        ),
        (
            "conf for unknown schema",
            &[root, ("second.conf", "distkey=a")],
            false,
            "second.conf: warning",
            "has no tables",
        ),
        (
            "reads itself",
            &[("first/t — 1h.sql", "select * from first.t")],
            false,
            "first/t — 1h.sql: warning",
            "reads itself",
        ),
        (
            "tests that do not name their table",
            &[
                ("first/t — 1h.sql", "select 1 as x"),
                ("first/t_test.sql", "select count(*) > 0 as ok from t"),
            ],
            false,
            "first/t_test.sql: warning",
            "the tests never name `first.t`",
        ),
        (
            "upper-case extension",
            &[root, ("first/t.SQL", "select 1")],
            false,
            "first/t.SQL: warning",
            "lower case",
        ),
        (
            "requirements without processor",
            &[root, ("first/root_requirements.txt", "")],
            false,
            "first/root_requirements.txt: warning",
            "no processor script",
        ),
        (
            "name too long for Redshift (118 bytes)",
            &[(LONGEST_FOR_REDSHIFT_PLUS_ONE, "select 1")],
            false,
            &format!("{LONGEST_FOR_REDSHIFT_PLUS_ONE}: error"),
            "exceeds Redshift's 127-byte limit (at most 117 bytes)",
        ),
    ];
    for (name, files, strict, head, message) in cases {
        let checked = check(files, *strict);
        let lines = rendered(&checked);
        assert!(
            has_diagnostic(&lines, head, message),
            "{name}: expected `{head}: …{message}…`, got {lines:#?}"
        );
    }
}

#[test]
fn conf_diagnostics_name_the_line() {
    let checked = check(
        &[("first/t — 1h.sql", "select 1 as a"), ("global.conf", "# comment\n\ndistkey a\n")],
        false,
    );
    let global: Vec<String> =
        rendered(&checked).into_iter().filter(|line| line.starts_with("global.conf:")).collect();
    assert_eq!(
        global,
        ["global.conf:3: error: expected `key=value` or `key: value`, found `distkey a`"]
    );
}

#[test]
fn conventions() {
    let checked = check(
        &[
            ("first/a-1h.sql", "select 1 as x"),
            ("first.b – 2h.sql", "select * from first.a"),
            ("first/c\u{a0}—\u{a0}30m.sql", "select * from first.b"),
            ("Second/D — 1W.sql", "select * from FIRST.C"),
            ("first/p — 1h.sql", "create table first.p (country text, capital text)"),
            ("first/p_select.sql", "select * from first.a;"),
            ("first/p.py", "import sys"),
            ("first/p_requirements.txt", "requests==2.0"),
            ("first/x_select — 1h.sql", "select 1 as y"),
        ],
        false,
    );
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
    let intervals: Vec<(&str, Option<u32>)> = checked
        .catalog
        .tables
        .iter()
        .map(|(name, t)| (name.as_str(), t.interval_minutes))
        .collect();
    assert_eq!(
        intervals,
        [
            ("first.a", Some(60)),
            ("first.b", Some(120)),
            ("first.c", Some(30)),
            ("first.p", Some(60)),
            ("first.x_select", Some(60)),
            ("second.d", Some(10_080)),
        ]
    );
    let processor = checked.catalog.get("first.p").unwrap();
    assert_eq!(processor.kind.name(), KindName::Processor);
    let source = processor.kind.processor().unwrap();
    assert_eq!(processor.query, "select * from first.a");
    assert_eq!(processor.dependencies, ["first.a"]);
    assert!(source.ddl.starts_with("create table first.p"));
    assert_eq!(source.requirements.as_deref(), Some("requests==2.0"));
    assert_eq!(
        processor.files,
        ["first/p — 1h.sql", "first/p.py", "first/p_requirements.txt", "first/p_select.sql"]
    );
    assert_eq!(checked.catalog.get("second.d").unwrap().dependencies, ["first.c"]);
}

/// `_select.sql` without a processor is an ordinary table named `…_select`.
#[test]
fn select_file_without_processor_is_a_table() {
    let checked = check(
        &[
            ("first/countries_select — 1h.sql", "select 1 as a"),
            ("first/other_select.sql", "select 1 as b"),
            ("first/z — 1h.sql", "select * from first.other_select"),
        ],
        false,
    );
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
    assert!(checked.catalog.get("first.other_select").is_some());
    assert_eq!(checked.catalog.get("first.other_select").unwrap().kind, TableKind::View);
}

/// Regression (Python Duro): dependency search was case-sensitive, counted names inside
/// block comments, and a `--` inside a string cut the rest of the line.
#[test]
fn regression_dependency_detection() {
    let checked = check(
        &[
            ("first/a — 1h.sql", "select 1 as x"),
            ("first/b — 1h.sql", "select 1 as x"),
            ("first/c — 1h.sql", "select 1 as x"),
            ("first/d — 1h.sql", "select 1 as x"),
            ("first/upper — 1h.sql", "select * from FIRST.A"),
            ("first/block — 1h.sql", "select * from first.a /* join first.b */"),
            ("first/dashes — 1h.sql", "select '--' as s, x from first.c join first.d using (x)"),
            ("first/prefix — 1h.sql", "select * from first.a_raw join xfirst.b using (x)"),
            ("first/quoted — 1h.sql", "select * from \"first\".\"b\""),
        ],
        false,
    );
    let dependencies = |name: &str| checked.catalog.get(name).unwrap().dependencies.clone();
    assert_eq!(dependencies("first.upper"), ["first.a"]);
    assert_eq!(dependencies("first.block"), ["first.a"]);
    assert_eq!(dependencies("first.dashes"), ["first.c", "first.d"]);
    assert_eq!(dependencies("first.prefix"), Vec::<String>::new());
    assert_eq!(dependencies("first.quoted"), ["first.b"]);
    assert!(
        checked.catalog.tables.values().all(|t| t.dependency_method == DependencyMethod::Parsed)
    );
}

#[test]
fn fallback_method_is_recorded() {
    let checked = check(
        &[
            ("first/a — 1h.sql", "select 1 as x"),
            ("first/b — 1h.sql", "select * from first.a where ("),
        ],
        false,
    );
    let table = checked.catalog.get("first.b").unwrap();
    assert_eq!(table.dependency_method, DependencyMethod::Tokens);
    assert_eq!(table.dependencies, ["first.a"]);
}

/// Regression (Python Duro): these layouts crashed its scheduler with untyped
/// errors. Now every one is reported, all in one run, and the good tables still load.
#[test]
fn regression_bad_file_names_are_all_reported() {
    let bad = [
        "first/cities-1h extra.sql",
        "first/sub/deeper.sql",
        "first/first.cities.sql",
        "helper.py",
        "first/my-table.sql",
        "first/my table.sql",
        "cities.sql",
        "first/cities — .sql",
    ];
    let mut files: Vec<(&str, &str)> = bad.iter().map(|path| (*path, "select 1")).collect();
    files.push(("first/good — 1h.sql", "select 1 as x"));
    let checked = check(&files, false);
    let lines = rendered(&checked);
    for path in bad {
        let head = format!("{path}: error: ");
        assert!(lines.iter().any(|line| line.starts_with(&head)), "{path}: {lines:#?}");
    }
    assert!(checked.catalog.get("first.good").is_some());
}

#[test]
fn hidden_files_and_git_are_ignored_and_order_is_stable() {
    let files = [
        (".git/config", "[core]"),
        (".git/x.sql", "not sql"),
        (".hidden.sql", "nonsense"),
        ("first/.draft — 1h.sql", "nonsense"),
        ("first/b — 1h.sql", "select 1 as x"),
        ("first/a — 1h.sql", "select 1 as x"),
        ("README.md", "# views"),
    ];
    let dir = repository(&files);
    let first = check_repository(dir.path(), &CheckOptions::default()).unwrap();
    let second = check_repository(dir.path(), &CheckOptions::default()).unwrap();
    assert!(first.diagnostics.is_empty(), "{:#?}", first.diagnostics);
    assert_eq!(first.catalog, second.catalog);
    assert_eq!(first.catalog.tables.keys().collect::<Vec<_>>(), ["first.a", "first.b"]);
}

#[test]
fn unreadable_content_is_a_diagnostic() {
    let dir = repository(&[("first/a — 1h.sql", "select 1 as x")]);
    std::fs::write(dir.path().join("first/b — 1h.sql"), b"select 1\n-- caf\xe9\n").unwrap();
    let checked = check_repository(dir.path(), &CheckOptions::default()).unwrap();
    let lines: Vec<String> = rendered(&checked)
        .into_iter()
        .filter(|line| line.starts_with("first/b — 1h.sql:"))
        .collect();
    assert_eq!(lines, ["first/b — 1h.sql:2: error: the file is not valid UTF-8; save it as UTF-8"]);
}

#[cfg(unix)]
#[test]
fn non_utf8_file_names_are_a_diagnostic() {
    use std::os::unix::ffi::OsStrExt;
    let dir = repository(&[("first/a — 1h.sql", "select 1 as x")]);
    std::fs::write(
        dir.path().join("first").join(std::ffi::OsStr::from_bytes(b"b\xff.sql")),
        "select 1",
    )
    .unwrap();
    let checked = check_repository(dir.path(), &CheckOptions::default()).unwrap();
    // The name is shown with U+FFFD in place of the byte that is not UTF-8.
    assert_diagnostic(&checked, "first/b\u{fffd}.sql: error", "not valid UTF-8");
}

#[test]
fn a_missing_views_folder_is_an_error_not_a_panic() {
    let error =
        check_repository(std::path::Path::new("/nonexistent/views"), &CheckOptions::default())
            .unwrap_err();
    assert!(error.to_string().contains("`/nonexistent/views` does not exist"), "{error}");
}

/// Whatever bytes are in the folder, loading returns (never panics).
#[test]
fn arbitrary_bytes_never_panic() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet: Vec<char> = "ab_.-— \u{a0}/;=+#\"'()*\n\t1hmdw€".chars().collect();
    let extensions =
        [".sql", ".conf", ".py", "_test.sql", "_select.sql", "_requirements.txt", ".txt"];
    for _ in 0..30 {
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..20 {
            let length = 1 + next() as usize % 12;
            let mut name: String = (0..length)
                .map(|_| alphabet[next() as usize % alphabet.len()])
                .filter(|c| *c != '\n')
                .collect();
            name.push_str(extensions[next() as usize % extensions.len()]);
            let name = name.trim_start_matches('/').replace("//", "/");
            let path = dir.path().join(&name);
            let content: Vec<u8> = (0..next() % 200).map(|_| next() as u8).collect();
            if std::fs::create_dir_all(path.parent().unwrap()).is_ok() && !path.is_dir() {
                let _ = std::fs::write(&path, &content);
            }
        }
        let checked = check_repository(
            dir.path(),
            &CheckOptions { strict: next() % 2 == 0, ..CheckOptions::default() },
        )
        .unwrap();
        assert!(checked.catalog.len() <= 20);
    }
}

/// Replication node files are read and checked at schedule time, each problem with its file
/// and line: the definition, two producers of one table, an interval that disagrees with the
/// file name, a target DDL without a node, near-miss names, an unknown `depends_on`. A good
/// node is a catalog table of kind `replication`, which the views reading it depend on.
#[test]
fn replication_node_files_are_checked() {
    let good = "source: app\nsource_table: public.users\nstrategy: timed\n";
    let checked = check(
        &[
            ("analytics/users — 1h.replication.yml", good),
            ("analytics/users.ddl.sql", "create table analytics.users (id int, email text)"),
            ("analytics/users_test.sql", "select count(*) > 0 from analytics.users"),
            (
                "analytics/events.replication.yml",
                "source: app\nsource_table: public.events\nstrategy: identity\nlookback: 5s\ncolour: blue\n",
            ),
            (
                "analytics/tags — 1h.replication.yml",
                "source: app\nsource_table: public.tags\nstrategy: full\ninterval: 2h\n",
            ),
            ("analytics/shops.replication.yml", good),
            ("analytics/shops — 1h.sql", "select 1 as id"),
            ("analytics/orders.ddl.sql", "create table analytics.orders (id int)"),
            ("analytics/items.replication.yaml.bak", good),
            (
                "analytics/visits — 1h.replication.yml",
                "source: app\nsource_table: public.visits\nstrategy: full\ndepends_on: [raw.nothing]\n",
            ),
            ("reports/daily — 1d.sql", "select count(*) as users from analytics.users"),
        ],
        false,
    );
    let lines = rendered(&checked);
    assert_diagnostic(
        &checked,
        "analytics/events.replication.yml:5: error",
        "unknown field `colour`",
    );
    assert_diagnostic(
        &checked,
        "analytics/tags — 1h.replication.yml:4: error",
        "`interval`: 2h disagrees with the file name's 1h",
    );
    assert_diagnostic(
        &checked,
        "analytics/shops.replication.yml: error",
        "`analytics.shops` is produced by two files: `analytics/shops — 1h.sql` and `analytics/shops.replication.yml`",
    );
    assert_diagnostic(
        &checked,
        "analytics/orders.ddl.sql: error",
        "the target DDL of a replication node, but there is no `analytics/orders.replication.yml`",
    );
    assert_diagnostic(
        &checked,
        "analytics/items.replication.yaml.bak: warning",
        "looks like a replication node",
    );
    assert_diagnostic(
        &checked,
        "analytics/visits — 1h.replication.yml: error",
        "`depends_on` names `raw.nothing`, which no file of the repository defines",
    );
    assert!(
        !lines.iter().any(|line| line.starts_with("analytics/users") && line.contains("error")),
        "{lines:#?}"
    );
    let users = checked.catalog.get("analytics.users").unwrap();
    assert_eq!(users.kind.name(), KindName::Replication);
    let source = users.kind.replication().unwrap();
    assert_eq!(source.spec.source_table.to_string(), "public.users");
    assert_eq!(
        source.target_ddl.as_deref(),
        Some("create table analytics.users (id int, email text)")
    );
    assert_eq!(users.tests.as_deref(), Some("select count(*) > 0 from analytics.users"));
    assert_eq!(users.interval_minutes, Some(60));
    assert_eq!(checked.catalog.get("reports.daily").unwrap().dependencies, ["analytics.users"]);
}

/// S3 load node files are read and checked at schedule time, each problem with its file and
/// line: the definition, a second producer, a DDL file beside one, near-miss names. A good node
/// is a catalog table of kind `s3_load` with its tests, which the views reading it depend on.
#[test]
fn s3_load_node_files_are_checked() {
    let good = "bucket: analytics\ndata_date_column: day\ncolumns: [{name: day, type: date}, {name: hits, type: int}]\n";
    let checked = check(
        &[
            ("raw/pages — 30m.s3.yml", good),
            ("raw/pages_test.sql", "select count(*) > 0 from raw.pages"),
            (
                "raw/clicks.s3.yml",
                "bucket: analytics\ndata_date_column: day\ncolumns: [{name: day, type: 'date; drop'}]\n",
            ),
            ("raw/shops.s3.yml", good),
            ("raw/shops — 1h.sql", "select 1 as id"),
            ("raw/visits — 1h.s3.yaml", good),
            ("raw/visits.ddl.sql", "create table raw.visits (id int)"),
            ("raw/hits.S3.yml", good),
            ("raw/later — 1h.s3.yml", format!("{good}depends_on: [raw.pages]\n").as_str()),
            ("reports/daily — 1d.sql", "select count(*) as days from raw.pages"),
        ],
        false,
    );
    assert_diagnostic(&checked, "raw/clicks.s3.yml:3: error", "is not a column type");
    assert_diagnostic(
        &checked,
        "raw/shops.s3.yml: error",
        "`raw.shops` is produced by two files: `raw/shops — 1h.sql` and `raw/shops.s3.yml`",
    );
    assert_diagnostic(
        &checked,
        "raw/visits.ddl.sql: error",
        "`raw.visits` is an S3 load node, whose table comes from its `columns`",
    );
    assert_diagnostic(&checked, "raw/hits.S3.yml: warning", "looks like an S3 load node");
    let pages = checked.catalog.get("raw.pages").unwrap();
    assert_eq!(pages.kind.name(), KindName::S3Load);
    assert_eq!(pages.kind.s3_load().unwrap().dataset, "raw_pages");
    assert_eq!((pages.interval_minutes, pages.tests.is_some()), (Some(30), true));
    assert_eq!(checked.catalog.get("reports.daily").unwrap().dependencies, ["raw.pages"]);
    assert_eq!(checked.catalog.get("raw.later").unwrap().dependencies, ["raw.pages"]);
}

/// Sources: tables catalog tables read that no file defines, from parsed queries only; CTE
/// names, system schemas and Redshift's system relations never are; unqualified names are in
/// `public`.
#[test]
fn sources_are_what_parsed_queries_read_outside_the_catalog() {
    let checked = check(
        &[
            (
                "s/a — 1h.sql",
                "with recent as (select * from raw.events) select * from recent join users using (id)",
            ),
            (
                "s/b — 1h.sql",
                "select * from s.a, pg_catalog.pg_class, information_schema.tables, stl_query, svv_table_info, sys_query_history, pg_namespace",
            ),
            (
                "s/c — 1h.sql",
                "select * from raw.events e where e.id in (select id from raw.clicks)",
            ),
            ("s/d — 1h.sql", "select from where raw.hidden"),
        ],
        false,
    );
    let sources: Vec<(String, Vec<String>)> =
        checked.catalog.sources().into_iter().map(|s| (s.name, s.read_by)).collect();
    assert_eq!(
        sources,
        [
            ("public.users".to_owned(), vec!["s.a".to_owned()]),
            ("raw.clicks".to_owned(), vec!["s.c".to_owned()]),
            ("raw.events".to_owned(), vec!["s.a".to_owned(), "s.c".to_owned()]),
        ]
    );
    assert_diagnostic(
        &checked,
        "s/d — 1h.sql: warning",
        "the tables it reads outside the catalog are not listed as sources",
    );
}

/// `skip_unchanged` on a query calling a time or random function is a warning, and is not
/// applied to it; on other tables it is.
#[test]
fn skip_unchanged_is_not_applied_to_a_clock() {
    let checked = check(
        &[
            ("s.conf", "skip_unchanged = true\n"),
            ("s/clock — 1h.sql", "select getdate() as t"),
            ("s/plain — 1h.sql", "select 1 as id"),
        ],
        false,
    );
    assert_diagnostic(
        &checked,
        "s.conf: warning",
        "`s.clock` calls `getdate`, so its data changes without its inputs: `skip_unchanged` is not applied to it",
    );
    assert_eq!(checked.catalog.get("s.clock").unwrap().config.skip_unchanged, Some(false));
    assert_eq!(checked.catalog.get("s.plain").unwrap().config.skip_unchanged, Some(true));
}
