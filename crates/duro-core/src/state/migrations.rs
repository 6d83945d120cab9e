//! The state file's schema, as add-only versioned migrations. The version lives in SQLite's
//! `user_version`; every binary applies the missing migrations at start, in one transaction.

/// The schema version of a state file with every migration applied.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Migrations in order; index + 1 is the version they bring the file to. Never edit one that
/// has shipped: add a new one.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the catalog, its dependencies, processed commits, force requests, builds and leases.
    r#"
    create table tables (
        name text primary key,
        kind text not null check (kind in ('view', 'processor')),
        query text not null,
        ddl text,
        tests text,
        processor_source text,
        requirements text,
        interval_minutes integer check (interval_minutes > 0),
        config_json text not null,
        files_json text not null,
        definition_file text not null,
        dependency_method text not null check (dependency_method in ('parsed', 'tokens')),
        first_seen_at integer not null,
        changed_at integer not null,
        deleted_at integer
    ) strict;

    create table dependencies (
        table_name text not null references tables (name) on delete cascade,
        depends_on text not null,
        primary key (table_name, depends_on)
    ) strict, without rowid;
    create index dependencies_by_target on dependencies (depends_on);

    create table commits (
        hash text not null,
        duro_version text not null,
        processed_at integer not null,
        primary key (hash, duro_version)
    ) strict;

    create table force_requests (
        table_name text primary key references tables (name) on delete cascade,
        requested_at integer not null,
        reason text not null
    ) strict;

    create table builds (
        id integer primary key,
        table_name text not null,
        started_at_ms integer not null,
        finished_at_ms integer,
        outcome text not null check (outcome in ('running', 'succeeded', 'failed', 'skipped')),
        failure_class text check (failure_class in
            ('connection', 'sql_error', 'test_failed', 'timeout', 'dependency_failed', 'cancelled')),
        message text,
        rows integer,
        phases_json text not null default '{}',
        worker text
    ) strict;
    create index builds_by_table on builds (table_name, started_at_ms);
    create index builds_by_start on builds (started_at_ms);

    create table leases (
        table_name text primary key,
        holder text not null,
        acquired_at_ms integer not null,
        expires_at_ms integer not null
    ) strict;
    "#,
    // 2: notifications already sent, so identical failures are not repeated too often.
    r#"
    create table notifications (
        fingerprint text primary key,
        sent_at integer not null
    ) strict;
    "#,
    // 3: the processor_failed class, and the processor's output kept with each build.
    r#"
    create table builds_v3 (
        id integer primary key,
        table_name text not null,
        started_at_ms integer not null,
        finished_at_ms integer,
        outcome text not null check (outcome in ('running', 'succeeded', 'failed', 'skipped')),
        failure_class text check (failure_class in
            ('connection', 'sql_error', 'test_failed', 'timeout', 'dependency_failed', 'cancelled', 'processor_failed')),
        message text,
        rows integer,
        phases_json text not null default '{}',
        worker text,
        output text
    ) strict;
    insert into builds_v3 (id, table_name, started_at_ms, finished_at_ms, outcome, failure_class, message, rows, phases_json, worker)
        select id, table_name, started_at_ms, finished_at_ms, outcome, failure_class, message, rows, phases_json, worker from builds;
    drop table builds;
    alter table builds_v3 rename to builds;
    create index builds_by_table on builds (table_name, started_at_ms);
    create index builds_by_start on builds (started_at_ms);
    "#,
    // 4: one summary row per table, kept by every write that finishes a build, so the web UI
    // reads 10,000 tables without aggregating their whole history; indexes for time ranges and
    // running builds.
    r#"
    create table table_history (
        table_name text primary key,
        last_success_started_ms integer,
        last_success_finished_ms integer,
        successes integer not null default 0,
        success_ms_total integer not null default 0,
        last_finished_build integer,
        -- The last finished build when it did not succeed; null after a success.
        last_failed_build integer
    ) strict;
    insert into table_history (table_name, last_success_started_ms, last_success_finished_ms,
                               successes, success_ms_total, last_finished_build)
        select table_name,
               max(case when outcome = 'succeeded' then started_at_ms end),
               (select s.finished_at_ms from builds s where s.table_name = b.table_name
                    and s.outcome = 'succeeded' order by s.started_at_ms desc, s.id desc limit 1),
               coalesce(sum(outcome = 'succeeded'), 0),
               coalesce(sum(case when outcome = 'succeeded' then finished_at_ms - started_at_ms end), 0),
               max(case when outcome != 'running' then id end)
        from builds b group by table_name;
    update table_history set last_failed_build = last_finished_build
        where (select outcome from builds where id = last_finished_build) != 'succeeded';
    create index builds_by_finish on builds (finished_at_ms, outcome, started_at_ms, table_name);
    create index builds_running on builds (started_at_ms) where outcome = 'running';
    -- Lists of tables read these columns without the long query texts.
    create index tables_summary on tables (name, kind, interval_minutes, deleted_at);
    "#,
    // 5: creator processes with the short token their warehouse connections carry as
    // `application_name`, and their last heartbeat (leases are renewed with it).
    r#"
    create table workers (
        worker text primary key,
        token text not null unique,
        started_at_ms integer not null,
        heartbeat_at_ms integer not null
    ) strict;
    "#,
    // 6: the run vocabulary for every kind of table: the `unchanged` outcome, and the
    // `configuration` and `internal` failure classes.
    r#"
    create table builds_v6 (
        id integer primary key,
        table_name text not null,
        started_at_ms integer not null,
        finished_at_ms integer,
        outcome text not null check (outcome in ('running', 'succeeded', 'unchanged', 'failed', 'skipped')),
        failure_class text check (failure_class in
            ('connection', 'sql_error', 'test_failed', 'timeout', 'dependency_failed', 'cancelled',
             'processor_failed', 'configuration', 'internal')),
        message text,
        rows integer,
        phases_json text not null default '{}',
        worker text,
        output text
    ) strict;
    insert into builds_v6 select * from builds;
    drop table builds;
    alter table builds_v6 rename to builds;
    create index builds_by_table on builds (table_name, started_at_ms);
    create index builds_by_start on builds (started_at_ms);
    create index builds_by_finish on builds (finished_at_ms, outcome, started_at_ms, table_name);
    create index builds_running on builds (started_at_ms) where outcome = 'running';
    "#,
    // 7: every time in milliseconds: the catalog's times, processed commits, force requests
    // and sent notifications were kept in seconds.
    r#"
    alter table tables rename column first_seen_at to first_seen_at_ms;
    alter table tables rename column changed_at to changed_at_ms;
    alter table tables rename column deleted_at to deleted_at_ms;
    update tables set first_seen_at_ms = first_seen_at_ms * 1000,
                      changed_at_ms = changed_at_ms * 1000,
                      deleted_at_ms = deleted_at_ms * 1000;
    alter table commits rename column processed_at to processed_at_ms;
    update commits set processed_at_ms = processed_at_ms * 1000;
    alter table force_requests rename column requested_at to requested_at_ms;
    update force_requests set requested_at_ms = requested_at_ms * 1000;
    alter table notifications rename column sent_at to sent_at_ms;
    update notifications set sent_at_ms = sent_at_ms * 1000;
    "#,
    // 8: periodic messages (Slack's log channel), each claimed by one write per period.
    r#"
    create table periodic_posts (
        name text primary key,
        posted_at_ms integer not null
    ) strict;
    "#,
    // 9: replication nodes: the `replication` kind with its typed definition, the
    // `retries_exhausted` failure class, each node's watermark and unfinished run (never
    // trimmed), and each run's details beside its build record. Rebuilding `tables` drops the
    // rows that reference it, so they are kept aside and put back.
    r#"
    create temp table saved_dependencies as select * from dependencies;
    create temp table saved_force_requests as select * from force_requests;
    create table tables_v9 (
        name text primary key,
        kind text not null check (kind in ('view', 'processor', 'replication')),
        query text not null,
        ddl text,
        tests text,
        processor_source text,
        requirements text,
        interval_minutes integer check (interval_minutes > 0),
        config_json text not null,
        files_json text not null,
        definition_file text not null,
        dependency_method text not null check (dependency_method in ('parsed', 'tokens')),
        first_seen_at_ms integer not null,
        changed_at_ms integer not null,
        deleted_at_ms integer,
        spec_json text
    ) strict;
    insert into tables_v9 (name, kind, query, ddl, tests, processor_source, requirements,
            interval_minutes, config_json, files_json, definition_file, dependency_method,
            first_seen_at_ms, changed_at_ms, deleted_at_ms)
        select name, kind, query, ddl, tests, processor_source, requirements, interval_minutes,
            config_json, files_json, definition_file, dependency_method, first_seen_at_ms,
            changed_at_ms, deleted_at_ms
        from tables;
    drop table tables;
    alter table tables_v9 rename to tables;
    create index tables_summary on tables (name, kind, interval_minutes, deleted_at_ms);
    insert or ignore into dependencies select * from temp.saved_dependencies;
    insert or ignore into force_requests select * from temp.saved_force_requests;
    drop table temp.saved_dependencies;
    drop table temp.saved_force_requests;

    create table builds_v9 (
        id integer primary key,
        table_name text not null,
        started_at_ms integer not null,
        finished_at_ms integer,
        outcome text not null check (outcome in ('running', 'succeeded', 'unchanged', 'failed', 'skipped')),
        failure_class text check (failure_class in
            ('connection', 'sql_error', 'test_failed', 'timeout', 'dependency_failed', 'cancelled',
             'processor_failed', 'configuration', 'internal', 'retries_exhausted')),
        message text,
        rows integer,
        phases_json text not null default '{}',
        worker text,
        output text
    ) strict;
    insert into builds_v9 select * from builds;
    drop table builds;
    alter table builds_v9 rename to builds;
    create index builds_by_table on builds (table_name, started_at_ms);
    create index builds_by_start on builds (started_at_ms);
    create index builds_by_finish on builds (finished_at_ms, outcome, started_at_ms, table_name);
    create index builds_running on builds (started_at_ms) where outcome = 'running';

    create table replication_state (
        table_name text primary key,
        -- The upper bound of the last imported run: where the next one starts.
        watermark text,
        -- The run begun and not finished (bounds, files, retries), as JSON; retried as it is.
        pending_json text,
        -- What the watermark was taken for (source, table, field, key, columns): when the
        -- node's definition changes, its next run starts afresh.
        definition text,
        updated_at_ms integer not null
    ) strict;

    create table replication_runs (
        build_id integer primary key,
        table_name text not null,
        state text not null check (state in ('exporting', 'exported', 'uploaded', 'importing',
            'imported', 'noop', 'failed_tests', 'canceled')),
        lo text,
        hi text,
        delete_sequence integer,
        rows integer,
        deleted_rows integer,
        -- Rows left out because their replication field is NULL (`nulls: skip`).
        skipped_nulls integer,
        files_json text not null default '[]',
        retries integer not null default 0,
        last_error text
    ) strict;
    create index replication_runs_by_table on replication_runs (table_name, build_id);
    "#,
    // 10: S3 load nodes: the `s3_load` kind, each node's newest loaded file and data date (never
    // trimmed), and each load's files beside its build record. `tables` is rebuilt as in 9.
    r#"
    create temp table saved_dependencies as select * from dependencies;
    create temp table saved_force_requests as select * from force_requests;
    create table tables_v10 (
        name text primary key,
        kind text not null check (kind in ('view', 'processor', 'replication', 's3_load')),
        query text not null,
        ddl text,
        tests text,
        processor_source text,
        requirements text,
        interval_minutes integer check (interval_minutes > 0),
        config_json text not null,
        files_json text not null,
        definition_file text not null,
        dependency_method text not null check (dependency_method in ('parsed', 'tokens')),
        first_seen_at_ms integer not null,
        changed_at_ms integer not null,
        deleted_at_ms integer,
        spec_json text
    ) strict;
    insert into tables_v10 select * from tables;
    drop table tables;
    alter table tables_v10 rename to tables;
    create index tables_summary on tables (name, kind, interval_minutes, deleted_at_ms);
    insert or ignore into dependencies select * from temp.saved_dependencies;
    insert or ignore into force_requests select * from temp.saved_force_requests;
    drop table temp.saved_dependencies;
    drop table temp.saved_force_requests;

    create table s3_load_state (
        table_name text primary key,
        -- The newest file loaded (its URL) and its data date (RFC 3339, UTC).
        last_file text not null,
        data_date text not null,
        loaded_at_ms integer not null
    ) strict;

    create table s3_load_runs (
        build_id integer primary key,
        table_name text not null,
        -- The files loaded, oldest first (several with `catch_up`), as a JSON list of URLs.
        files_json text not null default '[]',
        -- The newest data date loaded, or the table's when nothing newer was found.
        data_date text,
        rows integer,
        -- Why nothing was loaded, or what was refused.
        note text
    ) strict;
    create index s3_load_runs_by_table on s3_load_runs (table_name, build_id);
    "#,
    // 11: sources: the tables catalog tables read that no file defines.
    r#"
    create table source_reads (
        table_name text not null references tables (name) on delete cascade,
        source text not null,
        primary key (table_name, source)
    ) strict, without rowid;
    create index source_reads_by_source on source_reads (source);
    "#,
    // 12: a run that found nothing new (`unchanged`) is a success for freshness, and each
    // table's last change (its last `succeeded` build) is kept beside its last success.
    r#"
    alter table table_history add column last_change_finished_ms integer;
    update table_history set last_change_finished_ms = last_success_finished_ms;
    update table_history set
        last_success_started_ms = max(coalesce(last_success_started_ms, 0), u.started),
        last_success_finished_ms = case when u.started >= coalesce(last_success_started_ms, 0)
            then u.finished else last_success_finished_ms end
    from (select b.table_name, b.started_at_ms as started, b.finished_at_ms as finished
          from builds b
          where b.outcome = 'unchanged' and b.started_at_ms = (select max(started_at_ms)
              from builds u where u.table_name = b.table_name and u.outcome = 'unchanged')) as u
    where u.table_name = table_history.table_name;
    update table_history set last_failed_build = null
        where last_failed_build in (select id from builds where outcome = 'unchanged');
    "#,
    // 13: row-count rules: the `validation_failed` failure class, and each table's row count at
    // its last change (the baseline of `max_row_drop`) in its summary.
    r#"
    create table builds_v13 (
        id integer primary key,
        table_name text not null,
        started_at_ms integer not null,
        finished_at_ms integer,
        outcome text not null check (outcome in ('running', 'succeeded', 'unchanged', 'failed', 'skipped')),
        failure_class text check (failure_class in
            ('connection', 'sql_error', 'test_failed', 'timeout', 'dependency_failed', 'cancelled',
             'processor_failed', 'configuration', 'internal', 'retries_exhausted',
             'validation_failed')),
        message text,
        rows integer,
        phases_json text not null default '{}',
        worker text,
        output text
    ) strict;
    insert into builds_v13 select * from builds;
    drop table builds;
    alter table builds_v13 rename to builds;
    create index builds_by_table on builds (table_name, started_at_ms);
    create index builds_by_start on builds (started_at_ms);
    create index builds_by_finish on builds (finished_at_ms, outcome, started_at_ms, table_name);
    create index builds_running on builds (started_at_ms) where outcome = 'running';

    alter table table_history add column last_change_rows integer;
    update table_history set last_change_rows = (select b.rows from builds b
        where b.table_name = table_history.table_name and b.outcome = 'succeeded'
        order by b.started_at_ms desc, b.id desc limit 1);
    "#,
    // 14: build guards: the `cost_exceeded` failure class and the plan cost of each build that
    // asked for one (`max_cost`); a person's acceptance of a smaller table ("accept and
    // rebuild"), spent by the first successful build that starts after it.
    r#"
    create table builds_v14 (
        id integer primary key,
        table_name text not null,
        started_at_ms integer not null,
        finished_at_ms integer,
        outcome text not null check (outcome in ('running', 'succeeded', 'unchanged', 'failed', 'skipped')),
        failure_class text check (failure_class in
            ('connection', 'sql_error', 'test_failed', 'timeout', 'dependency_failed', 'cancelled',
             'processor_failed', 'configuration', 'internal', 'retries_exhausted',
             'validation_failed', 'cost_exceeded')),
        message text,
        rows integer,
        phases_json text not null default '{}',
        worker text,
        output text,
        plan_cost real
    ) strict;
    insert into builds_v14 select *, null from builds;
    drop table builds;
    alter table builds_v14 rename to builds;
    create index builds_by_table on builds (table_name, started_at_ms);
    create index builds_by_start on builds (started_at_ms);
    create index builds_by_finish on builds (finished_at_ms, outcome, started_at_ms, table_name);
    create index builds_running on builds (started_at_ms) where outcome = 'running';

    create table row_drop_acceptances (
        table_name text primary key,
        accepted_at_ms integer not null,
        reason text not null
    ) strict;
    "#,
    // 15: figures that do not grow with the history: counters by outcome and failure class
    // (`failure_class` '' when none), the duration histogram of successful builds (fixed
    // buckets, `le_ms` the upper bound, the largest integer for +Inf), and per-minute figures
    // (builds and failures by their finish, busy time by the minutes it covered). Each is
    // updated by the transaction that finishes a build, and filled here from the history.
    r#"
    create table build_counters (
        outcome text not null,
        failure_class text not null,
        builds integer not null,
        primary key (outcome, failure_class)
    ) strict, without rowid;
    insert into build_counters
        select outcome, coalesce(failure_class, ''), count(*) from builds
        where outcome != 'running' group by 1, 2;

    create table build_durations (
        le_ms integer primary key,
        builds integer not null default 0,
        total_ms integer not null default 0
    ) strict;
    insert into build_durations (le_ms) values (1000), (5000), (15000), (30000), (60000),
        (300000), (900000), (1800000), (3600000), (9223372036854775807);
    update build_durations set
        builds = (select count(*) from builds b where b.outcome = 'succeeded'
            and b.finished_at_ms - b.started_at_ms <= build_durations.le_ms
            and b.finished_at_ms - b.started_at_ms > coalesce((select max(l.le_ms)
                from build_durations l where l.le_ms < build_durations.le_ms), -9223372036854775807)),
        total_ms = coalesce((select sum(b.finished_at_ms - b.started_at_ms) from builds b
            where b.outcome = 'succeeded'
            and b.finished_at_ms - b.started_at_ms <= build_durations.le_ms
            and b.finished_at_ms - b.started_at_ms > coalesce((select max(l.le_ms)
                from build_durations l where l.le_ms < build_durations.le_ms), -9223372036854775807)), 0);

    create table build_minutes (
        minute_ms integer primary key,
        builds integer not null default 0,
        failures integer not null default 0,
        busy_ms integer not null default 0
    ) strict;
    insert into build_minutes (minute_ms, builds, failures)
        select finished_at_ms / 60000 * 60000, count(*), sum(outcome = 'failed') from builds
        where outcome in ('succeeded', 'failed') group by 1;
    with recursive spans (started, finished, minute) as (
        select started_at_ms, finished_at_ms, started_at_ms / 60000 * 60000 from builds
            where outcome in ('succeeded', 'failed') and finished_at_ms > started_at_ms
        union all
        select started, finished, minute + 60000 from spans where minute + 60000 < finished
    )
    insert into build_minutes (minute_ms, busy_ms)
        select minute, sum(min(finished, minute + 60000) - max(started, minute)) from spans
        where true group by minute
    on conflict (minute_ms) do update set busy_ms = build_minutes.busy_ms + excluded.busy_ms;
    "#,
];

