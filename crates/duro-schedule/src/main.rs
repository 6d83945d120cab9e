//! `duro-schedule`: read the views repository, check it, and write the catalog to the state file
//! (run by cron after `git pull`). Exit codes: 0 ok, 1 the repository has errors, 2 usage,
//! configuration or environment problems.

mod report;

use clap::Parser;
use duro_core::config::Dialect;
use duro_core::schedule::{self, ScheduleOptions, ScheduleOutcome};
use duro_core::startup::CommonArgs;
use std::path::PathBuf;
use std::process::ExitCode;

/// Parsing thousands of queries is allocation-bound; mimalloc makes a full run markedly faster.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Check a views repository and write its catalog to Duro's state file.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// The views repository (overrides `views.path`)
    #[arg(long)]
    views: Option<PathBuf>,
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
    /// Also write the catalog as a dbt-style manifest.json (models, sources, parent_map and
    /// child_map) to this file, on every run (reading the repository even when its commit was
    /// processed) and with --check; not when the repository has errors
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Check names against this warehouse's limits (overrides `warehouse.dialect`), e.g. in the
    /// views repository's own CI
    #[arg(long, value_enum)]
    dialect: Option<Dialect>,
    /// Print the configuration file as the equivalent duro.yaml (the original Duro's
    /// config.conf translated) without its secrets, and exit
    #[arg(long, conflicts_with_all = ["check", "json", "dot", "manifest", "views", "git", "strict", "dialect"])]
    print_config: bool,
    /// Delete the build records older than `state.keep_builds_for`, then rewrite the state file
    /// once so that the space of deleted records goes back to the file system from then on
    /// (state files made before Duro did so); the other programs wait meanwhile. Then exit
    #[arg(long, conflicts_with_all = ["check", "json", "dot", "manifest", "views", "git", "strict", "dialect", "print_config"])]
    compact: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    duro_core::logging::init();
    let mut config = match args.common.load_config() {
        Ok(config) => config,
        Err(error) => return report::fatal(&error),
    };
    if args.print_config {
        return report::print_config(args.common.config.as_deref());
    }
    if args.compact {
        return report::compact(&config);
    }
    if let Some(views) = args.views {
        config.views.path = views;
    }
    config.views.use_git |= args.git;
    if let Some(dialect) = args.dialect {
        config.warehouse.dialect = dialect;
    }
    let options = ScheduleOptions::from_config(&config, args.strict);
    if args.check {
        return match schedule::check_repository(&options.views_path, &options.check) {
            Ok(checked) => match report::write_graph(&checked, args.dot.as_deref())
                .and_then(|()| report::write_manifest(&checked, args.manifest.as_deref()))
            {
                Ok(()) => report::checked(&checked, args.json),
                Err(code) => code,
            },
            Err(error) => report::fatal(&error),
        };
    }
    let notifications =
        duro_core::notify::Notifications::from_config(&config.slack, &options.state_path);
    match schedule::run(&options) {
        Ok(outcome) => {
            let checked = match &outcome {
                ScheduleOutcome::Rejected { checked } | ScheduleOutcome::Saved { checked, .. } => {
                    Some(checked)
                }
                ScheduleOutcome::UnchangedCommit { .. } => None,
            };
            if let Some(checked) = checked
                && let Err(code) = report::write_graph(checked, args.dot.as_deref())
            {
                return code;
            }
            // The short-cut read nothing: the manifest needs the catalog all the same.
            let reread = match (&outcome, &args.manifest) {
                (ScheduleOutcome::UnchangedCommit { .. }, Some(_)) => {
                    match schedule::check_repository(&options.views_path, &options.check) {
                        Ok(checked) => Some(checked),
                        Err(error) => return report::fatal(&error),
                    }
                }
                _ => None,
            };
            if let Some(checked) = checked.or(reread.as_ref())
                && let Err(code) = report::write_manifest(checked, args.manifest.as_deref())
            {
                return code;
            }
            report::outcome(&outcome, &notifications)
        }
        Err(error) => report::fatal(&error),
    }
}
