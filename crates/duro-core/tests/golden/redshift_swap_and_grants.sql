alter table "first"."cities" rename to "cities_duro_old";
alter table "first"."cities_duro_temp" rename to "cities";
drop table "first"."cities_duro_old";
grant select on "first"."cities" to group "analysts";
grant select on "first"."cities" to "jane";
grant select on "first"."cities" to "metabase";
grant select on "first"."cities" to "data-team";
