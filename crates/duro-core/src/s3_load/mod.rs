//! One S3 load: the newest dated file of a bucket (or folder) loaded into the node's table, as
//! one build.
//!
//! 1. **List** every key under the pattern's fixed start (all pages), keep the names the whole
//!    `file_pattern` matches, and order them by their parsed data dates.
//! 2. **Columns** from the node's `columns`, or the sidecar of the file loaded (`schema:
//!    sidecar`); the data date column among them.
//! 3. **Inspect** the table: its columns and the newest data date it holds (NULLs ignored).
//! 4. **Decide.** The file given by `--date`, every newer file (`catch_up`), or the newest; a
//!    file whose period (`granularity`, in `timezone`) is not after the table's newest is not
//!    loaded unless forced: the run is `unchanged`, and counts as fresh.
//! 5. **Load in one transaction**: create the table or add the declared columns it lacks
//!    (anything else differing is an error naming the column), delete what the mode replaces
//!    (`truncate`: every row; `replace_period`: the file's period), copy each file (Redshift's
//!    `COPY` from S3; on PostgreSQL each file streamed through `records` into `COPY … FROM
//!    STDIN`), run the table's tests, commit. Readers see the old rows until the commit.
//! 6. **Record** the files, data date and rows beside the build, the node's newest file and
//!    data date on its own row, then `after_load`.

pub mod files;
pub mod records;
pub mod render;
pub mod sidecar;

use crate::build::{BuildOutcome, FailureClass, Phases};
use crate::catalog::TableConfig;
use crate::catalog::s3_load::{
    ColumnType, Evolve, Granularity, JsonPaths, LoadColumn, LoadMode, S3LoadSpec, SchemaSource,
};
use crate::config::{Dialect, S3Config};
use crate::identifier::TableName;
use crate::refresh::{Built, RowGuard, Session, Staging, data_tests};
use crate::state::{LoadedFile, S3LoadRun, StateFile};
use crate::warehouse::catalog::{self, TableColumn};
use crate::warehouse::copy_in::copy_in;
use crate::warehouse::render::{self as warehouse_render, CopyCredentials};
use crate::warehouse::{WarehouseError, statement};
use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use files::{DataFile, Listing, Pattern, Store};
use std::borrow::Cow;
use std::io::Write;

/// An S3 load node as one run needs it.
pub struct Node<'a> {
    pub name: &'a TableName,
    pub spec: &'a S3LoadSpec,
    pub tests: Option<&'a str>,
    pub config: &'a TableConfig,
    /// Who let a version breaking the row-count rules through this once, if anyone.
    pub accepted_by: Option<&'a str>,
}

/// One-time choices for a run (`duro-create --table X --date … --force --truncate`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Load exactly the file of this data date.
    pub date: Option<DateTime<FixedOffset>>,
    /// Load even when the file is not newer than the table's data.
    pub force: bool,
    /// Delete every row first, whatever `mode` says.
    pub truncate: bool,
}

/// What a run needs from its process: the `s3:` settings (endpoint, keys, region) and the
/// staging bucket (where Redshift's manifests go).
pub struct Stores<'a> {
    pub s3: &'a S3Config,
    pub staging: Option<&'a Staging>,
}

fn configuration(message: String) -> WarehouseError {
    WarehouseError::new(FailureClass::Configuration, message)
}

/// Runs `node` once as build `build_id`, recording its files and data date in `state`. The
/// build is `succeeded` (files loaded) or `unchanged` (nothing newer).
#[allow(clippy::too_many_arguments)]
pub fn run(
    session: &mut Session<'_>,
    stores: &Stores<'_>,
    state: &mut StateFile,
    node: &Node<'_>,
    build_id: i64,
    overrides: &Overrides,
    timeout_seconds: u64,
    phases: &mut Phases,
) -> Result<Built, WarehouseError> {
    let name = node.name.to_string();
    let internal = |e: crate::state::StateError| {
        WarehouseError::new(FailureClass::Internal, format!("state file: {e}"))
    };
    let stored = state.s3_load_state(&name).map_err(internal)?;
    let loaded_last = stored
        .as_ref()
        .and_then(|loaded| files::parse_date(&loaded.data_date))
        .map(|date| date.with_timezone(&Utc));
    let mut record = S3LoadRun { build_id, ..S3LoadRun::default() };
    let mut load = LoadRun { session, stores, node, overrides, timeout_seconds, loaded_last };
    let result = load.run(&mut record, phases);
    if let Err(error) = &result {
        record.note = Some(error.message.clone());
    }
    let loaded = match (&result, record.files.last(), &record.data_date) {
        (Ok(done), Some(file), Some(date)) if done.outcome == BuildOutcome::Succeeded => {
            // The newest data date loaded stays the newest, even after a forced older file.
            let newest = match stored {
                Some(stored) if stored.data_date > *date => stored.data_date,
                _ => date.clone(),
            };
            Some(LoadedFile {
                file: file.clone(),
                data_date: newest,
                loaded_at_ms: crate::clock::now_ms(),
            })
        }
        _ => None,
    };
    state.record_s3_load(&name, &record, loaded.as_ref()).map_err(internal)?;
    result
}

