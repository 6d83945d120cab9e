//! The SQLite state file, the only channel between `duro-schedule`, `duro-create` and
//! `duro-server`. WAL mode (readers never block the writer), a busy timeout, `BEGIN IMMEDIATE`
//! for every write transaction, and migrations applied by whichever binary opens it first.
//! Only this module knows the SQLite schema.
//!
//! Opening looks before it writes anything: an empty file (0 bytes, or SQLite with no schema)
//! becomes a new state file; a file that is not SQLite, or another program's database, is
//! refused, so Duro's tables are never added to someone else's file.

mod builds;
mod catalog_store;
mod counters;
mod history;
mod migrations;
mod names;
mod replication;
mod retention;
mod s3_load;
mod workers;

pub use builds::{BuildRecord, BuildResult, BuildStart};
pub use catalog_store::{CatalogChanges, StoredTable, TableSummary};
pub use counters::{BuildCount, DurationBucket, PeriodStats};
pub use history::TableActivity;
pub use migrations::SCHEMA_VERSION;
pub use replication::{PendingRun, ReplicationRun, ReplicationState, RunState};
pub use retention::{MAX_PER_PASS, Retention, cutoff_ms, retention_pass};
pub use s3_load::{LoadedFile, S3LoadRun};
pub use workers::{DeadWorker, HEARTBEAT_EVERY_MS, LEASE_TTL_MS};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state file `{path}`: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error(
        "state file `{path}` has schema version {found}, newer than this Duro knows ({known}); upgrade Duro"
    )]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error("state file `{path}`: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("`{path}` is not a Duro state file: {reason}; point state.path at another file")]
    NotDuro { path: PathBuf, reason: String },
}

/// The tables of the first migration; every Duro state file since has them all.
const DURO_TABLES: &[&str] =
    &["builds", "commits", "dependencies", "force_requests", "leases", "tables"];

/// An open state file.
pub struct StateFile {
    connection: Connection,
    path: PathBuf,
}

