//! The `indexes` key of a `.conf` file: `(a), (b, c), unique (d)`, the indexes a PostgreSQL
//! target table is built with. Parsed and validated here; named and rendered by
//! `warehouse::indexes`.

use crate::identifier::validate_identifier;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One index: its columns in order, and whether it is unique.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexSpec {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unique: bool,
    pub columns: Vec<String>,
}

impl fmt::Display for IndexSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unique = if self.unique { "unique " } else { "" };
        write!(f, "{unique}({})", self.columns.join(", "))
    }
}

/// Writes a list the way `.conf` files do: `(a), (b, c), unique (d)`.
pub fn format_indexes(indexes: &[IndexSpec]) -> String {
    indexes.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Parses `(a), (b, c), unique (d)`. Column names are folded to lower case and validated; two
/// indexes on the same columns, or whose names would be the same, are refused.
pub fn parse_indexes(value: &str) -> Result<Vec<IndexSpec>, String> {
    let form = "write `indexes=(a), (b, c), unique (d)`";
    let mut indexes: Vec<IndexSpec> = Vec::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        let (unique, after) = match rest.get(..6) {
            Some(word) if word.eq_ignore_ascii_case("unique") => (true, rest[6..].trim_start()),
            _ => (false, rest),
        };
        let Some(inside) = after.strip_prefix('(') else {
            return Err(format!("expected `(` at `{after}`; {form}"));
        };
        let Some(close) = inside.find(')') else {
            return Err(format!("missing `)` after `({inside}`; {form}"));
        };
        let columns = inside[..close]
            .split(',')
            .map(|raw| {
                let name = raw.trim().trim_matches('"').to_lowercase();
                validate_identifier(&name).map(|()| name)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let index = IndexSpec { unique, columns };
        if let Some(same) = indexes.iter().find(|other| other.stem() == index.stem()) {
            return Err(format!(
                "`{same}` and `{index}` would get the same index name; keep one, or rename a column"
            ));
        }
        indexes.push(index);
        rest = inside[close + 1..].trim_start();
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim_start();
            if rest.is_empty() {
                return Err(format!("a `,` ends the list; {form}"));
            }
        } else if !rest.is_empty() {
            return Err(format!("expected `,` before `{rest}`; {form}"));
        }
    }
    Ok(indexes)
}

impl IndexSpec {
    /// The part of its name after the table's: the columns joined by `_`.
    pub fn stem(&self) -> String {
        self.columns.join("_")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(unique: bool, columns: &[&str]) -> IndexSpec {
        IndexSpec { unique, columns: columns.iter().map(|c| c.to_string()).collect() }
    }

    #[test]
    fn lists() {
        let cases: &[(&str, Vec<IndexSpec>)] = &[
            (
                "(a), (b, c), unique (d)",
                vec![index(false, &["a"]), index(false, &["b", "c"]), index(true, &["d"])],
            ),
            ("UNIQUE(Id)", vec![index(true, &["id"])]),
            ("(\"user_id\" , day)", vec![index(false, &["user_id", "day"])]),
            ("", vec![]),
        ];
        for (text, expected) in cases {
            assert_eq!(&parse_indexes(text).unwrap(), expected, "{text}");
        }
        assert_eq!(format_indexes(&cases[0].1), "(a), (b, c), unique (d)");
    }

    #[test]
    fn mistakes() {
        let cases = [
            ("a, b", "expected `(` at `a, b`"),
            ("(a", "missing `)`"),
            ("(a) (b)", "expected `,` before `(b)`"),
            ("(a),", "a `,` ends the list"),
            ("(a-b)", "`a-b` contains `-`"),
            ("(a, )", "empty name"),
            ("(a), unique (a)", "`(a)` and `unique (a)` would get the same index name"),
            ("(a_b), (a, b)", "would get the same index name"),
            ("clustered (a)", "expected `(`"),
        ];
        for (text, expected) in cases {
            let error = parse_indexes(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
