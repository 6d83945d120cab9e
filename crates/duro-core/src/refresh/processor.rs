//! Processor tables: export the `_select.sql` result to CSV (streamed through a cursor, never
//! the whole result in memory), run `python t.py in.csv out.csv` in the table's own virtual
//! environment with a time limit, create the temporary table from the DDL (the table name
//! pointed at the temporary one), and load the output with `COPY … FROM STDIN`.

use super::csv::write_record;
use super::run_as::{self, OsUser};
use crate::build::FailureClass;
use crate::build::Phases;
use crate::catalog::TableConfig;
use crate::config::Dialect;
use crate::objectstore::{ObjectStore, ObjectStoreError};
use crate::sql::rename_table_in_ddl;
use crate::warehouse::render::{self, CopyCredentials, TableRef};
use crate::warehouse::{WarehouseError, statement};
use postgres::{Client, SimpleQueryMessage};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Rows fetched from the cursor at a time while exporting.
const FETCH_ROWS: usize = 1_000;
/// How much of a script's stdout and stderr is kept (the end of each).
const OUTPUT_LIMIT: usize = 8 * 1024;
/// The variables a processor script inherits (plus `LC_*`).
const SCRIPT_ENVIRONMENT: [&str; 6] = ["PATH", "HOME", "LANG", "TZ", "TMPDIR", "USER"];
/// The file in a virtual environment recording the requirements it was built with.
const REQUIREMENTS_MARKER: &str = ".duro-requirements.txt";

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

fn failed(message: impl Into<String>) -> WarehouseError {
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

/// S3 could not be reached (worth a retry), or refused what the settings ask (keys, bucket):
/// a setting to fix.
fn s3_error(error: ObjectStoreError) -> WarehouseError {
    WarehouseError {
        class: if error.transient { FailureClass::Connection } else { FailureClass::Configuration },
        transient: error.transient,
        message: error.message,
    }
}

/// A key no other run uses: `<prefix><schema.table>/<ms>-<process>-<sequence>.csv`.
fn staging_key(prefix: &str, live: &TableRef) -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let millis = crate::clock::now_ms();
    let sequence = SEQUENCE.fetch_add(1, Ordering::SeqCst);
    format!("{prefix}{}/{millis}-{}-{sequence}.csv", live.name(), std::process::id())
}

