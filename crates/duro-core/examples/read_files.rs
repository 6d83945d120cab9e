//! The floor of the scheduler benchmark: list a folder recursively and read every file, as fast
//! as one process can, doing nothing else. Prints the number of files and bytes read.

#![allow(clippy::print_stdout, reason = "a benchmark tool that prints its figures")]

use std::path::Path;

fn read_all(dir: &Path, files: &mut usize, bytes: &mut usize) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            read_all(&entry.path(), files, bytes)?;
        } else {
            *bytes += std::fs::read(entry.path())?.len();
            *files += 1;
        }
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).expect("usage: read_files DIR");
    let (mut files, mut bytes) = (0, 0);
    read_all(Path::new(&dir), &mut files, &mut bytes)?;
    println!("{files} files, {bytes} bytes");
    Ok(())
}
