drop view "reports"."capital_count";
drop view "reports"."capitals";
create view "reports"."capitals" as
 SELECT cities.city,
    cities.country
   FROM first."cities_duro_temp" "cities"
  WHERE cities.country::text <> 'France'::text;
alter table "reports"."capitals" owner to "analyst";
grant select on "reports"."capitals" to group "bi";
grant select on "reports"."capitals" to "data-team";
create view "reports"."capital_count" as
 SELECT count(*) AS count
   FROM reports.capitals;
alter table "reports"."capital_count" owner to "evil""owner";
