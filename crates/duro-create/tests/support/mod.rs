//! Shared setup for the creator tests: a views repository, a fresh database on the private
//! PostgreSQL cluster, a state file, and the scheduler run over them.

#![allow(dead_code)]

use duro_core::config::{Config, Dialect, TlsMode};
use duro_core::creator::{Creator, CycleReport, Selection};
use duro_core::schedule::{ScheduleOptions, ScheduleOutcome};
use duro_core::testing;
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
        let url = testing::fresh_database();
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
        config.warehouse.url = Some(url.clone());
        config.warehouse.tls = Some(TlsMode::Disable);
        config.creator.retries = 1;
        config.processors.venv_dir = state_dir.path().join("venvs");
        let setup = Self {
            views,
            _views_dir: views_dir,
            state_dir,
            url,
            config,
        };
        setup.schedule();
        setup
    }

    pub fn schedule(&self) {
        let options = ScheduleOptions {
            views_path: self.views.clone(),
            state_path: self.config.state.path.clone(),
            strict: false,
            use_git: false,
            dot_path: None,
        };
        match duro_core::schedule::run(&options).unwrap() {
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

    pub fn force(&self, table: &str) {
        self.state()
            .request_force(table, "test", duro_core::creator::now_s())
            .unwrap();
    }

    pub fn state(&self) -> duro_core::state::StateFile {
        duro_core::state::StateFile::open(&self.config.state.path).unwrap()
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
    report
        .built
        .iter()
        .map(|(name, _, _)| name.clone())
        .collect()
}

/// An in-process S3-protocol server (s3s-fs) on a free loopback port, storing buckets as folders
/// under `root` and accepting one access key. Returns its endpoint URL.
pub fn start_s3_server(root: &Path, access_key: &str, secret_key: &str) -> String {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder as ConnectionBuilder;
    use s3s::auth::SimpleAuth;
    use s3s::service::S3ServiceBuilder;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let service = {
        let mut builder = S3ServiceBuilder::new(s3s_fs::FileSystem::new(root).unwrap());
        builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
        builder.build()
    };
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let http = ConnectionBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let connection = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
        });
    });
    format!("http://127.0.0.1:{port}")
}

/// Every file under `root`, relative, sorted.
pub fn files_under(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}
