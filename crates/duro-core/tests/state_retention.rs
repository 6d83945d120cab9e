//! A bounded history: the counters and per-minute figures every finished build updates, and
//! retention deleting old build records in batches while every summary and counter stays.

use crate::common::{repository, scheduled_state};
use duro_core::build::BuildOutcome;
use duro_core::state::{BuildCount, StateFile};
use duro_core::testing::record_build;

const MINUTE: i64 = 60_000;

fn three_tables() -> tempfile::TempDir {
    repository(&[
        ("s/a-1h.sql", "select 1 as x"),
        ("s/b-1h.sql", "select x from s.a"),
        ("s/c-1h.sql", "select 2 as y"),
    ])
}

/// Builds of `s.a` and `s.b`, one a minute from minute 0 for `minutes`, of varied outcomes and
/// durations (some longer than a minute); `s.c` built twice long ago, failing last.
fn fill(state: &mut StateFile, minutes: i64) {
    for k in 0..minutes {
        let start = k * MINUTE + (k % 5) * 1_000;
        let outcome = match k % 9 {
            0 => BuildOutcome::Failed,
            4 => BuildOutcome::Unchanged,
            _ => BuildOutcome::Succeeded,
        };
        record_build(state, "s.a", start, start + 200 + (k * 7_919) % 200_000, outcome);
        record_build(
            state,
            "s.b",
            start + 500,
            start + 900 + k % 3 * 40_000,
            BuildOutcome::Succeeded,
        );
    }
    record_build(state, "s.c", 10 * MINUTE, 11 * MINUTE, BuildOutcome::Succeeded);
    record_build(state, "s.c", 20 * MINUTE, 21 * MINUTE, BuildOutcome::Failed);
}

/// What `sql` (one row of integers) says about the history.
fn ints(dir: &tempfile::TempDir, sql: &str) -> Vec<i64> {
    let db = rusqlite::Connection::open(dir.path().join("duro.db")).unwrap();
    db.query_row(sql, [], |row| {
        let n = row.as_ref().column_count();
        (0..n).map(|i| row.get::<_, Option<i64>>(i).map(Option::unwrap_or_default)).collect()
    })
    .unwrap()
}

