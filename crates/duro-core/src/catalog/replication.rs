//! A replication node's definition: which table of which source database is copied into the
//! node's table, how (`timed` by a moving field and merged by key, `identity` by an increasing
//! field and appended, `full`), and how the rows travel. Every value is typed and checked; the
//! loader (`views::replication_file`) makes it from the repository's YAML.

use crate::identifier::TableName;
use serde::{Deserialize, Serialize};

/// How rows are chosen and merged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Rows whose `replication_field` moved past the watermark, merged on `key`.
    Timed,
    /// Rows whose increasing `replication_field` is past the watermark, appended.
    Identity,
    /// Every row, replacing the table.
    Full,
}

/// What happens to rows whose replication field is NULL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Nulls {
    /// Never copied (and counted).
    #[default]
    Skip,
    /// Copied on every run (timed and full only: merged by key, so never duplicated).
    Include,
}

/// How deletions on the source reach the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeleteTracking {
    #[default]
    None,
    /// A queue table filled by a trigger on the source.
    Trigger,
}

/// How rows travel from the source to the warehouse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Files staged in S3, loaded with `COPY` (Redshift's only way).
    S3,
    /// Streamed into `COPY … FROM STDIN` (PostgreSQL targets).
    Direct,
}

/// The staged files' format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileFormat {
    #[serde(rename = "csv")]
    Csv,
    #[default]
    #[serde(rename = "csv.gz")]
    CsvGz,
}

/// How a full copy replaces the table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FullMode {
    /// A new table swapped in, as views are.
    #[default]
    Swap,
    /// Delete every row and insert the new ones in one transaction.
    Reload,
}

/// Which `VACUUM` runs after a load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vacuum {
    #[default]
    None,
    /// Chosen by the table's sort key.
    Auto,
    Full,
    Reindex,
    DeleteOnly,
    SortOnly,
}

/// What runs after a successful load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterLoad {
    pub vacuum: Vacuum,
    /// Unset follows the table's `analyze` key, and analyzes when that is unset too.
    pub analyze: Option<bool>,
}

impl AfterLoad {
    /// Whether the target is analyzed after a load, given its `.conf` settings.
    pub fn analyzes(&self, config: &crate::catalog::TableConfig) -> bool {
        self.analyze.or(config.analyze).unwrap_or(true)
    }
}

/// Options of Redshift's `COPY`, a closed set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyOptions {
    pub max_errors: u32,
    pub truncate_columns: bool,
    pub accept_inv_chars: bool,
    pub empty_as_null: bool,
    pub stat_update: bool,
}

impl Default for CopyOptions {
    fn default() -> Self {
        Self {
            max_errors: 0,
            truncate_columns: true,
            accept_inv_chars: true,
            empty_as_null: false,
            stat_update: true,
        }
    }
}

/// One target column and what fills it on the source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSource {
    /// The target column.
    pub name: String,
    /// A source column or one expression over the source table's columns (checked by
    /// `sql::shape::column_expression`); `None`: the source column of the same name.
    pub source: Option<String>,
}

/// Which columns are copied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Columns {
    /// The target table's columns, in order, each from the source column of its name: columns
    /// the target lacks (a password) are never read.
    #[default]
    FromTarget,
    List(Vec<ColumnSource>),
}

/// A replication node, every default applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationSpec {
    /// A connection of `duro.yaml`'s `connections`.
    pub source: String,
    pub source_table: TableName,
    pub strategy: Strategy,
    /// `updated_at` (timed), `id` (identity); none for full.
    pub replication_field: Option<String>,
    /// The merge key (timed) and the row key of delete tracking.
    pub key: Vec<String>,
    /// Timed: how far before the watermark each run reads again (seconds).
    pub lookback_seconds: u64,
    pub columns: Columns,
    pub nulls: Nulls,
    pub delete_tracking: DeleteTracking,
    /// `None`: `s3` for a Redshift warehouse, `direct` for PostgreSQL.
    pub transport: Option<Transport>,
    pub format: FileFormat,
    /// At most this many files per run.
    pub slices: u32,
    pub copy: CopyOptions,
    pub full_mode: FullMode,
    pub max_retries: u32,
    /// Run records kept for this node.
    pub history: u32,
    pub keep_files: bool,
    pub after_load: AfterLoad,
    /// Explicit upstream nodes, besides what the repository's queries show.
    pub depends_on: Vec<TableName>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::TableConfig;

    /// `after_load.analyze` wins; unset, the `.conf` key `analyze` decides; neither set analyzes.
    #[test]
    fn after_load_analyze_follows_the_conf_key_unless_set() {
        let config = |analyze| TableConfig { analyze, ..TableConfig::default() };
        let after = |analyze| AfterLoad { vacuum: Vacuum::None, analyze };
        let cases = [
            (None, None, true),
            (None, Some(false), false),
            (None, Some(true), true),
            (Some(true), Some(false), true),
            (Some(false), Some(true), false),
            (Some(false), None, false),
        ];
        for (own, key, expected) in cases {
            assert_eq!(after(own).analyzes(&config(key)), expected, "{own:?} with {key:?}");
        }
    }
}
