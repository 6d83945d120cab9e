//! The opt-in Redshift suite: the flows that differ on Redshift, run for real against a cluster.
//! Built and run only by `tests/run.sh` when `DURO_TEST_REDSHIFT_URL` is set (feature
//! `redshift-suite`). Settings, from the environment:
//!
//! - `DURO_TEST_REDSHIFT_URL`: `postgres://user@cluster:5439/db` (a user that may create schemas
//!   and groups); `DURO_TEST_REDSHIFT_PASSWORD` when the URL has none;
//! - `DURO_TEST_REDSHIFT_S3_BUCKET`, `DURO_TEST_REDSHIFT_IAM_ROLE` (a role of the cluster that may
//!   read and write that bucket) and `DURO_TEST_REDSHIFT_S3_REGION`; Duro's own uploads and
//!   downloads use the standard `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (and
//!   `AWS_SESSION_TOKEN`).
//!
//! Each test works in its own schema `duro_test_<pid>_<n>`, dropped at the end.

use duro_core::config::{Config, Dialect, ExportMethod, TlsMode};
use duro_core::creator::{Creator, CycleReport, Selection};
use duro_core::schedule::{CheckOptions, ScheduleOptions, ScheduleOutcome};
use duro_core::testing::write_files;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tempfile::TempDir;

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("the Redshift suite needs {name}"))
}

/// A views repository, a state file and a schema of its own on the cluster.
struct Cluster {
    views: TempDir,
    _state: TempDir,
    schema: String,
    config: Config,
}

impl Cluster {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let schema =
            format!("duro_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let (views, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut config = Config::load(None, &[]).unwrap();
        config.views.path = views.path().to_owned();
        config.state.path = state.path().join("duro.db");
        config.warehouse.dialect = Dialect::Redshift;
        config.warehouse.url = Some(required("DURO_TEST_REDSHIFT_URL").into());
        config.warehouse.password =
            std::env::var("DURO_TEST_REDSHIFT_PASSWORD").ok().map(Into::into);
        config.warehouse.tls = Some(TlsMode::Require);
        config.creator.retries = 1;
        config.processors.venv_dir = state.path().join("venvs");
        config.s3.bucket = std::env::var("DURO_TEST_REDSHIFT_S3_BUCKET").ok();
        config.s3.iam_role = std::env::var("DURO_TEST_REDSHIFT_IAM_ROLE").ok();
        config.s3.region = std::env::var("DURO_TEST_REDSHIFT_S3_REGION").ok();
        config.s3.prefix = format!("duro-test/{schema}/");
        config.s3.access_key_id = std::env::var("AWS_ACCESS_KEY_ID").ok();
        config.s3.secret_access_key = std::env::var("AWS_SECRET_ACCESS_KEY").ok().map(Into::into);
        config.s3.session_token = std::env::var("AWS_SESSION_TOKEN").ok().map(Into::into);
        config.s3.load_buckets = config.s3.bucket.iter().cloned().collect();
        let cluster = Self { views, _state: state, schema, config };
        cluster.sql(&format!("create schema {}", cluster.schema));
        cluster
    }

    fn client(&self) -> postgres::Client {
        duro_core::warehouse::connect(&self.config.warehouse).unwrap()
    }

    fn sql(&self, statements: &str) {
        self.client().batch_execute(statements).unwrap();
    }

    fn scalar<T: for<'a> postgres::types::FromSql<'a>>(&self, query: &str) -> T {
        self.client().query_one(query, &[]).unwrap().get(0)
    }

    /// Writes files under the test's schema folder and schedules the repository.
    fn write(&self, files: &[(&str, &str)]) {
        let files: Vec<(String, &str)> =
            files.iter().map(|(path, text)| (format!("{}/{path}", self.schema), *text)).collect();
        let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), *t)).collect();
        write_files(self.views.path(), &files);
        let options = ScheduleOptions {
            views_path: self.views.path().to_owned(),
            state_path: self.config.state.path.clone(),
            check: CheckOptions {
                dialect: Dialect::Redshift,
                load_stores: self.config.s3.load_stores(),
                ..CheckOptions::default()
            },
            use_git: false,
            keep_builds_for: duro_core::config::DEFAULT_KEEP_BUILDS_FOR,
        };
        match duro_core::schedule::run(&options).unwrap() {
            ScheduleOutcome::Saved { .. } => {}
            other => panic!("the schedule failed: {other:?}"),
        }
    }

    fn cycle_with(&self, config: &Config) -> CycleReport {
        Creator::new(config.clone(), Arc::new(AtomicBool::new(false)))
            .run_cycle(&Selection::Due)
            .unwrap()
    }

    fn cycle(&self) -> CycleReport {
        self.cycle_with(&self.config)
    }

    fn force(&self, table: &str) {
        let name = format!("{}.{table}", self.schema);
        duro_core::state::StateFile::open(&self.config.state.path)
            .unwrap()
            .request_force(&name, "test", duro_core::clock::now_ms())
            .unwrap();
    }

    fn table(&self, table: &str) -> String {
        format!("{}.{table}", self.schema)
    }

    fn needs_s3(&self) {
        assert!(
            self.config.s3.bucket.is_some() && self.config.s3.iam_role.is_some(),
            "set DURO_TEST_REDSHIFT_S3_BUCKET and DURO_TEST_REDSHIFT_IAM_ROLE for this test"
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.client().batch_execute(&format!("drop schema {} cascade", self.schema));
    }
}

