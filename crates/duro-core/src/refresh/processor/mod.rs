//! Processor tables, the orchestration: export the `_select.sql` result to CSV (`transfer`), run
//! `python t.py in.csv out.csv` in the table's own virtual environment with a time limit
//! (`python`), from a copy of the script's folder (`folder`), create the temporary table from the
//! DDL (the table name pointed at the temporary one), and load the output (`COPY … FROM STDIN`,
//! or Redshift's `COPY` from S3). The CSV files use the table's `processor_csv_delimiter`.

mod folder;
mod python;
mod transfer;

use python::ScriptError;

use super::run_as::OsUser;
use super::{Session, Temporary};
use crate::build::{FailureClass, Phases};
use crate::catalog::CsvDelimiter;
use crate::config::{Config, Dialect, ExportMethod, S3Config};
use crate::objectstore::ObjectStore;
use crate::sql::rename_table_in_ddl;
use crate::warehouse::render::TableName;
use crate::warehouse::render::{self, CopyCredentials};
use crate::warehouse::{WarehouseError, catalog, statement};
use python::{ScriptRun, run_script, virtual_environment};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
pub(super) use transfer::unload;
use transfer::{copy_in, export, staging_key};

/// What a processor table adds to its select: the table's own files.
#[derive(Clone, Debug)]
pub struct ProcessorDefinition {
    /// The `create table` statement, naming the live table.
    pub ddl: String,
    /// The script's text.
    pub source: String,
    pub requirements: Option<String>,
    /// The script's path in the views repository (`first/countries.py`): the script runs from a
    /// copy of its folder. `None`: it runs alone.
    pub script_path: Option<String>,
    /// The table's `processor_timeout`; the runner's default when unset.
    pub timeout: Option<Duration>,
    /// The table's `processor_csv_delimiter`.
    pub csv_delimiter: CsvDelimiter,
}

/// How this process runs processor tables: made once from the configuration, shared by every
/// build.
#[derive(Clone, Debug)]
pub struct ProcessorRunner {
    pub venv_dir: PathBuf,
    /// The Python that creates the virtual environments.
    pub python: String,
    pub work_dir: PathBuf,
    pub default_timeout: Duration,
    /// The OS user scripts and `pip` run as (`processors.run_as`); the creator's own when unset.
    pub run_as: Option<OsUser>,
    /// S3 staging of the output (required on Redshift).
    pub staging: Option<Staging>,
    /// How the input leaves the warehouse (`processors.export`).
    pub export: ExportMethod,
    /// The views repository, whose script folders are copied for a run.
    pub views_root: PathBuf,
    /// `views.max_file_size`: the limit on each file copied.
    pub max_file_size: u64,
}

impl ProcessorRunner {
    /// The runner the configuration describes, with the `staging` its `s3.*` describes, or what
    /// is wrong with them: an S3 setting, a `run_as` user that does not exist, Redshift without
    /// S3 staging.
    pub fn from_config(
        config: &Config,
        staging: Result<Option<Staging>, String>,
    ) -> Result<Self, String> {
        let settings = &config.processors;
        let staging = staging?;
        if config.warehouse.dialect == Dialect::Redshift {
            match &staging {
                None => {
                    return Err(
                        "processor tables on Redshift load through S3: configure `s3.bucket`"
                            .to_owned(),
                    );
                }
                Some(staging) if staging.copy_credentials.is_none() => {
                    return Err("Redshift COPY needs `s3.iam_role` or S3 keys".to_owned());
                }
                Some(_) => {}
            }
        }
        // Absolute, because the script runs in its own folder.
        let absolute =
            |path: &Path| std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()));
        Ok(Self {
            venv_dir: absolute(&settings.venv_dir)?,
            python: settings.python.clone(),
            work_dir: absolute(&settings.work_dir.clone().unwrap_or_else(std::env::temp_dir))?,
            default_timeout: settings.default_timeout,
            run_as: settings.run_as.as_deref().map(OsUser::lookup).transpose()?,
            staging,
            export: settings.export,
            views_root: absolute(&config.views.path)?,
            max_file_size: config.views.max_file_size,
        })
    }
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

impl Staging {
    /// How Redshift's `command` (`COPY`, `UNLOAD`) reaches the bucket, or a configuration error.
    pub(crate) fn credentials(&self, command: &str) -> Result<&CopyCredentials, WarehouseError> {
        self.copy_credentials.as_ref().ok_or_else(|| {
            WarehouseError::new(
                FailureClass::Configuration,
                format!("Redshift {command} needs `s3.iam_role` or S3 keys"),
            )
        })
    }

    /// The staging `s3.*` describes; `None` without a bucket.
    pub(crate) fn from_config(config: &S3Config) -> Result<Option<Self>, String> {
        let store = ObjectStore::from_config(config).map_err(|e| format!("S3: {}", e.message))?;
        let Some(store) = store else {
            return Ok(None);
        };
        Ok(Some(Self {
            store: Arc::new(store),
            prefix: config.prefix.clone(),
            keep_files: config.keep_files,
            copy_credentials: CopyCredentials::from_config(config),
            region: config.region.clone(),
        }))
    }
}

