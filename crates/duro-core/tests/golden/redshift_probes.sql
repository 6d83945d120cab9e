select version();
create table "first"."duro_probe_42" (probe int);
select probe from "first"."duro_probe_42";
drop view if exists "first"."duro_probe_42";
