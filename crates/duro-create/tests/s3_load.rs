//! S3 load nodes against a real PostgreSQL, each scenario of the ingest spec (S1–S22, G1, G3)
//! by its number, run twice: from a `file://` folder and from the in-process S3 server (whose
//! buckets are folders, so both read the same files). Checked on the table's rows and columns,
//! the build records and the node's state rows.

use crate::support::{Setup, start_s3_server};
use duro_core::build::{BuildOutcome, FailureClass};
use duro_core::creator::Selection;
use duro_core::s3_load::Overrides;
use duro_core::state::BuildRecord;
use duro_core::testing::cli::Cli;
use std::io::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Folder,
    S3,
}

const BOTH: [Via; 2] = [Via::Folder, Via::S3];
const KEY: &str = "duro-test-key";
const SECRET: &str = "duro-test-secret";

/// A warehouse with the `raw` and `reports` schemas, a bucket `analytics` (a folder under
/// `root`), and the repository's S3 load nodes reading it.
struct Loads {
    setup: Setup,
    root: tempfile::TempDir,
    via: Via,
}

/// The pages node's file (refreshed every 30 minutes) and definition.
const PAGES_FILE: &str = "raw/pages — 30m.s3.yml";
const PAGES: &str = "bucket: {bucket}\ndataset: api_hits_pages\ndata_date_column: hit_time\ncolumns:\n  - {name: page_id, type: text, not_null: true}\n  - {name: hit_time, type: timestamp}\n  - {name: hits, type: int, default: \"0\"}\n";

impl Loads {
    fn new(via: Via, files: &[(&str, &str)]) -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("analytics")).unwrap();
        let mut setup = Setup::new(&[], "create schema raw; create schema reports");
        let s3 = &mut setup.config.s3;
        match via {
            Via::Folder => s3.load_file_roots = vec![root.path().to_owned()],
            Via::S3 => {
                s3.endpoint = Some(start_s3_server(root.path(), KEY, SECRET));
                s3.path_style = true;
                s3.access_key_id = Some(KEY.into());
                s3.secret_access_key = Some(SECRET.into());
                s3.load_buckets = vec!["analytics".into()];
            }
        }
        let loads = Self { setup, root, via };
        loads.write(files);
        loads
    }

    /// The pages node (`raw/pages.s3.yml`) with `extra` lines, and `files`.
    fn pages(via: Via, extra: &str, files: &[(&str, &str)]) -> Self {
        let node = format!("{PAGES}{extra}");
        let mut all = vec![(PAGES_FILE, node.as_str())];
        all.extend_from_slice(files);
        Self::new(via, &all)
    }

    /// Writes repository files (`{bucket}` names the bucket) and schedules them.
    fn write(&self, files: &[(&str, &str)]) {
        let bucket = match self.via {
            Via::Folder => format!("file://{}/analytics", self.root.path().display()),
            Via::S3 => "analytics".to_owned(),
        };
        let files: Vec<(&str, String)> =
            files.iter().map(|(path, text)| (*path, text.replace("{bucket}", &bucket))).collect();
        let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        self.setup.write(&files);
        self.setup.schedule();
    }

    /// Puts a file into the bucket, gzipped when its key ends in `.gz`.
    fn put(&self, key: &str, text: &str) {
        let path = self.root.path().join("analytics").join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let bytes = if key.ends_with(".gz") {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(text.as_bytes()).unwrap();
            encoder.finish().unwrap()
        } else {
            text.as_bytes().to_vec()
        };
        std::fs::write(path, bytes).unwrap();
    }

    /// The `s3:` section of a duro.yaml for this setup.
    fn s3_yaml(&self) -> String {
        let s3 = &self.setup.config.s3;
        match self.via {
            Via::Folder => format!("s3:\n  load_file_roots: [{}]\n", self.root.path().display()),
            Via::S3 => format!(
                "s3:\n  endpoint: {}\n  path_style: true\n  access_key_id: {KEY}\n  secret_access_key: {SECRET}\n  load_buckets: [analytics]\n",
                s3.endpoint.as_deref().unwrap_or_default()
            ),
        }
    }

    fn url(&self, key: &str) -> String {
        match self.via {
            Via::Folder => format!("file://{}/analytics/{key}", self.root.path().display()),
            Via::S3 => format!("s3://analytics/{key}"),
        }
    }

    /// Runs `table` now with `overrides`; returns its newest build record.
    fn run_with(&self, table: &str, load: Overrides) -> BuildRecord {
        let selection = Selection::Table {
            name: table.to_owned(),
            with_dependencies: false,
            load,
            accept_row_drop: false,
        };
        self.setup.creator().run_cycle(&selection).unwrap();
        self.setup.state().builds(table).unwrap().into_iter().next().unwrap()
    }

    fn run(&self, table: &str) -> BuildRecord {
        self.run_with(table, Overrides::default())
    }

    fn count(&self, sql: &str) -> i64 {
        self.setup.scalar(sql)
    }

    /// `(page_id, hit_time as text, hits)` of every row, ordered.
    fn rows(&self) -> Vec<(String, Option<String>, Option<i32>)> {
        self.setup
            .client()
            .query("select page_id, to_char(hit_time, 'YYYY-MM-DD HH24:MI'), hits from raw.pages order by 2, 1", &[])
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2)))
            .collect()
    }

    fn loaded(&self) -> Option<(String, String)> {
        self.setup.state().s3_load_state("raw.pages").unwrap().map(|l| (l.file, l.data_date))
    }
}

/// `n` JSON lines of `day` (`2015-07-03`), page ids `<prefix>1…`.
fn day_rows(day: &str, prefix: &str, n: usize) -> String {
    (1..=n)
        .map(|i| format!("{{\"page_id\": \"{prefix}{i}\", \"hit_time\": \"{day}T10:00:00Z\", \"hits\": {i}}}\n"))
        .collect()
}

