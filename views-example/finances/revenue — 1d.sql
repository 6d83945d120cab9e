select sh.country, sum(sa.amount) as revenue
from finances.sales_raw sa
join first.shops sh on sh.shop_id = sa.shop_id
group by sh.country
