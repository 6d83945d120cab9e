//! Who a creator process is, for leases and build records: `host:pid:start`, a short random
//! token its warehouse connections carry, and whether such a holder still runs (same host: its
//! process exists and is not a zombie; other hosts: until its heartbeat stops); and keeping the
//! creator's secrets from the scripts it runs.

use std::sync::OnceLock;

fn hostname() -> &'static str {
    static HOSTNAME: OnceLock<String> = OnceLock::new();
    HOSTNAME.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .map(|name| name.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned())
    })
}

/// When this process first made a worker id (Unix ms), to tell it from an earlier process that
/// had the same pid (after a restart in a container, say).
static STARTED_OF_THIS_PROCESS: OnceLock<i64> = OnceLock::new();

fn process_started_ms(now_ms: i64) -> i64 {
    *STARTED_OF_THIS_PROCESS.get_or_init(|| now_ms)
}

/// A new worker id for this process (each creator in a process gets its own).
pub fn worker_id(started_at_ms: i64) -> String {
    static SEQUENCE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let sequence = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let process_started = process_started_ms(started_at_ms);
    format!("{}:{}:{process_started}-{sequence}", hostname(), std::process::id())
}

/// Marks this process non-dumpable, so a processor script running as the same OS user cannot
/// read the creator's environment (its secrets) or memory through `/proc/<pid>`.
pub fn hide_from_scripts() -> std::io::Result<()> {
    use rustix::process::{DumpableBehavior, set_dumpable_behavior};
    set_dumpable_behavior(DumpableBehavior::NotDumpable).map_err(std::io::Error::from)
}

/// A short random token for a worker (PostgreSQL keeps only 63 bytes of `application_name`, so
/// the worker id itself cannot be sent); the state file maps it back to the worker.
pub fn token() -> String {
    use std::hash::{BuildHasher, RandomState};
    let random = RandomState::new().hash_one(std::time::SystemTime::now());
    format!("{random:016x}")
}

/// Whether a process is a zombie (killed, not yet reaped by its parent): it runs nothing.
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')))
        .unwrap_or(false)
}

/// Whether the holder of a lease (a worker id) is still running: on this host, its process must
/// exist and not be a zombie, and when it has this process's pid it must be from this process
/// (not a predecessor that had the same pid); holders on other hosts count as running (their
/// heartbeat in the state file tells when they stopped).
pub fn is_alive(holder: &str) -> bool {
    let mut parts = holder.rsplitn(3, ':');
    let (started, pid, host) = (parts.next(), parts.next(), parts.next());
    let started: Option<i64> =
        started.and_then(|s| s.split('-').next()).and_then(|s| s.parse().ok());
    match (host, pid.and_then(|p| p.parse::<u32>().ok())) {
        (Some(host), Some(pid)) if host == hostname() => {
            if pid == std::process::id() {
                return started
                    .is_some_and(|s| STARTED_OF_THIS_PROCESS.get().is_some_and(|mine| *mine == s));
            }
            std::path::Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid)
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_creator_hides_from_its_scripts() {
        hide_from_scripts().unwrap();
        assert_eq!(
            rustix::process::dumpable_behavior().unwrap(),
            rustix::process::DumpableBehavior::NotDumpable
        );
    }

    #[test]
    fn tokens_are_short_and_differ() {
        let (a, b) = (token(), token());
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
    }

    /// A killed child that was not reaped yet is not running.
    #[test]
    fn zombies_are_dead() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let holder = format!("{}:{}:1", hostname(), child.id());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !is_zombie(child.id()) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!is_alive(&holder), "a zombie counted as running");
        child.wait().unwrap();
    }

    #[test]
    fn liveness() {
        assert!(is_alive(&worker_id(1)));
        assert!(!is_alive(&format!("{}:{}:1", hostname(), u32::MAX - 1)));
        assert!(is_alive("another-host:1:1"));
        // Same host and pid, but an earlier process: dead.
        let mine = *STARTED_OF_THIS_PROCESS.get().expect("set by worker_id");
        assert!(!is_alive(&format!("{}:{}:{}-0", hostname(), std::process::id(), mine - 1)));
    }
}
