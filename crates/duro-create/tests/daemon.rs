//! The daemon as supervisor runs it: a force request is picked up within seconds, and SIGTERM
//! cancels the running statement, drops its temporary table, records the build as cancelled and
//! exits cleanly.

use crate::support::Setup;
use duro_core::build::{BuildOutcome, FailureClass};
use duro_core::testing::{Cli, Running};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn start_daemon(setup: &Setup) -> Running {
    let config = setup.config_file("creator:\n  interval: 10m\n");
    Cli::new(env!("CARGO_BIN_EXE_duro-create"))
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .start()
}

/// Waits until `condition` holds, up to `limit`; returns how long it took.
fn wait_for(limit: Duration, mut condition: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if condition() {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn successes(setup: &Setup, table: &str) -> usize {
    setup
        .state()
        .builds(table)
        .unwrap()
        .iter()
        .filter(|b| b.outcome == BuildOutcome::Succeeded)
        .count()
}

#[test]
fn force_requests_start_within_seconds_and_sigterm_cancels_cleanly() {
    let setup = Setup::new(&[("s/quick — 1d.sql", "select 1 as x")], "create schema s");
    let mut daemon = start_daemon(&setup);
    assert!(
        wait_for(Duration::from_secs(20), || successes(&setup, "s.quick") == 1).is_some(),
        "the first cycle never built s.quick"
    );

    // The next cycle is ten minutes away; a force request starts a build within 5 s.
    setup.force("s.quick");
    let waited = wait_for(Duration::from_secs(10), || successes(&setup, "s.quick") == 2);
    assert!(
        waited.is_some_and(|w| w < Duration::from_secs(5)),
        "the force request waited {waited:?}"
    );

    // A slow new table: SIGTERM while it builds.
    setup.write(&[("s/slow — 1d.sql", "select 1 as x from (select pg_sleep(60)) as p")]);
    setup.schedule();
    let running = wait_for(Duration::from_secs(10), || {
        setup.scalar::<i64>("select count(*) from pg_stat_activity where query like '%pg_sleep(60)%' and pid <> pg_backend_pid()") > 0
    });
    assert!(running.is_some(), "the slow build never started");
    let status = Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exited = wait_for(Duration::from_secs(10), || daemon.try_wait().is_some());
    assert!(exited.is_some(), "the daemon did not stop within 10 s of SIGTERM");
    daemon.wait().code(0);
    let attempt = &setup.state().builds("s.slow").unwrap()[0];
    assert_eq!(
        (attempt.outcome, attempt.failure_class),
        (BuildOutcome::Failed, Some(FailureClass::Cancelled))
    );
    assert_eq!(
        setup.scalar::<i64>("select count(*) from pg_tables where tablename = 'slow_duro_temp'"),
        0
    );
    assert_eq!(setup.scalar::<i64>("select count(*) from pg_stat_activity where query like '%pg_sleep(60)%' and pid <> pg_backend_pid()"), 0);
    assert_eq!(
        setup
            .client_state()
            .query_row("select count(*) from leases", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        0
    );
}
