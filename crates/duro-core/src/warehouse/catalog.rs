//! What the warehouse knows about a table, read from `pg_catalog` (present on PostgreSQL and
//! Redshift): whether it exists, the views bound to it, who may select from it, its columns.
//! Names are always bound as parameters.

use super::connection::WarehouseError;
use super::grantee::{Grantee, select_grantees};
use super::render::TableName;
use super::statement::Prepared;
use crate::config::Dialect;
use postgres::GenericClient;

type Result<T> = std::result::Result<T, WarehouseError>;

/// A driver error of a catalog read, classified (never a cancellation of Duro's own).
pub(super) fn classified(error: postgres::Error) -> WarehouseError {
    WarehouseError::from_postgres(&error, false)
}

/// `pg_class.relkind` of a relation (`$1` schema, `$2` name).
pub const RELATION_KIND: &str =
    "select c.relkind::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = $1 and c.relname = $2";

/// The swap's facts about a table (`$1` schema, `$2` name): its kind, its privileges as text
/// (`array_to_string`: Redshift has no cast of `aclitem[]` to text), its owner, and whether views
/// are bound to it. Only leader-node catalog relations.
pub const TABLE_FACTS: &str =
    "select c.relkind::text, array_to_string(c.relacl, ','), pg_get_userbyid(c.relowner)::text,
           exists (select 1 from pg_depend d join pg_rewrite r on r.oid = d.objid
                   where d.refclassid = 'pg_class'::regclass and d.refobjid = c.oid
                     and d.classid = 'pg_rewrite'::regclass and r.ev_class <> c.oid)
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = $1 and c.relname = $2";

/// The views and materialized views bound directly to a relation (`$1` schema, `$2` name), with
/// their owner, definition, privileges and kind (`v` view, `m` a PostgreSQL materialized view;
/// a Redshift materialized view is a `v` whose definition is `create materialized view …`).
pub const VIEWS_BOUND_TO: &str =
    "select distinct vn.nspname::text, v.relname::text, pg_get_userbyid(v.relowner)::text,
           pg_get_viewdef(v.oid)::text, array_to_string(v.relacl, ','), v.relkind::text
    from pg_class t
    join pg_namespace tn on tn.oid = t.relnamespace
    join pg_depend d on d.refclassid = 'pg_class'::regclass and d.refobjid = t.oid
                     and d.classid = 'pg_rewrite'::regclass
    join pg_rewrite r on r.oid = d.objid
    join pg_class v on v.oid = r.ev_class
    join pg_namespace vn on vn.oid = v.relnamespace
    where tn.nspname = $1 and t.relname = $2 and v.relkind in ('v', 'm') and v.oid <> t.oid
    order by 1, 2";

/// A table's columns in order with their types (`$1` schema, `$2` name).
pub const COLUMNS: &str = "select a.attname::text, format_type(a.atttypid, a.atttypmod)::text from pg_attribute a
    join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = $1 and c.relname = $2 and a.attnum > 0 and not a.attisdropped order by a.attnum";

/// The table's columns in order: name, type (`format_type`), whether `not null`.
pub const COLUMN_DETAILS: &str = "select a.attname::text, format_type(a.atttypid, a.atttypmod)::text, a.attnotnull
    from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = $1 and c.relname = $2 and a.attnum > 0 and not a.attisdropped order by a.attnum";

/// User tables whose name matches a `like` pattern (`$1`).
pub const TABLES_WITH_SUFFIX: &str = "select n.nspname::text, c.relname::text
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'r' and c.relname like $1 and n.nspname not in ('pg_catalog', 'information_schema')
    order by 1, 2";

/// Redshift: the newest load error of this session's last `COPY` (line, column, reason, file).
/// `sys_load_error_detail` exists on provisioned clusters and Serverless alike.
pub const LAST_LOAD_ERROR: &str =
    "select line_number::bigint, trim(column_name), trim(error_message), trim(file_name)
    from sys_load_error_detail where session_id = pg_backend_pid() order by start_time desc limit 1";

/// Every catalog query Duro sends in `dialect`, for the checks of the rendered SQL.
pub fn all_queries(dialect: Dialect) -> Vec<&'static str> {
    let mut queries = vec![
        RELATION_KIND,
        TABLE_FACTS,
        VIEWS_BOUND_TO,
        COLUMNS,
        COLUMN_DETAILS,
        TABLES_WITH_SUFFIX,
        can_act_as_query(dialect),
    ];
    if dialect == Dialect::Redshift {
        queries.push(LAST_LOAD_ERROR);
    }
    queries
}