/// The counters equal a recount of the history; the histogram's buckets and sum match the
/// recorded durations; the figures of a window equal the builds that finished in it.
#[test]
fn counters_match_a_recount_of_the_history() {
    let dir = three_tables();
    let mut state = scheduled_state(&dir);
    fill(&mut state, 600);
    let db = rusqlite::Connection::open(dir.path().join("duro.db")).unwrap();
    let mut recount: Vec<BuildCount> = db
        .prepare(
            "select outcome, failure_class, count(*) from builds where outcome != 'running'
             group by 1, 2 order by 1, 2",
        )
        .unwrap()
        .query_map([], |row| {
            Ok(BuildCount { outcome: row.get(0)?, failure_class: row.get(1)?, count: row.get(2)? })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut counted = state.build_counts().unwrap();
    let key = |c: &BuildCount| (c.outcome, c.failure_class);
    recount.sort_by_key(key);
    counted.sort_by_key(key);
    assert_eq!(counted, recount);
    assert_eq!(counted.iter().map(|c| c.count).sum::<i64>(), 1_202);

    let durations: Vec<i64> = db
        .prepare("select finished_at_ms - started_at_ms from builds where outcome = 'succeeded'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let buckets = state.duration_buckets().unwrap();
    let mut below = i64::MIN;
    for bucket in &buckets {
        let bound = bucket.le_ms.unwrap_or(i64::MAX);
        let inside: Vec<i64> =
            durations.iter().copied().filter(|d| *d > below && *d <= bound).collect();
        assert_eq!(bucket.builds, inside.len() as i64, "bucket {bound}");
        assert_eq!(bucket.total_ms, inside.iter().sum::<i64>(), "bucket {bound}");
        below = bound;
    }
    assert_eq!(buckets.iter().map(|b| b.builds).sum::<i64>(), durations.len() as i64);
    assert!(buckets.iter().filter(|b| b.builds > 0).count() >= 4, "{buckets:?}");

    // A period counts the minutes after `from`'s, up to and with `to`'s: here minutes 100 to
    // 299. Its figures are the builds that finished in them, and the busy time clipped to them.
    let (from, to) = (100 * MINUTE - 1, 300 * MINUTE - 1);
    let stats = state.period_stats(from, to).unwrap();
    let (from, to) = (100 * MINUTE, 300 * MINUTE - 1);
    let expected = ints(
        &dir,
        &format!(
            "select count(*), sum(outcome = 'failed') from builds
             where outcome in ('succeeded', 'failed') and finished_at_ms between {from} and {to}"
        ),
    );
    assert_eq!((stats.builds, stats.failures), (expected[0], expected[1]));
    let busy = ints(
        &dir,
        &format!(
            "select sum(min(finished_at_ms, {to} + 1) - max(started_at_ms, {from})) from builds
             where outcome in ('succeeded', 'failed') and finished_at_ms >= {from}
               and started_at_ms <= {to}"
        ),
    );
    assert_eq!(stats.busy_ms, busy[0]);
    assert_eq!(stats.tables_built, 0, "s.a and s.b last changed after the window");
    let all = state.period_stats(0, 1_000 * MINUTE).unwrap();
    assert_eq!(all.tables_built, 3);
    // Consecutive periods count each build once.
    let halves = [
        state.period_stats(0, 250 * MINUTE + 7).unwrap(),
        state.period_stats(250 * MINUTE + 7, 1_000 * MINUTE).unwrap(),
    ];
    let whole = state.period_stats(0, 1_000 * MINUTE).unwrap();
    assert_eq!(halves[0].builds + halves[1].builds, whole.builds);
    assert_eq!(halves[0].busy_ms + halves[1].busy_ms, whole.busy_ms);
}

/// Retention deletes exactly the records older than the cutoff, in batches, and not the
/// records a summary points at; the summaries, counters and the figures of the kept window are
/// unchanged, and the freed pages go back to the file system.
#[test]
fn retention_deletes_exactly_the_old_records() {
    let dir = three_tables();
    let mut state = scheduled_state(&dir);
    assert!(state.frees_pages().unwrap(), "a new state file gives freed pages back");
    fill(&mut state, 2_500);
    let cutoff = 2_000 * MINUTE;
    let overview = state.table_overview(3_000 * MINUTE).unwrap();
    let counts = state.build_counts().unwrap();
    let buckets = state.duration_buckets().unwrap();
    let recent = state.period_stats(cutoff, 3_000 * MINUTE).unwrap();
    let kept_ids = ints(
        &dir,
        &format!(
            "select count(*), sum(id) from builds where started_at_ms >= {cutoff}
                 or id in (select last_finished_build from table_history)
                 or id in (select last_failed_build from table_history)"
        ),
    );
    let old = ints(&dir, &format!("select count(*) from builds where started_at_ms < {cutoff}"))[0];
    let pointed_old = ints(
        &dir,
        &format!(
            "select count(*) from builds where started_at_ms < {cutoff} and (
                 id in (select last_finished_build from table_history)
                 or id in (select last_failed_build from table_history))"
        ),
    )[0];
    assert_eq!(pointed_old, 1, "s.c's last (failed) build is old and pointed at");
    let size_before = std::fs::metadata(dir.path().join("duro.db")).unwrap().len();

    let first = state.delete_builds_before(cutoff, 250).unwrap();
    assert_eq!(first.deleted, 250, "a pass stops at its limit");
    let rest = state.delete_builds_before(cutoff, u64::MAX).unwrap();
    assert_eq!(first.deleted + rest.deleted, (old - pointed_old) as u64);
    assert!(rest.batches > 1, "in batches: {rest:?}");
    assert_eq!(state.delete_builds_before(cutoff, u64::MAX).unwrap().deleted, 0);

    assert_eq!(
        ints(&dir, "select count(*), sum(id) from builds"),
        kept_ids,
        "exactly the new records and the ones a summary points at"
    );
    assert_eq!(state.table_overview(3_000 * MINUTE).unwrap(), overview, "summaries unchanged");
    assert_eq!(state.build_counts().unwrap(), counts, "counters unchanged");
    assert_eq!(state.duration_buckets().unwrap(), buckets, "histogram unchanged");
    assert_eq!(state.period_stats(cutoff, 3_000 * MINUTE).unwrap(), recent);
    assert_eq!(
        ints(&dir, &format!("select count(*) from build_minutes where minute_ms < {cutoff}")),
        [0]
    );
    let size_after = std::fs::metadata(dir.path().join("duro.db")).unwrap().len();
    drop(state);
    // The WAL is folded into the file at the latest when the last connection closes.
    let size_closed = std::fs::metadata(dir.path().join("duro.db")).unwrap().len();
    assert!(
        size_closed < size_before,
        "{size_before} bytes before, {size_after} after, {size_closed} once closed"
    );
}

/// A state file made before Duro freed pages (`auto_vacuum` off) keeps its size until
/// `compact`, which rewrites it once so that it frees pages from then on.
#[test]
fn compact_makes_an_old_file_free_pages() {
    let dir = three_tables();
    let path = dir.path().join("duro.db");
    duro_core::testing::sqlite_without_auto_vacuum(&path);
    let mut state = scheduled_state(&dir);
    assert!(!state.frees_pages().unwrap());
    fill(&mut state, 300);
    state.delete_builds_before(250 * MINUTE, u64::MAX).unwrap();
    let counts = state.build_counts().unwrap();
    state.compact().unwrap();
    assert!(state.frees_pages().unwrap());
    assert_eq!(state.build_counts().unwrap(), counts);
    let free: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("pragma freelist_count", [], |row| row.get(0))
        .unwrap();
    assert_eq!(free, 0);
}
