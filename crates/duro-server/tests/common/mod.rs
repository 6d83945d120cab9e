//! A state file filled by the real scheduler and creator (against the private PostgreSQL test
//! cluster): built tables, a failing one whose error holds HTML, a skipped dependent, a removed
//! table. Shared by the handler tests and the browser test.

pub(crate) mod http;

use duro_core::testing::setup::Setup;
use std::sync::OnceLock;

pub(crate) const VIEWS: &[(&str, &str)] = &[
    ("shop/orders-1h.sql", "select generate_series(1, 5) as id, 'item' as item"),
    ("shop/summary-1h.sql", "select count(*) as orders from shop.orders"),
    ("shop/report.sql", "select orders * 2 as doubled from shop.summary"),
    ("shop/weekly-1h.sql", "select doubled from shop.report"),
    ("shop/broken-1h.sql", "select '<script>alert(1)</script>'::int as id"),
    ("shop/dependent-1h.sql", "select id from shop.broken"),
    ("shop/old-1h.sql", "select 1 as id"),
];

/// Scheduled, built once (`shop.summary` four times), then `shop/old` removed and scheduled
/// again.
pub(crate) fn filled() -> Setup {
    // The creator's PostgreSQL client runs its own runtime: keep it off the test's runtime.
    std::thread::spawn(|| {
        let setup = Setup::new(VIEWS, "create schema shop");
        setup.cycle();
        // A few more builds of one table, ten minutes apart, for its duration chart.
        for _ in 0..3 {
            setup.age_history(10 * 60_000);
            setup.force("shop.summary");
            setup.cycle();
        }
        std::fs::remove_file(setup.views.join("shop/old-1h.sql")).unwrap();
        setup.schedule();
        setup
    })
    .join()
    .unwrap()
}

/// Records, as the creator would, a build of `table` that just broke a row-count rule
/// (`validation_failed`) after a plan that cost 1234.5.
pub(crate) fn record_broken_rule(setup: &Setup, table: &str) {
    let mut state = setup.state();
    let now = duro_core::clock::now_ms();
    let duro_core::state::BuildStart::Started(id) =
        state.begin_build(table, "test", now - 10, 60_000, now - 10).unwrap()
    else {
        panic!("the build of {table} did not start");
    };
    let result = duro_core::state::BuildResult {
        outcome: duro_core::build::BuildOutcome::Failed,
        failure_class: Some(duro_core::build::FailureClass::ValidationFailed),
        message: Some("`min_rows=1`: the new version has 0 rows"),
        rows: None,
        phases_json: r#"{"explain":1,"create_temp":2}"#,
        finished_at_ms: now,
        output: None,
        plan_cost: Some(1234.5),
    };
    state.finish_build(id, &result, true, now).unwrap();
}

/// One filled installation per test process, for tests that only read.
pub(crate) fn shared() -> &'static Setup {
    static SHARED: OnceLock<Setup> = OnceLock::new();
    SHARED.get_or_init(filled)
}
