//! `duro-create`: rebuild due tables in the warehouse, as a daemon (under supervisor) or once.
//! Exit codes: 0 ok, 1 a build failed (with --once or --table), 2 usage, configuration or
//! environment problems.

mod daemon;
mod replication;
mod s3_load;

use clap::Parser;
use duro_core::creator::Selection;
use duro_core::s3_load::Overrides;
use duro_core::startup::CommonArgs;
use std::process::ExitCode;

/// Rebuild the due tables of Duro's catalog in the warehouse.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Run one cycle and exit (non-zero when a build failed)
    #[arg(long)]
    once: bool,
    /// Build this table now, due or not, and exit
    #[arg(long, value_name = "SCHEMA.TABLE")]
    table: Option<String>,
    /// With --table: build its stale dependencies first
    #[arg(long, requires = "table")]
    with_deps: bool,
    /// Build the tables these expressions select now, due or not, in dependency order:
    /// `schema.table`, `schema.*`, `+X` (and what it reads), `X+` (and what reads it), `2+X`,
    /// `X+1`, `@X`, `source:schema.table+`, `kind:processor`; several are a union
    #[arg(long, num_args = 1.., value_name = "EXPR", conflicts_with_all = ["table", "once"])]
    select: Vec<String>,
    /// With --select: leave out the tables these expressions select
    #[arg(long, num_args = 1.., value_name = "EXPR", requires = "select")]
    exclude: Vec<String>,
    /// Print the plan (what would be built, in which order, and why) and exit
    #[arg(long)]
    dry_run: bool,
    /// Tables built at once, each on its own connection (overrides `creator.jobs`)
    #[arg(long)]
    jobs: Option<u64>,
    /// Check the warehouse with the configured settings (connection, a table built and swapped,
    /// privileges, views, a snapshot, COPY through S3) using `duro_probe_<pid>` objects it drops
    /// again; one line per probe, exit 1 when one failed
    #[arg(long, conflicts_with_all = ["once", "table", "dry_run"])]
    check_warehouse: bool,
    /// With --check-warehouse: the schema to probe in (default: the catalog's first schema)
    #[arg(long, requires = "check_warehouse")]
    schema: Option<String>,
    /// Print the source-side DDL (queue table and trigger) that tracks deletions for this
    /// replication node
    #[arg(long, value_name = "SCHEMA.TABLE", conflicts_with_all = ["once", "table", "dry_run", "check_warehouse"])]
    triggers: Option<String>,
    /// With --triggers: run the DDL on the source instead of printing it
    #[arg(long, requires = "triggers")]
    apply: bool,
    /// With --table: forget the replication node's watermark, so this run copies everything
    #[arg(long, requires = "table", conflicts_with = "dry_run")]
    reset: bool,
    /// With --reset: confirm the reset of an identity node (every row is replaced)
    #[arg(long, requires = "reset")]
    yes: bool,
    /// With --table, an S3 load node: load exactly the file of this data date
    /// (2015-07-02T00:00:00Z)
    #[arg(long, requires = "table", value_name = "DATE", value_parser = s3_load::parse_date)]
    date: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// With --table, an S3 load node: load even when the file is not newer than the table's data
    #[arg(long, requires = "table")]
    force: bool,
    /// With --table, an S3 load node: delete every row first, whatever the node's `mode`
    #[arg(long, requires = "table")]
    truncate: bool,
    /// With --table: let a new version that breaks the table's row-count rules (`min_rows`,
    /// `max_row_drop`) go live this once, after a legitimate purge
    #[arg(long, requires = "table")]
    accept_row_drop: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    duro_core::logging::init();
    let mut config = match args.common.load_config() {
        Ok(config) => config,
        Err(error) => return daemon::fatal(&error),
    };
    if let Some(jobs) = args.jobs {
        config.creator.jobs = jobs;
    }
    if let Some(table) = &args.triggers {
        return replication::triggers(&config, table, args.apply);
    }
    if args.reset
        && let Some(table) = &args.table
        && let Err(code) = replication::reset(&config, table, args.yes)
    {
        return code;
    }
    let selection = match args.table {
        Some(name) => {
            let load = Overrides { date: args.date, force: args.force, truncate: args.truncate };
            let load = match s3_load::overrides(&config, &name, load) {
                Ok(load) => load,
                Err(code) => return code,
            };
            Selection::Table {
                name,
                with_dependencies: args.with_deps,
                load,
                accept_row_drop: args.accept_row_drop,
            }
        }
        None if !args.select.is_empty() => {
            Selection::Select { include: args.select, exclude: args.exclude }
        }
        None => Selection::Due,
    };
    if args.check_warehouse {
        return daemon::check_warehouse(&config, args.schema);
    }
    if args.dry_run {
        return daemon::dry_run(config, &selection);
    }
    if args.once || matches!(selection, Selection::Table { .. } | Selection::Select { .. }) {
        return daemon::once(config, &selection);
    }
    daemon::run_forever(config)
}
