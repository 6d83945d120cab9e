//! `duro-create --check-warehouse`: cheap probes of the warehouse with the configured settings,
//! run before the first build. Each probe runs the statements a build runs (rendered by the
//! same functions) on `duro_probe_<pid>` objects in one schema, and every such object is dropped
//! at the end, also after a failed probe. On Redshift this is how a user checks a cluster; the
//! tests run it against PostgreSQL.

use super::processor::{Staging, load_staged, unload};
use super::{Session, snapshot, swap};
use crate::build::Phases;
use crate::catalog::CsvDelimiter;
use crate::catalog::TableConfig;
use crate::config::{Config, ExportMethod};
use crate::errors::with_causes;
use crate::warehouse::render::{self, HISTORY_SUFFIX, OLD_SUFFIX, TEMP_SUFFIX, TableName};
use crate::warehouse::statement::Prepared;
use crate::warehouse::{self, WarehouseError, catalog, connection};
use std::fmt;

/// How one probe went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// It worked; what it found.
    Ok(String),
    /// It failed: the warehouse's reason, and what to do.
    Failed { reason: String, what_to_do: String },
    /// It did not run; why.
    Skipped(String),
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub name: &'static str,
    pub outcome: ProbeOutcome,
}

impl Probe {
    pub fn failed(&self) -> bool {
        matches!(self.outcome, ProbeOutcome::Failed { .. })
    }
}

/// `ok      name: detail`, `failed  name: reason; what to do`, `skipped name: why`.
impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            ProbeOutcome::Ok(detail) => write!(f, "ok       {}: {detail}", self.name),
            ProbeOutcome::Failed { reason, what_to_do } => {
                write!(f, "failed   {}: {reason}; {what_to_do}", self.name)
            }
            ProbeOutcome::Skipped(why) => write!(f, "skipped  {}: {why}", self.name),
        }
    }
}

/// The objects the probes create in `schema`, all named after this process.
struct ProbeNames {
    live: TableName,
    temp: TableName,
    old: TableName,
    history: TableName,
    view: TableName,
}

impl ProbeNames {
    fn new(schema: &str, config: &Config) -> Result<Self, String> {
        let live = TableName::parse(&format!("{schema}.duro_probe_{}", std::process::id()))?;
        let dialect = config.warehouse.dialect;
        Ok(Self {
            temp: live.with_suffix(TEMP_SUFFIX, dialect)?,
            old: live.with_suffix(OLD_SUFFIX, dialect)?,
            history: live.with_suffix(HISTORY_SUFFIX, dialect)?,
            view: live.with_suffix("_view", dialect)?,
            live,
        })
    }

    /// Drops everything a probe may have left, views first.
    fn drop_all(&self, session: &mut Session<'_>) -> Result<(), WarehouseError> {
        let mut statements = vec![render::drop_view_if_exists(&self.view)];
        for table in [&self.history, &self.live, &self.temp, &self.old] {
            statements.push(render::drop_table_if_exists(table));
        }
        // A failed statement may have left a transaction open.
        session.client.batch_execute(render::ROLLBACK).map_err(session.sql_error())?;
        session.client.batch_execute(&statements.join(";\n")).map_err(session.sql_error())
    }
}

/// Runs every probe in `schema`; the report has one line per probe. Never fails itself: what
/// goes wrong is a failed probe.
pub fn check_warehouse(config: &Config, schema: &str) -> Vec<Probe> {
    let mut report = Vec::new();
    let mut record = |name: &'static str, outcome: ProbeOutcome| {
        report.push(Probe { name, outcome });
    };
    let names = match ProbeNames::new(schema, config) {
        Ok(names) => names,
        Err(reason) => {
            record("schema", failed(reason, "name a valid schema with --schema"));
            return report;
        }
    };
    let mut client = match warehouse::connect(&config.warehouse) {
        Ok(client) => client,
        Err(error) => {
            record(
                "connect",
                failed(
                    error.message,
                    "check warehouse.url, the password (warehouse.password, DURO_WAREHOUSE__PASSWORD), warehouse.tls and the network",
                ),
            );
            return report;
        }
    };
    let version = client
        .query_one(render::SERVER_VERSION, &[])
        .map(|row| row.get::<_, String>(0))
        .unwrap_or_else(|e| format!("version unknown: {e}"));
    record("connect", ProbeOutcome::Ok(version));
    record("keepalives", ProbeOutcome::Ok(keepalives(config)));
    let never = || false;
    let mut prepared = Prepared::default();
    let mut session = Session::new(&mut client, &mut prepared, config.warehouse.dialect, &never);
    let probes = run_probes(&mut session, config, &names);
    for (name, outcome) in probes {
        record(name, outcome);
    }
    let cleanup = match names.drop_all(&mut session) {
        Ok(()) => ProbeOutcome::Ok(format!("dropped the `{}*` objects", names.live.name())),
        Err(error) => {
            failed(error.message, &format!("drop the `{}*` objects by hand", names.live.name()))
        }
    };
    record("cleanup", cleanup);
    report
}

