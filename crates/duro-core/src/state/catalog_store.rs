//! The catalog in the state file: the scheduler's one-transaction upsert (new and changed tables
//! flagged for a rebuild, removed ones marked deleted, re-added ones restored), processed commits,
//! and typed reads for the other binaries.

use super::builds::REQUEST_FORCE;
use super::names::json_column;
use super::{StateError, StateFile};
use crate::catalog::{
    Catalog, KindName, ProcessorSource, ReplicationSource, Table, TableConfig, TableKind,
};
use crate::plan::PlanTable;
use crate::sql::DependencyMethod;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use std::collections::HashMap;

const INSERT_TABLE: &str = "
    insert into tables (name, kind, query, ddl, processor_source, requirements, interval_minutes,
        config_json, tests, files_json, definition_file, dependency_method, first_seen_at_ms,
        changed_at_ms, spec_json)
    values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14)";

const UPDATE_DEFINITION: &str = "
    update tables set kind = ?2, query = ?3, ddl = ?4, processor_source = ?5, requirements = ?6,
        interval_minutes = ?7, config_json = ?8, changed_at_ms = ?9, deleted_at_ms = null,
        spec_json = ?10
    where name = ?1";

const UPDATE_METADATA: &str = "
    update tables set tests = ?2, files_json = ?3, definition_file = ?4, dependency_method = ?5
    where name = ?1";

const DELETE_DEPENDENCIES: &str = "delete from dependencies where table_name = ?1";

const INSERT_DEPENDENCY: &str = "insert into dependencies (table_name, depends_on) values (?1, ?2)";
const DELETE_SOURCE_READS: &str = "delete from source_reads where table_name = ?1";
const INSERT_SOURCE_READ: &str = "insert into source_reads (table_name, source) values (?1, ?2)";

const MARK_REMOVED: &str = "update tables set deleted_at_ms = ?2 where name = ?1";

const CLEAR_FORCE: &str = "delete from force_requests where table_name = ?1";

const RECORD_COMMIT: &str = "
    insert into commits (hash, duro_version, processed_at_ms) values (?1, ?2, ?3)
    on conflict (hash, duro_version) do update set processed_at_ms = excluded.processed_at_ms";

/// Writes one table's row; returns why it must be rebuilt (`new`, `re-added`, `changed`), if
/// it must.
fn save_table(
    transaction: &rusqlite::Transaction,
    name: &str,
    table: &Table,
    old: Option<&Existing>,
    now_ms: i64,
) -> rusqlite::Result<Option<&'static str>> {
    let definition = definition_of(table);
    let metadata = metadata_of(table);
    let Some(old) = old else {
        transaction.prepare_cached(INSERT_TABLE)?.execute(params![
            name,
            definition.kind,
            definition.query,
            definition.ddl,
            definition.processor_source,
            definition.requirements,
            definition.interval_minutes,
            definition.config_json,
            metadata.tests,
            metadata.files_json,
            metadata.definition_file,
            metadata.dependency_method,
            now_ms,
            definition.spec_json
        ])?;
        return Ok(Some("new"));
    };
    let reason = if old.deleted {
        Some("re-added")
    } else if old.definition != definition {
        Some("changed")
    } else {
        None
    };
    if reason.is_some() {
        transaction.prepare_cached(UPDATE_DEFINITION)?.execute(params![
            name,
            definition.kind,
            definition.query,
            definition.ddl,
            definition.processor_source,
            definition.requirements,
            definition.interval_minutes,
            definition.config_json,
            now_ms,
            definition.spec_json
        ])?;
    }
    if old.metadata != metadata {
        transaction.prepare_cached(UPDATE_METADATA)?.execute(params![
            name,
            metadata.tests,
            metadata.files_json,
            metadata.definition_file,
            metadata.dependency_method
        ])?;
    }
    Ok(reason)
}

/// What a save changed, each list sorted by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CatalogChanges {
    /// Tables never seen before, or re-added after removal.
    pub new: Vec<String>,
    /// Tables whose query, DDL, interval, config or processor changed.
    pub updated: Vec<String>,
    /// Tables no longer in the repository (marked deleted; never dropped in the warehouse).
    pub removed: Vec<String>,
}

