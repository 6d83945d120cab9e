//! Which tables are due now, and in what order: a pure function of the catalog, the run history,
//! the force requests and the time.
//!
//! Due = forced, never built, or older than its interval. A table without an interval takes the
//! interval of the tables being rebuilt that read it (the smallest one), so a chain `A → B → C`
//! with an interval only on `A` rebuilds `B` and `C` when they are older than `A`'s interval.
//! Every table appears at most once, dependencies first; cycles are ordered by name.

use crate::graph::DependencyGraph;
use std::collections::{HashMap, HashSet};

/// What the planner needs to know about one table.
#[derive(Clone, Debug)]
pub struct PlanTable {
    pub name: String,
    pub interval_minutes: Option<u32>,
    pub dependencies: Vec<String>,
}

/// Why a table is in the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A force request (new or changed definition, a person's click, …).
    Forced(String),
    NeverBuilt,
    /// Older than its own interval.
    Stale {
        age_minutes: i64,
        interval_minutes: u32,
    },
    /// Older than the interval of a table being rebuilt that reads it.
    StaleForDependent {
        age_minutes: i64,
        interval_minutes: u32,
        dependent: String,
    },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::interval::format_minutes;
        match self {
            Reason::Forced(why) => write!(f, "forced ({why})"),
            Reason::NeverBuilt => write!(f, "never built"),
            Reason::Stale { age_minutes, interval_minutes } => {
                write!(f, "{age_minutes} min old, interval {}", format_minutes(*interval_minutes))
            }
            Reason::StaleForDependent { age_minutes, interval_minutes, dependent } => write!(
                f,
                "{age_minutes} min old, older than the interval {} of `{dependent}`",
                format_minutes(*interval_minutes)
            ),
        }
    }
}

/// One table to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedBuild {
    pub table: String,
    pub reason: Reason,
}

/// The tables to build now, dependencies first.
pub fn plan(
    tables: &[PlanTable],
    last_success_ms: &HashMap<String, i64>,
    forced: &HashMap<String, String>,
    now_ms: i64,
) -> Vec<PlannedBuild> {
    Planner::new(tables).plan(last_success_ms, forced, now_ms)
}

/// A catalog's dependency structure, prepared once (graph, build order, dependencies as
/// indexes) so that planning again with new build times is cheap: the web server plans on
/// every request, the creator every cycle.
#[derive(Clone, Debug)]
pub struct Planner {
    names: Vec<String>,
    intervals: Vec<Option<u32>>,
    /// Each table's managed dependencies, by index, without repeats.
    dependencies: Vec<Vec<usize>>,
    /// Dependencies first; every table once.
    order: Vec<usize>,
    /// The managed dependencies as a graph, for upstream and downstream questions.
    graph: DependencyGraph,
}

impl Planner {
    pub fn new(tables: &[PlanTable]) -> Self {
        // A name given twice keeps its last definition.
        let index: HashMap<&str, usize> =
            tables.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
        let dependencies: Vec<Vec<usize>> = tables
            .iter()
            .map(|t| {
                let mut managed: Vec<usize> =
                    t.dependencies.iter().filter_map(|d| index.get(d.as_str()).copied()).collect();
                managed.sort_unstable();
                managed.dedup();
                managed
            })
            .collect();
        let graph = DependencyGraph::from_edges(
            tables.iter().map(|t| t.name.as_str()),
            tables.iter().enumerate().flat_map(|(i, t)| {
                dependencies[i].iter().map(move |d| (t.name.as_str(), tables[*d].name.as_str()))
            }),
        );
        let order = graph.build_order().iter().map(|name| index[name.as_str()]).collect();
        Self {
            names: tables.iter().map(|t| t.name.clone()).collect(),
            intervals: tables.iter().map(|t| t.interval_minutes).collect(),
            dependencies,
            order,
            graph,
        }
    }

    /// Every table `name` reads, directly or not, sorted.
    pub fn upstream(&self, name: &str) -> Vec<String> {
        self.graph.upstream(name)
    }

    /// Every table that reads `name`, directly or not, sorted.
    pub fn downstream(&self, name: &str) -> Vec<String> {
        self.graph.downstream(name)
    }

