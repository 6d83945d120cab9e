//! Replication nodes against a real PostgreSQL: a source database and the warehouse, two
//! databases of the test cluster, `transport: direct`. The scenarios of the ingest spec (R1–R27,
//! G1, G2) by their numbers: identity, timed and full copies, columns, missing pieces, tests,
//! retries, the per-node history, delete tracking and resets, each checked on the target's rows,
//! the source's delete queue and the node's state.

use crate::support::Setup;
use duro_core::build::{BuildOutcome, FailureClass};
use duro_core::config::{SourceConnection, TlsMode};
use duro_core::state::RunState;
use duro_core::testing::cli::Cli;
use duro_core::testing::fresh_database;
use std::process::Stdio;
use std::time::Duration;

/// A warehouse with the `analytics` schema, a source database loaded with `source_sql`, and a
/// repository of `files` whose nodes read the source as connection `app`.
struct Replication {
    setup: Setup,
    source_url: String,
}

impl Replication {
    fn new(files: &[(&str, &str)], source_sql: &str) -> Self {
        let source_url = fresh_database();
        postgres::Client::connect(&source_url, postgres::NoTls)
            .unwrap()
            .batch_execute(source_sql)
            .unwrap();
        let mut setup = Setup::new(files, "create schema analytics; create schema reports");
        setup.config.connections.insert(
            "app".into(),
            SourceConnection {
                url: Some(source_url.as_str().into()),
                tls: Some(TlsMode::Disable),
                ..SourceConnection::default()
            },
        );
        Self { setup, source_url }
    }

    /// As [`Self::new`], the source an SQLite file made by `source_sql`.
    fn sqlite(files: &[(&str, &str)], source_sql: &str) -> (Self, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        rusqlite::Connection::open(&path).unwrap().execute_batch(source_sql).unwrap();
        let mut setup = Setup::new(files, "create schema analytics");
        let url = format!("sqlite://{}", path.display());
        setup.config.connections.insert(
            "app".into(),
            SourceConnection { url: Some(url.as_str().into()), ..SourceConnection::default() },
        );
        (Self { setup, source_url: url }, dir)
    }

    /// Runs `sql` on the SQLite source.
    fn sqlite_source(&self, sql: &str) {
        let path = self.source_url.strip_prefix("sqlite://").unwrap();
        rusqlite::Connection::open(path).unwrap().execute_batch(sql).unwrap();
    }

    fn source(&self, sql: &str) {
        postgres::Client::connect(&self.source_url, postgres::NoTls)
            .unwrap()
            .batch_execute(sql)
            .unwrap();
    }

    /// Runs `table` now (a force request and a cycle); returns its build record.
    fn run(&self, table: &str) -> duro_core::state::BuildRecord {
        self.setup.force(table);
        self.setup.cycle();
        self.setup.state().builds(table).unwrap().into_iter().next().unwrap()
    }

    fn rows(&self, sql: &str) -> Vec<(i32, Option<String>)> {
        self.setup
            .client()
            .query(sql, &[])
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect()
    }

    fn watermark(&self, table: &str) -> Option<String> {
        self.setup.state().replication_state(table).unwrap().watermark
    }

    fn last_run(&self, table: &str) -> duro_core::state::ReplicationRun {
        self.setup.state().replication_runs(table, 1).unwrap().remove(0)
    }
}

const EVENTS_SOURCE: &str = "
    create table public.events (id integer primary key, name text);
    insert into public.events values (1, 'one'), (2, 'two'), (3, 'three');";

fn events(extra: &[(&str, &str)]) -> Replication {
    let mut files = vec![
        (
            "analytics/events — 1h.replication.yml",
            "source: app\nsource_table: public.events\nstrategy: identity\n",
        ),
        ("analytics/events.ddl.sql", "create table analytics.events (id integer, name text)"),
    ];
    files.extend_from_slice(extra);
    Replication::new(&files, EVENTS_SOURCE)
}

fn some(text: &str) -> Option<String> {
    Some(text.to_owned())
}

/// R1, R2, R3, streamed and through S3: the first run copies everything and creates the target
/// from its DDL; the next copies only the new ids (`lo` 3, `hi` 5); then nothing is new:
/// `unchanged`, nothing copied, no file left in S3.
#[test]
fn identity_copies_new_rows_once() {
    for transport in ["direct", "s3"] {
        identity_copies_new_rows_once_through(transport);
    }
}

fn identity_copies_new_rows_once_through(transport: &str) {
    let spec = format!(
        "source: app\nsource_table: public.events\nstrategy: identity\ntransport: {transport}\n"
    );
    let mut node = events(&[("analytics/events — 1h.replication.yml", spec.as_str())]);
    let bucket = node.with_s3("duro-test-secret");
    let first = node.run("analytics.events");
    assert_eq!((first.outcome, first.rows), (BuildOutcome::Succeeded, Some(3)), "{first:?}");
    assert_eq!(
        node.rows("select id, name from analytics.events order by id"),
        [(1, some("one")), (2, some("two")), (3, some("three"))]
    );
    assert_eq!(node.watermark("analytics.events").as_deref(), Some("3"));
    assert_eq!(node.last_run("analytics.events").state, RunState::Imported);

    node.source("insert into public.events values (4, 'four'), (5, 'five')");
    let second = node.run("analytics.events");
    assert_eq!((second.outcome, second.rows), (BuildOutcome::Succeeded, Some(2)));
    let run = node.last_run("analytics.events");
    assert_eq!((run.lo.as_deref(), run.hi.as_deref()), (Some("3"), Some("5")));
    assert_eq!(node.setup.scalar::<i64>("select count(distinct id) from analytics.events"), 5);
    assert_eq!(node.setup.scalar::<i64>("select count(*) from analytics.events"), 5);

    let third = node.run("analytics.events");
    assert_eq!(third.outcome, BuildOutcome::Unchanged, "{third:?}");
    assert_eq!(node.last_run("analytics.events").state, RunState::Noop);
    assert_eq!(node.setup.scalar::<i64>("select count(*) from analytics.events"), 5);
    assert_eq!(node.watermark("analytics.events").as_deref(), Some("5"));
    let staged = files_under(&bucket.path().join("duro-staging"));
    assert!(staged.is_empty(), "{transport}: files stay after their imports: {staged:?}");
}

/// 150 runs with nothing new, the history capped at 3, then one insert: the watermark lives on
/// its own row, so the next run copies that row alone.
#[test]
fn the_watermark_outlives_the_history_cap() {
    let node = Replication::new(
        &[
            (
                "analytics/events — 1h.replication.yml",
                "source: app\nsource_table: public.events\nstrategy: identity\nhistory: 3\n",
            ),
            ("analytics/events.ddl.sql", "create table analytics.events (id integer, name text)"),
        ],
        EVENTS_SOURCE,
    );
    node.run("analytics.events");
    for _ in 0..150 {
        assert_eq!(node.run("analytics.events").outcome, BuildOutcome::Unchanged);
    }
    assert_eq!(node.setup.state().replication_runs("analytics.events", 10).unwrap().len(), 3);
    node.source("insert into public.events values (4, 'four')");
    let last = node.run("analytics.events");
    assert_eq!((last.outcome, last.rows), (BuildOutcome::Succeeded, Some(1)));
    assert_eq!(node.setup.scalar::<i64>("select count(*) from analytics.events"), 4);
}

const USERS_SOURCE: &str = "
    create table public.users (
        id integer primary key, email text, password text, updated_at timestamp not null
    );
    create index users_by_update on public.users (updated_at);
    insert into public.users values
        (1, 'ann@example.com', 'secret-1', '2026-12-01 10:00:00'),
        (2, 'bob@example.com', 'secret-2', '2026-12-01 11:00:00'),
        (3, 'cy@example.com', 'secret-3', '2026-12-01 12:00:00');";

/// R5, R11, streamed and through S3: the changed row is merged by key, the new one added, no
/// duplicate id; the target's columns (in its own order, without the password) are the ones
/// copied.
#[test]
fn timed_merges_changed_rows_by_key() {
    for transport in ["direct", "s3"] {
        timed_merges_changed_rows_by_key_through(transport);
    }
}

