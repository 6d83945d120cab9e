copy "first"."countries_duro_temp" from stdin with (format csv, header true);
copy "first"."countries_duro_temp" from stdin with (format csv, header true, delimiter ';');
copy "first"."countries_duro_temp" from stdin with (format csv, header true, delimiter E'\t');
