//! Every `.conf` key in one table: its name, what it does, and the kinds of table it applies
//! to. Parsing (`conf_file`), merging (`table_config`), the web UI's config panel and the docs
//! all start from here, so a key is added in one place.

/// A `.conf` key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfKey {
    GrantSelect,
    Distkey,
    Sortkey,
    Diststyle,
    SnapshotsInterval,
    SnapshotsStoredFor,
    Timeout,
    ProcessorTimeout,
    ProcessorCsvDelimiter,
    OnUpstreamFailure,
    SkipUnchanged,
    MinRows,
    MaxRowDrop,
    MaxCost,
    Indexes,
    Analyze,
}

/// A kind of table a key can apply to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppliesTo {
    View,
    Processor,
}

/// What one key is.
#[derive(Clone, Copy, Debug)]
pub struct KeyInfo {
    pub key: ConfKey,
    /// As written in a `.conf` file.
    pub name: &'static str,
    pub meaning: &'static str,
    pub applies_to: &'static [AppliesTo],
}

const EVERY_KIND: &[AppliesTo] = &[AppliesTo::View, AppliesTo::Processor];

/// Every key, in the order files and pages list them.
pub const CONF_KEYS: [KeyInfo; 16] = [
    KeyInfo {
        key: ConfKey::GrantSelect,
        name: "grant_select",
        meaning: "users, `group name`s or `public` granted select on the new table",
        applies_to: EVERY_KIND,
    },
    KeyInfo {
        key: ConfKey::Distkey,
        name: "distkey",
        meaning: "Redshift DISTKEY (implies DISTSTYLE KEY)",
        applies_to: EVERY_KIND,
    },
    KeyInfo {
        key: ConfKey::Sortkey,
        name: "sortkey",
        meaning: "Redshift compound SORTKEY",
        applies_to: EVERY_KIND,
    },
    KeyInfo {
        key: ConfKey::Diststyle,
        name: "diststyle",
        meaning: "Redshift DISTSTYLE: auto, even, key or all",
        applies_to: EVERY_KIND,
    },
    KeyInfo {
        key: ConfKey::SnapshotsInterval,
        name: "snapshots_interval",
        meaning: "append a snapshot to table_history this often",
        applies_to: EVERY_KIND,
    },
    KeyInfo {
        key: ConfKey::SnapshotsStoredFor,
        name: "snapshots_stored_for",
        meaning: "delete snapshots older than this",
        applies_to: EVERY_KIND,
    },
    KeyInfo {
        key: ConfKey::Timeout,
        name: "timeout",
        meaning: "limit on each statement of one build",
        applies_to: EVERY_KIND,
    },
    KeyInfo {
        key: ConfKey::ProcessorTimeout,
        name: "processor_timeout",
        meaning: "limit on the processor script",
        applies_to: &[AppliesTo::Processor],
    },
    KeyInfo {
        key: ConfKey::ProcessorCsvDelimiter,
        name: "processor_csv_delimiter",
        meaning: "the delimiter of the CSV files the processor reads and writes: comma, semicolon or tab",
        applies_to: &[AppliesTo::Processor],
    },
    KeyInfo {
        key: ConfKey::OnUpstreamFailure,
        name: "on_upstream_failure",
        meaning: "when a table it reads failed: `skip` this table too, or `build` it from that table's last good version",
        applies_to: EVERY_KIND,
    },
    KeyInfo {
        key: ConfKey::SkipUnchanged,
        name: "skip_unchanged",
        meaning: "`true`: when only its interval passed, not rebuilt while its definition and every table it reads are unchanged since its last build",
        applies_to: EVERY_KIND,
    },
    KeyInfo {
        key: ConfKey::MinRows,
        name: "min_rows",
        meaning: "the new version must have at least this many rows, or the build fails (`validation_failed`) and the live table stays",
        applies_to: EVERY_KIND,
    },
    KeyInfo {
        key: ConfKey::MaxRowDrop,
        name: "max_row_drop",
        meaning: "the new version may have at most this percentage fewer rows than the last built one (`20%`), or the build fails (`validation_failed`); `duro-create --table X --accept-row-drop` lets one through",
        applies_to: EVERY_KIND,
    },
    KeyInfo {
        key: ConfKey::MaxCost,
        name: "max_cost",
        meaning: "the query's plan (`EXPLAIN`) may cost at most this much, or the build fails (`cost_exceeded`) before any table is created; every build's cost is recorded",
        applies_to: EVERY_KIND,
    },
    KeyInfo {
        key: ConfKey::Indexes,
        name: "indexes",
        meaning: "PostgreSQL only: indexes the new table goes live with, `(a), (b, c), unique (d)`, named `<table>_<columns>_idx`",
        applies_to: EVERY_KIND,
    },
    KeyInfo {
        key: ConfKey::Analyze,
        name: "analyze",
        meaning: "`ANALYZE` the new table before it goes live (default `true` on PostgreSQL, `false` on Redshift, whose `create table as` does it); an ingest node's `after_load.analyze` follows it unless set",
        applies_to: EVERY_KIND,
    },
];

impl ConfKey {
    pub fn info(self) -> &'static KeyInfo {
        CONF_KEYS.iter().find(|info| info.key == self).expect("every key is in CONF_KEYS")
    }

    /// As written in a `.conf` file.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn from_name(name: &str) -> Option<ConfKey> {
        CONF_KEYS.iter().find(|info| info.name == name).map(|info| info.key)
    }
}

/// The key names, comma-separated, for messages.
pub fn known_names() -> String {
    CONF_KEYS.iter().map(|info| info.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_once_by_name_and_back() {
        for (position, info) in CONF_KEYS.iter().enumerate() {
            assert_eq!(ConfKey::from_name(info.name), Some(info.key));
            assert_eq!(info.key.name(), info.name);
            assert!(
                CONF_KEYS[..position].iter().all(|other| other.key != info.key),
                "{} twice",
                info.name
            );
        }
        assert_eq!(ConfKey::from_name("grant_selects"), None);
    }
}
