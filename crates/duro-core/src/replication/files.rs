//! `transport: s3`: a run's rows as files in the staging bucket, under a prefix of that run's
//! own (`<s3.prefix>replication/<schema.table>/<build>-<ms>/part-00000.csv.gz`), so runs never mix
//! and a retry finds exactly its files. The export is split into at most `slices` files of
//! `ceil(rows / slices)` rows (record boundaries respect quoted line breaks), gzipped for
//! `csv.gz`; loading lists the prefix as Redshift's `COPY` does and streams every file back.

use crate::build::FailureClass;
use crate::catalog::replication::FileFormat;
use crate::identifier::TableName;
use crate::refresh::Staging;
use crate::warehouse::WarehouseError;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The prefix of run `build_id`'s files (ending in `/`), with the time it was made: a state
/// file started anew counts builds from 1 again, and a prefix must never hold another run's
/// files.
pub fn run_prefix(staging_prefix: &str, node: &TableName, build_id: i64) -> String {
    format!("{staging_prefix}replication/{node}/{build_id}-{}/", crate::clock::now_ms())
}

fn io_error(what: &str) -> impl Fn(std::io::Error) -> WarehouseError + '_ {
    move |error| WarehouseError::new(FailureClass::Internal, format!("{what}: {error}"))
}

/// A part being written, plain or gzipped.
enum PartWriter {
    Plain(BufWriter<File>),
    Gzip(GzEncoder<BufWriter<File>>),
}

impl PartWriter {
    fn create(path: &Path, format: FileFormat) -> std::io::Result<Self> {
        let file = BufWriter::new(File::create(path)?);
        Ok(match format {
            FileFormat::Csv => PartWriter::Plain(file),
            FileFormat::CsvGz => PartWriter::Gzip(GzEncoder::new(file, Compression::fast())),
        })
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            PartWriter::Plain(out) => out.write_all(bytes),
            PartWriter::Gzip(out) => out.write_all(bytes),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            PartWriter::Plain(mut out) => out.flush(),
            PartWriter::Gzip(out) => out.finish()?.flush(),
        }
    }
}

/// Splits the CSV file `all` of `rows` records into at most `slices` files of
/// `ceil(rows / slices)` records in `dir` (one empty file when there is no row, so a load of
/// nothing still finds its prefix); returns them in order.
pub fn split(
    all: &Path,
    rows: u64,
    slices: u32,
    format: FileFormat,
    dir: &Path,
) -> Result<Vec<PathBuf>, WarehouseError> {
    let per_part = rows.div_ceil(u64::from(slices.max(1))).max(1);
    let extension = match format {
        FileFormat::Csv => "csv",
        FileFormat::CsvGz => "csv.gz",
    };
    let error = io_error("cannot split the exported rows");
    let mut reader = BufReader::new(File::open(all).map_err(&error)?);
    let mut parts = Vec::new();
    let mut current: Option<(PartWriter, u64)> = None;
    let mut line = Vec::new();
    let mut in_quotes = false;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(&error)? == 0 {
            break;
        }
        if current.is_none() {
            let path = dir.join(format!("part-{:05}.{extension}", parts.len()));
            current = Some((PartWriter::create(&path, format).map_err(&error)?, 0));
            parts.push(path);
        }
        let (writer, records) = current.as_mut().expect("opened above");
        writer.write_all(&line).map_err(&error)?;
        in_quotes ^= memchr::memchr_iter(b'"', &line).count() % 2 == 1;
        if !in_quotes && line.ends_with(b"\n") {
            *records += 1;
            if *records == per_part {
                let (writer, _) = current.take().expect("present");
                writer.finish().map_err(&error)?;
            }
        }
    }
    match current {
        Some((writer, _)) => writer.finish().map_err(&error)?,
        None if parts.is_empty() => {
            let path = dir.join(format!("part-00000.{extension}"));
            PartWriter::create(&path, format).and_then(PartWriter::finish).map_err(&error)?;
            parts.push(path);
        }
        None => {}
    }
    Ok(parts)
}

