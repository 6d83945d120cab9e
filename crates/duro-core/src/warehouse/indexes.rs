//! Indexes of PostgreSQL target tables (`indexes=` in `.conf`): their names and statements.
//!
//! An index is created on the temporary table under a temporary name and renamed to its own
//! name in the swap's transaction, after the previous version (with its indexes) is dropped. So
//! the live table always carries its indexes under their own names, a failed build leaves no
//! name behind (its indexes go with the temporary table), and the two versions never claim the
//! same name at once.

use crate::catalog::indexes::IndexSpec;
use crate::identifier::{POSTGRES_MAX_IDENTIFIER_BYTES, TableName, quote_identifier};

const SUFFIX: &str = "_idx";
const TEMP_SUFFIX: &str = "_idx_duro_temp";

/// The name of `index` on table `table` (the short name): `{table}_{columns}_idx`, or with
/// `_idx_duro_temp` while it is on the temporary table. A name longer than PostgreSQL keeps is
/// cut and given a hash of the whole, so that it stays distinct.
pub fn index_name(table: &str, index: &IndexSpec, temporary: bool) -> String {
    let stem = format!("{table}_{}", index.stem());
    let suffix = if temporary { TEMP_SUFFIX } else { SUFFIX };
    if stem.len() + suffix.len() <= POSTGRES_MAX_IDENTIFIER_BYTES {
        return format!("{stem}{suffix}");
    }
    // Identifiers are ASCII (validated), so any byte is a character boundary.
    let keep = POSTGRES_MAX_IDENTIFIER_BYTES - suffix.len() - 9;
    format!("{}_{:08x}{suffix}", &stem[..keep], fnv1a(&stem))
}

/// `create [unique] index` for each index, on the temporary table `temp` of `live`.
pub fn create_indexes(live: &TableName, temp: &TableName, indexes: &[IndexSpec]) -> Vec<String> {
    indexes
        .iter()
        .map(|index| {
            let columns: Vec<String> = index.columns.iter().map(|c| quote_identifier(c)).collect();
            format!(
                "create {}index {} on {} ({})",
                if index.unique { "unique " } else { "" },
                quote_identifier(&index_name(&live.table, index, true)),
                temp.quoted(),
                columns.join(", ")
            )
        })
        .collect()
}

/// The renames that give each index its own name, once the new version is `live` and the
/// previous one is dropped (in the swap's transaction).
pub fn rename_indexes(live: &TableName, indexes: &[IndexSpec]) -> Vec<String> {
    indexes
        .iter()
        .map(|index| {
            let temporary = TableName {
                schema: live.schema.clone(),
                table: index_name(&live.table, index, true),
            };
            format!(
                "alter index {} rename to {}",
                temporary.quoted(),
                quote_identifier(&index_name(&live.table, index, false))
            )
        })
        .collect()
}

/// FNV-1a, 32 bits: a stable hash for shortened names.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::indexes::parse_indexes;

    #[test]
    fn names_and_statements() {
        let live = TableName::parse("s.orders").unwrap();
        let temp = TableName::parse("s.orders_duro_temp").unwrap();
        let indexes = parse_indexes("(customer_id), unique (id, day)").unwrap();
        assert_eq!(
            create_indexes(&live, &temp, &indexes),
            [
                r#"create index "orders_customer_id_idx_duro_temp" on "s"."orders_duro_temp" ("customer_id")"#,
                r#"create unique index "orders_id_day_idx_duro_temp" on "s"."orders_duro_temp" ("id", "day")"#,
            ]
        );
        assert_eq!(
            rename_indexes(&live, &indexes),
            [
                r#"alter index "s"."orders_customer_id_idx_duro_temp" rename to "orders_customer_id_idx""#,
                r#"alter index "s"."orders_id_day_idx_duro_temp" rename to "orders_id_day_idx""#,
            ]
        );
    }

    #[test]
    fn long_names_are_cut_and_stay_distinct() {
        let table = "a".repeat(53);
        let first = &parse_indexes("(customer_id, day)").unwrap()[0];
        let second = &parse_indexes("(customer_id, week)").unwrap()[0];
        for temporary in [false, true] {
            let (a, b) =
                (index_name(&table, first, temporary), index_name(&table, second, temporary));
            assert_eq!(a.len(), POSTGRES_MAX_IDENTIFIER_BYTES, "{a}");
            assert_ne!(a, b);
            assert_eq!(a, index_name(&table, first, temporary), "stable");
            assert!(a.ends_with(if temporary { "_idx_duro_temp" } else { "_idx" }), "{a}");
        }
    }
}
