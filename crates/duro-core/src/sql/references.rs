//! The tables a query reads: from the syntax tree (CTE names in scope are not tables), or from
//! tokens when the query does not parse. Names are folded to lower case, as Redshift folds them.

use super::lexer::{Kind, Lexeme, Lexer, name_of};
use sqlparser::ast::{ObjectName, ObjectNamePart, Query, TableFactor, Visit, Visitor};
use std::collections::BTreeSet;
use std::ops::ControlFlow;

/// The schema an unqualified table name resolves to.
const DEFAULT_SCHEMA: &str = "public";

/// Collects table names, skipping names bound by a `WITH` clause that is in scope.
struct RelationCollector {
    cte_scopes: Vec<Vec<String>>,
    found: BTreeSet<String>,
}

impl Visitor for RelationCollector {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        let names = query
            .with
            .iter()
            .flat_map(|with| &with.cte_tables)
            .map(|cte| cte.alias.name.value.to_lowercase());
        self.cte_scopes.push(names.collect());
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.cte_scopes.pop();
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, args: None, .. } = factor
            && let Some(table) = self.qualified(name)
        {
            self.found.insert(table);
        }
        ControlFlow::Continue(())
    }
}

impl RelationCollector {
    fn qualified(&self, name: &ObjectName) -> Option<String> {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|part| match part {
                ObjectNamePart::Identifier(ident) => Some(ident.value.to_lowercase()),
                ObjectNamePart::Function(_) => None,
            })
            .collect::<Option<_>>()?;
        match parts.as_slice() {
            [table] if self.cte_scopes.iter().any(|scope| scope.contains(table)) => None,
            [table] => Some(format!("{DEFAULT_SCHEMA}.{table}")),
            [.., schema, table] => Some(format!("{schema}.{table}")),
            [] => None,
        }
    }
}

/// Table names read by a parsed query, sorted and deduplicated.
pub(super) fn parsed_references(query: &Query) -> Vec<String> {
    let mut collector = RelationCollector { cte_scopes: Vec::new(), found: BTreeSet::new() };
    let _ = query.visit(&mut collector);
    collector.found.into_iter().collect()
}

/// Every `word.word` (or `db.word.word`) in the query outside comments and string literals,
/// lower-cased, sorted and deduplicated. Over-inclusive by design (`alias.column` pairs are
/// found too); the caller keeps only names of managed tables. Text that cannot be read (an
/// unterminated string) gives nothing. One pass, nothing kept per token, so any size of query
/// is fine.
pub fn token_references(sql: &str) -> Vec<String> {
    let mut found = BTreeSet::new();
    // The last two lexemes, to see `name . name`.
    let mut window: [Option<Lexeme>; 2] = [None, None];
    for lexeme in Lexer::new(sql) {
        let Ok(lexeme) = lexeme else {
            return Vec::new();
        };
        if let [Some(schema), Some(period)] = &window
            && period.kind == Kind::Period
            && let (Some(schema), Some(table)) = (name_of(sql, schema), name_of(sql, &lexeme))
        {
            found.insert(format!("{schema}.{table}"));
        }
        window = [window[1].take(), Some(lexeme)];
    }
    found.into_iter().collect()
}

/// Functions whose value changes without the tables a query reads: the time and chance.
const VOLATILE: [&str; 8] = [
    "getdate",
    "sysdate",
    "now",
    "current_date",
    "current_timestamp",
    "localtimestamp",
    "timeofday",
    "random",
];

/// The first time or random function `sql` calls (`getdate()`, `sysdate`, `now()`,
/// `current_date`, `current_timestamp`, `random()`, …), outside comments and strings.
pub fn volatile_function(sql: &str) -> Option<&'static str> {
    Lexer::new(sql).map_while(Result::ok).find_map(|lexeme| {
        let word = (lexeme.kind == Kind::Word).then(|| &sql[lexeme.range.clone()])?;
        VOLATILE.iter().copied().find(|name| word.eq_ignore_ascii_case(name))
    })
}

#[cfg(test)]
mod tests {
    use super::super::{DependencyMethod, analyze_query};
    use super::*;

    fn parsed(sql: &str) -> Vec<String> {
        let analysis = analyze_query(sql);
        assert_eq!(analysis.method, DependencyMethod::Parsed, "{sql}: {:?}", analysis.problem);
        analysis.references
    }

    #[test]
    fn references_from_the_syntax_tree() {
        let cases: &[(&str, &[&str])] = &[
            ("select * from first.cities", &["first.cities"]),
            ("select * from FIRST.Cities", &["first.cities"]),
            (r#"select * from "first"."cities""#, &["first.cities"]),
            ("select * from db.first.cities", &["first.cities"]),
            ("select * from cities", &["public.cities"]),
            (
                "select * from a.x join b.y on x.id = y.id left join c.z using (id)",
                &["a.x", "b.y", "c.z"],
            ),
            ("select * from a.x where id in (select id from b.y)", &["a.x", "b.y"]),
            ("select (select max(id) from b.y) from a.x", &["a.x", "b.y"]),
            ("select * from a.x union all select * from b.y", &["a.x", "b.y"]),
            ("select * from (select * from a.x) sub", &["a.x"]),
            // CTE names in scope are not tables.
            ("with base as (select * from a.x) select * from base", &["a.x"]),
            ("with cities as (select * from a.x) select * from cities", &["a.x"]),
            // ... but a qualified name with the same last part is.
            (
                "with cities as (select 1) select * from cities join first.cities using (id)",
                &["first.cities"],
            ),
            // A CTE name is only in scope inside its query.
            (
                "select * from (with t as (select 1) select * from t) s join t using (id)",
                &["public.t"],
            ),
            // Regression: comments and string literals never count.
            ("select 'first.cities' as s, x from a.x -- first.cities", &["a.x"]),
            ("select x from a.x /* join first.cities */", &["a.x"]),
            ("select '--' as dashes, x from a.x join b.y using (id)", &["a.x", "b.y"]),
            // Column references and functions are not tables.
            ("select first.cities.city from first.cities", &["first.cities"]),
            ("select * from generate_series(1, 3)", &[]),
            ("select 1", &[]),
        ];
        for (sql, expected) in cases {
            assert_eq!(parsed(sql), *expected, "{sql}");
        }
    }

    #[test]
    fn redshift_syntax_parses() {
        let sql = "select user_id, created_at::date as day, sum(amount) as total \
                   from s.t where created_at > getdate() - interval '30 days' group by 1, 2 having sum(amount) > 0";
        assert_eq!(parsed(sql), ["s.t"]);
    }

    #[test]
    fn token_fallback_skips_comments_and_strings() {
        let cases: &[(&str, &[&str])] = &[
            ("select * from first.cities where", &["first.cities"]),
            ("select 'a.b' from c.d -- e.f\n /* g.h */", &["c.d"]),
            ("select x.y from First.Cities x", &["first.cities", "x.y"]),
            ("select 'unterminated from a.b", &[]),
        ];
        for (sql, expected) in cases {
            assert_eq!(token_references(sql), *expected, "{sql}");
        }
    }

    #[test]
    fn volatile_functions() {
        for (sql, found) in [
            ("select getdate() as t", Some("getdate")),
            ("select * from s.t where day > SYSDATE - 7", Some("sysdate")),
            ("select current_date, id from s.t", Some("current_date")),
            ("select random() from s.t", Some("random")),
            ("select 'getdate()' as text, id from s.t -- now()", None),
            ("select now_playing from s.t", None),
        ] {
            assert_eq!(volatile_function(sql), found, "{sql}");
        }
    }
}
