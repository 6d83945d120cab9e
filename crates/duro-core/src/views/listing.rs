//! Listing the files of a views repository: recursive, hidden files and folders (`.git`) skipped,
//! symlinked folders not followed, sorted byte-wise by relative path so every run sees one order.

use crate::diagnostic::Diagnostic;
use std::fs;
use std::path::Path;

/// Folders deeper than this are not listed (Duro reads one schema level; deeper files are only
/// reported as misplaced, and a folder below this depth is reported as a whole).
const MAX_DEPTH: usize = 4;

/// Relative paths (with `/`) of every file under `root`, sorted, and the problems met.
pub(super) fn list_files(root: &Path) -> (Vec<String>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut diagnostics = Vec::new();
    walk(root, "", 0, &mut files, &mut diagnostics);
    files.sort();
    (files, diagnostics)
}

fn walk(
    dir: &Path,
    prefix: &str,
    depth: usize,
    files: &mut Vec<String>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let shown =
        if prefix.is_empty() { ".".to_owned() } else { prefix.trim_end_matches('/').to_owned() };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            diagnostics
                .push(Diagnostic::error(Some(&shown), format!("cannot list this folder: {error}")));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                diagnostics.push(Diagnostic::error(
                    Some(&shown),
                    format!("cannot list this folder: {error}"),
                ));
                continue;
            }
        };
        let raw_name = entry.file_name();
        let Some(name) = raw_name.to_str() else {
            let lossy = format!("{prefix}{}", raw_name.to_string_lossy());
            diagnostics.push(Diagnostic::error(
                Some(&lossy),
                "the file name is not valid UTF-8; rename it",
            ));
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let relative = format!("{prefix}{name}");
        let file_type = match entry.file_type() {
            Ok(file_type) => file_type,
            Err(error) => {
                diagnostics
                    .push(Diagnostic::error(Some(&relative), format!("cannot read: {error}")));
                continue;
            }
        };
        if file_type.is_dir() {
            if depth < MAX_DEPTH {
                walk(&entry.path(), &format!("{relative}/"), depth + 1, files, diagnostics);
            } else {
                diagnostics.push(Diagnostic::error(
                    Some(&relative),
                    "nested folders are not supported, and nothing this deep is read: keep one schema folder level (`schema/table.sql`)",
                ));
            }
        } else if file_type.is_symlink() && entry.path().is_dir() {
            diagnostics.push(Diagnostic::warning(
                Some(&relative),
                "symlinked folders are not followed; ignored",
            ));
        } else {
            files.push(relative);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_too_deep_to_list_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c/d/e");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("t.sql"), "select 1").unwrap();
        std::fs::write(dir.path().join("a/b/c/d/t.sql"), "select 1").unwrap();
        let (files, diagnostics) = list_files(dir.path());
        assert_eq!(files, ["a/b/c/d/t.sql"]);
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        let rendered = diagnostics[0].to_string();
        assert!(rendered.starts_with("a/b/c/d/e: error: "), "{rendered}");
    }
}
