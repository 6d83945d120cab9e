//! The catalog as the subset of dbt's `manifest.json` that orchestrator integrations read:
//! `metadata`, `nodes` (each catalog table as a model `model.duro.<schema>__<table>`), `sources`
//! (each source as `source.duro.<schema>.<table>`, its source name the schema) and
//! `parent_map` / `child_map` over all of them, sorted. An Airflow DAG can be built from
//! `parent_map` alone.

use crate::catalog::{Catalog, Table};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The dbt manifest version whose shape this follows.
pub const DBT_SCHEMA_VERSION: &str = "https://schemas.getdbt.com/dbt/manifest/v12.json";

/// A catalog table's id in the manifest.
pub fn model_id(name: &str) -> String {
    let (schema, table) = name.split_once('.').unwrap_or(("public", name));
    format!("model.duro.{schema}__{table}")
}

/// A source's id in the manifest.
pub fn source_id(name: &str) -> String {
    format!("source.duro.{name}")
}

/// The manifest of `catalog`, generated at `now_ms` (Unix ms).
pub fn manifest(catalog: &Catalog, now_ms: i64) -> Value {
    let generated_at = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut parents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut nodes = serde_json::Map::new();
    for table in catalog.tables.values() {
        let id = model_id(&table.name.to_string());
        let mut depends_on: Vec<String> = table.dependencies.iter().map(|d| model_id(d)).collect();
        depends_on.extend(table.sources.iter().map(|s| source_id(s)));
        depends_on.sort();
        parents.insert(id.clone(), depends_on.clone());
        nodes.insert(id.clone(), model(table, &id, depends_on));
    }
    let mut sources = serde_json::Map::new();
    for source in catalog.sources() {
        let id = source_id(&source.name);
        let (schema, table) = source.name.split_once('.').unwrap_or(("public", &source.name));
        parents.insert(id.clone(), Vec::new());
        sources.insert(
            id.clone(),
            json!({
                "unique_id": id,
                "resource_type": "source",
                "package_name": "duro",
                "name": table,
                "source_name": schema,
                "schema": schema,
                "identifier": table,
                "fqn": ["duro", schema, table],
            }),
        );
    }
    let mut children: BTreeMap<String, Vec<String>> =
        parents.keys().map(|id| (id.clone(), Vec::new())).collect();
    for (id, of) in &parents {
        for parent in of {
            children.entry(parent.clone()).or_default().push(id.clone());
        }
    }
    for list in children.values_mut() {
        list.sort();
    }
    json!({
        "metadata": {
            "dbt_schema_version": DBT_SCHEMA_VERSION,
            "generator": "duro",
            "version": env!("CARGO_PKG_VERSION"),
            "generated_at": generated_at,
        },
        "nodes": nodes,
        "sources": sources,
        "parent_map": parents,
        "child_map": children,
    })
}

fn model(table: &Table, id: &str, depends_on: Vec<String>) -> Value {
    let (schema, name) = (&table.name.schema, &table.name.table);
    json!({
        "unique_id": id,
        "resource_type": "model",
        "package_name": "duro",
        "name": format!("{schema}__{name}"),
        "schema": schema,
        "alias": name,
        "fqn": ["duro", schema, name],
        "original_file_path": table.definition_file,
        "raw_code": table.query,
        "depends_on": {"nodes": depends_on},
        "config": {
            "materialized": "table",
            "enabled": true,
            "kind": table.kind.name(),
            "interval_minutes": table.interval_minutes,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(model_id("first.cities"), "model.duro.first__cities");
        assert_eq!(source_id("public.raw_events"), "source.duro.public.raw_events");
    }
}