/// Uploads `parts` under `prefix`; returns their keys.
pub fn upload(
    staging: &Staging,
    prefix: &str,
    parts: &[PathBuf],
) -> Result<Vec<String>, WarehouseError> {
    parts
        .iter()
        .map(|part| {
            let name = part.file_name().and_then(|n| n.to_str()).unwrap_or("part");
            let key = format!("{prefix}{name}");
            staging.store.upload(&key, part).map_err(WarehouseError::from_object_store)?;
            Ok(key)
        })
        .collect()
}

/// Whether every key is still in the bucket (a retry imports them instead of exporting again).
pub fn all_present(staging: &Staging, keys: &[String]) -> Result<bool, WarehouseError> {
    let Some(first) = keys.first() else {
        return Ok(false);
    };
    let prefix = &first[..first.rfind('/').map_or(0, |at| at + 1)];
    let listed = staging.store.list(prefix).map_err(WarehouseError::from_object_store)?;
    Ok(keys.iter().all(|key| listed.contains(key)))
}

/// Streams every object under `prefix` (sorted, as Redshift's `COPY` reads a prefix) into
/// `out`, gunzipping `.gz` ones; each is downloaded to a file in `dir` first.
pub fn download_into(
    staging: &Staging,
    prefix: &str,
    dir: &Path,
    out: &mut dyn Write,
) -> Result<u64, WarehouseError> {
    let keys = staging.store.list(prefix).map_err(WarehouseError::from_object_store)?;
    if keys.is_empty() {
        return Err(WarehouseError::new(
            FailureClass::Internal,
            format!("no files under {}", staging.store.url(prefix)),
        ));
    }
    let error = io_error("cannot read a downloaded file");
    for key in &keys {
        let path = dir.join("download");
        let mut file = File::create(&path).map_err(&error)?;
        staging.store.download(key, &mut file).map_err(WarehouseError::from_object_store)?;
        drop(file);
        let file = BufReader::new(File::open(&path).map_err(&error)?);
        let mut reader: Box<dyn Read> =
            if key.ends_with(".gz") { Box::new(GzDecoder::new(file)) } else { Box::new(file) };
        std::io::copy(&mut reader, out).map_err(|e| {
            WarehouseError::new(FailureClass::Internal, format!("cannot load {key}: {e}"))
        })?;
    }
    Ok(keys.len() as u64)
}

/// Deletes the run's files (after the import, unless they are kept).
pub fn delete(staging: &Staging, keys: &[String]) -> Result<(), WarehouseError> {
    keys.iter()
        .try_for_each(|key| staging.store.delete(key).map_err(WarehouseError::from_object_store))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        let mut text = String::new();
        let file = File::open(path).unwrap();
        if path.extension().is_some_and(|e| e == "gz") {
            GzDecoder::new(file).read_to_string(&mut text).unwrap();
        } else {
            BufReader::new(file).read_to_string(&mut text).unwrap();
        }
        text
    }

    /// 10 records in 4 slices are 3, 3, 3 and 1; a quoted line break stays inside its record;
    /// no row is one empty file.
    #[test]
    fn splits_by_records() {
        let dir = tempfile::tempdir().unwrap();
        let all = dir.path().join("all.csv");
        let records: Vec<String> = (0..10)
            .map(|n| if n == 4 { "4,\"two\nlines\"\r\n".to_owned() } else { format!("{n},x\r\n") })
            .collect();
        std::fs::write(&all, records.concat()).unwrap();
        for format in [FileFormat::Csv, FileFormat::CsvGz] {
            let out = tempfile::tempdir().unwrap();
            let parts = split(&all, 10, 4, format, out.path()).unwrap();
            let texts: Vec<String> = parts.iter().map(|p| read(p)).collect();
            assert_eq!(
                texts,
                [
                    records[0..3].concat(),
                    records[3..6].concat(),
                    records[6..9].concat(),
                    records[9..].concat()
                ]
            );
        }
        std::fs::write(&all, "").unwrap();
        let out = tempfile::tempdir().unwrap();
        let parts = split(&all, 0, 4, FileFormat::CsvGz, out.path()).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(read(&parts[0]), "");
    }
}
