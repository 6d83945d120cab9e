select current_user::text = $1 or (select usesuper from pg_user where usename = current_user);
select distinct pid from stl_connection_log where application_name = $1 and event = 'initiating session';
select process from stv_sessions where process <> pg_backend_pid();
select pg_terminate_backend($1);
select null::super;
select null::varbyte;
select null::geometry;
select null::hllsketch;
begin read only;
