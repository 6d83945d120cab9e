//! The dependency graph (petgraph): an edge A → B means "A reads B", so B is built before A.
//! Cycles are strongly connected components; every walk here terminates on cyclic graphs.

use crate::catalog::Catalog;
use petgraph::Direction;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt::Write as _;

/// Tables and their dependency edges.
#[derive(Clone, Debug, Default)]
pub struct DependencyGraph {
    graph: DiGraph<String, ()>,
    index: HashMap<String, NodeIndex>,
}

impl DependencyGraph {
    /// The graph of a catalog: one node per table, one edge per (managed) dependency.
    pub fn from_catalog(catalog: &Catalog) -> Self {
        let edges = catalog
            .tables
            .iter()
            .flat_map(|(name, t)| t.dependencies.iter().map(move |d| (name.as_str(), d.as_str())));
        Self::from_edges(catalog.tables.keys().map(String::as_str), edges)
    }

    /// A graph from node names and (dependent, dependency) pairs; unknown names in edges are added.
    pub fn from_edges<'a>(
        nodes: impl IntoIterator<Item = &'a str>,
        edges: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let mut graph = Self::default();
        for name in nodes {
            graph.node(name);
        }
        for (from, to) in edges {
            let (from, to) = (graph.node(from), graph.node(to));
            graph.graph.update_edge(from, to, ());
        }
        graph
    }

    fn node(&mut self, name: &str) -> NodeIndex {
        if let Some(index) = self.index.get(name) {
            return *index;
        }
        let index = self.graph.add_node(name.to_owned());
        self.index.insert(name.to_owned(), index);
        index
    }

    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Groups of tables that depend on each other in a cycle: each group sorted, groups sorted.
    pub fn cycles(&self) -> Vec<Vec<String>> {
        let mut cycles: Vec<Vec<String>> = tarjan_scc(&self.graph)
            .into_iter()
            .filter(|component| {
                component.len() > 1 || self.graph.contains_edge(component[0], component[0])
            })
            .map(|component| {
                let mut names: Vec<String> =
                    component.iter().map(|i| self.graph[*i].clone()).collect();
                names.sort();
                names
            })
            .collect();
        cycles.sort();
        cycles
    }

    /// One concrete cycle through `start` (a member of a cycle group), as names from `start`
    /// back to `start`: the shortest such path.
    pub fn cycle_path(&self, start: &str) -> Option<Vec<String>> {
        let start = *self.index.get(start)?;
        let mut previous: HashMap<NodeIndex, NodeIndex> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            let mut targets: Vec<NodeIndex> = self.graph.neighbors(node).collect();
            targets.sort_by(|a, b| self.graph[*a].cmp(&self.graph[*b]));
            for next in targets {
                if next == start {
                    let mut back = Vec::new();
                    let mut at = node;
                    while at != start {
                        back.push(at);
                        at = previous[&at];
                    }
                    let mut path = vec![start];
                    path.extend(back.into_iter().rev());
                    path.push(start);
                    return Some(path.into_iter().map(|i| self.graph[i].clone()).collect());
                }
                if let std::collections::hash_map::Entry::Vacant(entry) = previous.entry(next) {
                    entry.insert(node);
                    queue.push_back(next);
                }
            }
        }
        None
    }

    /// Groups of tables that no table outside the group reads: single tables nobody reads, and
    /// cycles nobody outside reads. Something in each group needs an interval, or it never runs.
    pub fn root_groups(&self) -> Vec<Vec<String>> {
        let mut groups = Vec::new();
        for component in tarjan_scc(&self.graph) {
            let members: BTreeSet<NodeIndex> = component.iter().copied().collect();
            let read_from_outside = component.iter().any(|node| {
                self.graph
                    .edges_directed(*node, Direction::Incoming)
                    .any(|edge| !members.contains(&edge.source()))
            });
            if !read_from_outside {
                let mut names: Vec<String> =
                    component.iter().map(|i| self.graph[*i].clone()).collect();
                names.sort();
                groups.push(names);
            }
        }
        groups.sort();
        groups
    }

    /// Every table `name` reads, directly or not, sorted; itself only when it is in a cycle.
    pub fn upstream(&self, name: &str) -> Vec<String> {
        self.reachable(name, Direction::Outgoing, |_| false)
    }

    /// Every table that reads `name`, directly or not, sorted; itself only when it is in a cycle.
    pub fn downstream(&self, name: &str) -> Vec<String> {
        self.reachable(name, Direction::Incoming, |_| false)
    }

    /// Like [`downstream`](Self::downstream), but never through a table for which `stop` holds
    /// (left out itself, and what only it leads to).
    pub fn downstream_until(&self, name: &str, stop: impl Fn(&str) -> bool) -> Vec<String> {
        self.reachable(name, Direction::Incoming, stop)
    }

    fn reachable(
        &self,
        name: &str,
        direction: Direction,
        stop: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let Some(start) = self.index.get(name) else {
            return Vec::new();
        };
        let mut seen = BTreeSet::new();
        let mut stack: Vec<NodeIndex> = self.graph.neighbors_directed(*start, direction).collect();
        while let Some(node) = stack.pop() {
            if !stop(&self.graph[node]) && seen.insert(node) {
                stack.extend(self.graph.neighbors_directed(node, direction));
            }
        }
        let mut names: Vec<String> = seen.into_iter().map(|i| self.graph[i].clone()).collect();
        names.sort();
        names
    }

    /// All tables, dependencies before dependents. Members of a cycle come together, in name order,
    /// so the order exists for any graph.
    pub fn build_order(&self) -> Vec<String> {
        // tarjan_scc yields components in reverse topological order: for an edge A → B ("A reads
        // B"), B's component comes first. That is exactly dependencies first.
        let mut order = Vec::with_capacity(self.graph.node_count());
        for component in tarjan_scc(&self.graph) {
            let mut names: Vec<String> = component.iter().map(|i| self.graph[*i].clone()).collect();
            names.sort();
            order.extend(names);
        }
        order
    }

    /// The graph in Graphviz DOT: nodes sorted, edges sorted, names quoted.
    pub fn to_dot(&self) -> String {
        let mut names: Vec<&String> = self.index.keys().collect();
        names.sort();
        let mut edges: Vec<(&str, &str)> = self
            .graph
            .edge_references()
            .map(|e| (self.graph[e.source()].as_str(), self.graph[e.target()].as_str()))
            .collect();
        edges.sort();
        let mut dot = String::from("digraph duro {\n    rankdir=LR;\n    node [shape=box];\n");
        for name in names {
            let _ = writeln!(dot, "    {};", dot_id(name));
        }
        for (from, to) in edges {
            let _ = writeln!(dot, "    {} -> {};", dot_id(from), dot_id(to));
        }
        dot.push_str("}\n");
        dot
    }
}

