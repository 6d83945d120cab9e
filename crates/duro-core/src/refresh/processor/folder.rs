//! The folder a processor script runs in: a copy of the script's folder in the views repository
//! (its regular files, read as every file of the repository is: inside it only, at most
//! `views.max_file_size` each), with the catalogued script written over its own file. Scripts
//! written for the original Duro find the files beside them through `__file__`, and the
//! checkout is never written.

use super::{ProcessorDefinition, ProcessorRunner, failed};
use crate::views::reading::RepositoryReader;
use crate::warehouse::WarehouseError;
use crate::warehouse::render::TableName;
use std::path::{Path, PathBuf};

/// Makes `<work>/script` and returns it with the script's path inside it.
pub(super) fn prepare(
    runner: &ProcessorRunner,
    processor: &ProcessorDefinition,
    live: &TableName,
    work: &Path,
) -> Result<(PathBuf, PathBuf), WarehouseError> {
    let folder = work.join("script");
    std::fs::create_dir(&folder)
        .map_err(|e| failed(format!("cannot create {}: {e}", folder.display())))?;
    let script_name = match &processor.script_path {
        Some(script_path) => {
            copy_folder(runner, Path::new(script_path).parent().unwrap_or(Path::new("")), &folder)?;
            Path::new(script_path)
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(format!("{}.py", live.table)))
        }
        None => PathBuf::from(format!("{}.py", live.table)),
    };
    let script = folder.join(script_name);
    std::fs::write(&script, &processor.source)
        .map_err(|e| failed(format!("cannot write the script: {e}")))?;
    if let Some(user) = &runner.run_as {
        // The script may write beside itself, as it could in the original's checkout.
        user.give(&folder).map_err(failed)?;
    }
    Ok((folder, script))
}

/// Copies the regular files of `relative` (a folder of the views repository) into `into`;
/// hidden files and folders are left out, and so is a file the repository rules refuse (too
/// large, not a regular file, outside the repository), with a warning: the script may not need
/// it, and if it does, its own error says which.
fn copy_folder(
    runner: &ProcessorRunner,
    relative: &Path,
    into: &Path,
) -> Result<(), WarehouseError> {
    let cannot = |e: std::io::Error| {
        failed(format!("cannot copy the script's folder `{}`: {e}", relative.display()))
    };
    let entries = match std::fs::read_dir(runner.views_root.join(relative)) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(
                "the script's folder `{}` is not in the views checkout; the script runs alone",
                relative.display()
            );
            return Ok(());
        }
        Err(error) => return Err(cannot(error)),
    };
    let reader = RepositoryReader::new(&runner.views_root, runner.max_file_size).map_err(cannot)?;
    for entry in entries {
        let entry = entry.map_err(cannot)?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') || entry.file_type().map_err(cannot)?.is_dir() {
            continue;
        }
        let path = relative.join(&name);
        match reader.read(&path.to_string_lossy()) {
            Ok(bytes) => {
                let copy = into.join(&name);
                std::fs::write(&copy, bytes).map_err(cannot)?;
                if let Some(user) = &runner.run_as {
                    user.give(&copy).map_err(failed)?;
                }
            }
            Err(diagnostic) => tracing::warn!("not copied beside the script: {diagnostic}"),
        }
    }
    Ok(())
}
