//! `duro-create`: rebuilds due tables in the warehouse. In this version it opens the state file (creating it and applying
//! migrations, like every Duro binary at start) and exits; the create loop is not part of it yet.

use clap::Parser;
use duro_core::config::Config;
use duro_core::state::StateFile;
use std::path::PathBuf;
use std::process::ExitCode;

/// Duro's create binary.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Configuration file [default: $DURO_CONFIG, else ./duro.yaml if present]
    #[arg(long)]
    config: Option<PathBuf>,
    /// The SQLite state file (overrides `state.path`)
    #[arg(long)]
    state: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::load_from_process(args.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("duro-create: {error}");
            return ExitCode::from(2);
        }
    };
    let state_path = args.state.unwrap_or(config.state.path);
    match StateFile::open(&state_path).and_then(|state| state.schema_version()) {
        Ok(version) => {
            println!(
                "duro-create: state file {} is ready (schema version {version})",
                state_path.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("duro-create: {error}");
            ExitCode::from(2)
        }
    }
}
