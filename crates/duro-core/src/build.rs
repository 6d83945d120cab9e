//! The vocabulary of a run, for every kind of table: how a build ended ([`BuildOutcome`]), why
//! it failed ([`FailureClass`]), how long each phase took ([`Phases`]), and a table a cycle built
//! ([`BuiltTable`]). Every run of every kind of table is one build record in the state file; the
//! text forms here are the ones the state file, the JSON API and `/metrics` use.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::time::Instant;

/// How a build attempt ended (or that it has not yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildOutcome {
    Running,
    Succeeded,
    /// It ran, or was considered, and there was nothing new (an ingest with no new data, a
    /// table whose inputs did not change).
    Unchanged,
    Failed,
    /// Not attempted: a dependency failed, or the table cannot be built.
    Skipped,
}

/// Why a build failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// The warehouse could not be reached, or the connection was lost.
    Connection,
    SqlError,
    TestFailed,
    Timeout,
    DependencyFailed,
    /// Duro was shutting down, or its creator stopped during the build.
    Cancelled,
    /// A processor script failed, wrote nothing, or its output did not fit the DDL.
    ProcessorFailed,
    /// A setting the user can fix: a bad S3 setting, a missing connection, an unknown OS user.
    Configuration,
    /// A fault of Duro's own: the state file could not be read or written, a stored definition
    /// could not be read back.
    Internal,
    /// A replication run failed as many times as its `max_retries` allows: cancelled, and the
    /// next run starts afresh from the last watermark.
    RetriesExhausted,
    /// The new version broke a row-count rule of the table (`min_rows`, `max_row_drop`); the live
    /// table was kept.
    ValidationFailed,
    /// The query's plan (`EXPLAIN`) cost more than the table's `max_cost`; nothing was created.
    CostExceeded,
}

/// A text that is not one of the names above.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a known {1}")]
pub struct UnknownName(pub String, pub &'static str);

macro_rules! named {
    ($type:ty, $what:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $type {
            /// Every value, in declaration order.
            pub const ALL: &'static [$type] = &[$(<$type>::$variant),+];

            /// The name the state file, the API and `/metrics` use.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(<$type>::$variant => $name),+
                }
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $type {
            type Err = UnknownName;

            fn from_str(text: &str) -> Result<Self, UnknownName> {
                match text {
                    $($name => Ok(<$type>::$variant),)+
                    _ => Err(UnknownName(text.to_owned(), $what)),
                }
            }
        }
    };
}

named!(BuildOutcome, "build outcome", {
    Running => "running",
    Succeeded => "succeeded",
    Unchanged => "unchanged",
    Failed => "failed",
    Skipped => "skipped",
});

named!(FailureClass, "failure class", {
    Connection => "connection",
    SqlError => "sql_error",
    TestFailed => "test_failed",
    Timeout => "timeout",
    DependencyFailed => "dependency_failed",
    Cancelled => "cancelled",
    ProcessorFailed => "processor_failed",
    Configuration => "configuration",
    Internal => "internal",
    RetriesExhausted => "retries_exhausted",
    ValidationFailed => "validation_failed",
    CostExceeded => "cost_exceeded",
});

/// What a build measured on its way: milliseconds spent in each phase, in order, and the
/// plan's cost when it asked for one (`max_cost`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Phases {
    timings: Vec<(&'static str, u64)>,
    plan_cost: Option<f64>,
}

impl Phases {
    /// Runs `work`, recording its duration under `name`.
    pub fn time<T>(&mut self, name: &'static str, work: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let value = work();
        self.timings.push((name, started.elapsed().as_millis() as u64));
        value
    }

    /// The plan's total cost, when the build ran `EXPLAIN`.
    pub fn plan_cost(&self) -> Option<f64> {
        self.plan_cost
    }

    pub fn set_plan_cost(&mut self, cost: f64) {
        self.plan_cost = Some(cost);
    }

    pub fn to_json(&self) -> String {
        let map: serde_json::Map<String, serde_json::Value> =
            self.timings.iter().map(|(name, ms)| ((*name).to_owned(), (*ms).into())).collect();
        serde_json::Value::Object(map).to_string()
    }
}

/// A table a cycle built (or, for an ingest node, found nothing new for).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltTable {
    pub table: String,
    pub rows: i64,
    pub ms: u64,
    /// `succeeded`, or `unchanged`.
    pub outcome: BuildOutcome,
    /// A warning, or why nothing changed.
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for outcome in BuildOutcome::ALL {
            assert_eq!(outcome.as_str().parse::<BuildOutcome>(), Ok(*outcome));
        }
        for class in FailureClass::ALL {
            assert_eq!(class.as_str().parse::<FailureClass>(), Ok(*class));
            let json = serde_json::to_string(class).unwrap();
            assert_eq!(json, format!("\"{class}\""), "serde uses the same names");
        }
        assert_eq!(FailureClass::ALL.len(), 12);
        assert_eq!(
            "exploded".parse::<FailureClass>().unwrap_err().to_string(),
            "`exploded` is not a known failure class"
        );
    }
}