impl CatalogChanges {
    pub fn is_empty(&self) -> bool {
        self.new.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }
}

/// A catalog row as stored; its times are Unix ms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTable {
    pub name: String,
    pub kind: TableKind,
    pub query: String,
    pub tests: Option<String>,
    pub interval_minutes: Option<u32>,
    pub config: TableConfig,
    pub files: Vec<String>,
    pub dependencies: Vec<String>,
    pub dependency_method: DependencyMethod,
    pub first_seen_at_ms: i64,
    pub changed_at_ms: i64,
    pub deleted_at_ms: Option<i64>,
}

impl From<&StoredTable> for PlanTable {
    fn from(table: &StoredTable) -> Self {
        PlanTable {
            name: table.name.clone(),
            interval_minutes: table.interval_minutes,
            dependencies: table.dependencies.clone(),
        }
    }
}

impl From<&TableSummary> for PlanTable {
    fn from(table: &TableSummary) -> Self {
        PlanTable {
            name: table.name.clone(),
            interval_minutes: table.interval_minutes,
            dependencies: table.dependencies.clone(),
        }
    }
}

/// A catalog row without its texts: what lists of many tables need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSummary {
    pub name: String,
    pub kind: KindName,
    pub interval_minutes: Option<u32>,
    pub dependencies: Vec<String>,
    /// When the table was removed from the repository (Unix ms).
    pub deleted_at_ms: Option<i64>,
}

const TABLE_COLUMNS: &str =
    "name, kind, query, ddl, tests, interval_minutes, config_json, files_json, dependency_method,
     first_seen_at_ms, changed_at_ms, deleted_at_ms, processor_source, requirements, spec_json";

/// A `TABLE_COLUMNS` row as a `StoredTable`, with its dependencies from `dependencies`.
fn stored_table(
    row: &rusqlite::Row,
    dependencies: &HashMap<String, Vec<String>>,
) -> rusqlite::Result<StoredTable> {
    let name: String = row.get(0)?;
    let kind = match row.get::<_, KindName>(1)? {
        KindName::View => TableKind::View,
        KindName::Processor => TableKind::Processor(ProcessorSource {
            ddl: row.get::<_, Option<String>>(3)?.unwrap_or_default(),
            script: row.get::<_, Option<String>>(12)?.unwrap_or_default(),
            requirements: row.get(13)?,
        }),
        KindName::Replication => TableKind::Replication(Box::new(ReplicationSource {
            spec: json_column(row, 14)?,
            target_ddl: row.get(3)?,
        })),
        KindName::S3Load => TableKind::S3Load(Box::new(json_column(row, 14)?)),
    };
    Ok(StoredTable {
        dependencies: dependencies.get(&name).cloned().unwrap_or_default(),
        name,
        kind,
        query: row.get(2)?,
        tests: row.get(4)?,
        interval_minutes: row.get(5)?,
        config: json_column(row, 6)?,
        files: json_column(row, 7)?,
        dependency_method: row.get(8)?,
        first_seen_at_ms: row.get(9)?,
        changed_at_ms: row.get(10)?,
        deleted_at_ms: row.get(11)?,
    })
}

/// The fields whose change means the table's data changes, so it must be rebuilt.
#[derive(PartialEq, Eq)]
struct Definition {
    kind: String,
    query: String,
    ddl: Option<String>,
    processor_source: Option<String>,
    requirements: Option<String>,
    interval_minutes: Option<u32>,
    config_json: String,
    /// An ingest node's typed definition, as JSON.
    spec_json: Option<String>,
}

/// The fields that may change without a rebuild.
#[derive(PartialEq, Eq)]
struct Metadata {
    tests: Option<String>,
    files_json: String,
    definition_file: String,
    dependency_method: String,
}

struct Existing {
    definition: Definition,
    metadata: Metadata,
    deleted: bool,
}

