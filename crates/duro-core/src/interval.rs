//! Refresh intervals and durations written in file names and `.conf` files: `30m`, `24h`, `1d`, `1w`.

/// Minutes per unit letter, case-insensitive. Seconds are accepted only where a duration allows them.
fn unit_seconds(unit: char, allow_seconds: bool) -> Option<u64> {
    match unit.to_ascii_lowercase() {
        's' if allow_seconds => Some(1),
        'm' => Some(60),
        'h' => Some(3_600),
        'd' => Some(86_400),
        'w' => Some(604_800),
        _ => None,
    }
}

/// Parses an interval into whole minutes: a positive integer (ASCII digits) and a unit `m`, `h`, `d`
/// or `w`. The error says what is wrong in words a user can act on.
pub fn parse_interval_minutes(text: &str) -> Result<u32, String> {
    let seconds = parse_amount(text, false)?;
    u32::try_from(seconds / 60).map_err(|_| format!("interval `{text}` is too long"))
}

/// Parses a duration into seconds; like an interval, but `s` (seconds) is allowed too.
pub fn parse_duration_seconds(text: &str) -> Result<u64, String> {
    parse_amount(text, true)
}

/// The longest statement timeout a warehouse accepts: `statement_timeout` is a 32-bit number of
/// milliseconds on PostgreSQL and Redshift.
pub const MAX_STATEMENT_TIMEOUT_SECONDS: u64 = i32::MAX as u64 / 1_000;

/// `seconds` when a warehouse accepts it as a statement timeout.
pub fn check_statement_timeout(seconds: u64) -> Result<u64, String> {
    if seconds > MAX_STATEMENT_TIMEOUT_SECONDS {
        return Err(format!(
            "{seconds} s is longer than a warehouse allows for one statement (at most {MAX_STATEMENT_TIMEOUT_SECONDS} s, about 24 days)"
        ));
    }
    Ok(seconds)
}

fn parse_amount(text: &str, allow_seconds: bool) -> Result<u64, String> {
    let units = if allow_seconds { "s, m, h, d or w" } else { "m, h, d or w" };
    let expected =
        format!("write a positive whole number and a unit ({units}), like `30m` or `24h`");
    let Some(unit) = text.chars().last() else {
        return Err(format!("empty interval: {expected}"));
    };
    let Some(unit_seconds) = unit_seconds(unit, allow_seconds) else {
        return Err(format!("`{text}` is not an interval: {expected}"));
    };
    let digits = &text[..text.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{text}` is not an interval: {expected}"));
    }
    let amount: u64 = digits.parse().map_err(|_| format!("interval `{text}` is too long"))?;
    if amount == 0 {
        return Err(format!("interval `{text}` is zero: {expected}"));
    }
    amount
        .checked_mul(unit_seconds)
        .filter(|s| *s <= u64::from(u32::MAX) * 60)
        .ok_or_else(|| format!("interval `{text}` is too long"))
}

/// Formats minutes back into the largest exact unit: 1440 → `1d`, 90 → `90m`.
pub fn format_minutes(minutes: u32) -> String {
    for (unit, size) in [('w', 10_080), ('d', 1_440), ('h', 60)] {
        if minutes.is_multiple_of(size) {
            return format!("{}{unit}", minutes / size);
        }
    }
    format!("{minutes}m")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        let cases: &[(&str, Option<u32>)] = &[
            ("1m", Some(1)),
            ("30m", Some(30)),
            ("24h", Some(1_440)),
            ("24H", Some(1_440)),
            ("1d", Some(1_440)),
            ("2D", Some(2_880)),
            ("1w", Some(10_080)),
            ("0h", None),
            ("-1h", None),
            ("+2d", None),
            (" 5m", None),
            ("1_0m", None),
            ("1.5h", None),
            ("m", None),
            ("", None),
            ("5s", None),
            ("10", None),
            ("table", None),
            ("٣h", None),
            ("99999999999999999999h", None),
            ("9999999999w", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_interval_minutes(text).ok(), *expected, "interval {text:?}");
        }
    }

    #[test]
    fn durations_accept_seconds() {
        assert_eq!(parse_duration_seconds("45s"), Ok(45));
        assert_eq!(parse_duration_seconds("10m"), Ok(600));
        assert!(parse_duration_seconds("0s").is_err());
    }

    #[test]
    fn errors_say_what_to_write() {
        let message = parse_interval_minutes("table").unwrap_err();
        assert!(message.contains("`table` is not an interval"), "{message}");
        assert!(message.contains("like `30m` or `24h`"), "{message}");
    }

    #[test]
    fn formatting() {
        for (minutes, text) in
            [(1, "1m"), (90, "90m"), (60, "1h"), (1_440, "1d"), (10_080, "1w"), (2_880, "2d")]
        {
            assert_eq!(format_minutes(minutes), text);
            assert_eq!(parse_interval_minutes(text), Ok(minutes));
        }
    }
}
