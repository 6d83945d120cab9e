//! [`Session`]: what every step of one build works with — the connection with the statements
//! prepared on it, the warehouse's dialect, and whether Duro is cancelling (so a failed statement is classified as a
//! cancellation rather than an SQL error); ending a load's transaction.

use crate::config::Dialect;
use crate::warehouse::WarehouseError;
use crate::warehouse::statement::Prepared;
use postgres::Client;

/// One build's connection to the warehouse.
pub struct Session<'a> {
    pub client: &'a mut Client,
    /// The statements prepared on `client`, kept from one build to the next.
    pub prepared: &'a mut Prepared,
    pub dialect: Dialect,
    cancel: &'a dyn Fn() -> bool,
}

impl<'a> Session<'a> {
    /// `cancel` tells whether Duro is stopping (the creator cancels running statements then).
    pub fn new(
        client: &'a mut Client,
        prepared: &'a mut Prepared,
        dialect: Dialect,
        cancel: &'a dyn Fn() -> bool,
    ) -> Self {
        Self { client, prepared, dialect, cancel }
    }

    pub fn is_cancelled(&self) -> bool {
        (self.cancel)()
    }

    /// Ends the open transaction: `commit` when `result` is a success, `rollback` (when the
    /// connection is still there) otherwise; returns `result`.
    pub(crate) fn commit_or_rollback<T>(
        &mut self,
        result: Result<T, WarehouseError>,
    ) -> Result<T, WarehouseError> {
        match result {
            Ok(value) => {
                self.client.batch_execute("commit").map_err(self.sql_error())?;
                Ok(value)
            }
            Err(error) => {
                if !self.client.is_closed() {
                    let _ = self.client.batch_execute(crate::warehouse::render::ROLLBACK);
                }
                Err(error)
            }
        }
    }

    /// Classifies a driver error; usable while the client is borrowed (by a transaction).
    pub fn sql_error(&self) -> impl Fn(postgres::Error) -> WarehouseError + Copy + 'a {
        let cancel = self.cancel;
        move |error| WarehouseError::from_postgres(&error, cancel())
    }
}