    /// Every table that reads `name`, directly or not, without going through a table for which
    /// `stop` holds, sorted.
    pub fn downstream_until(&self, name: &str, stop: impl Fn(&str) -> bool) -> Vec<String> {
        self.graph.downstream_until(name, stop)
    }

    /// Every planned table that depends, directly or not, on `failed`: they are skipped this
    /// cycle.
    pub fn dependents_in_plan(&self, planned: &[PlannedBuild], failed: &str) -> Vec<String> {
        let in_plan: HashSet<&str> = planned.iter().map(|p| p.table.as_str()).collect();
        self.downstream(failed)
            .into_iter()
            .filter(|name| in_plan.contains(name.as_str()) && name != failed)
            .collect()
    }

    /// The tables to build now, dependencies first.
    pub fn plan(
        &self,
        last_success_ms: &HashMap<String, i64>,
        forced: &HashMap<String, String>,
        now_ms: i64,
    ) -> Vec<PlannedBuild> {
        let count = self.names.len();
        // Dependents first (reverse build order), so a table's inherited interval is known when
        // it is reached. `inherited[i]` = (smallest interval, the dependent it came from).
        let mut inherited: Vec<Option<(u32, usize)>> = vec![None; count];
        let mut reasons: Vec<Option<Reason>> = vec![None; count];
        for &i in self.order.iter().rev() {
            let name = &self.names[i];
            let age_minutes =
                last_success_ms.get(name).map(|built| (now_ms - built).max(0) / 60_000);
            let reason = if let Some(why) = forced.get(name) {
                Some(Reason::Forced(why.clone()))
            } else {
                match (age_minutes, self.intervals[i], inherited[i]) {
                    (None, _, _) => Some(Reason::NeverBuilt),
                    (Some(age), Some(interval), _) if age >= i64::from(interval) => {
                        Some(Reason::Stale { age_minutes: age, interval_minutes: interval })
                    }
                    (Some(age), None, Some((interval, dependent)))
                        if age >= i64::from(interval) =>
                    {
                        Some(Reason::StaleForDependent {
                            age_minutes: age,
                            interval_minutes: interval,
                            dependent: self.names[dependent].clone(),
                        })
                    }
                    _ => None,
                }
            };
            // Only tables being rebuilt pass an interval down to their dependencies.
            if let Some(reason) = reason {
                let effective = self.intervals[i].map(|v| (v, i)).or(inherited[i]);
                if let Some((interval, source)) = effective {
                    for &dependency in &self.dependencies[i] {
                        if inherited[dependency].is_none_or(|(current, _)| interval < current) {
                            inherited[dependency] = Some((interval, source));
                        }
                    }
                }
                reasons[i] = Some(reason);
            }
        }
        self.order
            .iter()
            .filter_map(|&i| {
                reasons[i]
                    .take()
                    .map(|reason| PlannedBuild { table: self.names[i].clone(), reason })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;
    const NOW: i64 = 1_000_000 * MINUTE;

    fn table(name: &str, interval: Option<u32>, dependencies: &[&str]) -> PlanTable {
        PlanTable {
            name: name.into(),
            interval_minutes: interval,
            dependencies: dependencies.iter().map(|d| d.to_string()).collect(),
        }
    }

    /// The README's chain: people (1h) reads shops (none) reads cities (24h).
    fn readme() -> Vec<PlanTable> {
        vec![
            table("f.people", Some(60), &["f.shops"]),
            table("f.shops", None, &["f.cities"]),
            table("f.cities", Some(1_440), &[]),
        ]
    }

    fn built(ages_minutes: &[(&str, i64)]) -> HashMap<String, i64> {
        ages_minutes.iter().map(|(name, age)| (name.to_string(), NOW - age * MINUTE)).collect()
    }

    fn names(planned: &[PlannedBuild]) -> Vec<&str> {
        planned.iter().map(|p| p.table.as_str()).collect()
    }

    #[test]
    fn never_built_tables_are_built_dependencies_first() {
        let planned = plan(&readme(), &HashMap::new(), &HashMap::new(), NOW);
        assert_eq!(names(&planned), ["f.cities", "f.shops", "f.people"]);
        assert!(planned.iter().all(|p| p.reason == Reason::NeverBuilt));
    }

    #[test]
    fn interval_inheritance() {
        let cases: &[(&[(&str, i64)], &[&str])] = &[
            // Everything fresh.
            (&[("f.people", 10), ("f.shops", 10), ("f.cities", 10)], &[]),
            // people is stale; shops is older than people's 1h, so it is rebuilt too; cities is
            // younger than its own 24h.
            (&[("f.people", 61), ("f.shops", 70), ("f.cities", 70)], &["f.shops", "f.people"]),
            // shops is younger than 1h: only people.
            (&[("f.people", 61), ("f.shops", 30), ("f.cities", 70)], &["f.people"]),
            // cities older than 24h is rebuilt on its own interval.
            (&[("f.people", 10), ("f.shops", 10), ("f.cities", 1_500)], &["f.cities"]),
            // shops old, but nobody reading it is rebuilt: it waits.
            (&[("f.people", 10), ("f.shops", 5_000), ("f.cities", 10)], &[]),
        ];
        for (ages, expected) in cases {
            assert_eq!(
                names(&plan(&readme(), &built(ages), &HashMap::new(), NOW)),
                *expected,
                "{ages:?}"
            );
        }
        let planned = plan(
            &readme(),
            &built(&[("f.people", 61), ("f.shops", 70), ("f.cities", 70)]),
            &HashMap::new(),
            NOW,
        );
        assert_eq!(
            planned[0].reason,
            Reason::StaleForDependent {
                age_minutes: 70,
                interval_minutes: 60,
                dependent: "f.people".into()
            }
        );
    }

    #[test]
    fn smallest_inherited_interval_wins_and_travels_down() {
        let tables = vec![
            table("s.hourly", Some(60), &["s.mid"]),
            table("s.daily", Some(1_440), &["s.mid"]),
            table("s.mid", None, &["s.base"]),
            table("s.base", None, &[]),
        ];
        let ages = built(&[("s.hourly", 61), ("s.daily", 1_441), ("s.mid", 90), ("s.base", 90)]);
        let planned = plan(&tables, &ages, &HashMap::new(), NOW);
        assert_eq!(names(&planned)[..2], ["s.base", "s.mid"]);
        let mut roots = names(&planned)[2..].to_vec();
        roots.sort();
        assert_eq!(roots, ["s.daily", "s.hourly"]);
        // mid inherits the hourly interval (the smaller one), not the daily.
        assert_eq!(
            planned[1].reason,
            Reason::StaleForDependent {
                age_minutes: 90,
                interval_minutes: 60,
                dependent: "s.hourly".into()
            }
        );
    }

    #[test]
    fn forced_tables_come_with_their_reason() {
        let forced: HashMap<String, String> = [("f.cities".to_string(), "web".to_string())].into();
        let planned = plan(
            &readme(),
            &built(&[("f.people", 1), ("f.shops", 1), ("f.cities", 1)]),
            &forced,
            NOW,
        );
        assert_eq!(
            planned,
            [PlannedBuild { table: "f.cities".into(), reason: Reason::Forced("web".into()) }]
        );
    }

    #[test]
    fn cycles_terminate_and_each_table_appears_once() {
        let tables = vec![
            table("c.a", Some(60), &["c.b"]),
            table("c.b", None, &["c.a"]),
            table("c.top", Some(60), &["c.a"]),
        ];
        let planned = plan(&tables, &HashMap::new(), &HashMap::new(), NOW);
        assert_eq!(names(&planned), ["c.a", "c.b", "c.top"]);
    }

    #[test]
    fn dependents_of_a_failure() {
        let tables = readme();
        let planned = plan(&tables, &HashMap::new(), &HashMap::new(), NOW);
        let planner = Planner::new(&tables);
        assert_eq!(planner.dependents_in_plan(&planned, "f.cities"), ["f.people", "f.shops"]);
        assert!(planner.dependents_in_plan(&planned, "f.people").is_empty());
        assert_eq!(planner.upstream("f.people"), ["f.cities", "f.shops"]);
        assert_eq!(planner.downstream("f.shops"), ["f.people"]);
    }
}