fn failed(reason: impl Into<String>, what_to_do: &str) -> ProbeOutcome {
    ProbeOutcome::Failed { reason: reason.into(), what_to_do: what_to_do.to_owned() }
}

/// The keepalive settings connections use (Duro's, unless the URL sets them).
fn keepalives(config: &Config) -> String {
    let url = config.warehouse.url.as_ref().map(|url| url.expose().to_owned()).unwrap_or_default();
    let Ok(mut parsed) = url.parse::<postgres::Config>() else {
        return "the URL does not parse".to_owned();
    };
    connection::apply_keepalives(&mut parsed);
    if !parsed.get_keepalives() {
        return "off (keepalives=0 in warehouse.url)".to_owned();
    }
    format!(
        "first probe after {} s idle, then every {} s, {} probes",
        parsed.get_keepalives_idle().as_secs(),
        parsed.get_keepalives_interval().unwrap_or_default().as_secs(),
        parsed.get_keepalives_retries().unwrap_or_default()
    )
}

/// The probes after connecting, in order; a probe that needs an earlier one's table is skipped
/// when that failed.
fn run_probes(
    session: &mut Session<'_>,
    config: &Config,
    names: &ProbeNames,
) -> Vec<(&'static str, ProbeOutcome)> {
    let schema = &names.live.schema;
    let create_advice = format!(
        "the warehouse user needs `create` and `usage` on schema `{schema}` (grant create, usage on schema {schema} to …), or name another schema with --schema"
    );
    let mut probes = Vec::new();
    let timeout_ms = config.creator.default_timeout.as_millis() as u64;
    probes.push((
        "statement_timeout",
        outcome(
            session
                .client
                .batch_execute(&render::set_statement_timeout(timeout_ms))
                .map_err(session.sql_error())
                .map(|()| {
                    format!("{timeout_ms} ms accepted (it includes WLM queue time on Redshift)")
                }),
            "the warehouse must accept `set statement_timeout`",
        ),
    ));
    let built = build_and_swap(session, names);
    let table_ok = built.is_ok();
    probes.push(("create, swap and replace a table", outcome(built, &create_advice)));
    let needs_table = || ProbeOutcome::Skipped("needs the probe table".to_owned());
    if !table_ok {
        for name in
            ["privileges readable", "views re-pointed", "snapshot", "COPY from S3", "UNLOAD to S3"]
        {
            probes.push((name, needs_table()));
        }
        return probes;
    }
    probes.push((
        "privileges readable",
        outcome(
            catalog::table_facts(session.client, session.prepared, &names.live).map(|facts| {
                match facts {
                    Some(facts) => {
                        format!("{} grantees besides the owner", facts.select_grantees.len())
                    }
                    None => "the table is not in the catalog".to_owned(),
                }
            }),
            "the warehouse user must be able to read pg_class and pg_namespace",
        ),
    ));
    probes.push((
        "views re-pointed",
        outcome(
            view_and_swap(session, names),
            "the warehouse user needs to create and replace views in the schema",
        ),
    ));
    probes.push((
        "snapshot",
        outcome(
            snapshot::take(session, &names.live, 0, Some(60)).map(|_| {
                format!(
                    "appended to `{}`, its age read and old snapshots deleted",
                    names.history.name()
                )
            }),
            "the warehouse user needs to create the `_history` table in the schema",
        ),
    ));
    probes.push(("COPY from S3", copy_probe(session, config, names)));
    probes.push(("UNLOAD to S3", unload_probe(session, config, names)));
    probes
}

fn outcome(result: Result<String, WarehouseError>, what_to_do: &str) -> ProbeOutcome {
    match result {
        Ok(detail) => ProbeOutcome::Ok(detail),
        Err(error) => failed(error.message, what_to_do),
    }
}

