//! Validation of the names Duro puts into SQL: schemas, tables, columns and grantees; and the
//! quoting every name gets when rendered.
//!
//! Names are folded to lower case, as Redshift folds identifiers. Only plain identifiers are
//! accepted (letters, digits, `_`, `$`, not starting with a digit), so every name can be quoted
//! safely later and never needs escaping.

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

/// Checks a `schema.table` name (already lower-cased): exactly one dot, two valid identifiers.
pub fn validate_table_name(name: &str) -> Result<(), String> {
    let Some((schema, table)) = name.split_once('.') else {
        return Err(format!("`{name}` has no schema; tables are named `schema.table`"));
    };
    if table.contains('.') {
        return Err(format!("`{name}` has more than one dot; tables are named `schema.table`"));
    }
    validate_identifier(schema)?;
    validate_identifier(table)
}

/// Checks a grantee of `grant_select`: a user name, or `group name` for a Redshift group.
/// User names may also contain `-`, `.` and `@` (Redshift allows them; they are quoted in SQL).
/// Returns the normalized form (lower case, one space after `group`).
pub fn normalize_grantee(raw: &str) -> Result<String, String> {
    let lower = raw.trim().to_lowercase();
    let mut words = lower.split_whitespace();
    let (prefix, name) = match (words.next(), words.next(), words.next()) {
        (Some("group"), Some(name), None) => ("group ", name),
        (Some(name), None, None) => ("", name),
        _ => return Err(format!("`{}` is not a user or `group name`", raw.trim())),
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
        for (name, ok) in [
            ("first.cities", true),
            ("cities", false),
            ("a.b.c", false),
            ("first.", false),
            (".x", false),
        ] {
            assert_eq!(validate_table_name(name).is_ok(), ok, "{name:?}");
        }
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
            ("a b", None),
            ("jane; drop table x", None),
            ("", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalize_grantee(raw).ok().as_deref(), expected, "{raw:?}");
        }
    }
}
