//! The creator's modes: the daemon loop (a cycle every `creator.interval`, sooner when a force
//! request arrives), one cycle, and the dry run; signal handling and what is printed.

#![allow(
    clippy::print_stdout,
    reason = "`--once`, `--dry-run` and `--check-warehouse` print their results to stdout"
)]

use duro_core::build::{BuildOutcome, FailureClass};
use duro_core::catalog::UpstreamFailure;
use duro_core::clock::now_ms;
use duro_core::config::Config;
use duro_core::creator::{Creator, CreatorError, CycleReport, Selection};
use duro_core::notify::Notifications;
use duro_core::replication::commands::next_run;
use duro_core::s3_load::next_load;
use duro_core::state::StateFile;
use std::fmt::Display;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const EXIT_BUILD_FAILED: u8 = 1;
/// How often the daemon looks for new force requests between cycles.
const FORCE_POLL: Duration = Duration::from_secs(2);

pub(crate) fn fatal(error: &dyn Display) -> ExitCode {
    duro_core::startup::fatal("duro-create", error)
}

/// A creator whose shutdown flag is set by SIGTERM/SIGINT, and a watcher thread that cancels
/// the running statements when it is.
fn creator_with_signals(config: Config) -> Result<Arc<Creator>, std::io::Error> {
    if let Err(error) = duro_core::creator::worker::hide_from_scripts() {
        tracing::warn!("cannot mark the creator non-dumpable: {error}");
    }
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&shutdown))?;
    }
    let creator = Arc::new(Creator::new(config, Arc::clone(&shutdown)));
    let watched = Arc::clone(&creator);
    std::thread::spawn(move || {
        while !shutdown.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
        }
        tracing::info!("stopping: cancelling running builds");
        watched.cancel_running();
    });
    Ok(creator)
}

/// The creator, after checking the settings the catalog needs (fatal when wrong) and cleaning
/// up what earlier runs left. When `must_reach_warehouse` (one
/// cycle, then exit), a warehouse that cannot be reached or a malformed `warehouse.url` is fatal
/// (exit 2); the daemon only warns and tries again next cycle.
fn start(config: Config, must_reach_warehouse: bool) -> Result<Arc<Creator>, ExitCode> {
    let creator =
        creator_with_signals(config).map_err(|e| fatal(&format!("cannot handle signals: {e}")))?;
    creator.check_settings().map_err(|error| fatal(&error))?;
    match creator.recover() {
        Ok(cleaned) => {
            for item in cleaned {
                tracing::info!("cleaned up after an interrupted run: {item}");
            }
        }
        Err(CreatorError::Warehouse(error))
            if must_reach_warehouse && error.class == FailureClass::Connection =>
        {
            return Err(fatal(&error));
        }
        Err(error) => tracing::warn!("could not clean up after earlier runs: {error}"),
    }
    Ok(creator)
}

/// Prints the cycle's result and tells Slack (failures, the built tables, and the periodic
/// message when its period has passed).
fn report_cycle(report: &CycleReport, notifications: &Notifications) {
    print_report(report);
    for failure in &report.failed {
        notifications.build_failed(&failure.table, failure.class, &failure.message);
    }
    notifications.cycle_built(&report.built);
    notifications.periodic_report(now_ms());
}

fn print_report(report: &CycleReport) {
    for built in &report.built {
        match (built.outcome, &built.message) {
            (BuildOutcome::Unchanged, Some(why)) => println!("unchanged {}: {why}", built.table),
            (BuildOutcome::Unchanged, None) => println!("unchanged {}", built.table),
            _ => println!("built {} ({} rows, {} ms)", built.table, built.rows, built.ms),
        }
    }
    for failure in report.failed.iter().chain(&report.skipped) {
        println!("failed {} ({}): {}", failure.table, failure.class.as_str(), failure.message);
    }
    for table in &report.busy {
        println!("busy {table}: another creator is building it");
    }
}

