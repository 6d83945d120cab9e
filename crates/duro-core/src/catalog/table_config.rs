//! A table's effective config: the values of its `.conf` keys after merging, with the file each
//! value came from.

use super::conf_keys::{CONF_KEYS, ConfKey};
use super::indexes::{IndexSpec, format_indexes};
use crate::config::Dialect;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The merged config of one table. Serialized into the catalog and the state file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TableConfig {
    pub grant_select: Vec<String>,
    pub distkey: Option<String>,
    pub sortkey: Vec<String>,
    pub diststyle: Option<String>,
    pub snapshots_interval_minutes: Option<u32>,
    pub snapshots_stored_for_minutes: Option<u32>,
    pub timeout_seconds: Option<u64>,
    pub processor_timeout_seconds: Option<u64>,
    /// Unset means [`UpstreamFailure::Skip`]; left out of the stored JSON when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_upstream_failure: Option<UpstreamFailure>,
    /// Unset means [`CsvDelimiter::Comma`]; left out of the stored JSON when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processor_csv_delimiter: Option<CsvDelimiter>,
    /// `true`: not rebuilt for its interval alone while nothing it depends on changed. Left out
    /// of the stored JSON when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_unchanged: Option<bool>,
    /// The fewest rows a new version may have. Left out of the stored JSON when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_rows: Option<u64>,
    /// The largest drop in rows from the last built version, in percent. Left out of the
    /// stored JSON when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_row_drop_percent: Option<u8>,
    /// The largest plan cost (`EXPLAIN`) a build may start with. Left out of the stored JSON
    /// when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_cost: Option<u64>,
    /// The indexes of the new table (PostgreSQL). Left out of the stored JSON when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<IndexSpec>,
    /// Whether the new table is analyzed before it goes live; unset means the dialect's
    /// default ([`TableConfig::analyzes`]). Left out of the stored JSON when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analyze: Option<bool>,
    /// For every key set by some file: the last file (relative path) that set or changed it.
    pub sources: BTreeMap<String, String>,
}

/// What a build does when a table it reads failed in the same cycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamFailure {
    /// Skip it too (`dependency_failed`), as every cycle until the failure is fixed.
    #[default]
    Skip,
    /// Build it anyway, reading the failed table's last good version (the original Duro's way).
    Build,
}

impl UpstreamFailure {
    pub const ALL: [UpstreamFailure; 2] = [UpstreamFailure::Skip, UpstreamFailure::Build];

    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamFailure::Skip => "skip",
            UpstreamFailure::Build => "build",
        }
    }
}

/// The field delimiter of the CSV files a processor reads and writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CsvDelimiter {
    #[default]
    Comma,
    Semicolon,
    Tab,
}

impl CsvDelimiter {
    pub const ALL: [CsvDelimiter; 3] =
        [CsvDelimiter::Comma, CsvDelimiter::Semicolon, CsvDelimiter::Tab];

    /// As written in a `.conf` file.
    pub fn as_str(self) -> &'static str {
        match self {
            CsvDelimiter::Comma => "comma",
            CsvDelimiter::Semicolon => "semicolon",
            CsvDelimiter::Tab => "tab",
        }
    }

    /// The character itself.
    pub fn byte(self) -> u8 {
        match self {
            CsvDelimiter::Comma => b',',
            CsvDelimiter::Semicolon => b';',
            CsvDelimiter::Tab => b'\t',
        }
    }
}

impl TableConfig {
    /// The upstream-failure policy in force.
    pub fn upstream_failure(&self) -> UpstreamFailure {
        self.on_upstream_failure.unwrap_or_default()
    }

    /// Whether a new version is analyzed before it goes live: `analyze`, by default on
    /// PostgreSQL only (Redshift's `create table as` analyzes the table itself).
    pub fn analyzes(&self, dialect: Dialect) -> bool {
        self.analyze.unwrap_or(dialect == Dialect::Postgres)
    }

    /// Every key's effective value as text (`None` when unset), in `CONF_KEYS` order, for
    /// display.
    pub fn entries(&self) -> Vec<(ConfKey, Option<String>)> {
        let minutes = |m: Option<u32>| m.map(crate::interval::format_minutes);
        let seconds = |s: Option<u64>| s.map(|s| format!("{s}s"));
        let join = |values: &[String]| (!values.is_empty()).then(|| values.join(", "));
        CONF_KEYS
            .iter()
            .map(|info| {
                let value = match info.key {
                    ConfKey::GrantSelect => join(&self.grant_select),
                    ConfKey::Distkey => self.distkey.clone(),
                    ConfKey::Sortkey => join(&self.sortkey),
                    ConfKey::Diststyle => self.diststyle.clone(),
                    ConfKey::SnapshotsInterval => minutes(self.snapshots_interval_minutes),
                    ConfKey::SnapshotsStoredFor => minutes(self.snapshots_stored_for_minutes),
                    ConfKey::Timeout => seconds(self.timeout_seconds),
                    ConfKey::ProcessorTimeout => seconds(self.processor_timeout_seconds),
                    ConfKey::OnUpstreamFailure => {
                        self.on_upstream_failure.map(|policy| policy.as_str().to_owned())
                    }
                    ConfKey::ProcessorCsvDelimiter => {
                        self.processor_csv_delimiter.map(|d| d.as_str().to_owned())
                    }
                    ConfKey::SkipUnchanged => self.skip_unchanged.map(|on| on.to_string()),
                    ConfKey::MinRows => self.min_rows.map(|n| n.to_string()),
                    ConfKey::MaxRowDrop => self.max_row_drop_percent.map(|p| format!("{p}%")),
                    ConfKey::MaxCost => self.max_cost.map(|cost| cost.to_string()),
                    ConfKey::Indexes => {
                        (!self.indexes.is_empty()).then(|| format_indexes(&self.indexes))
                    }
                    ConfKey::Analyze => self.analyze.map(|on| on.to_string()),
                };
                (info.key, value)
            })
            .collect()
    }
}