fn key(day: &str, ext: &str) -> String {
    format!("api_hits_pages_{day}T00:00:00Z.{ext}")
}

/// S1, S2, S13: of three dated files the newest is loaded into a table created as declared;
/// names that are not the node's files (no date, a date without time, a sidecar) are ignored.
#[test]
fn the_newest_file_into_a_new_table() {
    for via in BOTH {
        let loads = Loads::pages(via, "", &[]);
        for day in ["2015-07-01", "2015-07-03", "2015-07-02"] {
            loads.put(&key(day, "json.gz"), &day_rows(day, day, 2 + day.ends_with('3') as usize));
        }
        loads.put("api_hits_pages_latest.json", &day_rows("2015-07-09", "x", 1));
        loads.put("api_hits_pages_2015-07-04.json", &day_rows("2015-07-04", "x", 1));
        loads.put("config_api_hits_pages_2015-07-05T00:00:00Z.yml", "pages: {}\n");
        let build = loads.run("raw.pages");
        assert_eq!(
            (build.outcome, build.rows),
            (BuildOutcome::Succeeded, Some(3)),
            "{via:?} {build:?}"
        );
        assert_eq!(
            loads.count("select count(*) from raw.pages where hit_time::date = '2015-07-03'"),
            3
        );
        assert_eq!(loads.count("select count(*) from raw.pages"), 3, "{via:?}");
        let key3 = key("2015-07-03", "json.gz");
        assert_eq!(loads.loaded(), Some((loads.url(&key3), "2015-07-03T00:00:00Z".to_owned())));
        let run = loads.setup.state().s3_load_runs("raw.pages", 1).unwrap().remove(0);
        assert_eq!(
            (run.files, run.data_date.as_deref(), run.rows),
            (vec![loads.url(&key3)], Some("2015-07-03T00:00:00Z"), Some(3))
        );
        // S13: the declared types, NOT NULL and default.
        let columns: Vec<(String, String, String, Option<String>)> = loads
            .setup
            .client()
            .query(
                "select column_name::text, format_type(a.atttypid, a.atttypmod), is_nullable::text, column_default::text
                 from information_schema.columns c
                 join pg_attribute a on a.attrelid = 'raw.pages'::regclass and a.attname = c.column_name
                 where table_schema = 'raw' and table_name = 'pages' order by ordinal_position",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect();
        assert_eq!(
            columns,
            [
                ("page_id".into(), "character varying(256)".into(), "NO".into(), None),
                ("hit_time".into(), "timestamp without time zone".into(), "YES".into(), None),
                ("hits".into(), "integer".into(), "YES".into(), Some("0".into())),
            ]
        );
    }
}

/// S3: with 1,500 dated files (two pages of an S3 listing), the true newest is loaded.
#[test]
fn the_newest_of_many_pages_of_files() {
    for via in BOTH {
        let loads = Loads::pages(via, "", &[]);
        let start = chrono::NaiveDate::from_ymd_opt(2011, 1, 1).unwrap();
        for offset in 0..1_500 {
            let day = (start + chrono::Duration::days(offset)).format("%Y-%m-%d").to_string();
            loads.put(&key(&day, "json"), &day_rows(&day, "p", 1));
        }
        let build = loads.run("raw.pages");
        assert_eq!(build.outcome, BuildOutcome::Succeeded, "{via:?} {build:?}");
        let newest = (start + chrono::Duration::days(1_499)).format("%Y-%m-%d").to_string();
        assert_eq!(loads.loaded().unwrap().1, format!("{newest}T00:00:00Z"), "{via:?}");
        assert_eq!(loads.count("select count(*) from raw.pages"), 1);
    }
}

/// S4, S5: `api_hits_pages_extra_…` is never a `pages` file, however new; of two offsets the
/// later instant wins, and the key is used as listed.
#[test]
fn whole_names_and_instants_decide() {
    for via in BOTH {
        let loads = Loads::pages(via, "", &[]);
        loads.put(&key("2015-07-01", "json"), &day_rows("2015-07-01", "pages", 1));
        loads.put(
            "api_hits_pages_extra_2015-07-05T00:00:00Z.json",
            &day_rows("2015-07-05", "extra", 1),
        );
        let build = loads.run("raw.pages");
        assert_eq!(build.outcome, BuildOutcome::Succeeded, "{via:?} {build:?}");
        assert_eq!(loads.rows(), [("pages1".into(), Some("2015-07-01 10:00".into()), Some(1))]);

        let offset = "api_hits_pages_2015-07-02T01:00:00+02:00.json";
        loads.put(offset, &day_rows("2015-07-02", "offset", 1));
        loads.put(&key("2015-07-02", "json"), &day_rows("2015-07-02", "zulu", 1));
        let build = loads.run_with("raw.pages", Overrides { force: true, ..Overrides::default() });
        assert_eq!(build.outcome, BuildOutcome::Succeeded, "{via:?} {build:?}");
        let run = loads.setup.state().s3_load_runs("raw.pages", 1).unwrap().remove(0);
        assert_eq!(run.files, [loads.url(&key("2015-07-02", "json"))], "{via:?}");
        assert_eq!(loads.count("select count(*) from raw.pages where page_id = 'zulu1'"), 1);
        assert_eq!(loads.count("select count(*) from raw.pages where page_id = 'offset1'"), 0);
    }
}

/// S6 through the binary: `--date … --force` loads exactly that file; a date without a file is
/// an error naming the nearest dates; the flags are refused for a view.
#[test]
fn a_chosen_date_from_the_command_line() {
    for via in BOTH {
        a_chosen_date_through(via);
    }
}

fn a_chosen_date_through(via: Via) {
    let loads = Loads::pages(
        via,
        "",
        &[("reports/daily — 24h.sql", "select count(*) as n from raw.pages")],
    );
    for day in ["2015-07-01", "2015-07-02", "2015-07-03"] {
        loads.put(&key(day, "json"), &day_rows(day, day, 1));
    }
    let config = loads.setup.config_file(&loads.s3_yaml());
    let run = |args: &[&str]| {
        Cli::new(env!("CARGO_BIN_EXE_duro-create")).arg("--config").arg(&config).args(args).run()
    };
    let plan = run(&["--dry-run", "--table", "raw.pages"]);
    plan.code(0);
    let location = loads.url("").trim_end_matches('/').to_owned();
    assert!(plan.stdout.contains(&format!("the newest file of `{location}/`")), "{}", plan.both());
    assert!(
        plan.stdout.contains("matching `{dataset}_{date}.{ext}` (nothing loaded yet)"),
        "{}",
        plan.both()
    );
    run(&["--table", "raw.pages", "--date", "2015-07-02T00:00:00Z", "--force"]).code(0);
    let plan = run(&["--dry-run", "--table", "raw.pages"]);
    assert!(
        plan.stdout.contains("if newer than the data date 2015-07-02T00:00:00Z loaded last"),
        "{}",
        plan.both()
    );
    assert_eq!(loads.rows(), [("2015-07-021".into(), Some("2015-07-02 10:00".into()), Some(1))]);
    let again = run(&["--table", "raw.pages", "--date", "2015-07-02T00:00:00Z"]);
    again.code(0);
    let file = loads.url(&key("2015-07-02", "json"));
    assert!(
        again.stdout.contains(&format!("unchanged raw.pages: {file} (data date 2015-07-02T00:00:00Z) is not after the table's newest data date 2015-07-02T10:00:00Z (by day); nothing loaded (`--force` loads it anyway)")),
        "{}",
        again.both()
    );
    let missing = run(&["--table", "raw.pages", "--date", "2015-07-02T12:00:00Z", "--force"]);
    missing.code(1);
    assert!(missing.both().contains("no file of `raw.pages` has the data date 2015-07-02T12:00:00Z; the nearest: 2015-07-02T00:00:00Z, 2015-07-03T00:00:00Z"), "{}", missing.both());
    let bad = run(&["--table", "raw.pages", "--date", "2015-07-02"]);
    bad.code(2);
    assert!(bad.both().contains("is not a data date like 2015-07-02T00:00:00Z"), "{}", bad.both());
    let view = run(&["--table", "reports.daily", "--force"]);
    view.code(2);
    assert!(
        view.both().contains("apply to S3 load nodes; `reports.daily` is a view table"),
        "{}",
        view.both()
    );
}

/// S7, S8, S9, S12, S16: data not newer than the table's is not loaded (`unchanged`, fresh),
/// also with `mode: truncate`, unless forced; an empty table or NULL dates load.
#[test]
fn only_newer_data_unless_forced() {
    for via in BOTH {
        let loads = Loads::pages(via, "", &[]);
        loads.put(&key("2015-07-02", "json"), &day_rows("2015-07-02", "b", 2));
        // S16: the table exists, empty, then with a NULL date only.
        loads.setup.client().batch_execute("create table raw.pages (page_id varchar(256) not null, hit_time timestamp, hits integer default 0)").unwrap();
        loads
            .setup
            .client()
            .batch_execute("insert into raw.pages values ('null-date', null, 0)")
            .unwrap();
        let first = loads.run("raw.pages");
        assert_eq!(
            (first.outcome, first.rows),
            (BuildOutcome::Succeeded, Some(2)),
            "{via:?} {first:?}"
        );
        // S8: the same file again is skipped.
        let again = loads.run("raw.pages");
        assert_eq!(again.outcome, BuildOutcome::Unchanged, "{via:?} {again:?}");
        assert_eq!(loads.count("select count(*) from raw.pages"), 3);
        let note =
            loads.setup.state().s3_load_runs("raw.pages", 1).unwrap().remove(0).note.unwrap();
        assert!(
            note.contains("is not after the table's newest data date 2015-07-02T10:00:00Z"),
            "{note}"
        );
        // S7: an older newest file while the table holds 07-03.
        loads
            .setup
            .client()
            .batch_execute("insert into raw.pages values ('c1', '2015-07-03 08:00', 1)")
            .unwrap();
        assert_eq!(loads.run("raw.pages").outcome, BuildOutcome::Unchanged);
        assert_eq!(loads.count("select count(*) from raw.pages"), 4);
        let due = loads.setup.creator().plan(&Selection::Due).unwrap();
        assert!(due.is_empty(), "{via:?}: an unchanged load is fresh: {due:?}");
        // S12: truncate is not force.
        loads.write(&[(PAGES_FILE, &format!("{PAGES}mode: truncate\n"))]);
        assert_eq!(loads.run("raw.pages").outcome, BuildOutcome::Unchanged);
        assert_eq!(loads.count("select count(*) from raw.pages"), 4);
        // S9: forced, appended: the 07-02 rows twice (with `mode: append`).
        loads.write(&[(PAGES_FILE, PAGES)]);
        let forced = loads.run_with("raw.pages", Overrides { force: true, ..Overrides::default() });
        assert_eq!(forced.outcome, BuildOutcome::Succeeded, "{via:?} {forced:?}");
        assert_eq!(loads.count("select count(*) from raw.pages where page_id like 'b%'"), 4);
    }
}

/// S10: `replace_period` with `--force` replaces the file's day and leaves the others.
#[test]
fn a_forced_reload_replaces_its_period() {
    for via in BOTH {
        let loads = Loads::pages(via, "mode: replace_period\ngranularity: day\n", &[]);
        loads.put(&key("2015-07-02", "json"), &day_rows("2015-07-02", "b", 2));
        let first = loads.run("raw.pages");
        assert_eq!(first.outcome, BuildOutcome::Succeeded, "{via:?} {first:?}");
        loads.put(&key("2015-07-03", "json"), &day_rows("2015-07-03", "c", 2));
        assert_eq!(loads.run("raw.pages").outcome, BuildOutcome::Succeeded);
        loads.put(&key("2015-07-03", "json"), &day_rows("2015-07-03", "new", 3));
        let forced = loads.run_with("raw.pages", Overrides { force: true, ..Overrides::default() });
        assert_eq!(forced.outcome, BuildOutcome::Succeeded, "{via:?} {forced:?}");
        let ids: Vec<String> = loads.rows().into_iter().map(|r| r.0).collect();
        assert_eq!(ids, ["b1", "b2", "new1", "new2", "new3"], "{via:?}");
    }
}

/// S11: `mode: truncate` replaces the rows in one transaction: a reader polling meanwhile sees
/// the 10 old rows or the 3 new ones, never an empty table. The node's tests sleep inside the
/// load's transaction, so the reader runs while it is open.
#[test]
fn truncate_never_shows_an_empty_table() {
    for via in BOTH {
        let loads = Loads::pages(
            via,
            "mode: truncate\n",
            &[("raw/pages_test.sql", "select count(*) > 0 from raw.pages, pg_sleep(0.4)")],
        );
        loads.put(&key("2015-07-01", "json"), &day_rows("2015-07-01", "a", 10));
        assert_eq!(loads.run("raw.pages").rows, Some(10));
        loads.put(&key("2015-07-02", "json"), &day_rows("2015-07-02", "b", 3));
        let done = std::sync::atomic::AtomicBool::new(false);
        let seen = std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut client = loads.setup.client();
                let mut seen = std::collections::BTreeSet::new();
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let n: i64 =
                        client.query_one("select count(*) from raw.pages", &[]).unwrap().get(0);
                    seen.insert(n);
                }
                seen
            });
            let build = loads.run("raw.pages");
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            assert_eq!(
                (build.outcome, build.rows),
                (BuildOutcome::Succeeded, Some(3)),
                "{via:?} {build:?}"
            );
            reader.join().unwrap()
        });
        assert!(seen.contains(&10) && !seen.contains(&0), "{via:?}: {seen:?}");
        assert!(seen.iter().all(|n| [10, 3].contains(n)), "{via:?}: {seen:?}");
        assert_eq!(loads.count("select count(*) from raw.pages"), 3);
    }
}

