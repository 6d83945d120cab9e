//! Shared setup for the creator tests: the installation from `duro_core::testing::setup`, plus an
//! in-process S3 server.

pub(crate) use duro_core::testing::setup::*;
use std::path::Path;

mod s3_server;
pub(crate) use s3_server::start_s3_server;

/// Every file under `root`, relative, sorted.
pub(crate) fn files_under(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}
