//! The cost limit (`max_cost`): the query's plan is asked for with `EXPLAIN` before anything is
//! created, and a plan whose total cost is over the limit stops the build (`cost_exceeded`).
//! Reading the cost is pure: the top plan line of PostgreSQL (`Seq Scan on t  (cost=0.00..35.50
//! rows=…`) and of Redshift (`XN Seq Scan on t  (cost=0.00..0.03 rows=…`) both carry
//! `(cost=startup..total`; the total is the cost.

use super::{BEGIN_READ_ONLY, Session};
use crate::build::FailureClass;
use crate::warehouse::{WarehouseError, render, statement};

/// The total cost of the plan `EXPLAIN` printed, one line per row: the first line with a cost
/// is the top of the plan. `None` when no line has one.
pub fn plan_cost(plan: &str) -> Option<f64> {
    plan.lines().find_map(|line| {
        let (_, after) = line.split_once("(cost=")?;
        let (_, total) = after.split_once("..")?;
        let end = total.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(total.len());
        total[..end].parse::<f64>().ok()
    })
}

/// Whether a plan of `cost` may run under `limit`; the message gives both.
pub fn within(cost: f64, limit: u64) -> Result<(), String> {
    if cost <= limit as f64 {
        return Ok(());
    }
    Err(format!(
        "the query's plan costs {cost:.2}, over `max_cost={limit}`; nothing was created and the live table was kept (simplify the query, or raise `max_cost`)"
    ))
}

/// Asks the warehouse for the plan of `query` (sent alone: it is the repository's text; in a
/// read-only transaction, so that even a plan that ran would change nothing) and returns its
/// total cost.
pub fn explain(session: &mut Session<'_>, query: &str) -> Result<f64, WarehouseError> {
    let sql_error = session.sql_error();
    session.client.batch_execute(BEGIN_READ_ONLY).map_err(sql_error)?;
    let rows = statement::query_alone(session.client, &render::explain(query)).map_err(sql_error);
    let ended = session.client.batch_execute(render::ROLLBACK).map_err(sql_error);
    let rows = rows.and_then(|rows| ended.map(|()| rows))?;
    let plan: Vec<String> =
        rows.iter().filter_map(|row| row.try_get::<_, String>(0).ok()).collect();
    plan_cost(&plan.join("\n")).ok_or_else(|| {
        WarehouseError::new(
            FailureClass::SqlError,
            format!(
                "`max_cost` is set, but the plan `EXPLAIN` printed has no cost: {}",
                plan.first().map_or("(no lines)", String::as_str)
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plans as the servers print them.
    #[test]
    fn costs_of_captured_plans() {
        let cases: &[(&str, &str, Option<f64>)] = &[
            (
                "PostgreSQL, one scan",
                "Seq Scan on orders  (cost=0.00..35.50 rows=2550 width=4)",
                Some(35.50),
            ),
            (
                "PostgreSQL, a join",
                "Hash Join  (cost=1.09..2.21 rows=4 width=12)\n  Hash Cond: (a.id = b.id)\n  ->  Seq Scan on a  (cost=0.00..1.04 rows=4 width=8)\n  ->  Hash  (cost=1.04..1.04 rows=4 width=8)",
                Some(2.21),
            ),
            ("PostgreSQL, a constant", "Result  (cost=0.00..0.01 rows=1 width=4)", Some(0.01)),
            (
                "PostgreSQL, a function scan",
                "Function Scan on generate_series g  (cost=0.00..10000000.00 rows=1000000000 width=4)",
                Some(10_000_000.0),
            ),
            (
                "Redshift, one scan",
                "XN Seq Scan on event  (cost=0.00..87.98 rows=8798 width=17)",
                Some(87.98),
            ),
            (
                "Redshift, a broadcast join",
                "XN Merge  (cost=1000000000136.38..1000000000136.39 rows=3 width=31)\n  Merge Key: sum(sales.pricepaid)\n  ->  XN Network  (cost=1000000000136.38..1000000000136.39 rows=3 width=31)\n        Send to leader\n        ->  XN Sort  (cost=1000000000136.38..1000000000136.39 rows=3 width=31)\n              ->  XN Hash Join DS_BCAST_INNER  (cost=86.00..54.82 rows=3 width=31)\n----- Tables missing statistics: sales -----",
                Some(1_000_000_000_136.39),
            ),
            (
                "Redshift, a leading notice line",
                "----- Update statistics by running the ANALYZE command on these tables -----\nXN Seq Scan on t  (cost=0.00..0.03 rows=3 width=4)",
                Some(0.03),
            ),
            ("no cost", "Seq Scan on t", None),
            ("empty", "", None),
        ];
        for (name, plan, expected) in cases {
            assert_eq!(plan_cost(plan), *expected, "{name}");
        }
    }

    #[test]
    fn limits() {
        assert_eq!(within(100.0, 100), Ok(()));
        assert_eq!(within(0.01, 1), Ok(()));
        let message = within(1_000_000_000_136.39, 1_000_000).unwrap_err();
        assert!(
            message.starts_with("the query's plan costs 1000000000136.39, over `max_cost=1000000`"),
            "{message}"
        );
    }
}
