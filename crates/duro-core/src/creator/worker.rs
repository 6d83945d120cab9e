//! Who a creator process is, for leases and build records: `host:pid:start`, and whether such a
//! holder still runs (same host: its process exists; other hosts: trusted until the lease expires).

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

/// A new worker id for this process (each creator in a process gets its own).
pub fn worker_id(started_at_ms: i64) -> String {
    static SEQUENCE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let sequence = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!(
        "{}:{}:{started_at_ms}-{sequence}",
        hostname(),
        std::process::id()
    )
}

/// Whether the holder of a lease (a worker id) is still running.
pub fn is_alive(holder: &str) -> bool {
    let mut parts = holder.rsplitn(3, ':');
    let (_, pid, host) = (parts.next(), parts.next(), parts.next());
    match (host, pid.and_then(|p| p.parse::<u32>().ok())) {
        (Some(host), Some(pid)) if host == hostname() => {
            std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness() {
        assert!(is_alive(&worker_id(1)));
        assert!(!is_alive(&format!("{}:{}:1", hostname(), u32::MAX - 1)));
        assert!(is_alive("another-host:1:1"));
    }
}
