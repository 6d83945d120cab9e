create table "raw"."pages" (
    "page_id" character varying(256) not null,
    "hit_time" timestamp without time zone,
    "hits" integer default '0'::integer,
    "ratio" numeric(10,2)
);
delete from "raw"."pages" where "hit_time" >= cast($1::text as timestamptz) and "hit_time" < cast($2::text as timestamptz);
