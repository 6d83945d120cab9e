//! The line structure of INI text as Python's configparser reads it, which is how the original
//! Duro read its files: `[section]` headers, `key = value` or `key: value` entries (the first
//! `=` or `:` splits them), `#` and `;` comments on their own line, and indented continuation
//! lines joined to the entry above with a newline.
//!
//! Shared by table `.conf` files (which have no sections) and the original's `config.conf`;
//! what the keys mean is theirs.

/// One logical line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// `[name]` on line `line` (1-based).
    Section { line: usize, name: String },
    /// An entry starting on line `line`, trimmed, continuation lines joined with `\n`.
    Entry { line: usize, text: String },
}

/// The logical lines of `text`, blank lines and comments left out. As in configparser, a line
/// continues the entry above only when it is indented more than that entry's first line.
pub fn lines(text: &str) -> Vec<Line> {
    let mut lines: Vec<Line> = Vec::new();
    // The indentation of the open entry's first line.
    let mut entry_indent: Option<usize> = None;
    for (index, raw_line) in text.lines().enumerate() {
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let indent = raw_line.len() - raw_line.trim_start().len();
        match lines.last_mut() {
            Some(Line::Entry { text, .. }) if entry_indent.is_some_and(|first| indent > first) => {
                text.push('\n');
                text.push_str(line);
            }
            _ => match line.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
                Some(name) => {
                    entry_indent = None;
                    lines.push(Line::Section { line: index + 1, name: name.to_owned() });
                }
                None => {
                    entry_indent = Some(indent);
                    lines.push(Line::Entry { line: index + 1, text: line.to_owned() });
                }
            },
        }
    }
    lines
}

/// An entry's key (trimmed, lower-cased as configparser does) and value (trimmed), split at
/// the first `=` or `:`; `None` when the entry has neither.
pub fn split_entry(text: &str) -> Option<(String, &str)> {
    let at = text.find(['=', ':'])?;
    Some((text[..at].trim().to_lowercase(), text[at + 1..].trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_entries_comments_and_continuations() {
        let text = "; top comment\n[main]\nViews = ./views\n# comment\ndb: duro.db\n\n[redshift]\noptions = -c a=1\n  -c b=2\nbare line\n";
        assert_eq!(
            lines(text),
            [
                Line::Section { line: 2, name: "main".to_owned() },
                Line::Entry { line: 3, text: "Views = ./views".to_owned() },
                Line::Entry { line: 5, text: "db: duro.db".to_owned() },
                Line::Section { line: 7, name: "redshift".to_owned() },
                Line::Entry { line: 8, text: "options = -c a=1\n-c b=2".to_owned() },
                Line::Entry { line: 10, text: "bare line".to_owned() },
            ]
        );
    }

    /// Keys indented alike are separate entries; only a deeper line continues one.
    #[test]
    fn indented_keys_are_entries_of_their_own() {
        let text = "[main]\n    views = v\n    db = x\n        continued\n";
        assert_eq!(
            lines(text),
            [
                Line::Section { line: 1, name: "main".to_owned() },
                Line::Entry { line: 2, text: "views = v".to_owned() },
                Line::Entry { line: 3, text: "db = x\ncontinued".to_owned() },
            ]
        );
    }

    #[test]
    fn splitting_entries() {
        let cases = [
            ("Views = ./views", Some(("views", "./views"))),
            ("db: duro.db", Some(("db", "duro.db"))),
            ("url = https://hooks.example/x", Some(("url", "https://hooks.example/x"))),
            ("password = a=b", Some(("password", "a=b"))),
            ("empty =", Some(("empty", ""))),
            ("bare line", None),
        ];
        for (text, expected) in cases {
            let split = split_entry(text);
            assert_eq!(split.as_ref().map(|(k, v)| (k.as_str(), *v)), expected, "{text}");
        }
    }
}
