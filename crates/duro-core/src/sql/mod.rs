//! SQL understanding, without a database: the tables a query reads, the columns it outputs,
//! the columns a `create table` declares. Parsing uses sqlparser's Redshift dialect; when a query
//! does not parse, a token-level scan (comments and string literals skipped) is the fallback.

mod ddl_table;
mod lexer;
mod output_columns;
mod references;
mod rewrite;
mod shape;

pub use ddl_table::{DdlTable, ddl_table};
pub use output_columns::OutputColumns;
pub use references::{token_references, volatile_function};
pub use rewrite::{rename_table, rename_table_in_ddl, split_statements};
pub use shape::{ShapeProblem, column_expression, one_create_table, one_query, read_only_queries};

use serde::Serialize;
use sqlparser::ast::Statement;
use sqlparser::dialect::RedshiftSqlDialect;
use sqlparser::parser::Parser;

/// How the references of a query were found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DependencyMethod {
    /// From the parsed syntax tree.
    Parsed,
    /// From the token-level fallback, because the query did not parse.
    Tokens,
}

impl DependencyMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            DependencyMethod::Parsed => "parsed",
            DependencyMethod::Tokens => "tokens",
        }
    }
}

impl std::str::FromStr for DependencyMethod {
    type Err = crate::build::UnknownName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "parsed" => Ok(DependencyMethod::Parsed),
            "tokens" => Ok(DependencyMethod::Tokens),
            _ => Err(crate::build::UnknownName(text.to_owned(), "dependency method")),
        }
    }
}

/// What Duro needs to know about one `select` query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryAnalysis {
    /// Every table read, as lower-case `schema.table` (unqualified names as `public.name`), sorted.
    pub references: Vec<String>,
    pub method: DependencyMethod,
    pub output: OutputColumns,
    /// Why parsing failed, or why the text is not a single select; `None` when all is well.
    pub problem: Option<QueryProblem>,
    /// When it does not parse: why it is not even one statement with balanced parentheses (it
    /// could close the `create table … as (` it is wrapped in and go on with other statements).
    pub shape: Option<ShapeProblem>,
}

/// Why a view definition was not understood as one `select`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryProblem {
    /// It does not parse; dependencies come from the token fallback.
    Unparsed(String),
    /// It parses, but it is not exactly one `select` query.
    NotOneSelect(String),
    /// It parses as several statements (where the second starts, when known).
    NotOneStatement(ShapeProblem),
}

impl QueryProblem {
    pub fn message(&self) -> &str {
        match self {
            QueryProblem::Unparsed(message) | QueryProblem::NotOneSelect(message) => message,
            QueryProblem::NotOneStatement(problem) => &problem.message,
        }
    }

    /// The line the problem starts on, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            QueryProblem::NotOneStatement(problem) => problem.line,
            _ => None,
        }
    }
}

/// Queries larger than this are not parsed: the parser keeps every token and a syntax tree,
/// well over a hundred times the text; the token scan reads any size in one pass.
pub const PARSE_LIMIT_BYTES: usize = 1 << 20;
/// Queries chaining more set operations (`union`, …) than this are not parsed: the syntax tree
/// is as deep as the chain, and walking it could overflow a thread's stack.
pub const MAX_PARSED_SET_OPERATIONS: usize = 200;

const SET_OPERATIONS: [&str; 4] = ["union", "except", "intersect", "minus"];

/// Why a query is not given to the parser, if it is too large for it.
fn too_large_to_parse(sql: &str) -> Option<String> {
    if sql.len() > PARSE_LIMIT_BYTES {
        return Some(format!(
            "the query is too large to parse ({} bytes; queries over {PARSE_LIMIT_BYTES} bytes are not parsed)",
            sql.len()
        ));
    }
    // A quick count of the words anywhere (comments and strings too) is an upper bound; only
    // a query over the limit by it is counted exactly.
    let anywhere: usize = SET_OPERATIONS
        .iter()
        .map(|word| {
            sql.as_bytes()
                .windows(word.len())
                .filter(|w| w.eq_ignore_ascii_case(word.as_bytes()))
                .count()
        })
        .sum();
    if anywhere <= MAX_PARSED_SET_OPERATIONS {
        return None;
    }
    let set_operations = lexer::Lexer::new(sql)
        .map_while(Result::ok)
        .filter(|lexeme| SET_OPERATIONS.iter().any(|word| lexer::is_word(sql, lexeme, word)))
        .count();
    (set_operations > MAX_PARSED_SET_OPERATIONS).then(|| {
        format!(
            "the query chains {set_operations} set operations (`union`, …); more than {MAX_PARSED_SET_OPERATIONS} are not parsed"
        )
    })
}

