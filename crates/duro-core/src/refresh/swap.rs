//! The swap, in one transaction: move the views bound to the live table (directly or through
//! other views) to the temporary one, rename live → `_duro_old` and temporary → live, drop the
//! old table, give the new table's indexes their own names, and grant `select` to the configured grantees and to everyone who could read the
//! old table. Readers see the old or the new table, never neither.
//!
//! Whether bound views are replaced in place or re-created is decided from the catalog (do the
//! live and new tables have the same columns?), never by trying and rolling back to a savepoint:
//! Redshift has no savepoints. A view the warehouse user could not give back to its owner stops
//! the build before anything changes.

use super::Session;
use crate::build::FailureClass;
use crate::catalog::indexes::IndexSpec;
use crate::sql::rename_table;
use crate::warehouse::catalog::{self, BoundView};
use crate::warehouse::grantee::{self, Grantee};
use crate::warehouse::render::{self, ChainView, OLD_SUFFIX, SwapStatement, TableName};
use crate::warehouse::{WarehouseError, indexes, statement};
use postgres::Client;

pub(crate) fn swap(
    session: &mut Session<'_>,
    live: &TableName,
    temp: &TableName,
    configured_grantees: &[String],
    indexes: &[IndexSpec],
) -> Result<(), WarehouseError> {
    let sql_error = session.sql_error();
    let (client, prepared, dialect) =
        (&mut *session.client, &mut *session.prepared, session.dialect);
    let refused = |message: String| WarehouseError::new(FailureClass::SqlError, message);
    let old = live.with_suffix(OLD_SUFFIX, dialect).map_err(refused)?;
    client.batch_execute(render::BEGIN_SWAP).map_err(sql_error)?;
    let facts = catalog::table_facts(client, prepared, live)?;
    if let Some(kind) = facts.as_ref().map(|f| f.kind.as_str()).filter(|kind| *kind != "r") {
        return Err(refused(format!(
            "`{}` exists in the warehouse but is not a table (relkind `{kind}`); drop or rename it",
            live.name()
        )));
    }
    let mut grantees: Vec<Grantee> =
        configured_grantees.iter().map(|g| Grantee::from_config(g)).collect();
    let mut statements = Vec::new();
    if let Some(facts) = &facts {
        grantees.extend(facts.select_grantees.iter().cloned());
        if facts.has_bound_views {
            let chain = catalog::dependent_view_chain(client, live)?;
            if let Some(materialized) = chain.iter().find(|v| v.materialized) {
                return Err(refused(format!(
                    "materialized view `{}` depends on `{}`; a materialized view cannot be re-pointed to the new table (Redshift cannot rename one), so `{}` cannot be replaced under it: drop it, or build it as a table with Duro",
                    materialized.view.name(),
                    live.name(),
                    live.name()
                )));
            }
            let same_columns = catalog::columns(client, live)? == catalog::columns(client, temp)?;
            for view in chain.iter().filter(|v| !same_columns || v.reads.contains(live)) {
                if !catalog::can_act_as(client, dialect, &view.owner)? {
                    return Err(refused(format!(
                        "view `{}` (owner `{}`) reads `{}` and must be re-created, but the warehouse user is not its owner, a superuser or a member of `{}`; grant that membership or drop the view",
                        view.view.name(),
                        view.owner,
                        live.name(),
                        view.owner
                    )));
                }
            }
            let repointed = chain_views(&chain, live, temp).map_err(refused)?;
            statements = render::repoint_views(&repointed, same_columns);
        }
    }
    let mut fixed = render::swap(live, temp, &old, facts.is_some());
    // The previous version and its indexes are gone: the new ones take their names.
    fixed.extend(indexes::rename_indexes(live, indexes));
    fixed.extend(render::grants(live, &grantee::merge(grantees)));
    fixed.push("commit".to_owned());
    statements.extend(fixed.into_iter().map(|sql| SwapStatement { sql, alone: false }));
    run(client, &statements).map_err(sql_error)
}

/// The chain with the definitions of views reading the live table pointed at the temporary one.
fn chain_views<'a>(
    chain: &'a [BoundView],
    live: &TableName,
    temp: &TableName,
) -> Result<Vec<ChainView<'a>>, String> {
    chain
        .iter()
        .map(|bound| {
            let reads_live = bound.reads.contains(live);
            let definition = if reads_live {
                rename_table(&bound.definition, &live.schema, &live.table, &temp.table)
                    .map_err(|m| format!("view `{}`: {m}", bound.view.name()))?
            } else {
                bound.definition.clone()
            };
            Ok(ChainView {
                view: &bound.view,
                definition,
                owner: &bound.owner,
                grantees: &bound.grantees,
                reads_live,
            })
        })
        .collect()
}

/// Sends the statements in order: consecutive fixed ones in one batch, the ones carrying text
/// alone.
fn run(client: &mut Client, statements: &[SwapStatement]) -> Result<(), postgres::Error> {
    let mut batch: Vec<&str> = Vec::new();
    for statement in statements {
        if statement.alone {
            if !batch.is_empty() {
                client.batch_execute(&batch.join(";\n"))?;
                batch.clear();
            }
            statement::execute_alone(client, &statement.sql)?;
        } else {
            batch.push(&statement.sql);
        }
    }
    if !batch.is_empty() {
        client.batch_execute(&batch.join(";\n"))?;
    }
    Ok(())
}
