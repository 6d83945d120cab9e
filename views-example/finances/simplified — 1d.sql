select country, round(revenue) as revenue
from finances.revenue
where revenue > 0
