//! Snapshots: appending the live table to `t_history` (with a snapshot timestamp) when the last
//! snapshot is older than `snapshots_interval`, adding columns the table gained, and deleting
//! snapshots older than `snapshots_stored_for` on every build.

use super::Session;
use crate::build::FailureClass;
use crate::warehouse::WarehouseError;
use crate::warehouse::catalog;
use crate::warehouse::render::{self, HISTORY_SUFFIX, SNAPSHOT_COLUMN, TableName};

/// Returns whether a snapshot was appended.
pub(super) fn take(
    session: &mut Session<'_>,
    live: &TableName,
    interval_minutes: u32,
    stored_for_minutes: Option<u32>,
) -> Result<bool, WarehouseError> {
    let sql_error = session.sql_error();
    let history = live
        .with_suffix(HISTORY_SUFFIX, session.dialect)
        .map_err(|m| WarehouseError::new(FailureClass::SqlError, m))?;
    let mut transaction = session.client.transaction().map_err(&sql_error)?;
    let live_columns = catalog::columns(&mut transaction, live)?;
    if catalog::relation_kind(&mut transaction, &history)?.is_none() {
        transaction
            .batch_execute(&render::create_history(session.dialect, &history, live))
            .map_err(sql_error)?;
    } else {
        let history_columns = catalog::columns(&mut transaction, &history)?;
        for (column, column_type) in &live_columns {
            if !history_columns.iter().any(|(name, _)| name == column) {
                transaction
                    .batch_execute(&render::add_history_column(&history, column, column_type))
                    .map_err(sql_error)?;
            }
        }
    }
    let age: Option<i64> = transaction
        .query_one(&render::newest_snapshot_age_minutes(session.dialect, &history), &[])
        .map_err(sql_error)?
        .get(0);
    let due = age.is_none_or(|age| age >= i64::from(interval_minutes));
    if due {
        let names: Vec<String> = live_columns
            .into_iter()
            .map(|(name, _)| name)
            .filter(|n| n != SNAPSHOT_COLUMN)
            .collect();
        transaction
            .batch_execute(&render::insert_snapshot(session.dialect, &history, live, &names))
            .map_err(sql_error)?;
    }
    if let Some(minutes) = stored_for_minutes {
        let minutes = i32::try_from(minutes).unwrap_or(i32::MAX);
        transaction
            .execute(&render::delete_old_snapshots(session.dialect, &history), &[&minutes])
            .map_err(sql_error)?;
    }
    transaction.commit().map_err(sql_error)?;
    Ok(due)
}
