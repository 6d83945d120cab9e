//! The scheduler's writes to the state file: new, updated, removed and re-added tables, force
//! requests, processed commits, and Python Duro's catalog bugs (updated tables vanishing from the
//! queue, one-table repositories crashing) as regressions.

use crate::common::{README_EXAMPLE, repository};
use duro_core::schedule::{ScheduleOptions, ScheduleOutcome, run};
use duro_core::state::{CatalogChanges, StateFile};
use duro_core::testing::write_files;
use std::path::Path;
use std::process::Command;

fn options(views: &Path, state: &Path) -> ScheduleOptions {
    ScheduleOptions {
        views_path: views.to_owned(),
        state_path: state.to_owned(),
        check: duro_core::schedule::CheckOptions::default(),
        use_git: false,
        keep_builds_for: duro_core::config::DEFAULT_KEEP_BUILDS_FOR,
    }
}

fn schedule(views: &Path, state: &Path) -> CatalogChanges {
    match run(&options(views, state)).unwrap() {
        ScheduleOutcome::Saved { changes, .. } => changes,
        other => panic!("expected a saved catalog, got {other:?}"),
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn new_unchanged_updated_removed_and_re_added() {
    let views = repository(README_EXAMPLE);
    let state_dir = tempfile::tempdir().unwrap();
    let state_path = state_dir.path().join("duro.db");

    let first = schedule(views.path(), &state_path);
    assert_eq!(first.new.len(), 5);
    assert!(first.updated.is_empty() && first.removed.is_empty());
    let state = StateFile::open(&state_path).unwrap();
    assert_eq!(state.force_requests().unwrap().len(), 5);
    assert!(state.force_requests().unwrap().iter().all(|(_, reason)| reason == "new"));
    let shops =
        state.active_tables().unwrap().into_iter().find(|t| t.name == "first.shops").unwrap();
    assert_eq!(shops.dependencies, ["first.cities"]);
    assert_eq!(shops.interval_minutes, None);
    drop(state);

    assert_eq!(schedule(views.path(), &state_path), CatalogChanges::default());

    // Change the interval of one table, the config of another, and only the tests of a third.
    std::fs::rename(
        views.path().join("first/people — 1h.sql"),
        views.path().join("first/people — 2h.sql"),
    )
    .unwrap();
    write_files(
        views.path(),
        &[
            ("first/shops.conf", "grant_select+=jane\n"),
            ("first/cities_test.sql", "select true as ok"),
        ],
    );
    let changes = schedule(views.path(), &state_path);
    assert_eq!(changes.updated, names(&["first.people", "first.shops"]));
    let state = StateFile::open(&state_path).unwrap();
    let cities =
        state.active_tables().unwrap().into_iter().find(|t| t.name == "first.cities").unwrap();
    assert_eq!(cities.tests.as_deref(), Some("select true as ok"));
    drop(state);

    std::fs::remove_file(views.path().join("finances/simplified — 1d.sql")).unwrap();
    std::fs::remove_file(views.path().join("finances/simplified.conf")).unwrap();
    let changes = schedule(views.path(), &state_path);
    assert_eq!(changes.removed, names(&["finances.simplified"]));
    let state = StateFile::open(&state_path).unwrap();
    let all = state.all_tables().unwrap();
    let simplified = all.iter().find(|t| t.name == "finances.simplified").unwrap();
    assert!(simplified.deleted_at_ms.is_some());
    assert!(!state.active_tables().unwrap().iter().any(|t| t.name == "finances.simplified"));
    assert!(!state.force_requests().unwrap().iter().any(|(name, _)| name == "finances.simplified"));
    drop(state);

    // Re-adding it, identical, brings it back and flags it for a rebuild.
    write_files(
        views.path(),
        &[("finances/simplified — 1d.sql", "select * from finances.revenue")],
    );
    let changes = schedule(views.path(), &state_path);
    assert_eq!(changes.new, names(&["finances.simplified"]));
    let state = StateFile::open(&state_path).unwrap();
    let simplified = state
        .active_tables()
        .unwrap()
        .into_iter()
        .find(|t| t.name == "finances.simplified")
        .unwrap();
    assert_eq!(simplified.deleted_at_ms, None);
    assert!(
        state
            .force_requests()
            .unwrap()
            .contains(&("finances.simplified".to_owned(), "re-added".to_owned()))
    );
}

/// Regression (Python Duro): an updated table got `deleted = 0` and vanished from the queue
/// and the UI for good. Updated tables stay active and are flagged for a rebuild.
#[test]
fn regression_updated_tables_stay_active_and_are_rebuilt() {
    let views =
        repository(&[("first/a — 1h.sql", "select 1 as x"), ("first/b — 1h.sql", "select 1 as y")]);
    let state_dir = tempfile::tempdir().unwrap();
    let state_path = state_dir.path().join("duro.db");
    schedule(views.path(), &state_path);
    // Pretend the creator built everything: clear the force requests.
    rusqlite::Connection::open(&state_path)
        .unwrap()
        .execute("delete from force_requests", [])
        .unwrap();

    write_files(views.path(), &[("first/a — 1h.sql", "select 2 as x")]);
    assert_eq!(schedule(views.path(), &state_path).updated, names(&["first.a"]));
    let state = StateFile::open(&state_path).unwrap();
    let active: Vec<String> = state.active_tables().unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(active, names(&["first.a", "first.b"]));
    assert_eq!(state.force_requests().unwrap(), [("first.a".to_owned(), "changed".to_owned())]);
}

/// Regression (Python Duro): a repository with exactly one table crashed the save.
#[test]
fn regression_one_table_repository() {
    let views = repository(&[("first/only — 1h.sql", "select 1 as x")]);
    let state_dir = tempfile::tempdir().unwrap();
    let state_path = state_dir.path().join("duro.db");
    assert_eq!(schedule(views.path(), &state_path).new, names(&["first.only"]));
    assert_eq!(schedule(views.path(), &state_path), CatalogChanges::default());
    std::fs::remove_file(views.path().join("first/only — 1h.sql")).unwrap();
    // An empty repository is valid too: the last table is removed.
    assert_eq!(schedule(views.path(), &state_path).removed, names(&["first.only"]));
}

/// A failed check writes nothing: the previous catalog stays in force.
#[test]
fn a_failed_check_writes_nothing() {
    let views = repository(README_EXAMPLE);
    let state_dir = tempfile::tempdir().unwrap();
    let state_path = state_dir.path().join("duro.db");
    schedule(views.path(), &state_path);
    let before = StateFile::open(&state_path).unwrap().all_tables().unwrap();

    write_files(
        views.path(),
        &[("first/cities — 24h.sql", "select 'changed' as city"), ("cities.sql", "select 1")],
    );
    match run(&options(views.path(), &state_path)).unwrap() {
        ScheduleOutcome::Rejected { checked } => assert!(checked.has_errors()),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(StateFile::open(&state_path).unwrap().all_tables().unwrap(), before);
}

fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Duro Test", "-c", "user.email=duro@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn an_already_processed_commit_is_skipped() {
    let views = repository(README_EXAMPLE);
    git(views.path(), &["init", "-q"]);
    git(views.path(), &["add", "."]);
    git(views.path(), &["commit", "-q", "-m", "views"]);
    let state_dir = tempfile::tempdir().unwrap();
    let state_path = state_dir.path().join("duro.db");
    let with_git = ScheduleOptions { use_git: true, ..options(views.path(), &state_path) };

    assert!(matches!(run(&with_git).unwrap(), ScheduleOutcome::Saved { commit: Some(_), .. }));
    // An uncommitted (even broken) change is not looked at while the commit is unchanged.
    write_files(views.path(), &[("cities.sql", "select 1")]);
    assert!(matches!(run(&with_git).unwrap(), ScheduleOutcome::UnchangedCommit { .. }));
    // A new commit is processed; its error leaves the commit unprocessed, so the next run retries.
    git(views.path(), &["add", "."]);
    git(views.path(), &["commit", "-q", "-m", "broken"]);
    assert!(matches!(run(&with_git).unwrap(), ScheduleOutcome::Rejected { .. }));
    assert!(matches!(run(&with_git).unwrap(), ScheduleOutcome::Rejected { .. }));
    std::fs::remove_file(views.path().join("cities.sql")).unwrap();
    write_files(views.path(), &[("first/extra — 1h.sql", "select 1 as x")]);
    git(views.path(), &["add", "-A"]);
    git(views.path(), &["commit", "-q", "-m", "fixed"]);
    match run(&with_git).unwrap() {
        ScheduleOutcome::Saved { changes, .. } => assert_eq!(changes.new, names(&["first.extra"])),
        other => panic!("expected a saved catalog, got {other:?}"),
    }
    assert!(matches!(run(&with_git).unwrap(), ScheduleOutcome::UnchangedCommit { .. }));
}

#[test]
fn git_problems_are_errors() {
    let views = repository(README_EXAMPLE);
    let state_dir = tempfile::tempdir().unwrap();
    let with_git = ScheduleOptions {
        use_git: true,
        ..options(views.path(), &state_dir.path().join("duro.db"))
    };
    let error = run(&with_git).unwrap_err().to_string();
    assert!(error.contains("is not inside a git repository"), "{error}");
}

/// A stored table comes back typed: its config, files and dependency method as values, not as
/// JSON or text; a row whose JSON no longer fits is an error naming the state file, not a
/// silently empty config.
#[test]
fn stored_tables_are_typed_and_corrupt_rows_are_errors() {
    let views = repository(&[
        ("s/t — 1h.sql", "select 1 as a"),
        ("s/t.conf", "grant_select=jane\nsortkey=a\n"),
    ]);
    let state_dir = tempfile::tempdir().unwrap();
    let state_path = state_dir.path().join("duro.db");
    run(&options(views.path(), &state_path)).unwrap();
    let state = StateFile::open(&state_path).unwrap();
    let table = state.active_tables().unwrap().remove(0);
    assert_eq!(table.config.grant_select, ["jane"]);
    assert_eq!(table.config.sortkey, ["a"]);
    assert_eq!(table.config.sources["sortkey"], "s/t.conf");
    assert_eq!(table.dependency_method, duro_core::sql::DependencyMethod::Parsed);
    assert_eq!(table.files, ["s/t — 1h.sql", "s/t.conf"]);
    rusqlite::Connection::open(&state_path)
        .unwrap()
        .execute("update tables set config_json = '{\"grant_select\": 5}'", [])
        .unwrap();
    let error = state.active_tables().unwrap_err().to_string();
    assert!(error.contains(&state_path.display().to_string()), "{error}");
}

/// The force rule: one table or its tree (everything upstream), never an unknown or removed
/// table, each request recorded with its reason.
#[test]
fn forcing_a_table_or_its_tree() {
    use duro_core::force::{ForceError, Scope, request};
    use duro_core::plan::{PlanTable, Planner};
    let views = repository(&[
        ("s/top — 1h.sql", "select x from s.mid"),
        ("s/mid.sql", "select x from s.base"),
        ("s/base.sql", "select 1 as x"),
        ("s/gone — 1h.sql", "select 2 as y"),
    ]);
    let state_dir = tempfile::tempdir().unwrap();
    let state_path = state_dir.path().join("duro.db");
    run(&options(views.path(), &state_path)).unwrap();
    std::fs::remove_file(views.path().join("s/gone — 1h.sql")).unwrap();
    run(&options(views.path(), &state_path)).unwrap();
    let mut state = StateFile::open(&state_path).unwrap();
    let tables: Vec<_> = state.table_overview(0).unwrap().into_iter().map(|(t, _)| t).collect();
    let active: Vec<PlanTable> =
        tables.iter().filter(|t| t.deleted_at_ms.is_none()).map(PlanTable::from).collect();
    let planner = Planner::new(&active);
    let tree = request(&mut state, &tables, &planner, "s.top", Scope::Tree, "test", 10).unwrap();
    assert_eq!(tree, ["s.base", "s.mid", "s.top"]);
    let one = request(&mut state, &tables, &planner, "s.mid", Scope::Table, "test", 11).unwrap();
    assert_eq!(one, ["s.mid"]);
    let requests: std::collections::HashMap<String, String> =
        state.force_requests().unwrap().into_iter().collect();
    assert_eq!(requests["s.top"], "test: update tree of s.top");
    assert_eq!(requests["s.mid"], "test: update table");
    let unknown = request(&mut state, &tables, &planner, "s.nope", Scope::Table, "test", 12);
    assert!(matches!(unknown, Err(ForceError::UnknownTable(name)) if name == "s.nope"));
    let removed = request(&mut state, &tables, &planner, "s.gone", Scope::Tree, "test", 12);
    assert!(matches!(removed, Err(ForceError::Removed(name)) if name == "s.gone"));
}

/// The sources of the catalog in force are kept with the tables that read them; a removed
/// reader takes its reads with it.
#[test]
fn sources_are_kept_with_their_readers() {
    let dir = tempfile::tempdir().unwrap();
    let views = dir.path().join("views");
    write_files(
        &views,
        &[
            ("s/a — 1h.sql", "select * from raw.events"),
            ("s/b — 1h.sql", "select * from raw.events join raw.users using (id)"),
        ],
    );
    let state_path = dir.path().join("duro.db");
    schedule(&views, &state_path);
    let state = StateFile::open(&state_path).unwrap();
    let found = |state: &StateFile| -> Vec<(String, Vec<String>)> {
        state.sources().unwrap().into_iter().map(|s| (s.name, s.read_by)).collect()
    };
    assert_eq!(
        found(&state),
        [
            ("raw.events".to_owned(), names(&["s.a", "s.b"])),
            ("raw.users".to_owned(), names(&["s.b"])),
        ]
    );
    std::fs::remove_file(views.join("s/b — 1h.sql")).unwrap();
    schedule(&views, &state_path);
    assert_eq!(found(&state), [("raw.events".to_owned(), names(&["s.a"]))]);
}
