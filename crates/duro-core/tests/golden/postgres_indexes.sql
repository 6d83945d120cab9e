create index "cities_country_idx_duro_temp" on "first"."cities_duro_temp" ("country");
create unique index "cities_city_country_idx_duro_temp" on "first"."cities_duro_temp" ("city", "country");
alter index "first"."cities_country_idx_duro_temp" rename to "cities_country_idx";
alter index "first"."cities_city_country_idx_duro_temp" rename to "cities_city_country_idx";
