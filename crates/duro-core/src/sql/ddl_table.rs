//! The table name and columns a `create table` statement declares, read from tokens: Redshift
//! DDL with `ENCODE` or `COMPOUND SORTKEY` does not parse with sqlparser, so the DDL is never
//! gated on the parser.

use sqlparser::dialect::RedshiftSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// Words that start a table constraint rather than a column definition.
const CONSTRAINT_WORDS: [&str; 6] = [
    "constraint",
    "primary",
    "foreign",
    "unique",
    "check",
    "like",
];

/// What a `create table` statement declares. Names are lower case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DdlTable {
    /// The name after `create table` as written (`schema.table`, or just `table`).
    pub name: String,
    pub columns: Vec<String>,
    /// Whether the statement itself sets `diststyle`, `distkey` or `sortkey` (after its columns).
    pub declares_distribution: bool,
}

/// Redshift table attributes that Duro adds from `.conf`.
const DISTRIBUTION_WORDS: [&str; 3] = ["diststyle", "distkey", "sortkey"];

fn is_word(token: &Token, word: &str) -> bool {
    matches!(token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

/// Reads the first `create table name (…)` of the text, or `None` when there is none.
pub fn ddl_table(ddl: &str) -> Option<DdlTable> {
    let tokens: Vec<Token> = Tokenizer::new(&RedshiftSqlDialect {}, ddl)
        .tokenize()
        .ok()?
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let create = tokens.iter().position(|t| is_word(t, "create"))?;
    let table = create + tokens[create..].iter().position(|t| is_word(t, "table"))?;
    let open = table + tokens[table..].iter().position(|t| *t == Token::LParen)?;
    let mut name_tokens = &tokens[table + 1..open];
    if name_tokens.len() >= 3 && is_word(&name_tokens[0], "if") && is_word(&name_tokens[1], "not") {
        name_tokens = &name_tokens[3..];
    }
    let mut name = String::new();
    for token in name_tokens {
        match token {
            Token::Word(word) => name.push_str(&word.value.to_lowercase()),
            Token::Period => name.push('.'),
            _ => return None,
        }
    }
    let (columns, close) = column_names(&tokens[open + 1..])?;
    let declares_distribution = tokens[open + 1 + close..]
        .iter()
        .any(|t| DISTRIBUTION_WORDS.iter().any(|word| is_word(t, word)));
    Some(DdlTable {
        name,
        columns,
        declares_distribution,
    })
}

/// The first word of every top-level element of a column list, and the position of its closing
/// parenthesis.
fn column_names(tokens: &[Token]) -> Option<(Vec<String>, usize)> {
    let mut columns = Vec::new();
    let mut depth = 0usize;
    let mut at_element_start = true;
    for (position, token) in tokens.iter().enumerate() {
        match token {
            Token::LParen => depth += 1,
            Token::RParen if depth == 0 => return Some((columns, position)),
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => at_element_start = true,
            Token::Word(word) if at_element_start => {
                at_element_start = false;
                let name = word.value.to_lowercase();
                if word.quote_style.is_some() || !CONSTRAINT_WORDS.contains(&name.as_str()) {
                    columns.push(name);
                }
            }
            _ => at_element_start = false,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_of_ddl() {
        type Expected<'a> = Option<(&'a str, &'a [&'a str], bool)>;
        let cases: &[(&str, Expected)] = &[
            (
                "create table first.countries (country text, capital text)",
                Some(("first.countries", &["country", "capital"], false)),
            ),
            (
                "CREATE TABLE First.Countries(\nCity text encode zstd,\ncountry varchar(10) encode zstd, primary key (city)\n) diststyle even compound sortkey (city, country)",
                Some(("first.countries", &["city", "country"], true)),
            ),
            (
                "create table if not exists s.t (\"Quoted\" int, amount numeric(12, 2) not null)",
                Some(("s.t", &["quoted", "amount"], false)),
            ),
            (
                "create table s.t (id int, constraint pk primary key (id))",
                Some(("s.t", &["id"], false)),
            ),
            ("create temp table t (id int)", Some(("t", &["id"], false))),
            (
                "create table s.t (distkey int) distkey (distkey)",
                Some(("s.t", &["distkey"], true)),
            ),
            ("select 1", None),
            ("create table s.t (id int", None),
            ("create table 'x' (id int)", None),
        ];
        for (ddl, expected) in cases {
            let expected = expected.map(|(name, columns, declares_distribution)| DdlTable {
                name: name.to_string(),
                columns: columns.iter().map(|s| s.to_string()).collect(),
                declares_distribution,
            });
            assert_eq!(ddl_table(ddl), expected, "{ddl}");
        }
    }
}