/// S14, S15: a declared column the table lacks is added (old rows NULL); a type that differs
/// is an error naming the column, and nothing changes: no rows deleted, no column added.
#[test]
fn columns_are_added_and_conflicts_refused() {
    for via in BOTH {
        let loads = Loads::pages(via, "", &[]);
        loads.put(&key("2015-07-01", "json"), &day_rows("2015-07-01", "a", 2));
        assert_eq!(loads.run("raw.pages").outcome, BuildOutcome::Succeeded);
        loads.write(&[(PAGES_FILE, &format!("{PAGES}  - {{name: referrer, type: text}}\n"))]);
        loads.put(
            &key("2015-07-02", "json"),
            "{\"page_id\": \"b1\", \"hit_time\": \"2015-07-02T10:00:00Z\", \"hits\": 1, \"referrer\": \"search\"}\n",
        );
        let added = loads.run("raw.pages");
        assert_eq!(added.outcome, BuildOutcome::Succeeded, "{via:?} {added:?}");
        assert!(
            added.message.as_deref().unwrap_or_default().contains("added column(s) `referrer`"),
            "{added:?}"
        );
        let referrers: Vec<(String, Option<String>)> = loads
            .setup
            .client()
            .query("select page_id, referrer from raw.pages order by 1", &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert_eq!(
            referrers,
            [("a1".into(), None), ("a2".into(), None), ("b1".into(), Some("search".into()))]
        );

        loads
            .setup
            .client()
            .batch_execute("alter table raw.pages alter column hits type varchar(256)")
            .unwrap();
        loads.write(&[(PAGES_FILE, &format!("{PAGES}  - {{name: referrer, type: text}}\n  - {{name: lang, type: text}}\nmode: truncate\n"))]);
        loads.put(&key("2015-07-03", "json"), &day_rows("2015-07-03", "c", 1));
        let refused = loads.run("raw.pages");
        assert_eq!(
            (refused.outcome, refused.failure_class),
            (BuildOutcome::Failed, Some(FailureClass::Configuration)),
            "{refused:?}"
        );
        let message = refused.message.unwrap();
        assert!(
            message.contains(
                "column `hits`: type character varying(256) in the table, integer declared"
            ),
            "{message}"
        );
        assert_eq!(loads.count("select count(*) from raw.pages"), 3);
        assert_eq!(loads.count("select count(*) from information_schema.columns where table_name = 'pages' and column_name = 'lang'"), 0);
    }
}

/// S17: the columns come from the original loader's config beside the file; its wrong schema
/// and a missing data date column are errors.
#[test]
fn a_sidecar_brings_the_columns() {
    for via in BOTH {
        let loads = Loads::new(
            via,
            &[("api_hits/pages — 1h.s3.yml", "bucket: {bucket}\nschema: sidecar\n")],
        );
        let sidecar = "pages:\n  dest: pages\n  meta:\n    schema: api_hits\n    datadatecolumn: hit_time\n  columns:\n    - {dest: page_id, type: text, notnull: true}\n    - {dest: hit_time, type: timestamp, sortord: 1}\n    - {dest: ratio, type: float}\n";
        loads.setup.client().batch_execute("create schema api_hits").unwrap();
        loads.put(
            "api_hits_pages_2015-07-01T00:00:00Z.json",
            "{\"page_id\": \"a\", \"hit_time\": \"2015-07-01T01:00:00Z\", \"ratio\": 0.5}\n",
        );
        loads.put("config_api_hits_pages_2015-07-01T00:00:00Z.yml", sidecar);
        let build = loads.run("api_hits.pages");
        assert_eq!(build.outcome, BuildOutcome::Succeeded, "{via:?} {build:?}");
        assert_eq!(loads.setup.scalar::<f64>("select ratio from api_hits.pages"), 0.5);
        for (bad, expected) in [
            (sidecar.replace("schema: api_hits", "schema: other"), "mismatched schema: `other`"),
            (
                sidecar.replace("    datadatecolumn: hit_time\n", ""),
                "the data date column must be set",
            ),
        ] {
            loads.put("api_hits_pages_2015-07-02T00:00:00Z.json", "{\"page_id\": \"b\"}\n");
            loads.put("config_api_hits_pages_2015-07-02T00:00:00Z.yml", &bad);
            let failed = loads.run("api_hits.pages");
            let message = failed.message.unwrap_or_default();
            assert!(
                message.contains(expected)
                    && message.contains("config_api_hits_pages_2015-07-02T00:00:00Z.yml"),
                "{message}"
            );
        }
    }
}

/// S18, S20: JSON keys map case-sensitively (extra ignored, missing and upper-case NULL), a
/// 300-character string is cut to 256 bytes, the timestamp parsed; a `|`-delimited `csv.gz`
/// and a plain `.json` both load.
#[test]
fn json_mapping_and_csv() {
    for via in BOTH {
        let loads = Loads::pages(via, "", &[]);
        let long = "x".repeat(300);
        loads.put(
            &key("2015-07-01", "json"),
            &format!("{{\"page_id\": \"{long}\", \"hit_time\": \"2015-07-01T10:00:00Z\", \"extra\": true}}\n{{\"page_id\": \"up\", \"HITS\": 5}}\n"),
        );
        assert_eq!(loads.run("raw.pages").outcome, BuildOutcome::Succeeded);
        let rows = loads.rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].0.len(), rows[0].1.as_deref(), rows[0].2),
            (256, Some("2015-07-01 10:00"), None)
        );
        assert_eq!(rows[1], ("up".into(), None, None), "{via:?}");

        let csv = Loads::pages(via, "csv: {delimiter: '|', header: true}\n", &[]);
        csv.put(
            &key("2015-07-02", "csv.gz"),
            "page_id|hit_time|hits\n\"a|b\"|2015-07-02 10:00:00|7\nc||\n",
        );
        let build = csv.run("raw.pages");
        assert_eq!(
            (build.outcome, build.rows),
            (BuildOutcome::Succeeded, Some(2)),
            "{via:?} {build:?}"
        );
        assert_eq!(
            csv.rows(),
            [("a|b".into(), Some("2015-07-02 10:00".into()), Some(7)), ("c".into(), None, None)]
        );
    }
}

