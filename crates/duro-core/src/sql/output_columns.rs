//! The names of the columns a parsed query outputs, to check `distkey`/`sortkey` settings.

use sqlparser::ast::{Expr, Query, SelectItem, SetExpr};

/// What is known about a query's output columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputColumns {
    /// Every output column is named (lower case).
    Known(Vec<String>),
    /// Some columns are named; others come from `*` or unnamed expressions. The named ones are listed.
    Partial(Vec<String>),
    /// The query did not parse.
    Unknown,
}

impl OutputColumns {
    /// Whether `column` may be among the output: certainly so, or not ruled out.
    pub fn may_contain(&self, column: &str) -> bool {
        match self {
            OutputColumns::Known(names) => names.iter().any(|name| name == column),
            OutputColumns::Partial(_) | OutputColumns::Unknown => true,
        }
    }
}

pub(super) fn of_query(query: &Query) -> OutputColumns {
    of_set_expr(&query.body)
}

fn of_set_expr(body: &SetExpr) -> OutputColumns {
    match body {
        SetExpr::Select(select) => {
            let mut names = Vec::new();
            let mut complete = true;
            for item in &select.projection {
                match item {
                    SelectItem::ExprWithAlias { alias, .. } => {
                        names.push(alias.value.to_lowercase())
                    }
                    SelectItem::UnnamedExpr(Expr::Identifier(ident)) => {
                        names.push(ident.value.to_lowercase())
                    }
                    SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => {
                        match parts.last() {
                            Some(last) => names.push(last.value.to_lowercase()),
                            None => complete = false,
                        }
                    }
                    _ => complete = false,
                }
            }
            if complete { OutputColumns::Known(names) } else { OutputColumns::Partial(names) }
        }
        SetExpr::Query(query) => of_query(query),
        SetExpr::SetOperation { left, .. } => of_set_expr(left),
        _ => OutputColumns::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::super::analyze_query;
    use super::*;

    fn known(names: &[&str]) -> OutputColumns {
        OutputColumns::Known(names.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn output_columns() {
        let cases = [
            ("select city, country from a.b", known(&["city", "country"])),
            ("select c.City, upper(x) as Big from a.b c", known(&["city", "big"])),
            ("select * from a.b", OutputColumns::Partial(vec![])),
            ("select b.*, x from a.b", OutputColumns::Partial(vec!["x".into()])),
            ("select count(*) from a.b", OutputColumns::Partial(vec![])),
            ("with q as (select 1 as z) select z from q", known(&["z"])),
            ("(select a from x.y) union select b from x.z", known(&["a"])),
            ("select from where", OutputColumns::Unknown),
        ];
        for (sql, expected) in cases {
            assert_eq!(analyze_query(sql).output, expected, "{sql}");
        }
    }

    #[test]
    fn may_contain() {
        assert!(known(&["a"]).may_contain("a"));
        assert!(!known(&["a"]).may_contain("b"));
        assert!(OutputColumns::Partial(vec![]).may_contain("b"));
        assert!(OutputColumns::Unknown.may_contain("b"));
    }
}
