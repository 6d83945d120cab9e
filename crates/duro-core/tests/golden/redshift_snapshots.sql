create table "first"."cities_history" as select *, current_timestamp::timestamp as "snapshot_timestamp" from "first"."cities" limit 0;
alter table "first"."cities_history" add column "population" integer;
select (extract(epoch from (current_timestamp::timestamp - max("snapshot_timestamp"))) / 60)::bigint from "first"."cities_history";
insert into "first"."cities_history" ("city", "country", "snapshot_timestamp") select "city", "country", current_timestamp::timestamp from "first"."cities";
delete from "first"."cities_history" where "snapshot_timestamp" < current_timestamp::timestamp - ($1::int * interval '1 minute');
