//! Rewriting SQL text at the token level, so comments, strings and layout survive untouched:
//! pointing references of one table at another (tests and dependent views at the temporary
//! table), and splitting a file of `;`-separated statements.

use sqlparser::dialect::RedshiftSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

/// Tokens (whitespace dropped) with their byte ranges in `sql`.
fn tokens(sql: &str) -> Result<Vec<(Token, std::ops::Range<usize>)>, String> {
    let spanned: Vec<TokenWithSpan> = Tokenizer::new(&RedshiftSqlDialect {}, sql)
        .with_unescape(false)
        .tokenize_with_location()
        .map_err(|e| format!("cannot read the SQL: {e}"))?;
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(sql.match_indices('\n').map(|(at, _)| at + 1)).collect();
    let offset = |location: Location| -> usize {
        let line_start = line_starts
            .get((location.line as usize).saturating_sub(1))
            .copied()
            .unwrap_or(sql.len());
        let line = &sql[line_start..];
        line.char_indices()
            .nth((location.column as usize).saturating_sub(1))
            .map_or(sql.len(), |(at, _)| line_start + at)
    };
    Ok(spanned
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF))
        .map(|t| {
            let range = offset(t.span.start)..offset(t.span.end);
            (t.token, range)
        })
        .collect())
}

/// Keywords that can follow a table reference and are not its alias.
const CLAUSE_KEYWORDS: [Keyword; 30] = [
    Keyword::WHERE,
    Keyword::JOIN,
    Keyword::INNER,
    Keyword::LEFT,
    Keyword::RIGHT,
    Keyword::FULL,
    Keyword::CROSS,
    Keyword::NATURAL,
    Keyword::OUTER,
    Keyword::ON,
    Keyword::USING,
    Keyword::GROUP,
    Keyword::ORDER,
    Keyword::HAVING,
    Keyword::LIMIT,
    Keyword::OFFSET,
    Keyword::FETCH,
    Keyword::UNION,
    Keyword::EXCEPT,
    Keyword::INTERSECT,
    Keyword::MINUS,
    Keyword::WINDOW,
    Keyword::QUALIFY,
    Keyword::FOR,
    Keyword::TABLESAMPLE,
    Keyword::RETURNING,
    Keyword::SET,
    Keyword::WITH,
    Keyword::LATERAL,
    Keyword::AND,
];

fn word_is(token: &Token, name: &str) -> bool {
    matches!(token, Token::Word(word) if word.value.eq_ignore_ascii_case(name))
}

/// Points every reference to `schema.table` in a query (any case, quoted or not, also as the
/// qualifier of a column, also after a database name) at `schema."new_table"`. Where the table
/// had no alias, its old name becomes the alias, so column references like `table.column` keep
/// working. Every other byte is kept.
pub fn rename_table(
    sql: &str,
    schema: &str,
    table: &str,
    new_table: &str,
) -> Result<String, String> {
    rename(sql, schema, table, new_table, true)
}

/// Renames the table a `create table` statement creates; every other byte is kept.
pub fn rename_table_in_ddl(
    ddl: &str,
    schema: &str,
    table: &str,
    new_table: &str,
) -> Result<String, String> {
    rename(ddl, schema, table, new_table, false)
}

fn rename(
    sql: &str,
    schema: &str,
    table: &str,
    new_table: &str,
    keep_name_as_alias: bool,
) -> Result<String, String> {
    let tokens = tokens(sql)?;
    let mut output = String::with_capacity(sql.len() + 16);
    let mut copied = 0;
    for (index, window) in tokens.windows(3).enumerate() {
        if let [(first, _), (Token::Period, _), (last, range)] = window
            && word_is(first, schema)
            && word_is(last, table)
        {
            output.push_str(&sql[copied..range.start]);
            output.push_str(&crate::identifier::quote_identifier(new_table));
            let has_alias_or_column = match tokens.get(index + 3).map(|(token, _)| token) {
                Some(Token::Period) => true,
                // Any word but a clause keyword is an alias (`data`, `name`, `date` are keywords too).
                Some(Token::Word(word)) => {
                    word.quote_style.is_some() || !CLAUSE_KEYWORDS.contains(&word.keyword)
                }
                _ => false,
            };
            if keep_name_as_alias && !has_alias_or_column {
                output.push(' ');
                output.push_str(&crate::identifier::quote_identifier(&table.to_lowercase()));
            }
            copied = range.end;
        }
    }
    output.push_str(&sql[copied..]);
    Ok(output)
}

