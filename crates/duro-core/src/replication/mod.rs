//! One replication run: a source database's table copied into the node's table, as one build.
//!
//! 1. **Resume or start.** An unfinished run (the node's `pending` row) is retried with the
//!    same bounds, so rows changed since wait for the next run; once it has failed
//!    `max_retries` times it is cancelled (`retries_exhausted`) and the next run starts afresh.
//! 2. **Check.** The source connection, the target (created from the node's DDL when missing),
//!    the columns (the target's, each found in the source: a column the target lacks, such as a
//!    password, is never read), the key and the replication field (a warning when not indexed).
//! 3. **Bounds.** `lo` is the watermark (minus `lookback` for `timed`), `hi` the source's
//!    highest value of the field; both are saved before any row moves.
//! 4. **Import**, streamed from the source's export into `COPY … FROM STDIN`, in one target
//!    transaction with the table's tests: `identity` deletes `(lo, hi]` then appends, `timed`
//!    stages and merges by key, `full` reloads (delete all, insert) or swaps a new table in as
//!    views are; the first run of `identity` (or one after a reset) replaces every row, and a
//!    timed node loads an empty target directly. Every step is idempotent, so a crash after the
//!    commit and before the watermark is saved only repeats harmless work.
//! 5. **Finish.** The source's delete queue lets go of exactly the rows applied (a failure
//!    fails the run, whose retry repeats it), the watermark moves to `hi`, the run's details
//!    are kept to the node's `history`, and the table is analyzed.

pub mod commands;
pub mod files;
pub mod render;

use crate::build::{BuildOutcome, FailureClass, Phases};
use crate::catalog::TableConfig;
use crate::catalog::replication::{
    AfterLoad, Columns, CopyOptions, DeleteTracking, FileFormat, FullMode, Nulls, ReplicationSpec,
    Strategy, Transport, Vacuum,
};
use crate::config::{Dialect, SourceConnection};
use crate::identifier::TableName;
use crate::refresh::{self, RowGuard, Session, Staging, data_tests};
use crate::sources::{self, ExportColumn, ExportRequest, FieldRange, Source, TriggerState};
use crate::state::{PendingRun, ReplicationRun, ReplicationState, RunState, StateFile};
use crate::warehouse::copy_in::copy_in;
use crate::warehouse::render::TEMP_SUFFIX;
use crate::warehouse::{WarehouseError, catalog, render as warehouse_render, statement};
use std::collections::BTreeMap;
use std::io::Write;

/// A replication node as one run needs it.
pub struct Node<'a> {
    pub name: &'a TableName,
    pub spec: &'a ReplicationSpec,
    /// The target's `create table`, run when the target does not exist.
    pub target_ddl: Option<&'a str>,
    pub tests: Option<&'a str>,
    pub config: &'a TableConfig,
    /// Who let a version breaking the row-count rules through this once, if anyone.
    pub accepted_by: Option<&'a str>,
}

/// What a run needs from its process: `duro.yaml`'s connections, the name source sessions
/// carry, and the staging bucket (`transport: s3`).
pub struct Sources<'a> {
    pub connections: &'a BTreeMap<String, SourceConnection>,
    pub application_name: &'a str,
    pub staging: Result<Option<&'a Staging>, &'a str>,
}

/// A finished run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replicated {
    /// `succeeded` (rows imported) or `unchanged` (nothing new).
    pub outcome: BuildOutcome,
    pub rows: i64,
    /// Something to fix that did not stop the run (a field without an index).
    pub warning: Option<String>,
}

/// What an import changed.
struct Imported {
    rows: u64,
    /// Target rows removed because the source deleted them.
    deleted: u64,
    /// The delete queue's rows applied, to purge once committed.
    applied: Vec<i64>,
    /// A broken row-count rule someone accepted, for the run's warnings.
    accepted: Option<String>,
}

/// The columns a run copies, and the replication field's types.
struct Shape {
    columns: Vec<ExportColumn>,
    /// (field, its type on the source, its type on the target)
    field: Option<(String, String, String)>,
    warning: Option<String>,
}

