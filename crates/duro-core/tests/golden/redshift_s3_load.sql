create table "raw"."pages" (
    "page_id" character varying(256) not null,
    "hit_time" timestamp without time zone,
    "hits" integer default '0'::integer,
    "ratio" numeric(10,2)
) diststyle key distkey ("page_id") sortkey ("hit_time", "hits");
create table "raw"."pages" (
    "page_id" character varying(256) not null,
    "hit_time" timestamp without time zone,
    "hits" integer default '0'::integer,
    "ratio" numeric(10,2)
) sortkey ("hit_time");
alter table "raw"."pages" add column "referrer" character varying(256);
select max("hit_time") is not null, to_char(max("hit_time")::timestamp, 'YYYY-MM-DD"T"HH24:MI:SS') from "raw"."pages";
select max("hit_time") is not null, to_char(max("hit_time") at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') from "raw"."pages";
select max("day") is not null, to_char(max("day"), 'YYYY-MM-DD') from "raw"."pages";
delete from "raw"."pages" where "day" >= cast($1::text as date) and "day" < cast($2::text as date);
delete from "raw"."pages" where "hit_time" >= cast($1::text as timestamp) and "hit_time" < cast($2::text as timestamp);
delete from "raw"."pages";
copy "raw"."pages" ("page_id", "hit_time", "hits", "ratio") from 's3://analytics/api_hits_pages_2015-07-03T00:00:00Z.json.gz' iam_role 'arn:aws:iam::123456789012:role/duro-copy' format as json 'auto' dateformat 'auto' timeformat 'auto' gzip truncatecolumns region 'eu-west-1' statupdate off;
copy "raw"."pages" ("page_id", "hit_time", "hits", "ratio") from 's3://analytics/api_hits_pages_2015-07-03T00:00:00Z.json' iam_role 'arn:aws:iam::123456789012:role/duro-copy' format as json 's3://analytics/pages.jsonpaths' dateformat 'auto' timeformat 'auto' truncatecolumns statupdate off;
copy "raw"."pages" ("page_id", "hit_time", "hits", "ratio") from 's3://analytics/api_hits_pages_2015-07-03T00:00:00Z.csv.gz' credentials 'aws_access_key_id=AKIAEXAMPLE;aws_secret_access_key=<redacted>' format as csv quote as '"' null as '\\N' delimiter '|' ignoreheader 1 emptyasnull dateformat 'auto' timeformat 'auto' gzip maxerror 5 statupdate off;
copy "raw"."pages" ("page_id", "hit_time", "hits", "ratio") from 's3://analytics/api_hits_pages_2015-07-03T00:00:00Z.gz' iam_role 'arn:aws:iam::123456789012:role/duro-copy' format as csv quote as '"' null as '\\N' delimiter '\t' dateformat 'auto' timeformat 'auto' gzip truncatecolumns statupdate off;
copy "raw"."pages" ("page_id", "hit_time", "hits", "ratio") from 's3://duro-staging/duro/s3_load/raw.pages/1.manifest' iam_role 'arn:aws:iam::123456789012:role/duro-copy' format as json 'auto' dateformat 'auto' timeformat 'auto' manifest truncatecolumns statupdate off;
