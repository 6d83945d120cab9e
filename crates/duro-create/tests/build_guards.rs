//! The guards of a build against a real PostgreSQL server: row-count rules, the cost limit, and
//! the indexes and statistics a new version goes live with.

use crate::support::{Setup, built_names};
use duro_core::build::{BuildOutcome, FailureClass};
use duro_core::creator::Selection;

/// `min_rows` and `max_row_drop`: a new version that breaks one fails before the swap
/// (`validation_failed`, the rule and both counts named), the live table stays and the tables
/// reading it are skipped; `--accept-row-drop` lets it through once, and the build says so.
#[test]
fn row_count_rules_keep_the_live_table() {
    let setup = Setup::new(
        &[
            ("s/t — 1h.sql", "select id from raw.events"),
            ("s/t.conf", "min_rows = 2\nmax_row_drop = 50%\n"),
            ("s/reader — 1h.sql", "select count(*) as n from s.t"),
        ],
        "create schema s; create schema raw; create table raw.events (id int);
         insert into raw.events select generate_series(1, 10);",
    );
    let report = setup.cycle();
    assert_eq!(built_names(&report).len(), 2, "{report:?}");
    let plan = setup.creator().plan(&Selection::Due).unwrap();
    assert!(plan.is_empty(), "{plan:?}");
    setup.client().batch_execute("delete from raw.events where id > 4").unwrap();
    setup.force("s.t");
    setup.force("s.reader");
    let rules = setup.creator().plan(&Selection::Due).unwrap();
    assert_eq!(rules[0].row_rules, ["min_rows=2", "max_row_drop=50%"]);
    let report = setup.cycle();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].class, FailureClass::ValidationFailed);
    let message = &report.failed[0].message;
    assert!(message.contains("`max_row_drop=50%`: the new version has 4 rows, 60.0% fewer than the 10 of the last build"), "{message}");
    assert_eq!(report.skipped.iter().map(|s| s.table.as_str()).collect::<Vec<_>>(), ["s.reader"]);
    assert_eq!(setup.scalar::<i64>("select count(*) from s.t"), 10, "the live table stays");
    let record = setup.state().builds("s.t").unwrap().remove(0);
    assert_eq!(record.failure_class, Some(FailureClass::ValidationFailed));
    // A legitimate purge: accepted once.
    setup.build_accepting_row_drop("s.t");
    let record = setup.state().builds("s.t").unwrap().remove(0);
    assert_eq!(record.outcome, BuildOutcome::Succeeded, "{record:?}");
    assert!(
        record
            .message
            .unwrap_or_default()
            .starts_with("accepted on the command line: `max_row_drop=50%`")
    );
    assert_eq!(setup.scalar::<i64>("select count(*) from s.t"), 4);
    // The baseline is now 4 rows: one row fewer is a 25% drop; one row is under `min_rows`.
    setup.client().batch_execute("delete from raw.events where id > 1").unwrap();
    setup.force("s.t");
    let report = setup.cycle();
    let message = &report.failed[0].message;
    assert!(
        message.contains("`min_rows=2`: the new version has 1 rows")
            && message.contains("75.0% fewer than the 4"),
        "{message}"
    );
    assert_eq!(setup.scalar::<i64>("select count(*) from s.t"), 4);
    // "Accept and rebuild" (a force request accepting the drop): through once, then spent.
    let reason = "web UI: accept and rebuild";
    setup
        .state()
        .request_force_accepting_row_drop("s.t", reason, duro_core::clock::now_ms())
        .unwrap();
    let report = setup.cycle();
    assert!(report.failed.is_empty(), "{report:?}");
    let record = setup.state().builds("s.t").unwrap().remove(0);
    assert!(
        record.message.as_deref().unwrap_or_default().starts_with(
            "accepted by request (web UI: accept and rebuild): `min_rows=2`: the new version has 1 rows"
        ),
        "{record:?}"
    );
    assert_eq!(setup.scalar::<i64>("select count(*) from s.t"), 1);
    assert_eq!(setup.state().row_check_of("s.t").unwrap(), (Some(1), None));
    setup.force("s.t");
    let report = setup.cycle();
    assert_eq!(report.failed.len(), 1, "the acceptance was spent: {report:?}");
    assert_eq!(report.failed[0].class, FailureClass::ValidationFailed);
}

/// The index names of `schema.table`, sorted.
fn index_names(setup: &Setup, schema: &str, table: &str) -> Vec<String> {
    let mut client = setup.client();
    let rows = client
        .query(
            "select indexname::text from pg_indexes where schemaname = $1 and tablename = $2 order by 1",
            &[&schema, &table],
        )
        .unwrap();
    rows.iter().map(|row| row.get(0)).collect()
}

/// Every index in `schema` whose name Duro uses only on the way (`_duro_temp`, `_duro_old`).
fn passing_names(setup: &Setup, schema: &str) -> Vec<String> {
    let mut client = setup.client();
    let rows = client
        .query(
            "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where n.nspname = $1 and (c.relname like '%duro_temp%' or c.relname like '%duro_old%')",
            &[&schema],
        )
        .unwrap();
    rows.iter().map(|row| row.get(0)).collect()
}

