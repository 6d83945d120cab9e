//! The views repository → a [`Catalog`] and every [`Diagnostic`] found, never stopping at the
//! first problem and never panicking, whatever is in the folder.
//!
//! Steps: list files (`listing`), classify each path (`file_name`), read the files, parse the
//! `.conf` files once each (`conf_file`), group files by table, merge configs (`table_config`),
//! analyze every query in parallel (`crate::sql`), and keep only managed tables as dependencies.

pub mod conf_file;
pub mod file_name;
mod listing;
pub(crate) mod reading;
pub mod replication_file;
pub mod s3_load_file;
pub mod table_config;

use crate::catalog::{Catalog, ProcessorSource, ReplicationSource, Table, TableKind};
use crate::diagnostic::Diagnostic;
use crate::identifier::TableName;
use crate::sql::{self, QueryAnalysis, QueryProblem};
use conf_file::{ConfFile, Setting, parse_conf};
use file_name::{Classified, FileRole, classify};
use rayon::prelude::*;
use reading::RepositoryReader;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// The result of reading a views repository.
#[derive(Debug, Default)]
pub struct LoadedViews {
    pub catalog: Catalog,
    pub diagnostics: Vec<Diagnostic>,
}

/// Why the repository could not be read at all (everything inside it is a diagnostic instead).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("views folder `{}` does not exist or is not a folder", .0.display())]
    Missing(std::path::PathBuf),
    #[error("views folder `{}`: {source}", path.display())]
    Unreadable { path: std::path::PathBuf, source: std::io::Error },
}

/// The files that belong to one table name, as found by classification.
#[derive(Default)]
struct TableFiles {
    definitions: Vec<(String, Option<u32>)>,
    /// `x_select.sql` files whose base table is this one (used only when it is a processor).
    selects: Vec<String>,
    tests: Vec<String>,
    processors: Vec<String>,
    requirements: Vec<String>,
    confs: Vec<String>,
    /// `*.replication.yml` files, with the interval of their names.
    replications: Vec<(String, Option<u32>)>,
    /// `*.ddl.sql` files (a replication node's target).
    target_ddls: Vec<String>,
    /// `*.s3.yml` files, with the interval of their names.
    s3_loads: Vec<(String, Option<u32>)>,
}

/// Config files by where they apply.
#[derive(Default)]
struct ConfIndex {
    global: Option<String>,
    schema: BTreeMap<String, Vec<String>>,
}

/// Reads the repository at `root`, files of at most `max_file_size` bytes. Only a missing or
/// unreadable root is an `Err`; everything inside it becomes a diagnostic.
pub fn load(root: &Path, max_file_size: u64) -> Result<LoadedViews, LoadError> {
    if !root.is_dir() {
        return Err(LoadError::Missing(root.to_owned()));
    }
    let reader = RepositoryReader::new(root, max_file_size)
        .map_err(|source| LoadError::Unreadable { path: root.to_owned(), source })?;
    let (paths, mut diagnostics) = listing::list_files(root);
    let mut by_table: BTreeMap<TableName, TableFiles> = BTreeMap::new();
    let mut confs = ConfIndex::default();
    for path in &paths {
        match classify(path) {
            Classified::Ignored => {}
            Classified::Problem { severity, message } => {
                diagnostics.push(Diagnostic::new(severity, Some(path), message))
            }
            Classified::Role(role) => file_role(&mut by_table, &mut confs, path, role),
        }
    }
    let texts = read_texts(&reader, &by_table, &confs, &mut diagnostics);
    let parsed_confs = parse_confs(&texts, &mut diagnostics);
    let mut builder = Builder {
        texts: &texts,
        confs: &confs,
        parsed_confs: &parsed_confs,
        diagnostics: &mut diagnostics,
    };
    let mut tables = Vec::new();
    let select_tables = selects_used_by_processors(&by_table);
    for (name, files) in &by_table {
        if select_tables.contains(name) {
            continue;
        }
        if let Some(table) = builder.table(name, files) {
            tables.push(table);
        }
    }
    builder.unused_schema_confs(&by_table);
    let analyses: Vec<QueryAnalysis> = tables.par_iter().map(analyze).collect();
    let managed: BTreeSet<String> = tables.iter().map(|t| t.name.to_string()).collect();
    let mut catalog = Catalog::default();
    for (mut table, analysis) in tables.into_iter().zip(analyses) {
        apply_analysis(&mut table, analysis, &managed, &mut diagnostics);
        catalog.tables.insert(table.name.to_string(), table);
    }
    Ok(LoadedViews { catalog, diagnostics })
}