fn timed_merges_changed_rows_by_key_through(transport: &str) {
    let spec = format!(
        "source: app\nsource_table: public.users\nstrategy: timed\ntransport: {transport}\n"
    );
    let mut node = Replication::new(
        &[
            ("analytics/users — 1h.replication.yml", spec.as_str()),
            (
                "analytics/users.ddl.sql",
                "create table analytics.users (updated_at timestamp, email text, id integer)",
            ),
        ],
        USERS_SOURCE,
    );
    let _bucket = node.with_s3("duro-test-secret");
    assert_eq!(node.run("analytics.users").outcome, BuildOutcome::Succeeded);
    node.source(
        "update public.users set email = 'bob@new.example.com', updated_at = '2026-12-01 13:00:00' where id = 2;
         insert into public.users values (4, 'dee@example.com', 'secret-4', '2026-12-01 14:00:00');",
    );
    let second = node.run("analytics.users");
    assert_eq!(second.outcome, BuildOutcome::Succeeded, "{second:?}");
    assert_eq!(
        node.rows("select id, email from analytics.users order by id"),
        [
            (1, some("ann@example.com")),
            (2, some("bob@new.example.com")),
            (3, some("cy@example.com")),
            (4, some("dee@example.com")),
        ]
    );
    assert_eq!(node.watermark("analytics.users").as_deref(), Some("2026-12-01 14:00:00"));
    let columns: i64 = node.setup.scalar(
        "select count(*) from information_schema.columns where table_schema = 'analytics' and column_name = 'password'",
    );
    assert_eq!(columns, 0);
}

/// R6: a row updated to exactly the watermark's time is read again through `lookback`.
#[test]
fn timed_lookback_catches_a_row_at_the_watermark() {
    let node = Replication::new(
        &[
            (
                "analytics/users — 1h.replication.yml",
                "source: app\nsource_table: public.users\nstrategy: timed\nlookback: 1s\n",
            ),
            (
                "analytics/users.ddl.sql",
                "create table analytics.users (id integer, email text, updated_at timestamp)",
            ),
        ],
        USERS_SOURCE,
    );
    node.run("analytics.users");
    node.source("update public.users set email = 'cy@new.example.com' where id = 3");
    node.run("analytics.users");
    assert_eq!(
        node.rows("select id, email from analytics.users where id = 3"),
        [(3, some("cy@new.example.com"))]
    );
    assert_eq!(node.setup.scalar::<i64>("select count(*) from analytics.users"), 3);
}

const TAGS_SOURCE: &str = "
    create table public.tags_users (tag text, user_id integer);
    insert into public.tags_users values ('a', 1), ('b', 2), ('c', 3);";

/// A full node in `mode` (`swap` or `reload`) travelling by `transport`.
fn tags(mode: &str, transport: &str, extra: &[(&str, &str)]) -> Replication {
    let spec = format!(
        "source: app\nsource_table: public.tags_users\nstrategy: full\nfull_mode: {mode}\ntransport: {transport}\n"
    );
    let mut files = vec![
        ("analytics/tags_users — 1h.replication.yml", spec.as_str()),
        (
            "analytics/tags_users.ddl.sql",
            "create table analytics.tags_users (user_id integer, tag text)",
        ),
        ("reports/tag_count — 1d.sql", "select count(*) as tags from analytics.tags_users"),
    ];
    files.extend_from_slice(extra);
    Replication::new(&files, TAGS_SOURCE)
}

/// R8, R9, R10: a full copy equals the source after deletes and inserts, empties the target
/// when the source is empty, and keeps the views reading it and its grants (both modes, each
/// streamed and through S3).
#[test]
fn full_copies_equal_the_source_in_both_modes() {
    for (mode, transport) in
        [("reload", "direct"), ("swap", "direct"), ("reload", "s3"), ("swap", "s3")]
    {
        let mut node =
            tags(mode, transport, &[("analytics/tags_users.conf", "grant_select = public\n")]);
        let _bucket = node.with_s3("duro-test-secret");
        let mode = format!("{mode} through {transport}");
        node.setup
            .client()
            .batch_execute(
                "create table analytics.tags_users (user_id integer, tag text);
                 create view reports.tag_view as select tag from analytics.tags_users;",
            )
            .unwrap();
        assert_eq!(node.run("analytics.tags_users").rows, Some(3), "{mode}");
        node.source("delete from public.tags_users where tag = 'a'; insert into public.tags_users values ('d', 4), ('e', 5)");
        let second = node.run("analytics.tags_users");
        assert_eq!((second.outcome, second.rows), (BuildOutcome::Succeeded, Some(4)), "{mode}");
        assert_eq!(
            node.rows("select user_id, tag from analytics.tags_users order by user_id"),
            [(2, some("b")), (3, some("c")), (4, some("d")), (5, some("e"))],
            "{mode}"
        );
        assert_eq!(node.setup.scalar::<i64>("select count(*) from reports.tag_view"), 4, "{mode}");
        let public_can_read: bool = node
            .setup
            .scalar("select has_table_privilege('public', 'analytics.tags_users', 'select')");
        assert!(public_can_read, "{mode}");

        node.source("delete from public.tags_users");
        let emptied = node.run("analytics.tags_users");
        assert_eq!((emptied.outcome, emptied.rows), (BuildOutcome::Succeeded, Some(0)), "{mode}");
        assert_eq!(node.setup.scalar::<i64>("select count(*) from analytics.tags_users"), 0);
    }
}

/// The row-count rules on a replication node, in both full modes: checked inside the load
/// (on the new table of a swap, on the target before a reload commits), a copy with far fewer
/// rows fails (`validation_failed`) and the target keeps its rows; accepted once, it goes
/// through.
#[test]
fn row_count_rules_guard_a_load() {
    for mode in ["reload", "swap"] {
        let node = tags(mode, "direct", &[("analytics/tags_users.conf", "max_row_drop = 50%\n")]);
        assert_eq!(node.run("analytics.tags_users").rows, Some(3), "{mode}");
        node.source("delete from public.tags_users where user_id > 1");
        let refused = node.run("analytics.tags_users");
        assert_eq!(
            refused.failure_class,
            Some(FailureClass::ValidationFailed),
            "{mode}: {refused:?}"
        );
        assert!(
            refused
                .message
                .as_deref()
                .unwrap_or_default()
                .contains("the new version has 1 rows, 66.7% fewer than the 3"),
            "{mode}: {refused:?}"
        );
        assert_eq!(
            node.setup.scalar::<i64>("select count(*) from analytics.tags_users"),
            3,
            "{mode}"
        );
        node.setup.build_accepting_row_drop("analytics.tags_users");
        let record = node.setup.state().builds("analytics.tags_users").unwrap().remove(0);
        assert_eq!(record.outcome, BuildOutcome::Succeeded, "{mode}: {record:?}");
        assert!(
            record.message.as_deref().unwrap_or_default().contains("accepted on the command line"),
            "{mode}: {record:?}"
        );
        assert_eq!(
            node.setup.scalar::<i64>("select count(*) from analytics.tags_users"),
            1,
            "{mode}"
        );
    }
}

/// R12: a target column the source lacks fails the run as `configuration`, naming the column;
/// the target and the watermark are untouched.
#[test]
fn a_target_column_missing_in_the_source_is_named() {
    let node = Replication::new(
        &[
            (
                "analytics/users — 1h.replication.yml",
                "source: app\nsource_table: public.users\nstrategy: timed\n",
            ),
            (
                "analytics/users.ddl.sql",
                "create table analytics.users (id integer, email text, updated_at timestamp, loaded_note text)",
            ),
        ],
        USERS_SOURCE,
    );
    let build = node.run("analytics.users");
    assert_eq!(build.failure_class, Some(FailureClass::Configuration), "{build:?}");
    let message = build.message.unwrap();
    assert!(message.contains("`loaded_note`"), "{message}");
    assert_eq!(node.setup.scalar::<i64>("select count(*) from analytics.users"), 0);
    assert_eq!(node.watermark("analytics.users"), None);
}

/// R13, R14: a node named apart from its source table fills its own table only; without the
/// target and a DDL, the run fails as `configuration` with "target table missing".
#[test]
fn renamed_and_missing_targets() {
    let node = Replication::new(
        &[
            (
                "analytics/custom_tags — 1h.replication.yml",
                "source: app\nsource_table: public.tags_users\nstrategy: full\n",
            ),
            (
                "analytics/custom_tags.ddl.sql",
                "create table analytics.custom_tags (tag text, user_id integer)",
            ),
            (
                "analytics/no_target — 1h.replication.yml",
                "source: app\nsource_table: public.tags_users\nstrategy: full\n",
            ),
        ],
        TAGS_SOURCE,
    );
    assert_eq!(node.run("analytics.custom_tags").rows, Some(3));
    let tags_tables: i64 = node
        .setup
        .scalar("select count(*) from information_schema.tables where table_name = 'tags_users'");
    assert_eq!(tags_tables, 0);
    let missing = node.run("analytics.no_target");
    assert_eq!(missing.failure_class, Some(FailureClass::Configuration));
    assert!(missing.message.unwrap().contains("target table missing"));
}

