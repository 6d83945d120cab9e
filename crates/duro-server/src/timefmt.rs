//! Times in and out of the UI: the lenient parser for `/<from>/<to>` and `?from=&to=`, and the
//! human forms of durations, instants and ages. All times are UTC; instants are Unix ms.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

/// Naive forms, taken as UTC.
const NAIVE_FORMATS: &[&str] =
    &["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"];

/// Parses an instant: RFC 3339 (`2026-11-25T10:00:00Z`, `…+01:00`), a naive date and time
/// (UTC), a date (midnight UTC), or Unix seconds. A space where the offset's `+` belongs (what
/// an unencoded `+` in a query string becomes) is accepted.
pub(crate) fn parse_instant(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("an empty time; use a form like 2026-11-25T10:00:00".to_owned());
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.len() >= 9 {
        let seconds: i64 =
            text.parse().map_err(|_| format!("`{text}` is out of range as Unix seconds"))?;
        return seconds
            .checked_mul(1000)
            .filter(|_| Utc.timestamp_opt(seconds, 0).single().is_some())
            .ok_or_else(|| format!("`{text}` is out of range as Unix seconds"));
    }
    let mut candidates = vec![text.to_owned()];
    if let Some(position) = text.rfind(' ')
        && text[position + 1..].contains(':')
        && text.len() - position <= 6
    {
        candidates.push(format!("{}+{}", &text[..position], &text[position + 1..]));
    }
    for candidate in &candidates {
        let with_t = candidate.replacen(' ', "T", 1);
        if let Ok(parsed) = DateTime::parse_from_rfc3339(&with_t) {
            return Ok(parsed.timestamp_millis());
        }
        for format in NAIVE_FORMATS {
            if let Ok(parsed) = NaiveDateTime::parse_from_str(candidate, format) {
                return Ok(parsed.and_utc().timestamp_millis());
            }
        }
        if let Ok(date) = NaiveDate::parse_from_str(candidate, "%Y-%m-%d") {
            return Ok(date
                .and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc()
                .timestamp_millis());
        }
    }
    Err(format!(
        "`{text}` is not a time; use a form like 2026-11-25T10:00:00 (UTC), 2026-11-25T10:00:00+01:00, 2026-11-25 or Unix seconds"
    ))
}

/// `2026-11-25T10:00:00Z` (seconds precision), for the API and `datetime` attributes.
pub(crate) fn iso(ms: i64) -> String {
    date_time(ms, 'T', "Z")
}

/// `2026-11-25 10:00:00` (UTC), for people.
pub(crate) fn display(ms: i64) -> String {
    date_time(ms, ' ', "")
}

/// Date and time with fixed fields (formatted directly: lists format thousands of them).
fn date_time(ms: i64, separator: char, suffix: &str) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(time) => format!(
            "{:04}-{:02}-{:02}{separator}{:02}:{:02}:{:02}{suffix}",
            time.year(),
            time.month(),
            time.day(),
            time.hour(),
            time.minute(),
            time.second()
        ),
        None => String::new(),
    }
}

/// `10:00` or `10:00:05`, for chart axes.
pub(crate) fn clock(ms: i64, with_seconds: bool) -> String {
    let format = if with_seconds { "%H:%M:%S" } else { "%H:%M" };
    match Utc.timestamp_millis_opt(ms).single() {
        Some(time) => time.format(format).to_string(),
        None => String::new(),
    }
}

/// `850 ms`, `12.3 s`, `4m 05s`, `2h 10m`, `3d 4h`.
pub(crate) fn duration(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        return String::new();
    }
    if ms < 1000.0 {
        return format!("{} ms", ms.round() as i64);
    }
    let seconds = ms / 1000.0;
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let total = seconds.round() as i64;
    let (days, hours, minutes, secs) =
        (total / 86_400, total % 86_400 / 3600, total % 3600 / 60, total % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes:02}m")
    } else {
        format!("{minutes}m {secs:02}s")
    }
}

/// How long ago (or, for a future instant, how soon): `just now`, `5 min ago`, `in 2 h`.
pub(crate) fn relative(ms: i64, now_ms: i64) -> String {
    let delta = (now_ms - ms) / 1000;
    let amount = delta.abs();
    let text = if amount < 10 {
        return "just now".to_owned();
    } else if amount < 60 {
        format!("{amount} s")
    } else if amount < 3600 {
        format!("{} min", amount / 60)
    } else if amount < 2 * 86_400 {
        format!("{} h", amount / 3600)
    } else {
        format!("{} days", amount / 86_400)
    };
    if delta >= 0 { format!("{text} ago") } else { format!("in {text}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_764_064_800_000; // 2025-11-25T10:00:00Z

    #[test]
    fn instants_in_every_accepted_form() {
        for (text, expected) in [
            ("2025-11-25T10:00:00Z", T),
            ("2025-11-25T10:00:00", T),
            ("2025-11-25 10:00:00", T),
            ("2025-11-25T10:00", T),
            ("2025-11-25T10:00:00.250", T + 250),
            ("2025-11-25T11:00:00+01:00", T),
            ("2025-11-25T11:00:00 01:00", T),
            ("2025-11-25", T - 10 * 3_600_000),
            ("1764064800", T),
            (" 2025-11-25T10:00:00Z ", T),
        ] {
            assert_eq!(parse_instant(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn bad_instants_say_what_is_accepted() {
        for text in ["", "yesterday", "2025-13-01", "2025-11-25T25:00", "99999999999999999999"] {
            let message = parse_instant(text).unwrap_err();
            assert!(
                message.contains("2026-11-25") || message.contains("range"),
                "{text}: {message}"
            );
        }
    }

    #[test]
    fn human_forms() {
        assert_eq!(iso(T), "2025-11-25T10:00:00Z");
        assert_eq!(display(T), "2025-11-25 10:00:00");
        assert_eq!(clock(T + 5_000, true), "10:00:05");
        for (ms, text) in [
            (850.0, "850 ms"),
            (12_340.0, "12.3 s"),
            (245_000.0, "4m 05s"),
            (7_800_000.0, "2h 10m"),
            (273_600_000.0, "3d 4h"),
        ] {
            assert_eq!(duration(ms), text);
        }
        assert_eq!(relative(T - 3_000, T), "just now");
        assert_eq!(relative(T - 300_000, T), "5 min ago");
        assert_eq!(relative(T + 7_200_000, T), "in 2 h");
        assert_eq!(relative(T - 3 * 86_400_000, T), "3 days ago");
    }
}
