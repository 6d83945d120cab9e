create table first."countries_duro_temp" (
  country varchar(100),
  capital varchar(100)
) diststyle key distkey ("country") sortkey ("country", "capital");
