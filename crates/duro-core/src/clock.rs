//! The time, as the state file keeps every time: Unix milliseconds. One place, so no module
//! depends on another only to ask the time.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_is_in_milliseconds() {
        let millis = now_ms();
        assert!(millis > 1_700_000_000_000, "after 2023, in ms: {millis}");
        assert!(millis < 1_700_000_000_000_000, "not in µs: {millis}");
    }
}
