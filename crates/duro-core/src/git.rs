//! The views repository's HEAD commit, read with the `git` command (fast, and correct for
//! worktrees, packed refs and subfolders of a repository).

use std::path::Path;
use std::process::Command;

/// Why the HEAD commit could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run `git` to read the commit of `{path}`: {source}")]
    Spawn { path: String, source: std::io::Error },
    #[error(
        "`{path}` is not inside a git repository; clone the views repository there, or turn off `views.use_git`"
    )]
    NotARepository { path: String },
    #[error("the git repository at `{path}` has no commits yet; commit the views first")]
    NoCommits { path: String },
    #[error("git failed for `{path}`: {message}")]
    Failed { path: String, message: String },
}

/// The full hash of the commit checked out at `repository` (a repository root or any folder in it).
pub fn head_commit(repository: &Path) -> Result<String, GitError> {
    let path = repository.display().to_string();
    let output = Command::new("git")
        .arg("-C")
        .arg(repository)
        .args(["rev-parse", "--verify", "HEAD^{commit}"])
        .output()
        .map_err(|source| GitError::Spawn { path: path.clone(), source })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(if stderr.contains("not a git repository") {
            GitError::NotARepository { path }
        } else if stderr.contains("Needed a single revision") || stderr.contains("unknown revision")
        {
            GitError::NoCommits { path }
        } else {
            GitError::Failed { path, message: stderr.trim().to_owned() }
        });
    }
    let hash = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if hash.len() < 40 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(GitError::Failed { path, message: format!("unexpected output `{hash}`") });
    }
    Ok(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git").arg("-C").arg(dir).args(args).output().unwrap();
        assert!(
            status.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }

    #[test]
    fn head_of_a_repository_and_its_failures() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(head_commit(dir.path()), Err(GitError::NotARepository { .. })));
        git(dir.path(), &["init", "-q"]);
        assert!(matches!(head_commit(dir.path()), Err(GitError::NoCommits { .. })));
        std::fs::create_dir(dir.path().join("first")).unwrap();
        std::fs::write(dir.path().join("first/a.sql"), "select 1").unwrap();
        git(dir.path(), &["add", "."]);
        git(
            dir.path(),
            &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one"],
        );
        let head = head_commit(dir.path()).unwrap();
        assert_eq!(head.len(), 40);
        // A subfolder of the repository reads the same commit; a detached HEAD works too.
        assert_eq!(head_commit(&dir.path().join("first")).unwrap(), head);
        git(dir.path(), &["checkout", "-q", "--detach"]);
        assert_eq!(head_commit(dir.path()).unwrap(), head);
    }
}
