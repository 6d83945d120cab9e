//! Rebuilding one table in the warehouse: build the new version into `t_duro_temp`, run the
//! table's tests on it, swap it in within one transaction (re-pointing bound views, keeping
//! grants), then take a snapshot when configured. A failure before the swap leaves the live
//! table untouched; the swap itself is atomic.

pub mod cost;
pub(crate) mod data_tests;
pub mod probes;
mod processor;
mod row_guard;
pub mod row_rules;
mod run_as;
mod session;
mod snapshot;
pub(crate) mod swap;

pub use data_tests::BEGIN_READ_ONLY;
pub use processor::{ProcessorDefinition, ProcessorRunner, Staging};
pub(crate) use row_guard::RowGuard;
pub use run_as::OsUser;
pub use session::Session;

use crate::build::{BuildOutcome, FailureClass, Phases};
use crate::catalog::TableConfig;
use crate::catalog::indexes::IndexSpec;
use crate::config::{Config, Dialect};
use crate::warehouse::grantee::Grantee;
use crate::warehouse::render::{self, TEMP_SUFFIX, TableName};
use crate::warehouse::statement::Prepared;
use crate::warehouse::{WarehouseError, indexes, statement};
use postgres::Client;
use row_rules::RowCheck;

/// What every build of a process shares; the creator makes it once, at start.
#[derive(Clone, Debug)]
pub struct BuildContext {
    pub dialect: Dialect,
    /// How processor tables run, or what is wrong with their settings (a build of a processor
    /// table then fails with that; the creator refuses to start when the catalog has one).
    pub processors: Result<ProcessorRunner, String>,
    /// The S3 staging bucket (`s3.*`) replication nodes with `transport: s3` go through, or
    /// what is wrong with its settings.
    pub staging: Result<Option<Staging>, String>,
}

impl BuildContext {
    pub fn from_config(config: &Config) -> Self {
        let staging = Staging::from_config(&config.s3);
        Self {
            dialect: config.warehouse.dialect,
            processors: ProcessorRunner::from_config(config, staging.clone()),
            staging,
        }
    }

    /// A session on `client` (with the statements prepared on it) in this context's dialect.
    pub fn session<'a>(
        &self,
        client: &'a mut Client,
        prepared: &'a mut Prepared,
        cancel: &'a dyn Fn() -> bool,
    ) -> Session<'a> {
        Session::new(client, prepared, self.dialect, cancel)
    }
}

/// The temporary table being built for a live one, and what fills it.
#[derive(Clone, Copy)]
pub(crate) struct Temporary<'a> {
    pub live: &'a TableName,
    pub temp: &'a TableName,
    pub select: &'a str,
    pub config: &'a TableConfig,
}

/// What one table needs to be built.
#[derive(Clone, Debug)]
pub struct TableDefinition {
    pub name: TableName,
    pub query: String,
    pub tests: Option<String>,
    pub config: TableConfig,
    /// Set for processor tables: `query` then feeds the script.
    pub processor: Option<ProcessorDefinition>,
    /// The baseline and the one-time acceptance of the row-count rules.
    pub row_check: RowCheck,
}

/// A finished build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Built {
    /// `succeeded`, or `unchanged` when a run found nothing new (replication).
    pub outcome: BuildOutcome,
    pub rows: i64,
    pub snapshot_taken: bool,
    /// A processor's output.
    pub output: Option<String>,
    /// A problem after the swap (the snapshot), for the run record.
    pub warning: Option<String>,
}

pub(crate) fn count_rows(
    session: &mut Session<'_>,
    table: &TableName,
) -> Result<i64, WarehouseError> {
    let messages =
        session.client.simple_query(&render::count_rows(table)).map_err(session.sql_error())?;
    let count = messages.iter().find_map(|m| match m {
        postgres::SimpleQueryMessage::Row(row) => row.get(0).and_then(|v| v.parse::<i64>().ok()),
        _ => None,
    });
    count.ok_or_else(|| {
        WarehouseError::new(FailureClass::SqlError, "could not count the rows of the new table")
    })
}

