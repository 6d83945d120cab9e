//! A small SQL lexer for checks over whole files of any size: one pass over the text, yielding
//! only the kinds of token the checks need, allocating nothing per token (sqlparser's tokenizer
//! keeps about 80 bytes per token, so a 10 MB view would need several hundred MB).
//!
//! It reads the text as sqlparser's Redshift dialect does: `--` and `/* … */` comments (not
//! nested), strings in single quotes (`''` and backslash escapes, also `E'…'`), dollar quotes
//! (`$$…$$`, `$tag$…$tag$`), identifiers in double quotes (`""` escapes). One difference, on the
//! safe side: `[` is always punctuation, never the start of a bracketed name, so nothing inside
//! brackets is hidden from the checks.

use std::ops::Range;

/// What a lexeme is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// An unquoted name or keyword.
    Word,
    /// A name in double quotes.
    QuotedName,
    /// A string literal or dollar-quoted text.
    Text,
    Number,
    LeftParen,
    RightParen,
    Semicolon,
    Period,
    /// Any other punctuation or operator character.
    Other,
}

/// One token: its kind and where it is in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Lexeme {
    pub kind: Kind,
    pub range: Range<usize>,
}

/// Text the lexer cannot read: an unterminated string, name or comment, starting at `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LexError {
    pub at: usize,
    pub message: String,
}

/// The lexemes of `sql`, comments and whitespace skipped.
pub(super) struct Lexer<'a> {
    sql: &'a str,
    at: usize,
    failed: bool,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(sql: &'a str) -> Self {
        Self { sql, at: 0, failed: false }
    }
}

/// A name as SQL means it: an unquoted word folded to lower case, a quoted one unescaped
/// (and folded too, as Duro folds every name).
pub(super) fn name_of(sql: &str, lexeme: &Lexeme) -> Option<String> {
    let text = &sql[lexeme.range.clone()];
    match lexeme.kind {
        Kind::Word => Some(text.to_lowercase()),
        Kind::QuotedName => Some(text[1..text.len() - 1].replace("\"\"", "\"").to_lowercase()),
        _ => None,
    }
}

/// Whether the lexeme is the unquoted word `word` (any case).
pub(super) fn is_word(sql: &str, lexeme: &Lexeme, word: &str) -> bool {
    lexeme.kind == Kind::Word && sql[lexeme.range.clone()].eq_ignore_ascii_case(word)
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '#'
}

fn is_name_part(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || c == '#'
}

impl Iterator for Lexer<'_> {
    type Item = Result<Lexeme, LexError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let result = self.lex();
        if matches!(result, Some(Err(_))) {
            self.failed = true;
        }
        result
    }
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.sql[self.at..]
    }

    fn error(&self, at: usize, message: &str) -> Option<Result<Lexeme, LexError>> {
        Some(Err(LexError { at, message: message.to_owned() }))
    }

    fn lex(&mut self) -> Option<Result<Lexeme, LexError>> {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.at += rest.len() - trimmed.len();
            if trimmed.starts_with("--") {
                self.at += trimmed.find('\n').unwrap_or(trimmed.len());
            } else if let Some(comment) = trimmed.strip_prefix("/*") {
                match comment.find("*/") {
                    Some(end) => self.at += end + 4,
                    None => return self.error(self.at, "a `/*` comment is never closed"),
                }
            } else {
                break;
            }
        }
        let start = self.at;
        let rest = self.rest();
        let first = rest.chars().next()?;
        let lexeme = |kind, length: usize| Lexeme { kind, range: start..start + length };
        let found = match first {
            '\'' => match quoted_end(rest, '\'', true) {
                Some(length) => lexeme(Kind::Text, length),
                None => return self.error(start, "a string is never closed"),
            },
            'E' | 'e' if rest[1..].starts_with('\'') => match quoted_end(&rest[1..], '\'', true) {
                Some(length) => lexeme(Kind::Text, length + 1),
                None => return self.error(start, "a string is never closed"),
            },
            '"' => match quoted_end(rest, '"', false) {
                Some(length) => lexeme(Kind::QuotedName, length),
                None => return self.error(start, "a quoted name is never closed"),
            },
            '$' => match dollar_tag(rest) {
                Some(tag) => match rest[tag.len()..].find(tag) {
                    Some(end) => lexeme(Kind::Text, tag.len() + end + tag.len()),
                    None => return self.error(start, "a dollar-quoted text is never closed"),
                },
                // `$1`, or a lone `$`.
                None => {
                    let length =
                        1 + rest[1..].find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len() - 1);
                    lexeme(Kind::Other, length)
                }
            },
            '(' => lexeme(Kind::LeftParen, 1),
            ')' => lexeme(Kind::RightParen, 1),
            ';' => lexeme(Kind::Semicolon, 1),
            '.' => lexeme(Kind::Period, 1),
            c if c.is_ascii_digit() => {
                let length =
                    rest.find(|c: char| !(is_name_part(c) || c == '.')).unwrap_or(rest.len());
                lexeme(Kind::Number, length)
            }
            c if is_name_start(c) => {
                let length = rest.find(|c: char| !is_name_part(c)).unwrap_or(rest.len());
                lexeme(Kind::Word, length)
            }
            c => lexeme(Kind::Other, c.len_utf8()),
        };
        self.at = found.range.end;
        Some(Ok(found))
    }
}

