//! Figures that do not grow with the history (schema 15): counters of finished builds by outcome
//! and failure class, the duration histogram of successful builds, and per-minute figures
//! (builds and failures by the minute they finished in, busy time by the minutes they covered).
//! The transaction that finishes a build updates them, so they only grow, survive retention,
//! and a reader costs what the counters are, not what the history is.

use super::{StateError, StateFile};
use crate::build::{BuildOutcome, FailureClass};
use rusqlite::{OptionalExtension, params};

const MINUTE_MS: i64 = 60_000;

/// The start of the minute `ms` is in.
pub(super) fn minute_of(ms: i64) -> i64 {
    ms.div_euclid(MINUTE_MS) * MINUTE_MS
}

/// Finished builds of one outcome and failure class (`/metrics`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildCount {
    pub outcome: BuildOutcome,
    pub failure_class: Option<FailureClass>,
    pub count: i64,
}

/// One bucket of the duration histogram: the successful builds that took more than the bucket
/// before and at most `le_ms` (`None`: +Inf), and their total duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationBucket {
    pub le_ms: Option<i64>,
    pub builds: i64,
    pub total_ms: i64,
}

/// Build figures over a period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeriodStats {
    /// Distinct tables built successfully.
    pub tables_built: i64,
    /// Finished attempts (skips not counted).
    pub builds: i64,
    pub failures: i64,
    /// Sum of the attempts' durations within the period's minutes.
    pub busy_ms: i64,
}

impl PeriodStats {
    /// The share of a period of `period_ms` spent building, in percent of one builder (more
    /// than 100 with parallel builders), rounded to two decimals.
    pub fn load_percent(&self, period_ms: i64) -> f64 {
        (self.busy_ms as f64 * 10_000.0 / period_ms as f64).round() / 100.0
    }
}

const COUNT: &str = "
    insert into build_counters (outcome, failure_class, builds) values (?1, coalesce(?2, ''), ?3)
    on conflict (outcome, failure_class) do update set builds = builds + excluded.builds";

const COUNT_DURATION: &str = "
    update build_durations set builds = builds + ?2, total_ms = total_ms + ?2 * ?1
    where le_ms = (select min(le_ms) from build_durations where le_ms >= ?1)";

const COUNT_MINUTE: &str = "
    insert into build_minutes (minute_ms, builds, failures, busy_ms) values (?1, ?2, ?3, ?4)
    on conflict (minute_ms) do update set builds = builds + excluded.builds,
        failures = failures + excluded.failures, busy_ms = busy_ms + excluded.busy_ms";

/// Adds build `id`, just finished, to the counters (`sign` 1), or takes it out of them (`sign`
/// -1, before a finished build is finished again). A build still running counts nothing.
pub(super) fn count_build(tx: &rusqlite::Transaction, id: i64, sign: i64) -> rusqlite::Result<()> {
    let build: Option<(BuildOutcome, Option<FailureClass>, i64, Option<i64>)> = tx
        .prepare_cached(
            "select outcome, failure_class, started_at_ms, finished_at_ms from builds where id = ?1",
        )?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .optional()?;
    let Some((outcome, class, started, Some(finished))) = build else {
        return Ok(());
    };
    if outcome == BuildOutcome::Running {
        return Ok(());
    }
    tx.prepare_cached(COUNT)?.execute(params![outcome, class, sign])?;
    if outcome == BuildOutcome::Succeeded {
        tx.prepare_cached(COUNT_DURATION)?.execute(params![finished - started, sign])?;
    }
    if matches!(outcome, BuildOutcome::Succeeded | BuildOutcome::Failed) {
        let failed = i64::from(outcome == BuildOutcome::Failed);
        let mut count = tx.prepare_cached(COUNT_MINUTE)?;
        count.execute(params![minute_of(finished), sign, sign * failed, 0])?;
        let mut minute = minute_of(started);
        while minute < finished {
            let busy = finished.min(minute + MINUTE_MS) - started.max(minute);
            count.execute(params![minute, 0, 0, sign * busy])?;
            minute += MINUTE_MS;
        }
    }
    Ok(())
}

impl StateFile {
    /// Every finished build ever recorded, counted by outcome and failure class.
    pub fn build_counts(&self) -> Result<Vec<BuildCount>, StateError> {
        self.collect(
            "select outcome, nullif(failure_class, ''), builds from build_counters
             order by outcome, failure_class",
            [],
            |row| {
                Ok(BuildCount {
                    outcome: row.get(0)?,
                    failure_class: row.get(1)?,
                    count: row.get(2)?,
                })
            },
        )
    }

    /// The duration histogram of every successful build ever recorded, smallest bucket first.
    pub fn duration_buckets(&self) -> Result<Vec<DurationBucket>, StateError> {
        self.collect(
            "select le_ms, builds, total_ms from build_durations order by le_ms",
            [],
            |row| {
                let le_ms: i64 = row.get(0)?;
                Ok(DurationBucket {
                    le_ms: (le_ms != i64::MAX).then_some(le_ms),
                    builds: row.get(1)?,
                    total_ms: row.get(2)?,
                })
            },
        )
    }

    /// The figures of the builds that finished in `(from_ms, to_ms]`, to the minute: after the
    /// minute of `from_ms`, up to and with the minute of `to_ms`, so that consecutive periods
    /// count each build once. Read from the per-minute figures and the per-table summaries: a
    /// day costs 1,440 rows at most.
    pub fn period_stats(&self, from_ms: i64, to_ms: i64) -> Result<PeriodStats, StateError> {
        let (first, last) = (minute_of(from_ms) + MINUTE_MS, minute_of(to_ms));
        let (builds, failures, busy_ms) = self
            .connection
            .prepare_cached(
                "select coalesce(sum(builds), 0), coalesce(sum(failures), 0),
                        coalesce(sum(busy_ms), 0)
                 from build_minutes where minute_ms between ?1 and ?2",
            )
            .and_then(|mut statement| {
                statement
                    .query_row([first, last], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            })
            .map_err(|e| self.error(e))?;
        let tables_built = self
            .connection
            .prepare_cached(
                "select count(*) from table_history
                 where last_change_finished_ms >= ?1 and last_change_finished_ms < ?2",
            )
            .and_then(|mut statement| {
                statement.query_row([first, last + MINUTE_MS], |row| row.get(0))
            })
            .map_err(|e| self.error(e))?;
        Ok(PeriodStats { tables_built, builds, failures, busy_ms })
    }
}
