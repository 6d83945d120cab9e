//! Who a creator process is, for leases and build records: `host:pid:start`, a short random
//! token its warehouse connections carry, and whether such a holder still runs (same host: its
//! process exists and is not a zombie; other hosts: until its heartbeat stops); and keeping the
//! creator's secrets from the scripts it runs.

use std::fmt;
use std::str::FromStr;
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

/// Who holds a lease or ran a build: `host:pid:started-sequence`, where `started` is when the
/// process made its first id (Unix ms) and `sequence` counts the creators of the process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerId {
    pub host: String,
    pub pid: u32,
    pub started_ms: i64,
    pub sequence: u32,
}

impl WorkerId {
    /// A new id for a creator of this process (each creator in a process gets its own).
    pub fn new(now_ms: i64) -> Self {
        static SEQUENCE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let sequence = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Self {
            host: hostname().to_owned(),
            pid: std::process::id(),
            started_ms: process_started_ms(now_ms),
            sequence,
        }
    }

    /// Whether this worker still runs: on this host, its process must exist and not be a
    /// zombie, and when it has this process's pid it must be from this process (not a
    /// predecessor that had the same pid); workers on other hosts count as running (their
    /// heartbeat in the state file tells when they stopped).
    pub fn is_alive(&self) -> bool {
        if self.host != hostname() {
            return true;
        }
        if self.pid == std::process::id() {
            return STARTED_OF_THIS_PROCESS.get() == Some(&self.started_ms);
        }
        std::path::Path::new(&format!("/proc/{}", self.pid)).exists() && !is_zombie(self.pid)
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}-{}", self.host, self.pid, self.started_ms, self.sequence)
    }
}

impl FromStr for WorkerId {
    type Err = String;

    /// The host may itself contain `:`; the last two fields are the pid and the start.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{text}` is not a worker id (host:pid:started-sequence)");
        let mut parts = text.rsplitn(3, ':');
        let (started, pid, host) = (parts.next(), parts.next(), parts.next());
        let (Some(started), Some(pid), Some(host)) = (started, pid, host) else {
            return Err(bad());
        };
        let (started_ms, sequence) = started.split_once('-').unwrap_or((started, "0"));
        Ok(Self {
            host: host.to_owned(),
            pid: pid.parse().map_err(|_| bad())?,
            started_ms: started_ms.parse().map_err(|_| bad())?,
            sequence: sequence.parse().map_err(|_| bad())?,
        })
    }
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

/// Whether the holder of a lease (a worker id) is still running (see [`WorkerId::is_alive`]);
/// a holder that is not a worker id Duro wrote counts as running, so nothing of it is freed
/// before its heartbeat stops.
pub fn is_alive(holder: &str) -> bool {
    match holder.parse::<WorkerId>() {
        Ok(worker) => worker.is_alive(),
        Err(_) => true,
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
    fn worker_ids_are_written_and_read_back() {
        let id = WorkerId::new(5);
        assert_eq!(id.to_string().parse::<WorkerId>(), Ok(id.clone()));
        let odd = WorkerId { host: "a:b".into(), pid: 7, started_ms: 12, sequence: 3 };
        assert_eq!(odd.to_string(), "a:b:7:12-3");
        assert_eq!("a:b:7:12-3".parse::<WorkerId>(), Ok(odd));
        // Written before ids had a sequence.
        assert_eq!("h:7:12".parse::<WorkerId>().map(|w| (w.started_ms, w.sequence)), Ok((12, 0)));
        for bad in ["", "h:7", "h:x:12", "h:7:x-1"] {
            assert!(bad.parse::<WorkerId>().is_err(), "{bad:?}");
        }
        assert!(is_alive("not a worker id"));
    }

    #[test]
    fn liveness() {
        assert!(is_alive(&WorkerId::new(1).to_string()));
        assert!(!is_alive(&format!("{}:{}:1", hostname(), u32::MAX - 1)));
        assert!(is_alive("another-host:1:1"));
        // Same host and pid, but an earlier process: dead.
        let mine = *STARTED_OF_THIS_PROCESS.get().expect("set by WorkerId::new");
        assert!(!is_alive(&format!("{}:{}:{}-0", hostname(), std::process::id(), mine - 1)));
    }
}
