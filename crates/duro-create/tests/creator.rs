//! The creator against a real PostgreSQL server: order, inheritance, tests, the swap with bound
//! views and grants, snapshots, timeouts, lost connections, leases.

use crate::support::{Setup, built_names};
use duro_core::build::{BuildOutcome, FailureClass};
use duro_core::creator::Selection;

#[test]
fn views_example_builds_in_dependency_order() {
    let setup = Setup::example();
    let report = setup.cycle();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let built = built_names(&report);
    let position = |name: &str| {
        built
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("{name} not built: {built:?}"))
    };
    assert!(position("first.cities") < position("first.shops"));
    assert!(position("first.shops") < position("first.people"));
    assert!(position("first.shops") < position("finances.revenue"));
    assert!(position("finances.revenue") < position("finances.simplified"));
    assert!(position("first.cities") < position("first.countries"));
    // The processor passes the data through: one row per country, with its capital.
    let mismatches: i64 = setup.scalar(
        "select count(*) from (select country, capital from first.countries
                                except select distinct country, city from first.cities) as d",
    );
    assert_eq!(mismatches, 0);
    assert_eq!(setup.scalar::<i64>("select count(*) from first.countries"), 12);
    let paris: String = setup.scalar("select city from first.cities where country = 'France'");
    assert_eq!(paris, "Paris");
    let people: i64 = setup.scalar("select count(*) from first.people");
    assert!(people > 0);
    // Configured grants: cities to jane and john (replacing metabase), people to metabase.
    assert!(setup.scalar::<bool>("select has_table_privilege('jane', 'first.cities', 'select')"));
    assert!(
        !setup.scalar::<bool>("select has_table_privilege('metabase', 'first.cities', 'select')")
    );
    assert!(
        setup.scalar::<bool>("select has_table_privilege('metabase', 'first.people', 'select')")
    );
    assert!(
        !setup
            .scalar::<bool>("select has_table_privilege('metabase', 'finances.revenue', 'select')")
    );
    assert!(
        setup.scalar::<bool>(
            "select has_table_privilege('metabase', 'finances.simplified', 'select')"
        )
    );
    // Every build is recorded with its phases and rows; force requests are cleared.
    let record = &setup.state().builds("first.cities").unwrap()[0];
    assert_eq!(record.outcome, BuildOutcome::Succeeded);
    assert_eq!(record.rows, Some(12));
    let phases: serde_json::Value = serde_json::from_str(&record.phases_json).unwrap();
    for phase in ["create_temp", "tests", "swap"] {
        assert!(phases.get(phase).is_some(), "{phase} missing in {phases}");
    }
    assert!(setup.state().force_requests().unwrap().is_empty());
    // Nothing is due right after.
    assert!(setup.cycle().built.is_empty());
    assert_eq!(
        setup.scalar::<i64>("select count(*) from pg_class where relname like '%duro_temp'"),
        0
    );
}

#[test]
fn stale_parents_rebuild_children_without_interval() {
    let setup = Setup::new(
        &[
            ("s/base.sql", "select 1 as x"),
            ("s/mid.sql", "select x from s.base"),
            ("s/top — 1h.sql", "select x from s.mid"),
        ],
        "create schema s",
    );
    assert_eq!(built_names(&setup.cycle()), ["s.base", "s.mid", "s.top"]);
    // Age every build by two hours: top is stale, and mid/base are older than top's hour.
    setup.age_history(7_200_000);
    assert_eq!(built_names(&setup.cycle()), ["s.base", "s.mid", "s.top"]);
    assert!(setup.cycle().built.is_empty());
}

