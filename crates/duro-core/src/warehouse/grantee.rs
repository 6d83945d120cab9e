//! Who may read a table: one typed grantee (a user or role, a Redshift group, or PUBLIC, with or
//! without the grant option), one parser for the privilege text both dialects print, and one
//! way to render it in a `grant`. Names are kept exactly as the warehouse has them and are
//! always quoted when rendered.

use crate::identifier::quote_identifier;

/// What kind of principal a grantee is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GranteeKind {
    /// A user (Redshift) or any role (PostgreSQL, which does not tell them apart).
    User,
    /// A Redshift group (`group name`).
    Group,
    /// A Redshift role (`role name`).
    Role,
    /// Everyone.
    Public,
}

/// One holder of `select` on a table or view.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grantee {
    pub kind: GranteeKind,
    /// Empty for PUBLIC.
    pub name: String,
    pub with_grant_option: bool,
}

impl Grantee {
    /// A grantee of `grant_select` (`jane`, `group analysts`, `role bi`, `public`, `IAM:jane`),
    /// validated by the scheduler. An IAM identity is a user whose name keeps its case.
    pub fn from_config(text: &str) -> Self {
        let (kind, name) = if let Some(name) = text.strip_prefix("group ") {
            (GranteeKind::Group, name)
        } else if let Some(name) = text.strip_prefix("role ") {
            (GranteeKind::Role, name)
        } else if text.eq_ignore_ascii_case("public") {
            (GranteeKind::Public, "")
        } else {
            (GranteeKind::User, text)
        };
        Self { kind, name: name.trim().to_owned(), with_grant_option: false }
    }

    /// The `to` part of a grant: `"jane"`, `group "bi"`, `role "r"`, `public`.
    pub fn render(&self) -> String {
        match self.kind {
            GranteeKind::User => quote_identifier(&self.name),
            GranteeKind::Group => format!("group {}", quote_identifier(&self.name)),
            GranteeKind::Role => format!("role {}", quote_identifier(&self.name)),
            GranteeKind::Public => "public".to_owned(),
        }
    }

    /// `grant select on <relation> to …` (with the grant option when the grantee had it).
    pub fn grant_select(&self, relation: &str) -> String {
        let option = if self.with_grant_option { " with grant option" } else { "" };
        format!("grant select on {relation} to {}{option}", self.render())
    }
}

/// Sorts grantees and merges duplicates (the grant option is kept when any copy had it).
pub fn merge(mut grantees: Vec<Grantee>) -> Vec<Grantee> {
    grantees.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    let mut merged: Vec<Grantee> = Vec::with_capacity(grantees.len());
    for grantee in grantees {
        match merged.last_mut() {
            Some(last) if last.kind == grantee.kind && last.name == grantee.name => {
                last.with_grant_option |= grantee.with_grant_option;
            }
            _ => merged.push(grantee),
        }
    }
    merged
}

/// Redshift's own system user, which holds privileges on every table; never granted to again.
const REDSHIFT_SYSTEM_USER: &str = "rdsdb";

/// The grantees holding `select` (`r`) in a privilege list, `owner` and `rdsdb` (Redshift's
/// system user) excluded. Accepted forms:
/// PostgreSQL's `relacl::text` array (`{duro=arwdDxt/duro,"\"data-team\"=r/duro"}`, elements
/// quoted with backslash escapes) and `array_to_string(relacl, ',')` (both dialects:
/// `jane=r/duro,"data-team"=r*/duro,group bi=r/duro,=r/duro`), where names with other than
/// plain characters are double-quoted with `""` for a quote, `group ` marks a Redshift group,
/// `role ` a Redshift role, and an empty name is PUBLIC. Malformed items are skipped.
pub fn select_grantees(privileges: &str, owner: &str) -> Vec<Grantee> {
    let grantees = items(privileges.trim())
        .iter()
        .filter_map(|item| parse_item(item))
        .filter(|g| {
            !(g.kind == GranteeKind::User && (g.name == owner || g.name == REDSHIFT_SYSTEM_USER))
        })
        .collect();
    merge(grantees)
}

/// The items of the list: array elements (unquoted and unescaped) when it is in `{…}`, else
/// comma-separated items (commas inside double-quoted names do not split).
fn items(text: &str) -> Vec<String> {
    if let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        return array_elements(inner);
    }
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        items.push(current);
    }
    items
}

/// PostgreSQL array output: elements separated by commas; an element in double quotes has `\"`
/// and `\\` escapes.
fn array_elements(inner: &str) -> Vec<String> {
    let mut elements = Vec::new();
    let mut chars = inner.chars().peekable();
    while chars.peek().is_some() {
        let mut element = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => element.extend(chars.next()),
                    '"' => break,
                    _ => element.push(c),
                }
            }
            // Up to the separator.
            for c in chars.by_ref() {
                if c == ',' {
                    break;
                }
            }
        } else {
            for c in chars.by_ref() {
                if c == ',' {
                    break;
                }
                element.push(c);
            }
        }
        elements.push(element);
    }
    elements
}

