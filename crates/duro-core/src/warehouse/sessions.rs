//! The warehouse sessions of a creator that died: its connections carry `application_name`
//! `duro-<token>`, so the next creator can end the statements they left running (a `create
//! table … as` goes on until its timeout after a `kill -9`, and would collide with the rebuild).
//!
//! PostgreSQL lists sessions in `pg_stat_activity`. Redshift's leader node has no application
//! names there: its connections are logged with their application name in `stl_connection_log`
//! and the open ones are in `stv_sessions`; the two system tables are read separately and joined
//! here. Both end a session with `pg_terminate_backend`.

use super::catalog::classified;
use super::connection::WarehouseError;
use crate::config::Dialect;
use postgres::Client;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How long to wait for ended sessions to go away.
const WAIT_FOR_END: Duration = Duration::from_secs(15);

/// The `application_name` of a creator's connections.
pub fn application_name(token: &str) -> String {
    format!("duro-{token}")
}

/// PostgreSQL: the open sessions with an application name (`$1`) in this database (a server
/// may hold other databases: a replication source's sessions are ended through the source).
pub const POSTGRES_SESSIONS_NAMED: &str = "select pid from pg_stat_activity
    where application_name = $1 and datname = current_database() and pid <> pg_backend_pid()";
/// Redshift: the sessions ever started with an application name (`$1`)…
pub const REDSHIFT_SESSIONS_LOGGED: &str = "select distinct pid from stl_connection_log where application_name = $1 and event = 'initiating session'";
/// … and the sessions open now.
pub const REDSHIFT_OPEN_SESSIONS: &str =
    "select process from stv_sessions where process <> pg_backend_pid()";
/// Ends a session (`$1`, its process id); both dialects.
pub const TERMINATE_SESSION: &str = "select pg_terminate_backend($1)";

/// The server process ids of the open sessions named `name` (never this connection's own).
fn sessions_named(
    client: &mut Client,
    dialect: Dialect,
    name: &str,
) -> Result<BTreeSet<i32>, WarehouseError> {
    match dialect {
        Dialect::Postgres => {
            let rows = client.query(POSTGRES_SESSIONS_NAMED, &[&name]).map_err(classified)?;
            Ok(rows.into_iter().map(|row| row.get(0)).collect())
        }
        Dialect::Redshift => {
            let logged: BTreeSet<i32> = client
                .query(REDSHIFT_SESSIONS_LOGGED, &[&name])
                .map_err(classified)?
                .into_iter()
                .map(|row| row.get(0))
                .collect();
            let open: BTreeSet<i32> = client
                .query(REDSHIFT_OPEN_SESSIONS, &[])
                .map_err(classified)?
                .into_iter()
                .map(|row| row.get(0))
                .collect();
            Ok(logged.intersection(&open).copied().collect())
        }
    }
}

/// Ends every session named `name` and waits until they are gone. Returns how many were ended.
pub fn end_sessions_named(
    client: &mut Client,
    dialect: Dialect,
    name: &str,
) -> Result<usize, WarehouseError> {
    let sessions = sessions_named(client, dialect, name)?;
    for pid in &sessions {
        client.query(TERMINATE_SESSION, &[pid]).map_err(classified)?;
    }
    let deadline = Instant::now() + WAIT_FOR_END;
    while !sessions.is_empty() && Instant::now() < deadline {
        let left = sessions_named(client, dialect, name)?;
        if left.intersection(&sessions).next().is_none() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(sessions.len())
}
