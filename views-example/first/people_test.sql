select count(*) > 0 as has_people
from first.people;
select count(*) = count(distinct person_id) as person_id_unique
from first.people;
