//! Benchmark fixture: gives every table in a state file a build history through the creator's
//! own state calls (`begin_build` / `finish_build`), as if it had been built every hour.
//!
//! Usage: fill_history <state file> [builds per table, default 10] [failing share in %, default 5]

#![allow(clippy::print_stdout, reason = "a benchmark tool that prints its figures")]

use duro_core::build::{BuildOutcome, FailureClass};
use duro_core::state::{BuildResult, BuildStart, StateFile};
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let path =
        PathBuf::from(args.next().expect("usage: fill_history <state file> [builds] [failing %]"));
    let builds: i64 = args.next().map_or(10, |n| n.parse().expect("builds per table"));
    let failing_percent: usize = args.next().map_or(5, |n| n.parse().expect("failing share"));
    let mut state = StateFile::open(&path).expect("the state file opens");
    let tables = state.active_tables().expect("the catalog reads");
    let now = duro_core::clock::now_ms();
    for (index, table) in tables.iter().enumerate() {
        for k in (0..builds).rev() {
            let started = now - k * 3_600_000 - (index as i64 % 3_000) * 1_000;
            let BuildStart::Started(id) = state
                .begin_build(&table.name, "bench", started, 60_000, started)
                .expect("a build starts")
            else {
                panic!("{} is busy", table.name)
            };
            let fails = k == 0 && index % 100 < failing_percent;
            let duration = 200 + (index as i64 * 37 + k * 11) % 5_000;
            let message = format!("relation \"{}_source\" does not exist", table.name);
            let result = BuildResult {
                outcome: if fails { BuildOutcome::Failed } else { BuildOutcome::Succeeded },
                failure_class: fails.then_some(FailureClass::SqlError),
                message: fails.then_some(message.as_str()),
                rows: (!fails).then_some(1_000 + index as i64),
                phases_json: r#"{"connect":3,"create_temp":150,"tests":20,"swap":12}"#,
                finished_at_ms: started + duration,
                output: None,
                plan_cost: None,
            };
            // Read "after" the scheduler's `new` requests, so successes clear them.
            state.finish_build(id, &result, true, now + 1_000).expect("a build finishes");
        }
    }
    println!("{} tables × {builds} builds", tables.len());
}