/// What one run works with.
struct LoadRun<'s, 'c, 'a> {
    session: &'s mut Session<'c>,
    stores: &'a Stores<'a>,
    node: &'a Node<'a>,
    overrides: &'a Overrides,
    timeout_seconds: u64,
    /// The data date of the newest file the node loaded (its state row).
    loaded_last: Option<DateTime<Utc>>,
}

/// The declared columns of a run and its data date column.
struct Shape {
    columns: Vec<LoadColumn>,
    date_column: String,
    date_type: ColumnType,
}

impl LoadRun<'_, '_, '_> {
    /// The mode of this run: `truncate` when `--truncate` asked for it, else the node's.
    fn mode(&self) -> LoadMode {
        if self.overrides.truncate { LoadMode::Truncate } else { self.node.spec.mode }
    }

    fn run(
        &mut self,
        record: &mut S3LoadRun,
        phases: &mut Phases,
    ) -> Result<Built, WarehouseError> {
        let (name, spec) = (self.node.name, self.node.spec);
        if self.session.dialect == Dialect::Postgres && spec.copy.max_errors > 0 {
            return Err(configuration(format!(
                "`{name}` has `copy.max_errors: {}`, which only Redshift's COPY has: PostgreSQL loads every row or none; set it to 0",
                spec.copy.max_errors
            )));
        }
        // The operator's list may have changed since the catalog was checked.
        self.stores
            .s3
            .load_stores()
            .check(&spec.location, self.session.dialect == Dialect::Redshift)
            .map_err(|message| configuration(format!("`{name}`: {message}")))?;
        let store = Store::open(&spec.location, self.stores.s3)?;
        let pattern = Pattern::new(spec, name);
        let listing = phases.time("list", || store.listing(&pattern))?;
        let ignored = (!listing.ignored.is_empty()).then(|| {
            let shown: Vec<String> =
                listing.ignored.iter().take(3).map(|key| format!("`{key}`")).collect();
            format!(
                "{} other names under {} were ignored ({})",
                listing.ignored.len(),
                store.url(pattern.list_prefix()),
                shown.join(", ")
            )
        });
        if let Some(ignored) = &ignored {
            tracing::info!("{name}: {ignored}");
        }
        let reference = self.reference(&store, &pattern, &listing)?;
        let shape = phases.time("check", || self.shape(&store, reference))?;
        let target = catalog::column_details(self.session.client, name)?;
        let tz: chrono_tz::Tz = spec.timezone.parse().expect("the loader checked the zone");
        let newest = match target.iter().any(|c| c.name == shape.date_column) {
            true => self.newest_date(&shape, tz)?,
            false => None,
        };
        // A file loaded before is not loaded again, even when its rows are dated earlier than
        // its name says; once the table is gone, everything counts as new.
        let loaded_last = self.loaded_last.filter(|_| !target.is_empty());
        let period = |date: DateTime<Utc>| period_start(date, spec.granularity, tz);
        let newer = |file: &DataFile| {
            let date = file.date.with_timezone(&Utc);
            newest.is_none_or(|newest| period(date) > period(newest))
                && loaded_last.is_none_or(|loaded| date > loaded)
        };
        let truncating = self.mode() == LoadMode::Truncate;
        let mut chosen: Vec<&DataFile> = match self.overrides.date {
            // A snapshot table takes only the newest file.
            None if spec.catch_up && !truncating => {
                listing.files.iter().filter(|f| newer(f)).collect()
            }
            _ => Vec::new(),
        };
        if chosen.last() != Some(&reference) {
            chosen.push(reference);
        }
        if !self.overrides.force {
            chosen.retain(|f| newer(f));
        }
        let Some(last) = chosen.last() else {
            let reference_date = reference.date.with_timezone(&Utc);
            let why = match newest.filter(|newest| period(reference_date) <= period(*newest)) {
                Some(newest) => format!(
                    "is not after the table's newest data date {} (by {})",
                    files::utc_text(newest),
                    granularity_name(spec.granularity)
                ),
                None => format!(
                    "is not after the data date of the file loaded last, {}",
                    loaded_last.map(files::utc_text).unwrap_or_default()
                ),
            };
            let mut note = format!(
                "{} (data date {}) {why}; nothing loaded (`--force` loads it anyway)",
                store.url(&reference.key),
                reference.date_text()
            );
            if let Some(ignored) = &ignored {
                note = format!("{note}; {ignored}");
            }
            tracing::info!("{name}: {note}");
            record.data_date = newest.map(files::utc_text);
            record.rows = Some(0);
            record.note = Some(note.clone());
            return Ok(built(BuildOutcome::Unchanged, 0, Some(note)));
        };
        self.same_columns(&store, &chosen, &shape)?;
        record.note = ignored;
        record.data_date = Some(last.date_text());
        let changes = evolve(spec.evolve, name, &shape.columns, &target)?;
        let (rows, accepted) =
            phases.time("load", || self.load(&store, &listing, &chosen, &shape, &changes, tz))?;
        record.files = chosen.iter().map(|f| store.url(&f.key)).collect();
        record.rows = Some(rows as i64);
        let mut warnings: Vec<String> = accepted.into_iter().collect();
        if let Changes::Add(added) = &changes
            && !added.is_empty()
        {
            warnings.push(format!(
                "added column(s) {}",
                added.iter().map(|c| format!("`{}`", c.name)).collect::<Vec<_>>().join(", ")
            ));
        }
        if let Err(warning) = phases.time("after_load", || {
            crate::replication::after_load(self.session, name, spec.after_load, self.node.config)
        }) {
            warnings.push(warning);
        }
        Ok(built(
            BuildOutcome::Succeeded,
            rows as i64,
            (!warnings.is_empty()).then(|| warnings.join("; ")),
        ))
    }

    /// The file the run is about: the one of `--date`, or the newest.
    fn reference<'l>(
        &self,
        store: &Store,
        pattern: &Pattern,
        listing: &'l Listing,
    ) -> Result<&'l DataFile, WarehouseError> {
        let where_ = || store.url(pattern.list_prefix());
        let Some(newest) = listing.files.last() else {
            return Err(configuration(format!(
                "no file of `{}` under {}* matches `{}`{}",
                self.node.name,
                where_(),
                self.node.spec.file_pattern,
                match listing.ignored.first() {
                    Some(first) =>
                        format!(" ({} other names, such as `{first}`)", listing.ignored.len()),
                    None => String::new(),
                }
            )));
        };
        let Some(date) = self.overrides.date else {
            return Ok(newest);
        };
        if let Some(file) = listing.files.iter().find(|f| f.date == date) {
            return Ok(file);
        }
        let before = listing.files.iter().rev().find(|f| f.date < date).map(DataFile::date_text);
        let after = listing.files.iter().find(|f| f.date > date).map(DataFile::date_text);
        let nearest: Vec<String> = before.into_iter().chain(after).collect();
        Err(configuration(format!(
            "no file of `{}` has the data date {}; the nearest: {}",
            self.node.name,
            files::utc_text(date.with_timezone(&Utc)),
            nearest.join(", ")
        )))
    }

    /// The declared columns: the node's, or the sidecar's beside `file`.
    fn shape(&self, store: &Store, file: &DataFile) -> Result<Shape, WarehouseError> {
        let spec = self.node.spec;
        let (columns, date_column) = match spec.schema {
            SchemaSource::Inline => (
                spec.columns.clone(),
                spec.data_date_column.clone().expect("the loader requires it with inline columns"),
            ),
            SchemaSource::Sidecar => {
                let key = file.sidecar_key();
                let url = store.url(&key);
                let text = store.read_small(&key)?.ok_or_else(|| {
                    configuration(format!(
                        "`{}` takes its columns from a sidecar (`schema: sidecar`), but {url} does not exist",
                        self.node.name
                    ))
                })?;
                sidecar::parse(&text, self.node.name, spec.data_date_column.as_deref())
                    .map_err(|message| configuration(format!("{url}: {message}")))?
            }
        };
        let date_type = columns
            .iter()
            .find(|c| c.name == date_column)
            .map(|c| c.column_type)
            .expect("checked: the data date column is declared");
        if date_type == ColumnType::Date && spec.granularity == Granularity::Hour {
            return Err(configuration(format!(
                "`{}`: {}",
                self.node.name,
                crate::views::s3_load_file::HOURS_OF_A_DATE
            )));
        }
        Ok(Shape { columns, date_column, date_type })
    }

    /// The newest data date the table holds, NULLs ignored (a date is its midnight in `tz`).
    fn newest_date(
        &mut self,
        shape: &Shape,
        tz: chrono_tz::Tz,
    ) -> Result<Option<DateTime<Utc>>, WarehouseError> {
        let sql = render::newest_date(self.node.name, &shape.date_column, shape.date_type);
        let row = self.session.client.query_one(&sql, &[]).map_err(self.session.sql_error())?;
        let (any, text): (bool, Option<String>) = (row.get(0), row.get(1));
        if !any {
            return Ok(None);
        }
        let parsed = text.as_deref().and_then(|text| match shape.date_type {
            ColumnType::Date => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .map(|day| local_to_utc(day.and_hms_opt(0, 0, 0).expect("midnight"), tz)),
            _ => NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").ok().map(|t| t.and_utc()),
        });
        parsed.map(Some).ok_or_else(|| {
            configuration(format!(
                "the newest `{}` of `{}` cannot be read as a data date ({}): fix or remove that row",
                shape.date_column,
                self.node.name,
                text.as_deref().unwrap_or("not a finite value")
            ))
        })
    }

    /// With several files (`catch_up` with `schema: sidecar`), each file's sidecar must declare
    /// the columns the newest one does: they are loaded in one transaction.
    fn same_columns(
        &self,
        store: &Store,
        chosen: &[&DataFile],
        shape: &Shape,
    ) -> Result<(), WarehouseError> {
        if self.node.spec.schema != SchemaSource::Sidecar {
            return Ok(());
        }
        for file in &chosen[..chosen.len().saturating_sub(1)] {
            let other = self.shape(store, file)?;
            if other.columns != shape.columns || other.date_column != shape.date_column {
                return Err(configuration(format!(
                    "{} declares other columns than the newest file's sidecar; files loaded together must agree: load it alone with `--date {}`",
                    store.url(&file.sidecar_key()),
                    file.date_text()
                )));
            }
        }
        Ok(())
    }

    /// The load's transaction: the table made or evolved, rows deleted as the mode says, every
    /// chosen file copied, the tests, the commit. Returns the rows loaded.
    #[allow(clippy::too_many_arguments)]
    fn load(
        &mut self,
        store: &Store,
        listing: &Listing,
        chosen: &[&DataFile],
        shape: &Shape,
        changes: &Changes<'_>,
        tz: chrono_tz::Tz,
    ) -> Result<(u64, Option<String>), WarehouseError> {
        let (name, spec) = (self.node.name, self.node.spec);
        let dialect = self.session.dialect;
        let sql_error = self.session.sql_error();
        let timeout = warehouse_render::set_statement_timeout(self.timeout_seconds * 1_000);
        self.session.client.batch_execute(&format!("begin; {timeout}")).map_err(sql_error)?;
        let result = (|| {
            match changes {
                Changes::Create => {
                    let create =
                        render::create_table(dialect, name, &shape.columns, self.node.config);
                    statement::execute_alone(self.session.client, &create).map_err(sql_error)?;
                }
                Changes::Add(columns) => {
                    for column in columns {
                        let add = render::add_column(name, column);
                        statement::execute_alone(self.session.client, &add).map_err(sql_error)?;
                    }
                }
            }
            crate::refresh::grant_configured(self.session, name, &self.node.config.grant_select)?;
            let guard =
                RowGuard::before(self.session, name, self.node.config, self.node.accepted_by)?;
            let mode = self.mode();
            if mode == LoadMode::Truncate && !matches!(changes, Changes::Create) {
                self.session
                    .client
                    .batch_execute(&crate::replication::render::delete_all(name))
                    .map_err(sql_error)?;
            }
            let mut rows = 0;
            for file in chosen {
                if mode == LoadMode::ReplacePeriod {
                    let start = period_start(file.date.with_timezone(&Utc), spec.granularity, tz);
                    let end = period_end(start, spec.granularity, tz);
                    let delete = render::delete_period(name, &shape.date_column, shape.date_type);
                    let bounds = match shape.date_type {
                        // A date column holds local days.
                        ColumnType::Date => {
                            [start, end].map(|t| t.with_timezone(&tz).date_naive().to_string())
                        }
                        _ => [files::utc_text(start), files::utc_text(end)],
                    };
                    self.session
                        .client
                        .execute(&delete, &[&bounds[0], &bounds[1]])
                        .map_err(sql_error)?;
                }
                rows += self.copy(store, listing, file, shape)?;
            }
            let accepted = guard.after(self.session, name)?;
            if let Some(tests) = self.node.tests {
                data_tests::run_within(self.session, tests, name)?;
            }
            Ok((rows, accepted))
        })();
        self.session.commit_or_rollback(result)
    }

    /// Copies one file into the table; returns its rows. Errors name the file and its line.
    fn copy(
        &mut self,
        store: &Store,
        listing: &Listing,
        file: &DataFile,
        shape: &Shape,
    ) -> Result<u64, WarehouseError> {
        let url = store.url(&file.key);
        let named = |error: WarehouseError| WarehouseError {
            message: format!("{url}: {}", error.message),
            ..error
        };
        match self.session.dialect {
            Dialect::Redshift => self.redshift_copy(store, listing, file, shape).map_err(named),
            Dialect::Postgres => {
                let paths = self.jsonpaths(store, shape)?;
                let names: Vec<String> = shape.columns.iter().map(|c| c.name.clone()).collect();
                let copy =
                    crate::replication::render::copy_from_stdin(&self.node.name.quoted(), &names);
                let spec = self.node.spec;
                let loaded = copy_in(self.session.client, &copy, |out| {
                    transcode(spec, store, file, shape, paths.as_deref(), out, None)
                        .map(|(rows, _)| rows)
                });
                loaded.map_err(|error| {
                    // The warehouse counts records; the file's line of that record is looked up.
                    let line = refused_record(&error.message).and_then(|record| {
                        let sink = &mut std::io::sink();
                        let found = transcode(
                            spec,
                            store,
                            file,
                            shape,
                            paths.as_deref(),
                            sink,
                            Some(record),
                        );
                        found.ok().and_then(|(_, line)| line)
                    });
                    match line {
                        Some(line) => WarehouseError {
                            message: format!("{url}, line {line}: {}", error.message),
                            ..error
                        },
                        None => named(error),
                    }
                })
            }
        }
    }

    /// The parsed JSONPaths file, when the node has one.
    fn jsonpaths(
        &self,
        store: &Store,
        shape: &Shape,
    ) -> Result<Option<Vec<Vec<records::PathStep>>>, WarehouseError> {
        let JsonPaths::File(key) = &self.node.spec.jsonpaths else {
            return Ok(None);
        };
        let key = format!("{}{key}", self.node.spec.prefix);
        let url = store.url(&key);
        let text = store
            .read_small(&key)?
            .ok_or_else(|| configuration(format!("the JSONPaths file {url} does not exist")))?;
        records::parse_jsonpaths(&text, shape.columns.len())
            .map(Some)
            .map_err(|message| configuration(format!("{url}: {message}")))
    }

    /// Redshift's `COPY` of one object, through a one-entry manifest when another key starts
    /// with this one's (`COPY` would read both).
    fn redshift_copy(
        &mut self,
        store: &Store,
        listing: &Listing,
        file: &DataFile,
        shape: &Shape,
    ) -> Result<u64, WarehouseError> {
        let spec = self.node.spec;
        let credentials = CopyCredentials::from_config(self.stores.s3).ok_or_else(|| {
            configuration("Redshift COPY needs `s3.iam_role` or S3 keys".to_owned())
        })?;
        let url = store.url(&file.key);
        let shares_prefix = listing
            .files
            .iter()
            .map(|f| &f.key)
            .chain(&listing.ignored)
            .any(|key| key != &file.key && key.starts_with(&file.key));
        let manifest = match shares_prefix {
            false => None,
            true => Some(self.upload_manifest(&url)?),
        };
        let from = manifest.as_ref().map_or(url.clone(), |(_, manifest_url)| manifest_url.clone());
        let paths_url = match &spec.jsonpaths {
            JsonPaths::File(key) => Some(store.url(&format!("{}{key}", spec.prefix))),
            JsonPaths::Auto => None,
        };
        let format = match (files::reads_json(spec.format, file.kind), &paths_url) {
            (true, Some(paths)) => render::RedshiftFormat::JsonPaths(paths),
            (true, None) => render::RedshiftFormat::JsonAuto,
            (false, _) => render::RedshiftFormat::Csv(spec.csv),
        };
        let (copy, redacted) = render::copy_from_s3(
            self.node.name,
            &shape.columns,
            &from,
            shares_prefix,
            &format,
            file.kind.gzip,
            &credentials,
            self.stores.s3.region.as_deref(),
            &spec.copy,
        );
        tracing::debug!("{redacted}");
        let copied = self.session.client.execute(&copy, &[]).map_err(|error| {
            let mut error = (self.session.sql_error())(error);
            let _ = self.session.client.batch_execute(warehouse_render::ROLLBACK);
            if let Some(detail) = catalog::last_load_error(self.session.client) {
                error.message = format!("{}; the first refused row: {detail}", error.message);
            }
            error
        });
        if let (Some((key, _)), Some(staging)) = (&manifest, self.stores.staging)
            && !staging.keep_files
            && let Err(error) = staging.store.delete(key)
        {
            tracing::warn!("{}: the manifest {key} stays in S3: {}", self.node.name, error.message);
        }
        copied
    }

    /// A manifest naming exactly `url`, uploaded to the staging bucket; returns its key and URL.
    fn upload_manifest(&self, url: &str) -> Result<(String, String), WarehouseError> {
        let staging = self.stores.staging.ok_or_else(|| {
            configuration(format!(
                "another object's key starts with {url}'s, so Redshift's COPY needs a manifest to read it alone, and manifests go to the staging bucket: set `s3.bucket`"
            ))
        })?;
        let dir = tempfile::tempdir()
            .map_err(|e| WarehouseError::new(FailureClass::Internal, e.to_string()))?;
        let path = dir.path().join("load.manifest");
        std::fs::write(&path, render::manifest(url)).map_err(|e| {
            WarehouseError::new(FailureClass::Internal, format!("cannot write a manifest: {e}"))
        })?;
        let key = format!(
            "{}s3_load/{}/{}.manifest",
            staging.prefix,
            self.node.name,
            crate::clock::now_ms()
        );
        staging.store.upload(&key, &path).map_err(WarehouseError::from_object_store)?;
        let manifest_url = staging.store.url(&key);
        Ok((key, manifest_url))
    }
}