fn definition_of(table: &Table) -> Definition {
    let processor = table.kind.processor();
    let replication = table.kind.replication();
    Definition {
        kind: table.kind.name().as_str().to_owned(),
        query: table.query.clone(),
        ddl: processor
            .map(|p| p.ddl.clone())
            .or_else(|| replication.and_then(|r| r.target_ddl.clone())),
        processor_source: processor.map(|p| p.script.clone()),
        requirements: processor.and_then(|p| p.requirements.clone()),
        interval_minutes: table.interval_minutes,
        config_json: serde_json::to_string(&table.config).expect("a config always serializes"),
        spec_json: match (replication, table.kind.s3_load()) {
            (Some(r), _) => Some(serde_json::to_string(&r.spec)),
            (None, Some(spec)) => Some(serde_json::to_string(spec)),
            (None, None) => None,
        }
        .map(|json| json.expect("a specification always serializes")),
    }
}

fn metadata_of(table: &Table) -> Metadata {
    Metadata {
        tests: table.tests.clone(),
        files_json: serde_json::to_string(&table.files)
            .expect("a list of strings always serializes"),
        definition_file: table.definition_file.clone(),
        dependency_method: table.dependency_method.as_str().to_owned(),
    }
}

impl StateFile {
    /// Whether `commit` is the last commit processed by this version of Duro.
    pub fn is_last_processed_commit(&self, commit: &str) -> Result<bool, StateError> {
        let last: Option<(String, String)> = self
            .connection
            .query_row(
                "select hash, duro_version from commits order by processed_at_ms desc, rowid desc limit 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|e| self.error(e))?;
        Ok(last
            .is_some_and(|(hash, version)| hash == commit && version == env!("CARGO_PKG_VERSION")))
    }

    /// Writes the catalog in one `BEGIN IMMEDIATE` transaction and records `commit` as
    /// processed, at `now_ms` (Unix ms).
    pub fn save_catalog(
        &mut self,
        catalog: &Catalog,
        commit: Option<&str>,
        now_ms: i64,
    ) -> Result<CatalogChanges, StateError> {
        self.write(|transaction| {
            let existing = read_existing(transaction)?;
            let stored_dependencies = read_dependencies(transaction)?;
            let stored_sources = read_edges(transaction, READ_SOURCE_READS)?;
            let mut changes = CatalogChanges::default();
            for (name, table) in &catalog.tables {
                let reason = save_table(transaction, name, table, existing.get(name), now_ms)?;
                match reason {
                    Some("changed") => changes.updated.push(name.clone()),
                    Some(_) => changes.new.push(name.clone()),
                    None => {}
                }
                if let Some(reason) = reason {
                    transaction
                        .prepare_cached(REQUEST_FORCE)?
                        .execute(params![name, now_ms, reason])?;
                }
                let stored = stored_dependencies.get(name).map(Vec::as_slice).unwrap_or_default();
                if stored != table.dependencies.as_slice() {
                    transaction.prepare_cached(DELETE_DEPENDENCIES)?.execute([name])?;
                    let mut insert = transaction.prepare_cached(INSERT_DEPENDENCY)?;
                    for dependency in &table.dependencies {
                        insert.execute([name, dependency])?;
                    }
                }
                let stored = stored_sources.get(name).map(Vec::as_slice).unwrap_or_default();
                if stored != table.sources.as_slice() {
                    transaction.prepare_cached(DELETE_SOURCE_READS)?.execute([name])?;
                    let mut insert = transaction.prepare_cached(INSERT_SOURCE_READ)?;
                    for source in &table.sources {
                        insert.execute([name, source])?;
                    }
                }
            }
            for (name, old) in &existing {
                if !old.deleted && !catalog.tables.contains_key(name) {
                    transaction.prepare_cached(MARK_REMOVED)?.execute(params![name, now_ms])?;
                    transaction.prepare_cached(CLEAR_FORCE)?.execute([name])?;
                    transaction.prepare_cached(DELETE_DEPENDENCIES)?.execute([name])?;
                    transaction.prepare_cached(DELETE_SOURCE_READS)?.execute([name])?;
                    changes.removed.push(name.clone());
                }
            }
            if let Some(commit) = commit {
                let version = env!("CARGO_PKG_VERSION");
                transaction.execute(RECORD_COMMIT, params![commit, version, now_ms])?;
            }
            changes.removed.sort();
            Ok(changes)
        })
    }

    /// The tables of the catalog in force (not removed), sorted by name.
    pub fn active_tables(&self) -> Result<Vec<StoredTable>, StateError> {
        self.tables(false)
    }

    /// Every table ever seen, removed ones too, sorted by name.
    pub fn all_tables(&self) -> Result<Vec<StoredTable>, StateError> {
        self.tables(true)
    }

    fn tables(&self, include_deleted: bool) -> Result<Vec<StoredTable>, StateError> {
        let dependencies = read_dependencies(&self.connection).map_err(|e| self.error(e))?;
        self.collect(
            &format!(
                "select {TABLE_COLUMNS} from tables where ?1 or deleted_at_ms is null order by name"
            ),
            [include_deleted],
            |row| stored_table(row, &dependencies),
        )
    }

    /// One catalog row (deleted or not), or `None` when the table was never seen.
    pub fn table(&self, name: &str) -> Result<Option<StoredTable>, StateError> {
        let dependencies: HashMap<String, Vec<String>> = HashMap::from([(
            name.to_owned(),
            self.collect(
                "select depends_on from dependencies where table_name = ?1 order by depends_on",
                [name],
                |row| row.get(0),
            )?,
        )]);
        let mut found: Vec<StoredTable> = self.collect(
            &format!("select {TABLE_COLUMNS} from tables where name = ?1"),
            [name],
            |row| stored_table(row, &dependencies),
        )?;
        Ok(found.pop())
    }

    /// Pending force requests as (table, reason), sorted by table.
    pub fn force_requests(&self) -> Result<Vec<(String, String)>, StateError> {
        self.collect(
            "select table_name, reason from force_requests order by table_name",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
    }
}

fn read_existing(connection: &rusqlite::Connection) -> rusqlite::Result<HashMap<String, Existing>> {
    let mut statement = connection.prepare(
        "select name, kind, query, ddl, processor_source, requirements, interval_minutes, config_json,
                tests, files_json, definition_file, dependency_method, deleted_at_ms, spec_json
         from tables",
    )?;
    let rows = statement.query_map([], |row| {
        let deleted_at_ms: Option<i64> = row.get(12)?;
        Ok((
            row.get::<_, String>(0)?,
            Existing {
                definition: Definition {
                    kind: row.get(1)?,
                    query: row.get(2)?,
                    ddl: row.get(3)?,
                    processor_source: row.get(4)?,
                    requirements: row.get(5)?,
                    interval_minutes: row.get(6)?,
                    config_json: row.get(7)?,
                    spec_json: row.get(13)?,
                },
                metadata: Metadata {
                    tests: row.get(8)?,
                    files_json: row.get(9)?,
                    definition_file: row.get(10)?,
                    dependency_method: row.get(11)?,
                },
                deleted: deleted_at_ms.is_some(),
            },
        ))
    })?;
    rows.collect()
}

fn read_dependencies(
    connection: &rusqlite::Connection,
) -> rusqlite::Result<HashMap<String, Vec<String>>> {
    read_edges(
        connection,
        "select table_name, depends_on from dependencies order by table_name, depends_on",
    )
}

/// The sources each table reads.
const READ_SOURCE_READS: &str =
    "select table_name, source from source_reads order by table_name, source";

/// `(from, to)` rows of `sql` as each `from`'s list of `to`s.
fn read_edges(
    connection: &rusqlite::Connection,
    sql: &str,
) -> rusqlite::Result<HashMap<String, Vec<String>>> {
    let mut statement = connection.prepare(sql)?;
    let mut rows = statement.query([])?;
    let mut edges: HashMap<String, Vec<String>> = HashMap::new();
    while let Some(row) = rows.next()? {
        edges.entry(row.get(0)?).or_default().push(row.get(1)?);
    }
    Ok(edges)
}

impl StateFile {
    /// The sources of the catalog in force, each with the tables that read it, sorted.
    pub fn sources(&self) -> Result<Vec<crate::catalog::Source>, StateError> {
        let rows: Vec<(String, String)> = self.collect(
            "select r.source, r.table_name from source_reads r join tables t on t.name = r.table_name
             where t.deleted_at_ms is null order by r.source, r.table_name",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        let mut sources: Vec<crate::catalog::Source> = Vec::new();
        for (source, table) in rows {
            match sources.last_mut() {
                Some(last) if last.name == source => last.read_by.push(table),
                _ => sources.push(crate::catalog::Source { name: source, read_by: vec![table] }),
            }
        }
        Ok(sources)
    }
}