/// Runs `node` once as build `build_id`, keeping its progress in `state`.
pub fn run(
    session: &mut Session<'_>,
    sources: &Sources<'_>,
    state: &mut StateFile,
    node: &Node<'_>,
    build_id: i64,
    timeout_seconds: u64,
    phases: &mut Phases,
) -> Result<Replicated, WarehouseError> {
    let name = node.name.to_string();
    let internal = |e: crate::state::StateError| {
        WarehouseError::new(FailureClass::Internal, format!("state file: {e}"))
    };
    let definition = definition_of(node.spec);
    let mut stored = state.replication_state(&name).map_err(internal)?;
    if stored.definition.as_ref().is_some_and(|stored| *stored != definition) {
        // Another table, field, key or column list: the watermark says nothing about it.
        tracing::warn!("{name}: its definition changed; this run copies everything again");
        stored = ReplicationState::default();
    }
    stored.definition = Some(definition);
    let mut pending = stored.pending.clone().map(|mut pending| {
        pending.retries += 1;
        pending
    });
    let mut record = ReplicationRun {
        build_id,
        state: RunState::Exporting,
        lo: None,
        hi: None,
        delete_sequence: None,
        rows: None,
        deleted_rows: None,
        skipped_nulls: None,
        files: Vec::new(),
        retries: pending.as_ref().map_or(0, |p| p.retries),
        last_error: None,
    };
    let mut attempt = Attempt { session, sources, state, node, stored: &stored, timeout_seconds };
    let result = attempt.run(&mut pending, &mut record, phases);
    let history = node.spec.history;
    let now = crate::clock::now_ms();
    match result {
        Ok(done) => {
            let watermark = match done.outcome {
                // A full copy has no watermark; a no-op keeps the one it had.
                _ if node.spec.strategy == Strategy::Full => None,
                _ => record.hi.clone().or(stored.watermark.clone()),
            };
            let next = ReplicationState {
                watermark,
                pending: None,
                definition: stored.definition.clone(),
            };
            state
                .record_replication_run(&name, &record, history, Some((&next, now)))
                .map_err(internal)?;
            Ok(done)
        }
        Err(error) => {
            record.last_error = Some(error.message.clone());
            if error.class == FailureClass::TestFailed {
                record.state = RunState::FailedTests;
            }
            let exhausted = pending.as_ref().is_some_and(|p| p.retries >= node.spec.max_retries);
            let (next, error) = if exhausted {
                record.state = RunState::Canceled;
                let message = format!(
                    "cancelled after {} failed attempts (max_retries {}); the next run starts again from the last watermark: {}",
                    record.retries + 1,
                    node.spec.max_retries,
                    error.message
                );
                (
                    ReplicationState { pending: None, ..stored.clone() },
                    WarehouseError::new(FailureClass::RetriesExhausted, message),
                )
            } else {
                (ReplicationState { pending, ..stored.clone() }, error)
            };
            state
                .record_replication_run(&name, &record, history, Some((&next, now)))
                .map_err(internal)?;
            Err(error)
        }
    }
}

/// What one attempt works with.
struct Attempt<'s, 'c, 'a> {
    session: &'s mut Session<'c>,
    sources: &'a Sources<'a>,
    state: &'a mut StateFile,
    node: &'a Node<'a>,
    stored: &'a ReplicationState,
    timeout_seconds: u64,
}

