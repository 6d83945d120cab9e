//! The table name and columns a `create table` statement declares, read from tokens (the
//! `lexer`): Redshift DDL with `ENCODE` or `COMPOUND SORTKEY` does not parse with sqlparser, so
//! the DDL is never gated on the parser.

use super::lexer::{Kind, Lexeme, Lexer, is_word, name_of};

/// Words that start a table constraint rather than a column definition.
const CONSTRAINT_WORDS: [&str; 6] = ["constraint", "primary", "foreign", "unique", "check", "like"];

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

/// Reads the first `create table name (…)` of the text, or `None` when there is none.
pub fn ddl_table(ddl: &str) -> Option<DdlTable> {
    let tokens: Vec<Lexeme> = Lexer::new(ddl).collect::<Result<_, _>>().ok()?;
    let create = tokens.iter().position(|t| is_word(ddl, t, "create"))?;
    let table = create + tokens[create..].iter().position(|t| is_word(ddl, t, "table"))?;
    let open = table + tokens[table..].iter().position(|t| t.kind == Kind::LeftParen)?;
    let mut name_tokens = &tokens[table + 1..open];
    if name_tokens.len() >= 3
        && is_word(ddl, &name_tokens[0], "if")
        && is_word(ddl, &name_tokens[1], "not")
    {
        name_tokens = &name_tokens[3..];
    }
    let mut name = String::new();
    for token in name_tokens {
        match token.kind {
            Kind::Word | Kind::QuotedName => name.push_str(&name_of(ddl, token)?),
            Kind::Period => name.push('.'),
            _ => return None,
        }
    }
    let (columns, close) = column_names(ddl, &tokens[open + 1..])?;
    let declares_distribution = tokens[open + 1 + close..]
        .iter()
        .any(|t| DISTRIBUTION_WORDS.iter().any(|word| is_word(ddl, t, word)));
    Some(DdlTable { name, columns, declares_distribution })
}

/// The first word of every top-level element of a column list, and the position of its closing
/// parenthesis.
fn column_names(ddl: &str, tokens: &[Lexeme]) -> Option<(Vec<String>, usize)> {
    let mut columns = Vec::new();
    let mut depth = 0usize;
    let mut at_element_start = true;
    for (position, token) in tokens.iter().enumerate() {
        match token.kind {
            Kind::LeftParen => depth += 1,
            Kind::RightParen if depth == 0 => return Some((columns, position)),
            Kind::RightParen => depth -= 1,
            Kind::Other if depth == 0 && &ddl[token.range.clone()] == "," => {
                at_element_start = true
            }
            Kind::Word | Kind::QuotedName if at_element_start => {
                at_element_start = false;
                let name = name_of(ddl, token)?;
                if token.kind == Kind::QuotedName || !CONSTRAINT_WORDS.contains(&name.as_str()) {
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
            ("create table s.t (distkey int) distkey (distkey)", Some(("s.t", &["distkey"], true))),
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