/// R27, R21, G2: failing tests roll the import back (target and watermark unchanged, state
/// `failed_tests`) and skip the view that reads the node; with `max_retries: 2` the third failure
/// cancels the run (`retries_exhausted`); once the tests pass the next run starts afresh from the
/// watermark and the target is complete.
#[test]
fn failing_tests_roll_back_and_exhaust_the_retries() {
    let node = events(&[
        (
            "analytics/events — 1h.replication.yml",
            "source: app\nsource_table: public.events\nstrategy: identity\nmax_retries: 2\n",
        ),
        ("analytics/events_test.sql", "select count(*) < 4 from analytics.events"),
        ("reports/event_count — 1h.sql", "select count(*) as events from analytics.events"),
    ]);
    node.setup.schedule();
    assert_eq!(node.run("analytics.events").outcome, BuildOutcome::Succeeded);
    node.source("insert into public.events values (4, 'four'), (5, 'five')");
    for attempt in 0..3 {
        node.setup.force("reports.event_count");
        let build = node.run("analytics.events");
        let run = node.last_run("analytics.events");
        assert_eq!(run.retries, attempt, "{run:?}");
        if attempt < 2 {
            assert_eq!(build.failure_class, Some(FailureClass::TestFailed), "{build:?}");
            assert_eq!(run.state, RunState::FailedTests);
            assert_eq!((run.lo.as_deref(), run.hi.as_deref()), (Some("3"), Some("5")));
        } else {
            assert_eq!(build.failure_class, Some(FailureClass::RetriesExhausted), "{build:?}");
            assert_eq!(run.state, RunState::Canceled);
        }
        assert_eq!(node.setup.scalar::<i64>("select count(*) from analytics.events"), 3);
        assert_eq!(node.watermark("analytics.events").as_deref(), Some("3"));
        let view = node.setup.state().builds("reports.event_count").unwrap().remove(0);
        assert_eq!(view.failure_class, Some(FailureClass::DependencyFailed), "{view:?}");
    }
    assert_eq!(node.setup.state().replication_state("analytics.events").unwrap().pending, None);
    node.setup.write(&[("analytics/events_test.sql", "select count(*) = 5 from analytics.events")]);
    node.setup.schedule();
    let fixed = node.run("analytics.events");
    assert_eq!((fixed.outcome, fixed.rows), (BuildOutcome::Succeeded, Some(2)), "{fixed:?}");
    assert_eq!(node.setup.scalar::<i64>("select count(distinct id) from analytics.events"), 5);
    assert_eq!(node.watermark("analytics.events").as_deref(), Some("5"));
}

/// G1: a view reading a replicated table is built after it, in the same cycle.
#[test]
fn a_view_reading_a_node_waits_for_it() {
    let node = events(&[(
        "reports/event_names — 1h.sql",
        "select name from analytics.events where id > 1",
    )]);
    let report = node.setup.cycle();
    let built: Vec<&str> = report.built.iter().map(|b| b.table.as_str()).collect();
    assert_eq!(built, ["analytics.events", "reports.event_names"], "{report:?}");
    assert_eq!(node.setup.scalar::<i64>("select count(*) from reports.event_names"), 2);
}

const TRACKED: &str =
    "source: app\nsource_table: public.users\nstrategy: timed\ndelete_tracking: trigger\n";

/// A timed node tracking deletions; the trigger is not installed yet.
fn tracked(extra: &[(&str, &str)]) -> Replication {
    let mut files = vec![
        ("analytics/users — 1h.replication.yml", TRACKED),
        (
            "analytics/users.ddl.sql",
            "create table analytics.users (id integer, email text, updated_at timestamp)",
        ),
    ];
    files.extend_from_slice(extra);
    Replication::new(&files, USERS_SOURCE)
}

impl Replication {
    /// `duro-create --triggers analytics.users --apply`, as the binary runs it.
    fn install_triggers(&self) {
        self.install_triggers_for("analytics.users");
    }

    /// `duro-create --triggers NODE --apply`, as the binary runs it.
    fn install_triggers_for(&self, node: &str) {
        let config = self.config_file();
        let output = Cli::new(env!("CARGO_BIN_EXE_duro-create"))
            .arg("--config")
            .arg(&config)
            .args(["--triggers", node, "--apply"])
            .run();
        output.code(0);
        assert!(output.stdout.contains("delete tracking installed"), "{}", output.both());
    }

    /// A duro.yaml for this setup, with the `app` connection (and the S3 staging, when set).
    fn config_file(&self) -> std::path::PathBuf {
        let s3 = &self.setup.config.s3;
        let staging = match (&s3.bucket, &s3.endpoint, &s3.access_key_id, &s3.secret_access_key) {
            (Some(bucket), Some(endpoint), Some(key), Some(secret)) => format!(
                "s3:\n  bucket: {bucket}\n  endpoint: {endpoint}\n  path_style: true\n  prefix: {}\n  access_key_id: {key}\n  secret_access_key: {}\n",
                s3.prefix,
                secret.expose()
            ),
            _ => String::new(),
        };
        self.setup.config_file(&format!(
            "connections:\n  app:\n    url: {}\n    tls: disable\n{staging}",
            self.source_url
        ))
    }

    fn queued(&self) -> i64 {
        postgres::Client::connect(&self.source_url, postgres::NoTls)
            .unwrap()
            .query_one("select count(*) from public.duro_deleted_rows", &[])
            .unwrap()
            .get(0)
    }
}

/// `--triggers` prints the queue table and the trigger for the node's key without touching the
/// source; a node runs only once the trigger is there, and says how to install it.
#[test]
fn triggers_are_printed_and_required() {
    let node = tracked(&[]);
    let output = Cli::new(env!("CARGO_BIN_EXE_duro-create"))
        .arg("--config")
        .arg(node.config_file())
        .args(["--triggers", "analytics.users"])
        .run();
    output.code(0);
    assert!(
        output.stdout.contains("create table if not exists \"public\".\"duro_deleted_rows\""),
        "{}",
        output.both()
    );
    assert!(
        output.stdout.contains(
            "create trigger duro_track_delete after delete on \"public\".\"users\" for each row execute procedure \"public\".\"duro_track_delete\"('id')"
        ),
        "{}",
        output.both()
    );
    let failed = node.run("analytics.users");
    assert_eq!(failed.failure_class, Some(FailureClass::Configuration), "{failed:?}");
    assert!(
        failed.message.unwrap().contains("duro-create --triggers analytics.users --apply"),
        "the message says how to install it"
    );
    let untracked = Cli::new(env!("CARGO_BIN_EXE_duro-create"))
        .arg("--config")
        .arg(node.config_file())
        .args(["--triggers", "analytics.nothing"])
        .run();
    untracked.code(2);
    assert!(
        untracked.stderr.contains("`analytics.nothing` is not in the catalog"),
        "{}",
        untracked.both()
    );
}

/// R15, R17: a row deleted with raw SQL leaves the target, and the queue is emptied; a row
/// deleted and inserted again under its key arrives as the new row.
#[test]
fn deletions_reach_the_target() {
    let node = tracked(&[]);
    node.install_triggers();
    assert_eq!(node.run("analytics.users").rows, Some(3));
    node.source("delete from public.users where id = 1");
    let build = node.run("analytics.users");
    assert_eq!(build.outcome, BuildOutcome::Succeeded, "{build:?}");
    let run = node.last_run("analytics.users");
    assert_eq!((run.deleted_rows, run.delete_sequence), (Some(1), Some(1)), "{run:?}");
    assert_eq!(
        node.rows("select id, email from analytics.users order by id"),
        [(2, some("bob@example.com")), (3, some("cy@example.com"))]
    );
    assert_eq!(node.queued(), 0);

    node.source(
        "delete from public.users where id = 2;
         insert into public.users values (2, 'bob@again.example.com', 'secret', '2026-12-02 09:00:00');",
    );
    node.run("analytics.users");
    assert_eq!(
        node.rows("select id, email from analytics.users order by id"),
        [(2, some("bob@again.example.com")), (3, some("cy@example.com"))]
    );
    assert_eq!(node.queued(), 0);
}

/// R16: a deletion queued after a run read the queue's position is not purged by that run
/// (here a retry, which keeps the position it started with); the next run applies it.
#[test]
fn a_deletion_after_the_queue_was_read_waits_for_the_next_run() {
    let node = tracked(&[]);
    node.install_triggers();
    node.run("analytics.users");
    node.setup.write(&[("analytics/users_test.sql", "select count(*) = 99 from analytics.users")]);
    node.setup.schedule();
    node.source("delete from public.users where id = 1");
    let failed = node.run("analytics.users");
    assert_eq!(failed.failure_class, Some(FailureClass::TestFailed), "{failed:?}");
    node.source("delete from public.users where id = 3");
    node.setup.write(&[("analytics/users_test.sql", "select count(*) > 0 from analytics.users")]);
    node.setup.schedule();
    let retried = node.run("analytics.users");
    assert_eq!(retried.outcome, BuildOutcome::Succeeded, "{retried:?}");
    assert_eq!(node.last_run("analytics.users").retries, 1);
    assert_eq!(
        node.rows("select id, email from analytics.users order by id"),
        [(2, some("bob@example.com")), (3, some("cy@example.com"))]
    );
    assert_eq!(node.queued(), 1, "the later deletion is still queued");
    node.run("analytics.users");
    assert_eq!(node.rows("select id, email from analytics.users"), [(2, some("bob@example.com"))]);
    assert_eq!(node.queued(), 0);
}

