//! Serde helpers for values that may arrive as strings: every `DURO_SECTION__KEY` environment
//! override is a string, so booleans, counts and durations accept both forms.

use crate::interval::parse_duration_seconds;
use serde::{Deserialize, Deserializer};
use serde_yaml::Value;
use std::time::Duration;

/// `true`/`false`, also `yes`/`no`, `on`/`off`, `1`/`0`.
pub(super) fn boolean<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Bool(b) => Ok(b),
        Value::String(s) => match s.to_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" | "" => Ok(false),
            _ => Err(serde::de::Error::custom(format!("`{s}` is not a boolean (true/false)"))),
        },
        Value::Number(n) if n.as_u64() == Some(0) || n.as_u64() == Some(1) => {
            Ok(n.as_u64() == Some(1))
        }
        other => Err(serde::de::Error::custom(format!("{other:?} is not a boolean (true/false)"))),
    }
}

/// A duration: a number of seconds, or a string like `30s`, `10m`, `1h`.
pub(super) fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let seconds = match Value::deserialize(deserializer)? {
        Value::Number(n) => n.as_u64().ok_or_else(|| {
            serde::de::Error::custom(format!("{n} is not a whole number of seconds"))
        })?,
        Value::String(s) => match s.parse::<u64>() {
            Ok(seconds) => seconds,
            Err(_) => parse_duration_seconds(&s).map_err(serde::de::Error::custom)?,
        },
        other => {
            return Err(serde::de::Error::custom(format!(
                "{other:?} is not a duration (like `30s` or `10m`)"
            )));
        }
    };
    Ok(Duration::from_secs(seconds))
}

pub(super) fn duration_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    duration(deserializer).map(Some)
}

/// A list of strings, also one comma-separated string (`a,b`); empty items are dropped.
pub(super) fn list<'de, D: Deserializer<'de>, T: From<String>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    let items: Vec<String> = match Value::deserialize(deserializer)? {
        Value::Null => Vec::new(),
        Value::String(s) => s.split(',').map(|item| item.trim().to_owned()).collect(),
        Value::Sequence(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.trim().to_owned()),
                other => Err(serde::de::Error::custom(format!("{other:?} is not a text item"))),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(serde::de::Error::custom(format!(
                "{other:?} is not a list (`[a, b]`, or `a,b`)"
            )));
        }
    };
    Ok(items.into_iter().filter(|item| !item.is_empty()).map(T::from).collect())
}

/// A whole number, also from a string.
pub(super) fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Number(n) => {
            n.as_u64().ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number")))
        }
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a whole number"))),
        other => Err(serde::de::Error::custom(format!("{other:?} is not a whole number"))),
    }
}
