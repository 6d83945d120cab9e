create or replace view "reports"."capitals" as
 SELECT cities.city,
    cities.country
   FROM first."cities_duro_temp" "cities"
  WHERE cities.country::text <> 'France'::text;
