create table first.countries (
    country text,
    capital text
)