/// Writes `file`'s records as the loader's CSV to `out`; returns how many, and, with
/// `find`, the line of that record (nothing is written then).
#[allow(clippy::too_many_arguments)]
fn transcode(
    spec: &S3LoadSpec,
    store: &Store,
    file: &DataFile,
    shape: &Shape,
    paths: Option<&[Vec<records::PathStep>]>,
    out: &mut dyn Write,
    find: Option<u64>,
) -> Result<(u64, Option<u64>), WarehouseError> {
    let url = store.url(&file.key);
    let input = store.open_file(file)?;
    let columns = records::Columns {
        columns: &shape.columns,
        truncate: spec.copy.truncate_columns,
        empty_as_null: spec.copy.empty_as_null,
    };
    let mut count = 0;
    let mut found = None;
    let mut write_error = None;
    // The warehouse's line of the record being written: PostgreSQL counts one per record, and
    // one more per carriage return inside a value.
    let mut warehouse_line = 0;
    let mut record = |line: u64, fields: &[Option<Cow<'_, str>>]| {
        count += 1;
        if let Some(wanted) = find {
            let first = warehouse_line + 1;
            warehouse_line = first
                + fields
                    .iter()
                    .flatten()
                    .map(|v| memchr::memchr_iter(b'\r', v.as_bytes()).count() as u64)
                    .sum::<u64>();
            if (first..=warehouse_line).contains(&wanted) {
                found = Some(line);
                return Ok(false);
            }
            return Ok(true);
        }
        if let Err(error) = crate::sources::write_row(out, fields) {
            write_error = Some(error);
            return Ok(false);
        }
        Ok(true)
    };
    let result = if files::reads_json(spec.format, file.kind) {
        records::json_records(input, &columns, paths, &mut record)
    } else {
        records::csv_records(input, spec.csv, &columns, &mut record)
    };
    let rows = result.map_err(|error| {
        WarehouseError::new(
            FailureClass::SqlError,
            format!("{url}, line {}: {}", error.line, error.message),
        )
    })?;
    if let Some(error) = write_error {
        return Err(error);
    }
    Ok((rows, found))
}

