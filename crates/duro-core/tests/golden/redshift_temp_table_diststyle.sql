drop table if exists "first"."cities_duro_temp";
create table "first"."cities_duro_temp" diststyle all as (
select 1 as x
);