fn built(report: &CycleReport) -> Vec<String> {
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    report.built.iter().map(|b| b.table.to_string()).collect()
}

#[test]
fn check_warehouse_passes() {
    let cluster = Cluster::new();
    let report = duro_core::refresh::probes::check_warehouse(&cluster.config, &cluster.schema);
    let failed: Vec<String> = report.iter().filter(|p| p.failed()).map(|p| p.to_string()).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(report[0].to_string().contains("Redshift"), "{}", report[0]);
}

/// Distribution and sort keys from the `.conf`; a bound view follows the table through a rebuild
/// with the same columns (replaced in place) and one with other columns (re-created).
#[test]
fn keys_and_a_bound_view() {
    let cluster = Cluster::new();
    cluster.write(&[
        ("t — 1d.sql", "select 1::int as a, 'x'::varchar(10) as b"),
        ("t.conf", "distkey=a\nsortkey=a, b\n"),
    ]);
    assert_eq!(built(&cluster.cycle()), [cluster.table("t")]);
    let keys: String = cluster.scalar(&format!(
        "select trim(diststyle) || ' ' || trim(sortkey1) from svv_table_info where \"schema\" = '{}' and \"table\" = 't'",
        cluster.schema
    ));
    assert_eq!(keys, "KEY(a) a");
    let view = cluster.table("v");
    cluster.sql(&format!("create view {view} as select a from {}", cluster.table("t")));
    cluster.write(&[("t — 1d.sql", "select 2::int as a, 'x'::varchar(10) as b")]);
    cluster.force("t");
    built(&cluster.cycle());
    assert_eq!(cluster.scalar::<i32>(&format!("select a from {view}")), 2);
    cluster.write(&[("t — 1d.sql", "select 3::bigint as a, 'x'::varchar(20) as b")]);
    cluster.force("t");
    built(&cluster.cycle());
    assert_eq!(cluster.scalar::<i64>(&format!("select a::bigint from {view}")), 3);
}

/// A group from `grant_select` keeps `select` through rebuilds.
#[test]
fn grants_to_a_group() {
    let cluster = Cluster::new();
    let group = format!("{}_readers", cluster.schema);
    cluster.sql(&format!("create group {group}"));
    cluster.write(&[
        ("t — 1d.sql", "select 1 as a"),
        ("t.conf", &format!("grant_select=group {group}\n")),
    ]);
    built(&cluster.cycle());
    cluster.force("t");
    built(&cluster.cycle());
    let privileges: String = cluster.scalar(&format!(
        "select array_to_string(c.relacl, ',') from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = '{}' and c.relname = 't'",
        cluster.schema
    ));
    cluster.sql(&format!("drop schema {} cascade; drop group {group}", cluster.schema));
    assert!(privileges.contains(&format!("group {group}=r/")), "{privileges}");
}

/// Snapshots with `getdate()`: two builds, two snapshots.
#[test]
fn snapshots() {
    let cluster = Cluster::new();
    cluster.write(&[("t — 1d.sql", "select 1 as a"), ("t.conf", "snapshots_interval=1m\n")]);
    built(&cluster.cycle());
    std::thread::sleep(std::time::Duration::from_secs(61));
    cluster.force("t");
    built(&cluster.cycle());
    let history = cluster.table("t_history");
    assert_eq!(cluster.scalar::<i64>(&format!("select count(*) from {history}")), 2);
}

/// A failing test keeps the live table.
#[test]
fn a_failing_test_keeps_the_live_table() {
    let cluster = Cluster::new();
    cluster.write(&[("t — 1d.sql", "select 1 as a")]);
    built(&cluster.cycle());
    let test = format!("select a = 1 as still_one from {}", cluster.table("t"));
    cluster.write(&[("t — 1d.sql", "select 2 as a"), ("t_test.sql", &test)]);
    cluster.force("t");
    let report = cluster.cycle();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(cluster.scalar::<i32>(&format!("select a from {}", cluster.table("t"))), 1);
}

