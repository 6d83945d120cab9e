//! How every program starts and gives up, the same way: the shared flags (`--config`,
//! `--state`), the configuration loaded once with them applied and its unused settings warned
//! about, and a fatal error reported as one `program: message` line with exit code 2.
//!
//! This is the one place in the library that writes to the terminal (the tidy test allows it
//! here only): a fatal error must reach the operator whatever `DURO_LOG` filters.

use crate::config::{Config, ConfigError};
use std::fmt::Display;
use std::path::PathBuf;
use std::process::ExitCode;

/// The exit code of usage, configuration and environment problems, in every program.
pub const EXIT_FATAL: u8 = 2;

/// The flags every program takes.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct CommonArgs {
    /// Configuration file [default: $DURO_CONFIG, else ./duro.yaml if present]
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The SQLite state file (overrides `state.path`)
    #[arg(long)]
    pub state: Option<PathBuf>,
}

impl CommonArgs {
    /// The configuration (file, then environment, then these flags), with a warning for each
    /// setting that has no effect.
    pub fn load_config(&self) -> Result<Config, ConfigError> {
        let mut config = Config::load_from_process(self.config.as_deref())?;
        if let Some(state) = &self.state {
            config.state.path = state.clone();
        }
        for unused in config.unused_settings() {
            tracing::warn!("{unused}");
        }
        Ok(config)
    }
}

/// Reports a problem that stops `program` before or instead of its work, and the exit code.
#[allow(clippy::print_stderr, reason = "a fatal error is reported on the terminal")]
pub fn fatal(program: &str, error: &dyn Display) -> ExitCode {
    tracing::debug!("fatal: {error}");
    eprintln!("{program}: {error}");
    ExitCode::from(EXIT_FATAL)
}
