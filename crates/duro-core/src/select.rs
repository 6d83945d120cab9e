//! Node selection as dbt's node selection where it applies: `schema.table`, `schema.*`, `+X`
//! (X and everything it reads, transitively), `X+` (X and everything that reads it), `2+X` /
//! `X+1` (depth limits), `@X` (X, everything that reads it, and everything those read),
//! `source:schema.table+` (everything downstream of a source), `kind:processor` (any kind).
//! Several expressions are a union; `--exclude` expressions are taken out. Pure: the graph comes
//! in as data.

use crate::catalog::KindName;
use std::collections::{BTreeMap, BTreeSet};

/// One table as selection sees it.
#[derive(Clone, Debug)]
pub struct SelectTable {
    pub name: String,
    pub kind: KindName,
    /// Catalog tables it reads.
    pub dependencies: Vec<String>,
    /// Sources it reads.
    pub sources: Vec<String>,
}

/// What a selector starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Method {
    /// `schema.table`, or `schema.*`.
    Name {
        schema: String,
        table: Option<String>,
    },
    /// `source:schema.table` or `source:schema.*`: the tables that read it.
    Source {
        schema: String,
        table: Option<String>,
    },
    Kind(KindName),
}

/// How far a `+` reaches: `None` without limit.
type Depth = Option<u32>;

/// One parsed expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    text: String,
    method: Method,
    upstream: Option<Depth>,
    downstream: Option<Depth>,
    /// `@X`: the downstream of X and everything it reads.
    at: bool,
}

impl Selector {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("`{text}` is not a selector: {why}");
        let mut rest = text.trim();
        let at = rest.starts_with('@');
        if at {
            rest = &rest[1..];
        }
        let (upstream, after) = match rest.find('+') {
            Some(plus) if rest[..plus].bytes().all(|b| b.is_ascii_digit()) => {
                let depth = &rest[..plus];
                let depth = if depth.is_empty() {
                    None
                } else {
                    Some(depth.parse().map_err(|_| bad("the depth is not a number"))?)
                };
                (Some(depth), &rest[plus + 1..])
            }
            _ => (None, rest),
        };
        let (body, downstream) = match after.rfind('+') {
            Some(plus) if after[plus + 1..].bytes().all(|b| b.is_ascii_digit()) => {
                let depth = &after[plus + 1..];
                let depth = if depth.is_empty() {
                    None
                } else {
                    Some(depth.parse().map_err(|_| bad("the depth is not a number"))?)
                };
                (&after[..plus], Some(depth))
            }
            _ => (after, None),
        };
        if at && (upstream.is_some() || downstream.is_some()) {
            return Err(bad("`@` takes no `+`"));
        }
        let name = |text: &str| -> Result<(String, Option<String>), String> {
            let (schema, table) = text
                .split_once('.')
                .ok_or_else(|| bad("name a table as `schema.table` (or `schema.*`)"))?;
            let valid = |part: &str| crate::identifier::validate_identifier(part).is_ok();
            if !valid(schema) || !(table == "*" || valid(table)) {
                return Err(bad("names are lower case `schema.table` or `schema.*`"));
            }
            Ok((schema.to_owned(), (table != "*").then(|| table.to_owned())))
        };
        let method =
            match body.split_once(':') {
                Some(("source", rest)) => {
                    let (schema, table) = name(rest)?;
                    Method::Source { schema, table }
                }
                Some(("kind", kind)) => Method::Kind(kind.parse().map_err(|_| {
                    bad("kinds are `view`, `processor`, `replication` and `s3_load`")
                })?),
                Some((other, _)) => {
                    return Err(bad(&format!(
                        "`{other}:` is not a method (`source:`, `kind:`, or a table name)"
                    )));
                }
                None => {
                    let (schema, table) = name(body)?;
                    Method::Name { schema, table }
                }
            };
        Ok(Self { text: text.trim().to_owned(), method, upstream, downstream, at })
    }
}

/// The graph selection walks.
pub struct SelectionGraph {
    tables: BTreeMap<String, SelectTable>,
    readers: BTreeMap<String, Vec<String>>,
}

impl SelectionGraph {
    pub fn new(tables: Vec<SelectTable>) -> Self {
        let mut readers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for table in &tables {
            for dependency in &table.dependencies {
                readers.entry(dependency.clone()).or_default().push(table.name.clone());
            }
        }
        let tables = tables.into_iter().map(|t| (t.name.clone(), t)).collect();
        Self { tables, readers }
    }

    /// The tables `include` selects, less those `exclude` selects; an expression that matches
    /// nothing is an error naming it.
    pub fn select(
        &self,
        include: &[Selector],
        exclude: &[Selector],
    ) -> Result<BTreeSet<String>, String> {
        let mut selected = BTreeSet::new();
        for selector in include {
            selected.extend(self.matches(selector)?);
        }
        for selector in exclude {
            for name in self.matches(selector)? {
                selected.remove(&name);
            }
        }
        Ok(selected)
    }

