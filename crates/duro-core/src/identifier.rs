//! Validation of the names Duro puts into SQL: schemas, tables, columns and grantees; and the
//! quoting every name gets when rendered.
//!
//! Names are folded to lower case, as Redshift folds identifiers. Only plain identifiers are
//! accepted (letters, digits, `_`, `$`, not starting with a digit), so every name can be quoted
//! safely later and never needs escaping.

use crate::config::Dialect;
use serde::{Serialize, Serializer};
use std::fmt;

/// Double-quotes an identifier, doubling any quote inside it.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The longest identifier Redshift accepts, in bytes.
pub const MAX_IDENTIFIER_BYTES: usize = 127;

/// PostgreSQL's identifier limit, in bytes (longer names are silently truncated by the server).
pub const POSTGRES_MAX_IDENTIFIER_BYTES: usize = 63;

/// Checks one identifier (already lower-cased). The error explains the rule.
pub fn validate_identifier(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err("empty name".to_owned());
    };
    if !(first.is_ascii_lowercase() || first == '_') {
        return Err(format!("`{name}` must start with a letter or `_`"));
    }
    if let Some(bad) =
        chars.find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '$'))
    {
        return Err(format!(
            "`{name}` contains `{bad}`; names may only use letters, digits, `_` and `$`"
        ));
    }
    if name.len() > MAX_IDENTIFIER_BYTES {
        return Err(format!("`{name}` is longer than {MAX_IDENTIFIER_BYTES} bytes"));
    }
    Ok(())
}

/// A table's name in its two parts. Made by [`TableName::parse`], which validates it, where a
/// name enters Duro (a file name, a stored catalog row); the warehouse's own catalog hands out
/// names that need no check, which are built from their parts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableName {
    pub schema: String,
    pub table: String,
}

impl TableName {
    /// Parses a `schema.table` name (already lower-cased): exactly one dot, two valid
    /// identifiers. The error explains the rule.
    pub fn parse(name: &str) -> Result<Self, String> {
        let Some((schema, table)) = name.split_once('.') else {
            return Err(format!("`{name}` has no schema; tables are named `schema.table`"));
        };
        if table.contains('.') {
            return Err(format!("`{name}` has more than one dot; tables are named `schema.table`"));
        }
        validate_identifier(schema)?;
        validate_identifier(table)?;
        Ok(Self { schema: schema.to_owned(), table: table.to_owned() })
    }

    /// `"schema"."table"`.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote_identifier(&self.schema), quote_identifier(&self.table))
    }

    /// `schema.table`, for messages and keys.
    pub fn name(&self) -> String {
        self.to_string()
    }

    /// The same table name with a suffix (`_duro_temp`, …). A name longer than the warehouse
    /// keeps would be silently truncated (and collide with another), so it is an error instead.
    pub fn with_suffix(&self, suffix: &str, dialect: Dialect) -> Result<TableName, String> {
        let table = format!("{}{suffix}", self.table);
        let limit = dialect.max_identifier_bytes();
        if table.len() > limit {
            return Err(format!(
                "`{table}` is longer than {}'s {limit}-byte limit; shorten the table name `{}`",
                dialect.product(),
                self.table
            ));
        }
        Ok(TableName { schema: self.schema.clone(), table })
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so widths and alignment (`{:<40}`) apply as for a string.
        f.pad(&format!("{}.{}", self.schema, self.table))
    }
}

/// Written as `schema.table`, the form of the JSON documents and the state file.
impl Serialize for TableName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// From `schema.table`, validated as [`TableName::parse`] does.
impl<'de> serde::Deserialize<'de> for TableName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TableName::parse(&text.to_lowercase()).map_err(serde::de::Error::custom)
    }
}