/// Splits SQL into statements at `;` outside strings and comments. Pieces holding only
/// whitespace and comments are dropped.
pub fn split_statements(sql: &str) -> Result<Vec<String>, String> {
    let mut statements = Vec::new();
    let mut start: Option<usize> = None;
    let mut end = 0;
    for (token, range) in tokens(sql)? {
        if token == Token::SemiColon {
            if let Some(from) = start.take() {
                statements.push(sql[from..end].to_owned());
            }
        } else {
            start.get_or_insert(range.start);
            end = range.end;
        }
    }
    if let Some(from) = start {
        statements.push(sql[from..end].to_owned());
    }
    Ok(statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renaming_references() {
        let cases = [
            ("select * from first.cities", "select * from first.\"cities_duro_temp\" \"cities\""),
            ("select * from FIRST.Cities c", "select * from FIRST.\"cities_duro_temp\" c"),
            (
                "select * from first.cities as c where",
                "select * from first.\"cities_duro_temp\" as c where",
            ),
            (
                "select * from \"first\".\"cities\"",
                "select * from \"first\".\"cities_duro_temp\" \"cities\"",
            ),
            (
                "select first.cities.city from db.first.cities where x",
                "select first.\"cities_duro_temp\".city from db.first.\"cities_duro_temp\" \"cities\" where x",
            ),
            // pg_get_viewdef qualifies columns with the table name.
            (
                " SELECT cities.city\n   FROM first.cities\n  WHERE (cities.city <> ''::text);",
                " SELECT cities.city\n   FROM first.\"cities_duro_temp\" \"cities\"\n  WHERE (cities.city <> ''::text);",
            ),
            // Aliases that are keywords elsewhere are still aliases.
            (
                "select data.x from first.cities data where",
                "select data.x from first.\"cities_duro_temp\" data where",
            ),
            (
                "select * from first.cities join x.y using (id)",
                "select * from first.\"cities_duro_temp\" \"cities\" join x.y using (id)",
            ),
            // Regression: Python Duro's plain text replace also changed these.
            ("select * from first.cities_raw", "select * from first.cities_raw"),
            (
                "select 'first.cities' as s -- first.cities\nfrom x.y",
                "select 'first.cities' as s -- first.cities\nfrom x.y",
            ),
            ("select cities from other.cities", "select cities from other.cities"),
            (
                "select 'it''s' as s, $$a.b$$ from first.cities;",
                "select 'it''s' as s, $$a.b$$ from first.\"cities_duro_temp\" \"cities\";",
            ),
            (
                "select 'café' as c from\n  first.cities x",
                "select 'café' as c from\n  first.\"cities_duro_temp\" x",
            ),
        ];
        for (sql, expected) in cases {
            assert_eq!(
                rename_table(sql, "first", "cities", "cities_duro_temp").unwrap(),
                expected,
                "{sql}"
            );
        }
    }

    #[test]
    fn renaming_in_ddl_adds_no_alias() {
        let ddl = "create table First.Countries (\n  country text\n) diststyle even";
        assert_eq!(
            rename_table_in_ddl(ddl, "first", "countries", "countries_duro_temp").unwrap(),
            "create table First.\"countries_duro_temp\" (\n  country text\n) diststyle even"
        );
    }

    #[test]
    fn splitting_statements() {
        let cases: &[(&str, &[&str])] = &[
            ("select 1;select 2", &["select 1", "select 2"]),
            // Regression: a trailing blank line after the last `;` crashed Python Duro.
            ("select 1;\n\n", &["select 1"]),
            ("select ';' as s; -- done;\n", &["select ';' as s"]),
            ("/* only a comment */", &[]),
            ("select 1 /* ; */ as x", &["select 1 /* ; */ as x"]),
            ("-- intro\nselect 'é' as e;\nselect 2", &["select 'é' as e", "select 2"]),
        ];
        for (sql, expected) in cases {
            assert_eq!(split_statements(sql).unwrap(), *expected, "{sql:?}");
        }
    }
}
