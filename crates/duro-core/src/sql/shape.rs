//! The shape of SQL text from the views repository, checked with the tokenizer so it holds even
//! when the text does not parse (comments, strings and dollar quotes never count): a view or
//! processor select is exactly one statement with balanced parentheses (it is wrapped in
//! `create table … as (…)`), a processor's DDL is exactly one `create table`, and each data test
//! is one read-only query.

use super::lexer::{Kind, Lexeme, Lexer, is_word};

/// What is wrong, and on which line of the text it starts (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeProblem {
    pub line: Option<usize>,
    pub message: String,
}

/// Words that make a query write (`with x as (delete …)`, `select … into`).
const WRITING_WORDS: [&str; 5] = ["insert", "update", "delete", "merge", "into"];

type Tokens = Vec<Lexeme>;

fn line_of(sql: &str, at: usize) -> usize {
    1 + sql.as_bytes()[..at.min(sql.len())].iter().filter(|b| **b == b'\n').count()
}

fn problem(sql: &str, at: usize, message: String) -> ShapeProblem {
    ShapeProblem { line: Some(line_of(sql, at)), message }
}

fn read(sql: &str) -> Result<Tokens, ShapeProblem> {
    Lexer::new(sql)
        .collect::<Result<_, _>>()
        .map_err(|error| problem(sql, error.at, format!("cannot read the SQL: {}", error.message)))
}

/// The statements of a `;`-separated text, as token slices (empty ones dropped).
fn statements(tokens: &[Lexeme]) -> Vec<&[Lexeme]> {
    tokens
        .split(|lexeme| lexeme.kind == Kind::Semicolon)
        .filter(|statement| !statement.is_empty())
        .collect()
}

/// Parentheses must balance within one statement.
fn balanced(sql: &str, statement: &[Lexeme]) -> Result<(), ShapeProblem> {
    let mut open = Vec::new();
    for lexeme in statement {
        match lexeme.kind {
            Kind::LeftParen => open.push(lexeme.range.start),
            Kind::RightParen if open.pop().is_none() => {
                return Err(problem(
                    sql,
                    lexeme.range.start,
                    "a `)` closes a parenthesis that was never opened".to_owned(),
                ));
            }
            _ => {}
        }
    }
    match open.last() {
        Some(at) => Err(problem(sql, *at, "a `(` is never closed".to_owned())),
        None => Ok(()),
    }
}

/// Exactly one statement with balanced parentheses; `what` names it in messages.
fn single(sql: &str, what: &str) -> Result<Tokens, ShapeProblem> {
    let tokens = read(sql)?;
    let statements = statements(&tokens);
    match statements.as_slice() {
        [] => Err(ShapeProblem {
            line: None,
            message: format!("the file holds no statement; {what}"),
        }),
        [one] => {
            balanced(sql, one)?;
            Ok(tokens)
        }
        [_, second, ..] => Err(problem(
            sql,
            second[0].range.start,
            format!("a second statement starts here; {what}, so remove the `;` and what follows"),
        )),
    }
}

/// A view's or processor's select: one statement, balanced parentheses.
pub fn one_query(sql: &str) -> Result<(), ShapeProblem> {
    single(sql, "a view is exactly one query").map(|_| ())
}

/// A processor's DDL: one `create table` statement, balanced parentheses.
pub fn one_create_table(sql: &str) -> Result<(), ShapeProblem> {
    let what = "a processor's DDL is exactly one `create table` statement";
    let tokens = single(sql, what)?;
    match tokens.as_slice() {
        [create, table, ..] if is_word(sql, create, "create") && is_word(sql, table, "table") => {
            Ok(())
        }
        _ => Err(problem(
            sql,
            tokens.first().map_or(0, |lexeme| lexeme.range.start),
            format!("this is not a `create table` statement; {what}"),
        )),
    }
}

/// A column's source expression in a replication node (`lower(email)`, `price * 100`): one
/// expression with balanced parentheses, no `;` and no subquery, since it is placed in the
/// select list of the source query. No backslash either: databases disagree on whether it
/// escapes a quote, so a string could end where this check does not see it end; and no `/*`
/// comment, which MySQL may run (`/*! … */`).
pub fn column_expression(sql: &str) -> Result<(), ShapeProblem> {
    if let Some(at) = sql.find('\\') {
        return Err(problem(
            sql,
            at,
            "a backslash: databases read it differently inside strings; write the expression without one".to_owned(),
        ));
    }
    if let Some(at) = sql.find("/*") {
        return Err(problem(
            sql,
            at,
            "a `/*` comment: MySQL runs `/*! … */` comments as SQL; write the expression without comments".to_owned(),
        ));
    }
    let tokens = read(sql)?;
    if tokens.is_empty() {
        return Err(ShapeProblem { line: None, message: "the expression is empty".to_owned() });
    }
    if let Some(semicolon) = tokens.iter().find(|lexeme| lexeme.kind == Kind::Semicolon) {
        return Err(problem(
            sql,
            semicolon.range.start,
            "a `;` ends the statement: one expression only".to_owned(),
        ));
    }
    if let Some(select) = tokens.iter().find(|lexeme| is_word(sql, lexeme, "select")) {
        return Err(problem(
            sql,
            select.range.start,
            "a subquery: one expression over the source table's columns only".to_owned(),
        ));
    }
    balanced(sql, &tokens)
}