/// What a table reads: its query's references, or an ingest node's `depends_on`.
fn analyze(table: &Table) -> QueryAnalysis {
    match table.kind.declared_dependencies() {
        None => sql::analyze_query(&table.query),
        Some(depends_on) => QueryAnalysis {
            references: depends_on.iter().map(ToString::to_string).collect(),
            method: sql::DependencyMethod::Parsed,
            output: sql::OutputColumns::Unknown,
            problem: None,
            shape: None,
        },
    }
}

fn file_role(
    by_table: &mut BTreeMap<TableName, TableFiles>,
    confs: &mut ConfIndex,
    path: &str,
    role: FileRole,
) {
    let path = path.to_owned();
    match role {
        FileRole::Definition { table, interval_minutes, select_of } => {
            if let Some(base) = select_of {
                by_table.entry(base).or_default().selects.push(path.clone());
            }
            by_table.entry(table).or_default().definitions.push((path, interval_minutes));
        }
        FileRole::Test { table } => by_table.entry(table).or_default().tests.push(path),
        FileRole::Processor { table } => by_table.entry(table).or_default().processors.push(path),
        FileRole::Requirements { table } => {
            by_table.entry(table).or_default().requirements.push(path)
        }
        FileRole::TableConf { table } => by_table.entry(table).or_default().confs.push(path),
        FileRole::Replication { table, interval_minutes } => {
            by_table.entry(table).or_default().replications.push((path, interval_minutes))
        }
        FileRole::TargetDdl { table } => by_table.entry(table).or_default().target_ddls.push(path),
        FileRole::S3Load { table, interval_minutes } => {
            by_table.entry(table).or_default().s3_loads.push((path, interval_minutes))
        }
        FileRole::GlobalConf => confs.global = Some(path),
        FileRole::SchemaConf { schema } => confs.schema.entry(schema).or_default().push(path),
    }
}

/// Names of `x_select` tables whose file is the select of processor `x` (not a table itself).
fn selects_used_by_processors(by_table: &BTreeMap<TableName, TableFiles>) -> BTreeSet<TableName> {
    by_table
        .iter()
        .filter(|(_, files)| !files.processors.is_empty())
        .filter_map(|(name, _)| {
            let select =
                TableName { schema: name.schema.clone(), table: format!("{}_select", name.table) };
            by_table.contains_key(&select).then_some(select)
        })
        .collect()
}

/// Reads every file a table or config needs, in parallel. Unreadable or non-UTF-8 files become
/// errors naming the file (and the line of the first bad byte).
fn read_texts(
    reader: &RepositoryReader,
    by_table: &BTreeMap<TableName, TableFiles>,
    confs: &ConfIndex,
    diagnostics: &mut Vec<Diagnostic>,
) -> HashMap<String, String> {
    let mut wanted: Vec<&String> =
        confs.global.iter().chain(confs.schema.values().flatten()).collect();
    for files in by_table.values() {
        wanted.extend(files.definitions.iter().map(|(path, _)| path));
        wanted.extend(files.replications.iter().chain(&files.s3_loads).map(|(path, _)| path));
        wanted.extend(&files.target_ddls);
        wanted.extend(
            files
                .tests
                .iter()
                .chain(&files.processors)
                .chain(&files.requirements)
                .chain(&files.confs),
        );
    }
    let results: Vec<(String, Result<String, Diagnostic>)> =
        wanted.into_par_iter().map(|path| (path.clone(), read_text(reader, path))).collect();
    let mut texts = HashMap::with_capacity(results.len());
    for (path, result) in results {
        match result {
            Ok(text) => {
                texts.insert(path, text);
            }
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    texts
}

/// A file's text, without a leading byte-order mark (editors on Windows add one).
fn read_text(reader: &RepositoryReader, path: &str) -> Result<String, Diagnostic> {
    let mut bytes = reader.read(path)?;
    if bytes.starts_with(UTF8_BOM) {
        bytes.drain(..UTF8_BOM.len());
    }
    String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        Diagnostic::error(Some(path), "the file is not valid UTF-8; save it as UTF-8").at_line(line)
    })
    .and_then(|text| match text.find('\0') {
        // A NUL byte can never reach the warehouse: every build would fail.
        Some(at) => Err(Diagnostic::error(
            Some(path),
            "the file holds a NUL byte (a binary file, or one saved in UTF-16?); save it as UTF-8 text",
        )
        .at_line(1 + text[..at].matches('\n').count())),
        None => Ok(text),
    })
}