/// The length of a quoted text starting at `text[0]` (a doubled quote stays inside; with
/// `backslash`, so does an escaped character), or `None` when it never closes.
fn quoted_end(text: &str, quote: char, backslash: bool) -> Option<usize> {
    let mut chars = text.char_indices().skip(1);
    while let Some((at, c)) = chars.next() {
        if backslash && c == '\\' {
            chars.next();
        } else if c == quote {
            if text[at + 1..].starts_with(quote) {
                chars.next();
            } else {
                return Some(at + 1);
            }
        }
    }
    None
}

/// `$$` or `$tag$` at the start of `text`.
fn dollar_tag(text: &str) -> Option<&str> {
    let inner = &text[1..];
    let end = inner.find(|c: char| !is_name_part(c) || c == '$')?;
    let tag = &inner[..end];
    let starts_like_a_name = tag.chars().next().is_none_or(is_name_start);
    (inner[end..].starts_with('$') && starts_like_a_name).then(|| &text[..end + 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(Kind, &str)> {
        Lexer::new(sql)
            .map(|lexeme| {
                let lexeme = lexeme.unwrap();
                (lexeme.kind, &sql[lexeme.range])
            })
            .collect()
    }

    #[test]
    fn lexemes() {
        use Kind::*;
        let cases: &[(&str, &[(Kind, &str)])] = &[
            (
                "select a.b, \"Q\"\"x\" from s.t;",
                &[
                    (Word, "select"),
                    (Word, "a"),
                    (Period, "."),
                    (Word, "b"),
                    (Other, ","),
                    (QuotedName, "\"Q\"\"x\""),
                    (Word, "from"),
                    (Word, "s"),
                    (Period, "."),
                    (Word, "t"),
                    (Semicolon, ";"),
                ],
            ),
            (
                "-- a ; comment\nselect /* ; ( */ 'it''s; (' , 'a\\'b' -- ;",
                &[(Word, "select"), (Text, "'it''s; ('"), (Other, ","), (Text, "'a\\'b'")],
            ),
            (
                "$$ ; ) $$ $x$ ; $ $x$ $1 E'\\';' 1.5e3 #tmp",
                &[
                    (Text, "$$ ; ) $$"),
                    (Text, "$x$ ; $ $x$"),
                    (Other, "$1"),
                    (Text, "E'\\';'"),
                    (Number, "1.5e3"),
                    (Word, "#tmp"),
                ],
            ),
            (
                "a[1]; café",
                &[
                    (Word, "a"),
                    (Other, "["),
                    (Number, "1"),
                    (Other, "]"),
                    (Semicolon, ";"),
                    (Word, "café"),
                ],
            ),
            ("x::int", &[(Word, "x"), (Other, ":"), (Other, ":"), (Word, "int")]),
        ];
        for (sql, expected) in cases {
            assert_eq!(kinds(sql), *expected, "{sql}");
        }
    }

    #[test]
    fn unterminated_text_is_an_error_where_it_starts() {
        for (sql, at) in [
            ("select 'open", 7),
            ("select \"open", 7),
            ("select $a$ open", 7),
            ("select 1 /* open", 9),
        ] {
            let error = Lexer::new(sql).find_map(Result::err).expect(sql);
            assert_eq!(error.at, at, "{sql}: {error:?}");
        }
    }

    #[test]
    fn names() {
        let sql = "First.\"We\"\"ird\" 'x'";
        let lexemes: Vec<Lexeme> = Lexer::new(sql).map(Result::unwrap).collect();
        let names: Vec<Option<String>> = lexemes.iter().map(|l| name_of(sql, l)).collect();
        assert_eq!(names, [Some("first".into()), None, Some("we\"ird".into()), None]);
        assert!(is_word(sql, &lexemes[0], "FIRST"));
    }
}