/// `--check-warehouse`: the probes' report, one line each; exit 1 when one failed. The schema
/// is `schema`, else the first schema of the catalog in the state file.
pub(crate) fn check_warehouse(config: &Config, schema: Option<String>) -> ExitCode {
    let schema = match schema {
        Some(schema) => schema,
        None => match first_catalog_schema(config) {
            Ok(Some(schema)) => schema,
            Ok(None) => {
                return fatal(&"the catalog has no table yet: name a schema with --schema");
            }
            Err(error) => return fatal(&error),
        },
    };
    let report = duro_core::refresh::probes::check_warehouse(config, &schema);
    for probe in &report {
        println!("{probe}");
    }
    if report.iter().any(|probe| probe.failed()) {
        ExitCode::from(EXIT_BUILD_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

fn first_catalog_schema(config: &Config) -> Result<Option<String>, duro_core::state::StateError> {
    let tables = StateFile::open(&config.state.path)?.active_tables()?;
    Ok(tables.iter().filter_map(|t| t.name.split_once('.').map(|(s, _)| s.to_owned())).min())
}

/// `--once` and `--table`: one cycle; exit 1 when a build failed.
pub(crate) fn once(config: Config, selection: &Selection) -> ExitCode {
    let notifications = Notifications::from_config(&config.slack, &config.state.path);
    let creator = match start(config, true) {
        Ok(creator) => creator,
        Err(code) => return code,
    };
    match creator.run_cycle(selection) {
        Ok(report) => {
            if report.built.is_empty() && report.failed.is_empty() && report.skipped.is_empty() {
                println!("nothing to build");
            }
            report_cycle(&report, &notifications);
            if report.failed.is_empty() && report.skipped.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_BUILD_FAILED)
            }
        }
        Err(error) => fatal(&error),
    }
}

/// `--dry-run`: the plan, touching nothing.
pub(crate) fn dry_run(config: Config, selection: &Selection) -> ExitCode {
    let state_path = config.state.path.clone();
    let creator = Creator::new(config, Arc::new(AtomicBool::new(false)));
    match creator.plan(selection) {
        Ok(planned) => {
            if planned.is_empty() {
                println!("nothing to build");
            }
            let means = creator.mean_build_ms().unwrap_or_default();
            let state = match StateFile::open(&state_path) {
                Ok(state) => state,
                Err(error) => return fatal(&error),
            };
            for (position, step) in planned.iter().enumerate() {
                let build = &step.build;
                let usual = means
                    .get(&build.table)
                    .map(|ms| format!(", usually {:.1} s", ms / 1000.0))
                    .unwrap_or_default();
                let upstream = match step.on_upstream_failure {
                    Some(UpstreamFailure::Skip) => "; skipped if a table it reads fails",
                    Some(UpstreamFailure::Build) => {
                        "; built even if a table it reads fails (on_upstream_failure=build)"
                    }
                    None => "",
                };
                let next = next_run(&state, &build.table).and_then(|copy| match copy {
                    Some(copy) => Ok(Some(copy)),
                    None => next_load(&state, &build.table),
                });
                let copy = match next {
                    Ok(Some(copy)) => format!("; {copy}"),
                    Ok(None) => String::new(),
                    Err(message) => return fatal(&message),
                };
                let skipped = match &step.skipped {
                    Some(why) => format!("; not rebuilt: {why}"),
                    None => String::new(),
                };
                let rules = match step.row_rules.as_slice() {
                    [] => String::new(),
                    rules => format!("; rules {}", rules.join(", ")),
                };
                println!(
                    "{}. {} ({}{usual}{upstream}{copy}{skipped}{rules})",
                    position + 1,
                    build.table,
                    build.reason
                );
            }
            ExitCode::SUCCESS
        }
        Err(error) => fatal(&error),
    }
}

/// The daemon: cycles until SIGTERM/SIGINT.
pub(crate) fn run_forever(config: Config) -> ExitCode {
    let interval = config.creator.interval.max(Duration::from_secs(1));
    let state_path = config.state.path.clone();
    let notifications = Notifications::from_config(&config.slack, &config.state.path);
    let creator = match start(config, false) {
        Ok(creator) => creator,
        Err(code) => return code,
    };
    tracing::info!(
        "duro-create running as {}, a cycle every {} s",
        creator.worker(),
        interval.as_secs()
    );
    while !creator.is_shutting_down() {
        let cycle_started_ms = now_ms();
        match creator.run_cycle(&Selection::Due) {
            Ok(report) => report_cycle(&report, &notifications),
            Err(error) => tracing::error!("cycle failed: {error}"),
        }
        wait_for_next_cycle(&creator, &state_path, interval, cycle_started_ms);
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// Sleeps until the interval is over, a force request newer than the last cycle arrives, or
/// shutdown.
fn wait_for_next_cycle(
    creator: &Creator,
    state_path: &std::path::Path,
    interval: Duration,
    cycle_started_ms: i64,
) {
    let deadline = Instant::now() + interval;
    let mut last_poll = Instant::now();
    while Instant::now() < deadline && !creator.is_shutting_down() {
        std::thread::sleep(Duration::from_millis(100));
        if last_poll.elapsed() >= FORCE_POLL {
            last_poll = Instant::now();
            let newer = StateFile::open(state_path)
                .and_then(|state| state.force_requested_since(cycle_started_ms));
            if matches!(newer, Ok(true)) {
                return;
            }
        }
    }
}