fn dot_id(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&'static str, &'static str)], extra: &[&'static str]) -> DependencyGraph {
        DependencyGraph::from_edges(extra.iter().copied(), edges.iter().copied())
    }

    #[test]
    fn readme_chain() {
        // people reads shops, shops reads cities.
        let g = graph(&[("f.people", "f.shops"), ("f.shops", "f.cities")], &[]);
        assert_eq!(g.build_order(), ["f.cities", "f.shops", "f.people"]);
        assert_eq!(g.upstream("f.people"), ["f.cities", "f.shops"]);
        assert_eq!(g.downstream("f.cities"), ["f.people", "f.shops"]);
        assert_eq!(g.downstream_until("f.cities", |name| name == "f.shops"), Vec::<String>::new());
        assert_eq!(g.downstream_until("f.cities", |name| name == "f.people"), ["f.shops"]);
        assert_eq!(g.root_groups(), [vec!["f.people".to_string()]]);
        assert!(g.cycles().is_empty());
    }

    #[test]
    fn cycles_are_listed_member_by_member() {
        let g = graph(
            &[
                ("a.x", "a.y"),
                ("a.y", "a.z"),
                ("a.z", "a.x"),
                ("b.p", "a.x"),
                ("c.q", "c.r"),
                ("c.r", "c.q"),
            ],
            &["d.s"],
        );
        assert_eq!(g.cycles(), [vec!["a.x", "a.y", "a.z"], vec!["c.q", "c.r"]]);
        assert_eq!(g.cycle_path("a.y").unwrap(), ["a.y", "a.z", "a.x", "a.y"]);
        assert_eq!(g.cycle_path("c.q").unwrap(), ["c.q", "c.r", "c.q"]);
        assert_eq!(g.cycle_path("d.s"), None);
        // b.p reads the a-cycle, so that cycle is not a root group; the c-cycle is.
        assert_eq!(g.root_groups(), [vec!["b.p"], vec!["c.q", "c.r"], vec!["d.s"]]);
        // The order exists and puts the a-cycle before b.p.
        let order = g.build_order();
        assert_eq!(order.len(), 7);
        let position = |name: &str| order.iter().position(|n| n == name).unwrap();
        assert!(position("a.x") < position("b.p"));
        assert_eq!(g.upstream("a.x"), ["a.x", "a.y", "a.z"]);
        assert_eq!(g.downstream("a.x"), ["a.x", "a.y", "a.z", "b.p"]);
    }

    #[test]
    fn build_order_puts_dependencies_first() {
        let edges =
            [("s.d", "s.b"), ("s.d", "s.c"), ("s.b", "s.a"), ("s.c", "s.a"), ("s.e", "s.d")];
        let order = graph(&edges, &["s.z"]).build_order();
        let position = |name: &str| order.iter().position(|n| n == name).unwrap();
        for (dependent, dependency) in edges {
            assert!(
                position(dependency) < position(dependent),
                "{dependency} before {dependent}: {order:?}"
            );
        }
    }

    #[test]
    fn dot_output() {
        let g = graph(&[("s.b", "s.a")], &["s.\"q"]);
        assert_eq!(
            g.to_dot(),
            "digraph duro {\n    rankdir=LR;\n    node [shape=box];\n    \"s.\\\"q\";\n    \"s.a\";\n    \"s.b\";\n    \"s.b\" -> \"s.a\";\n}\n"
        );
    }

    #[test]
    fn unknown_names_have_no_neighbours() {
        let g = graph(&[], &["s.a"]);
        assert!(g.upstream("s.nope").is_empty());
        assert!(g.contains("s.a") && !g.contains("s.nope"));
    }
}
