//! Opening the state file: an empty file becomes a new state file (with a warning); a file
//! that is not SQLite, or another program's SQLite database, is refused with its path, and is
//! left exactly as it was.

use duro_core::state::StateFile;
use rusqlite::Connection;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The number of migrations this Duro knows: the version of a new state file.
fn current_version() -> i64 {
    let dir = tempfile::tempdir().unwrap();
    StateFile::open(&dir.path().join("new.db")).unwrap().schema_version().unwrap()
}

/// Log lines written while `work` runs on this thread.
fn logged<T>(work: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber =
        tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    let value = tracing::subscriber::with_default(subscriber, work);
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    (value, text)
}

#[test]
fn an_empty_file_becomes_a_new_state_file_with_a_warning() {
    let known = current_version();
    // (a `-wal` file beside it, warned)
    for (wal, warned) in [(false, true), (true, false)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("duro.db");
        std::fs::write(&path, "").unwrap();
        if wal {
            std::fs::write(dir.path().join("duro.db-wal"), "").unwrap();
        }
        let (state, log) = logged(|| StateFile::open(&path));
        let state = state.unwrap_or_else(|e| panic!("wal {wal}: {e}"));
        assert_eq!(state.schema_version().unwrap(), known, "wal {wal}");
        assert_eq!(log.contains("is empty: starting a new state file"), warned, "wal {wal}: {log}");
        if warned {
            assert!(log.contains("WARN") && log.contains("duro.db"), "{log}");
        }
        drop(state);
        // Reopened, it is an ordinary state file: no warning.
        let (state, log) = logged(|| StateFile::open(&path));
        assert_eq!(state.unwrap().schema_version().unwrap(), known);
        assert!(!log.contains("is empty"), "{log}");
    }
}

/// A SQLite file made by another program: `sql`, then `user_version`.
fn foreign_database(path: &Path, sql: &str, user_version: i64) {
    let db = Connection::open(path).unwrap();
    db.execute_batch(sql).unwrap();
    db.pragma_update(None, "user_version", user_version).unwrap();
}

#[test]
fn files_that_are_not_duro_state_files_are_refused_untouched() {
    let known = current_version();
    let duro_tables = "create table tables (name text); create table dependencies (x);
         create table commits (x); create table force_requests (x); create table builds (x);
         create table leases (x);";
    let newer = format!("user_version {}", known + 5);
    let text =
        "this is not a database, just text that is long enough to have a header\n".repeat(20);
    // (file contents: text, or SQL and user_version; words the error must contain)
    let cases: Vec<(Result<&str, (&str, i64)>, Vec<&str>)> = vec![
        (Ok(text.as_str()), vec!["not an SQLite database"]),
        (Ok("hello\n"), vec!["not an SQLite database"]),
        (
            Err(("create table customers (id integer primary key, name text)", 0)),
            vec!["another program's SQLite database", "customers"],
        ),
        (
            Err(("create table customers (id integer); create table orders (id integer)", 0)),
            vec!["another program's SQLite database", "customers, orders"],
        ),
        (
            Err(("create table customers (id integer)", known + 5)),
            vec![newer.as_str(), "customers", "without Duro's builds"],
        ),
        (
            Err((
                "create table tables (table_name text primary key); create table commits (hash text);
                 create table timestamps (\"table\" text, start integer, finish integer);
                 create table version (major integer, minor integer)",
                0,
            )),
            vec!["the original Duro's database", "[main] db in config.conf"],
        ),
        (Err(("create table customers (id integer)", 2)), vec!["user_version 2", "customers"]),
        (
            Err(("create table tables (name text)", 1)),
            vec!["user_version 1", "without Duro's builds, commits, dependencies"],
        ),
        (Err(("", 3)), vec!["user_version 3 and no tables"]),
    ];
    for (contents, words) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        match contents {
            Ok(text) => std::fs::write(&path, text).unwrap(),
            Err((sql, version)) => foreign_database(&path, sql, version),
        }
        let before = std::fs::read(&path).unwrap();
        let error = StateFile::open(&path).err().map(|e| e.to_string());
        let error = error.unwrap_or_else(|| panic!("{contents:?} was opened"));
        assert!(error.contains(&format!("`{}`", path.display())), "names the path: {error}");
        assert!(error.contains("is not a Duro state file"), "{error}");
        for word in words {
            assert!(error.contains(word), "{contents:?}: `{word}` in {error}");
        }
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "{contents:?}: the file is left as it was"
        );
        assert!(!dir.path().join("other.db-wal").exists(), "{contents:?}: not switched to WAL");
    }

    // Duro's own tables with a newer version: upgrade Duro, not "not Duro's".
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("duro.db");
    foreign_database(&path, duro_tables, known + 1);
    let error = StateFile::open(&path).err().unwrap().to_string();
    assert!(error.contains("newer than this Duro knows"), "{error}");
    assert!(error.contains("upgrade Duro"), "{error}");
}

#[test]
fn a_state_file_opens_again_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("duro.db");
    let known = current_version();
    for _ in 0..3 {
        let state = StateFile::open(&path).unwrap();
        assert_eq!(state.schema_version().unwrap(), known);
    }
    // Someone's own extra table beside Duro's does not make it foreign.
    Connection::open(&path).unwrap().execute_batch("create table notes (text text)").unwrap();
    assert!(StateFile::open(&path).is_ok());
}
