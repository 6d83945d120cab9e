//! The time, as the state file keeps it: Unix milliseconds (build records, leases) and Unix
//! seconds (catalog times, force requests). One place, so no module depends on another only to
//! ask the time.

use std::time::{SystemTime, UNIX_EPOCH};

fn since_epoch() -> std::time::Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    since_epoch().as_millis() as i64
}

/// Seconds since the Unix epoch.
pub fn now_s() -> i64 {
    since_epoch().as_secs() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_units_tell_the_same_time() {
        let (seconds, millis) = (now_s(), now_ms());
        assert!((millis / 1_000 - seconds).abs() <= 1, "{seconds} s, {millis} ms");
        assert!(seconds > 1_700_000_000, "after 2023");
    }
}