/// R28: `--reset` makes the next run copy the whole source: a timed node merges it without
/// duplicates; an identity node needs `--yes` and then holds exactly the source's rows.
#[test]
fn a_reset_copies_everything_again() {
    let node = Replication::new(
        &[
            (
                "analytics/users — 1h.replication.yml",
                "source: app\nsource_table: public.users\nstrategy: timed\n",
            ),
            (
                "analytics/users.ddl.sql",
                "create table analytics.users (id integer, email text, updated_at timestamp)",
            ),
            (
                "analytics/events — 1h.replication.yml",
                "source: app\nsource_table: public.events\nstrategy: identity\n",
            ),
            ("analytics/events.ddl.sql", "create table analytics.events (id integer, name text)"),
        ],
        &format!("{USERS_SOURCE}\n{EVENTS_SOURCE}"),
    );
    node.setup.cycle();
    let config = node.config_file();
    let create = |args: &[&str]| {
        Cli::new(env!("CARGO_BIN_EXE_duro-create")).arg("--config").arg(&config).args(args).run()
    };
    let plan = create(&["--dry-run", "--table", "analytics.users"]);
    assert!(
        plan.stdout.contains(
            "a timed copy of `public.users` from `app`, past the watermark `2026-12-01 12:00:00`"
        ),
        "{}",
        plan.both()
    );
    create(&["--table", "analytics.users", "--reset"]).code(0);
    assert_eq!(node.last_run("analytics.users").lo, None);
    assert_eq!(node.last_run("analytics.users").rows, Some(3));
    assert_eq!(node.setup.scalar::<i64>("select count(distinct id) from analytics.users"), 3);
    assert_eq!(node.setup.scalar::<i64>("select count(*) from analytics.users"), 3);

    node.source("delete from public.events where id = 2");
    let refused = create(&["--table", "analytics.events", "--reset"]);
    refused.code(2);
    assert!(refused.stderr.contains("add --yes"), "{}", refused.both());
    assert_eq!(node.watermark("analytics.events").as_deref(), Some("3"));
    create(&["--table", "analytics.events", "--reset", "--yes"]).code(0);
    assert_eq!(
        node.rows("select id, name from analytics.events order by id"),
        [(1, some("one")), (3, some("three"))]
    );
}

