//! The build history as the web UI reads it: the per-table summaries that every finishing write
//! keeps (successes, failures, skips, crash recovery), running builds, time ranges and figures.

use crate::common::{repository, scheduled_state};
use duro_core::build::{BuildOutcome, FailureClass};
use duro_core::state::{BuildStart, LEASE_TTL_MS, StateFile};
use duro_core::testing::record_build;

#[test]
fn summaries_follow_every_finished_build() {
    let dir = repository(&[
        ("s/a-1h.sql", "select 1 as x"),
        ("s/b.sql", "select x from s.a"),
        ("s/c-1h.sql", "select x from s.b"),
    ]);
    let mut state = scheduled_state(&dir);
    record_build(&mut state, "s.a", 1_000, 3_000, BuildOutcome::Succeeded);
    record_build(&mut state, "s.a", 10_000, 14_000, BuildOutcome::Succeeded);
    let failed = record_build(&mut state, "s.b", 11_000, 12_000, BuildOutcome::Failed);
    state
        .record_skipped("s.c", FailureClass::DependencyFailed, "not built: `s.b` failed", 12_500)
        .unwrap();

    let overview = state.table_overview(20_000).unwrap();
    let names: Vec<&str> = overview.iter().map(|(t, _)| t.name.as_str()).collect();
    assert_eq!(names, ["s.a", "s.b", "s.c"], "in name order");
    let (a, a_activity) = &overview[0];
    assert_eq!(a.interval_minutes, Some(60));
    assert_eq!(a_activity.last_success, Some((10_000, 14_000)), "the latest success");
    assert_eq!(a_activity.mean_success_ms, Some(3_000.0), "(2000 + 4000) / 2");
    assert!(a_activity.last_failure.is_none());
    let (b, b_activity) = &overview[1];
    assert_eq!(b.dependencies, ["s.a"]);
    assert_eq!(b_activity.last_failure.as_ref().map(|f| f.id), Some(failed));
    assert_eq!(b_activity.last_failure.as_ref().unwrap().message.as_deref(), Some("boom <b>"));
    assert_eq!(overview[2].1.last_failure.as_ref().unwrap().outcome, BuildOutcome::Skipped);
    assert_eq!(state.last_successes().unwrap().get("s.a"), Some(&10_000));
    assert_eq!(state.mean_build_ms().unwrap().get("s.a"), Some(&3_000.0));

    // A later success clears the failure; an older result does not replace a newer one.
    record_build(&mut state, "s.b", 15_000, 16_000, BuildOutcome::Succeeded);
    let overview = state.table_overview(20_000).unwrap();
    assert!(overview[1].1.last_failure.is_none());
    assert_eq!(overview[1].1.last_success, Some((15_000, 16_000)));

    // A build left running by a dead creator: running while its lease lives, failed after recovery.
    let BuildStart::Started(_) = state.begin_build("s.c", "w2", 17_000, 60_000, 17_000).unwrap()
    else {
        panic!("s.c did not start");
    };
    assert_eq!(state.table_overview(18_000).unwrap()[2].1.running_since_ms, Some(17_000));
    assert_eq!(state.running_builds(18_000).unwrap().len(), 1);
    assert_eq!(
        state.builds_between(0, 1, 10).unwrap().len(),
        1,
        "running builds are always listed"
    );
    state.recover_abandoned(|worker| worker != "w2", 19_000).unwrap();
    let overview = state.table_overview(19_500).unwrap();
    assert_eq!(overview[2].1.running_since_ms, None);
    assert_eq!(
        overview[2].1.last_failure.as_ref().unwrap().failure_class,
        Some(FailureClass::Cancelled)
    );

    // Every build here finished in minute 0: a period counts from the minute after `from`'s.
    let stats = state.period_stats(-60_000, 20_000).unwrap();
    assert_eq!((stats.tables_built, stats.builds, stats.failures), (2, 5, 2), "{stats:?}");
    let between: Vec<String> = state
        .builds_between(11_500, 12_600, 10)
        .unwrap()
        .into_iter()
        .map(|b| b.table_name)
        .collect();
    assert_eq!(between, ["s.a", "s.b", "s.c"], "overlapping builds, oldest first");
}