    fn matches(&self, selector: &Selector) -> Result<BTreeSet<String>, String> {
        let in_schema = |schema: &str, table: &Option<String>, name: &str| {
            name.split_once('.').is_some_and(|(s, t)| {
                s == schema && table.as_deref().is_none_or(|table| table == t)
            })
        };
        let start: BTreeSet<String> = match &selector.method {
            Method::Name { schema, table } => {
                self.tables.keys().filter(|name| in_schema(schema, table, name)).cloned().collect()
            }
            // A source is never built: it stands for the tables that read it.
            Method::Source { schema, table } => self
                .tables
                .values()
                .filter(|t| t.sources.iter().any(|source| in_schema(schema, table, source)))
                .map(|t| t.name.clone())
                .collect(),
            Method::Kind(kind) => {
                self.tables.values().filter(|t| t.kind == *kind).map(|t| t.name.clone()).collect()
            }
        };
        if start.is_empty() {
            return Err(format!("`{}` matches no table of the catalog", selector.text));
        }
        let source = matches!(selector.method, Method::Source { .. });
        let mut selected = start.clone();
        if let Some(depth) = selector.upstream {
            selected.extend(self.walk(&start, depth, |name| self.dependencies(name)));
        }
        if let Some(depth) = selector.downstream {
            // From a source, its readers are the first step down.
            let depth = if source { depth.map(|d| d.saturating_sub(1)) } else { depth };
            selected.extend(self.walk(&start, depth, |name| self.readers(name)));
        }
        if selector.at {
            let down = self.walk(&start, None, |name| self.readers(name));
            let up = self.walk(&down, None, |name| self.dependencies(name));
            selected.extend(down);
            selected.extend(up);
        }
        Ok(selected)
    }

    fn dependencies(&self, name: &str) -> Vec<String> {
        self.tables.get(name).map(|t| t.dependencies.clone()).unwrap_or_default()
    }

    fn readers(&self, name: &str) -> Vec<String> {
        self.readers.get(name).cloned().unwrap_or_default()
    }

    /// `start` and what `next` reaches from it within `depth` steps.
    fn walk(
        &self,
        start: &BTreeSet<String>,
        depth: Depth,
        next: impl Fn(&str) -> Vec<String>,
    ) -> BTreeSet<String> {
        let mut seen = start.clone();
        let mut frontier: Vec<String> = start.iter().cloned().collect();
        let mut steps = 0;
        while !frontier.is_empty() && depth.is_none_or(|d| steps < d) {
            steps += 1;
            frontier = frontier
                .iter()
                .flat_map(|name| next(name))
                .filter(|name| seen.insert(name.clone()))
                .collect();
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// raw.events (a source) → s.a → s.b → s.c; s.d reads s.b; p.x (a processor) reads s.a;
    /// r.r (a replication node) stands alone.
    fn graph() -> SelectionGraph {
        let table = |name: &str, kind, dependencies: &[&str], sources: &[&str]| SelectTable {
            name: name.into(),
            kind,
            dependencies: dependencies.iter().map(|d| d.to_string()).collect(),
            sources: sources.iter().map(|s| s.to_string()).collect(),
        };
        SelectionGraph::new(vec![
            table("s.a", KindName::View, &[], &["raw.events"]),
            table("s.b", KindName::View, &["s.a"], &[]),
            table("s.c", KindName::View, &["s.b"], &[]),
            table("s.d", KindName::View, &["s.b"], &["raw.users"]),
            table("p.x", KindName::Processor, &["s.a"], &[]),
            table("r.r", KindName::Replication, &[], &[]),
        ])
    }

    fn select(include: &[&str], exclude: &[&str]) -> Result<Vec<String>, String> {
        let parse = |list: &[&str]| -> Result<Vec<Selector>, String> {
            list.iter().map(|text| Selector::parse(text)).collect()
        };
        Ok(graph().select(&parse(include)?, &parse(exclude)?)?.into_iter().collect())
    }

    #[test]
    fn every_form() {
        let cases: &[(&[&str], &[&str], &[&str])] = &[
            (&["s.b"], &[], &["s.b"]),
            (&["s.*"], &[], &["s.a", "s.b", "s.c", "s.d"]),
            (&["+s.c"], &[], &["s.a", "s.b", "s.c"]),
            (&["1+s.c"], &[], &["s.b", "s.c"]),
            (&["s.a+"], &[], &["p.x", "s.a", "s.b", "s.c", "s.d"]),
            (&["s.a+1"], &[], &["p.x", "s.a", "s.b"]),
            (&["+s.b+"], &[], &["s.a", "s.b", "s.c", "s.d"]),
            (&["@s.b"], &[], &["s.a", "s.b", "s.c", "s.d"]),
            (&["@s.c"], &[], &["s.a", "s.b", "s.c"]),
            (&["source:raw.events+"], &[], &["p.x", "s.a", "s.b", "s.c", "s.d"]),
            (&["source:raw.events+1"], &[], &["s.a"]),
            (&["source:raw.events"], &[], &["s.a"]),
            (&["source:raw.*"], &[], &["s.a", "s.d"]),
            (&["kind:processor"], &[], &["p.x"]),
            (&["kind:replication", "s.c"], &[], &["r.r", "s.c"]),
            (&["s.a+"], &["s.d", "kind:processor"], &["s.a", "s.b", "s.c"]),
        ];
        for (include, exclude, expected) in cases {
            assert_eq!(select(include, exclude).unwrap(), *expected, "{include:?} - {exclude:?}");
        }
    }

    #[test]
    fn errors_name_the_selector() {
        for (text, expected) in [
            ("s.nothing", "`s.nothing` matches no table"),
            ("source:raw.nothing+", "`source:raw.nothing+` matches no table"),
            ("cities", "name a table as `schema.table`"),
            ("kind:table", "kinds are `view`"),
            ("tag:nightly", "`tag:` is not a method"),
            ("@s.a+", "`@` takes no `+`"),
            ("S.A", "names are lower case"),
        ] {
            let error = select(&[text], &[]).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
