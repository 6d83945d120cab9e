-- Raw source tables for views-example/. Safe to run repeatedly:
--   psql -v ON_ERROR_STOP=1 -f deploy/example/source-tables.sql
begin;

create schema if not exists first;
create schema if not exists finances;

drop table if exists first.cities_raw;
create table first.cities_raw (
    city text not null primary key,
    country text not null,
    population integer not null,
    founded integer not null -- year, negative for BC
);
insert into first.cities_raw (city, country, population, founded) values
    ('Paris', 'France', 2103000, -250),
    ('Ottawa', 'Canada', 1017000, 1826),
    ('Berlin', 'Germany', 3755000, 1237),
    ('Madrid', 'Spain', 3332000, 865),
    ('Rome', 'Italy', 2749000, -753),
    ('Tokyo', 'Japan', 13960000, 1457),
    ('Canberra', 'Australia', 467000, 1913),
    ('Brasilia', 'Brazil', 2817000, 1960),
    ('Nairobi', 'Kenya', 4397000, 1899),
    ('Washington', 'United States', 690000, 1790),
    ('Oslo', 'Norway', 709000, 1040),
    ('Wellington', 'New Zealand', 215000, 1840);

drop table if exists first.shops_raw;
create table first.shops_raw (
    shop_id integer not null primary key,
    shop_name text not null,
    city text not null
);
insert into first.shops_raw (shop_id, shop_name, city) values
    (1, 'Left Bank Books', 'Paris'),
    (2, 'Marais Bakery', 'Paris'),
    (3, 'Rideau Hardware', 'Ottawa'),
    (4, 'Spree Bikes', 'Berlin'),
    (5, 'Gran Via Coffee', 'Madrid'),
    (6, 'Shibuya Records', 'Tokyo'),
    (7, 'Kilimani Market', 'Nairobi'),
    (8, 'Harbour Deli', 'Wellington');

drop table if exists first.people_raw;
create table first.people_raw (
    person_id integer not null primary key,
    person_name text not null,
    shop_id integer not null
);
insert into first.people_raw (person_id, person_name, shop_id) values
    (1, 'Camille Martin', 1),
    (2, 'Hugo Bernard', 2),
    (3, 'Emily Tremblay', 3),
    (4, 'Liam Roy', 3),
    (5, 'Jonas Weber', 4),
    (6, 'Lucia Garcia', 5),
    (7, 'Haruto Sato', 6),
    (8, 'Yui Suzuki', 6),
    (9, 'Wanjiru Kamau', 7),
    (10, 'Aroha Ngata', 8);

drop table if exists finances.sales_raw;
create table finances.sales_raw (
    sale_id integer not null primary key,
    shop_id integer not null,
    amount numeric(12,2) not null,
    sold_at timestamp not null
);
insert into finances.sales_raw (sale_id, shop_id, amount, sold_at) values
    (1, 1, 24.90, '2024-03-01 09:15:00'),
    (2, 2, 6.40, '2024-03-01 07:42:00'),
    (3, 3, 132.75, '2024-03-01 10:05:00'),
    (4, 4, 459.00, '2024-03-01 11:30:00'),
    (5, 5, 8.20, '2024-03-01 08:10:00'),
    (6, 6, 35.00, '2024-03-01 13:22:00'),
    (7, 7, 18.60, '2024-03-01 12:48:00'),
    (8, 8, 27.30, '2024-03-01 12:05:00'),
    (9, 1, 42.50, '2024-03-02 14:20:00'),
    (10, 2, 12.80, '2024-03-02 08:03:00'),
    (11, 3, 64.99, '2024-03-02 15:45:00'),
    (12, 4, 89.00, '2024-03-02 16:10:00'),
    (13, 5, 15.60, '2024-03-02 09:37:00'),
    (14, 6, 72.00, '2024-03-02 18:55:00'),
    (15, 7, 54.25, '2024-03-02 10:14:00'),
    (16, 8, 19.90, '2024-03-02 13:01:00'),
    (17, 1, 18.00, '2024-03-03 11:11:00'),
    (18, 2, 4.20, '2024-03-03 07:30:00'),
    (19, 3, 215.40, '2024-03-03 09:50:00'),
    (20, 4, 1249.00, '2024-03-03 17:25:00'),
    (21, 5, 11.40, '2024-03-03 10:02:00'),
    (22, 6, 28.50, '2024-03-03 19:40:00'),
    (23, 7, 33.10, '2024-03-03 16:18:00'),
    (24, 8, 41.75, '2024-03-03 12:33:00'),
    (25, 1, 67.30, '2024-03-04 15:05:00'),
    (26, 2, 9.60, '2024-03-04 08:21:00'),
    (27, 3, 48.20, '2024-03-04 13:47:00'),
    (28, 4, 35.50, '2024-03-04 10:59:00'),
    (29, 6, 112.00, '2024-03-04 20:12:00'),
    (30, 8, 23.45, '2024-03-04 11:44:00');

do $$
declare
    role_name text;
begin
    foreach role_name in array array['metabase', 'jane', 'john'] loop
        if not exists (select 1 from pg_roles where rolname = role_name) then
            execute format('create role %I', role_name);
        end if;
    end loop;
end
$$;

commit;
