//! The export's `select`, one builder for every source: the columns (a target column's source
//! column, or its expression on lines of its own so a `--` comment in it cannot reach the
//! rest), and the range `(lo, hi]` of the replication field (`lo` moved back by a lookback on
//! date and time fields; NULLs too when asked). Each source says how it quotes names, writes a
//! bound value's placeholder and moves a time back.

use super::ExportRequest;
use crate::catalog::replication::Nulls;

/// How a source's SQL names things and binds values.
pub(crate) struct SqlStyle {
    /// A quoted name.
    pub quote: fn(&str) -> String,
    /// The placeholder of the `n`th bound value (from 1), given the field's type on the source.
    pub bound: fn(usize, &str) -> String,
    /// A time expression moved back by some seconds.
    pub minus_seconds: fn(&str, u64) -> String,
}

/// The select of `request` from `relation` (already quoted), and the values its placeholders
/// take, in order.
pub(crate) fn export_select(
    request: &ExportRequest,
    relation: &str,
    style: &SqlStyle,
) -> (String, Vec<String>) {
    let columns: Vec<String> = request
        .columns
        .iter()
        .map(|column| match &column.expression {
            None => (style.quote)(&column.name),
            Some(expression) => format!("(\n{expression}\n) as {}", (style.quote)(&column.name)),
        })
        .collect();
    let mut select = format!("select {} from {relation}", columns.join(", "));
    let mut bounds = Vec::new();
    if let Some(range) = &request.range {
        let field = (style.quote)(&range.field);
        let mut bound = |value: &String| {
            bounds.push(value.clone());
            (style.bound)(bounds.len(), &range.type_name)
        };
        let mut conditions = Vec::new();
        if let Some(lo) = &range.lo {
            let lo = bound(lo);
            conditions.push(if range.lookback_seconds > 0 && is_time_type(&range.type_name) {
                format!("{field} > {}", (style.minus_seconds)(&lo, range.lookback_seconds))
            } else {
                format!("{field} > {lo}")
            });
        }
        conditions.push(format!("{field} <= {}", bound(&range.hi)));
        let within = conditions.join(" and ");
        let condition = match range.nulls {
            Nulls::Skip => within,
            Nulls::Include => format!("({within}) or {field} is null"),
        };
        select.push_str(&format!(" where {condition}"));
    }
    (select, bounds)
}

/// Whether a `lookback` applies to a field of this type (dates and times, not numbers).
fn is_time_type(type_name: &str) -> bool {
    let type_name = type_name.to_lowercase();
    type_name.contains("date") || type_name.contains("time")
}