/// Analyzes the text of a view definition.
pub fn analyze_query(sql: &str) -> QueryAnalysis {
    let fallback = |problem: QueryProblem| QueryAnalysis {
        references: token_references(sql),
        method: DependencyMethod::Tokens,
        output: OutputColumns::Unknown,
        shape: match problem {
            QueryProblem::Unparsed(_) => shape::one_query(sql).err(),
            _ => None,
        },
        problem: Some(problem),
    };
    if let Some(reason) = too_large_to_parse(sql) {
        return fallback(QueryProblem::Unparsed(reason));
    }
    let statements = match Parser::parse_sql(&RedshiftSqlDialect {}, sql) {
        Ok(statements) => statements,
        Err(error) => {
            return fallback(QueryProblem::Unparsed(format!("the query does not parse ({error})")));
        }
    };
    match statements.as_slice() {
        [Statement::Query(query)] => QueryAnalysis {
            references: references::parsed_references(query),
            method: DependencyMethod::Parsed,
            output: output_columns::of_query(query),
            problem: None,
            shape: None,
        },
        [] => fallback(QueryProblem::NotOneSelect("the file holds no query".to_owned())),
        [_] => fallback(QueryProblem::NotOneSelect("the file is not a `select` query".to_owned())),
        many => fallback(QueryProblem::NotOneStatement(ShapeProblem {
            // Where the second statement starts.
            line: shape::one_query(sql).err().and_then(|problem| problem.line),
            message: format!(
                "the file holds {} statements; a view is one `select` query",
                many.len()
            ),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_select_is_parsed() {
        let analysis = analyze_query("select city, country from first.cities_raw");
        assert_eq!(analysis.references, ["first.cities_raw"]);
        assert_eq!(analysis.method, DependencyMethod::Parsed);
        assert_eq!(analysis.problem, None);
    }

    #[test]
    fn non_queries_fall_back_with_a_problem() {
        let cases = [
            ("select from from where", "does not parse"),
            ("", "no query"),
            ("drop table first.cities", "not a `select`"),
            ("select 1 from a.b; select 2 from c.d", "2 statements"),
        ];
        for (sql, problem) in cases {
            let analysis = analyze_query(sql);
            assert_eq!(analysis.method, DependencyMethod::Tokens, "{sql}");
            let message = analysis.problem.as_ref().map(QueryProblem::message).unwrap_or_default();
            assert!(message.contains(problem), "{sql}: {message}");
        }
        assert_eq!(analyze_query("drop table first.cities").references, ["first.cities"]);
    }

    /// Long `union all` chains and huge queries are scanned, not parsed (a 10 MB chain needed
    /// gigabytes and overflowed the stack); up to the limits, they parse.
    #[test]
    fn queries_too_large_to_parse_are_scanned() {
        let chain = |branches: usize| -> String {
            vec!["select x from s.a join s.b using (id)"; branches].join("\nunion all\n")
        };
        let parsed = analyze_query(&chain(MAX_PARSED_SET_OPERATIONS + 1));
        assert_eq!(parsed.method, DependencyMethod::Parsed);
        assert_eq!(parsed.references, ["s.a", "s.b"]);
        let long = analyze_query(&chain(MAX_PARSED_SET_OPERATIONS + 2));
        assert_eq!(long.method, DependencyMethod::Tokens);
        assert_eq!(long.references, ["s.a", "s.b"]);
        assert!(
            long.problem.unwrap().message().contains("set operations"),
            "a chain past the limit"
        );
        let huge = format!("select 1 as x from s.a -- {}", "x".repeat(PARSE_LIMIT_BYTES));
        let analysis = analyze_query(&huge);
        assert_eq!(analysis.references, ["s.a"]);
        assert!(analysis.problem.unwrap().message().contains("too large to parse"));
        assert_eq!(analysis.shape, None, "one statement");
    }
}