/// The rows of a table as one digest, comparable across databases.
fn digest(client: &mut postgres::Client, table: &str, columns: &str) -> (i64, i64, Option<String>) {
    let row = client
        .query_one(
            &format!(
                "select count(*), count(distinct id), md5(string_agg(concat_ws(':', {columns}), ',' order by id)) from {table}"
            ),
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

/// `kill -9` of the creator at 15 points of runs of each kind streamed straight into the
/// warehouse, the source changing between runs (updates move `updated_at` forward, as
/// applications do); then a restart: the timed and full targets equal the source, the identity
/// target holds the source's ids, and no target ever holds a key twice.
#[test]
fn kill_dash_nine_during_a_direct_run_loses_and_duplicates_nothing() {
    kill_dash_nine_during_runs("direct", 15);
}

/// The same through S3, so the kills land in the export, the upload and the import.
#[test]
fn kill_dash_nine_during_an_s3_run_loses_and_duplicates_nothing() {
    kill_dash_nine_during_runs("s3", 15);
}

fn kill_dash_nine_during_runs(transport: &str, points: u64) {
    let node = |table: &str, strategy: &str| {
        (
            format!("analytics/{table} — 1d.replication.yml"),
            format!(
                "source: app\nsource_table: public.events\nstrategy: {strategy}\ntransport: {transport}\nslices: 3\n"
            ),
        )
    };
    let nodes = [node("timed", "timed"), node("full", "full"), node("identity", "identity")];
    let ddls: Vec<(String, String)> = ["timed", "full", "identity"]
        .iter()
        .map(|t| {
            (
                format!("analytics/{t}.ddl.sql"),
                format!("create table analytics.{t} (id bigint, name text, updated_at timestamp)"),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> =
        nodes.iter().chain(&ddls).map(|(path, text)| (path.as_str(), text.as_str())).collect();
    let mut replication = Replication::new(
        &files,
        "create table public.events (id bigint primary key, name text, updated_at timestamp not null);
         create index events_by_update on public.events (updated_at);
         insert into public.events select n, 'event ' || n, timestamp '2026-01-01' + n * interval '1 second'
             from generate_series(1, 150000) as n;",
    );
    let _bucket = replication.with_s3("duro-test-secret");
    let config = replication.config_file();
    let create = || Cli::new(env!("CARGO_BIN_EXE_duro-create")).arg("--config").arg(&config);
    create().arg("--once").run().code(0);
    let mut warehouse = replication.setup.client();
    let mut source = postgres::Client::connect(&replication.source_url, postgres::NoTls).unwrap();
    let tables = ["analytics.timed", "analytics.full", "analytics.identity"];
    for (run, delay) in (0..points).map(|n| (n, 40 + (n * 7919) % 900)) {
        source
            .batch_execute(&format!(
                "update public.events set name = name || '+', updated_at = timestamp '2027-01-01' + {run} * interval '1 hour'
                     where id % 50 = {run};
                 insert into public.events select n, 'new ' || n,
                         timestamp '2027-01-01' + {run} * interval '1 hour' + n * interval '1 millisecond'
                     from generate_series({}, {}) as n;",
                200_000 + run * 100,
                200_000 + run * 100 + 99
            ))
            .unwrap();
        for table in tables {
            replication.setup.force(table);
        }
        let child = create().arg("--once").stdout(Stdio::null()).stderr(Stdio::null()).start();
        std::thread::sleep(Duration::from_millis(delay));
        child.kill();
        for table in tables {
            let (rows, ids, _) = digest(&mut warehouse, table, "id");
            assert_eq!(rows, ids, "run {run}, kill at {delay} ms: {table} holds a key twice");
        }
    }
    // The restart finishes an interrupted run with its bounds; the run after it reads what
    // changed since.
    for _ in 0..2 {
        for table in tables {
            replication.setup.force(table);
        }
        create().arg("--once").run().code(0);
    }
    for table in tables {
        assert_eq!(replication.setup.state().replication_state(table).unwrap().pending, None);
    }
    let expected = digest(&mut source, "public.events", "id, name, updated_at");
    assert_eq!(digest(&mut warehouse, "analytics.timed", "id, name, updated_at"), expected);
    assert_eq!(digest(&mut warehouse, "analytics.full", "id, name, updated_at"), expected);
    assert_eq!(
        digest(&mut warehouse, "analytics.identity", "id"),
        digest(&mut source, "public.events", "id")
    );
}

/// R1, R5, R8 from an SQLite source: identity copies new ids once, timed merges a changed row
/// by key, full equals the source; NULL, the empty string, a value `\N` and non-ASCII text
/// arrive as they are.
#[test]
fn an_sqlite_source_replicates_every_strategy() {
    let node = |table: &str, strategy: &str| {
        (
            format!("analytics/{table} — 1h.replication.yml"),
            format!("source: app\nsource_table: main.users\nstrategy: {strategy}\n"),
        )
    };
    let nodes = [node("by_id", "identity"), node("by_time", "timed"), node("all", "full")];
    let ddls: Vec<(String, String)> = ["by_id", "by_time", "all"]
        .iter()
        .map(|t| {
            (
                format!("analytics/{t}.ddl.sql"),
                format!(
                    "create table analytics.{t} (id integer, email text, updated_at timestamp)"
                ),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> =
        nodes.iter().chain(&ddls).map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let (replication, _dir) = Replication::sqlite(
        &files,
        "create table users (id integer primary key, email text, password text, updated_at datetime not null);
         create index users_by_update on users (updated_at);
         insert into users values
             (1, 'ann@example.com', 's1', '2026-12-01 10:00:00'),
             (2, null, 's2', '2026-12-01 11:00:00'),
             (3, '\\N', 's3', '2026-12-01 12:00:00');",
    );
    let report = replication.setup.cycle();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let expected_first = [(1, some("ann@example.com")), (2, None), (3, some("\\N"))];
    for table in ["by_id", "by_time", "all"] {
        assert_eq!(
            replication.rows(&format!("select id, email from analytics.{table} order by id")),
            expected_first,
            "{table}"
        );
    }
    replication.sqlite_source(
        "update users set email = 'bøb@example.com', updated_at = '2026-12-01 13:00:00' where id = 2;
         insert into users values (4, '', 's4', '2026-12-01 14:00:00');
         delete from users where id = 1;",
    );
    for table in ["analytics.by_id", "analytics.by_time", "analytics.all"] {
        let build = replication.run(table);
        assert_eq!(build.outcome, BuildOutcome::Succeeded, "{build:?}");
    }
    assert_eq!(
        replication.rows("select id, email from analytics.by_id order by id"),
        [(1, some("ann@example.com")), (2, None), (3, some("\\N")), (4, some(""))],
        "identity appends new ids only"
    );
    assert_eq!(
        replication.rows("select id, email from analytics.by_time order by id"),
        [
            (1, some("ann@example.com")),
            (2, some("bøb@example.com")),
            (3, some("\\N")),
            (4, some(""))
        ],
        "timed merges the changed row"
    );
    assert_eq!(
        replication.rows("select id, email from analytics.all order by id"),
        [(2, some("bøb@example.com")), (3, some("\\N")), (4, some(""))],
        "full equals the source"
    );
    assert_eq!(replication.watermark("analytics.by_time").as_deref(), Some("2026-12-01 14:00:00"));
    assert_eq!(replication.watermark("analytics.by_id").as_deref(), Some("4"));
}

/// R7: with `key: [tenant_id, id]`, two tenants share an id and only the changed tenant's row
/// changes.
#[test]
fn timed_merges_on_a_composite_key() {
    let node = Replication::new(
        &[
            (
                "analytics/accounts — 1h.replication.yml",
                "source: app\nsource_table: public.accounts\nstrategy: timed\nkey: [tenant_id, id]\n",
            ),
            (
                "analytics/accounts.ddl.sql",
                "create table analytics.accounts (tenant_id integer, id integer, name text, updated_at timestamp)",
            ),
        ],
        "create table public.accounts (tenant_id integer, id integer, name text, updated_at timestamp,
                                       primary key (tenant_id, id));
         insert into public.accounts values (1, 7, 'one', '2026-12-01 10:00:00'),
                                            (2, 7, 'two', '2026-12-01 10:00:00');",
    );
    node.run("analytics.accounts");
    node.source(
        "update public.accounts set name = 'two, renamed', updated_at = '2026-12-01 11:00:00' where tenant_id = 2",
    );
    node.run("analytics.accounts");
    assert_eq!(
        node.rows("select tenant_id, name from analytics.accounts order by tenant_id"),
        [(1, some("one")), (2, some("two, renamed"))]
    );
}

/// R23: a comma, a doubled quote, a backslash, line breaks, non-ASCII text, the empty string,
/// a value `\N` and NULL arrive byte for byte, the empty string distinct from NULL: streamed,
/// and through S3 as `csv` and `csv.gz` files.
#[test]
fn awkward_values_arrive_byte_for_byte() {
    let values = ["a, b", "say \"hi\"", "back\\slash", "two\nlines\r\n", "naïve café ✓", "", "\\N"];
    let mut expected: Vec<(i32, Option<String>)> =
        values.iter().enumerate().map(|(id, v)| (id as i32, some(v))).collect();
    expected.push((99, None));
    for transport in ["direct", "s3\nformat: csv", "s3\nformat: csv.gz"] {
        let spec = format!(
            "source: app\nsource_table: public.notes\nstrategy: full\nslices: 3\ntransport: {transport}\n"
        );
        let mut node = Replication::new(
            &[
                ("analytics/notes — 1h.replication.yml", spec.as_str()),
                ("analytics/notes.ddl.sql", "create table analytics.notes (id integer, body text)"),
            ],
            "create table public.notes (id integer primary key, body text);",
        );
        let _bucket = node.with_s3("duro-test-secret");
        let mut source = postgres::Client::connect(&node.source_url, postgres::NoTls).unwrap();
        for (id, value) in values.iter().enumerate() {
            source
                .execute("insert into public.notes values ($1, $2)", &[&(id as i32), value])
                .unwrap();
        }
        source.execute("insert into public.notes values (99, null)", &[]).unwrap();
        let build = node.run("analytics.notes");
        assert_eq!(build.rows, Some(values.len() as i64 + 1), "{transport}: {build:?}");
        assert_eq!(
            node.rows("select id, body from analytics.notes order by id"),
            expected,
            "{transport}"
        );
    }
}

impl Replication {
    /// Stages files in a bucket of an in-process S3 server (kept in the returned folder), with
    /// `secret` as the configured secret key (the server's is `duro-test-secret`).
    fn with_s3(&mut self, secret: &str) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("duro-staging")).unwrap();
        let endpoint =
            crate::support::start_s3_server(root.path(), "duro-test-key", "duro-test-secret");
        let s3 = &mut self.setup.config.s3;
        s3.bucket = Some("duro-staging".into());
        s3.endpoint = Some(endpoint);
        s3.path_style = true;
        s3.prefix = "staged/".into();
        s3.access_key_id = Some("duro-test-key".into());
        s3.secret_access_key = Some(secret.into());
        root
    }
}

/// The files under `dir` (recursively), sorted.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(files_under(&path));
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The folder of build `id`'s files under `runs` (`<id>-<ms>`), or where it would be.
fn run_folder(runs: &std::path::Path, id: i64) -> std::path::PathBuf {
    std::fs::read_dir(runs)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with(&format!("{id}-")))
        })
        .unwrap_or_else(|| runs.join(format!("{id}-none")))
}

const TEN_EVENTS: &str = "
    create table public.events (id integer primary key, name text, updated_at timestamp not null);
    insert into public.events select n, 'event ' || n, timestamp '2026-12-01' + n * interval '1 minute'
        from generate_series(1, 10) as n;";

fn staged_events(spec: &str, secret: &str) -> (Replication, tempfile::TempDir) {
    let mut node = Replication::new(
        &[
            ("analytics/events — 1h.replication.yml", spec),
            (
                "analytics/events.ddl.sql",
                "create table analytics.events (id integer, name text, updated_at timestamp)",
            ),
        ],
        TEN_EVENTS,
    );
    let bucket = node.with_s3(secret);
    (node, bucket)
}

/// R22: 10 rows in 4 slices are 4 gzipped objects of 3, 3, 3 and 1 rows under the run's own
/// prefix, all loaded; without `keep_files` the prefix is empty afterwards.
#[test]
fn s3_transport_splits_gzips_and_cleans_up() {
    let (node, bucket) = staged_events(
        "source: app\nsource_table: public.events\nstrategy: timed\nlookback: 0s\ntransport: s3\nslices: 4\nkeep_files: true\n",
        "duro-test-secret",
    );
    let build = node.run("analytics.events");
    assert_eq!((build.outcome, build.rows), (BuildOutcome::Succeeded, Some(10)), "{build:?}");
    let runs = bucket.path().join("duro-staging/staged/replication/analytics.events");
    let run_prefix = run_folder(&runs, build.id);
    let objects = files_under(&run_prefix);
    let names: Vec<String> =
        objects.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(
        names,
        ["part-00000.csv.gz", "part-00001.csv.gz", "part-00002.csv.gz", "part-00003.csv.gz"]
    );
    let rows: Vec<usize> = objects
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path).unwrap();
            assert_eq!(&bytes[..2], b"\x1f\x8b", "{} is gzip", path.display());
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
                .unwrap();
            text.lines().count()
        })
        .collect();
    assert_eq!(rows, [3, 3, 3, 1]);
    assert_eq!(node.last_run("analytics.events").files.len(), 4);
    assert_eq!(node.setup.scalar::<i64>("select count(*) from analytics.events"), 10);

    node.setup.write(&[(
        "analytics/events — 1h.replication.yml",
        "source: app\nsource_table: public.events\nstrategy: timed\nlookback: 0s\ntransport: s3\nslices: 4\n",
    )]);
    node.setup.schedule();
    node.source("insert into public.events values (11, 'eleven', '2026-12-02')");
    let second = node.run("analytics.events");
    assert_eq!((second.outcome, second.rows), (BuildOutcome::Succeeded, Some(1)), "{second:?}");
    let second_prefix = run_folder(&runs, second.id);
    assert_eq!(files_under(&second_prefix), Vec::<std::path::PathBuf>::new());
    assert_eq!(node.setup.scalar::<i64>("select count(*) from analytics.events"), 11);
}