/// What the next run of `name` would load, for `--dry-run`; `None` for other kinds of table.
pub fn next_load(state: &StateFile, name: &str) -> Result<Option<String>, String> {
    let stored = state.table(name).map_err(|e| e.to_string())?;
    let Some(spec) = stored.as_ref().and_then(|t| t.kind.s3_load()) else {
        return Ok(None);
    };
    let what = format!(
        "{} of `{}{}` matching `{}`",
        if spec.catch_up { "every newer file" } else { "the newest file" },
        spec.location,
        match spec.prefix.as_str() {
            "" => "/".to_owned(),
            prefix => format!("/{prefix}"),
        },
        spec.file_pattern
    );
    let loaded = state.s3_load_state(name).map_err(|e| e.to_string())?;
    Ok(Some(match loaded {
        Some(loaded) => {
            format!("{what}, if newer than the data date {} loaded last", loaded.data_date)
        }
        None => format!("{what} (nothing loaded yet)"),
    }))
}

/// A load as a build: no snapshot, no output.
fn built(outcome: BuildOutcome, rows: i64, warning: Option<String>) -> Built {
    Built { outcome, rows, snapshot_taken: false, output: None, warning }
}

/// What a load changes in the table's columns.
enum Changes<'c> {
    /// The table does not exist: it is created.
    Create,
    /// These declared columns are added (none: the table is as declared).
    Add(Vec<&'c LoadColumn>),
}

