explain select city, country from first.cities_raw;
analyze "first"."cities_duro_temp";
