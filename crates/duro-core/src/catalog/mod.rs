//! The catalog: every table the views repository defines, with everything needed to build it,
//! and its configuration vocabulary (`.conf` keys, the merged config). The loader (`views`)
//! makes it; checks, the graph, the state file and the builders read it.

pub mod conf_keys;
pub mod indexes;
pub mod replication;
pub mod s3_load;
mod table_config;

pub use conf_keys::ConfKey;
pub use table_config::{CsvDelimiter, TableConfig, UpstreamFailure};

use crate::identifier::TableName;
use crate::sql::{DependencyMethod, OutputColumns};
use serde::Serialize;
use std::collections::BTreeMap;

/// Which kind a table is, by name: what lists, the state file and `--check --json` show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KindName {
    View,
    Processor,
    Replication,
    S3Load,
}

impl KindName {
    pub fn as_str(self) -> &'static str {
        match self {
            KindName::View => "view",
            KindName::Processor => "processor",
            KindName::Replication => "replication",
            KindName::S3Load => "s3_load",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "view" => Some(KindName::View),
            "processor" => Some(KindName::Processor),
            "replication" => Some(KindName::Replication),
            "s3_load" => Some(KindName::S3Load),
            _ => None,
        }
    }
}

impl std::str::FromStr for KindName {
    type Err = crate::build::UnknownName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        KindName::parse(text)
            .ok_or_else(|| crate::build::UnknownName(text.to_owned(), "kind of table"))
    }
}

/// What a processor table has besides its select.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessorSource {
    /// The `create table` statement from the interval file.
    pub ddl: String,
    /// The Python script's text.
    pub script: String,
    /// The requirements file's text, if there is one.
    pub requirements: Option<String>,
}

/// What a replication node has besides its YAML text (the table's `query`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicationSource {
    pub spec: replication::ReplicationSpec,
    /// The target's `create table`, used when the target does not exist.
    pub target_ddl: Option<String>,
}

/// A plain view (`create table … as select`), a processor table (select → Python → DDL +
/// load), a replication node (a source database's table copied in) or an S3 load node (the
/// newest dated files of a bucket loaded in), each with what only it has. Serialized as its
/// name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableKind {
    View,
    Processor(ProcessorSource),
    Replication(Box<ReplicationSource>),
    S3Load(Box<s3_load::S3LoadSpec>),
}

impl TableKind {
    pub fn name(&self) -> KindName {
        match self {
            TableKind::View => KindName::View,
            TableKind::Processor(_) => KindName::Processor,
            TableKind::Replication(_) => KindName::Replication,
            TableKind::S3Load(_) => KindName::S3Load,
        }
    }

    /// The processor's part, for processor tables.
    pub fn processor(&self) -> Option<&ProcessorSource> {
        match self {
            TableKind::Processor(source) => Some(source),
            _ => None,
        }
    }

    /// The replication node's part, for replication nodes.
    pub fn replication(&self) -> Option<&ReplicationSource> {
        match self {
            TableKind::Replication(source) => Some(source),
            _ => None,
        }
    }

    /// The S3 load node's definition, for S3 load nodes.
    pub fn s3_load(&self) -> Option<&s3_load::S3LoadSpec> {
        match self {
            TableKind::S3Load(spec) => Some(spec),
            _ => None,
        }
    }

    /// Whether Duro builds it from a select of the repository (a view or a processor table),
    /// not by loading data from elsewhere (an ingest node).
    pub fn built_from_select(&self) -> bool {
        matches!(self, TableKind::View | TableKind::Processor(_))
    }

    /// Explicit upstream nodes of an ingest node (`depends_on`); `None` for a table whose
    /// query says what it reads.
    pub fn declared_dependencies(&self) -> Option<&[crate::identifier::TableName]> {
        match self {
            TableKind::Replication(source) => Some(&source.spec.depends_on),
            TableKind::S3Load(spec) => Some(&spec.depends_on),
            TableKind::View | TableKind::Processor(_) => None,
        }
    }
}

impl Serialize for TableKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.name().serialize(serializer)
    }
}

/// One managed table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Table {
    /// `schema.table`, lower case; its parts validated by the loader.
    pub name: TableName,
    pub kind: TableKind,
    pub interval_minutes: Option<u32>,
    /// The `select` query (for processors, the `_select.sql` text; for ingest nodes, the YAML
    /// definition), trailing `;` removed.
    #[serde(skip)]
    pub query: String,
    /// The text of `_test.sql`, if any.
    #[serde(skip)]
    pub tests: Option<String>,
    /// Managed tables this one reads, sorted.
    pub dependencies: Vec<String>,
    /// Tables it reads that no file defines (sources), sorted; only references the parser
    /// found, never system relations.
    #[serde(skip)]
    pub sources: Vec<String>,
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

/// A table catalog tables read but no file defines: raw data Duro never builds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Source {
    /// `schema.table`.
    pub name: String,
    /// The catalog tables that read it, sorted.
    pub read_by: Vec<String>,
}

/// Whether `name` (`schema.table`) is a system relation, never a source: `pg_catalog` and
/// `information_schema`, and Redshift's system tables and views (`stl_`, `stv_`, `svl_`,
/// `svv_`, `sys_`) or PostgreSQL's catalogs (`pg_`) named without their schema.
pub fn is_system_relation(name: &str) -> bool {
    let (schema, table) = name.split_once('.').unwrap_or(("public", name));
    matches!(schema, "pg_catalog" | "information_schema")
        || (schema == "public"
            && ["stl_", "stv_", "svl_", "svv_", "sys_", "pg_"].iter().any(|p| table.starts_with(p)))
}

impl Catalog {
    /// Every source with the tables that read it, sorted by name.
    pub fn sources(&self) -> Vec<Source> {
        let mut sources: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for table in self.tables.values() {
            for source in &table.sources {
                sources.entry(source).or_default().push(table.name.to_string());
            }
        }
        sources
            .into_iter()
            .map(|(name, read_by)| Source { name: name.to_owned(), read_by })
            .collect()
    }

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