/// R18: an import that fails after the upload is retried from the uploaded files, not from the
/// source: a value changed on the source meanwhile (without moving `updated_at`) does not
/// arrive; the retry is counted.
#[test]
fn a_retry_after_the_upload_imports_the_same_files() {
    let (node, _bucket) = staged_events(
        "source: app\nsource_table: public.events\nstrategy: timed\nlookback: 0s\ntransport: s3\nformat: csv\n",
        "duro-test-secret",
    );
    node.setup
        .write(&[("analytics/events_test.sql", "select count(*) = 99 from analytics.events")]);
    node.setup.schedule();
    let failed = node.run("analytics.events");
    assert_eq!(failed.failure_class, Some(FailureClass::TestFailed), "{failed:?}");
    let uploaded = node.last_run("analytics.events").files;
    assert_eq!(uploaded.len(), 1);
    node.source("update public.events set name = 'changed' where id = 1");
    node.setup
        .write(&[("analytics/events_test.sql", "select count(*) = 10 from analytics.events")]);
    node.setup.schedule();
    let retried = node.run("analytics.events");
    assert_eq!(retried.outcome, BuildOutcome::Succeeded, "{retried:?}");
    let run = node.last_run("analytics.events");
    assert_eq!((run.retries, &run.files), (1, &uploaded));
    assert_eq!(
        node.rows("select id, name from analytics.events where id = 1"),
        [(1, some("event 1"))]
    );
}

/// R19: a run that fails at the upload keeps its bounds; its retry (once the settings are
/// fixed) copies exactly those, and the run after it the row added meanwhile: no gap, no
/// duplicate.
#[test]
fn a_retry_after_a_failed_upload_keeps_its_bounds() {
    let (mut node, _bucket) = staged_events(
        "source: app\nsource_table: public.events\nstrategy: timed\nlookback: 0s\ntransport: s3\n",
        "a-wrong-secret",
    );
    let failed = node.run("analytics.events");
    assert_eq!(failed.outcome, BuildOutcome::Failed, "{failed:?}");
    let hi = node.last_run("analytics.events").hi;
    assert_eq!(hi.as_deref(), Some("2026-12-01 00:10:00"));
    node.source("insert into public.events values (11, 'eleven', '2026-12-02')");
    node.setup.config.s3.secret_access_key = Some("duro-test-secret".into());
    let retried = node.run("analytics.events");
    assert_eq!((retried.outcome, retried.rows), (BuildOutcome::Succeeded, Some(10)), "{retried:?}");
    assert_eq!(node.last_run("analytics.events").hi, hi);
    let next = node.run("analytics.events");
    assert_eq!((next.outcome, next.rows), (BuildOutcome::Succeeded, Some(1)), "{next:?}");
    assert_eq!(node.setup.scalar::<i64>("select count(*) from analytics.events"), 11);
    assert_eq!(node.setup.scalar::<i64>("select count(distinct id) from analytics.events"), 11);
}

/// R1, R2, R5, R8, R9, R11, R15 from a MariaDB source (a private server, read with prepared
/// statements): identity appends new ids, timed merges a changed row into a target without
/// the password and in its own column order, full equals the source and empties with it, and
/// a deletion reaches the target through the trigger `--triggers --apply` installs.
#[test]
fn a_mariadb_source_replicates_every_strategy() {
    let source_url = duro_core::testing::fresh_mariadb_database();
    let database = source_url.rsplit('/').next().unwrap().to_owned();
    duro_core::testing::mariadb_execute(
        &source_url,
        "create table users (id int primary key, email varchar(100), password varchar(100),
                             note text, updated_at datetime(6) not null, amount decimal(12, 2),
                             key by_update (updated_at));
         insert into users values
             (1, 'ann@example.com', 's1', 'a, \"b\"', '2026-12-01 10:00:00', 12.5),
             (2, 'bob@example.com', 's2', null, '2026-12-01 11:00:00', null),
             (3, 'cy@example.com', 's3', '', '2026-12-01 12:00:00', 0.25)",
    );
    let node = |table: &str, strategy: &str, extra: &str| {
        (
            format!("analytics/{table} — 1h.replication.yml"),
            format!(
                "source: app\nsource_table: {database}.users\nstrategy: {strategy}\nlookback: 0s\n{extra}"
            )
            .replace("strategy: identity\nlookback: 0s\n", "strategy: identity\n")
            .replace("strategy: full\nlookback: 0s\n", "strategy: full\n"),
        )
    };
    let nodes = [
        node("by_id", "identity", ""),
        node("by_time", "timed", ""),
        node("all", "full", ""),
        node("tracked", "timed", "delete_tracking: trigger\n"),
    ];
    let ddl = |table: &str, columns: &str| {
        (
            format!("analytics/{table}.ddl.sql"),
            format!("create table analytics.{table} ({columns})"),
        )
    };
    let plain = "id integer, email text, note text, updated_at timestamp";
    let ddls = [
        ddl("by_id", &format!("{plain}, amount numeric(12, 2)")),
        ddl("by_time", "note text, updated_at timestamp, email text, id integer"),
        ddl("all", plain),
        ddl("tracked", plain),
    ];
    let files: Vec<(&str, &str)> =
        nodes.iter().chain(&ddls).map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let mut setup = Setup::new(&files, "create schema analytics");
    setup.config.connections.insert(
        "app".into(),
        SourceConnection {
            url: Some(source_url.as_str().into()),
            tls: Some(TlsMode::Disable),
            ..SourceConnection::default()
        },
    );
    let replication = Replication { setup, source_url: source_url.clone() };
    replication.install_triggers_for("analytics.tracked");
    let report = replication.setup.cycle();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let first =
        [(1, some("ann@example.com")), (2, some("bob@example.com")), (3, some("cy@example.com"))];
    for table in ["by_id", "by_time", "all", "tracked"] {
        let sql = format!("select id, email from analytics.{table} order by id");
        assert_eq!(replication.rows(&sql), first, "{table}");
        let notes = format!("select id, note from analytics.{table} order by id");
        assert_eq!(
            replication.rows(&notes),
            [(1, some("a, \"b\"")), (2, None), (3, some(""))],
            "{table}: NULL and the empty string stay apart"
        );
    }
    let amounts: String = replication
        .setup
        .scalar("select string_agg(amount::text, ',' order by id) from analytics.by_id");
    assert_eq!(amounts, "12.50,0.25", "decimals arrive as numbers");
    duro_core::testing::mariadb_execute(
        &source_url,
        "insert into users values (4, 'dee@example.com', 's4', null, '2026-12-01 13:00:00', 1),
                                  (5, 'eve@example.com', 's5', null, '2026-12-01 14:00:00', 2);
         update users set email = 'bob@new.example.com', updated_at = '2026-12-01 15:00:00' where id = 2;
         delete from users where id = 1",
    );
    for table in ["analytics.by_id", "analytics.by_time", "analytics.all", "analytics.tracked"] {
        let build = replication.run(table);
        assert_eq!(build.outcome, BuildOutcome::Succeeded, "{build:?}");
    }
    let ids = |table: &str| -> Vec<i32> {
        replication
            .rows(&format!("select id, email from analytics.{table} order by id"))
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    };
    assert_eq!(ids("by_id"), [1, 2, 3, 4, 5], "identity appends 4 and 5 once");
    assert_eq!(replication.last_run("analytics.by_id").lo.as_deref(), Some("3"));
    assert_eq!(ids("by_time"), [1, 2, 3, 4, 5], "timed merges, never deletes");
    assert_eq!(ids("all"), [2, 3, 4, 5], "full equals the source");
    assert_eq!(ids("tracked"), [2, 3, 4, 5], "the deletion is tracked");
    assert_eq!(
        replication.rows("select id, email from analytics.by_time where id = 2"),
        [(2, some("bob@new.example.com"))]
    );
    let columns: i64 = replication.setup.scalar(
        "select count(*) from information_schema.columns where table_schema = 'analytics' and column_name = 'password'",
    );
    assert_eq!(columns, 0);

    duro_core::testing::mariadb_execute(&source_url, "delete from users");
    assert_eq!(replication.run("analytics.all").rows, Some(0));
    assert_eq!(replication.setup.scalar::<i64>("select count(*) from analytics.all"), 0);
}

/// R20: a value the target refuses fails the run, its error naming the column and the line;
/// once the source row is fixed, the retry (same bounds) merges it.
#[test]
fn a_refused_value_is_named_and_a_later_run_succeeds() {
    let node = Replication::new(
        &[
            (
                "analytics/users — 1h.replication.yml",
                "source: app\nsource_table: public.users\nstrategy: timed\n",
            ),
            (
                "analytics/users.ddl.sql",
                "create table analytics.users (id integer, email varchar(16), updated_at timestamp)",
            ),
        ],
        USERS_SOURCE,
    );
    node.run("analytics.users");
    node.source(
        "update public.users set email = 'a-much-too-long-address@example.com', updated_at = '2026-12-01 13:00:00' where id = 2",
    );
    let failed = node.run("analytics.users");
    assert_eq!(failed.failure_class, Some(FailureClass::SqlError), "{failed:?}");
    let message = failed.message.unwrap();
    // Line 2: the lookback reads row 3 again first.
    assert!(message.contains(", line 2, column email"), "{message}");
    assert_eq!(node.last_run("analytics.users").last_error.as_deref(), Some(message.as_str()));
    node.source("update public.users set email = 'bob@short.io' where id = 2");
    let fixed = node.run("analytics.users");
    assert_eq!(fixed.outcome, BuildOutcome::Succeeded, "{fixed:?}");
    assert_eq!(node.last_run("analytics.users").retries, 1);
    assert_eq!(
        node.rows("select id, email from analytics.users where id = 2"),
        [(2, some("bob@short.io"))]
    );
    assert_eq!(node.setup.scalar::<i64>("select count(*) from analytics.users"), 3);
}

