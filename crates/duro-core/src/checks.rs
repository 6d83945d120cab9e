//! Checks over the whole catalog, all collected: cycles, root groups without an interval,
//! `distkey`/`sortkey` not among the output columns, contradictory distribution settings, and
//! names too long for the temporary tables of the warehouse's dialect, replication nodes
//! whose transport the dialect cannot load, and S3 load nodes reading a store the operator does
//! not allow or the warehouse cannot reach, `indexes` where there are none, and index names that
//! two tables would both claim.

use crate::catalog::replication::Transport;
use crate::catalog::s3_load::LoadStores;
use crate::catalog::{Catalog, KindName, Table, TableKind};
use crate::config::Dialect;
use crate::diagnostic::Diagnostic;
use crate::graph::DependencyGraph;
use crate::sql::ddl_table;
use crate::warehouse::indexes::index_name;
use std::collections::BTreeMap;

/// The longest suffix Duro appends to a table name (`_duro_temp`, `_duro_old`, `_history`).
pub const LONGEST_SUFFIX: &str = "_duro_temp";

/// Runs every check for a warehouse of `dialect`, S3 load nodes allowed `stores`. With `strict`,
/// cycles are errors; otherwise warnings.
pub fn check(
    catalog: &Catalog,
    graph: &DependencyGraph,
    strict: bool,
    dialect: Dialect,
    stores: &LoadStores,
) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    check_cycles(catalog, graph, strict, &mut diagnostics);
    check_intervals(catalog, graph, &mut diagnostics);
    if dialect == Dialect::Postgres {
        check_index_names(catalog, &mut diagnostics);
    }
    for table in catalog.tables.values() {
        check_keys(table, &mut diagnostics);
        check_name_length(table, dialect, &mut diagnostics);
        check_transport(table, dialect, &mut diagnostics);
        check_load_store(table, dialect, stores, &mut diagnostics);
        check_build_keys(table, dialect, &mut diagnostics);
    }
    diagnostics
}

fn definition_file<'a>(catalog: &'a Catalog, name: &str) -> Option<&'a str> {
    catalog.get(name).map(|t| t.definition_file.as_str())
}

fn check_cycles(
    catalog: &Catalog,
    graph: &DependencyGraph,
    strict: bool,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for members in graph.cycles() {
        let path = graph.cycle_path(&members[0]).unwrap_or_else(|| members.clone());
        let message = format!(
            "dependency cycle between {} tables: {} (tables {}); {}",
            members.len(),
            path.join(" → "),
            members.join(", "),
            if strict {
                "break the cycle"
            } else {
                "they are built in name order; use --strict to make this an error"
            }
        );
        let file = definition_file(catalog, &members[0]);
        diagnostics.push(if strict {
            Diagnostic::error(file, message)
        } else {
            Diagnostic::warning(file, message)
        });
    }
}

fn check_intervals(catalog: &Catalog, graph: &DependencyGraph, diagnostics: &mut Vec<Diagnostic>) {
    for group in graph.root_groups() {
        if group.iter().any(|name| catalog.get(name).is_some_and(|t| t.interval_minutes.is_some()))
        {
            continue;
        }
        let file = definition_file(catalog, &group[0]);
        let message = match group.as_slice() {
            [name] => {
                let short = catalog.get(name).map_or(name.as_str(), |t| t.name.table.as_str());
                format!(
                    "`{name}` has no interval and no table reads it, so it would never be refreshed: add one to its file name, like `{short} — 24h.sql`"
                )
            }
            members => format!(
                "tables {} read each other in a cycle that no other table reads, and none has an interval: add one to a file name",
                members.join(", ")
            ),
        };
        diagnostics.push(Diagnostic::error(file, message));
    }
}

/// Redshift has no `COPY … FROM STDIN`: a replication node into it travels through S3.
fn check_transport(table: &Table, dialect: Dialect, diagnostics: &mut Vec<Diagnostic>) {
    if let Some(source) = table.kind.replication()
        && dialect == Dialect::Redshift
        && source.spec.transport == Some(Transport::Direct)
    {
        diagnostics.push(Diagnostic::error(
            Some(&table.definition_file),
            format!(
                "`{}` has `transport: direct`, which a Redshift warehouse cannot load (it has no `COPY … FROM STDIN`); use `transport: s3` or leave `transport` out",
                table.name
            ),
        ));
    }
}

