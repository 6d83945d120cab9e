unload ('select * from (
select city, ''it''''s'' as quote, ''\\d+'' as pattern
from first.cities -- the cities
) as duro_export') to 's3://duro-staging/duro/first.countries/1764087000000-3-input-' iam_role 'arn:aws:iam::123456789012:role/duro-unload' format as csv header parallel off allowoverwrite region 'eu-west-1';
unload ('select * from (
select 1
) as duro_export') to 's3://duro-staging/duro/first.countries/1764087000000-3-input-' credentials 'aws_access_key_id=AKIAEXAMPLE;aws_secret_access_key=<redacted>' format as csv header parallel off allowoverwrite;
unload ('select * from (
select 1
) as duro_export') to 's3://duro-staging/duro/first.countries/1764087000000-3-input-' iam_role 'arn:aws:iam::123456789012:role/duro-unload' format as csv delimiter ';' header parallel off allowoverwrite;
