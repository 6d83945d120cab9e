//! Processor tables, the orchestration: export the `_select.sql` result to CSV (`transfer`), run
//! `python t.py in.csv out.csv` in the table's own virtual environment with a time limit
//! (`python`), create the temporary table from the DDL (the table name pointed at the temporary
//! one), and load the output (`COPY … FROM STDIN`, or Redshift's `COPY` from S3).

mod python;
mod transfer;

use python::ScriptError;

use super::run_as::OsUser;
use crate::build::{FailureClass, Phases};
use crate::catalog::TableConfig;
use crate::config::Dialect;
use crate::objectstore::ObjectStore;
use crate::sql::rename_table_in_ddl;
use crate::warehouse::render::{self, CopyCredentials, TableRef};
use crate::warehouse::{WarehouseError, statement};
use postgres::Client;
use python::{run_script, virtual_environment};
use std::path::PathBuf;
use std::sync::Arc;
use transfer::{copy_in, export, s3_error, staging_key};

/// Everything a processor table needs besides its select.
#[derive(Clone, Debug)]
pub struct ProcessorDefinition {
    /// The `create table` statement, naming the live table.
    pub ddl: String,
    /// The script's text.
    pub source: String,
    pub requirements: Option<String>,
    /// The script's folder in the views repository (on `PYTHONPATH`, for helper modules).
    pub script_folder: Option<PathBuf>,
    pub venv_dir: PathBuf,
    pub python: String,
    pub work_dir: PathBuf,
    pub timeout_seconds: u64,
    /// The OS user scripts and `pip` run as (`processors.run_as`); the creator's own when unset.
    pub run_as: Option<OsUser>,
    /// S3 staging of the output (required on Redshift).
    pub staging: Option<Staging>,
}

/// Where processor output is staged on its way into the warehouse.
#[derive(Clone, Debug)]
pub struct Staging {
    pub store: Arc<ObjectStore>,
    pub prefix: String,
    pub keep_files: bool,
    /// How Redshift's `COPY` reads the bucket (an IAM role or keys).
    pub copy_credentials: Option<CopyCredentials>,
    pub region: Option<String>,
}

pub(super) fn failed(message: impl Into<String>) -> WarehouseError {
    WarehouseError::new(FailureClass::ProcessorFailed, message)
}

/// Builds the temporary table through the processor; returns the rows loaded and the script's
/// output (for the run record).
#[allow(clippy::too_many_arguments)]
pub fn create_temp(
    client: &mut Client,
    dialect: Dialect,
    live: &TableRef,
    temp: &TableRef,
    select: &str,
    config: &TableConfig,
    processor: &ProcessorDefinition,
    phases: &mut Phases,
    is_cancelled: &dyn Fn() -> bool,
) -> Result<(i64, String), WarehouseError> {
    if dialect == Dialect::Redshift && processor.staging.is_none() {
        return Err(failed("processor tables on Redshift load through S3: configure `s3.bucket`"));
    }
    let work = tempfile::Builder::new()
        .prefix(&format!("duro-{}-", live.name()))
        .tempdir_in(&processor.work_dir)
        .map_err(|e| {
            failed(format!(
                "cannot create a working folder in {}: {e}",
                processor.work_dir.display()
            ))
        })?;
    if let Some(user) = &processor.run_as {
        // The script writes its output here.
        user.give(work.path()).map_err(failed)?;
    }
    let input = work.path().join("in.csv");
    let output = work.path().join("out.csv");
    phases.time("select", || export(client, select, &input, is_cancelled))?;
    let python = phases.time("venv", || virtual_environment(live, processor))?;
    let script = work.path().join(format!("{}.py", live.table));
    std::fs::write(&script, &processor.source)
        .map_err(|e| failed(format!("cannot write the script: {e}")))?;
    if is_cancelled() {
        return Err(WarehouseError::new(
            FailureClass::Cancelled,
            "cancelled because Duro is shutting down",
        ));
    }
    let log =
        phases.time("process", || run_script(&python, &script, &input, &output, processor))?;
    if !output.is_file() {
        return Err(failed(format!("the processor wrote no output file (argv[2])\n{log}")));
    }
    let ddl = rename_table_in_ddl(&processor.ddl, &live.schema, &live.table, &temp.table)
        .map_err(failed)?;
    let sql_error = |error: postgres::Error| WarehouseError::from_postgres(&error, is_cancelled());
    client.batch_execute(&render::drop_table_if_exists(temp)).map_err(sql_error)?;
    // The DDL is the repository's text: sent alone.
    statement::execute_alone(client, &render::processor_create_table(dialect, &ddl, config))
        .map_err(sql_error)?;
    let rows = match &processor.staging {
        None => phases.time("load", || {
            let mut file = std::fs::File::open(&output)
                .map_err(|e| failed(format!("cannot read the output: {e}")))?;
            copy_in(client, temp, is_cancelled, |writer| {
                std::io::copy(&mut file, writer).map(|_| ()).map_err(|e| e.to_string())
            })
        })?,
        Some(staging) => {
            let key = staging_key(&staging.prefix, live);
            phases.time("s3", || staging.store.upload(&key, &output)).map_err(s3_error)?;
            let loaded = phases.time("load", || match dialect {
                Dialect::Postgres => copy_in(client, temp, is_cancelled, |writer| {
                    staging.store.download(&key, writer).map_err(|e| e.message)
                }),
                Dialect::Redshift => {
                    let credentials = staging
                        .copy_credentials
                        .as_ref()
                        .ok_or_else(|| failed("Redshift COPY needs `s3.iam_role` or S3 keys"))?;
                    let (copy, redacted) = render::copy_from_s3(
                        temp,
                        &staging.store.url(&key),
                        credentials,
                        staging.region.as_deref(),
                    );
                    // Only the redacted form is ever logged.
                    tracing::debug!("{redacted}");
                    client.batch_execute(&copy).map_err(sql_error)?;
                    super::count_rows(client, temp, is_cancelled)
                }
            });
            if !staging.keep_files
                && let Err(error) = staging.store.delete(&key)
            {
                tracing::warn!("could not delete the staged file: {error}");
            }
            loaded?
        }
    };
    Ok((rows, log))
}

impl From<ScriptError> for WarehouseError {
    fn from(error: ScriptError) -> Self {
        match error {
            ScriptError::Failed(message) => failed(message),
            ScriptError::TimedOut(message) => WarehouseError::new(FailureClass::Timeout, message),
        }
    }
}