/// Checks a grantee of `grant_select`: a user name, `group name` for a Redshift group, `role
/// name` for a Redshift role, or a Redshift IAM identity (`IAM:jane`, `IAMR:analyst`).
/// User names may also contain `-`, `.` and `@` (Redshift allows them; they are quoted in SQL).
/// Returns the normalized form: lower case with one space after `group`/`role`, except IAM
/// identities, whose case is kept as Redshift compares them exactly.
pub fn normalize_grantee(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if let Some((prefix, name)) = raw.split_once(':')
        && (prefix == "IAM" || prefix == "IAMR")
    {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=.@-".contains(c);
        if name.is_empty() || !name.chars().all(allowed) || raw.len() > MAX_IDENTIFIER_BYTES {
            return Err(format!(
                "`{raw}` is not a valid IAM identity (`IAM:user` or `IAMR:role`; letters, digits and `_+=.@-`)"
            ));
        }
        return Ok(raw.to_owned());
    }
    let lower = raw.to_lowercase();
    let mut words = lower.split_whitespace();
    let (prefix, name) = match (words.next(), words.next(), words.next()) {
        (Some("group"), Some(name), None) => ("group ", name),
        (Some("role"), Some(name), None) => ("role ", name),
        (Some(name), None, None) => ("", name),
        _ => return Err(format!("`{raw}` is not a user, `group name` or `role name`")),
    };
    let starts_well = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_$-.@".contains(c);
    if !starts_well || !name.chars().all(allowed) || name.len() > MAX_IDENTIFIER_BYTES {
        return Err(format!(
            "grantee `{name}` is not a valid user name (letters, digits, `_`, `$`, `-`, `.`, `@`; starting with a letter)"
        ));
    }
    Ok(format!("{prefix}{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        let cases = [
            ("cities", true),
            ("_x", true),
            ("t$1", true),
            ("1t", false),
            ("my-table", false),
            ("my table", false),
            ("", false),
            ("é", false),
            ("x\"; drop table y; --", false),
        ];
        for (name, ok) in cases {
            assert_eq!(validate_identifier(name).is_ok(), ok, "{name:?}");
        }
        assert!(validate_identifier(&"a".repeat(127)).is_ok());
        assert!(validate_identifier(&"a".repeat(128)).is_err());
    }

    #[test]
    fn table_names() {
        for (name, expected) in [
            ("first.cities", Ok(("first", "cities"))),
            ("cities", Err("`cities` has no schema; tables are named `schema.table`")),
            ("a.b.c", Err("`a.b.c` has more than one dot; tables are named `schema.table`")),
            ("first.", Err("empty name")),
            (".x", Err("empty name")),
            ("s.1t", Err("`1t` must start with a letter or `_`")),
        ] {
            let parsed = TableName::parse(name);
            let parts = parsed.as_ref().map(|n| (n.schema.as_str(), n.table.as_str()));
            assert_eq!(parts.map_err(String::as_str), expected, "{name:?}");
        }
        let name = TableName::parse("first.cities").unwrap();
        assert_eq!(
            (name.to_string(), name.quoted()),
            ("first.cities".into(), "\"first\".\"cities\"".into())
        );
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"first.cities\"");
        assert_eq!(format!("[{name:<14}]"), "[first.cities  ]");
    }

    #[test]
    fn grantees() {
        let cases = [
            ("jane", Some("jane")),
            (" Jane ", Some("jane")),
            ("group analysts", Some("group analysts")),
            ("GROUP   Analysts", Some("group analysts")),
            ("data-team", Some("data-team")),
            ("-jane", None),
            ("group", Some("group")),
            ("role bi", Some("role bi")),
            ("ROLE  BI", Some("role bi")),
            ("IAM:Jane.Doe@example.com", Some("IAM:Jane.Doe@example.com")),
            ("IAMR:Analyst", Some("IAMR:Analyst")),
            ("IAM:", None),
            ("IAM:a b", None),
            ("IAM:x\"y", None),
            ("iam:jane", None),
            ("a b", None),
            ("jane; drop table x", None),
            ("", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalize_grantee(raw).ok().as_deref(), expected, "{raw:?}");
        }
    }
}