/// Every problem of a data test file: each `;`-separated test must be one query (`select` or
/// `with`), with balanced parentheses, that writes nothing.
pub fn read_only_queries(sql: &str) -> Vec<ShapeProblem> {
    let tokens = match read(sql) {
        Ok(tokens) => tokens,
        Err(problem) => return vec![problem],
    };
    let mut problems = Vec::new();
    for (index, statement) in statements(&tokens).into_iter().enumerate() {
        let number = index + 1;
        let first = &statement[0];
        let starts_a_query = is_word(sql, first, "select")
            || is_word(sql, first, "with")
            || first.kind == Kind::LeftParen;
        if !starts_a_query {
            problems.push(problem(
                sql,
                first.range.start,
                format!(
                    "test {number} is not a query: each test is one `select` (or `with … select`)"
                ),
            ));
            continue;
        }
        if let Err(mut unbalanced) = balanced(sql, statement) {
            unbalanced.message = format!("test {number}: {}", unbalanced.message);
            problems.push(unbalanced);
            continue;
        }
        if let Some(writing) = statement
            .iter()
            .find(|lexeme| WRITING_WORDS.iter().any(|word| is_word(sql, lexeme, word)))
        {
            problems.push(problem(
                sql,
                writing.range.start,
                format!(
                    "test {number} contains `{}`: tests are read-only queries (no insert, update, delete, merge or `select … into`); a column of that name must be quoted",
                    &sql[writing.range.clone()]
                ),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(result: Result<(), ShapeProblem>) -> Option<(Option<usize>, String)> {
        result.err().map(|p| (p.line, p.message))
    }

    #[test]
    fn column_expressions() {
        let cases: &[(&str, Option<&str>)] = &[
            ("email", None),
            ("lower(email) || ';'", None),
            ("case when a > 0 then 'x' else 'y' end", None),
            ("", Some("empty")),
            ("email; drop table users", Some("a `;` ends the statement")),
            ("(select password from users limit 1)", Some("a subquery")),
            ("lower(email", Some("never closed")),
            ("'unterminated", Some("cannot read the SQL")),
            // PostgreSQL ends the string at the second quote; a backslash-escaping reader would not.
            ("'\\' ) as x, password from other_table --'", Some("a backslash")),
            // MySQL runs an executable comment as SQL.
            ("/*! ) , (select password from mysql.user) , ( */ 1", Some("a `/*` comment")),
        ];
        for (sql, expected) in cases {
            let result = column_expression(sql).err().map(|p| p.message);
            match (&result, expected) {
                (None, None) => {}
                (Some(message), Some(text)) => assert!(message.contains(text), "{sql}: {message}"),
                _ => panic!("{sql}: {result:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn one_query_per_view() {
        let cases: &[(&str, Option<(usize, &str)>)] = &[
            ("select 1", None),
            ("select (1 + (2)) as a from s.t", None),
            ("select ')' as a, $$ ( $$ as b -- )\n from s.t /* ; ( */", None),
            // Does not parse, but has one statement: fine here (a warning elsewhere).
            ("select from from where (", Some((1, "never closed"))),
            (
                "select 1 as a); drop table victim.k1; create table victim.pwned as (select current_user::text as who",
                Some((1, "a second statement")),
            ),
            ("select 1;\ndrop table victim.k1", Some((2, "a second statement"))),
            ("select 1\n;\n;select 2", Some((3, "a second statement"))),
            ("select (1\n", Some((1, "never closed"))),
            ("select 1 as a) union (select 2", Some((1, "never opened"))),
        ];
        for (sql, expected) in cases {
            let result = found(one_query(sql));
            let expected = expected.map(|(line, text)| (Some(line), text));
            match (&result, expected) {
                (None, None) => {}
                (Some((line, message)), Some((want_line, text))) => {
                    assert_eq!(*line, want_line, "{sql}: {message}");
                    assert!(message.contains(text), "{sql}: {message}");
                }
                _ => panic!("{sql}: {result:?}"),
            }
        }
        assert!(found(one_query("select 'unterminated")).is_some());
    }

    #[test]
    fn processor_ddl_is_one_create_table() {
        assert_eq!(found(one_create_table("create table s.t (a int) diststyle even")), None);
        assert_eq!(found(one_create_table("CREATE TABLE s.t (\n a int\n)")), None);
        let cases = [
            ("drop table victim.k1; create table s.t (a int)", "second statement"),
            ("create table s.t (a int); drop table victim.k1", "second statement"),
            ("create view s.t as select 1", "not a `create table`"),
            ("create table s.t (a int", "never closed"),
        ];
        for (sql, expected) in cases {
            let (_, message) = found(one_create_table(sql)).expect(sql);
            assert!(message.contains(expected), "{sql}: {message}");
        }
    }

    #[test]
    fn tests_are_read_only_queries() {
        assert_eq!(
            read_only_queries(
                "select count(*) > 0 from s.t;\nwith x as (select 1) select true from x;\n-- done\n"
            ),
            []
        );
        assert_eq!(read_only_queries(r#"select "update" from s.t"#), []);
        let cases = [
            ("drop table victim.k1", 1, "test 1 is not a query"),
            ("select true;\ndelete from victim.k1", 2, "test 2 is not a query"),
            (
                "with gone as (delete from victim.k1 returning *) select true from gone",
                1,
                "contains `delete`",
            ),
            ("select * into victim.copy from s.t", 1, "contains `into`"),
            ("select true;\n\nselect (1", 3, "test 2: a `(` is never closed"),
        ];
        for (sql, line, expected) in cases {
            let problems = read_only_queries(sql);
            assert_eq!(problems.len(), 1, "{sql}: {problems:?}");
            assert_eq!(problems[0].line, Some(line), "{sql}");
            assert!(problems[0].message.contains(expected), "{sql}: {:?}", problems[0]);
        }
    }
}
