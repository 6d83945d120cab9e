//! `duro-create` as supervisor and people run it: the dry run, `--once` and `--table` exit codes,
//! and `kill -9` at random points never leaving a live table missing.

use crate::support::Setup;
use duro_core::testing::Cli;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

fn config_file(setup: &Setup) -> PathBuf {
    setup.config_file("creator:\n  retries: 0\n")
}

/// The binary with `--config config` (and no `DURO_*` variable but those the test sets).
fn duro_create(config: &Path) -> Cli {
    Cli::new(env!("CARGO_BIN_EXE_duro-create")).arg("--config").arg(config)
}

#[test]
fn dry_run_prints_the_plan_without_building() {
    let setup = Setup::example();
    let config = config_file(&setup);
    let output = duro_create(&config).arg("--dry-run").run();
    output.code(0);
    let text = &output.stdout;
    let position =
        |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle} missing in {text}"));
    assert!(
        position(". first.cities (forced (new); rules min_rows=1, max_row_drop=50%)")
            < position(". first.shops (forced (new); skipped")
    );
    assert!(
        position(". first.cities (")
            < position(". first.countries (forced (new); skipped if a table it reads fails)")
    );
    assert_eq!(
        setup.scalar::<i64>(
            "select count(*) from pg_tables where schemaname = 'first' and tablename = 'cities'"
        ),
        0
    );
}

#[test]
fn once_and_table_exit_codes() {
    let setup = Setup::new(
        &[
            ("s/good — 1d.sql", "select 1 as x"),
            ("s/bad — 1d.sql", "select 1 as x"),
            ("s/bad_test.sql", "select false as never"),
        ],
        "create schema s",
    );
    let config = config_file(&setup);
    let output = duro_create(&config).arg("--once").run();
    output.code(1);
    let text = &output.stdout;
    assert!(text.contains("built s.good (1 rows"), "{text}");
    assert!(
        text.contains(
            "failed s.bad (test_failed): tests failed for `s.bad`: test 1 fails in `never` (NULL, false, zero or empty)"
        ),
        "{text}"
    );

    let output = duro_create(&config).args(["--table", "s.good"]).run();
    output.code(0);
    assert!(output.stdout.contains("built s.good"));

    let output = duro_create(&config).args(["--table", "s.nope"]).run();
    output.code(2);
    assert!(output.stderr.contains("`s.nope` is not in the catalog"));

    let output = duro_create(&config).arg("--with-deps").run();
    assert_eq!(output.status.code(), Some(2), "--with-deps needs --table: {output}");
}

#[test]
fn with_deps_builds_stale_dependencies_first() {
    let setup = Setup::new(
        &[
            ("s/base.sql", "select 1 as x"),
            ("s/top — 1d.sql", "select x from s.base"),
            ("s/other — 1d.sql", "select 2 as y"),
        ],
        "create schema s",
    );
    let config = config_file(&setup);
    let output = duro_create(&config).args(["--table", "s.top", "--with-deps"]).run();
    output.code(0);
    let text = &output.stdout;
    assert!(text.find("built s.base").unwrap() < text.find("built s.top").unwrap(), "{text}");
    assert!(!text.contains("s.other"), "{text}");
}

/// A small xorshift generator, so the kill points differ but every run is reproducible.
fn kill_points(count: usize) -> Vec<u64> {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    (0..count)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % 1_200
        })
        .collect()
}