impl StateFile {
    /// Opens (creating if needed) the state file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StateError::Corrupt {
                path: path.to_owned(),
                message: format!("cannot create its folder: {e}"),
            })?;
        }
        warn_if_empty(path);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(path, flags)
            .map_err(|source| StateError::Sqlite { path: path.to_owned(), source })?;
        let mut state = Self { connection, path: path.to_owned() };
        state.recognize()?;
        state.configure().and_then(|()| state.migrate())?;
        Ok(state)
    }

    /// Refuses a file that is not a Duro state file, before anything is written to it: not
    /// SQLite, or SQLite with tables but not Duro's (whatever its `user_version`). A file
    /// with Duro's tables and a newer version is left to `migrate` (which says to upgrade).
    fn recognize(&self) -> Result<(), StateError> {
        self.connection.busy_timeout(BUSY_TIMEOUT).map_err(|e| self.error(e))?;
        // One statement, so the version and the tables come from the same moment (another
        // process may be migrating the file right now).
        let read = self.connection.query_row(
            "select (select user_version from pragma_user_version()),
                    (select group_concat(name, char(31)) from (select name from sqlite_master
                        where type = 'table' and name not like 'sqlite\\_%' escape '\\'
                        order by name))",
            [],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Option<String>>(1)?)),
        );
        let (version, names) = match read {
            Ok(read) => read,
            Err(rusqlite::Error::SqliteFailure(failure, _))
                if failure.code == rusqlite::ErrorCode::NotADatabase =>
            {
                return Err(self.not_duro("it is not an SQLite database".to_owned()));
            }
            Err(error) => return Err(self.error(error)),
        };
        let names = names.unwrap_or_default();
        let tables: Vec<&str> = names.split('\u{1f}').filter(|n| !n.is_empty()).collect();
        let missing: Vec<&str> =
            DURO_TABLES.iter().copied().filter(|table| !tables.contains(table)).collect();
        let known = SCHEMA_VERSION as i64;
        let fresh = tables.is_empty() && (version == 0 || version > known);
        if fresh || missing.is_empty() {
            return Ok(());
        }
        let listed = if tables.is_empty() {
            "no tables".to_owned()
        } else {
            let more = if tables.len() > 5 { ", …" } else { "" };
            format!("tables {}{more}", tables[..tables.len().min(5)].join(", "))
        };
        // The original Duro's database: `tables`, `timestamps` and `version`.
        let original = ["tables", "timestamps", "version"].iter().all(|t| tables.contains(t));
        Err(self.not_duro(if version == 0 && original {
            "it is the original Duro's database (tables, timestamps, version), which Duro does not take over: its history stays there, and Duro starts a new state file at another path ([main] db in config.conf, or state.path)".to_owned()
        } else if version == 0 {
            format!(
                "it is another program's SQLite database ({listed}); Duro adds its tables only to an empty file"
            )
        } else {
            format!(
                "it is an SQLite database with user_version {version} and {listed}, without Duro's {}",
                missing.join(", ")
            )
        }))
    }

    fn not_duro(&self, reason: String) -> StateError {
        StateError::NotDuro { path: self.path.clone(), reason }
    }

    /// Lets this connection cache up to `mib` MiB of the file's pages (a long-lived reader,
    /// like the web server, then answers from memory).
    pub fn set_cache_mib(&self, mib: u32) -> Result<(), StateError> {
        self.connection
            .execute_batch(&format!("pragma cache_size = -{}", u64::from(mib) * 1024))
            .map_err(|e| self.error(e))
    }

    /// A number that changes whenever another connection commits to the file (SQLite's
    /// `data_version`): a cheap way to tell whether anything read before is out of date.
    pub fn data_version(&self) -> Result<i64, StateError> {
        self.connection
            .query_row("pragma data_version", [], |row| row.get(0))
            .map_err(|e| self.error(e))
    }

    /// The path this state file was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction and commits it.
    fn write<T>(
        &mut self,
        work: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<T>,
    ) -> Result<T, StateError> {
        let path = self.path.clone();
        let sqlite = |source| StateError::Sqlite { path: path.clone(), source };
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        let value = work(&transaction).map_err(sqlite)?;
        transaction.commit().map_err(sqlite)?;
        Ok(value)
    }

    /// Runs a query and collects its rows, each mapped by `map`.
    fn collect<T, C: FromIterator<T>>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
    ) -> Result<C, StateError> {
        let mut statement = self.connection.prepare_cached(sql).map_err(|e| self.error(e))?;
        let rows = statement.query_map(params, map).map_err(|e| self.error(e))?;
        rows.collect::<rusqlite::Result<C>>().map_err(|e| self.error(e))
    }

    fn error(&self, source: rusqlite::Error) -> StateError {
        StateError::Sqlite { path: self.path.clone(), source }
    }

    fn configure(&mut self) -> Result<(), StateError> {
        // Takes effect in a new file only (before its first table); older files keep their mode
        // until `compact`.
        self.connection
            .execute_batch("pragma auto_vacuum = incremental")
            .map_err(|e| self.error(e))?;
        let mode: String = self
            .connection
            .query_row("pragma journal_mode = wal", [], |row| row.get(0))
            .map_err(|e| self.error(e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StateError::Corrupt {
                path: self.path.clone(),
                message: format!("cannot switch to WAL mode (got `{mode}`)"),
            });
        }
        self.connection
            .execute_batch("pragma synchronous = normal; pragma foreign_keys = on;")
            .map_err(|e| self.error(e))
    }

    /// The schema version of the file (0 for a new file).
    pub fn schema_version(&self) -> Result<i64, StateError> {
        self.connection
            .query_row("pragma user_version", [], |row| row.get(0))
            .map_err(|e| self.error(e))
    }

    fn migrate(&mut self) -> Result<(), StateError> {
        let known = SCHEMA_VERSION as i64;
        if self.schema_version()? == known {
            return Ok(());
        }
        // Read the version again under the write lock: another process may have migrated meanwhile.
        let found = self.write(|transaction| {
            let found: i64 = transaction.query_row("pragma user_version", [], |row| row.get(0))?;
            if found <= known {
                for (index, sql) in migrations::MIGRATIONS.iter().enumerate().skip(found as usize) {
                    transaction.execute_batch(sql)?;
                    transaction.pragma_update(None, "user_version", index as i64 + 1)?;
                }
            }
            Ok(found)
        })?;
        if found > known {
            return Err(StateError::TooNew { path: self.path.clone(), found, known });
        }
        Ok(())
    }
}

/// A 0-byte file without a `-wal` file beside it is a new state file (a `touch` before a bind
/// mount is common), but say so: the wrong path is as likely.
fn warn_if_empty(path: &Path) {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let empty = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0);
    if empty && !Path::new(&wal).exists() {
        tracing::warn!("state file `{}` is empty: starting a new state file in it", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_creates_and_migrates_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/duro.db");
        let state = StateFile::open(&path).unwrap();
        assert_eq!(state.schema_version().unwrap(), SCHEMA_VERSION as i64);
        drop(state);
        // Reopening is a no-op, and two handles coexist (WAL).
        let first = StateFile::open(&path).unwrap();
        let second = StateFile::open(&path).unwrap();
        assert_eq!(first.schema_version().unwrap(), second.schema_version().unwrap());
        let mode: String =
            first.connection.query_row("pragma journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_newer_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("duro.db");
        Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
        let error = StateFile::open(&path).err().unwrap().to_string();
        assert!(error.contains("schema version 99, newer than this Duro knows"), "{error}");
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("duro.db");
        std::fs::write(
            &path,
            "this is not a database, just text that is long enough to have a header",
        )
        .unwrap();
        let error = StateFile::open(&path).err().unwrap().to_string();
        assert!(error.contains("duro.db"), "{error}");
    }
}