/// R4: a row whose replication field is NULL is left out by `nulls: skip` (counted, and said in
/// the build's message) and never duplicated; `nulls: include` (timed) copies it once.
#[test]
fn rows_with_a_null_field_are_counted_or_copied_once() {
    let source = "create table public.events (id integer primary key, created_at timestamp);
         insert into public.events values (1, '2026-12-01 10:00:00'), (2, null), (3, '2026-12-01 11:00:00');";
    let node = Replication::new(
        &[
            (
                "analytics/skipped — 1h.replication.yml",
                "source: app\nsource_table: public.events\nstrategy: identity\nreplication_field: created_at\n",
            ),
            (
                "analytics/included — 1h.replication.yml",
                "source: app\nsource_table: public.events\nstrategy: timed\nreplication_field: created_at\nnulls: include\n",
            ),
            (
                "analytics/skipped.ddl.sql",
                "create table analytics.skipped (id integer, created_at timestamp)",
            ),
            (
                "analytics/included.ddl.sql",
                "create table analytics.included (id integer, created_at timestamp)",
            ),
        ],
        source,
    );
    for _ in 0..2 {
        let skipped = node.run("analytics.skipped");
        assert!(
            skipped
                .message
                .as_deref()
                .unwrap_or_default()
                .contains("1 source rows have a NULL `created_at`"),
            "{skipped:?}"
        );
        assert_eq!(node.last_run("analytics.skipped").skipped_nulls, Some(1));
        node.run("analytics.included");
    }
    let ids = |table: &str| -> Vec<i32> {
        node.rows(&format!("select id, null::text from analytics.{table} order by id"))
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    };
    assert_eq!(ids("skipped"), [1, 3]);
    assert_eq!(ids("included"), [1, 2, 3]);
}

/// Failed tests and a cancellation after `max_retries` reach Slack as build failures do, each
/// naming the node and its failure class.
#[test]
fn replication_failures_go_to_slack() {
    let node = events(&[
        (
            "analytics/events — 1h.replication.yml",
            "source: app\nsource_table: public.events\nstrategy: identity\nmax_retries: 1\n",
        ),
        ("analytics/events_test.sql", "select count(*) = 99 from analytics.events"),
    ]);
    node.setup.schedule();
    let (slack, requests) = duro_core::testing::http::answering("200 OK", "text/html", "ok");
    let config = node.setup.config_file(&format!(
        "connections:\n  app:\n    url: {}\n    tls: disable\nslack:\n  webhook_url: {slack}/services/T0/B0/XYZ\n  channel: \"#duro\"\n  failure_channel: \"#alerts\"\n",
        node.source_url
    ));
    for _ in 0..2 {
        node.setup.force("analytics.events");
        Cli::new(env!("CARGO_BIN_EXE_duro-create"))
            .arg("--config")
            .arg(&config)
            .arg("--once")
            .run()
            .code(1);
    }
    let mut alerts = Vec::new();
    while let Ok(request) = requests.recv_timeout(Duration::from_secs(2)) {
        let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
        if body["channel"] == "#alerts" {
            alerts.push(body["text"].as_str().unwrap_or_default().to_owned());
        }
    }
    let has = |text: &str| {
        alerts.iter().any(|alert| alert.contains("analytics.events") && alert.contains(text))
    };
    assert!(has("test_failed"), "{alerts:?}");
    assert!(has("retries_exhausted"), "{alerts:?}");
}

/// R25: while another creator holds a node's lease, a cycle reports the node busy and records
/// no run of it; once the lease is gone, one run does.
#[test]
fn a_node_another_creator_runs_is_left_alone() {
    let node = events(&[]);
    let mut state = node.setup.state();
    let now = duro_core::clock::now_ms();
    assert!(state.acquire_lease("analytics.events", "elsewhere:1:1", now, 60_000).unwrap());
    let report = node.setup.cycle();
    assert_eq!(report.busy, ["analytics.events"], "{report:?}");
    assert!(node.setup.state().builds("analytics.events").unwrap().is_empty());
    assert!(node.setup.state().replication_runs("analytics.events", 10).unwrap().is_empty());
    state.release_lease("analytics.events", "elsewhere:1:1").unwrap();
    let report = node.setup.cycle();
    assert_eq!(report.built.len(), 1, "{report:?}");
    assert_eq!(node.setup.state().replication_runs("analytics.events", 10).unwrap().len(), 1);
}