#[test]
fn a_failed_test_keeps_the_old_table_and_skips_dependents() {
    let setup = Setup::new(
        &[
            ("s/cities — 1d.sql", "select 'Paris' as city, 'France' as country"),
            (
                "s/cities_test.sql",
                "select (city = 'Paris') as correct_capital_of_france from s.cities where country = 'France';\nselect count(*) = 1 as one_row from s.cities;\n",
            ),
            ("s/shops — 1d.sql", "select city from s.cities"),
        ],
        "create schema s",
    );
    assert_eq!(built_names(&setup.cycle()), ["s.cities", "s.shops"]);
    setup.write(&[("s/cities — 1d.sql", "select 'Lyon' as city, 'France' as country")]);
    setup.schedule();
    setup.force("s.shops");
    let report = setup.cycle();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].class, FailureClass::TestFailed);
    assert!(
        report.failed[0].message.contains("`correct_capital_of_france`"),
        "{}",
        report.failed[0].message
    );
    assert!(!report.failed[0].message.contains("one_row"), "{}", report.failed[0].message);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].table, "s.shops");
    assert_eq!(report.skipped[0].class, FailureClass::DependencyFailed);
    assert_eq!(setup.scalar::<String>("select city from s.cities"), "Paris");
    assert_eq!(
        setup.scalar::<i64>("select count(*) from pg_class where relname like '%duro_temp'"),
        0
    );
    let skipped = &setup.state().builds("s.shops").unwrap()[0];
    assert_eq!(
        (skipped.outcome, skipped.failure_class),
        (BuildOutcome::Skipped, Some(FailureClass::DependencyFailed))
    );
    // The force requests stay until a success.
    assert_eq!(setup.state().force_requests().unwrap().len(), 2);
}

/// `on_upstream_failure=build` (the original's behaviour) builds a table from the last good
/// version of a table that failed; the default skips it. A table reading one that was built
/// anyway follows that build's result.
#[test]
fn on_upstream_failure_build_reads_the_last_good_version() {
    let setup = Setup::new(
        &[
            ("s/cities — 1d.sql", "select 'Paris' as city"),
            ("s/cities_test.sql", "select count(*) from s.cities where city = 'Paris'"),
            ("s/shops — 1d.sql", "select city from s.cities"),
            ("s/shops.conf", "on_upstream_failure = build"),
            ("s/malls — 1d.sql", "select city from s.cities"),
            ("s/streets — 1d.sql", "select city from s.shops"),
        ],
        "create schema s",
    );
    assert_eq!(setup.cycle().built.len(), 4);
    setup.write(&[("s/cities — 1d.sql", "select 'Lyon' as city")]);
    setup.schedule();
    for table in ["s.shops", "s.malls", "s.streets"] {
        setup.force(table);
    }
    let report = setup.cycle();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].class, FailureClass::TestFailed);
    let skipped: Vec<&str> = report.skipped.iter().map(|f| f.table.as_str()).collect();
    assert_eq!(skipped, ["s.malls"]);
    assert_eq!(built_names(&report), ["s.shops", "s.streets"]);
    assert_eq!(setup.scalar::<String>("select city from s.shops"), "Paris");
    // A planned table that reaches the failure only through a table not in the plan (fresh
    // `s.malls` here) is skipped too.
    setup.write(&[("s/parks — 1d.sql", "select city from s.malls")]);
    setup.schedule();
    let _ = setup.cycle();
    setup.force("s.parks");
    setup.force("s.cities");
    let report = setup.cycle();
    let skipped: Vec<&str> = report.skipped.iter().map(|f| f.table.as_str()).collect();
    assert!(skipped.contains(&"s.parks"), "{report:?}");
}

#[test]
fn a_test_returning_no_rows_fails() {
    let setup = Setup::new(
        &[
            ("s/t — 1d.sql", "select 1 as x"),
            ("s/t_test.sql", "select true as ok from s.t where x = 2;\n\n"),
        ],
        "create schema s",
    );
    let report = setup.cycle();
    assert_eq!(report.failed[0].class, FailureClass::TestFailed);
    assert!(
        report.failed[0].message.contains("test 1 returned no rows"),
        "{}",
        report.failed[0].message
    );
    assert_eq!(setup.scalar::<i64>("select count(*) from pg_class where relname = 't'"), 0);
}

