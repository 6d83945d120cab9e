select s.shop_id, s.shop_name, c.city, c.country
from first.shops_raw s
join first.cities c on c.city = s.city
