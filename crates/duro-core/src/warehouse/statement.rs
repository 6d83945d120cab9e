//! Sending statements whose text comes from the views repository or from the warehouse (a view
//! definition re-created in the swap): each alone, through the extended query protocol as one
//! unnamed statement in one round trip. The server itself then refuses a second command hidden
//! in the text ("cannot insert multiple commands into a prepared statement"); the simple-query
//! protocol (`batch_execute`) would run it. Statements made only of names Duro validated and
//! quoted may still be batched.

use postgres::{Client, GenericClient, Row, Statement};
use std::collections::HashMap;

/// Runs one statement; returns the number of rows it affected.
pub fn execute_alone(client: &mut impl GenericClient, sql: &str) -> Result<u64, postgres::Error> {
    client.execute_typed(sql, &[])
}

/// Runs one query; returns its rows (values in binary form, decoded by their types).
pub fn query_alone(
    client: &mut impl GenericClient,
    sql: &str,
) -> Result<Vec<Row>, postgres::Error> {
    client.query_typed(sql, &[])
}

/// Duro's own fixed queries, prepared once per connection and kept: the catalog query every
/// swap runs is then parsed and planned by the warehouse once, not once per table.
#[derive(Default)]
pub struct Prepared(HashMap<&'static str, Statement>);

impl Prepared {
    /// `sql` prepared on `client` (the connection these statements belong to).
    pub fn get(
        &mut self,
        client: &mut Client,
        sql: &'static str,
    ) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(sql)?;
        self.0.insert(sql, statement.clone());
        Ok(statement)
    }
}

/// Types Redshift has and the driver does not know. When a result has a column of a type the
/// driver does not know, it looks the type up in `pg_type` with a statement it prepares once per
/// connection; on Redshift the first form of that statement fails (no `pg_range`) before the
/// driver falls back to another. Inside a transaction that failure would abort it, so the
/// lookup is prepared here, on a new connection, outside any transaction.
const REDSHIFT_ONLY_TYPES: [&str; 4] = ["super", "varbyte", "geometry", "hllsketch"];

/// Makes the driver resolve type information before any transaction starts (Redshift only;
/// PostgreSQL's lookup never fails). Errors are ignored: a type may be missing on a cluster.
pub fn prepare_type_lookup(client: &mut postgres::Client) {
    for probe in type_probes() {
        if client.prepare(&probe).is_ok() {
            return;
        }
    }
}

/// The statements [`prepare_type_lookup`] prepares (never runs), one per type, until one works.
pub fn type_probes() -> Vec<String> {
    REDSHIFT_ONLY_TYPES.iter().map(|name| format!("select null::{name}")).collect()
}