/// `COPY … FROM STDIN` into `temp`, with `fill` writing the CSV; returns the rows loaded.
fn copy_in(
    client: &mut Client,
    temp: &TableRef,
    is_cancelled: &dyn Fn() -> bool,
    fill: impl FnOnce(&mut postgres::CopyInWriter<'_>) -> Result<(), String>,
) -> Result<i64, WarehouseError> {
    let mut writer = client
        .copy_in(&format!("copy {} from stdin with (format csv, header true)", temp.quoted()))
        .map_err(|error| WarehouseError::from_postgres(&error, is_cancelled()))?;
    fill(&mut writer).map_err(|message| failed(format!("cannot load the output: {message}")))?;
    let rows = writer.finish().map_err(|e| {
        let error = WarehouseError::from_postgres(&e, is_cancelled());
        failed(format!("the output does not fit the table's DDL: {}", error.message))
    })?;
    Ok(rows as i64)
}

/// Streams the select's rows to a CSV file with a header, through a cursor.
fn export(
    client: &mut Client,
    select: &str,
    path: &Path,
    is_cancelled: &dyn Fn() -> bool,
) -> Result<(), WarehouseError> {
    let sql_error = |error: postgres::Error| WarehouseError::from_postgres(&error, is_cancelled());
    let io_error = |e: std::io::Error| failed(format!("cannot write the input CSV: {e}"));
    let mut out = BufWriter::new(std::fs::File::create(path).map_err(io_error)?);
    let mut transaction = client.transaction().map_err(sql_error)?;
    // The select is the repository's text: sent alone.
    statement::execute_alone(&mut transaction, &format!("declare duro_export cursor for {select}"))
        .map_err(sql_error)?;
    let mut header_written = false;
    loop {
        let messages = transaction
            .simple_query(&format!("fetch forward {FETCH_ROWS} from duro_export"))
            .map_err(sql_error)?;
        let mut fetched = 0;
        for message in &messages {
            match message {
                SimpleQueryMessage::RowDescription(columns) if !header_written => {
                    let names: Vec<Option<&str>> = columns.iter().map(|c| Some(c.name())).collect();
                    write_record(&mut out, &names).map_err(io_error)?;
                    header_written = true;
                }
                SimpleQueryMessage::Row(row) => {
                    if !header_written {
                        let names: Vec<Option<&str>> =
                            row.columns().iter().map(|c| Some(c.name())).collect();
                        write_record(&mut out, &names).map_err(io_error)?;
                        header_written = true;
                    }
                    let fields: Vec<Option<&str>> = (0..row.len()).map(|i| row.get(i)).collect();
                    write_record(&mut out, &fields).map_err(io_error)?;
                    fetched += 1;
                }
                _ => {}
            }
        }
        if fetched < FETCH_ROWS {
            break;
        }
    }
    if !header_written {
        // An empty result: still give the script a header row with the column names.
        let described = transaction.prepare(select).map_err(sql_error)?;
        let names: Vec<Option<&str>> = described.columns().iter().map(|c| Some(c.name())).collect();
        write_record(&mut out, &names).map_err(io_error)?;
    }
    transaction.batch_execute("close duro_export").map_err(sql_error)?;
    transaction.commit().map_err(sql_error)?;
    out.flush().map_err(io_error)
}

/// The table's virtual environment, created with the configured Python and re-used while its
/// requirements are unchanged. Returns its Python.
fn virtual_environment(
    live: &TableRef,
    processor: &ProcessorDefinition,
) -> Result<PathBuf, WarehouseError> {
    let venv = processor.venv_dir.join(live.name());
    let python = venv.join("bin").join("python");
    let requirements = processor.requirements.clone().unwrap_or_default();
    let marker = venv.join(REQUIREMENTS_MARKER);
    let wanted = format!("{}\n{requirements}", processor.python);
    if python.exists() && std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str())
    {
        return Ok(python);
    }
    let _ = std::fs::remove_dir_all(&venv);
    std::fs::create_dir_all(&processor.venv_dir)
        .map_err(|e| failed(format!("cannot create {}: {e}", processor.venv_dir.display())))?;
    let needs_packages = requirements
        .lines()
        .any(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'));
    if let Some(user) = &processor.run_as {
        std::fs::create_dir_all(&venv)
            .map_err(|e| failed(format!("cannot create {}: {e}", venv.display())))?;
        user.give(&venv).map_err(failed)?;
    }
    let mut create = run_as::command(processor.run_as.as_ref(), &processor.python);
    create.args(["-m", "venv"]);
    if !needs_packages {
        create.arg("--without-pip");
    }
    create.arg(&venv);
    run_to_completion(create, "creating the virtual environment")?;
    if needs_packages {
        let file = venv.join("requirements.txt");
        std::fs::write(&file, &requirements)
            .map_err(|e| failed(format!("cannot write the requirements: {e}")))?;
        let mut pip = run_as::command(processor.run_as.as_ref(), venv.join("bin").join("pip"));
        pip.args(["install", "--disable-pip-version-check", "--no-input", "-r"]).arg(&file);
        if let Err(error) = run_to_completion(pip, "installing the requirements") {
            let _ = std::fs::remove_dir_all(&venv);
            return Err(error);
        }
    }
    std::fs::write(&marker, wanted)
        .map_err(|e| failed(format!("cannot write {}: {e}", marker.display())))?;
    Ok(python)
}

fn run_to_completion(mut command: Command, what: &str) -> Result<(), WarehouseError> {
    let output = command.output().map_err(|e| failed(format!("{what} failed to start: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    Err(failed(format!(
        "{what} failed ({})\n{}",
        output.status,
        describe_output(&output.stdout, &output.stderr)
    )))
}

/// Runs the script with a time limit; returns its (truncated) output.
fn run_script(
    python: &Path,
    script: &Path,
    input: &Path,
    output: &Path,
    processor: &ProcessorDefinition,
) -> Result<String, WarehouseError> {
    let mut command = run_as::command(processor.run_as.as_ref(), python);
    command
        .arg(script)
        .arg(input)
        .arg(output)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The script gets a clean environment: Duro's secrets (warehouse, S3, Slack) are not its
    // business, and its output ends up in the UI and Slack.
    command.env_clear();
    for (key, value) in std::env::vars() {
        if SCRIPT_ENVIRONMENT.contains(&key.as_str()) || key.starts_with("LC_") {
            command.env(key, value);
        }
    }
    if let Some(folder) = &processor.script_folder {
        command.env("PYTHONPATH", folder);
    }
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child =
        command.spawn().map_err(|e| failed(format!("cannot start {}: {e}", python.display())))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = stdout.read_to_end(&mut buffer);
        buffer
    });
    let err_reader = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = stderr.read_to_end(&mut buffer);
        buffer
    });
    let deadline = Instant::now() + Duration::from_secs(processor.timeout_seconds);
    let status = loop {
        if let Some(status) =
            child.try_wait().map_err(|e| failed(format!("lost the processor: {e}")))?
        {
            break Some(status);
        }
        if Instant::now() >= deadline {
            // The whole process group, so the script's own children stop too.
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = describe_output(
        &out_reader.join().unwrap_or_default(),
        &err_reader.join().unwrap_or_default(),
    );
    match status {
        None => Err(WarehouseError::new(
            FailureClass::Timeout,
            format!(
                "the processor ran longer than {} s and was stopped\n{log}",
                processor.timeout_seconds
            ),
        )),
        Some(status) if !status.success() => {
            Err(failed(format!("the processor failed ({status})\n{log}")))
        }
        Some(_) => Ok(log),
    }
}

/// The end of stdout and stderr, labelled, for the run record.
fn describe_output(stdout: &[u8], stderr: &[u8]) -> String {
    let tail = |bytes: &[u8]| -> String {
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim_end();
        if text.len() <= OUTPUT_LIMIT {
            return text.to_owned();
        }
        let mut start = text.len() - OUTPUT_LIMIT;
        while !text.is_char_boundary(start) {
            start += 1;
        }
        format!("[… {start} bytes cut …]\n{}", &text[start..])
    };
    let mut parts = Vec::new();
    for (name, bytes) in [("stdout", stdout), ("stderr", stderr)] {
        let text = tail(bytes);
        if !text.is_empty() {
            parts.push(format!("--- {name} ---\n{text}"));
        }
    }
    parts.join("\n")
}