/// Compares the declared columns with the table's: a missing table is created; missing columns
/// are added (`add_columns`, when nullable and without keys); any other difference (a type, a
/// `not null`, an extra column under `strict`) is an error naming the column and the property.
fn evolve<'c>(
    evolve: Evolve,
    name: &TableName,
    declared: &'c [LoadColumn],
    target: &[TableColumn],
) -> Result<Changes<'c>, WarehouseError> {
    if target.is_empty() {
        return Ok(Changes::Create);
    }
    let mut added = Vec::new();
    let mut problems = Vec::new();
    for column in declared {
        match target.iter().find(|t| t.name == column.name) {
            Some(existing) => {
                let wanted = column.column_type.sql();
                if existing.type_name != wanted {
                    problems.push(format!(
                        "column `{}`: type {} in the table, {wanted} declared",
                        column.name, existing.type_name
                    ));
                }
                let not_null = column.not_null || column.primary_key;
                if existing.not_null != not_null {
                    problems.push(format!(
                        "column `{}`: {} in the table, {} declared",
                        column.name,
                        if existing.not_null { "not null" } else { "nullable" },
                        if not_null { "not null" } else { "nullable" }
                    ));
                }
            }
            None if evolve != Evolve::AddColumns => problems.push(format!(
                "column `{}` is declared but not in the table, and `evolve: {}` adds none",
                column.name,
                if evolve == Evolve::Strict { "strict" } else { "none" }
            )),
            None if column.not_null || column.primary_key || column.distkey || column.sortkey.is_some() => {
                problems.push(format!(
                    "column `{}` is not in the table, and a load adds only nullable columns without keys: add it by hand, or drop `not_null`/`primary_key`/`distkey`/`sortkey`",
                    column.name
                ))
            }
            None => added.push(column),
        }
    }
    if evolve == Evolve::Strict {
        for extra in target.iter().filter(|t| !declared.iter().any(|c| c.name == t.name)) {
            problems.push(format!(
                "column `{}` is in the table but not declared (`evolve: strict`)",
                extra.name
            ));
        }
    }
    if !problems.is_empty() {
        return Err(configuration(format!(
            "`{name}` differs from its declared columns: {}; nothing was loaded",
            problems.join("; ")
        )));
    }
    Ok(Changes::Add(added))
}

