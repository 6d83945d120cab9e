//! The row-count rules (`min_rows`, `max_row_drop`) on a table an ingest node loads in place,
//! inside the load's transaction: the rows are counted when the load begins (only for
//! `max_row_drop`) and before it commits, and a broken rule fails the load, so the transaction
//! rolls back and the table keeps its rows. The verdict is `row_rules::check`'s.

use super::row_rules::{self, RowCheck};
use super::{Session, count_rows};
use crate::build::FailureClass;
use crate::catalog::TableConfig;
use crate::warehouse::WarehouseError;
use crate::warehouse::render::TableName;

/// The rules of one load, with the rows its table had when the load began.
pub(crate) struct RowGuard<'c> {
    config: &'c TableConfig,
    check: RowCheck,
}

impl<'c> RowGuard<'c> {
    /// Counts the rows of `table` now, when `max_row_drop` needs them. `accepted_by`: who let a
    /// smaller table through this once.
    pub(crate) fn before(
        session: &mut Session<'_>,
        table: &TableName,
        config: &'c TableConfig,
        accepted_by: Option<&str>,
    ) -> Result<Self, WarehouseError> {
        let previous = match config.max_row_drop_percent {
            Some(_) => Some(count_rows(session, table)?),
            None => None,
        };
        Ok(Self {
            config,
            check: RowCheck { previous, accepted_by: accepted_by.map(str::to_owned) },
        })
    }

    /// Counts the rows of `table` (the loaded table, or the new one of a swap) when a rule is
    /// set, and checks them: `Ok(Some(note))` when a broken rule was accepted, a
    /// `validation_failed` error when it was not.
    pub(crate) fn after(
        &self,
        session: &mut Session<'_>,
        table: &TableName,
    ) -> Result<Option<String>, WarehouseError> {
        if self.config.min_rows.is_none() && self.config.max_row_drop_percent.is_none() {
            return Ok(None);
        }
        let rows = count_rows(session, table)?;
        verdict(self.config, rows, &self.check)
    }
}

/// `row_rules::check` as a build sees it: a broken rule nobody accepted is a
/// `validation_failed` error.
pub(crate) fn verdict(
    config: &TableConfig,
    rows: i64,
    check: &RowCheck,
) -> Result<Option<String>, WarehouseError> {
    row_rules::check(config, rows, check)
        .map_err(|message| WarehouseError::new(FailureClass::ValidationFailed, message))
}
