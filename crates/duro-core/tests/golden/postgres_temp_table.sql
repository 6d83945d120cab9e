drop table if exists "first"."cities_duro_temp";
create table "first"."cities_duro_temp" as (
select city, country
from first.cities_raw -- the raw data
);
