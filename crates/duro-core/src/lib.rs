//! Duro's core library: the views repository model, dependency detection, checks and the
//! SQLite state file shared by the `duro-schedule`, `duro-create` and `duro-server` binaries.
//!
//! Pure modules (`interval`, `identifier`, `sql`, `graph`, `checks`) take data and return data;
//! `views`, `config`, `git` and `state` do I/O. `schedule` combines them into one scheduler run.

pub mod build;
pub mod catalog;
pub mod checks;
pub mod clock;
pub mod config;
pub mod creator;
pub mod crypto;
pub(crate) mod csv;
pub mod diagnostic;
pub mod errors;
pub mod force;
pub mod git;
pub mod graph;
pub mod identifier;
pub mod ini;
pub mod interval;
pub mod logging;
pub mod manifest;
pub mod notify;
pub mod objectstore;
pub mod plan;
pub mod refresh;
pub mod replication;
pub mod s3_load;
pub mod schedule;
pub mod select;
pub mod sources;
pub mod sql;
pub mod startup;
pub mod state;
pub mod status;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod views;
pub mod warehouse;

pub use diagnostic::{Diagnostic, Severity};
