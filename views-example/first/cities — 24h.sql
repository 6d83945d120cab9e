-- One row per city with its country.
-- Recreated every 24 hours (interval after the em dash in the file name).
select city, country
from first.cities_raw
