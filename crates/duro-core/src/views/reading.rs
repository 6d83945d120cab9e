//! Reading one file of the views repository, which is untrusted input: only a regular file whose
//! resolved path lies inside the repository, and at most `views.max_file_size` bytes of it. A
//! symlink leading outside, a FIFO, socket or device, or a file too large is a diagnostic naming
//! the file; nothing of it is read. Opening never blocks (a FIFO would wait for a writer).

use crate::diagnostic::Diagnostic;
use rustix::fs::{Mode, OFlags};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The repository's root, resolved once, and the size limit.
#[derive(Clone, Debug)]
pub(crate) struct RepositoryReader {
    root: PathBuf,
    max_bytes: u64,
}

impl RepositoryReader {
    /// `root` must exist; it is resolved (symlinks followed) here, once.
    pub(crate) fn new(root: &Path, max_bytes: u64) -> std::io::Result<Self> {
        Ok(Self { root: root.canonicalize()?, max_bytes })
    }

    /// The bytes of `relative` (a path relative to the root), or an error diagnostic.
    pub(crate) fn read(&self, relative: &str) -> Result<Vec<u8>, Diagnostic> {
        let error = |message: String| Diagnostic::error(Some(relative), message);
        let cannot_read = |e: std::io::Error| error(format!("cannot read: {e}"));
        let mut path = self.root.join(relative);
        // Its folders must be real folders inside the root (the listing never follows a
        // symlinked folder; this holds for any path given).
        for folder in Path::new(relative).ancestors().skip(1) {
            if !folder.as_os_str().is_empty()
                && std::fs::symlink_metadata(self.root.join(folder))
                    .map_err(cannot_read)?
                    .file_type()
                    .is_symlink()
            {
                return Err(error(format!(
                    "is inside `{}`, a symlinked folder; only files inside the repository are read",
                    folder.display()
                )));
            }
        }
        let mut metadata = std::fs::symlink_metadata(&path).map_err(cannot_read)?;
        if metadata.file_type().is_symlink() {
            path = path.canonicalize().map_err(cannot_read)?;
            if !path.starts_with(&self.root) {
                return Err(error(
                    "points outside the repository (a symlink to a file elsewhere); only files inside the repository are read".to_owned(),
                ));
            }
            metadata = std::fs::symlink_metadata(&path).map_err(cannot_read)?;
        }
        // Checked before opening: opening a device can have effects of its own.
        self.check(&metadata).map_err(error)?;
        // Never through a symlink put there in the meantime.
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let file = std::fs::File::from(
            rustix::fs::open(&path, flags | OFlags::NOCTTY, Mode::empty())
                .map_err(|e| cannot_read(e.into()))?,
        );
        // Checked again on what was opened, in case the path changed in between.
        let metadata = file.metadata().map_err(cannot_read)?;
        self.check(&metadata).map_err(error)?;
        let mut bytes = Vec::with_capacity(metadata.len() as usize);
        file.take(self.max_bytes + 1).read_to_end(&mut bytes).map_err(cannot_read)?;
        if bytes.len() as u64 > self.max_bytes {
            return Err(error(self.too_large(bytes.len() as u64)));
        }
        Ok(bytes)
    }

    fn check(&self, metadata: &std::fs::Metadata) -> Result<(), String> {
        if !metadata.file_type().is_file() {
            return Err(
                "is not a regular file (a FIFO, socket or device); only regular files are read"
                    .to_owned(),
            );
        }
        if metadata.len() > self.max_bytes {
            return Err(self.too_large(metadata.len()));
        }
        Ok(())
    }

    fn too_large(&self, size: u64) -> String {
        format!(
            "is larger than `views.max_file_size` ({size} bytes, the limit is {}); split it, or raise the limit in duro.yaml",
            self.max_bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// Asserts that reading `file` is refused with an error printed as `{file}: error: …{part}…`.
    #[track_caller]
    fn assert_refused(reader: &RepositoryReader, file: &str, part: &str) {
        let rendered = reader.read(file).unwrap_err().to_string();
        let message = rendered.strip_prefix(&format!("{file}: error: "));
        assert!(message.is_some_and(|m| m.contains(part)), "{file}: {rendered}");
    }

    #[test]
    fn reads_regular_files_and_symlinks_that_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("s")).unwrap();
        std::fs::write(dir.path().join("s/a.sql"), "select 1").unwrap();
        symlink("a.sql", dir.path().join("s/b.sql")).unwrap();
        symlink("../s/a.sql", dir.path().join("s/c.sql")).unwrap();
        let reader = RepositoryReader::new(dir.path(), 100).unwrap();
        for file in ["s/a.sql", "s/b.sql", "s/c.sql"] {
            assert_eq!(reader.read(file).unwrap(), b"select 1", "{file}");
        }
    }

    #[test]
    fn refuses_what_lies_outside_or_is_not_a_regular_file() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "password=hunter2").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        symlink(outside.path().join("secret"), root.join("leak.sql")).unwrap();
        symlink("/proc/self/environ", root.join("environ.sql")).unwrap();
        symlink("/dev/zero", root.join("zero.sql")).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        let status =
            std::process::Command::new("mkfifo").arg(root.join("fifo.sql")).status().unwrap();
        assert!(status.success());
        let _socket = std::os::unix::net::UnixListener::bind(root.join("socket.sql")).unwrap();
        let reader = RepositoryReader::new(root, 1_000).unwrap();
        let cases = [
            ("leak.sql", "points outside the repository"),
            ("environ.sql", "points outside the repository"),
            ("zero.sql", "points outside the repository"),
            ("fifo.sql", "is not a regular file"),
            ("socket.sql", "is not a regular file"),
            ("missing.sql", "cannot read"),
        ];
        for (file, expected) in cases {
            assert_refused(&reader, file, expected);
        }
        // Through a symlinked folder leading out of the repository.
        std::fs::write(outside.path().join("also.sql"), "select 1").unwrap();
        symlink(outside.path(), root.join("sub/out")).unwrap();
        assert_refused(&reader, "sub/out/also.sql", "a symlinked folder");
    }

    #[test]
    fn refuses_files_over_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big.sql"), "x".repeat(101)).unwrap();
        std::fs::write(dir.path().join("fits.sql"), "x".repeat(100)).unwrap();
        let reader = RepositoryReader::new(dir.path(), 100).unwrap();
        assert_refused(&reader, "big.sql", "views.max_file_size");
        assert_refused(&reader, "big.sql", "101 bytes");
        assert_eq!(reader.read("fits.sql").unwrap().len(), 100);
    }
}
