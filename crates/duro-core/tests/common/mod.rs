//! Helpers shared by the integration tests: views repositories written into temporary folders.

use duro_core::config::DEFAULT_MAX_FILE_SIZE;
use duro_core::schedule::{CheckedRepository, check_repository};
use duro_core::testing::write_files;
use tempfile::TempDir;

/// A views repository in a temporary folder, from (relative path, content) pairs.
pub fn repository(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), files);
    dir
}

/// Loads and checks a repository given as files.
pub fn check(files: &[(&str, &str)], strict: bool) -> CheckedRepository {
    let dir = repository(files);
    check_repository(dir.path(), strict, DEFAULT_MAX_FILE_SIZE).unwrap()
}

/// The README's example repository, as files.
pub const README_EXAMPLE: &[(&str, &str)] = &[
    ("global.conf", "grant_select=metabase\n"),
    ("first/cities — 24h.sql", "select city, country\nfrom first.cities_raw\n"),
    (
        "first/cities_test.sql",
        "select (city = 'Paris') as correct_capital_of_france\nfrom first.cities\nwhere country = 'France';\n",
    ),
    ("first/cities.conf", "grant_select=jane, john\ndiststyle=even\ndistkey=city\nsortkey=city\n"),
    (
        "first/shops.sql",
        "select s.shop_id, c.city from first.shops_raw s join first.cities c on c.city = s.city",
    ),
    (
        "first/people — 1h.sql",
        "select p.name, s.city from first.people_raw p join first.shops s using (shop_id)",
    ),
    ("finances.conf", "grant_select-=metabase\n"),
    (
        "finances/revenue — 1d.sql",
        "select city, sum(amount) as amount from finances.sales_raw join first.shops using (shop_id) group by 1",
    ),
    ("finances/simplified — 1d.sql", "select * from finances.revenue"),
    ("finances/simplified.conf", "grant_select+=metabase\n"),
];