impl<'a> Attempt<'_, '_, 'a> {
    fn run(
        &mut self,
        pending: &mut Option<PendingRun>,
        record: &mut ReplicationRun,
        phases: &mut Phases,
    ) -> Result<Replicated, WarehouseError> {
        let spec = self.node.spec;
        if self.session.dialect == Dialect::Postgres && spec.copy.max_errors > 0 {
            return Err(WarehouseError::new(
                FailureClass::Configuration,
                format!(
                    "`{}` has `copy.max_errors: {}`, which only Redshift's COPY has: PostgreSQL loads every row or none; set it to 0",
                    self.node.name, spec.copy.max_errors
                ),
            ));
        }
        let staging = self.staging()?;
        let mut source = phases.time("connect_source", || self.connect_source())?;
        let shape = phases.time("check", || self.shape(source.as_mut()))?;
        let mut bounds = match pending.take() {
            Some(resumed) => resumed,
            None => self.fresh_bounds(source.as_mut(), &shape)?,
        };
        record.lo = bounds.lo.clone();
        record.hi = bounds.hi.clone();
        record.delete_sequence = bounds.delete_sequence;
        record.retries = bounds.retries;
        *pending = Some(bounds.clone());
        // The bounds are saved before any row moves: a retry reuses them.
        self.save_progress(record, &bounds)?;
        let mut warnings: Vec<String> = shape.warning.iter().cloned().collect();
        if let Some((field, _, _)) = &shape.field
            && spec.nulls == Nulls::Skip
        {
            let skipped = source.count_nulls(&spec.source_table, field)?;
            record.skipped_nulls = Some(skipped as i64);
            if skipped > 0 {
                warnings.push(format!(
                    "{skipped} source rows have a NULL `{field}` and are not copied (`nulls: skip`; `nulls: include` copies them)"
                ));
            }
        }
        if is_noop(spec, &bounds) {
            return Ok(nothing_new(record, &warnings));
        }
        let request = ExportRequest {
            table: spec.source_table.clone(),
            columns: shape.columns.clone(),
            range: match (&shape.field, &bounds.hi) {
                (Some((field, source_type, _)), Some(hi)) => Some(FieldRange {
                    field: field.clone(),
                    type_name: source_type.clone(),
                    lo: bounds.lo.clone(),
                    lookback_seconds: match spec.strategy {
                        Strategy::Timed => spec.lookback_seconds,
                        _ => 0,
                    },
                    hi: hi.clone(),
                    nulls: spec.nulls,
                }),
                _ => None,
            },
        };
        let files = match staging {
            None => Vec::new(),
            Some(staging) => {
                let files = self.stage_files(
                    staging,
                    source.as_mut(),
                    &request,
                    &mut bounds,
                    record,
                    phases,
                )?;
                *pending = Some(bounds.clone());
                match files {
                    Some(files) => files,
                    None => return Ok(nothing_new(record, &warnings)),
                }
            }
        };
        record.state = RunState::Importing;
        self.save_progress(record, &bounds)?;
        let load = Load { request: &request, staging, files: &files };
        let imported =
            phases.time("import", || self.import(source.as_mut(), &load, &shape, &bounds))?;
        warnings.extend(imported.accepted.clone());
        if let Some(staging) = staging
            && !(spec.keep_files || staging.keep_files)
            && let Err(error) = files::delete(staging, &files)
        {
            warnings.push(format!("imported, but its files stay in S3: {}", error.message));
        }
        let rows = imported.rows;
        record.rows = Some(rows as i64);
        record.deleted_rows = bounds.delete_sequence.map(|_| imported.deleted as i64);
        // The target has the deletions: the source's queue lets go of exactly those (later
        // ones, and any whose transaction was still open, stay for the next run). Until it
        // has, the run is not done: its retry repeats the import with the same bounds, so a row
        // deleted and inserted again is merged after its deletion is applied once more.
        if !imported.applied.is_empty()
            && let Err(error) = source.purge_deleted(&spec.source_table, &imported.applied)
        {
            return Err(WarehouseError {
                message: format!(
                    "imported, but the delete queue could not be emptied; the retry repeats this run: {}",
                    error.message
                ),
                ..error
            });
        }
        if rows == 0 && imported.deleted == 0 && spec.strategy != Strategy::Full {
            return Ok(nothing_new(record, &warnings));
        }
        record.state = RunState::Imported;
        if let Err(warning) = phases.time("after_load", || self.after_load()) {
            warnings.push(warning);
        }
        Ok(Replicated {
            outcome: BuildOutcome::Succeeded,
            rows: rows as i64,
            warning: joined(&warnings),
        })
    }

