alter table "first"."cities_duro_temp" rename to "cities";