/// Redshift: what the last `COPY` of this session refused, as `line N, column `c`: reason
/// (file)`; `None` when the cluster cannot tell.
pub fn last_load_error(client: &mut impl GenericClient) -> Option<String> {
    let row = match client.query_opt(LAST_LOAD_ERROR, &[]) {
        Ok(row) => row?,
        Err(error) => {
            tracing::debug!("no load error detail: {error}");
            return None;
        }
    };
    let line: Option<i64> = row.get(0);
    let column: Option<String> = row.get(1);
    let reason: Option<String> = row.get(2);
    let file: Option<String> = row.get(3);
    Some(format!(
        "line {}, column `{}`: {} ({})",
        line.map_or("?".to_owned(), |l| l.to_string()),
        column.unwrap_or_default(),
        reason.unwrap_or_default(),
        file.unwrap_or_default()
    ))
}

/// `pg_class.relkind` of the table (`r` table, `v` view, …), or `None` when it does not exist.
pub fn relation_kind(client: &mut impl GenericClient, table: &TableName) -> Result<Option<String>> {
    let row =
        client.query_opt(RELATION_KIND, &[&table.schema, &table.table]).map_err(classified)?;
    Ok(row.map(|row| row.get(0)))
}

/// What the swap needs to know about the live table, in one round trip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableFacts {
    /// `pg_class.relkind`: `r` for a table.
    pub kind: String,
    /// Who may select from it (owner excluded).
    pub select_grantees: Vec<Grantee>,
    /// Whether views are bound to it.
    pub has_bound_views: bool,
}

/// Facts about the table, or `None` when it does not exist.
pub fn table_facts(
    client: &mut postgres::Client,
    prepared: &mut Prepared,
    table: &TableName,
) -> Result<Option<TableFacts>> {
    let statement = prepared.get(client, TABLE_FACTS).map_err(classified)?;
    let row = client.query_opt(&statement, &[&table.schema, &table.table]).map_err(classified)?;
    Ok(row.map(|row| {
        let privileges: Option<String> = row.get(1);
        let owner: String = row.get(2);
        TableFacts {
            kind: row.get(0),
            select_grantees: select_grantees(privileges.as_deref().unwrap_or(""), &owner),
            has_bound_views: row.get(3),
        }
    }))
}

/// A view bound to a table (directly or through other views), as the warehouse has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundView {
    pub view: TableName,
    pub owner: String,
    /// `pg_get_viewdef`, fully qualified when read with `search_path` set to `pg_catalog`.
    pub definition: String,
    pub grantees: Vec<Grantee>,
    /// The relations (tables or views of this chain) it reads that the chain is about.
    pub reads: Vec<TableName>,
    /// A materialized view, which cannot be re-pointed (Redshift cannot rename one, and its
    /// definition is a whole `create materialized view`).
    pub materialized: bool,
}

/// Views bound to `relation` directly (through `pg_depend`). Late-binding views (Redshift
/// `with no schema binding`) are not bound and do not appear.
fn views_bound_to(client: &mut impl GenericClient, relation: &TableName) -> Result<Vec<BoundView>> {
    let rows =
        client.query(VIEWS_BOUND_TO, &[&relation.schema, &relation.table]).map_err(classified)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let owner: String = row.get(2);
            let definition: String = row.get(3);
            let privileges: Option<String> = row.get(4);
            let kind: String = row.get(5);
            BoundView {
                view: TableName { schema: row.get(0), table: row.get(1) },
                grantees: select_grantees(privileges.as_deref().unwrap_or(""), &owner),
                owner,
                materialized: kind == "m" || is_materialized_definition(&definition),
                definition,
                reads: vec![relation.clone()],
            }
        })
        .collect())
}

/// Whether a view definition is Redshift's form of a materialized view.
fn is_materialized_definition(definition: &str) -> bool {
    let words: Vec<String> =
        definition.split_whitespace().take(3).map(str::to_ascii_lowercase).collect();
    words == ["create", "materialized", "view"]
}

/// Every view bound to the table, directly or through other views, in dependency order (a view
/// comes after every view of the chain it reads).
pub fn dependent_view_chain(
    client: &mut impl GenericClient,
    table: &TableName,
) -> Result<Vec<BoundView>> {
    let mut found: Vec<BoundView> = Vec::new();
    let mut pending = vec![table.clone()];
    while let Some(relation) = pending.pop() {
        for view in views_bound_to(client, &relation)? {
            match found.iter_mut().find(|f| f.view == view.view) {
                Some(known) => known.reads.extend(view.reads),
                None => {
                    pending.push(view.view.clone());
                    found.push(view);
                }
            }
        }
    }
    Ok(dependency_order(found))
}

