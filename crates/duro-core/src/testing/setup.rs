//! A whole test installation: a views repository, a fresh database on the private PostgreSQL
//! cluster, a state file, and the real scheduler run over them; the creator on top.

use super::fresh_database;
use crate::config::{Config, Dialect, TlsMode};
use crate::creator::{Creator, CycleReport, Selection};
use crate::schedule::{ScheduleOptions, ScheduleOutcome};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use tempfile::TempDir;

pub struct Setup {
    pub views: PathBuf,
    _views_dir: Option<TempDir>,
    pub state_dir: TempDir,
    pub url: String,
    pub config: Config,
}

/// Roles are cluster-wide: loading sources that create them is serialized.
static SOURCES: Mutex<()> = Mutex::new(());

/// Writes each (path relative to `root`, content) pair, creating the folders on the way.
pub fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

impl Setup {
    /// A repository of `files`, with `sources` run in the fresh database first.
    pub fn new(files: &[(&str, &str)], sources: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        write_files(dir.path(), files);
        Self::at(dir.path().to_owned(), Some(dir), sources)
    }

    /// The repository's `views-example`, with its source tables loaded.
    pub fn example() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let sources =
            std::fs::read_to_string(root.join("deploy/example/source-tables.sql")).unwrap();
        Self::at(root.join("views-example"), None, &sources)
    }

    fn at(views: PathBuf, views_dir: Option<TempDir>, sources: &str) -> Self {
        let url = fresh_database();
        if !sources.is_empty() {
            let _serial = SOURCES.lock().unwrap_or_else(|e| e.into_inner());
            postgres::Client::connect(&url, postgres::NoTls)
                .unwrap()
                .batch_execute(sources)
                .unwrap();
        }
        let state_dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.views.path = views.clone();
        config.state.path = state_dir.path().join("duro.db");
        config.warehouse.dialect = Dialect::Postgres;
        config.warehouse.url = Some(url.as_str().into());
        config.warehouse.tls = Some(TlsMode::Disable);
        config.creator.retries = 1;
        config.processors.venv_dir = state_dir.path().join("venvs");
        let setup = Self { views, _views_dir: views_dir, state_dir, url, config };
        setup.schedule();
        setup
    }

    pub fn schedule(&self) {
        let options = ScheduleOptions {
            views_path: self.views.clone(),
            state_path: self.config.state.path.clone(),
            check: crate::schedule::CheckOptions {
                dialect: self.config.warehouse.dialect,
                load_stores: self.config.s3.load_stores(),
                ..crate::schedule::CheckOptions::default()
            },
            use_git: false,
            keep_builds_for: self.config.state.keep_builds_for,
        };
        match crate::schedule::run(&options).unwrap() {
            ScheduleOutcome::Saved { .. } => {}
            other => panic!("the schedule failed: {other:?}"),
        }
    }

    /// Writes a duro.yaml for this setup, plus `extra` YAML sections; returns its path.
    pub fn config_file(&self, extra: &str) -> PathBuf {
        let path = self.state_dir.path().join("duro.yaml");
        let text = format!(
            "views:\n  path: {}\nstate:\n  path: {}\nwarehouse:\n  dialect: postgres\n  url: {}\n  tls: disable\nprocessors:\n  venv_dir: {}\n{extra}",
            self.views.display(),
            self.config.state.path.display(),
            self.url,
            self.config.processors.venv_dir.display()
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn write(&self, files: &[(&str, &str)]) {
        write_files(&self.views, files);
    }

    pub fn creator(&self) -> Creator {
        Creator::new(self.config.clone(), Arc::new(AtomicBool::new(false)))
    }

    pub fn cycle(&self) -> CycleReport {
        self.creator().run_cycle(&Selection::Due).unwrap()
    }

    /// Builds `table` alone now, letting a version that breaks its row-count rules through
    /// (`duro-create --table <table> --accept-row-drop`).
    pub fn build_accepting_row_drop(&self, table: &str) -> CycleReport {
        let selection = Selection::Table {
            name: table.to_owned(),
            with_dependencies: false,
            load: Default::default(),
            accept_row_drop: true,
        };
        self.creator().run_cycle(&selection).unwrap()
    }

    pub fn force(&self, table: &str) {
        self.state().request_force(table, "test", crate::clock::now_ms()).unwrap();
    }

    pub fn state(&self) -> crate::state::StateFile {
        crate::state::StateFile::open(&self.config.state.path).unwrap()
    }

    /// Moves every recorded build `ms` into the past (the per-table summaries too, and the
    /// per-minute figures by whole minutes), as if the builds had happened that much earlier.
    pub fn age_history(&self, ms: i64) {
        self.client_state()
            .execute_batch(&format!(
                "update builds set started_at_ms = started_at_ms - {ms}, finished_at_ms = finished_at_ms - {ms};
                 update table_history set last_success_started_ms = last_success_started_ms - {ms},
                     last_success_finished_ms = last_success_finished_ms - {ms},
                     last_change_finished_ms = last_change_finished_ms - {ms};
                 update build_minutes set minute_ms = -(minute_ms - {minutes});
                 update build_minutes set minute_ms = -minute_ms;",
                minutes = ms / 60_000 * 60_000
            ))
            .unwrap();
    }

    /// A raw connection to the state file, to age records in tests.
    pub fn client_state(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.config.state.path).unwrap()
    }

    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }

    pub fn scalar<T: for<'a> postgres::types::FromSql<'a>>(&self, sql: &str) -> T {
        self.client().query_one(sql, &[]).unwrap().get(0)
    }
}

pub fn built_names(report: &CycleReport) -> Vec<String> {
    report.built.iter().map(|built| built.table.clone()).collect()
}

/// Starts an empty SQLite file at `path` with `auto_vacuum` off, as state files were made
/// before Duro gave freed pages back.
pub fn sqlite_without_auto_vacuum(path: &Path) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch("pragma auto_vacuum = none; create table scratch (x); drop table scratch;")
        .unwrap();
}

/// Records a build of `table` from `start` to `end` (Unix ms) with `outcome` in `state`, as a
/// creator would (a failure as `sql_error`); returns its id.
pub fn record_build(
    state: &mut crate::state::StateFile,
    table: &str,
    start: i64,
    end: i64,
    outcome: crate::build::BuildOutcome,
) -> i64 {
    use crate::state::{BuildResult, BuildStart};
    let BuildStart::Started(id) = state.begin_build(table, "w1", start, 60_000, start).unwrap()
    else {
        panic!("{table} did not start");
    };
    let failed = outcome == crate::build::BuildOutcome::Failed;
    let result = BuildResult {
        outcome,
        failure_class: failed.then_some(crate::build::FailureClass::SqlError),
        message: failed.then_some("boom <b>"),
        rows: (!failed).then_some(3),
        phases_json: "{}",
        finished_at_ms: end,
        output: None,
        plan_cost: None,
    };
    state.finish_build(id, &result, true, end).unwrap();
    id
}
