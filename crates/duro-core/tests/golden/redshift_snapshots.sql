create table "first"."cities_history" as select *, getdate() as "snapshot_timestamp" from "first"."cities" limit 0;
alter table "first"."cities_history" add column "population" integer;
select datediff(minute, max("snapshot_timestamp"), getdate())::bigint from "first"."cities_history";
insert into "first"."cities_history" ("city", "country", "snapshot_timestamp") select "city", "country", getdate() from "first"."cities";
delete from "first"."cities_history" where "snapshot_timestamp" < dateadd(minute, -$1::int, getdate());