/// The line the warehouse gives for a refused record, from the context of its `COPY` error
/// (`(at COPY pages, line 3, column hits: …)`).
fn refused_record(message: &str) -> Option<u64> {
    let context = &message[message.rfind("(at COPY ")?..];
    let at = context.find(", line ")?;
    let digits: String = context[at + 7..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn granularity_name(granularity: Granularity) -> &'static str {
    match granularity {
        Granularity::Hour => "hour",
        Granularity::Day => "day",
    }
}

/// The start of the period (`granularity` in `tz`) holding `date`.
pub fn period_start(
    date: DateTime<Utc>,
    granularity: Granularity,
    tz: chrono_tz::Tz,
) -> DateTime<Utc> {
    let zoned = date.with_timezone(&tz);
    let local = zoned.naive_local();
    match granularity {
        // The hour's start at the instant's own offset (an hour repeated when clocks go back
        // is two periods).
        Granularity::Hour => {
            let start = local.date().and_hms_opt(local.hour(), 0, 0).expect("a valid time");
            let offset = Duration::seconds(i64::from(zoned.offset().fix().local_minus_utc()));
            (start - offset).and_utc()
        }
        Granularity::Day => local_to_utc(local.date().and_hms_opt(0, 0, 0).expect("midnight"), tz),
    }
}

/// The end of the period that starts at `start`: the next hour or the next local midnight.
pub fn period_end(
    start: DateTime<Utc>,
    granularity: Granularity,
    tz: chrono_tz::Tz,
) -> DateTime<Utc> {
    match granularity {
        Granularity::Hour => start + Duration::hours(1),
        Granularity::Day => {
            let next = start.with_timezone(&tz).date_naive().succ_opt().expect("a next day");
            local_to_utc(next.and_hms_opt(0, 0, 0).expect("midnight"), tz)
        }
    }
}

/// A local time in `tz` as UTC (the earlier one when a clock change repeats it, the moment the
/// clock jumped to when it skips it).
fn local_to_utc(local: NaiveDateTime, tz: chrono_tz::Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local).earliest() {
        Some(time) => time.with_timezone(&Utc),
        None => local_to_utc(local + Duration::hours(1), tz),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn periods_in_a_time_zone() {
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        let cases = [
            (
                "2015-07-03T10:30:00Z",
                Granularity::Day,
                chrono_tz::UTC,
                "2015-07-03T00:00:00Z",
                "2015-07-04T00:00:00Z",
            ),
            (
                "2015-07-03T10:30:00Z",
                Granularity::Hour,
                chrono_tz::UTC,
                "2015-07-03T10:00:00Z",
                "2015-07-03T11:00:00Z",
            ),
            // 23:30Z on the 2nd is already the 3rd in Berlin (UTC+2 in summer).
            (
                "2015-07-02T23:30:00Z",
                Granularity::Day,
                berlin,
                "2015-07-02T22:00:00Z",
                "2015-07-03T22:00:00Z",
            ),
            // The hour repeated when the clocks go back is two periods.
            (
                "2015-10-25T00:30:00Z",
                Granularity::Hour,
                berlin,
                "2015-10-25T00:00:00Z",
                "2015-10-25T01:00:00Z",
            ),
            (
                "2015-10-25T01:30:00Z",
                Granularity::Hour,
                berlin,
                "2015-10-25T01:00:00Z",
                "2015-10-25T02:00:00Z",
            ),
            // India is UTC+5:30: its hours start at half past.
            (
                "2015-07-03T10:10:00Z",
                Granularity::Hour,
                "Asia/Kolkata".parse().unwrap(),
                "2015-07-03T09:30:00Z",
                "2015-07-03T10:30:00Z",
            ),
            // The day the clocks go back is 25 hours long.
            (
                "2015-10-25T12:00:00Z",
                Granularity::Day,
                berlin,
                "2015-10-24T22:00:00Z",
                "2015-10-25T23:00:00Z",
            ),
        ];
        for (date, granularity, tz, start, end) in cases {
            let found = period_start(utc(date), granularity, tz);
            assert_eq!(found, utc(start), "{date}");
            assert_eq!(period_end(found, granularity, tz), utc(end), "{date}");
        }
    }

    fn existing(name: &str, type_name: &str, not_null: bool) -> TableColumn {
        TableColumn { name: name.into(), type_name: type_name.into(), not_null }
    }

    /// What each `evolve` does with each difference between the declared and the table's
    /// columns.
    #[test]
    fn evolving_the_columns() {
        let table = TableName::parse("raw.pages").unwrap();
        let id = LoadColumn::new("id", ColumnType::Int);
        let referrer = LoadColumn::new("referrer", ColumnType::Text);
        let target = [existing("id", "integer", false), existing("note", "text", false)];
        let names = |changes: Result<Changes<'_>, WarehouseError>| match changes {
            Ok(Changes::Add(added)) => Ok(added.iter().map(|c| c.name.clone()).collect::<Vec<_>>()),
            Ok(Changes::Create) => Ok(vec!["<create>".to_owned()]),
            Err(error) => Err(error.message),
        };
        let both = [id.clone(), referrer.clone()];
        assert_eq!(
            names(evolve(Evolve::AddColumns, &table, &both, &target)),
            Ok(vec!["referrer".to_owned()])
        );
        assert_eq!(
            names(evolve(Evolve::AddColumns, &table, &both, &[])),
            Ok(vec!["<create>".to_owned()])
        );
        let cases: Vec<(Evolve, Vec<LoadColumn>, &str)> = vec![
            (
                Evolve::None,
                both.to_vec(),
                "column `referrer` is declared but not in the table, and `evolve: none` adds none",
            ),
            (
                Evolve::Strict,
                vec![id.clone()],
                "column `note` is in the table but not declared (`evolve: strict`)",
            ),
            (
                Evolve::AddColumns,
                vec![LoadColumn { not_null: true, ..referrer.clone() }],
                "a load adds only nullable columns without keys",
            ),
            (
                Evolve::AddColumns,
                vec![LoadColumn { not_null: true, ..id.clone() }],
                "column `id`: nullable in the table, not null declared",
            ),
            (
                Evolve::AddColumns,
                vec![LoadColumn::new("id", ColumnType::Bigint)],
                "column `id`: type integer in the table, bigint declared",
            ),
        ];
        for (evolve_mode, columns, expected) in cases {
            let found = names(evolve(evolve_mode, &table, &columns, &target)).unwrap_err();
            assert!(found.contains(expected) && found.contains("nothing was loaded"), "{found}");
        }
    }

    #[test]
    fn the_refused_record_of_a_copy_error() {
        let message = "invalid input syntax for type integer: \"x\" (at COPY pages, line 3, column hits: \"x\")";
        assert_eq!(refused_record(message), Some(3));
        assert_eq!(refused_record("permission denied"), None);
        // A value that reads like a place is not one.
        assert_eq!(refused_record("value \"x, line 9\" is too long"), None);
    }
}
