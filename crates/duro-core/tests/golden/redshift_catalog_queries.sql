select c.relkind::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = $1 and c.relname = $2;
select c.relkind::text, array_to_string(c.relacl, ','), pg_get_userbyid(c.relowner)::text,
           exists (select 1 from pg_depend d join pg_rewrite r on r.oid = d.objid
                   where d.refclassid = 'pg_class'::regclass and d.refobjid = c.oid
                     and d.classid = 'pg_rewrite'::regclass and r.ev_class <> c.oid)
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = $1 and c.relname = $2;
select distinct vn.nspname::text, v.relname::text, pg_get_userbyid(v.relowner)::text,
           pg_get_viewdef(v.oid)::text, array_to_string(v.relacl, ','), v.relkind::text
    from pg_class t
    join pg_namespace tn on tn.oid = t.relnamespace
    join pg_depend d on d.refclassid = 'pg_class'::regclass and d.refobjid = t.oid
                     and d.classid = 'pg_rewrite'::regclass
    join pg_rewrite r on r.oid = d.objid
    join pg_class v on v.oid = r.ev_class
    join pg_namespace vn on vn.oid = v.relnamespace
    where tn.nspname = $1 and t.relname = $2 and v.relkind in ('v', 'm') and v.oid <> t.oid
    order by 1, 2;
select a.attname::text, format_type(a.atttypid, a.atttypmod)::text from pg_attribute a
    join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = $1 and c.relname = $2 and a.attnum > 0 and not a.attisdropped order by a.attnum;
select a.attname::text, format_type(a.atttypid, a.atttypmod)::text, a.attnotnull
    from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = $1 and c.relname = $2 and a.attnum > 0 and not a.attisdropped order by a.attnum;
select n.nspname::text, c.relname::text
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'r' and c.relname like $1 and n.nspname not in ('pg_catalog', 'information_schema')
    order by 1, 2;
select current_user::text = $1 or (select usesuper from pg_user where usename = current_user);
select line_number::bigint, trim(column_name), trim(error_message), trim(file_name)
    from sys_load_error_detail where session_id = pg_backend_pid() order by start_time desc limit 1;
set statement_timeout = 3600000;
select count(*) from "first"."cities";
declare duro_export cursor for select city from first.cities;
fetch forward 1000 from duro_export;
close duro_export;
begin;
set local search_path to pg_catalog;
rollback;
