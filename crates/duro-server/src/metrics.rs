//! `/metrics` in the Prometheus text format: tables by status, builds by outcome and failure
//! class, and a histogram of successful build durations. The counts and the histogram are the
//! state file's counters (they only grow, whatever retention deletes); a scrape costs the
//! number of tables, not of builds.

use crate::model::TableRow;
use duro_core::build::{BuildOutcome, FailureClass};
use duro_core::state::{BuildCount, DurationBucket};
use duro_core::status::Status;
use std::fmt::Write;

/// Escapes a label value (`\`, `"` and newlines).
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

pub(crate) fn render(
    rows: &[TableRow],
    counts: &[BuildCount],
    buckets: &[DurationBucket],
) -> String {
    let mut out = String::new();
    out.push_str("# HELP duro_tables Tables known to Duro, by status.\n# TYPE duro_tables gauge\n");
    for status in Status::ALL {
        let count = rows.iter().filter(|r| r.status == status).count();
        let _ = writeln!(out, "duro_tables{{status=\"{}\"}} {count}", status.as_str());
    }
    out.push_str("# HELP duro_builds_total Finished build attempts, by outcome.\n# TYPE duro_builds_total counter\n");
    for outcome in BuildOutcome::ALL.iter().copied().filter(|o| *o != BuildOutcome::Running) {
        let total: i64 = counts.iter().filter(|c| c.outcome == outcome).map(|c| c.count).sum();
        let _ = writeln!(out, "duro_builds_total{{outcome=\"{outcome}\"}} {total}");
    }
    out.push_str("# HELP duro_build_failures_total Failed or skipped builds, by failure class.\n# TYPE duro_build_failures_total counter\n");
    for count in counts.iter().filter(|c| c.failure_class.is_some()) {
        let class = count.failure_class.map_or("unknown", FailureClass::as_str);
        let _ = writeln!(
            out,
            "duro_build_failures_total{{class=\"{}\",outcome=\"{}\"}} {}",
            label(class),
            label(count.outcome.as_str()),
            count.count
        );
    }
    out.push_str("# HELP duro_build_duration_seconds Durations of successful builds.\n# TYPE duro_build_duration_seconds histogram\n");
    let mut within = 0;
    for bucket in buckets {
        within += bucket.builds;
        let bound =
            bucket.le_ms.map_or_else(|| "+Inf".to_owned(), |ms| (ms as f64 / 1000.0).to_string());
        let _ = writeln!(out, "duro_build_duration_seconds_bucket{{le=\"{bound}\"}} {within}");
    }
    let sum: i64 = buckets.iter().map(|b| b.total_ms).sum();
    let _ = writeln!(out, "duro_build_duration_seconds_sum {}", sum as f64 / 1000.0);
    let _ = writeln!(out, "duro_build_duration_seconds_count {within}");
    out.push_str("# HELP duro_table_last_build_seconds Duration of each table's last successful build.\n# TYPE duro_table_last_build_seconds gauge\n");
    for row in rows {
        if let Some(ms) = row.last_duration_ms {
            let _ = writeln!(
                out,
                "duro_table_last_build_seconds{{table=\"{}\"}} {}",
                label(&row.name),
                ms as f64 / 1000.0
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let bucket = |le_ms: Option<i64>, builds: i64, total_ms: i64| DurationBucket {
            le_ms,
            builds,
            total_ms,
        };
        let text = render(
            &[],
            &[BuildCount {
                outcome: BuildOutcome::Failed,
                failure_class: Some(FailureClass::SqlError),
                count: 2,
            }],
            &[
                bucket(Some(1_000), 1, 500),
                bucket(Some(5_000), 1, 4_000),
                bucket(Some(300_000), 1, 70_000),
                bucket(None, 0, 0),
            ],
        );
        assert!(text.contains("duro_build_duration_seconds_bucket{le=\"1\"} 1\n"));
        assert!(text.contains("duro_build_duration_seconds_bucket{le=\"5\"} 2\n"));
        assert!(text.contains("duro_build_duration_seconds_bucket{le=\"300\"} 3\n"));
        assert!(text.contains("duro_build_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("duro_build_duration_seconds_sum 74.5\n"));
        assert!(text.contains("duro_builds_total{outcome=\"failed\"} 2\n"));
        assert!(
            text.contains("duro_build_failures_total{class=\"sql_error\",outcome=\"failed\"} 2\n")
        );
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
