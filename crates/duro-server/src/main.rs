//! `duro-server`: serves the web UI and JSON API over the state file. Flags override
//! `duro.yaml` and `DURO_SERVER__*`; it prints the address it listens on, then serves until
//! SIGTERM or SIGINT (finishing requests in flight).

use actix_web::web;
use clap::Parser;
use duro_core::startup::{self, CommonArgs};
use duro_core::state::StateFile;
use duro_server::{ServerContext, serve};
use std::process::ExitCode;

/// Duro's web UI and JSON API.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    /// Address to listen on, `host:port` (overrides `server.bind`; default 127.0.0.1:8080)
    #[arg(long)]
    bind: Option<String>,
    /// Path prefix when served behind a reverse proxy, like `/duro` (overrides `server.base_path`)
    #[arg(long)]
    base_path: Option<String>,
    /// Worker threads [default: the number of CPUs]
    #[arg(long)]
    workers: Option<usize>,
}

fn main() -> ExitCode {
    duro_core::logging::init();
    let args = Args::parse();
    let fatal = |error: &dyn std::fmt::Display| startup::fatal("duro-server", error);
    let config = match args.common.load_config() {
        Ok(config) => config,
        Err(error) => return fatal(&error),
    };
    let bind = args.bind.unwrap_or_else(|| config.server.bind.clone());
    let context = match ServerContext::new(&config, args.base_path.as_deref()) {
        Ok(context) => web::Data::new(context),
        Err(error) => return fatal(&error),
    };
    if let Err(error) = StateFile::open(&config.state.path) {
        return fatal(&error);
    }
    match actix_web::rt::System::new().block_on(serve(context, &bind, args.workers)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fatal(&error),
    }
}