#[test]
fn bound_views_follow_the_new_table_and_keep_their_grants() {
    let setup = Setup::new(
        &[("s/cities — 1d.sql", "select 'Paris'::text as city, 'France'::text as country")],
        "create schema s; create role view_reader; create role table_reader;",
    );
    setup.cycle();
    setup
        .client()
        .batch_execute(
            "create view s.capitals as select city, country from s.cities;
             create view s.city_names as select city from s.cities;
             grant select on s.city_names to view_reader;
             grant select on s.cities to table_reader;",
        )
        .unwrap();
    // New data and a new column: the views keep working and show the new data.
    setup.write(&[(
        "s/cities — 1d.sql",
        "select 'Ottawa'::text as city, 'Canada'::text as country, 1 as rank",
    )]);
    setup.schedule();
    let report = setup.cycle();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(setup.scalar::<String>("select city from s.capitals"), "Ottawa");
    // A column type change forces drop-and-recreate of the view; its grants survive.
    setup.write(&[(
        "s/cities — 1d.sql",
        "select 'Oslo'::varchar(20) as city, 'Norway'::text as country",
    )]);
    setup.schedule();
    let report = setup.cycle();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(setup.scalar::<String>("select city from s.city_names"), "Oslo");
    assert!(
        setup.scalar::<bool>("select has_table_privilege('view_reader', 's.city_names', 'select')")
    );
    // Grants the old table had are carried over.
    assert!(
        setup.scalar::<bool>("select has_table_privilege('table_reader', 's.cities', 'select')")
    );
}

#[test]
fn snapshots_with_new_columns_and_retention() {
    let setup = Setup::new(
        &[
            ("s/t — 1d.sql", "select 1 as x"),
            ("s/t.conf", "snapshots_interval=1d\nsnapshots_stored_for=30d\n"),
        ],
        "create schema s",
    );
    setup.cycle();
    assert_eq!(setup.scalar::<i64>("select count(*) from s.t_history"), 1);
    // Rebuilt within the interval: no new snapshot.
    setup.force("s.t");
    setup.cycle();
    assert_eq!(setup.scalar::<i64>("select count(*) from s.t_history"), 1);
    // A new column reaches the history table; an old snapshot is purged; an aged one lets a new one in.
    setup.write(&[("s/t — 1d.sql", "select 2 as x, 'new' as label")]);
    setup.schedule();
    setup
        .client()
        .batch_execute(
            "update s.t_history set snapshot_timestamp = snapshot_timestamp - interval '2 days';
             insert into s.t_history (x, snapshot_timestamp) values (0, now()::timestamp - interval '40 days');",
        )
        .unwrap();
    let report = setup.cycle();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(setup.scalar::<i64>("select count(*) from s.t_history"), 2);
    assert_eq!(setup.scalar::<i64>("select count(*) from s.t_history where label = 'new'"), 1);
    assert_eq!(setup.scalar::<i64>("select count(*) from s.t_history where x = 0"), 0);
}

#[test]
fn a_timeout_fails_the_build_and_keeps_the_live_table() {
    let setup = Setup::new(&[("s/slow — 1d.sql", "select 1 as x")], "create schema s");
    setup.cycle();
    setup.write(&[
        ("s/slow — 1d.sql", "select 2 as x from (select pg_sleep(3)) as s"),
        ("s/slow.conf", "timeout=1s\n"),
    ]);
    setup.schedule();
    let report = setup.cycle();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].class, FailureClass::Timeout);
    assert_eq!(setup.scalar::<i32>("select x from s.slow"), 1);
}

#[test]
fn a_lost_connection_is_retried() {
    let setup = Setup::new(
        &[("s/t — 1d.sql", "select 1 as x from (select pg_sleep(1.5)) as s")],
        "create schema s",
    );
    let url = setup.url.clone();
    let killer = std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        for _ in 0..100 {
            let killed: i64 = client
                .query_one(
                    "select count(pg_terminate_backend(pid)) from pg_stat_activity
                     where query like '%pg_sleep(1.5)%' and pid <> pg_backend_pid() and datname = current_database()",
                    &[],
                )
                .unwrap()
                .get(0);
            if killed > 0 {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    });
    let report = setup.cycle();
    assert!(killer.join().unwrap(), "the build's backend was never seen");
    assert_eq!(built_names(&report), ["s.t"], "{report:?}");
    let attempts = setup.state().builds("s.t").unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        (attempts[1].outcome, attempts[1].failure_class),
        (BuildOutcome::Failed, Some(FailureClass::Connection))
    );
    assert_eq!(attempts[0].outcome, BuildOutcome::Succeeded);
}