/// S19: a bad record rolls the whole load back and names the file and its line, whether the
/// file is not JSON there or the warehouse refuses the value.
#[test]
fn a_bad_record_names_its_line() {
    for via in BOTH {
        let loads = Loads::pages(via, "mode: truncate\n", &[]);
        loads.put(&key("2015-07-01", "json"), &day_rows("2015-07-01", "a", 2));
        assert_eq!(loads.run("raw.pages").outcome, BuildOutcome::Succeeded);
        let mut lines: Vec<String> =
            day_rows("2015-07-02", "b", 5).lines().map(str::to_owned).collect();
        lines[2] = "{\"page_id\": \"b3\", oops}".to_owned();
        let key2 = key("2015-07-02", "json");
        loads.put(&key2, &lines.join("\n"));
        let failed = loads.run("raw.pages");
        let message = failed.message.clone().unwrap_or_default();
        assert_eq!(failed.outcome, BuildOutcome::Failed);
        assert!(
            message.contains(&format!("{}, line 3: invalid JSON", loads.url(&key2))),
            "{message}"
        );
        lines[2] = "{\"page_id\": \"b3\", \"hit_time\": \"2015-07-02T10:00:00Z\"}".to_owned();
        lines[3] =
            "{\"page_id\": \"b4\", \"hit_time\": \"2015-07-02T10:00:00Z\", \"hits\": \"many\"}"
                .to_owned();
        loads.put(&key2, &lines.join("\n"));
        let refused = loads.run("raw.pages");
        let message = refused.message.clone().unwrap_or_default();
        assert!(
            message.contains(&format!("{}, line 4: ", loads.url(&key2)))
                && message.contains("integer"),
            "{message}"
        );
        assert_eq!(loads.rows().iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["a1", "a2"]);
        // A carriage return inside a value, and two objects on one line, do not move the line
        // named.
        let key3 = key("2015-07-03", "json");
        loads.put(
            &key3,
            "{\"page_id\": \"c\\r1\"}{\"page_id\": \"c2\"}\n{\"page_id\": \"c\\r\\r3\"}\n{\"page_id\": \"c4\", \"hits\": \"many\"}\n",
        );
        let message = loads.run("raw.pages").message.unwrap_or_default();
        assert!(message.contains(&format!("{}, line 3: ", loads.url(&key3))), "{message}");
        let csv = Loads::pages(via, "csv: {delimiter: '|'}\n", &[]);
        let key4 = key("2015-07-04", "csv");
        csv.put(&key4, "\"a\rb\"|2015-07-04 10:00:00|1\nc||\n\"multi\nline\"||\nd||many\n");
        let message = csv.run("raw.pages").message.unwrap_or_default();
        assert!(message.contains(&format!("{}, line 5: ", csv.url(&key4))), "{message}");
    }
}