/// Starts `duro-create --once --jobs 2` and kills it with SIGKILL after `delay_ms`.
fn kill_dash_nine_after(config: &Path, delay_ms: u64) {
    let child = duro_create(config)
        .args(["--once", "--jobs", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .start();
    std::thread::sleep(Duration::from_millis(delay_ms));
    child.kill();
}

#[test]
fn kill_dash_nine_never_leaves_a_live_table_missing() {
    let tables = ["a", "b", "c", "d"];
    let setup = Setup::new(
        &[
            ("s/a — 1d.sql", "select 1 as x from (select pg_sleep(0.15)) as p"),
            ("s/b — 1d.sql", "select x from s.a, (select pg_sleep(0.1)) as p"),
            ("s/c — 1d.sql", "select 3 as x from (select pg_sleep(0.2)) as p"),
            ("s/d — 1d.sql", "select x from s.b, (select pg_sleep(0.05)) as p"),
            ("s/c_test.sql", "select count(*) = 1 as one_row from s.c"),
        ],
        "create schema s; create view s.c_view as select 0 as x",
    );
    assert!(setup.cycle().failed.is_empty());
    setup.client().batch_execute("create or replace view s.b_view as select x from s.b").unwrap();
    let config = config_file(&setup);
    let live_count = |setup: &Setup| -> i64 {
        setup.scalar("select count(*) from pg_tables where schemaname = 's' and tablename in ('a', 'b', 'c', 'd')")
    };
    for (run_number, delay) in kill_points(20).into_iter().enumerate() {
        for table in tables {
            setup.force(&format!("s.{table}"));
        }
        kill_dash_nine_after(&config, delay);
        assert_eq!(
            live_count(&setup),
            4,
            "run {run_number}: a live table is missing after kill -9 at {delay} ms"
        );
        for table in tables {
            setup.scalar::<i64>(&format!("select count(*) from s.{table}"));
        }
        assert_eq!(
            setup.scalar::<i64>("select count(*) from s.b_view"),
            1,
            "run {run_number}: the bound view broke"
        );
    }
    // The next start cleans up and builds everything.
    duro_create(&config).arg("--once").run().code(0);
    assert_eq!(setup.scalar::<i64>("select count(*) from pg_tables where tablename like '%duro_temp' or tablename like '%duro_old'"), 0);
    let state = setup.client_state();
    let running: i64 = state
        .query_row("select count(*) from builds where outcome = 'running'", [], |r| r.get(0))
        .unwrap();
    let leases: i64 = state.query_row("select count(*) from leases", [], |r| r.get(0)).unwrap();
    assert_eq!((running, leases), (0, 0));
}

/// `--once` and `--table` cannot do their job without the warehouse: exit 2 (environment), not
/// 1 (a build failed), for an unreachable server and for a malformed URL.
#[test]
fn an_unreachable_warehouse_exits_2() {
    let setup = Setup::new(&[("s/t — 1d.sql", "select 1 as x")], "create schema s");
    for url in ["postgres://duro@127.0.0.1:1/nowhere", "postgres://duro@127.0.0.1:notaport/x"] {
        let config = setup.config_file("");
        for args in [&["--once"][..], &["--table", "s.t"][..]] {
            let output = duro_create(&config)
                .args(args)
                .env("DURO_WAREHOUSE__URL", url)
                .env("DURO_WAREHOUSE__CONNECT_TIMEOUT", "2")
                .run();
            assert_eq!(output.status.code(), Some(2), "{url} {args:?}: {output}");
        }
    }
}

/// After `kill -9` during slow builds, the warehouse still runs the dead creator's statements;
/// the restarted creator ends them first, so none of its builds fails.
#[test]
fn restarts_after_kill_dash_nine_during_slow_builds_never_fail() {
    let setup = Setup::new(
        &[
            ("s/a — 1d.sql", "select 1 as x from (select pg_sleep(1.5)) as p"),
            ("s/b — 1d.sql", "select 2 as x from (select pg_sleep(1.5)) as p"),
        ],
        "create schema s",
    );
    let config = config_file(&setup);
    for (run_number, delay) in kill_points(20).into_iter().enumerate() {
        for table in ["s.a", "s.b"] {
            setup.force(table);
        }
        kill_dash_nine_after(&config, delay);
        let output = duro_create(&config).args(["--once", "--jobs", "2"]).run();
        let text = &output.stdout;
        assert_eq!(
            output.status.code(),
            Some(0),
            "run {run_number} (killed at {delay} ms): {output}"
        );
        assert!(!text.contains("failed"), "run {run_number}: {text}");
    }
    let state = setup.client_state();
    let failed: i64 = state
        .query_row(
            "select count(*) from builds where outcome = 'failed' and failure_class != 'cancelled'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(failed, 0, "only the killed builds are closed, as interrupted");
}

/// Two creators starting at once, with leftovers of a crash: the one cleaning up takes each
/// table's lease first, so it never drops what the other is building.
#[test]
fn two_creators_starting_together_never_disturb_each_other() {
    let names = ["a", "b", "c", "d"];
    let files: Vec<(String, String)> = names
        .iter()
        .map(|name| {
            (
                format!("s/{name} — 1d.sql"),
                format!("select '{name}' as x from (select pg_sleep(0.4)) as p"),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> =
        files.iter().map(|(path, text)| (path.as_str(), text.as_str())).collect();
    let setup = Setup::new(&files, "create schema s");
    let config = config_file(&setup);
    for round in 0..3 {
        let leftovers: Vec<String> = names
            .iter()
            .map(|name| format!("create table s.{name}_duro_temp as select 0 as leftover"))
            .collect();
        setup.client().batch_execute(&leftovers.join(";")).unwrap();
        for name in names {
            setup.force(&format!("s.{name}"));
        }
        let children: Vec<_> = (0..2)
            .map(|_| {
                duro_create(&config)
                    .args(["--once", "--jobs", "2"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .start()
            })
            .collect();
        for child in children {
            let output = child.wait();
            let text = &output.stdout;
            assert_eq!(output.status.code(), Some(0), "round {round}: {output}");
            assert!(!text.contains("failed"), "round {round}: {text}");
        }
        for name in names {
            assert_eq!(
                setup.scalar::<String>(&format!("select x from s.{name}")),
                name,
                "round {round}"
            );
        }
    }
}

/// `--check-warehouse`: one line per probe and exit 0 on a warehouse that works; as a user
/// without `create` on the schema, the table probe fails with what to grant, the probes that
/// need its table are skipped, exit 1. No probe object is left either way.
#[test]
fn check_warehouse_reports_each_probe() {
    let setup = Setup::new(
        &[("s/t — 1d.sql", "select 1 as a")],
        "create schema s; create schema locked; create role prober login;
         grant usage on schema locked to prober;",
    );
    let config = config_file(&setup);
    let probe_objects = || {
        setup.scalar::<i64>("select count(*) from pg_class where relname like 'duro\\_probe\\_%'")
    };
    let output = duro_create(&config).arg("--check-warehouse").run();
    output.code(0);
    let lines: Vec<&str> = output.stdout.lines().collect();
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l.split_once(':').unwrap().0.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["ok", "ok", "ok", "ok", "ok", "ok", "ok", "skipped", "skipped", "ok"],
        "{lines:#?}"
    );
    assert!(lines[0].starts_with("ok       connect: PostgreSQL "), "{lines:#?}");
    assert!(
        output.stdout.contains("ok       create, swap and replace a table: built `s.duro_probe_")
    );
    assert!(output.stdout.contains("skipped  COPY from S3: S3 is not configured"));
    assert_eq!(probe_objects(), 0);

    let output = duro_create(&config)
        .args(["--check-warehouse", "--schema", "locked"])
        .env("DURO_WAREHOUSE__URL", setup.url.replacen("duro@", "prober@", 1))
        .run();
    output.code(1);
    let text = &output.stdout;
    assert!(
        text.contains("failed   create, swap and replace a table: permission denied for schema locked; the warehouse user needs `create` and `usage` on schema `locked`"),
        "{text}"
    );
    assert!(text.contains("skipped  views re-pointed: needs the probe table"), "{text}");
    assert!(text.contains("ok       cleanup"), "{text}");
    assert_eq!(probe_objects(), 0);

    let output = duro_create(&config).args(["--check-warehouse", "--schema", "Not A Schema"]).run();
    output.code(1);
    assert!(output.stdout.starts_with("failed   schema: "), "{}", output.stdout);
}

/// A team coming from the original Duro: its `config.conf` (`[main]`, `[redshift]`, `[slack]`
/// with an incoming webhook) drives `duro-schedule` and then `duro-create --once` on
/// views-example; the environment points it at the local PostgreSQL, as the README says.
/// Slack receives the rescheduled views, the built tables and the periodic message.
#[test]
fn the_original_config_conf_runs_the_example_end_to_end() {
    let setup = Setup::example();
    let (slack, requests) = duro_core::testing::http::answering("200 OK", "text/html", "ok");
    let warehouse: postgres::Config = setup.url.parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("config.conf");
    std::fs::write(
        &conf,
        format!(
            "[main]\nviews = {views}\nlogs = ./logs\ndb = ./duro.db\ngraph = dependencies.dot\nuse_git = no\n\n\
             [redshift]\nhost = 127.0.0.1\nport = {port}\ndatabase = {database}\nuser = duro\n\n\
             [slack]\nurl = {slack}/services/T0/B0/XYZ\nchannel = #duro\nfailure_channel = #alerts\n",
            views = setup.views.display(),
            port = warehouse.get_ports()[0],
            database = warehouse.get_dbname().unwrap(),
        ),
    )
    .unwrap();
    let local = [("DURO_WAREHOUSE__DIALECT", "postgres"), ("DURO_WAREHOUSE__TLS", "disable")];
    // Built by `cargo test --workspace` (tests/run.sh) beside this crate's binary.
    let schedule = Path::new(env!("CARGO_BIN_EXE_duro-create")).with_file_name("duro-schedule");
    assert!(schedule.is_file(), "{} is missing: build it (tests/run.sh does)", schedule.display());
    let output =
        Cli::new(&schedule).arg("--config").arg(&conf).envs(local).current_dir(dir.path()).run();
    output.code(0);
    assert!(output.stderr.contains("`[main] graph` ignored"), "{}", output.both());
    let output = duro_create(&conf).arg("--once").envs(local).current_dir(dir.path()).run();
    output.code(0);
    assert!(output.stdout.contains("built first.cities"), "{}", output.both());
    assert!(setup.scalar::<i64>("select count(*) from first.cities") > 0);

    let mut messages = Vec::new();
    while let Ok(request) = requests.recv_timeout(Duration::from_secs(2)) {
        assert_eq!(request.request_line, "POST /services/T0/B0/XYZ HTTP/1.1");
        let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
        messages.push((body["channel"].as_str().unwrap().to_owned(), body["text"].to_string()));
    }
    let has =
        |channel: &str, text: &str| messages.iter().any(|(c, t)| c == channel && t.contains(text));
    assert!(has("#duro", "Rescheduled views. New tables (6): finances.revenue"), "{messages:?}");
    assert!(has("#duro", "first.cities: "), "{messages:?}");
    assert!(has("#duro", "I'm working! In the last 1d:"), "{messages:?}");
    assert!(!messages.iter().any(|(c, _)| c == "#alerts"), "{messages:?}");
}

/// `--select` over a fixture graph: each form's plan (membership and order) in `--dry-run`,
/// a selection built with nothing else, `--exclude`, and a selector matching nothing refused.
#[test]
fn select_plans_and_builds_exactly_the_selection() {
    // raw.events (a source) → s.a → s.b → s.c; s.d reads s.b.
    let setup = Setup::new(
        &[
            ("s/a — 1d.sql", "select id from raw.events"),
            ("s/b — 1d.sql", "select id from s.a"),
            ("s/c — 1d.sql", "select id from s.b"),
            ("s/d — 1d.sql", "select id from s.b"),
        ],
        "create schema raw; create schema s; create table raw.events (id int); insert into raw.events values (1);",
    );
    let config = config_file(&setup);
    let plan = |args: &[&str]| -> Vec<String> {
        let output = duro_create(&config).arg("--dry-run").arg("--select").args(args).run();
        output.code(0);
        output
            .stdout
            .lines()
            .filter_map(|line| {
                line.split_once(". ").map(|(_, rest)| rest.split(' ').next().unwrap().to_owned())
            })
            .collect()
    };
    let cases: &[(&[&str], &[&str])] = &[
        (&["s.b"], &["s.b"]),
        (&["+s.c"], &["s.a", "s.b", "s.c"]),
        (&["1+s.c"], &["s.b", "s.c"]),
        (&["s.b+"], &["s.b", "s.c", "s.d"]),
        (&["s.a+1"], &["s.a", "s.b"]),
        (&["@s.c"], &["s.a", "s.b", "s.c"]),
        (&["source:raw.events+"], &["s.a", "s.b", "s.c", "s.d"]),
        (&["s.*", "--exclude", "s.d", "s.a"], &["s.b", "s.c"]),
        (&["kind:view", "s.c"], &["s.a", "s.b", "s.c", "s.d"]),
    ];
    for (args, expected) in cases {
        let found = plan(args);
        assert_eq!(found.len(), expected.len(), "{args:?}: {found:?}");
        let mut sorted = found.clone();
        sorted.sort();
        assert_eq!(sorted, *expected, "{args:?}: {found:?}");
        // Dependency order: everything a table reads comes first.
        let at = |name: &str| found.iter().position(|t| t == name);
        for (reader, read) in [("s.b", "s.a"), ("s.c", "s.b"), ("s.d", "s.b")] {
            if let (Some(reader), Some(read)) = (at(reader), at(read)) {
                assert!(read < reader, "{args:?}: {found:?}");
            }
        }
    }
    let plan_text = duro_create(&config).args(["--dry-run", "--select", "s.b"]).run().stdout;
    assert!(
        plan_text.contains("s.b (forced (selected on the command line (`s.b`)))"),
        "{plan_text}"
    );
    let built = duro_create(&config).args(["--select", "+s.b"]).run();
    built.code(0);
    let names: Vec<String> = setup
        .client()
        .query("select tablename::text from pg_tables where schemaname = 's' order by 1", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names, ["a", "b"], "{}", built.both());
    let nothing = duro_create(&config).args(["--select", "s.nothing+"]).run();
    nothing.code(2);
    assert!(
        nothing.both().contains("`s.nothing+` matches no table of the catalog"),
        "{}",
        nothing.both()
    );
    let bad = duro_create(&config).args(["--select", "tag:x"]).run();
    bad.code(2);
    assert!(bad.both().contains("`tag:` is not a method"), "{}", bad.both());
}