    /// The staging bucket when the node travels through S3 (`transport: s3`, the default into
    /// Redshift), or what is missing for it.
    fn staging(&self) -> Result<Option<&'a Staging>, WarehouseError> {
        let dialect = self.session.dialect;
        let transport = self.node.spec.transport.unwrap_or(match dialect {
            Dialect::Redshift => Transport::S3,
            Dialect::Postgres => Transport::Direct,
        });
        if transport == Transport::Direct {
            return Ok(None);
        }
        let configuration =
            |message: String| WarehouseError::new(FailureClass::Configuration, message);
        let staging = self.sources.staging.map_err(|message| configuration(message.to_owned()))?;
        let staging = staging.ok_or_else(|| {
            configuration(format!(
                "`{}` travels through S3 (`transport: s3`), but no staging bucket is configured: set `s3.bucket`",
                self.node.name
            ))
        })?;
        if dialect == Dialect::Redshift && staging.copy_credentials.is_none() {
            return Err(configuration("Redshift COPY needs `s3.iam_role` or S3 keys".to_owned()));
        }
        Ok(Some(staging))
    }

    /// `transport: s3`: the run's files, uploaded under the run's prefix, or the files of the
    /// unfinished run when they are all still there (a retry then reads nothing from the
    /// source). `None`: nothing to load.
    fn stage_files(
        &mut self,
        staging: &Staging,
        source: &mut dyn Source,
        request: &ExportRequest,
        bounds: &mut PendingRun,
        record: &mut ReplicationRun,
        phases: &mut Phases,
    ) -> Result<Option<Vec<String>>, WarehouseError> {
        let spec = self.node.spec;
        if files::all_present(staging, &bounds.files)? {
            record.files = bounds.files.clone();
            return Ok(Some(bounds.files.clone()));
        }
        let dir = work_folder()?;
        let all = dir.path().join("export.csv");
        let rows = phases.time("export", || -> Result<u64, WarehouseError> {
            let io = |e: std::io::Error| {
                WarehouseError::new(FailureClass::Internal, format!("cannot write the export: {e}"))
            };
            let mut out = std::io::BufWriter::new(std::fs::File::create(&all).map_err(io)?);
            let rows = source.export(request, &mut out, self.timeout_seconds * 1_000)?;
            out.flush().map_err(io)?;
            Ok(rows)
        })?;
        if rows == 0 && spec.strategy != Strategy::Full && bounds.delete_sequence.is_none() {
            return Ok(None);
        }
        record.state = RunState::Exported;
        self.save_progress(record, bounds)?;
        let parts = files::split(&all, rows, spec.slices, spec.format, dir.path())?;
        let prefix = files::run_prefix(&staging.prefix, self.node.name, record.build_id);
        let keys = phases.time("upload", || files::upload(staging, &prefix, &parts))?;
        bounds.files = keys.clone();
        record.files = keys.clone();
        record.state = RunState::Uploaded;
        self.save_progress(record, bounds)?;
        Ok(Some(keys))
    }

    /// Saves where the run got to, and its unfinished run (what a retry resumes).
    fn save_progress(
        &mut self,
        record: &ReplicationRun,
        bounds: &PendingRun,
    ) -> Result<(), WarehouseError> {
        let state = ReplicationState { pending: Some(bounds.clone()), ..self.stored.clone() };
        self.state
            .record_replication_run(
                &self.node.name.to_string(),
                record,
                self.node.spec.history,
                Some((&state, crate::clock::now_ms())),
            )
            .map_err(|e| WarehouseError::new(FailureClass::Internal, format!("state file: {e}")))
    }

    fn connect_source(&self) -> Result<Box<dyn Source>, WarehouseError> {
        let name = &self.node.spec.source;
        let connection = self.sources.connections.get(name).ok_or_else(|| {
            WarehouseError::new(
                FailureClass::Configuration,
                format!(
                    "no connection `{name}` in duro.yaml's `connections`: add it (its url and password), or change `source:` of `{}`",
                    self.node.name
                ),
            )
        })?;
        sources::connect(name, connection, self.sources.application_name)
    }

    /// The target (created from the DDL when missing) and the columns copied, each checked
    /// against the source.
    fn shape(&mut self, source: &mut dyn Source) -> Result<Shape, WarehouseError> {
        let (node, spec) = (self.node, self.node.spec);
        let configuration =
            |message: String| WarehouseError::new(FailureClass::Configuration, message);
        let mut target = catalog::columns(self.session.client, node.name)?;
        if target.is_empty() {
            let Some(ddl) = node.target_ddl else {
                return Err(configuration(format!(
                    "target table missing: `{}` does not exist in the warehouse; create it, or add `{}.ddl.sql` with its `create table` beside the node's file",
                    node.name, node.name.table
                )));
            };
            let create =
                warehouse_render::processor_create_table(self.session.dialect, ddl, node.config);
            statement::execute_alone(self.session.client, &create)
                .map_err(self.session.sql_error())?;
            target = catalog::columns(self.session.client, node.name)?;
        }
        let target_type = |column: &str| {
            target.iter().find(|(name, _)| name == column).map(|(_, type_name)| type_name.clone())
        };
        let columns: Vec<ExportColumn> = match &spec.columns {
            Columns::FromTarget => target
                .iter()
                .map(|(name, _)| ExportColumn { name: name.clone(), expression: None })
                .collect(),
            Columns::List(list) => list
                .iter()
                .map(|c| ExportColumn { name: c.name.clone(), expression: c.source.clone() })
                .collect(),
        };
        let tracking = spec.delete_tracking == DeleteTracking::Trigger;
        let needs_key = spec.strategy == Strategy::Timed || tracking;
        let not_in_target: Vec<&str> = columns
            .iter()
            .map(|c| c.name.as_str())
            .chain(spec.key.iter().map(String::as_str).filter(|_| needs_key))
            .filter(|name| target_type(name).is_none())
            .collect();
        if !not_in_target.is_empty() {
            return Err(configuration(format!(
                "column(s) {} of `{}`'s replication are not in the target table; add them to the target or take them out of `columns:`/`key:`",
                quoted_list(&not_in_target),
                node.name
            )));
        }
        let source_columns = source.columns(&spec.source_table)?;
        if tracking {
            let found = match source.delete_trigger(&spec.source_table, &spec.key)? {
                TriggerState::Installed => None,
                TriggerState::Missing => Some("has no"),
                TriggerState::OtherKey => Some("has another key's"),
            };
            if let Some(found) = found {
                return Err(configuration(format!(
                    "`{}` tracks deletions, but the source table `{}` {found} `{}` trigger: install it with `duro-create --triggers {} --apply` (or print it without `--apply`)",
                    node.name,
                    spec.source_table,
                    sources::DELETE_TRIGGER,
                    node.name
                )));
            }
        }
        let source_type = |column: &str| {
            source_columns.iter().find(|c| c.name == column).map(|c| c.type_name.clone())
        };
        let missing: Vec<&str> = columns
            .iter()
            .filter(|c| c.expression.is_none() && source_type(&c.name).is_none())
            .map(|c| c.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(configuration(format!(
                "target column(s) {} of `{}` are not in the source table `{}` (connection `{}`): add them to the source, drop them from the target, or fill them with an expression under `columns:`",
                quoted_list(&missing),
                node.name,
                spec.source_table,
                spec.source
            )));
        }
        let mut warning = None;
        let field = match &spec.replication_field {
            None => None,
            Some(field) => {
                let on_source = source_type(field).ok_or_else(|| {
                    configuration(format!(
                        "the replication field `{field}` of `{}` is not a column of the source table `{}`",
                        node.name, spec.source_table
                    ))
                })?;
                let on_target = target_type(field).ok_or_else(|| {
                    configuration(format!(
                        "the replication field `{field}` of `{}` must be a column of the target table too",
                        node.name
                    ))
                })?;
                if !source.is_indexed(&spec.source_table, field)? {
                    warning = Some(format!(
                        "the replication field `{field}` is not indexed on the source table `{}`, so each run reads the whole table; add an index",
                        spec.source_table
                    ));
                    tracing::warn!("{}: {}", node.name, warning.as_deref().unwrap_or_default());
                }
                Some((field.clone(), on_source, on_target))
            }
        };
        Ok(Shape { columns, field, warning })
    }

    /// A new run's bounds: from the watermark to the source's highest value now.
    fn fresh_bounds(
        &self,
        source: &mut dyn Source,
        shape: &Shape,
    ) -> Result<PendingRun, WarehouseError> {
        let hi = match &shape.field {
            Some((field, _, _)) => source.max_value(&self.node.spec.source_table, field)?,
            None => None,
        };
        let lo = match self.node.spec.strategy {
            Strategy::Full => None,
            Strategy::Timed | Strategy::Identity => self.stored.watermark.clone(),
        };
        let delete_sequence = match self.node.spec.delete_tracking {
            DeleteTracking::Trigger => source.delete_sequence(&self.node.spec.source_table)?,
            DeleteTracking::None => None,
        };
        Ok(PendingRun { lo, hi, delete_sequence, files: Vec::new(), retries: 0 })
    }

    /// Loads the exported rows (after removing the rows the source deleted, in the same
    /// transaction).
    fn import(
        &mut self,
        source: &mut dyn Source,
        load: &Load<'_>,
        shape: &Shape,
        bounds: &PendingRun,
    ) -> Result<Imported, WarehouseError> {
        let spec = self.node.spec;
        if spec.strategy == Strategy::Full && spec.full_mode == FullMode::Swap {
            return self.import_swap(source, load);
        }
        let sql_error = self.session.sql_error();
        let target = self.node.name;
        let names = load.columns();
        let timeout = warehouse_render::set_statement_timeout(self.timeout_seconds * 1_000);
        self.session.client.batch_execute(&format!("begin; {timeout}")).map_err(sql_error)?;
        let result = (|| {
            let guard =
                RowGuard::before(self.session, target, self.node.config, self.node.accepted_by)?;
            let (deleted, applied) = match bounds.delete_sequence {
                Some(through) => self.delete_tracked(source, load, through)?,
                None => (0, Vec::new()),
            };
            let client = &mut *self.session.client;
            // A timed node stages and merges by key; into an empty target (a first run) it
            // loads straight away.
            let merge = spec.strategy == Strategy::Timed
                && (bounds.lo.is_some()
                    || client
                        .query_one(&render::has_rows(target), &[])
                        .map_err(sql_error)?
                        .get::<_, bool>(0));
            let into = match spec.strategy {
                Strategy::Timed if merge => {
                    client
                        .batch_execute(&format!(
                            "{};\n{}",
                            render::drop_stage(),
                            render::create_stage(target)
                        ))
                        .map_err(sql_error)?;
                    render::STAGE.to_owned()
                }
                Strategy::Identity => {
                    let (field, _, target_type) =
                        shape.field.as_ref().expect("identity always has a field");
                    match (&bounds.lo, &bounds.hi) {
                        (Some(lo), Some(hi)) => {
                            let delete = render::delete_range(target, field, target_type);
                            client.execute(&delete, &[lo, hi]).map_err(sql_error)?;
                        }
                        // A first run (or one after a reset) replaces every row.
                        _ => {
                            client.batch_execute(&render::delete_all(target)).map_err(sql_error)?;
                        }
                    }
                    target.quoted()
                }
                Strategy::Full | Strategy::Timed => {
                    client.batch_execute(&render::delete_all(target)).map_err(sql_error)?;
                    target.quoted()
                }
            };
            let rows = self.load_rows(source, load, &into, &names)?;
            let client = &mut *self.session.client;
            if merge {
                client
                    .batch_execute(&format!(
                        "{};\n{};\n{}",
                        render::delete_matching(target, &spec.key, render::STAGE),
                        render::insert_staged(target, &names),
                        render::drop_stage()
                    ))
                    .map_err(sql_error)?;
            }
            let accepted = guard.after(self.session, target)?;
            refresh::grant_configured(self.session, target, &self.node.config.grant_select)?;
            if let Some(tests) = self.node.tests
                && rows + deleted > 0
            {
                data_tests::run_within(self.session, tests, target)?;
            }
            Ok(Imported { rows, deleted, applied, accepted })
        })();
        self.session.commit_or_rollback(result)
    }

    /// Removes the target rows whose keys the source's delete queue holds up to `through`;
    /// returns how many went. The keys reach the warehouse like the rows do: streamed into
    /// PostgreSQL, through a file beside the run's (`<run>-deleted/`) into Redshift.
    fn delete_tracked(
        &mut self,
        source: &mut dyn Source,
        load: &Load<'_>,
        through: i64,
    ) -> Result<(u64, Vec<i64>), WarehouseError> {
        let (spec, target) = (self.node.spec, self.node.name);
        let sql_error = self.session.sql_error();
        self.session
            .client
            .batch_execute(&format!(
                "{};\n{}",
                render::drop_deleted_keys(),
                render::create_deleted_keys(target, &spec.key)
            ))
            .map_err(sql_error)?;
        let timeout_ms = self.timeout_seconds * 1_000;
        let mut applied = Vec::new();
        let sequences = &mut applied;
        let mut export = |out: &mut dyn Write| -> Result<u64, WarehouseError> {
            *sequences = source.export_deleted_keys(
                &spec.source_table,
                &spec.key,
                through,
                out,
                timeout_ms,
            )?;
            Ok(sequences.len() as u64)
        };
        match (self.session.dialect, load.staging) {
            (Dialect::Redshift, Some(staging)) => {
                let dir = work_folder()?;
                let path = dir.path().join("part-00000.csv");
                let io = |e: std::io::Error| {
                    WarehouseError::new(
                        FailureClass::Internal,
                        format!("cannot write the deleted keys: {e}"),
                    )
                };
                let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
                export(&mut out)?;
                out.flush().map_err(io)?;
                drop(out);
                let prefix = format!("{}-deleted/", load.prefix().trim_end_matches('/'));
                let keys = files::upload(staging, &prefix, &[path])?;
                let plain = CopyOptions {
                    max_errors: 0,
                    truncate_columns: false,
                    accept_inv_chars: false,
                    empty_as_null: false,
                    stat_update: false,
                };
                let copied = self.redshift_copy(
                    staging,
                    render::DELETED_KEYS,
                    &spec.key,
                    &prefix,
                    FileFormat::Csv,
                    &plain,
                );
                if !(spec.keep_files || staging.keep_files) {
                    let _ = files::delete(staging, &keys);
                }
                copied?;
            }
            _ => {
                copy_in(
                    self.session.client,
                    &render::copy_from_stdin(render::DELETED_KEYS, &spec.key),
                    export,
                )?;
            }
        }
        let client = &mut *self.session.client;
        let deleted = client
            .execute(&render::delete_matching(target, &spec.key, render::DELETED_KEYS), &[])
            .map_err(sql_error)?;
        client.batch_execute(&render::drop_deleted_keys()).map_err(sql_error)?;
        Ok((deleted, applied))
    }

    /// A full copy into a new table, tested and swapped in as a view's new version is.
    fn import_swap(
        &mut self,
        source: &mut dyn Source,
        load: &Load<'_>,
    ) -> Result<Imported, WarehouseError> {
        let live = self.node.name;
        let dialect = self.session.dialect;
        let sql_error = self.session.sql_error();
        let temp = live
            .with_suffix(TEMP_SUFFIX, dialect)
            .map_err(|m| WarehouseError::new(FailureClass::SqlError, m))?;
        let names = load.columns();
        let timeout = warehouse_render::set_statement_timeout(self.timeout_seconds * 1_000);
        let result = (|| {
            self.session
                .client
                .batch_execute(&format!(
                    "{timeout};\n{};\n{}",
                    warehouse_render::drop_table_if_exists(&temp),
                    render::create_like(&temp, live)
                ))
                .map_err(sql_error)?;
            let guard =
                RowGuard::before(self.session, live, self.node.config, self.node.accepted_by)?;
            let rows = self.load_rows(source, load, &temp.quoted(), &names)?;
            let accepted = guard.after(self.session, &temp)?;
            if let Some(tests) = self.node.tests {
                data_tests::run(self.session, tests, live, &temp)?;
            }
            refresh::swap::swap(self.session, live, &temp, &self.node.config.grant_select, &[])?;
            Ok(Imported { rows, deleted: 0, applied: Vec::new(), accepted })
        })();
        result.map_err(|error| refresh::drop_temp_after(self.session.client, &temp, error))
    }

    /// Puts the run's rows into `into` (the stage, the target or the new table): streamed
    /// from the source (`transport: direct`), from the run's files (`transport: s3` into
    /// PostgreSQL), or by Redshift's `COPY` from the run's prefix. Returns how many rows.
    fn load_rows(
        &mut self,
        source: &mut dyn Source,
        load: &Load<'_>,
        into: &str,
        columns: &[String],
    ) -> Result<u64, WarehouseError> {
        let timeout_ms = self.timeout_seconds * 1_000;
        let Some(staging) = load.staging else {
            return copy_in(self.session.client, &render::copy_from_stdin(into, columns), |out| {
                source.export(load.request, out, timeout_ms)
            });
        };
        let prefix = load.prefix();
        if self.session.dialect == Dialect::Postgres {
            let dir = work_folder()?;
            return copy_in(self.session.client, &render::copy_from_stdin(into, columns), |out| {
                files::download_into(staging, &prefix, dir.path(), out)
            });
        }
        let spec = self.node.spec;
        self.redshift_copy(staging, into, columns, &prefix, spec.format, &spec.copy)
    }

    /// Redshift's `COPY` of every file under `prefix` into `into`; returns how many rows. A
    /// refused row is named from the load's error table.
    fn redshift_copy(
        &mut self,
        staging: &Staging,
        into: &str,
        columns: &[String],
        prefix: &str,
        format: FileFormat,
        options: &CopyOptions,
    ) -> Result<u64, WarehouseError> {
        let credentials = staging.credentials("COPY")?;
        let (copy, redacted) = render::copy_from_s3(
            into,
            columns,
            &staging.store.url(prefix),
            credentials,
            staging.region.as_deref(),
            format,
            options,
        );
        // Only the redacted form is ever logged.
        tracing::debug!("{redacted}");
        self.session.client.execute(&copy, &[]).map_err(|error| {
            let mut error = (self.session.sql_error())(error);
            // The load's error table cannot be read in the failed transaction.
            let _ = self.session.client.batch_execute(warehouse_render::ROLLBACK);
            if let Some(detail) = catalog::last_load_error(self.session.client) {
                error.message = format!("{}; the first refused row: {detail}", error.message);
            }
            error
        })
    }

    fn after_load(&mut self) -> Result<(), String> {
        after_load(self.session, self.node.name, self.node.spec.after_load, self.node.config)
    }
}