#[cfg(test)]
mod tests {
    use super::{MIGRATIONS, SCHEMA_VERSION};
    use crate::build::{BuildOutcome, FailureClass};
    use crate::state::StateFile;

    /// The check constraints of the last migration that lists them accept exactly the
    /// vocabulary's names.
    #[test]
    fn the_builds_table_accepts_every_name_of_the_vocabulary() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        for migration in MIGRATIONS {
            db.execute_batch(migration).unwrap();
        }
        let insert = |outcome: &str, class: Option<&str>| {
            db.execute(
                "insert into builds (table_name, started_at_ms, outcome, failure_class) values ('s.t', 1, ?1, ?2)",
                rusqlite::params![outcome, class],
            )
        };
        for outcome in BuildOutcome::ALL {
            insert(outcome.as_str(), None).unwrap();
        }
        for class in FailureClass::ALL {
            insert("failed", Some(class.as_str())).unwrap();
        }
        assert!(insert("exploded", None).is_err());
        assert!(insert("failed", Some("exploded")).is_err());
    }

    #[test]
    fn migration_4_summarizes_an_existing_history() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        for migration in &MIGRATIONS[..3] {
            db.execute_batch(migration).unwrap();
        }
        db.execute_batch(
            "insert into builds (table_name, started_at_ms, finished_at_ms, outcome, failure_class) values
                 ('s.a', 1000, 3000, 'succeeded', null),
                 ('s.a', 5000, 9000, 'succeeded', null),
                 ('s.a', 10000, 11000, 'failed', 'sql_error'),
                 ('s.b', 2000, 2500, 'succeeded', null),
                 ('s.c', 4000, null, 'running', null);",
        )
        .unwrap();
        db.execute_batch(MIGRATIONS[3]).unwrap();
        let row = |table: &str| -> (Option<i64>, Option<i64>, i64, i64, Option<i64>, Option<i64>) {
            db.query_row(
                "select last_success_started_ms, last_success_finished_ms, successes, success_ms_total,
                        last_finished_build, last_failed_build from table_history where table_name = ?1",
                [table],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .unwrap()
        };
        assert_eq!(row("s.a"), (Some(5000), Some(9000), 2, 6000, Some(3), Some(3)));
        assert_eq!(row("s.b"), (Some(2000), Some(2500), 1, 500, Some(4), None));
        assert_eq!(row("s.c"), (None, None, 0, 0, None, None), "a running build is not finished");
    }

    /// What schema 6 kept in seconds: two tables (one removed), a force request and a sent
    /// notification. The processed commit is inserted with this Duro's version.
    const SCHEMA_6_SECONDS: &str = "
        insert into tables (name, kind, query, config_json, files_json, definition_file,
                            dependency_method, first_seen_at, changed_at, deleted_at) values
            ('s.a', 'view', 'select 1', '{}', '[\"s/a.sql\"]', 's/a.sql', 'parsed',
             1700000000, 1700000100, null),
            ('s.b', 'view', 'select 2', '{}', '[\"s/b.sql\"]', 's/b.sql', 'parsed',
             1700000000, 1700000000, 1700000200);
        insert into force_requests (table_name, requested_at, reason)
            values ('s.a', 1700000400, 'new');
        insert into notifications (fingerprint, sent_at) values ('build:s.a', 1700000500);";

    /// A state file with data made at schema 6 keeps it when opened, every time in
    /// milliseconds under its new name.
    #[test]
    fn migration_7_keeps_every_time_in_milliseconds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("duro.db");
        let db = rusqlite::Connection::open(&path).unwrap();
        for migration in &MIGRATIONS[..6] {
            db.execute_batch(migration).unwrap();
        }
        db.pragma_update(None, "user_version", 6).unwrap();
        db.execute_batch(SCHEMA_6_SECONDS).unwrap();
        db.execute(
            "insert into commits (hash, duro_version, processed_at) values ('abc', ?1, 1700000300)",
            [env!("CARGO_PKG_VERSION")],
        )
        .unwrap();
        drop(db);

        let mut state = StateFile::open(&path).unwrap();
        assert_eq!(state.schema_version().unwrap(), SCHEMA_VERSION as i64);
        let raw = |sql: &str| -> i64 { state.connection.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(raw("select processed_at_ms from commits"), 1_700_000_300_000);
        assert_eq!(raw("select requested_at_ms from force_requests"), 1_700_000_400_000);
        assert_eq!(raw("select sent_at_ms from notifications"), 1_700_000_500_000);
        let index: String = state
            .connection
            .query_row("select sql from sqlite_master where name = 'tables_summary'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(index.contains("deleted_at_ms"), "{index}");

        let a = state.table("s.a").unwrap().unwrap();
        assert_eq!(
            (a.first_seen_at_ms, a.changed_at_ms, a.deleted_at_ms),
            (1_700_000_000_000, 1_700_000_100_000, None)
        );
        let b = state.table("s.b").unwrap().unwrap();
        assert_eq!(
            (b.first_seen_at_ms, b.changed_at_ms, b.deleted_at_ms),
            (1_700_000_000_000, 1_700_000_000_000, Some(1_700_000_200_000))
        );
        assert_eq!(state.active_tables().unwrap().len(), 1);
        assert!(state.is_last_processed_commit("abc").unwrap());
        let overview = state.table_overview(1_700_000_600_000).unwrap();
        let requests: Vec<_> =
            overview.iter().map(|(t, a)| (t.deleted_at_ms, &a.force_request)).collect();
        assert_eq!(
            requests,
            [
                (None, &Some((1_700_000_400_000, "new".to_owned()))),
                (Some(1_700_000_200_000), &None)
            ]
        );
        assert!(state.force_requested_since(1_700_000_400_000).unwrap());
        assert!(!state.force_requested_since(1_700_000_400_001).unwrap());
        let hour_ms = 3_600_000;
        assert!(
            !state
                .claim_notification("build:s.a", 1_700_000_500_000 + hour_ms - 1, hour_ms)
                .unwrap()
        );
        assert!(
            state.claim_notification("build:s.a", 1_700_000_500_000 + hour_ms, hour_ms).unwrap()
        );
    }

    /// Schema 12 counts an `unchanged` run as the last success (and not as a failure), and keeps
    /// the last change: the last `succeeded` build.
    #[test]
    fn migration_12_counts_unchanged_runs_as_fresh() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        for migration in &MIGRATIONS[..11] {
            db.execute_batch(migration).unwrap();
        }
        db.execute_batch(
            "insert into builds (table_name, started_at_ms, finished_at_ms, outcome) values
                 ('s.a', 1000, 2000, 'succeeded'),
                 ('s.a', 5000, 5100, 'unchanged'),
                 ('s.b', 1000, 1500, 'succeeded');
             insert into table_history (table_name, last_success_started_ms, last_success_finished_ms,
                                        successes, success_ms_total, last_finished_build, last_failed_build)
                 values ('s.a', 1000, 2000, 1, 1000, 2, 2), ('s.b', 1000, 1500, 1, 500, 3, null);",
        )
        .unwrap();
        db.execute_batch(MIGRATIONS[11]).unwrap();
        let row = |table: &str| -> (i64, i64, i64, Option<i64>) {
            db.query_row(
                "select last_success_started_ms, last_success_finished_ms, last_change_finished_ms,
                        last_failed_build from table_history where table_name = ?1",
                [table],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap()
        };
        assert_eq!(row("s.a"), (5000, 5100, 2000, None));
        assert_eq!(row("s.b"), (1000, 1500, 1500, None));
    }

    /// Schema 15 fills the counters, the duration histogram and the per-minute figures from an
    /// existing history, as the finishing writes would have.
    #[test]
    fn migration_15_fills_the_counters_from_the_history() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        for migration in &MIGRATIONS[..14] {
            db.execute_batch(migration).unwrap();
        }
        db.execute_batch(
            "insert into builds (table_name, started_at_ms, finished_at_ms, outcome, failure_class) values
                 ('s.a', 0, 500, 'succeeded', null),
                 ('s.a', 59000, 121000, 'succeeded', null),
                 ('s.a', 200000, 203000, 'failed', 'sql_error'),
                 ('s.b', 10, 20, 'skipped', 'dependency_failed'),
                 ('s.b', 300000, 301000, 'unchanged', null),
                 ('s.b', 400000, null, 'running', null);",
        )
        .unwrap();
        db.execute_batch(MIGRATIONS[14]).unwrap();
        let rows = |sql: &str| -> Vec<(String, i64, i64)> {
            db.prepare(sql)
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let text = |v: &[(&str, i64, i64)]| -> Vec<(String, i64, i64)> {
            v.iter().map(|(a, b, c)| ((*a).to_owned(), *b, *c)).collect()
        };
        assert_eq!(
            rows(
                "select outcome || ':' || failure_class, builds, 0 from build_counters order by 1"
            ),
            text(&[
                ("failed:sql_error", 1, 0),
                ("skipped:dependency_failed", 1, 0),
                ("succeeded:", 2, 0),
                ("unchanged:", 1, 0)
            ])
        );
        assert_eq!(
            rows(
                "select cast(le_ms as text), builds, total_ms from build_durations where builds > 0"
            ),
            text(&[("1000", 1, 500), ("300000", 1, 62000)])
        );
        assert_eq!(
            rows(
                "select cast(minute_ms as text), builds * 10 + failures, busy_ms from build_minutes order by minute_ms"
            ),
            text(&[
                ("0", 10, 1500),
                ("60000", 0, 60000),
                ("120000", 10, 1000),
                ("180000", 11, 3000)
            ])
        );
    }

    /// Rebuilding `tables` for the `replication` kind keeps every row that references it:
    /// dependencies and force requests.
    #[test]
    fn migration_9_keeps_dependencies_and_force_requests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("duro.db");
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch("pragma foreign_keys = on").unwrap();
        for migration in &MIGRATIONS[..8] {
            db.execute_batch(migration).unwrap();
        }
        db.pragma_update(None, "user_version", 8).unwrap();
        db.execute_batch(
            "insert into tables (name, kind, query, config_json, files_json, definition_file,
                                 dependency_method, first_seen_at_ms, changed_at_ms) values
                 ('s.a', 'view', 'select 1', '{}', '[]', 's/a.sql', 'parsed', 1, 1),
                 ('s.b', 'view', 'select * from s.a', '{}', '[]', 's/b.sql', 'parsed', 1, 1);
             insert into dependencies (table_name, depends_on) values ('s.b', 's.a');
             insert into force_requests (table_name, requested_at_ms, reason) values ('s.b', 5, 'new');
             insert into builds (table_name, started_at_ms, finished_at_ms, outcome)
                 values ('s.a', 1, 2, 'succeeded');",
        )
        .unwrap();
        drop(db);

        let state = StateFile::open(&path).unwrap();
        assert_eq!(state.schema_version().unwrap(), SCHEMA_VERSION as i64);
        assert_eq!(state.table("s.b").unwrap().unwrap().dependencies, ["s.a"]);
        assert_eq!(state.force_requests().unwrap(), [("s.b".to_owned(), "new".to_owned())]);
        let builds: i64 =
            state.connection.query_row("select count(*) from builds", [], |r| r.get(0)).unwrap();
        assert_eq!(builds, 1);
        let violations: i64 = state
            .connection
            .query_row("select count(*) from pragma_foreign_key_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(violations, 0);
    }
}