/// Orders views so each comes after the views of the set it reads (names break ties).
fn dependency_order(mut views: Vec<BoundView>) -> Vec<BoundView> {
    views.sort_by_key(|v| v.view.name());
    let mut ordered: Vec<BoundView> = Vec::with_capacity(views.len());
    while !views.is_empty() {
        let ready = views
            .iter()
            .position(|v| v.reads.iter().all(|r| !views.iter().any(|other| other.view == *r)))
            // A cycle cannot happen between views; keep going rather than loop forever.
            .unwrap_or(0);
        ordered.push(views.remove(ready));
    }
    ordered
}

/// The query behind [`can_act_as`], the owner bound as `$1`. Redshift has no role membership
/// of PostgreSQL's kind: there only the owner or a superuser may.
pub fn can_act_as_query(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => {
            "select current_user::text = $1
                    or (select rolsuper from pg_roles where rolname = current_user)
                    or pg_has_role(current_user, (select oid from pg_roles where rolname = $1), 'MEMBER')"
        }
        Dialect::Redshift => {
            "select current_user::text = $1 or (select usesuper from pg_user where usename = current_user)"
        }
    }
}

/// Whether the connected user may re-create a view owned by `owner` and give it back to them:
/// it is the owner, a superuser, or (PostgreSQL) a member of the owner's role.
pub fn can_act_as(client: &mut impl GenericClient, dialect: Dialect, owner: &str) -> Result<bool> {
    let row = client.query_one(can_act_as_query(dialect), &[&owner]).map_err(classified)?;
    Ok(row.get::<_, Option<bool>>(0).unwrap_or(false))
}

/// The table's columns in order, with their types as SQL (`format_type`).
pub fn columns(
    client: &mut impl GenericClient,
    table: &TableName,
) -> Result<Vec<(String, String)>> {
    let rows = client.query(COLUMNS, &[&table.schema, &table.table]).map_err(classified)?;
    Ok(rows.into_iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// One column of a table in the warehouse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableColumn {
    pub name: String,
    /// As `format_type` shows it (`character varying(256)`).
    pub type_name: String,
    pub not_null: bool,
}

/// The table's columns in order, with their types and nullability; empty when it does not exist.
pub fn column_details(
    client: &mut impl GenericClient,
    table: &TableName,
) -> Result<Vec<TableColumn>> {
    let rows = client.query(COLUMN_DETAILS, &[&table.schema, &table.table]).map_err(classified)?;
    Ok(rows
        .into_iter()
        .map(|row| TableColumn { name: row.get(0), type_name: row.get(1), not_null: row.get(2) })
        .collect())
}

/// Tables in the warehouse whose name ends with `suffix` (leftovers of interrupted builds).
pub fn tables_with_suffix(client: &mut impl GenericClient, suffix: &str) -> Result<Vec<TableName>> {
    let pattern = format!("%{}", suffix.replace('_', "\\_"));
    let rows = client.query(TABLES_WITH_SUFFIX, &[&pattern]).map_err(classified)?;
    Ok(rows.into_iter().map(|row| TableName { schema: row.get(0), table: row.get(1) }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(name: &str, reads: &[&str]) -> BoundView {
        BoundView {
            view: TableName::parse(name).unwrap(),
            owner: "duro".into(),
            definition: String::new(),
            grantees: Vec::new(),
            reads: reads.iter().map(|r| TableName::parse(r).unwrap()).collect(),
            materialized: false,
        }
    }

    #[test]
    fn redshift_materialized_view_definitions() {
        for (definition, materialized) in [
            ("CREATE MATERIALIZED VIEW s.mv AS SELECT a FROM s.t;", true),
            ("create materialized  view s.mv\nbackup no as select 1", true),
            (" SELECT t.a FROM s.t;", false),
            ("create view s.v as select 1", false),
        ] {
            assert_eq!(is_materialized_definition(definition), materialized, "{definition}");
        }
    }

    #[test]
    fn views_come_after_the_views_they_read() {
        let views = vec![
            view("a.v3", &["a.v2", "s.t"]),
            view("a.v2", &["a.v1"]),
            view("a.v1", &["s.t"]),
            view("b.w", &["s.t"]),
        ];
        let order: Vec<String> = dependency_order(views).iter().map(|v| v.view.name()).collect();
        assert_eq!(order, ["a.v1", "a.v2", "a.v3", "b.w"]);
    }
}
