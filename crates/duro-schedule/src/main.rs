//! `duro-schedule`: read the views repository, check it, and write the catalog to the state file
//! (run by cron after `git pull`). Exit codes: 0 ok, 1 the repository has errors, 2 usage,
//! configuration or environment problems.

mod report;

use clap::Parser;
use duro_core::config::Config;
use duro_core::schedule::{self, ScheduleOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// Parsing thousands of queries is allocation-bound; mimalloc makes a full run markedly faster.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Check a views repository and write its catalog to Duro's state file.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Configuration file [default: $DURO_CONFIG, else ./duro.yaml if present]
    #[arg(long)]
    config: Option<PathBuf>,
    /// The views repository (overrides `views.path`)
    #[arg(long)]
    views: Option<PathBuf>,
    /// The SQLite state file (overrides `state.path`)
    #[arg(long)]
    state: Option<PathBuf>,
    /// Make dependency cycles errors instead of warnings
    #[arg(long)]
    strict: bool,
    /// Do nothing when the repository's HEAD commit was already processed (as `views.use_git`)
    #[arg(long)]
    git: bool,
    /// Only check the repository and report; never touch the state file
    #[arg(long)]
    check: bool,
    /// With --check: print one JSON document on stdout
    #[arg(long, requires = "check")]
    json: bool,
    /// Also write the dependency graph in Graphviz DOT format to this file
    #[arg(long)]
    dot: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    duro_core::logging::init();
    let config = match Config::load_from_process(args.config.as_deref()) {
        Ok(config) => config,
        Err(error) => return report::fatal(&error),
    };
    let options = ScheduleOptions {
        views_path: args.views.unwrap_or_else(|| config.views.path.clone()),
        state_path: args.state.unwrap_or_else(|| config.state.path.clone()),
        strict: args.strict,
        max_file_size: config.views.max_file_size,
        use_git: args.git || config.views.use_git,
        dot_path: args.dot,
    };
    if args.check {
        return match schedule::check_repository(
            &options.views_path,
            options.strict,
            options.max_file_size,
        ) {
            Ok(checked) => report::checked(&checked, options.dot_path.as_deref(), args.json),
            Err(error) => report::fatal(&error),
        };
    }
    let notifications =
        duro_core::notify::Notifications::from_config(&config.slack, &options.state_path);
    match schedule::run(&options) {
        Ok(outcome) => report::outcome(&outcome, &notifications),
        Err(error) => report::fatal(&error),
    }
}