#[test]
fn two_creators_never_build_the_same_table() {
    let files: Vec<(String, String)> = (0..6)
        .map(|i| {
            (
                format!("s/t{i} — 1d.sql"),
                "select 1 as x from (select pg_sleep(0.3)) as s".to_owned(),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let setup = Setup::new(&files, "create schema s");
    let (first, second) = (setup.creator(), setup.creator());
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| first.run_cycle(&Selection::Due).unwrap());
        let b = scope.spawn(|| second.run_cycle(&Selection::Due).unwrap());
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut built = [built_names(&a), built_names(&b)].concat();
    built.sort();
    built.dedup();
    assert_eq!(built.len(), 6, "every table built: {a:?} {b:?}");
    for i in 0..6 {
        let successes = setup
            .state()
            .builds(&format!("s.t{i}"))
            .unwrap()
            .iter()
            .filter(|b| b.outcome == BuildOutcome::Succeeded)
            .count();
        assert_eq!(successes, 1, "s.t{i} built {successes} times");
    }
}

#[test]
fn a_held_lease_makes_the_table_busy() {
    let setup = Setup::new(&[("s/t — 1d.sql", "select 1 as x")], "create schema s");
    let holder = format!("{}-other", setup.creator().worker());
    assert!(
        setup.state().acquire_lease("s.t", &holder, duro_core::clock::now_ms(), 60_000).unwrap()
    );
    let report = setup.cycle();
    assert_eq!(report.busy, ["s.t"]);
    assert!(setup.state().builds("s.t").unwrap().is_empty());
}

#[test]
fn an_independent_table_does_not_wait_behind_a_slow_one() {
    let setup = Setup::new(
        &[
            ("s/a_slow — 1d.sql", "select 1 as x from (select pg_sleep(1)) as p"),
            ("s/b_after — 1d.sql", "select x from s.a_slow"),
            ("s/c_other — 1d.sql", "select 2 as y"),
        ],
        "create schema s",
    );
    let mut config = setup.config.clone();
    config.creator.jobs = 2;
    let creator = duro_core::creator::Creator::new(
        config,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    let report = creator.run_cycle(&Selection::Due).unwrap();
    assert_eq!(report.built.len(), 3, "{report:?}");
    let state = setup.state();
    let slow = &state.builds("s.a_slow").unwrap()[0];
    let other = &state.builds("s.c_other").unwrap()[0];
    let after = &state.builds("s.b_after").unwrap()[0];
    assert!(other.started_at_ms < slow.finished_at_ms.unwrap(), "s.c_other waited for s.a_slow");
    assert!(
        after.started_at_ms >= slow.finished_at_ms.unwrap(),
        "s.b_after started before its dependency finished"
    );
}

#[test]
fn a_failed_snapshot_after_the_swap_is_a_warning_not_a_failure() {
    let setup = Setup::new(
        &[("s/t — 1d.sql", "select 1 as x"), ("s/t.conf", "snapshots_interval=1d\n")],
        "create schema s; create table s.t_history (x date, snapshot_timestamp timestamp)",
    );
    let report = setup.cycle();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(setup.scalar::<i32>("select x from s.t"), 1);
    let record = &setup.state().builds("s.t").unwrap()[0];
    assert_eq!(record.outcome, BuildOutcome::Succeeded);
    assert!(
        record.message.as_deref().unwrap_or_default().contains("the snapshot failed"),
        "{record:?}"
    );
}

/// `skip_unchanged` over several cycles: a chain where only one input changes rebuilds only the
/// tables below it; a table reading a source, and one calling `now()`, are always rebuilt; a
/// forced table is built; a skip is `unchanged`, fresh, says why, and `--dry-run` says so too.
#[test]
fn skip_unchanged_over_several_cycles() {
    let setup = Setup::new(
        &[
            ("global.conf", "skip_unchanged = true\n"),
            ("s/a — 1h.sql", "select 1 as id"),
            ("s/b — 1h.sql", "select id from s.a"),
            ("s/c — 1h.sql", "select id from s.b"),
            ("s/x — 1h.sql", "select 2 as id"),
            ("s/y — 1h.sql", "select id from s.x"),
            ("s/from_source — 1h.sql", "select id from raw.events"),
            ("s/clock — 1h.sql", "select now() as t"),
            ("s/snap — 1h.sql", "select 3 as id"),
            ("s/snap.conf", "snapshots_interval = 1h\n"),
        ],
        "create schema s; create schema raw; create table raw.events (id int);",
    );
    let outcome = |table: &str| setup.state().builds(table).unwrap().remove(0);
    // Builds and definitions, all moved `ms` into the past.
    let age = |ms: i64| {
        setup.age_history(ms);
        setup
            .client_state()
            .execute("update tables set changed_at_ms = changed_at_ms - ?1", [ms])
            .unwrap();
    };
    let report = setup.cycle();
    assert_eq!(built_names(&report).len(), 8, "{report:?}");
    // Every table is due for its interval; x is also forced (a person's click).
    age(2 * 3_600_000);
    // The snapshot is due too.
    setup
        .client()
        .batch_execute("update s.snap_history set snapshot_timestamp = snapshot_timestamp - interval '2 hours'")
        .unwrap();
    setup.force("s.x");
    let plan = setup.creator().plan(&Selection::Due).unwrap();
    let skipped = |plan: &[duro_core::creator::PlannedStep]| -> Vec<String> {
        let mut names: Vec<String> =
            plan.iter().filter(|s| s.skipped.is_some()).map(|s| s.build.table.clone()).collect();
        names.sort();
        names
    };
    assert_eq!(skipped(&plan), ["s.a", "s.b", "s.c", "s.snap"], "{plan:?}");
    setup.cycle();
    for (table, expected) in [
        ("s.a", BuildOutcome::Unchanged),
        ("s.b", BuildOutcome::Unchanged),
        ("s.c", BuildOutcome::Unchanged),
        ("s.x", BuildOutcome::Succeeded),
        ("s.y", BuildOutcome::Succeeded),
        ("s.from_source", BuildOutcome::Succeeded),
        ("s.clock", BuildOutcome::Succeeded),
        ("s.snap", BuildOutcome::Unchanged),
    ] {
        let build = outcome(table);
        assert_eq!(build.outcome, expected, "{table}: {build:?}");
        if expected == BuildOutcome::Unchanged {
            let message = build.message.unwrap_or_default();
            assert!(message.starts_with("inputs unchanged since "), "{table}: {message}");
        }
    }
    // A skipped table still takes the snapshot that is due.
    assert_eq!(setup.scalar::<i64>("select count(*) from s.snap_history"), 2);
    // A skip is fresh: nothing is due right after.
    assert!(setup.creator().plan(&Selection::Due).unwrap().is_empty());
    // Two hours on: nothing changed but the source reader and the clock.
    age(2 * 3_600_000);
    setup.cycle();
    for table in ["s.a", "s.b", "s.c", "s.x", "s.y"] {
        assert_eq!(outcome(table).outcome, BuildOutcome::Unchanged, "{table}");
    }
    for table in ["s.from_source", "s.clock"] {
        assert_eq!(outcome(table).outcome, BuildOutcome::Succeeded, "{table}");
    }
    // The live tables were never dropped by a skip.
    assert_eq!(
        setup.scalar::<i64>("select count(*) from pg_tables where schemaname = 's' and tablename not like '%_history'"),
        8
    );
}
