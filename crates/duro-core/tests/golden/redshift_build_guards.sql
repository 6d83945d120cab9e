explain select * from (
select city, country from first.cities_raw
) as duro_explain;
analyze "first"."cities_duro_temp";
