//! What the warehouse knows about a table, read from `pg_catalog` (present on PostgreSQL and
//! Redshift): whether it exists, the views bound to it, who may select from it, its columns.
//! Names are always bound as parameters.

use super::connection::WarehouseError;
use super::render::TableRef;
use postgres::GenericClient;

type Result<T> = std::result::Result<T, WarehouseError>;

fn classified(error: postgres::Error) -> WarehouseError {
    WarehouseError::from_postgres(&error, false)
}

/// `pg_class.relkind` of the table (`r` table, `v` view, …), or `None` when it does not exist.
pub fn relation_kind(client: &mut impl GenericClient, table: &TableRef) -> Result<Option<String>> {
    let row = client
        .query_opt(
            "select c.relkind::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where n.nspname = $1 and c.relname = $2",
            &[&table.schema, &table.table],
        )
        .map_err(classified)?;
    Ok(row.map(|row| row.get(0)))
}

/// What the swap needs to know about the live table, in one round trip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableFacts {
    /// `pg_class.relkind`: `r` for a table.
    pub kind: String,
    /// Who may select from it (owner excluded).
    pub select_grantees: Vec<String>,
    /// Whether views are bound to it.
    pub has_bound_views: bool,
}

/// Facts about the table, or `None` when it does not exist.
pub fn table_facts(
    client: &mut impl GenericClient,
    table: &TableRef,
) -> Result<Option<TableFacts>> {
    let row = client
        .query_opt(
            "select c.relkind::text, c.relacl::text, pg_get_userbyid(c.relowner)::text,
                    exists (select 1 from pg_depend d join pg_rewrite r on r.oid = d.objid
                            where d.refclassid = 'pg_class'::regclass and d.refobjid = c.oid
                              and d.classid = 'pg_rewrite'::regclass and r.ev_class <> c.oid)
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where n.nspname = $1 and c.relname = $2",
            &[&table.schema, &table.table],
        )
        .map_err(classified)?;
    Ok(row.map(|row| {
        let acl: Option<String> = row.get(1);
        let owner: String = row.get(2);
        TableFacts {
            kind: row.get(0),
            select_grantees: parse_select_grantees(acl.as_deref().unwrap_or(""))
                .into_iter()
                .filter(|g| *g != owner)
                .collect(),
            has_bound_views: row.get(3),
        }
    }))
}

/// Views bound to the table (through `pg_depend`), with their definitions. Late-binding views
/// (Redshift `with no schema binding`) are not bound and do not appear.
pub fn dependent_views(
    client: &mut impl GenericClient,
    table: &TableRef,
) -> Result<Vec<(TableRef, String)>> {
    let rows = client
        .query(
            "select distinct vn.nspname::text, v.relname::text, pg_get_viewdef(v.oid)::text
             from pg_class t
             join pg_namespace tn on tn.oid = t.relnamespace
             join pg_depend d on d.refclassid = 'pg_class'::regclass and d.refobjid = t.oid
                              and d.classid = 'pg_rewrite'::regclass
             join pg_rewrite r on r.oid = d.objid
             join pg_class v on v.oid = r.ev_class
             join pg_namespace vn on vn.oid = v.relnamespace
             where tn.nspname = $1 and t.relname = $2 and v.relkind = 'v' and v.oid <> t.oid
             order by 1, 2",
            &[&table.schema, &table.table],
        )
        .map_err(classified)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            (
                TableRef {
                    schema: row.get(0),
                    table: row.get(1),
                },
                row.get(2),
            )
        })
        .collect())
}

/// Roles (and `group x` groups) holding `select` on the table (or view), its owner excluded.
pub fn select_grantees(client: &mut impl GenericClient, table: &TableRef) -> Result<Vec<String>> {
    Ok(table_facts(client, table)?
        .map(|facts| facts.select_grantees)
        .unwrap_or_default())
}

/// Grantees with `r` (select) in an ACL text like `{duro=arwdDxt/duro,jane=r/duro,"data-team"=r/duro,group bi=r/duro}`.
/// `PUBLIC` (an empty grantee) is returned as `public`.
pub fn parse_select_grantees(acl: &str) -> Vec<String> {
    let inner = acl.trim().trim_start_matches('{').trim_end_matches('}');
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in inner.chars() {
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
    let mut grantees = Vec::new();
    for item in items {
        let Some((grantee, rest)) = item.rsplit_once('=') else {
            continue;
        };
        let privileges = rest.split('/').next().unwrap_or("");
        if !privileges.contains('r') {
            continue;
        }
        let grantee = grantee.trim().trim_matches('"').replace("\"\"", "\"");
        grantees.push(if grantee.is_empty() {
            "public".to_owned()
        } else {
            grantee
        });
    }
    grantees.sort();
    grantees.dedup();
    grantees
}

/// The table's columns in order, with their types as SQL (`format_type`).
pub fn columns(client: &mut impl GenericClient, table: &TableRef) -> Result<Vec<(String, String)>> {
    let rows = client
        .query(
            "select a.attname::text, format_type(a.atttypid, a.atttypmod)::text from pg_attribute a
             join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
             where n.nspname = $1 and c.relname = $2 and a.attnum > 0 and not a.attisdropped order by a.attnum",
            &[&table.schema, &table.table],
        )
        .map_err(classified)?;
    Ok(rows
        .into_iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect())
}

/// Tables in the warehouse whose name ends with `suffix` (leftovers of interrupted builds).
pub fn tables_with_suffix(client: &mut impl GenericClient, suffix: &str) -> Result<Vec<TableRef>> {
    let pattern = format!("%{}", suffix.replace('_', "\\_"));
    let rows = client
        .query(
            "select n.nspname::text, c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where c.relkind = 'r' and c.relname like $1 and n.nspname not in ('pg_catalog', 'information_schema')
             order by 1, 2",
            &[&pattern],
        )
        .map_err(classified)?;
    Ok(rows
        .into_iter()
        .map(|row| TableRef {
            schema: row.get(0),
            table: row.get(1),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_parsing() {
        let cases: &[(&str, &[&str])] = &[
            ("{duro=arwdDxt/duro,jane=r/duro}", &["duro", "jane"]),
            (
                "{\"data-team\"=r/duro,john=arw/duro,x=w/duro}",
                &["data-team", "john"],
            ),
            ("{=r/duro}", &["public"]),
            (
                "{\"group bi\"=r/duro,\"we,ird\"=r/duro}",
                &["group bi", "we,ird"],
            ),
            ("", &[]),
        ];
        for (acl, expected) in cases {
            assert_eq!(parse_select_grantees(acl), *expected, "{acl}");
        }
    }
}
