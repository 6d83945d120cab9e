with workplaces as (
    select shop_id, shop_name, city, country
    from first.shops
)
select p.person_id, p.person_name, w.shop_name, w.city, w.country
from first.people_raw p
join workplaces w on w.shop_id = p.shop_id