pub(super) fn failed(message: impl Into<String>) -> WarehouseError {
    WarehouseError::new(FailureClass::ProcessorFailed, message)
}

/// Builds the temporary table through the processor; returns the rows loaded and the script's
/// output (for the run record).
pub(super) fn create_temp(
    session: &mut Session<'_>,
    runner: &ProcessorRunner,
    table: &Temporary<'_>,
    processor: &ProcessorDefinition,
    phases: &mut Phases,
) -> Result<(i64, String), WarehouseError> {
    let Temporary { live, temp, select, config } = *table;
    let work = tempfile::Builder::new()
        .prefix(&format!("duro-{}-", live.name()))
        .tempdir_in(&runner.work_dir)
        .map_err(|e| {
            failed(format!("cannot create a working folder in {}: {e}", runner.work_dir.display()))
        })?;
    if let Some(user) = &runner.run_as {
        // The script writes its output here.
        user.give(work.path()).map_err(failed)?;
    }
    let input = work.path().join("in.csv");
    let output = work.path().join("out.csv");
    let delimiter = processor.csv_delimiter;
    phases.time("select", || match (runner.export, &runner.staging) {
        (ExportMethod::Unload, Some(staging)) => {
            unload(session, staging, select, live, &input, delimiter)
        }
        _ => export(session, select, &input, delimiter),
    })?;
    let python = phases.time("venv", || {
        virtual_environment(runner, live, processor.requirements.as_deref().unwrap_or_default())
    })?;
    let (folder, script) = folder::prepare(runner, processor, live, work.path())?;
    if session.is_cancelled() {
        return Err(WarehouseError::new(
            FailureClass::Cancelled,
            "cancelled because Duro is shutting down",
        ));
    }
    let run = ScriptRun {
        run_as: runner.run_as.as_ref(),
        folder: &folder,
        timeout: processor.timeout.unwrap_or(runner.default_timeout),
    };
    let log = phases.time("process", || run_script(&python, &script, &input, &output, &run))?;
    if !output.is_file() {
        return Err(failed(format!("the processor wrote no output file (argv[2])\n{log}")));
    }
    let ddl = rename_table_in_ddl(&processor.ddl, &live.schema, &live.table, &temp.table)
        .map_err(failed)?;
    let (sql_error, dialect) = (session.sql_error(), session.dialect);
    session.client.batch_execute(&render::drop_table_if_exists(temp)).map_err(sql_error)?;
    // The DDL is the repository's text: sent alone.
    let create = render::processor_create_table(dialect, &ddl, config);
    statement::execute_alone(session.client, &create).map_err(sql_error)?;
    let rows = match &runner.staging {
        None => phases.time("load", || {
            let mut file = std::fs::File::open(&output)
                .map_err(|e| failed(format!("cannot read the output: {e}")))?;
            copy_in(session, temp, delimiter, |writer| {
                std::io::copy(&mut file, writer).map(|_| ()).map_err(|e| e.to_string())
            })
        })?,
        Some(staging) => load_staged(session, staging, live, temp, &output, delimiter, phases)?,
    };
    Ok((rows, log))
}

/// Uploads `output` (a CSV file with a header row) to the staging bucket and loads it into
/// `temp`: `COPY … FROM 's3://…'` on Redshift (the first refused row named on failure), streamed
/// back into `COPY … FROM STDIN` on PostgreSQL. The staged object is deleted unless
/// `s3.keep_files`. Returns the rows loaded.
pub(super) fn load_staged(
    session: &mut Session<'_>,
    staging: &Staging,
    live: &TableName,
    temp: &TableName,
    output: &Path,
    delimiter: CsvDelimiter,
    phases: &mut Phases,
) -> Result<i64, WarehouseError> {
    let (sql_error, dialect) = (session.sql_error(), session.dialect);
    let key = staging_key(&staging.prefix, live);
    phases
        .time("s3", || staging.store.upload(&key, output))
        .map_err(WarehouseError::from_object_store)?;
    let loaded = phases.time("load", || match dialect {
        Dialect::Postgres => copy_in(session, temp, delimiter, |writer| {
            staging.store.download(&key, writer).map_err(|e| e.message)
        }),
        Dialect::Redshift => {
            let credentials = staging.credentials("COPY")?;
            let (copy, redacted) = render::copy_from_s3(
                temp,
                &staging.store.url(&key),
                credentials,
                staging.region.as_deref(),
                delimiter,
            );
            // Only the redacted form is ever logged.
            tracing::debug!("{redacted}");
            if let Err(error) = session.client.batch_execute(&copy) {
                let mut error = sql_error(error);
                if let Some(detail) = catalog::last_load_error(session.client) {
                    error.message = format!("{}; the first refused row: {detail}", error.message);
                }
                return Err(error);
            }
            super::count_rows(session, temp)
        }
    });
    if !staging.keep_files
        && let Err(error) = staging.store.delete(&key)
    {
        tracing::warn!("could not delete the staged file: {error}");
    }
    loaded
}

impl From<ScriptError> for WarehouseError {
    fn from(error: ScriptError) -> Self {
        match error {
            ScriptError::Failed(message) => failed(message),
            ScriptError::TimedOut(message) => WarehouseError::new(FailureClass::Timeout, message),
        }
    }
}