/// Builds `table` in `session`. Statements are limited to `timeout_seconds` each by the
/// warehouse (`statement_timeout`).
pub fn build_table(
    session: &mut Session<'_>,
    processors: &Result<ProcessorRunner, String>,
    table: &TableDefinition,
    timeout_seconds: u64,
    phases: &mut Phases,
) -> Result<Built, WarehouseError> {
    let (sql_error, dialect) = (session.sql_error(), session.dialect);
    let live = &table.name;
    let temp = live
        .with_suffix(TEMP_SUFFIX, dialect)
        .map_err(|m| WarehouseError::new(FailureClass::SqlError, m))?;
    let timeout = render::set_statement_timeout(timeout_seconds.saturating_mul(1_000));
    // One round trip: the limit, and a temporary table a crash may have left.
    let prepare = match &table.processor {
        None => format!("{timeout};\n{}", render::drop_table_if_exists(&temp)),
        Some(_) => timeout,
    };
    if let Err(error) = session.client.batch_execute(&prepare) {
        return Err(sql_error(error));
    }
    if let Some(limit) = table.config.max_cost {
        let cost = phases.time("explain", || cost::explain(session, &table.query))?;
        phases.set_plan_cost(cost);
        cost::within(cost, limit)
            .map_err(|message| WarehouseError::new(FailureClass::CostExceeded, message))?;
    }
    let mut output = None;
    let result = match &table.processor {
        None => phases.time("create_temp", || -> Result<i64, WarehouseError> {
            let create = render::create_temp_table(dialect, &temp, &table.query, &table.config);
            // The query is the repository's text: sent alone. The command tag counts the rows
            // (`SELECT n`); a server whose tag has no count gives 0, so an empty count is checked.
            match statement::execute_alone(session.client, &create).map_err(sql_error)? {
                0 => count_rows(session, &temp),
                rows => i64::try_from(rows).map_err(|_| {
                    WarehouseError::new(
                        FailureClass::SqlError,
                        "the new table's row count is out of range",
                    )
                }),
            }
        }),
        Some(processor) => {
            let temporary =
                Temporary { live, temp: &temp, select: &table.query, config: &table.config };
            processors
                .as_ref()
                .map_err(|message| {
                    WarehouseError::new(FailureClass::Configuration, message.clone())
                })
                .and_then(|runner| {
                    processor::create_temp(session, runner, &temporary, processor, phases)
                })
                .map(|(rows, log)| {
                    output = Some(log);
                    rows
                })
        }
    };
    let rows = match result.and_then(|rows| {
        finish_temp(session, table, &temp, phases)?;
        Ok(rows)
    }) {
        Ok(rows) => rows,
        Err(error) => return Err(drop_temp_after(session.client, &temp, error)),
    };
    let accepted = match row_guard::verdict(&table.config, rows, &table.row_check) {
        Ok(accepted) => accepted,
        Err(error) => return Err(drop_temp_after(session.client, &temp, error)),
    };
    if let Some(tests) = &table.tests
        && let Err(error) = phases.time("tests", || data_tests::run(session, tests, live, &temp))
    {
        return Err(drop_temp_after(session.client, &temp, error));
    }
    // Last point to stop cleanly: after this the new version goes live.
    if session.is_cancelled() {
        let error =
            WarehouseError::new(FailureClass::Cancelled, "cancelled because Duro is shutting down");
        return Err(drop_temp_after(session.client, &temp, error));
    }
    let indexes = target_indexes(dialect, &table.config);
    if let Err(error) = phases
        .time("swap", || swap::swap(session, live, &temp, &table.config.grant_select, indexes))
    {
        return Err(drop_temp_after(session.client, &temp, error));
    }
    // The new version is live: a snapshot problem is reported, but the build succeeded.
    let (snapshot_taken, warning) = take_snapshot(session, table, phases);
    let warning = match (accepted, warning) {
        (Some(accepted), Some(problem)) => Some(format!("{accepted}; {problem}")),
        (accepted, problem) => accepted.or(problem),
    };
    Ok(Built { outcome: BuildOutcome::Succeeded, rows, snapshot_taken, output, warning })
}

