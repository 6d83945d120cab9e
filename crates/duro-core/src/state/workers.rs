//! Creator processes ("workers") and their heartbeats. A worker renews its leases with every
//! heartbeat, so a creator that died (on any host, or as an unreaped zombie) frees its tables
//! within [`LEASE_TTL_MS`]; its token, which its warehouse connections carry as
//! `application_name`, lets the next creator end the statements it left running.

use super::{StateError, StateFile};
use rusqlite::params;
use std::collections::HashMap;

/// How long a lease lasts without a heartbeat.
pub const LEASE_TTL_MS: i64 = 60_000;
/// How often a working creator renews its leases.
pub const HEARTBEAT_EVERY_MS: i64 = 15_000;

/// A creator that stopped without cleaning up: its process is gone, or its heartbeat is older
/// than [`LEASE_TTL_MS`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadWorker {
    pub worker: String,
    pub token: String,
    /// The tables it was building (its running records and its leases).
    pub tables: Vec<String>,
}

/// Whether a creator has stopped: `is_alive` says no (its process on this host is gone), or its
/// last heartbeat (when it has one) is older than [`LEASE_TTL_MS`].
pub(super) fn has_stopped(
    worker: &str,
    heartbeat_ms: Option<i64>,
    is_alive: impl Fn(&str) -> bool,
    now_ms: i64,
) -> bool {
    !is_alive(worker) || heartbeat_ms.is_some_and(|beat| now_ms - beat > LEASE_TTL_MS)
}

impl StateFile {
    /// Records that `worker` (whose connections carry `token`) is alive at `now_ms`, and renews
    /// every lease it holds for another [`LEASE_TTL_MS`].
    pub fn heartbeat(&mut self, worker: &str, token: &str, now_ms: i64) -> Result<(), StateError> {
        self.write(|tx| {
            tx.prepare_cached(
                "insert into workers (worker, token, started_at_ms, heartbeat_at_ms) values (?1, ?2, ?3, ?3)
                 on conflict (worker) do update set heartbeat_at_ms = excluded.heartbeat_at_ms",
            )?
            .execute(params![worker, token, now_ms])?;
            tx.prepare_cached("update leases set expires_at_ms = ?2 where holder = ?1")?
                .execute(params![worker, now_ms + LEASE_TTL_MS])?;
            Ok(())
        })
    }

    /// Workers that stopped: `is_alive` says no (this host's process is gone), or their last
    /// heartbeat is older than [`LEASE_TTL_MS`].
    pub fn dead_workers(
        &self,
        is_alive: impl Fn(&str) -> bool,
        now_ms: i64,
    ) -> Result<Vec<DeadWorker>, StateError> {
        let workers: Vec<(String, String, i64)> = self.collect(
            "select worker, token, heartbeat_at_ms from workers order by worker",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )?;
        workers
            .into_iter()
            .filter(|(worker, _, heartbeat)| {
                has_stopped(worker, Some(*heartbeat), &is_alive, now_ms)
            })
            .map(|(worker, token, _)| {
                let tables = self.collect(
                    "select table_name from builds where outcome = 'running' and worker = ?1
                     union select table_name from leases where holder = ?1 order by 1",
                    [&worker],
                    |row| row.get(0),
                )?;
                Ok(DeadWorker { worker, token, tables })
            })
            .collect()
    }

    /// Forgets a dead worker, once its statements were ended and its records closed.
    pub fn forget_worker(&mut self, worker: &str) -> Result<(), StateError> {
        self.write(|tx| {
            tx.prepare_cached("delete from workers where worker = ?1")?.execute([worker])?;
            Ok(())
        })
    }

    /// The last heartbeat of every known worker.
    pub(super) fn heartbeats(&self) -> Result<HashMap<String, i64>, StateError> {
        self.collect("select worker, heartbeat_at_ms from workers", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
    }
}
