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
    let mut transaction = client.transaction().map_err(sql_error)?;
    // View definitions come back fully qualified when no user schema is on the search path.
    transaction
        .batch_execute("set local search_path to pg_catalog")
        .map_err(sql_error)?;
    let kind = catalog::relation_kind(&mut transaction, live)?;
    if kind.as_deref().is_some_and(|k| k != "r") {
        return Err(WarehouseError::new(
            FailureClass::SqlError,
            format!(
                "`{}` exists in the warehouse but is not a table (relkind `{}`); drop or rename it",
                live.name(),
                kind.unwrap_or_default()
            ),
        ));
    }
    let live_exists = kind.is_some();
    let mut grantees: Vec<String> = configured_grantees.to_vec();
    if live_exists {
        grantees.extend(catalog::select_grantees(&mut transaction, live)?);
        for (view, definition) in catalog::dependent_views(&mut transaction, live)? {
            let pointed = rename_table(&definition, &live.schema, &live.table, &temp.table)
                .map_err(|m| {
                    WarehouseError::new(
                        FailureClass::SqlError,
                        format!("view `{}`: {m}", view.name()),
                    )
                })?;
            repoint_view(&mut transaction, &view, &pointed, is_cancelled)?;
        }
    }
    for statement in render::swap(live, temp, &old, live_exists) {
        transaction.batch_execute(&statement).map_err(sql_error)?;
    }
    grantees.sort();
    grantees.dedup();
    for statement in render::grants(live, &grantees) {
        transaction.batch_execute(&statement).map_err(sql_error)?;
    }
    transaction.commit().map_err(sql_error)
}

/// `create or replace view` when the columns still fit; otherwise drop and re-create it with its
/// grants.
fn repoint_view(
    transaction: &mut postgres::Transaction,
    view: &TableRef,
    definition: &str,
    is_cancelled: &dyn Fn() -> bool,
) -> Result<(), WarehouseError> {
    let sql_error = |error: postgres::Error| WarehouseError::from_postgres(&error, is_cancelled());
    let mut savepoint = transaction
        .savepoint("duro_repoint_view")
        .map_err(sql_error)?;
    if savepoint
        .batch_execute(&render::view_definition(view, definition, true))
        .is_ok()
    {
        return savepoint.commit().map_err(sql_error);
    }
    drop(savepoint);
    tracing::info!(
        "view {} changes columns; dropping and re-creating it",
        view.name()
    );
    let view_grantees = catalog::select_grantees(transaction, view)?;
    transaction
        .batch_execute(&render::drop_view(view))
        .map_err(sql_error)?;
    transaction
        .batch_execute(&render::view_definition(view, definition, false))
        .map_err(sql_error)?;
    for statement in render::grants(view, &view_grantees) {
        transaction.batch_execute(&statement).map_err(sql_error)?;
    }
    Ok(())
}
