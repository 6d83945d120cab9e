//! `/metrics` in the Prometheus text format: tables by status, builds by outcome and failure
//! class, and a histogram of successful build durations.

use crate::model::TableRow;
use duro_core::build::{BuildOutcome, FailureClass};
use duro_core::state::BuildCount;
use duro_core::status::Status;
use std::fmt::Write;

/// Histogram bucket bounds, in seconds.
const BUCKETS: [f64; 9] = [1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0];

/// Escapes a label value (`\`, `"` and newlines).
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

pub(crate) fn render(rows: &[TableRow], counts: &[BuildCount], durations_ms: &[i64]) -> String {
    let mut out = String::new();
    out.push_str("# HELP duro_tables Tables known to Duro, by status.\n# TYPE duro_tables gauge\n");
    for status in Status::ALL {
        let count = rows.iter().filter(|r| r.status == status).count();
        let _ = writeln!(out, "duro_tables{{status=\"{}\"}} {count}", status.as_str());
    }
    out.push_str("# HELP duro_builds_total Finished build attempts, by outcome.\n# TYPE duro_builds_total counter\n");
    for outcome in [BuildOutcome::Succeeded, BuildOutcome::Failed, BuildOutcome::Skipped] {
        let total: i64 = counts.iter().filter(|c| c.outcome == outcome).map(|c| c.count).sum();
        let _ = writeln!(out, "duro_builds_total{{outcome=\"{outcome}\"}} {total}");
    }
    out.push_str("# HELP duro_build_failures_total Failed or skipped builds, by failure class.\n# TYPE duro_build_failures_total counter\n");
    for count in counts.iter().filter(|c| c.outcome != BuildOutcome::Succeeded) {
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
    for bound in BUCKETS {
        let within = durations_ms.iter().filter(|ms| (**ms as f64) / 1000.0 <= bound).count();
        let _ = writeln!(out, "duro_build_duration_seconds_bucket{{le=\"{bound}\"}} {within}");
    }
    let _ =
        writeln!(out, "duro_build_duration_seconds_bucket{{le=\"+Inf\"}} {}", durations_ms.len());
    let sum: i64 = durations_ms.iter().sum();
    let _ = writeln!(out, "duro_build_duration_seconds_sum {}", sum as f64 / 1000.0);
    let _ = writeln!(out, "duro_build_duration_seconds_count {}", durations_ms.len());
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
        let text = render(
            &[],
            &[BuildCount {
                outcome: BuildOutcome::Failed,
                failure_class: Some(FailureClass::SqlError),
                count: 2,
            }],
            &[500, 4_000, 70_000],
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
