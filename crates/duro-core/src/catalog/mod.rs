//! The catalog: every table the views repository defines, with everything needed to build it,
//! and its configuration vocabulary (`.conf` keys, the merged config). The loader (`views`)
//! makes it; checks, the graph, the state file and the builders read it.

pub mod conf_keys;
mod table_config;

pub use conf_keys::ConfKey;
pub use table_config::TableConfig;

use crate::sql::{DependencyMethod, OutputColumns};
use serde::Serialize;
use std::collections::BTreeMap;

/// A plain view (`create table … as select`) or a processor table (select → Python → DDL + load).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TableKind {
    View,
    Processor,
}

impl TableKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TableKind::View => "view",
            TableKind::Processor => "processor",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "view" => Some(TableKind::View),
            "processor" => Some(TableKind::Processor),
            _ => None,
        }
    }
}

/// One managed table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Table {
    /// `schema.table`, lower case.
    pub name: String,
    pub kind: TableKind,
    pub interval_minutes: Option<u32>,
    /// The `select` query (for processors, the `_select.sql` text), trailing `;` removed.
    #[serde(skip)]
    pub query: String,
    /// Processors only: the `create table` statement from the interval file.
    #[serde(skip)]
    pub ddl: Option<String>,
    /// The text of `_test.sql`, if any.
    #[serde(skip)]
    pub tests: Option<String>,
    /// Processors only: the Python script's text and the requirements file's text.
    #[serde(skip)]
    pub processor_source: Option<String>,
    #[serde(skip)]
    pub requirements: Option<String>,
    /// Managed tables this one reads, sorted.
    pub dependencies: Vec<String>,
    pub dependency_method: DependencyMethod,
    pub config: TableConfig,
    /// The table's own files (relative to the views folder), sorted; the definition comes first
    /// in `definition_file`.
    pub files: Vec<String>,
    #[serde(skip)]
    pub definition_file: String,
    /// Output columns of the query, for the key checks.
    #[serde(skip)]
    pub output_columns: OutputColumns,
}

/// All tables, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalog {
    pub tables: BTreeMap<String, Table>,
}

impl Catalog {
    pub fn get(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    pub fn len(&self) -> usize {
        self.tables.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}