/// One `grantee=privileges/grantor` item; `None` when it does not grant `select` or is malformed.
fn parse_item(item: &str) -> Option<Grantee> {
    let item = item.trim();
    let (kind, rest) = if let Some(rest) = item.strip_prefix("group ") {
        (GranteeKind::Group, rest)
    } else if let Some(rest) = item.strip_prefix("role ") {
        (GranteeKind::Role, rest)
    } else {
        (GranteeKind::User, item)
    };
    let (name, rest) = read_name(rest)?;
    let privileges = rest.strip_prefix('=')?.split('/').next()?;
    let at = privileges.find('r')?;
    let with_grant_option = privileges[at + 1..].starts_with('*');
    let kind =
        if name.is_empty() && kind == GranteeKind::User { GranteeKind::Public } else { kind };
    Some(Grantee { kind, name, with_grant_option })
}

/// A name, double-quoted (`""` for a quote) or plain, and what follows it.
fn read_name(text: &str) -> Option<(String, &str)> {
    let Some(quoted) = text.strip_prefix('"') else {
        let end = text.find('=')?;
        return Some((text[..end].to_owned(), &text[end..]));
    };
    let mut name = String::new();
    let mut chars = quoted.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '"' {
            name.push(c);
        } else if chars.peek().is_some_and(|(_, next)| *next == '"') {
            chars.next();
            name.push('"');
        } else {
            return Some((name, &quoted[at + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> Grantee {
        Grantee { kind: GranteeKind::User, name: name.to_owned(), with_grant_option: false }
    }

    fn group(name: &str) -> Grantee {
        Grantee { kind: GranteeKind::Group, ..user(name) }
    }

    fn role(name: &str) -> Grantee {
        Grantee { kind: GranteeKind::Role, ..user(name) }
    }

    fn public() -> Grantee {
        Grantee { kind: GranteeKind::Public, ..user("") }
    }

    fn granting(grantee: Grantee) -> Grantee {
        Grantee { with_grant_option: true, ..grantee }
    }

    /// Privilege texts as PostgreSQL 15 and Redshift print them, owner `duro`.
    #[test]
    fn privilege_texts_of_both_dialects() {
        let cases: Vec<(&str, Vec<Grantee>)> = vec![
            ("{duro=arwdDxt/duro,jane=r/duro}", vec![user("jane")]),
            // relacl::text on PostgreSQL: array elements with quotes are escaped.
            (
                r#"{duro=arwdDxt/duro,"\"data-team\"=r/duro","\"evil\"\"role\"=r/duro"}"#,
                vec![user("data-team"), user("evil\"role")],
            ),
            (
                r#"{"\"a.b\"=r/duro","\"x@y\"=r*/duro","\"group bi\"=r/duro"}"#,
                vec![user("a.b"), user("group bi"), granting(user("x@y"))],
            ),
            ("{=r/duro}", vec![public()]),
            ("{john=arw/duro,x=w/duro}", vec![user("john")]),
            // array_to_string(relacl, ','), PostgreSQL.
            (
                r#"duro=arwdDxt/duro,"data-team"=r/duro,"evil""role"=r/duro,"we,ird"=r/duro"#,
                vec![user("data-team"), user("evil\"role"), user("we,ird")],
            ),
            // Redshift: groups with the `group ` prefix, PUBLIC as an empty name.
            (
                r#"duro=arwdRxtDPA/duro,group bi=r/duro,group "data-team"=r/duro,=r/duro,jane=r*/duro"#,
                vec![granting(user("jane")), group("bi"), group("data-team"), public()],
            ),
            // Redshift: `rdsdb` (the system user) is never carried; roles with `role `; IAM
            // identities quoted, case kept.
            (
                r#"rdsdb=arwdRxtDPA/rdsdb,duro=arwdRxtDPA/duro,role bi=r/duro,"IAM:Jane"=r/duro,"IAMR:Analyst"=r/duro"#,
                vec![user("IAM:Jane"), user("IAMR:Analyst"), role("bi")],
            ),
            ("", vec![]),
            ("{}", vec![]),
            ("garbage,\"unterminated=r/duro", vec![]),
        ];
        for (text, expected) in cases {
            assert_eq!(select_grantees(text, "duro"), expected, "{text}");
        }
    }

    #[test]
    fn rendering_always_quotes() {
        let cases = [
            (Grantee::from_config("jane"), "grant select on t to \"jane\""),
            (Grantee::from_config("group analysts"), "grant select on t to group \"analysts\""),
            (Grantee::from_config("role bi"), "grant select on t to role \"bi\""),
            (Grantee::from_config("public"), "grant select on t to public"),
            (Grantee::from_config("IAM:Jane.Doe"), "grant select on t to \"IAM:Jane.Doe\""),
            (Grantee::from_config("IAMR:Analyst"), "grant select on t to \"IAMR:Analyst\""),
            (user("data-team"), "grant select on t to \"data-team\""),
            (user("evil\"role"), "grant select on t to \"evil\"\"role\""),
            (group("group bi"), "grant select on t to group \"group bi\""),
            (granting(user("x@y")), "grant select on t to \"x@y\" with grant option"),
        ];
        for (grantee, expected) in cases {
            assert_eq!(grantee.grant_select("t"), expected, "{grantee:?}");
        }
    }

    #[test]
    fn merging_keeps_the_grant_option() {
        let merged = merge(vec![user("b"), granting(user("a")), user("a"), group("a")]);
        assert_eq!(merged, [granting(user("a")), user("b"), group("a")]);
    }
}