/// A processor's input through UNLOAD and through a cursor: the script receives the same CSV
/// (NULL, empty string, booleans, quotes), and its output loads through `COPY` from S3.
#[test]
fn processor_input_is_the_same_through_unload_and_a_cursor() {
    let cluster = Cluster::new();
    cluster.needs_s3();
    // The script turns each line of its input into a row, so the table shows what it received.
    let script = "import csv, sys\n\
        with open(sys.argv[1], newline='') as f, open(sys.argv[2], 'w', newline='') as out:\n\
        \x20   w = csv.writer(out)\n\
        \x20   w.writerow(['n', 'line'])\n\
        \x20   for n, line in enumerate(f.read().splitlines()):\n\
        \x20       w.writerow([n, line])\n";
    let ddl = format!("create table {} (n int, line varchar(1000))", cluster.table("p"));
    cluster.write(&[
        ("p — 1d.sql", &ddl),
        (
            "p_select.sql",
            "select 1 as id, null::varchar as missing, ''::varchar as empty, true as yes, 'say \"hi\"' as quoted",
        ),
        ("p.py", script),
    ]);
    let lines = |cluster: &Cluster| -> Vec<String> {
        cluster
            .client()
            .query(&format!("select line from {} order by n", cluster.table("p")), &[])
            .unwrap()
            .iter()
            .map(|row| row.get::<_, Option<String>>(0).unwrap_or_default())
            .collect()
    };
    let mut cursor = cluster.config.clone();
    cursor.processors.export = ExportMethod::Cursor;
    built(&cluster.cycle_with(&cursor));
    let through_cursor = lines(&cluster);
    cluster.force("p");
    let mut unload = cluster.config.clone();
    unload.processors.export = ExportMethod::Unload;
    built(&cluster.cycle_with(&unload));
    assert_eq!(lines(&cluster), through_cursor);
    assert_eq!(through_cursor[0], "id,missing,empty,yes,quoted");
}

/// An S3 load node on Redshift: the newest of two dated JSON files loaded by `COPY … JSON
/// 'auto'` (its sibling `….json.gz` forces a manifest, since `COPY` reads a prefix), the table
/// created with its keys; the same file again is `unchanged`; a CSV node with a header.
#[test]
fn s3_loads_through_copy() {
    let cluster = Cluster::new();
    cluster.needs_s3();
    let bucket = cluster.config.s3.bucket.clone().unwrap();
    let store =
        duro_core::objectstore::ObjectStore::for_bucket(&cluster.config.s3, &bucket).unwrap();
    let files = tempfile::tempdir().unwrap();
    let put = |key: &str, text: &str| {
        let path = files.path().join("upload");
        std::fs::write(&path, text).unwrap();
        store.upload(&format!("{}loads/{key}", cluster.config.s3.prefix), &path).unwrap();
    };
    put(
        "pages_2015-07-01T00:00:00Z.json",
        "{\"page_id\": \"old\", \"hit_time\": \"2015-07-01T10:00:00Z\"}\n",
    );
    put(
        "pages_2015-07-02T00:00:00Z.json",
        "{\"page_id\": \"a\", \"hit_time\": \"2015-07-02T10:00:00Z\", \"hits\": 3, \"Extra\": 1}\n{\"page_id\": \"b\"}\n",
    );
    put("pages_2015-07-02T00:00:00Z.json.bak", "not a data file");
    put(
        "clicks_2015-07-02T00:00:00Z.csv",
        "page_id|hits|day\na|1|2015-07-02\n\"b|c\"|2|2015-07-02\n",
    );
    let prefix = format!("{}loads", cluster.config.s3.prefix);
    cluster.write(&[
        (
            "pages — 1d.s3.yml",
            &format!("bucket: {bucket}\nprefix: {prefix}\ndataset: pages\ndata_date_column: hit_time\ncolumns:\n  - {{name: page_id, type: text, not_null: true, distkey: true}}\n  - {{name: hit_time, type: timestamp, sortkey: 1}}\n  - {{name: hits, type: int, default: 0}}\n"),
        ),
        (
            "clicks — 1d.s3.yml",
            &format!("bucket: {bucket}\nprefix: {prefix}\ndataset: clicks\ndata_date_column: day\ncsv: {{delimiter: '|', header: true}}\ncolumns:\n  - {{name: page_id, type: text}}\n  - {{name: hits, type: int}}\n  - {{name: day, type: date}}\n"),
        ),
    ]);
    let report = cluster.cycle();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let pages = cluster.table("pages");
    assert_eq!(cluster.scalar::<i64>(&format!("select count(*) from {pages}")), 2);
    assert_eq!(
        cluster.scalar::<i64>(&format!("select count(*) from {pages} where hits is null")),
        1
    );
    cluster.force("pages");
    let report = cluster.cycle();
    assert!(
        report
            .built
            .iter()
            .any(|b| b.table == pages && b.outcome == duro_core::build::BuildOutcome::Unchanged),
        "{report:?}"
    );
    assert_eq!(
        cluster.scalar::<i64>(&format!("select count(*) from {}", cluster.table("clicks"))),
        2
    );
}