/// Statistics (and a `VACUUM` when asked) after a load into `target` (a replication node's or
/// an S3 load's), outside any transaction; a failure is a warning, as the rows are in.
pub(crate) fn after_load(
    session: &mut Session<'_>,
    target: &TableName,
    after: AfterLoad,
    config: &TableConfig,
) -> Result<(), String> {
    let analyze = after.analyzes(config);
    let mut statements = Vec::new();
    match session.dialect {
        Dialect::Postgres => {
            if after.vacuum != Vacuum::None {
                statements.push(render::postgres_vacuum(target));
            }
            if analyze {
                statements.push(warehouse_render::analyze(target));
            }
        }
        Dialect::Redshift => {
            let sort_key: Option<String> = match after.vacuum {
                Vacuum::Auto => session
                    .client
                    .query_opt(render::SORT_KEY, &[&target.schema, &target.table])
                    .map_err(|e| format!("cannot read the sort key of `{target}`: {e}"))?
                    .and_then(|row| row.get(0)),
                _ => None,
            };
            statements.extend(render::redshift_vacuum(target, after.vacuum, sort_key.as_deref()));
            if analyze {
                statements.push(warehouse_render::analyze(target));
            }
        }
    }
    for statement in statements {
        session
            .client
            .batch_execute(&statement)
            .map_err(|e| format!("loaded, but `{statement}` failed: {e}"))?;
    }
    Ok(())
}