/// An S3 load node reads only a store the operator allows, and one its warehouse can reach.
fn check_load_store(
    table: &Table,
    dialect: Dialect,
    stores: &LoadStores,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let Some(spec) = table.kind.s3_load() else {
        return;
    };
    let at_key = |key: &str, message: String| {
        Diagnostic::error(Some(&table.definition_file), format!("`{key}`: {message}"))
            .at_optional_line(crate::views::replication_file::key_line(&table.query, key))
    };
    if let Err(message) = stores.check(&spec.location, dialect == Dialect::Redshift) {
        diagnostics.push(at_key("bucket", message));
    }
    if dialect == Dialect::Postgres && spec.copy.max_errors > 0 {
        diagnostics.push(at_key(
            "copy",
            format!(
                "`max_errors: {}` is Redshift's: PostgreSQL loads every row or none; set it to 0",
                spec.copy.max_errors
            ),
        ));
    }
}

/// `indexes` needs PostgreSQL (Redshift has no indexes); `indexes` and `max_cost` apply to the
/// tables Duro builds from a select (views and processor tables), not to ingest nodes.
fn check_build_keys(table: &Table, dialect: Dialect, diagnostics: &mut Vec<Diagnostic>) {
    let config = &table.config;
    let source = |key: &str| set_in(table, key);
    let built_from_select = table.kind.built_from_select();
    if !config.indexes.is_empty() && dialect == Dialect::Redshift && built_from_select {
        diagnostics.push(Diagnostic::error(
            Some(source("indexes")),
            format!(
                "`{}` sets `indexes`, but Redshift has no indexes; remove the key (use `sortkey` and `distkey`)",
                table.name
            ),
        ));
    }
    for (key, set) in
        [("indexes", !config.indexes.is_empty()), ("max_cost", config.max_cost.is_some())]
    {
        if set && !built_from_select {
            diagnostics.push(Diagnostic::warning(
                Some(source(key)),
                format!(
                    "`{key}` applies to views and processor tables; it is ignored for `{}`, a {} node",
                    table.name,
                    table.kind.name().as_str()
                ),
            ));
        }
    }
}

/// PostgreSQL keeps the names of tables and indexes in one namespace per schema: two tables'
/// `indexes` may not produce the same index name (`orders` with `(customer_id)` and
/// `orders_customer` with `(id)`), nor an index name that of a table, or every swap of the
/// second would fail.
fn check_index_names(catalog: &Catalog, diagnostics: &mut Vec<Diagnostic>) {
    let mut claimed: BTreeMap<(&str, String), &str> = catalog
        .tables
        .values()
        .map(|table| {
            ((table.name.schema.as_str(), table.name.table.clone()), table.name.table.as_str())
        })
        .collect();
    for table in catalog.tables.values() {
        if !table.kind.built_from_select() {
            continue;
        }
        for index in &table.config.indexes {
            for temporary in [false, true] {
                let name = index_name(&table.name.table, index, temporary);
                let key = (table.name.schema.as_str(), name.clone());
                match claimed.get(&key) {
                    Some(owner) if *owner != table.name.table => {
                        diagnostics.push(Diagnostic::error(
                            Some(set_in(table, "indexes")),
                            format!(
                                "index `{index}` of `{}` would be named `{name}`, which `{}.{owner}` already uses (PostgreSQL keeps table and index names in one namespace per schema); leave the index out or index other columns",
                                table.name, table.name.schema
                            ),
                        ));
                        // One problem per index: its temporary name collides the same way.
                        break;
                    }
                    Some(_) => {}
                    None => {
                        claimed.insert(key, table.name.table.as_str());
                    }
                }
            }
        }
    }
}