/// `indexes=`: the new version goes live with its indexes under their own names, rebuild after
/// rebuild; a build that fails after creating them (a unique index the data breaks) leaves the
/// live table with its indexes and no temporary name behind. `analyze` (the default on
/// PostgreSQL) gives the new table statistics before the swap; `analyze=false` does not.
#[test]
fn indexes_go_live_with_their_names() {
    let setup = Setup::new(
        &[
            ("s/t — 1h.sql", "select id, id % 3 as bucket from raw.events"),
            ("s/t.conf", "indexes = (bucket), unique (id)\n"),
            ("s/plain — 1h.sql", "select id from raw.events"),
            ("s/plain.conf", "analyze = false\n"),
        ],
        "create schema s; create schema raw; create table raw.events (id int);
         insert into raw.events select generate_series(1, 10);",
    );
    let wanted = ["t_bucket_idx", "t_id_idx"];
    for round in 0..2 {
        let report = setup.cycle();
        assert!(report.failed.is_empty(), "round {round}: {report:?}");
        assert_eq!(index_names(&setup, "s", "t"), wanted, "round {round}");
        assert_eq!(passing_names(&setup, "s"), Vec::<String>::new(), "round {round}");
        setup.force("s.t");
    }
    let unique: bool =
        setup.scalar("select indisunique from pg_index where indexrelid = 's.t_id_idx'::regclass");
    assert!(unique);
    // Statistics: gathered before the swap by default, not with `analyze=false`.
    let stats = |table: &str| -> i64 {
        setup.scalar(&format!(
            "select count(*) from pg_stats where schemaname = 's' and tablename = '{table}'"
        ))
    };
    assert!(stats("t") > 0, "s.t has statistics");
    assert_eq!(stats("plain"), 0, "s.plain was not analyzed");
    // The unique index fails on the new rows: the build fails, the live table keeps its indexes.
    setup.client().batch_execute("insert into raw.events values (1)").unwrap();
    let report = setup.cycle();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert!(report.failed[0].message.contains("t_id_idx_duro_temp"), "{:?}", report.failed[0]);
    assert_eq!(index_names(&setup, "s", "t"), wanted);
    assert_eq!(passing_names(&setup, "s"), Vec::<String>::new());
    assert_eq!(setup.scalar::<i64>("select count(*) from s.t"), 10, "the live table stays");
}

/// `max_cost`: a plan over the limit fails the build before any table is created
/// (`cost_exceeded`, the cost and the limit named), the live table stays and its readers are
/// skipped; every build that asked records its plan's cost.
#[test]
fn max_cost_refuses_an_expensive_plan() {
    let setup = Setup::new(
        &[
            ("s/cheap — 1h.sql", "select id from raw.events"),
            ("s/cheap.conf", "max_cost = 1000000\n"),
            ("s/wide — 1h.sql", "select a.id from raw.events a, raw.events b"),
            ("s/wide.conf", "max_cost = 100000\n"),
            ("s/reader — 1h.sql", "select count(*) as n from s.wide"),
        ],
        "create schema s; create schema raw; create table raw.events (id int);
         insert into raw.events select generate_series(1, 100); analyze raw.events;",
    );
    let report = setup.cycle();
    assert!(report.failed.is_empty(), "{report:?}");
    let cheap = setup.state().builds("s.cheap").unwrap().remove(0);
    let cost = cheap.plan_cost.expect("the cost is recorded");
    assert!(cost > 0.0 && cost < 1_000_000.0, "{cost}");
    // The data grows: the cross join's plan passes the limit.
    setup
        .client()
        .batch_execute(
            "insert into raw.events select generate_series(101, 10000); analyze raw.events",
        )
        .unwrap();
    setup.force("s.wide");
    setup.force("s.reader");
    let report = setup.cycle();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let failure = &report.failed[0];
    assert_eq!((failure.table.as_str(), failure.class), ("s.wide", FailureClass::CostExceeded));
    assert!(
        failure.message.contains(", over `max_cost=100000`; nothing was created"),
        "{failure:?}"
    );
    assert_eq!(report.skipped.iter().map(|s| s.table.as_str()).collect::<Vec<_>>(), ["s.reader"]);
    let record = setup.state().builds("s.wide").unwrap().remove(0);
    assert!(record.plan_cost.is_some_and(|cost| cost > 100_000.0), "{record:?}");
    assert!(
        record.phases_json.contains("explain") && !record.phases_json.contains("create_temp"),
        "nothing created: {}",
        record.phases_json
    );
    assert_eq!(setup.scalar::<i64>("select count(*) from s.wide"), 10_000, "the live table stays");
    assert_eq!(passing_names(&setup, "s"), Vec::<String>::new());
}

/// Repository text that is not a query never runs through `EXPLAIN`: it is explained inside the
/// parentheses the build itself uses, in a read-only transaction, so `analyze delete …` is a
/// syntax error and deletes nothing.
#[test]
fn explain_runs_only_a_query() {
    let setup = Setup::new(
        &[("s/t — 1h.sql", "analyze delete from raw.events"), ("s/t.conf", "max_cost = 1000000\n")],
        "create schema s; create schema raw; create table raw.events (id int);
         insert into raw.events select generate_series(1, 10);",
    );
    let report = setup.cycle();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].class, FailureClass::SqlError, "{report:?}");
    assert_eq!(setup.scalar::<i64>("select count(*) from raw.events"), 10, "nothing deleted");
    let record = setup.state().builds("s.t").unwrap().remove(0);
    assert_eq!(record.plan_cost, None);
}
