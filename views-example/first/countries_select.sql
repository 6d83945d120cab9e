select distinct country, city as capital
from first.cities
order by country