fn parse_confs(
    texts: &HashMap<String, String>,
    diagnostics: &mut Vec<Diagnostic>,
) -> HashMap<String, ConfFile> {
    let mut parsed = HashMap::new();
    for (path, text) in texts.iter().filter(|(path, _)| path.ends_with(".conf")) {
        let conf = parse_conf(text);
        diagnostics.extend(conf.problems.iter().map(|problem| problem.diagnostic(path)));
        parsed.insert(path.clone(), conf);
    }
    parsed
}

const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Turns grouped files into tables, reporting what is missing or duplicated.
struct Builder<'a> {
    texts: &'a HashMap<String, String>,
    confs: &'a ConfIndex,
    parsed_confs: &'a HashMap<String, ConfFile>,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Builder<'_> {
    fn error(&mut self, file: &str, message: String) {
        self.diagnostics.push(Diagnostic::error(Some(file), message));
    }

    fn warning(&mut self, file: &str, message: String) {
        self.diagnostics.push(Diagnostic::warning(Some(file), message));
    }

    /// One file of a kind at most; two are an error naming both.
    fn single<'f>(
        &mut self,
        name: &TableName,
        what: &str,
        files: &'f [String],
    ) -> Option<&'f String> {
        if let [first, second, ..] = files {
            self.error(
                second,
                format!("`{name}` has two {what}: `{first}` and `{second}`; keep one"),
            );
        }
        files.first()
    }

    /// Files of a table that nothing defines: its tests are an error, its configs a warning.
    fn orphans(&mut self, name: &TableName, files: &TableFiles, test: Option<&str>) {
        if let Some(test) = test {
            self.error(
                test,
                format!(
                    "tests for `{name}`, but no table definition (`{}.sql`)",
                    short_path(test, "_test.sql")
                ),
            );
        }
        for conf in &files.confs {
            self.warning(conf, format!("config for `{name}`, which no file defines; ignored"));
        }
        for ddl in &files.target_ddls {
            self.error(
                ddl,
                format!(
                    "the target DDL of a replication node, but there is no `{}.replication.yml`",
                    short_path(ddl, file_name::TARGET_DDL_SUFFIX)
                ),
            );
        }
    }

    /// The one definition file of an ingest node (`nodes`, with their names' intervals), its
    /// text, and its definition parsed by `parse`; a second producer of the table is an error.
    #[allow(clippy::type_complexity)]
    fn ingest_file<T>(
        &mut self,
        name: &TableName,
        files: &TableFiles,
        nodes: &[(String, Option<u32>)],
        what: &str,
        parse: impl FnOnce(&str, Option<u32>) -> Result<T, Vec<replication_file::SpecProblem>>,
    ) -> Option<(String, String, Option<T>)> {
        let paths: Vec<String> = nodes.iter().map(|(path, _)| path.clone()).collect();
        let path = self.single(name, what, &paths).cloned()?;
        let others = files.definitions.iter().chain(&files.replications).chain(&files.s3_loads);
        for other in others.map(|(p, _)| p).chain(&files.processors).filter(|p| !paths.contains(p))
        {
            self.error(
                &path,
                format!("`{name}` is produced by two files: `{other}` and `{path}`; keep one"),
            );
        }
        let file_interval = nodes.first().and_then(|(_, interval)| *interval);
        let text = self.text(&path)?;
        let parsed = match parse(&text, file_interval) {
            Ok(parsed) => Some(parsed),
            Err(problems) => {
                for problem in problems {
                    self.diagnostics.push(
                        Diagnostic::error(Some(&path), problem.message)
                            .at_optional_line(problem.line),
                    );
                }
                None
            }
        };
        Some((path, text, parsed))
    }

    /// The text of a node's tests, and the file they come from.
    fn node_tests(
        &mut self,
        name: &TableName,
        files: &TableFiles,
    ) -> Option<(Option<String>, Option<String>)> {
        let test = self.single(name, "test files", &files.tests).cloned();
        let tests = match &test {
            Some(test) => Some(self.text(test)?),
            None => None,
        };
        Some((test, tests))
    }

    /// An S3 load node: its definition checked, each problem with its file and line.
    fn s3_load_node(&mut self, name: &TableName, files: &TableFiles) -> Option<Table> {
        let (path, text, parsed) =
            self.ingest_file(name, files, &files.s3_loads, "S3 load files", |text, interval| {
                s3_load_file::parse(text, name, interval)
            })?;
        for ddl in &files.target_ddls {
            self.error(
                ddl,
                format!("`{name}` is an S3 load node, whose table comes from its `columns`; remove this file"),
            );
        }
        let (test, tests) = self.node_tests(name, files)?;
        let mut own_files = vec![path.clone()];
        own_files.extend(test);
        let (spec, interval) = parsed?;
        let kind = TableKind::S3Load(Box::new(spec));
        Some(self.assemble(
            name,
            files,
            kind,
            path,
            own_files,
            interval,
            trim_statement(&text),
            tests,
        ))
    }

    /// A replication node: its definition and target DDL checked, each problem with its file
    /// and line (its tests are checked with every table's, in `apply_analysis`).
    fn replication_node(&mut self, name: &TableName, files: &TableFiles) -> Option<Table> {
        let (path, text, parsed) = self.ingest_file(
            name,
            files,
            &files.replications,
            "replication files",
            replication_file::parse,
        )?;
        let mut own_files = vec![path.clone()];
        let mut target_ddl = None;
        if let Some(ddl_file) = self.single(name, "target DDL files", &files.target_ddls).cloned()
            && let Some(ddl) = self.text(&ddl_file)
        {
            let ddl = trim_statement(&ddl);
            self.check_create_table(
                name,
                &ddl_file,
                &ddl,
                &format!("this file must hold the target's `create table {name} (…)` statement"),
            );
            own_files.push(ddl_file);
            target_ddl = Some(ddl);
        }
        let (test, tests) = self.node_tests(name, files)?;
        own_files.extend(test);
        let (spec, interval) = parsed?;
        let kind = TableKind::Replication(Box::new(ReplicationSource { spec, target_ddl }));
        Some(self.assemble(
            name,
            files,
            kind,
            path,
            own_files,
            interval,
            trim_statement(&text),
            tests,
        ))
    }

    fn table(&mut self, name: &TableName, files: &TableFiles) -> Option<Table> {
        if !files.replications.is_empty() {
            return self.replication_node(name, files);
        }
        if !files.s3_loads.is_empty() {
            return self.s3_load_node(name, files);
        }
        let definition_paths: Vec<String> =
            files.definitions.iter().map(|(path, _)| path.clone()).collect();
        let definition = self.single(name, "definitions", &definition_paths).cloned();
        let interval = files.definitions.first().and_then(|(_, interval)| *interval);
        let test = self.single(name, "test files", &files.tests).cloned();
        let processor = self.single(name, "processor scripts", &files.processors).cloned();
        let select = self.single(name, "select files", &files.selects).cloned();
        let requirements = self.single(name, "requirements files", &files.requirements).cloned();
        if let Some(processor) = &processor {
            return self.processor_table(
                name,
                files,
                processor,
                definition,
                interval,
                select,
                test,
                requirements,
            );
        }
        if let Some(requirements) = &requirements {
            self.warning(
                requirements,
                format!("`{name}` has no processor script, so its requirements are unused"),
            );
        }
        let Some(definition) = definition else {
            self.orphans(name, files, test.as_deref());
            return None;
        };
        let query = self.text(&definition)?;
        let query = trim_statement(&query);
        if query.is_empty() {
            self.error(&definition, "the file is empty; write a `select` query".to_owned());
            return None;
        }
        let tests = match &test {
            Some(test) => Some(self.text(test)?),
            None => None,
        };
        let mut own_files = vec![definition.clone()];
        own_files.extend(test.iter().cloned());
        Some(self.assemble(
            name,
            files,
            TableKind::View,
            definition,
            own_files,
            interval,
            query,
            tests,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn processor_table(
        &mut self,
        name: &TableName,
        files: &TableFiles,
        processor: &str,
        ddl_file: Option<String>,
        interval: Option<u32>,
        select: Option<String>,
        test: Option<String>,
        requirements: Option<String>,
    ) -> Option<Table> {
        let base = processor.trim_end_matches(".py");
        let (ddl_file, select) = match (ddl_file, select) {
            (None, None) => {
                self.warning(processor, format!(
                    "not a processor: there is no `{base}_select.sql` and no `{base} — <interval>.sql` with the DDL; ignored"
                ));
                // A helper script never hides files that belong to no table.
                self.orphans(name, files, test.as_deref());
                return None;
            }
            (None, Some(_)) => {
                self.error(processor, format!("processor `{name}` has no CREATE TABLE: add its DDL as `{base} — 1h.sql` (with your interval)"));
                return None;
            }
            (Some(_), None) => {
                self.error(
                    processor,
                    format!("processor `{name}` has no SELECT: add `{base}_select.sql`"),
                );
                return None;
            }
            (Some(ddl_file), Some(select)) => (ddl_file, select),
        };
        let ddl = trim_statement(&self.text(&ddl_file)?);
        self.check_create_table(
            name,
            &ddl_file,
            &ddl,
            &format!("`{name}` has a processor, so this file must hold its `create table {name} (…)` statement"),
        );
        let query = trim_statement(&self.text(&select)?);
        if query.is_empty() {
            self.error(
                &select,
                "the file is empty; write the `select` that feeds the processor".to_owned(),
            );
            return None;
        }
        let tests = match &test {
            Some(test) => Some(self.text(test)?),
            None => None,
        };
        let processor_source = self.text(processor)?;
        let requirements_text = match &requirements {
            Some(path) => Some(self.text(path)?),
            None => None,
        };
        let mut own_files = vec![ddl_file.clone(), select, processor.to_owned()];
        own_files.extend(test.into_iter().chain(requirements));
        let kind = TableKind::Processor(ProcessorSource {
            ddl,
            script: processor_source,
            requirements: requirements_text,
        });
        Some(self.assemble(name, files, kind, ddl_file, own_files, interval, query, tests))
    }

    /// A DDL file (a processor's, a replication target's) must be exactly one `create table` of
    /// the table `name`; `missing` is the error when it creates no table.
    fn check_create_table(&mut self, name: &TableName, ddl_file: &str, ddl: &str, missing: &str) {
        match sql::ddl_table(ddl) {
            None => self.error(ddl_file, missing.to_owned()),
            Some(found) if found.name != name.to_string() => self.error(
                ddl_file,
                format!(
                    "the DDL creates `{}`, but this file defines `{name}`; write `create table {name} (…)`",
                    found.name
                ),
            ),
            Some(_) => {
                if let Err(problem) = sql::one_create_table(ddl) {
                    self.diagnostics.push(shape_error(Some(ddl_file), problem));
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        &mut self,
        name: &TableName,
        files: &TableFiles,
        kind: TableKind,
        definition_file: String,
        mut own_files: Vec<String>,
        interval_minutes: Option<u32>,
        query: String,
        tests: Option<String>,
    ) -> Table {
        let schema = name.schema.as_str();
        // Precedence, lowest first: global, `schema.conf`, `schema/schema.conf`, `schema.table.conf`, `schema/table.conf`.
        let mut layer_files: Vec<&String> = self.confs.global.iter().collect();
        layer_files.extend(self.confs.schema.get(schema).into_iter().flatten());
        layer_files.extend(files.confs.iter());
        let layers: Vec<(&str, &[Setting])> = layer_files
            .iter()
            .filter_map(|path| {
                self.parsed_confs.get(*path).map(|conf| (path.as_str(), conf.settings.as_slice()))
            })
            .collect();
        let config = table_config::merge(layers);
        own_files.extend(files.confs.iter().cloned());
        own_files.sort();
        Table {
            name: name.clone(),
            kind,
            interval_minutes,
            query,
            tests,
            dependencies: Vec::new(),
            sources: Vec::new(),
            dependency_method: sql::DependencyMethod::Parsed,
            config,
            files: own_files,
            definition_file,
            output_columns: sql::OutputColumns::Unknown,
        }
    }

    fn text(&self, path: &str) -> Option<String> {
        self.texts.get(path).cloned()
    }

    fn unused_schema_confs(&mut self, by_table: &BTreeMap<TableName, TableFiles>) {
        let schemas: BTreeSet<&str> = by_table.keys().map(|name| name.schema.as_str()).collect();
        for (schema, paths) in &self.confs.schema {
            if !schemas.contains(schema.as_str()) {
                for path in paths {
                    self.warning(
                        path,
                        format!("config for schema `{schema}`, which has no tables; ignored"),
                    );
                }
            }
        }
    }
}

/// `first/cities_test.sql` with suffix `_test.sql` → `first/cities`.
fn short_path<'a>(path: &'a str, suffix: &str) -> &'a str {
    path.strip_suffix(suffix).unwrap_or(path)
}

/// A statement without trailing whitespace and semicolons (so it can be wrapped in `create table … as`).
fn trim_statement(text: &str) -> String {
    text.trim_end_matches(|c: char| c == ';' || c.is_whitespace()).to_owned()
}

/// An error diagnostic for a statement of the wrong shape, at its line when known.
fn shape_error(file: Option<&str>, problem: sql::ShapeProblem) -> Diagnostic {
    Diagnostic::error(file, problem.message).at_optional_line(problem.line)
}

/// Records what the SQL analysis found: dependencies among managed tables, output columns, problems.
fn apply_analysis(
    table: &mut Table,
    analysis: QueryAnalysis,
    managed: &BTreeSet<String>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let own_name = table.name.to_string();
    let test_file = table.files.iter().find(|f| f.ends_with("_test.sql")).cloned();
    if let Some(tests) = &table.tests {
        for problem in sql::read_only_queries(tests) {
            diagnostics.push(shape_error(test_file.as_deref(), problem));
        }
    }
    if let Some(tests) = &table.tests
        && !sql::token_references(tests).contains(&own_name)
    {
        diagnostics.push(Diagnostic::warning(
            test_file.as_deref(),
            format!(
                "the tests never name `{}` (schema included), so they cannot be pointed at the new version; they would check the live table",
                table.name
            ),
        ));
    }
    let query_file = table
        .files
        .iter()
        .find(|f| f.ends_with("_select.sql"))
        .unwrap_or(&table.definition_file)
        .clone();
    match &analysis.problem {
        Some(QueryProblem::Unparsed(message)) => diagnostics.push(Diagnostic::warning(
            Some(&query_file),
            format!(
                "{message}; dependencies were found by scanning its words instead, and the tables it reads outside the catalog are not listed as sources"
            ),
        )),
        Some(problem) => diagnostics.push(
            Diagnostic::error(Some(&query_file), problem.message())
                .at_optional_line(problem.line()),
        ),
        None => {}
    }
    if let Some(problem) = analysis.shape {
        diagnostics.push(shape_error(Some(&query_file), problem));
    }
    if analysis.references.contains(&own_name) {
        diagnostics.push(Diagnostic::warning(
            Some(&query_file),
            format!("`{}` reads itself; that is not counted as a dependency", table.name),
        ));
    }
    if table.kind.declared_dependencies().is_some() {
        for upstream in analysis.references.iter().filter(|name| !managed.contains(*name)) {
            diagnostics.push(Diagnostic::error(
                Some(&table.definition_file),
                format!("`depends_on` names `{upstream}`, which no file of the repository defines"),
            ));
        }
    }
    if table.config.skip_unchanged == Some(true)
        && table.kind.declared_dependencies().is_none()
        && let Some(function) = sql::volatile_function(&table.query)
    {
        let file = table.config.sources.get("skip_unchanged").cloned();
        diagnostics.push(Diagnostic::warning(
            Some(file.as_deref().unwrap_or(&query_file)),
            format!(
                "`{}` calls `{function}`, so its data changes without its inputs: `skip_unchanged` is not applied to it",
                table.name
            ),
        ));
        table.config.skip_unchanged = Some(false);
    }
    // Sources only from what the parser found: the word scan may take any word for a table.
    if analysis.method == sql::DependencyMethod::Parsed
        && table.kind.declared_dependencies().is_none()
    {
        table.sources = analysis
            .references
            .iter()
            .filter(|name| **name != own_name && !managed.contains(*name))
            .filter(|name| !crate::catalog::is_system_relation(name))
            .cloned()
            .collect();
    }
    table.dependencies = analysis
        .references
        .into_iter()
        .filter(|name| *name != own_name && managed.contains(name))
        .collect();
    table.dependency_method = analysis.method;
    table.output_columns = analysis.output;
}