/// The indexes a new version gets: those of `indexes=`, on PostgreSQL (Redshift has none, and
/// the check refuses the key there).
fn target_indexes(dialect: Dialect, config: &TableConfig) -> &[IndexSpec] {
    match dialect {
        Dialect::Postgres => &config.indexes,
        Dialect::Redshift => &[],
    }
}

/// Readies the filled temporary table to go live, in one round trip: its indexes under their
/// temporary names, then `analyze` when configured (or by default on PostgreSQL).
fn finish_temp(
    session: &mut Session<'_>,
    table: &TableDefinition,
    temp: &TableName,
    phases: &mut Phases,
) -> Result<(), WarehouseError> {
    let mut statements =
        indexes::create_indexes(&table.name, temp, target_indexes(session.dialect, &table.config));
    if table.config.analyzes(session.dialect) {
        statements.push(render::analyze(temp));
    }
    if statements.is_empty() {
        return Ok(());
    }
    phases
        .time("index_analyze", || session.client.batch_execute(&statements.join(";\n")))
        .map_err(session.sql_error())
}

/// A table not rebuilt because nothing it depends on changed (`skip_unchanged`): `unchanged`,
/// saying so in `message`, with the snapshot taken when one is due (the only statements sent).
pub fn unchanged(
    session: &mut Session<'_>,
    table: &TableDefinition,
    phases: &mut Phases,
    message: String,
) -> Built {
    let (snapshot_taken, warning) = take_snapshot(session, table, phases);
    let warning = Some(match warning {
        Some(problem) => format!("{message}; {problem}"),
        None => message,
    });
    Built { outcome: BuildOutcome::Unchanged, rows: 0, snapshot_taken, output: None, warning }
}

/// The snapshot of the live table when its interval says one is due; a failure is a warning.
fn take_snapshot(
    session: &mut Session<'_>,
    table: &TableDefinition,
    phases: &mut Phases,
) -> (bool, Option<String>) {
    let Some(interval) = table.config.snapshots_interval_minutes else {
        return (false, None);
    };
    let stored_for = table.config.snapshots_stored_for_minutes;
    match phases.time("snapshot", || snapshot::take(session, &table.name, interval, stored_for)) {
        Ok(taken) => (taken, None),
        Err(error) => {
            let _ = session.client.batch_execute(render::ROLLBACK);
            tracing::warn!("{}: the snapshot failed: {}", table.name, error.message);
            (false, Some(format!("the snapshot failed: {}", error.message)))
        }
    }
}

/// Grants `select` on `table` to the configured grantees (`grant_select`), as a swap gives them,
/// in the caller's transaction (an ingest node's load; `grant` is idempotent).
pub(crate) fn grant_configured(
    session: &mut Session<'_>,
    table: &TableName,
    grant_select: &[String],
) -> Result<(), WarehouseError> {
    let grantees: Vec<Grantee> = grant_select.iter().map(|g| Grantee::from_config(g)).collect();
    for grant in render::grants(table, &grantees) {
        session.client.batch_execute(&grant).map_err(session.sql_error())?;
    }
    Ok(())
}

/// Drops the temporary table after a failure (best effort: on a lost connection the creator's
/// next start cleans it up) and returns the original error.
pub(crate) fn drop_temp_after(
    client: &mut Client,
    temp: &TableName,
    error: WarehouseError,
) -> WarehouseError {
    if !client.is_closed() {
        let _ = client.batch_execute(render::ROLLBACK);
        if let Err(drop_error) = client.batch_execute(&render::drop_table_if_exists(temp)) {
            tracing::warn!("could not drop {}: {drop_error}", temp.name());
        }
    }
    error
}