/// R26 on PostgreSQL: `after_load.vacuum` runs its one `VACUUM` (then `ANALYZE`) after the
/// load, outside the import's transaction.
#[test]
fn after_load_vacuums_and_analyzes() {
    let node = events(&[(
        "analytics/events — 1h.replication.yml",
        "source: app\nsource_table: public.events\nstrategy: identity\nafter_load: {vacuum: auto, analyze: true}\n",
    )]);
    let build = node.run("analytics.events");
    assert_eq!((build.outcome, build.message.as_deref()), (BuildOutcome::Succeeded, None));
    let (vacuumed, analyzed): (bool, bool) = {
        let row = node
            .setup
            .client()
            .query_one(
                "select last_vacuum is not null, last_analyze is not null from pg_stat_user_tables
                 where schemaname = 'analytics' and relname = 'events'",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert!(vacuumed && analyzed);
}

/// A creator killed during an export leaves its session on the source running its query; the
/// next creator's recovery ends it.
#[test]
fn recovery_ends_a_stopped_creators_source_sessions() {
    let node = events(&[
        (
            "analytics/events — 1h.replication.yml",
            "source: app\nsource_table: public.events\nstrategy: full\ncolumns: [id, {name: name, source: \"pg_sleep(20)::text\"}]\n",
        ),
        ("reports/other — 1h.sql", "select 1 as x"),
    ]);
    let config = node.config_file();
    let create = || Cli::new(env!("CARGO_BIN_EXE_duro-create")).arg("--config").arg(&config);
    let child = create().args(["--table", "analytics.events"]).stdout(Stdio::null()).start();
    let mut source = postgres::Client::connect(&node.source_url, postgres::NoTls).unwrap();
    let sleeping = |source: &mut postgres::Client| -> i64 {
        source
            .query_one(
                "select count(*) from pg_stat_activity where query like '%pg_sleep(20)%' and pid <> pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sleeping(&mut source) == 0 {
        assert!(std::time::Instant::now() < deadline, "the export never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill();
    assert_eq!(sleeping(&mut source), 1, "the session outlives its creator");
    let output = create().args(["--table", "reports.other"]).run();
    output.code(0);
    assert_eq!(sleeping(&mut source), 0, "{}", output.both());
    assert!(output.stderr.contains("sessions of source `app`"), "{}", output.both());
}

/// The same from a MariaDB source: the stopped creator's export, found by the comment naming
/// its session, is ended by the next creator's recovery.
#[test]
fn recovery_ends_a_stopped_creators_mariadb_export() {
    let source_url = duro_core::testing::fresh_mariadb_database();
    let database = source_url.rsplit('/').next().unwrap().to_owned();
    duro_core::testing::mariadb_execute(
        &source_url,
        "create table events (id int primary key, name text); insert into events values (1, 'one')",
    );
    let spec = format!(
        "source: app\nsource_table: {database}.events\nstrategy: full\ncolumns: [id, {{name: name, source: \"cast(sleep(20) as char)\"}}]\n"
    );
    let mut setup = Setup::new(
        &[
            ("analytics/events — 1h.replication.yml", spec.as_str()),
            ("analytics/events.ddl.sql", "create table analytics.events (id integer, name text)"),
            ("reports/other — 1h.sql", "select 1 as x"),
        ],
        "create schema analytics; create schema reports",
    );
    setup.config.connections.insert(
        "app".into(),
        SourceConnection {
            url: Some(source_url.as_str().into()),
            tls: Some(TlsMode::Disable),
            ..SourceConnection::default()
        },
    );
    let node = Replication { setup, source_url: source_url.clone() };
    let config = node.config_file();
    let create = || Cli::new(env!("CARGO_BIN_EXE_duro-create")).arg("--config").arg(&config);
    let child = create().args(["--table", "analytics.events"]).stdout(Stdio::null()).start();
    let sleeping = || -> usize {
        let mut conn = mysql::Conn::new(mysql::Opts::from_url(&source_url).unwrap()).unwrap();
        let ids: Vec<u64> = mysql::prelude::Queryable::query(
            &mut conn,
            "select id from information_schema.processlist where info like '%sleep(20)%' and id <> connection_id()",
        )
        .unwrap();
        ids.len()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sleeping() == 0 {
        assert!(std::time::Instant::now() < deadline, "the export never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill();
    assert_eq!(sleeping(), 1, "the export outlives its creator");
    let output = create().args(["--table", "reports.other"]).run();
    output.code(0);
    assert!(output.stderr.contains("ended 1 sessions of source `app`"), "{}", output.both());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while sleeping() > 0 {
        assert!(std::time::Instant::now() < deadline, "the export still runs");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Bad input touches nothing: a connection `duro.yaml` does not have, a source table or a
/// replication field that does not exist each fail as `configuration`, naming what to fix.
#[test]
fn missing_connections_tables_and_fields_are_named() {
    let node = Replication::new(
        &[
            (
                "analytics/nowhere — 1h.replication.yml",
                "source: elsewhere\nsource_table: public.events\nstrategy: full\n",
            ),
            (
                "analytics/no_table — 1h.replication.yml",
                "source: app\nsource_table: public.nothing\nstrategy: full\n",
            ),
            (
                "analytics/no_field — 1h.replication.yml",
                "source: app\nsource_table: public.events\nstrategy: timed\nreplication_field: changed_at\n",
            ),
            ("analytics/nowhere.ddl.sql", "create table analytics.nowhere (id integer)"),
            ("analytics/no_table.ddl.sql", "create table analytics.no_table (id integer)"),
            ("analytics/no_field.ddl.sql", "create table analytics.no_field (id integer)"),
        ],
        EVENTS_SOURCE,
    );
    let cases = [
        ("analytics.nowhere", "no connection `elsewhere` in duro.yaml's `connections`"),
        ("analytics.no_table", "source `app` has no table `public.nothing`"),
        (
            "analytics.no_field",
            "the replication field `changed_at` of `analytics.no_field` is not a column of the source table",
        ),
    ];
    for (table, expected) in cases {
        let build = node.run(table);
        assert_eq!(build.failure_class, Some(FailureClass::Configuration), "{build:?}");
        assert!(build.message.as_deref().unwrap_or_default().contains(expected), "{build:?}");
        assert_eq!(node.setup.state().replication_state(table).unwrap().watermark, None);
    }
}

/// `kill -9` in each phase of a run through S3, 10 times each: the phases' windows are
/// measured on a clean run (a full copy: the same rows every time), and each kill's delay is
/// moved towards its phase by where the previous one landed (read back from the run record:
/// `exporting`, `exported` while uploading, `importing`), at most 150 kills in all. No kill
/// ever leaves a key twice; after a restart (which resumes the last run) the target equals the
/// source.
#[test]
fn kill_dash_nine_in_each_phase_of_an_s3_run() {
    let mut node = Replication::new(
        &[
            (
                "analytics/events — 1d.replication.yml",
                "source: app\nsource_table: public.events\nstrategy: full\nfull_mode: reload\ntransport: s3\nslices: 3\n",
            ),
            (
                "analytics/events.ddl.sql",
                "create table analytics.events (id bigint, name text, updated_at timestamp)",
            ),
        ],
        "create table public.events (id bigint primary key, name text, updated_at timestamp not null);
         insert into public.events select n, 'event ' || n, timestamp '2026-01-01' + n * interval '1 second'
             from generate_series(1, 150000) as n;",
    );
    let _bucket = node.with_s3("duro-test-secret");
    let config = node.config_file();
    let create = || Cli::new(env!("CARGO_BIN_EXE_duro-create")).arg("--config").arg(&config);
    create().args(["--table", "analytics.events"]).run().code(0);
    let spawned_ms = duro_core::clock::now_ms();
    create().args(["--table", "analytics.events"]).run().code(0);
    let build = node.setup.state().builds("analytics.events").unwrap().remove(0);
    let phases: serde_json::Value = serde_json::from_str(&build.phases_json).unwrap();
    let ms = |name: &str| phases[name].as_u64().unwrap_or(0) as i64;
    let export_from =
        build.started_at_ms - spawned_ms + ms("connect") + ms("connect_source") + ms("check");
    let upload_from = export_from + ms("export");
    let import_from = upload_from + ms("upload");
    // Each phase: the state a kill in it leaves, the middle of its measured window, its length.
    let targets = [
        ("exporting", export_from + ms("export") / 2, ms("export")),
        ("exported", upload_from + ms("upload") / 2, ms("upload")),
        ("importing", import_from + ms("import") / 2, ms("import")),
    ];
    let order = ["exporting", "exported", "uploaded", "importing"];
    let mut source = postgres::Client::connect(&node.source_url, postgres::NoTls).unwrap();
    let mut warehouse = node.setup.client();
    let mut kills = 0;
    for (phase, middle, length) in targets {
        let (mut delay, mut landed) = (middle, 0);
        // Moved towards the phase by halving steps once a kill lands past it (a bisection).
        let (mut step, mut last_move) = ((length / 2).max(4), 0);
        while landed < 10 {
            kills += 1;
            assert!(kills <= 150, "could not land 10 kills in each phase ({phase}: {landed})");
            source
                .batch_execute(&format!(
                    "update public.events set name = name || '+' where id % 7 = {}",
                    kills % 7
                ))
                .unwrap();
            // Every attempt a whole run (a retry of files already uploaded would skip the
            // export and the upload); the last one is resumed by the restart below.
            node.setup.state().reset_replication("analytics.events").unwrap();
            let child = create()
                .args(["--table", "analytics.events"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .start();
            std::thread::sleep(Duration::from_millis(delay.max(0) as u64));
            child.kill();
            let (rows, ids, _) = digest(&mut warehouse, "analytics.events", "id");
            assert_eq!(rows, ids, "a key twice after a kill at {delay} ms");
            let found = node.last_run("analytics.events").state.as_str();
            let position =
                |state: &str| order.iter().position(|s| *s == state).unwrap_or(order.len());
            let direction = match position(found).cmp(&position(phase)) {
                std::cmp::Ordering::Equal => {
                    landed += 1;
                    continue;
                }
                std::cmp::Ordering::Less => 1,
                std::cmp::Ordering::Greater => -1,
            };
            if direction == -last_move {
                step = (step / 2).max(2);
            }
            last_move = direction;
            delay += direction * step;
        }
    }
    create().args(["--table", "analytics.events"]).run().code(0);
    assert_eq!(
        digest(&mut warehouse, "analytics.events", "id, name, updated_at"),
        digest(&mut source, "public.events", "id, name, updated_at")
    );
}

/// The watermark belongs to the node's definition: after `source_table`, the field, the key or
/// the columns change, the next run copies everything again (here: explicit columns).
#[test]
fn a_changed_definition_starts_afresh() {
    let node = events(&[]);
    node.run("analytics.events");
    assert_eq!(node.watermark("analytics.events").as_deref(), Some("3"));
    node.setup.write(&[(
        "analytics/events — 1h.replication.yml",
        "source: app\nsource_table: public.events\nstrategy: identity\ncolumns: [id, name]\n",
    )]);
    node.setup.schedule();
    let again = node.run("analytics.events");
    assert_eq!((again.outcome, again.rows), (BuildOutcome::Succeeded, Some(3)), "{again:?}");
    assert_eq!(node.last_run("analytics.events").lo, None);
    assert_eq!(node.setup.scalar::<i64>("select count(*) from analytics.events"), 3);
    let unchanged = node.run("analytics.events");
    assert_eq!(unchanged.outcome, BuildOutcome::Unchanged, "{unchanged:?}");
}

/// A trigger installed for another key (`key:` changed since) is named, not trusted: its queue
/// would hold keys the run cannot match.
#[test]
fn a_trigger_for_another_key_is_refused() {
    let node = tracked(&[]);
    node.install_triggers();
    assert_eq!(node.run("analytics.users").outcome, BuildOutcome::Succeeded);
    node.setup.write(&[(
        "analytics/users — 1h.replication.yml",
        "source: app\nsource_table: public.users\nstrategy: timed\ndelete_tracking: trigger\nkey: [email]\n",
    )]);
    node.setup.schedule();
    let refused = node.run("analytics.users");
    assert_eq!(refused.failure_class, Some(FailureClass::Configuration), "{refused:?}");
    assert!(
        refused
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("has another key's `duro_track_delete` trigger"),
        "{refused:?}"
    );
    node.install_triggers();
    assert_eq!(node.run("analytics.users").outcome, BuildOutcome::Succeeded);
}
