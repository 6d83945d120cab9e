//! Helpers shared by the integration tests: views repositories written into temporary folders,
//! and the state file a scheduler run makes of one.

use duro_core::schedule::{CheckOptions, CheckedRepository, check_repository};
use duro_core::testing::write_files;
use tempfile::TempDir;

/// A views repository in a temporary folder, from (relative path, content) pairs.
pub(crate) fn repository(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), files);
    dir
}

/// Loads and checks a repository given as files.
/// The state file `duro.db` in the repository `dir`, after one scheduler run over it.
pub(crate) fn scheduled_state(dir: &TempDir) -> duro_core::state::StateFile {
    let state_path = dir.path().join("duro.db");
    duro_core::schedule::run(&duro_core::schedule::ScheduleOptions {
        views_path: dir.path().to_owned(),
        state_path: state_path.clone(),
        check: duro_core::schedule::CheckOptions::default(),
        use_git: false,
        keep_builds_for: duro_core::config::DEFAULT_KEEP_BUILDS_FOR,
    })
    .unwrap();
    duro_core::state::StateFile::open(&state_path).unwrap()
}

pub(crate) fn check(files: &[(&str, &str)], strict: bool) -> CheckedRepository {
    let dir = repository(files);
    check_repository(dir.path(), &CheckOptions { strict, ..CheckOptions::default() }).unwrap()
}

/// The diagnostics of a check as the scheduler prints them: `file:line: severity: message`.
pub(crate) fn rendered(checked: &CheckedRepository) -> Vec<String> {
    checked.diagnostics.iter().map(ToString::to_string).collect()
}

/// Whether one of the rendered `lines` is `{head}: …{part}…`, where `head` is what comes before
/// the message (`file: severity`, or `file:line: severity` when the diagnostic names a line).
pub(crate) fn has_diagnostic(lines: &[String], head: &str, part: &str) -> bool {
    lines.iter().any(|line| {
        line.strip_prefix(head)
            .and_then(|rest| rest.strip_prefix(": "))
            .is_some_and(|message| message.contains(part))
    })
}

/// Asserts that `checked` has a diagnostic rendered as `{head}: …{part}…` (see `has_diagnostic`).
#[track_caller]
pub(crate) fn assert_diagnostic(checked: &CheckedRepository, head: &str, part: &str) {
    let lines = rendered(checked);
    assert!(has_diagnostic(&lines, head, part), "no `{head}: …{part}…` among {lines:#?}");
}

/// The README's example repository, as files.
pub(crate) const README_EXAMPLE: &[(&str, &str)] = &[
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