/// A creator on another host (a restarted container has a new host name) stops: its leases and
/// running records are freed about a minute after its last heartbeat, not hours later; while it
/// beats, nothing is taken from it.
#[test]
fn a_creator_on_another_host_is_freed_after_its_heartbeat_stops() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = StateFile::open(&dir.path().join("duro.db")).unwrap();
    let worker = "another-host:1:1-0";
    let alive_elsewhere = |_: &str| true;
    state.heartbeat(worker, "0123456789abcdef", 1_000).unwrap();
    let BuildStart::Started(_) =
        state.begin_build("s.t", worker, 1_000, LEASE_TTL_MS, 1_000).unwrap()
    else {
        panic!("s.t did not start");
    };
    // Still beating at 40 s: its lease runs on.
    state.heartbeat(worker, "0123456789abcdef", 40_000).unwrap();
    assert!(state.recover_abandoned(alive_elsewhere, 90_000).unwrap().is_empty());
    assert!(state.dead_workers(alive_elsewhere, 90_000).unwrap().is_empty());
    assert_eq!(state.running_builds(90_000).unwrap().len(), 1);
    // No heartbeat since 40 s: dead at 101 s, whatever its host.
    let dead = state.dead_workers(alive_elsewhere, 101_000).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].tables, ["s.t"]);
    assert_eq!(state.recover_abandoned(alive_elsewhere, 101_000).unwrap(), ["s.t"]);
    assert!(state.running_builds(101_000).unwrap().is_empty());
    let record = &state.builds("s.t").unwrap()[0];
    assert_eq!(
        (record.outcome, record.failure_class),
        (BuildOutcome::Failed, Some(FailureClass::Cancelled))
    );
    assert!(record.message.as_deref().unwrap().contains("interrupted"));
    state.forget_worker(worker).unwrap();
    assert!(state.dead_workers(alive_elsewhere, 101_000).unwrap().is_empty());
}

/// "Accept and rebuild": the acceptance is spent by the first successful build that started
/// after it, not by one already running, not by a failure, and later force requests neither
/// spend it nor change who accepted.
#[test]
fn an_acceptance_is_spent_by_the_first_success_after_it() {
    let dir = repository(&[("s/a-1h.sql", "select 1 as x")]);
    let mut state = scheduled_state(&dir);
    let accepted = |state: &StateFile| state.row_check_of("s.a").unwrap().1;
    let BuildStart::Started(running) =
        state.begin_build("s.a", "w1", 1_000, 60_000, 1_000).unwrap()
    else {
        panic!("s.a did not start");
    };
    state.request_force_accepting_row_drop("s.a", "web UI: accept and rebuild", 1_500).unwrap();
    let result = duro_core::state::BuildResult {
        outcome: BuildOutcome::Succeeded,
        failure_class: None,
        message: None,
        rows: Some(1),
        phases_json: "{}",
        finished_at_ms: 2_000,
        output: None,
        plan_cost: None,
    };
    state.finish_build(running, &result, true, 1_000).unwrap();
    assert_eq!(accepted(&state).as_deref(), Some("web UI: accept and rebuild"), "started before");
    state.request_force("s.a", "scheduler: changed", 2_500).unwrap();
    record_build(&mut state, "s.a", 3_000, 3_500, BuildOutcome::Failed);
    assert_eq!(accepted(&state).as_deref(), Some("web UI: accept and rebuild"), "not by a failure");
    record_build(&mut state, "s.a", 4_000, 4_500, BuildOutcome::Succeeded);
    assert_eq!(accepted(&state), None, "spent by the success");
}