/// S21: `catch_up` loads every newer file, oldest first, and records the newest date.
#[test]
fn catching_up_loads_every_newer_file() {
    for via in BOTH {
        let loads = Loads::pages(via, "catch_up: true\n", &[]);
        loads.put(&key("2015-07-01", "json"), &day_rows("2015-07-01", "a", 1));
        assert_eq!(loads.run("raw.pages").outcome, BuildOutcome::Succeeded);
        loads.put(&key("2015-07-02", "json"), &day_rows("2015-07-02", "b", 1));
        loads.put(&key("2015-07-03", "json"), &day_rows("2015-07-03", "c", 1));
        let build = loads.run("raw.pages");
        assert_eq!(
            (build.outcome, build.rows),
            (BuildOutcome::Succeeded, Some(2)),
            "{via:?} {build:?}"
        );
        let run = loads.setup.state().s3_load_runs("raw.pages", 1).unwrap().remove(0);
        assert_eq!(
            run.files,
            [loads.url(&key("2015-07-02", "json")), loads.url(&key("2015-07-03", "json"))]
        );
        assert_eq!(loads.loaded().unwrap().1, "2015-07-03T00:00:00Z");
        assert_eq!(loads.rows().len(), 3);
    }
}

/// S22, G1, G3: in one cycle the node with a new file loads while the other finds nothing
/// newer (`unchanged`, counted as fresh); both run before the view that reads them, which is
/// then built.
#[test]
fn ingest_nodes_run_before_the_views_that_read_them() {
    for via in BOTH {
        let other = PAGES.replace("api_hits_pages", "api_hits_clicks");
        let loads = Loads::new(
            via,
            &[
                ("raw/pages.s3.yml", PAGES),
                ("raw/clicks.s3.yml", &other),
                (
                    "reports/daily_pages — 24h.sql",
                    "select p.page_id, c.hits from raw.pages p join raw.clicks c using (page_id)",
                ),
            ],
        );
        loads.put(&key("2015-07-01", "json"), &day_rows("2015-07-01", "p", 2));
        loads.put("api_hits_clicks_2015-07-01T00:00:00Z.json", &day_rows("2015-07-01", "p", 1));
        let report = loads.setup.cycle();
        let built = duro_core::testing::setup::built_names(&report);
        assert_eq!(built.len(), 3, "{via:?} {report:?}");
        assert_eq!(built.last().map(String::as_str), Some("reports.daily_pages"), "{report:?}");
        loads.put(&key("2015-07-02", "json"), &day_rows("2015-07-02", "p", 3));
        loads.setup.age_history(25 * 3_600_000);
        let report = loads.setup.cycle();
        assert!(report.failed.is_empty(), "{report:?}");
        let outcome = |table: &str| loads.setup.state().builds(table).unwrap().remove(0).outcome;
        assert_eq!(outcome("raw.pages"), BuildOutcome::Succeeded, "{via:?}");
        assert_eq!(outcome("raw.clicks"), BuildOutcome::Unchanged, "{via:?}");
        assert_eq!(outcome("reports.daily_pages"), BuildOutcome::Succeeded, "{via:?}");
        assert_eq!(loads.count("select count(*) from reports.daily_pages"), 2);
    }
}