/// Where an import's rows come from.
struct Load<'r> {
    request: &'r ExportRequest,
    /// Set for `transport: s3`, with the run's files.
    staging: Option<&'r Staging>,
    files: &'r [String],
}

impl Load<'_> {
    fn columns(&self) -> Vec<String> {
        self.request.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// The run's prefix: what its files' keys share.
    fn prefix(&self) -> String {
        let first = self.files.first().map(String::as_str).unwrap_or_default();
        first[..first.rfind('/').map_or(0, |at| at + 1)].to_owned()
    }
}

/// Whether a run with these bounds has nothing to do: no deletions queued, and an empty source
/// or (identity) nothing past the watermark.
fn is_noop(spec: &ReplicationSpec, bounds: &PendingRun) -> bool {
    match spec.strategy {
        Strategy::Full => false,
        _ if bounds.delete_sequence.is_some() => false,
        _ if spec.nulls == Nulls::Include => false,
        Strategy::Identity => bounds.hi.is_none() || bounds.hi == bounds.lo,
        Strategy::Timed => {
            bounds.hi.is_none() || (bounds.hi == bounds.lo && spec.lookback_seconds == 0)
        }
    }
}

/// A temporary folder for a run's files.
fn work_folder() -> Result<tempfile::TempDir, WarehouseError> {
    tempfile::tempdir().map_err(|e| {
        WarehouseError::new(FailureClass::Internal, format!("cannot make a work folder: {e}"))
    })
}

/// A run that found nothing to copy or delete: `unchanged`.
fn nothing_new(record: &mut ReplicationRun, warnings: &[String]) -> Replicated {
    record.state = RunState::Noop;
    record.rows = Some(0);
    Replicated { outcome: BuildOutcome::Unchanged, rows: 0, warning: joined(warnings) }
}

/// What a node's watermark is taken for: its source, table, strategy, field, key and columns.
fn definition_of(spec: &ReplicationSpec) -> String {
    serde_json::json!([
        spec.source,
        spec.source_table,
        spec.strategy,
        spec.replication_field,
        spec.key,
        spec.columns
    ])
    .to_string()
}

/// Warnings as one message, `None` when there is none.
fn joined(warnings: &[String]) -> Option<String> {
    (!warnings.is_empty()).then(|| warnings.join("; "))
}

/// `a`, `b` as text.
fn quoted_list(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
