//! The one-time choices of an S3 load run on the command line: `--table NODE --date DATE`
//! loads exactly that file, `--force` loads data that is not newer, `--truncate` empties the
//! table first whatever its `mode`. They apply to S3 load nodes only.

use crate::daemon::fatal;
use duro_core::catalog::KindName;
use duro_core::config::Config;
use duro_core::s3_load::{Overrides, files};
use duro_core::state::StateFile;
use std::process::ExitCode;

/// `--date`'s value: RFC 3339 without fractional seconds, as in the files' names.
pub(crate) fn parse_date(text: &str) -> Result<chrono::DateTime<chrono::FixedOffset>, String> {
    files::parse_date(text).ok_or_else(|| {
        format!("`{text}` is not a data date like 2015-07-02T00:00:00Z (RFC 3339, no fractions)")
    })
}

/// The overrides for `table`, after checking it is an S3 load node when any is given.
pub(crate) fn overrides(
    config: &Config,
    table: &str,
    overrides: Overrides,
) -> Result<Overrides, ExitCode> {
    if overrides == Overrides::default() {
        return Ok(overrides);
    }
    let state = StateFile::open(&config.state.path).map_err(|error| fatal(&error))?;
    let stored = state.table(table).map_err(|error| fatal(&error))?;
    match stored.map(|t| t.kind.name()) {
        Some(KindName::S3Load) => Ok(overrides),
        Some(kind) => Err(fatal(&format!(
            "--date, --force and --truncate apply to S3 load nodes; `{table}` is a {} table",
            kind.as_str()
        ))),
        None => Err(fatal(&format!(
            "`{table}` is not in the catalog; run duro-schedule first, or check the name"
        ))),
    }
}