/// A JSONPaths file beside the data picks each column's value, nested ones included.
#[test]
fn jsonpaths_pick_the_columns() {
    for via in BOTH {
        let loads = Loads::pages(via, "jsonpaths: pages.jsonpaths\n", &[]);
        loads.put("pages.jsonpaths", r#"{"jsonpaths": ["$.page.id", "$['when']", "$.counts[1]"]}"#);
        loads.put(
            &key("2015-07-01", "json"),
            "{\"page\": {\"id\": \"p1\"}, \"when\": \"2015-07-01T10:00:00Z\", \"counts\": [1, 2]}\n",
        );
        let build = loads.run("raw.pages");
        assert_eq!(build.outcome, BuildOutcome::Succeeded, "{via:?} {build:?}");
        assert_eq!(loads.rows(), [("p1".into(), Some("2015-07-01 10:00".into()), Some(2))]);
    }
}

/// An object that cannot be downloaded is an error of the read, never an empty file.
#[test]
fn a_failed_download_is_an_error() {
    use std::io::Read;
    let loads = Loads::pages(Via::S3, "", &[]);
    let store =
        duro_core::objectstore::ObjectStore::for_bucket(&loads.setup.config.s3, "analytics")
            .unwrap();
    let mut text = String::new();
    let error = store.reader("missing.json").unwrap().read_to_string(&mut text).unwrap_err();
    assert!(
        error.to_string().contains("S3 refused to download s3://analytics/missing.json (HTTP 404"),
        "{error}"
    );
    loads.put("present.json", "{}");
    store.reader("present.json").unwrap().read_to_string(&mut text).unwrap();
    assert_eq!(text, "{}");
}

/// `kill -9` of the creator at 10 points of `truncate` loads: the table always holds one whole
/// file's rows (the old or the new), never none or a mix; the next run completes the load (or,
/// when the kill came after the commit, finds nothing newer).
#[test]
fn kill_dash_nine_during_a_load_leaves_one_whole_file() {
    // The tests keep each load's transaction open a while longer, so kills land inside it.
    let loads = Loads::pages(
        Via::Folder,
        "mode: truncate\n",
        &[("raw/pages_test.sql", "select count(*) > 0 from raw.pages, pg_sleep(0.3)")],
    );
    let rows = 60_000;
    let day = |n: u32| format!("2015-08-{:02}", n + 1);
    loads.put(&key(&day(0), "json.gz"), &day_rows(&day(0), "r0-", rows));
    let config = loads.setup.config_file(&loads.s3_yaml());
    let create = || {
        Cli::new(env!("CARGO_BIN_EXE_duro-create"))
            .arg("--config")
            .arg(&config)
            .args(["--table", "raw.pages"])
    };
    create().run().code(0);
    let mut warehouse = loads.setup.client();
    let prefixes = |client: &mut postgres::Client| -> Vec<(String, i64)> {
        client
            .query("select split_part(page_id, '-', 1), count(*) from raw.pages group by 1", &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    for run in 1..=10u32 {
        loads.put(&key(&day(run), "json.gz"), &day_rows(&day(run), &format!("r{run}-"), rows));
        let child = create().start();
        std::thread::sleep(std::time::Duration::from_millis(30 + u64::from(run * 7919) % 600));
        child.kill();
        let found = prefixes(&mut warehouse);
        let whole = [(format!("r{}", run - 1), rows as i64), (format!("r{run}"), rows as i64)];
        assert!(found.len() == 1 && whole.contains(&found[0]), "run {run}: {found:?}");
        create().run().code(0);
        assert_eq!(prefixes(&mut warehouse), [(format!("r{run}"), rows as i64)], "run {run}");
    }
    // A kill after the commit leaves the next run nothing newer: `unchanged`. Every killed run
    // was closed by the next creator's start.
    let builds = loads.setup.state().builds("raw.pages").unwrap();
    assert!(builds.iter().all(|b| b.outcome != BuildOutcome::Running), "{builds:?}");
    assert!(matches!(builds[0].outcome, BuildOutcome::Succeeded | BuildOutcome::Unchanged));
}

/// A `date` data date column in a zone west of UTC: a file is its local day; loaded once, it
/// is not loaded again; forced with `replace_period`, it replaces exactly that day.
#[test]
fn local_days_of_a_date_column() {
    for via in BOTH {
        let node = "bucket: {bucket}\ndataset: api_hits_pages\ndata_date_column: day\ntimezone: America/New_York\nmode: replace_period\ncolumns:\n  - {name: page_id, type: text}\n  - {name: day, type: date}\n";
        let loads = Loads::new(via, &[(PAGES_FILE, node)]);
        let rows = |day: &str, prefix: &str| -> String {
            (1..=2)
                .map(|i| format!("{{\"page_id\": \"{prefix}{i}\", \"day\": \"{day}\"}}\n"))
                .collect()
        };
        // 04:00Z on the 3rd is midnight of the 3rd in New York.
        loads.put("api_hits_pages_2015-07-02T04:00:00Z.json", &rows("2015-07-02", "b"));
        loads.put("api_hits_pages_2015-07-03T04:00:00Z.json", &rows("2015-07-03", "c"));
        assert_eq!(loads.run("raw.pages").outcome, BuildOutcome::Succeeded);
        loads.put("api_hits_pages_2015-07-02T04:00:00Z.json", &rows("2015-07-02", "b"));
        let first = loads.run_with(
            "raw.pages",
            Overrides {
                date: chrono::DateTime::parse_from_rfc3339("2015-07-02T04:00:00Z").ok(),
                force: true,
                ..Overrides::default()
            },
        );
        assert_eq!(first.outcome, BuildOutcome::Succeeded, "{via:?} {first:?}");
        let again = loads.run("raw.pages");
        assert_eq!(again.outcome, BuildOutcome::Unchanged, "{via:?} {again:?}");
        loads.put("api_hits_pages_2015-07-03T04:00:00Z.json", &rows("2015-07-03", "new"));
        let forced = loads.run_with("raw.pages", Overrides { force: true, ..Overrides::default() });
        assert_eq!(forced.outcome, BuildOutcome::Succeeded, "{via:?} {forced:?}");
        let ids: Vec<String> = loads
            .setup
            .client()
            .query("select page_id from raw.pages order by 1", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(ids, ["b1", "b2", "new1", "new2"], "{via:?}");
    }
}

/// `granularity: hour`: a file of the same hour as the table's newest row is not newer; one of
/// the next hour is.
#[test]
fn hourly_periods() {
    let loads = Loads::pages(Via::Folder, "granularity: hour\n", &[]);
    let row =
        |time: &str, id: &str| format!("{{\"page_id\": \"{id}\", \"hit_time\": \"{time}\"}}\n");
    loads.put("api_hits_pages_2015-07-03T10:00:00Z.json", &row("2015-07-03T10:05:00Z", "a"));
    assert_eq!(loads.run("raw.pages").outcome, BuildOutcome::Succeeded);
    loads.put("api_hits_pages_2015-07-03T10:30:00Z.json", &row("2015-07-03T10:35:00Z", "b"));
    assert_eq!(loads.run("raw.pages").outcome, BuildOutcome::Unchanged);
    loads.put("api_hits_pages_2015-07-03T11:00:00Z.json", &row("2015-07-03T11:05:00Z", "c"));
    assert_eq!(loads.run("raw.pages").outcome, BuildOutcome::Succeeded);
    assert_eq!(loads.rows().iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["a", "c"]);
}

/// `catch_up` with `--force` loads the newer files and the newest; with `mode: truncate` only
/// the newest (a snapshot); a file loaded before is not loaded again, even when its rows are
/// older than its name; and the names that are not files of the node are in the run's note.
#[test]
fn catching_up_with_force_and_truncate() {
    let loads = Loads::pages(Via::Folder, "catch_up: true\n", &[]);
    loads.put(&key("2015-07-01", "json"), &day_rows("2015-07-01", "a", 1));
    loads.put("api_hits_pages_latest.json", "{}");
    assert_eq!(loads.run("raw.pages").outcome, BuildOutcome::Succeeded);
    // Rows dated before the file's name: the table's newest date does not tell it was loaded.
    loads.put(&key("2015-07-02", "json"), &day_rows("2015-06-30", "b", 1));
    assert_eq!(loads.run("raw.pages").outcome, BuildOutcome::Succeeded);
    let again = loads.run("raw.pages");
    assert_eq!(again.outcome, BuildOutcome::Unchanged, "{again:?}");
    let note = again.message.unwrap_or_default();
    assert!(
        note.contains("is not after the data date of the file loaded last, 2015-07-02T00:00:00Z"),
        "{note}"
    );
    assert!(
        note.contains("1 other names under file://")
            && note.contains("`api_hits_pages_latest.json`"),
        "{note}"
    );
    loads.put(&key("2015-07-03", "json"), &day_rows("2015-07-03", "c", 1));
    loads.put(&key("2015-07-04", "json"), &day_rows("2015-07-04", "d", 1));
    let forced = loads.run_with("raw.pages", Overrides { force: true, ..Overrides::default() });
    assert_eq!((forced.outcome, forced.rows), (BuildOutcome::Succeeded, Some(2)), "{forced:?}");
    loads.put(&key("2015-07-05", "json"), &day_rows("2015-07-05", "e", 1));
    loads.put(&key("2015-07-06", "json"), &day_rows("2015-07-06", "f", 1));
    let snapshot =
        loads.run_with("raw.pages", Overrides { truncate: true, ..Overrides::default() });
    assert_eq!(
        (snapshot.outcome, snapshot.rows),
        (BuildOutcome::Succeeded, Some(1)),
        "{snapshot:?}"
    );
    assert_eq!(loads.rows().iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["f1"]);
}

/// With `catch_up` and sidecars, files loaded together must declare the same columns.
#[test]
fn catching_up_needs_agreeing_sidecars() {
    let loads = Loads::new(
        Via::Folder,
        &[("api_hits/pages — 1h.s3.yml", "bucket: {bucket}\nschema: sidecar\ncatch_up: true\n")],
    );
    loads.setup.client().batch_execute("create schema api_hits").unwrap();
    let sidecar = |extra: &str| {
        format!(
            "pages:\n  meta:\n    schema: api_hits\n    datadatecolumn: day\n  columns:\n    - {{dest: id, type: int}}\n    - {{dest: day, type: date}}\n{extra}"
        )
    };
    for (day, extra) in [("2015-07-01", ""), ("2015-07-02", "    - {dest: note, type: text}\n")] {
        loads.put(
            &format!("api_hits_pages_{day}T00:00:00Z.json"),
            &format!("{{\"id\": 1, \"day\": \"{day}\"}}\n"),
        );
        loads.put(&format!("config_api_hits_pages_{day}T00:00:00Z.yml"), &sidecar(extra));
    }
    let failed = loads.run("api_hits.pages");
    let message = failed.message.unwrap_or_default();
    assert!(message.contains("config_api_hits_pages_2015-07-01T00:00:00Z.yml declares other columns than the newest file's sidecar"), "{message}");
    assert!(message.contains("--date 2015-07-01T00:00:00Z"), "{message}");
}

/// A folder the operator no longer allows is refused when the node runs, even with the catalog
/// checked before.
#[test]
fn a_store_no_longer_allowed_is_refused_at_run_time() {
    let mut loads = Loads::pages(Via::Folder, "", &[]);
    loads.put(&key("2015-07-01", "json"), &day_rows("2015-07-01", "a", 1));
    loads.setup.config.s3.load_file_roots = vec!["/nowhere".into()];
    let refused = loads.run("raw.pages");
    assert_eq!(
        (refused.outcome, refused.failure_class),
        (BuildOutcome::Failed, Some(FailureClass::Configuration))
    );
    assert!(
        refused
            .message
            .unwrap_or_default()
            .contains("is not under one of duro.yaml's `s3.load_file_roots` (`/nowhere`)")
    );
    assert_eq!(
        loads.count("select count(*) from information_schema.tables where table_name = 'pages'"),
        0
    );
}

/// The row-count rules on an S3 load node, checked inside its load's transaction: a `truncate`
/// load with far fewer rows fails (`validation_failed`) and rolls back, keeping the old rows;
/// accepted once, it goes through and says who accepted it.
#[test]
fn row_count_rules_guard_a_load() {
    let loads = Loads::pages(
        Via::Folder,
        "mode: truncate\n",
        &[("raw/pages.conf", "max_row_drop = 50%\nmin_rows = 1\n")],
    );
    loads.put(&key("2015-07-01", "json"), &day_rows("2015-07-01", "a", 4));
    assert_eq!(loads.run("raw.pages").outcome, BuildOutcome::Succeeded);
    loads.put(&key("2015-07-02", "json"), &day_rows("2015-07-02", "b", 1));
    let refused = loads.run("raw.pages");
    assert_eq!(refused.failure_class, Some(FailureClass::ValidationFailed), "{refused:?}");
    let message = refused.message.unwrap_or_default();
    assert!(message.contains("the new version has 1 rows, 75.0% fewer than the 4"), "{message}");
    assert_eq!(loads.count("select count(*) from raw.pages"), 4, "rolled back");
    loads.setup.build_accepting_row_drop("raw.pages");
    let record = loads.setup.state().builds("raw.pages").unwrap().remove(0);
    assert_eq!(record.outcome, BuildOutcome::Succeeded, "{record:?}");
    assert!(
        record
            .message
            .as_deref()
            .unwrap_or_default()
            .starts_with("accepted on the command line: `max_row_drop=50%`"),
        "{record:?}"
    );
    assert_eq!(loads.count("select count(*) from raw.pages"), 1);
}