/// Builds the probe table and swaps it in as a build does, twice: first when there is no live
/// table, then replacing it (renames and a drop in one transaction).
fn build_and_swap(session: &mut Session<'_>, names: &ProbeNames) -> Result<String, WarehouseError> {
    for round in 1..=2 {
        let create = render::create_temp_table(
            session.dialect,
            &names.temp,
            &format!("select {round} as probe"),
            &TableConfig::default(),
        );
        let sql_error = session.sql_error();
        session
            .client
            .batch_execute(&render::drop_table_if_exists(&names.temp))
            .map_err(sql_error)?;
        session.client.batch_execute(&create).map_err(sql_error)?;
        swap::swap(session, &names.live, &names.temp, &[], &[])?;
    }
    Ok(format!("built `{}` and replaced it in one transaction", names.live.name()))
}

/// A view on the probe table, replaced in place, then the table swapped under it (the view is
/// re-pointed as a build does).
fn view_and_swap(session: &mut Session<'_>, names: &ProbeNames) -> Result<String, WarehouseError> {
    let definition = render::select_probe(&names.live);
    let sql_error = session.sql_error();
    for replace in [false, true] {
        let statement = render::view_definition(&names.view, &definition, replace);
        session.client.batch_execute(&statement).map_err(sql_error)?;
    }
    build_and_swap(session, names)?;
    let value: i32 = session
        .client
        .query_one(&render::select_probe(&names.view), &[])
        .map_err(sql_error)?
        .get(0);
    Ok(format!("`{}` reads the new table (value {value})", names.view.name()))
}

/// One row through the staging bucket into the probe table, as processor output travels.
fn copy_probe(session: &mut Session<'_>, config: &Config, names: &ProbeNames) -> ProbeOutcome {
    let staging = match Staging::from_config(&config.s3) {
        Ok(Some(staging)) => staging,
        Ok(None) => return ProbeOutcome::Skipped("S3 is not configured (s3.bucket)".to_owned()),
        Err(reason) => return failed(reason, "fix the s3.* settings"),
    };
    let file = match write_probe_csv() {
        Ok(file) => file,
        Err(error) => return failed(with_causes(&error), "the temporary folder must be writable"),
    };
    let create = render::create_probe_table(&names.temp);
    let sql_error = session.sql_error();
    let loaded = session
        .client
        .batch_execute(&format!("{};\n{create}", render::drop_table_if_exists(&names.temp)))
        .map_err(sql_error)
        .and_then(|()| {
            load_staged(
                session,
                &staging,
                &names.live,
                &names.temp,
                file.path(),
                CsvDelimiter::Comma,
                &mut Phases::default(),
            )
        });
    match loaded {
        Ok(rows) => ProbeOutcome::Ok(format!(
            "{rows} row loaded through `{}`",
            staging.store.url(&staging.prefix)
        )),
        Err(error) => failed(
            error.message,
            "the cluster's role (s3.iam_role) or the S3 keys need s3:GetObject on the staging bucket, and Duro's keys s3:PutObject and s3:DeleteObject",
        ),
    }
}

/// With `processors.export: unload`, one row unloaded from the probe table into the staging
/// bucket and read back, as a processor's input travels.
fn unload_probe(session: &mut Session<'_>, config: &Config, names: &ProbeNames) -> ProbeOutcome {
    if config.processors.export != ExportMethod::Unload {
        return ProbeOutcome::Skipped("processors.export is `cursor`".to_owned());
    }
    let staging = match Staging::from_config(&config.s3) {
        Ok(Some(staging)) => staging,
        Ok(None) => return failed("S3 is not configured", "`unload` needs `s3.bucket`"),
        Err(reason) => return failed(reason, "fix the s3.* settings"),
    };
    let file = match tempfile::Builder::new().prefix("duro-probe-").suffix(".csv").tempfile() {
        Ok(file) => file,
        Err(error) => return failed(with_causes(&error), "the temporary folder must be writable"),
    };
    let select = render::select_probe(&names.live);
    let unloaded =
        unload(session, &staging, &select, &names.live, file.path(), CsvDelimiter::Comma).and_then(
            |()| {
                std::fs::read_to_string(file.path()).map_err(|e| {
                    WarehouseError::new(crate::build::FailureClass::Internal, e.to_string())
                })
            },
        );
    match unloaded {
        Ok(text) => ProbeOutcome::Ok(format!("read back {:?}", text.trim_end())),
        Err(error) => failed(
            error.message,
            "the cluster's role (s3.iam_role) or the S3 keys need s3:PutObject on the staging bucket",
        ),
    }
}

/// A CSV file with a header and one row.
fn write_probe_csv() -> std::io::Result<tempfile::NamedTempFile> {
    use std::io::Write;
    let mut file = tempfile::Builder::new().prefix("duro-probe-").suffix(".csv").tempfile()?;
    file.write_all(b"probe\n7\n")?;
    file.flush()?;
    Ok(file)
}