/// The file that set `key` for `table` (the last `.conf` layer with it), or its definition.
fn set_in<'a>(table: &'a Table, key: &str) -> &'a str {
    table.config.sources.get(key).map(String::as_str).unwrap_or(&table.definition_file)
}

fn check_keys(table: &Table, diagnostics: &mut Vec<Diagnostic>) {
    let config = &table.config;
    let source = |key: &str| set_in(table, key);
    let ddl_text = match &table.kind {
        TableKind::View => None,
        TableKind::Processor(source) => Some(&source.ddl),
        TableKind::Replication(source) => source.target_ddl.as_ref(),
        TableKind::S3Load(_) => None,
    };
    let ddl = ddl_text.and_then(|text| ddl_table(text));
    let configures_distribution =
        config.distkey.is_some() || config.diststyle.is_some() || !config.sortkey.is_empty();
    if configures_distribution && ddl.as_ref().is_some_and(|d| d.declares_distribution) {
        diagnostics.push(Diagnostic::error(
            Some(&table.definition_file),
            format!(
                "`{}` sets diststyle/distkey/sortkey both in its CREATE TABLE and in `.conf`; keep them in one place",
                table.name
            ),
        ));
    }
    let declared = table.kind.s3_load().filter(|spec| !spec.columns.is_empty());
    if configures_distribution
        && declared
            .is_some_and(|spec| spec.columns.iter().any(|c| c.distkey || c.sortkey.is_some()))
    {
        diagnostics.push(Diagnostic::error(
            Some(&table.definition_file),
            format!(
                "`{}` sets distkey/sortkey both in its `columns` and in `.conf`; keep them in one place",
                table.name
            ),
        ));
    }
    let ddl_columns = ddl
        .map(|ddl| ddl.columns)
        .or_else(|| declared.map(|spec| spec.columns.iter().map(|c| c.name.clone()).collect()));
    let has_column = |column: &str| match &ddl_columns {
        Some(columns) => columns.iter().any(|c| c == column),
        // A replication target without a DDL file exists in the warehouse: not known here.
        None => table.kind.name() != KindName::View || table.output_columns.may_contain(column),
    };
    let what = match table.kind {
        TableKind::Processor(_) => "columns of its CREATE TABLE",
        TableKind::Replication(_) => "columns of its target DDL",
        TableKind::View => "output columns of its query",
        TableKind::S3Load(_) => "its declared `columns`",
    };
    let keys = config
        .distkey
        .iter()
        .map(|k| ("distkey", k))
        .chain(config.sortkey.iter().map(|k| ("sortkey", k)))
        .chain(config.indexes.iter().flat_map(|i| i.columns.iter().map(|c| ("indexes", c))));
    for (key, column) in keys {
        if !has_column(column) {
            diagnostics.push(Diagnostic::error(
                Some(source(key)),
                format!(
                    "{key} `{column}` of `{}` is not among the {what} (`{}`)",
                    table.name, table.definition_file
                ),
            ));
        }
    }
    match (config.diststyle.as_deref(), &config.distkey) {
        (Some("key"), None) => diagnostics.push(Diagnostic::error(
            Some(source("diststyle")),
            format!("`{}` has `diststyle=key` but no `distkey`", table.name),
        )),
        (Some(style @ ("even" | "all")), Some(_)) => diagnostics.push(Diagnostic::warning(
            Some(source("diststyle")),
            format!("`{}` has a `distkey`, which implies `diststyle=key`; `diststyle={style}` is ignored", table.name),
        )),
        _ => {}
    }
}

fn check_name_length(table: &Table, dialect: Dialect, diagnostics: &mut Vec<Diagnostic>) {
    let short = &table.name.table;
    let limit = dialect.max_identifier_bytes();
    if short.len() + LONGEST_SUFFIX.len() > limit {
        diagnostics.push(Diagnostic::error(
            Some(&table.definition_file),
            format!(
                "the name `{short}` is {} bytes; with `{LONGEST_SUFFIX}` it exceeds {}'s {limit}-byte limit (at most {} bytes); shorten it",
                short.len(),
                dialect.product(),
                limit - LONGEST_SUFFIX.len()
            ),
        ));
    }
}
