//! S3 load nodes in the state file: each node's newest loaded file and data date on a row of
//! its own (`s3_load_state`, which no retention touches), and each load's files, data date and
//! rows beside its build record (`s3_load_runs`).

use super::names::json_column;
use super::{StateError, StateFile};
use rusqlite::{OptionalExtension, params};

/// What a node has loaded last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedFile {
    /// The file's URL (`s3://bucket/key` or `file:///…`).
    pub file: String,
    /// Its data date, RFC 3339 in UTC.
    pub data_date: String,
    pub loaded_at_ms: i64,
}

/// One load's details.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct S3LoadRun {
    pub build_id: i64,
    /// The files loaded, oldest first; empty when nothing was newer.
    pub files: Vec<String>,
    /// The newest data date loaded, or the table's when nothing newer was found.
    pub data_date: Option<String>,
    pub rows: Option<i64>,
    /// Why nothing was loaded, or what went wrong.
    pub note: Option<String>,
}

impl StateFile {
    /// The node's newest loaded file, if it ever loaded one.
    pub fn s3_load_state(&self, table: &str) -> Result<Option<LoadedFile>, StateError> {
        self.connection
            .query_row(
                "select last_file, data_date, loaded_at_ms from s3_load_state where table_name = ?1",
                [table],
                |row| Ok(LoadedFile { file: row.get(0)?, data_date: row.get(1)?, loaded_at_ms: row.get(2)? }),
            )
            .optional()
            .map_err(|e| self.error(e))
    }

    /// Records a load's details and, when it loaded a file, the node's newest file.
    pub fn record_s3_load(
        &mut self,
        table: &str,
        run: &S3LoadRun,
        loaded: Option<&LoadedFile>,
    ) -> Result<(), StateError> {
        let files = serde_json::to_string(&run.files).expect("a list of strings always serializes");
        self.write(|tx| {
            tx.prepare_cached(
                "insert or replace into s3_load_runs (build_id, table_name, files_json, data_date, rows, note)
                 values (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![run.build_id, table, files, run.data_date, run.rows, run.note])?;
            if let Some(loaded) = loaded {
                tx.prepare_cached(
                    "insert into s3_load_state (table_name, last_file, data_date, loaded_at_ms)
                     values (?1, ?2, ?3, ?4)
                     on conflict (table_name) do update set last_file = excluded.last_file,
                         data_date = excluded.data_date, loaded_at_ms = excluded.loaded_at_ms",
                )?
                .execute(params![table, loaded.file, loaded.data_date, loaded.loaded_at_ms])?;
            }
            Ok(())
        })
    }

    /// The node's newest loads, newest first.
    pub fn s3_load_runs(&self, table: &str, limit: usize) -> Result<Vec<S3LoadRun>, StateError> {
        self.collect(
            "select build_id, files_json, data_date, rows, note from s3_load_runs
             where table_name = ?1 order by build_id desc limit ?2",
            params![table, limit as i64],
            |row| {
                Ok(S3LoadRun {
                    build_id: row.get(0)?,
                    files: json_column(row, 1)?,
                    data_date: row.get(2)?,
                    rows: row.get(3)?,
                    note: row.get(4)?,
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_file_is_kept_beside_each_load() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = StateFile::open(&dir.path().join("duro.db")).unwrap();
        assert_eq!(state.s3_load_state("raw.pages").unwrap(), None);
        let loaded = LoadedFile {
            file: "s3://analytics/api_hits_pages_2015-07-03T00:00:00Z.json.gz".into(),
            data_date: "2015-07-03T00:00:00Z".into(),
            loaded_at_ms: 5,
        };
        let first = S3LoadRun {
            build_id: 1,
            files: vec![loaded.file.clone()],
            data_date: Some(loaded.data_date.clone()),
            rows: Some(3),
            note: None,
        };
        state.record_s3_load("raw.pages", &first, Some(&loaded)).unwrap();
        let unchanged = S3LoadRun {
            build_id: 2,
            data_date: Some(loaded.data_date.clone()),
            rows: Some(0),
            note: Some("nothing newer".into()),
            ..S3LoadRun::default()
        };
        state.record_s3_load("raw.pages", &unchanged, None).unwrap();
        assert_eq!(state.s3_load_state("raw.pages").unwrap(), Some(loaded));
        assert_eq!(state.s3_load_runs("raw.pages", 10).unwrap(), [unchanged, first]);
        assert!(state.s3_load_runs("raw.other", 10).unwrap().is_empty());
    }
}
