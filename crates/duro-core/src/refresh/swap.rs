//! The swap, in one transaction: re-point views bound to the live table at the temporary one,
//! rename live → `_duro_old` and temporary → live, drop the old table, and grant `select` to the
//! configured grantees and to everyone who could read the old table. Readers see the old or the
//! new table, never neither.

use crate::config::Dialect;
use crate::sql::rename_table;
use crate::warehouse::catalog;
use crate::warehouse::render::{self, OLD_SUFFIX, TableRef};
use crate::warehouse::{FailureClass, WarehouseError};
use postgres::Client;

pub fn swap(
    client: &mut Client,
    dialect: Dialect,
    live: &TableRef,
    temp: &TableRef,
    configured_grantees: &[String],
    is_cancelled: &dyn Fn() -> bool,
) -> Result<(), WarehouseError> {
    let sql_error = |error: postgres::Error| WarehouseError::from_postgres(&error, is_cancelled());
    let old = live
        .with_suffix(OLD_SUFFIX, dialect)
        .map_err(|m| WarehouseError::new(FailureClass::SqlError, m))?;
    // View definitions come back fully qualified when no user schema is on the search path.
    client
        .batch_execute("begin; set local search_path to pg_catalog")
        .map_err(sql_error)?;
    let facts = catalog::table_facts(client, live)?;
    if let Some(kind) = facts
        .as_ref()
        .map(|f| f.kind.as_str())
        .filter(|kind| *kind != "r")
    {
        return Err(WarehouseError::new(
            FailureClass::SqlError,
            format!(
                "`{}` exists in the warehouse but is not a table (relkind `{kind}`); drop or rename it",
                live.name()
            ),
        ));
    }
    let mut grantees: Vec<String> = configured_grantees.to_vec();
    if let Some(facts) = &facts {
        grantees.extend(facts.select_grantees.iter().cloned());
        if facts.has_bound_views {
            for (view, definition) in catalog::dependent_views(client, live)? {
                let pointed = rename_table(&definition, &live.schema, &live.table, &temp.table)
                    .map_err(|m| {
                        WarehouseError::new(
                            FailureClass::SqlError,
                            format!("view `{}`: {m}", view.name()),
                        )
                    })?;
                repoint_view(client, &view, &pointed, is_cancelled)?;
            }
        }
    }
    grantees.sort();
    grantees.dedup();
    let mut statements = render::swap(live, temp, &old, facts.is_some());
    statements.extend(render::grants(live, &grantees));
    statements.push("commit".to_owned());
    client
        .batch_execute(&statements.join(";\n"))
        .map_err(sql_error)
}

/// `create or replace view` when the columns still fit; otherwise drop and re-create it with its
/// grants.
fn repoint_view(
    client: &mut Client,
    view: &TableRef,
    definition: &str,
    is_cancelled: &dyn Fn() -> bool,
) -> Result<(), WarehouseError> {
    let sql_error = |error: postgres::Error| WarehouseError::from_postgres(&error, is_cancelled());
    let replace = format!(
        "savepoint duro_view; {}; release savepoint duro_view",
        render::view_definition(view, definition, true)
    );
    if client.batch_execute(&replace).is_ok() {
        return Ok(());
    }
    client
        .batch_execute("rollback to savepoint duro_view")
        .map_err(sql_error)?;
    tracing::info!(
        "view {} changes columns; dropping and re-creating it",
        view.name()
    );
    let view_grantees = catalog::select_grantees(client, view)?;
    let mut statements = vec![
        render::drop_view(view),
        render::view_definition(view, definition, false),
    ];
    statements.extend(render::grants(view, &view_grantees));
    client
        .batch_execute(&statements.join(";\n"))
        .map_err(sql_error)
}
