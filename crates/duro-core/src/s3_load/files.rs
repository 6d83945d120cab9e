//! An S3 load node's files: which names are its dated files (the `file_pattern` matched whole,
//! so `pages_extra_…` is never a `pages` file), their data dates, every one listed (all pages
//! of an S3 listing; every regular file of a folder, links not followed), and each opened as a
//! stream (gunzipped by extension).

use crate::build::FailureClass;
use crate::catalog::s3_load::{LoadFormat, Location, S3LoadSpec};
use crate::identifier::TableName;
use crate::objectstore::ObjectStore;
use crate::warehouse::WarehouseError;
use chrono::{DateTime, FixedOffset, Utc};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// How a data file is read, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileKind {
    pub json: bool,
    pub gzip: bool,
}

/// The extensions a data file may have.
const EXTENSIONS: [(&str, FileKind); 5] = [
    ("json", FileKind { json: true, gzip: false }),
    ("json.gz", FileKind { json: true, gzip: true }),
    ("csv", FileKind { json: false, gzip: false }),
    ("csv.gz", FileKind { json: false, gzip: true }),
    ("gz", FileKind { json: false, gzip: true }),
];

/// One dated file of the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataFile {
    /// The key as listed (relative to the bucket or folder), used as it is.
    pub key: String,
    pub date: DateTime<FixedOffset>,
    pub kind: FileKind,
}

impl DataFile {
    /// The date in UTC, as the state file and messages show it.
    pub fn date_text(&self) -> String {
        utc_text(self.date.with_timezone(&Utc))
    }

    /// Where the original loader's config for this file is: `config_<file name without its
    /// extension>.yml` in the same folder.
    pub fn sidecar_key(&self) -> String {
        let (folder, name) = match self.key.rfind('/') {
            Some(at) => self.key.split_at(at + 1),
            None => ("", self.key.as_str()),
        };
        let stem = EXTENSIONS
            .iter()
            .filter_map(|(extension, kind)| {
                (*kind == self.kind).then(|| name.strip_suffix(extension)?.strip_suffix('.'))?
            })
            .next()
            .unwrap_or(name);
        format!("{folder}config_{stem}.yml")
    }
}

/// A UTC time as RFC 3339 (`2015-07-03T00:00:00Z`).
pub fn utc_text(date: DateTime<Utc>) -> String {
    date.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// What a listing found: the node's files, oldest first, and the names under its prefix that
/// look like them but do not parse.
#[derive(Debug, Default)]
pub struct Listing {
    pub files: Vec<DataFile>,
    pub ignored: Vec<String>,
}

/// A piece of a `file_pattern`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Date,
    Ext,
    /// `{yyyy}`, `{mm}`, `{dd}`, `{hh}`: digits that must agree with the date (in UTC).
    Part(&'static str),
}

/// A node's `file_pattern` with its names filled in.
#[derive(Clone, Debug)]
pub struct Pattern {
    pieces: Vec<Piece>,
}

impl Pattern {
    /// The pattern of `spec` for `table` (validated by the loader).
    pub fn new(spec: &S3LoadSpec, table: &TableName) -> Self {
        let mut pieces = Vec::new();
        let mut literal = spec.prefix.clone();
        let mut rest = spec.file_pattern.as_str();
        while let Some(open) = rest.find('{') {
            literal.push_str(&rest[..open]);
            let close = open + rest[open..].find('}').expect("the loader checked the braces");
            let field = &rest[open + 1..close];
            match field {
                "dataset" => literal.push_str(&spec.dataset),
                "schema" => literal.push_str(&table.schema),
                "table" => literal.push_str(&table.table),
                other => {
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(match other {
                        "date" => Piece::Date,
                        "ext" => Piece::Ext,
                        "yyyy" => Piece::Part("%Y"),
                        "mm" => Piece::Part("%m"),
                        "dd" => Piece::Part("%d"),
                        _ => Piece::Part("%H"),
                    });
                }
            }
            rest = &rest[close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Self { pieces }
    }

    /// The longest fixed start of every matching key: what a listing asks for.
    pub fn list_prefix(&self) -> &str {
        match self.pieces.first() {
            Some(Piece::Literal(text)) => text,
            _ => "",
        }
    }

    /// The data file `key` is, if the whole key matches.
    pub fn parse(&self, key: &str) -> Option<DataFile> {
        let mut found = Found::default();
        if !matches(&self.pieces, key, &mut found) {
            return None;
        }
        let (date, kind) = (found.date?, found.kind?);
        let utc = date.with_timezone(&Utc);
        let agrees =
            found.parts.iter().all(|(format, digits)| utc.format(format).to_string() == *digits);
        agrees.then(|| DataFile { key: key.to_owned(), date, kind })
    }
}

#[derive(Default)]
struct Found {
    date: Option<DateTime<FixedOffset>>,
    kind: Option<FileKind>,
    parts: Vec<(&'static str, String)>,
}

/// Whether `text` is exactly `pieces`, filling `found`.
fn matches(pieces: &[Piece], text: &str, found: &mut Found) -> bool {
    let Some((piece, rest)) = pieces.split_first() else {
        return text.is_empty();
    };
    match piece {
        Piece::Literal(literal) => {
            text.strip_prefix(literal.as_str()).is_some_and(|after| matches(rest, after, found))
        }
        Piece::Ext => EXTENSIONS.iter().any(|(extension, kind)| {
            let ok = text.strip_prefix(extension).is_some_and(|after| matches(rest, after, found));
            if ok {
                found.kind = Some(*kind);
            }
            ok
        }),
        Piece::Date => {
            // RFC 3339 without fractions: `…Z` (20 characters) or `…+02:00` (25).
            [20, 25].into_iter().any(|length| {
                let Some(candidate) = text.get(..length) else {
                    return false;
                };
                let Some(date) = parse_date(candidate) else {
                    return false;
                };
                let ok = matches(rest, &text[length..], found);
                if ok {
                    found.date = Some(date);
                }
                ok
            })
        }
        Piece::Part(format) => {
            let width = if *format == "%Y" { 4 } else { 2 };
            let Some(digits) = text.get(..width).filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
            else {
                return false;
            };
            let ok = matches(rest, &text[width..], found);
            if ok {
                found.parts.push((format, digits.to_owned()));
            }
            ok
        }
    }
}

/// An RFC 3339 time without fractional seconds (`2015-07-01T00:00:00Z`, `…T01:00:00+02:00`).
pub fn parse_date(text: &str) -> Option<DateTime<FixedOffset>> {
    let shaped = text.len() >= 20 && text.as_bytes()[10] == b'T' && !text.contains('.');
    shaped.then(|| DateTime::parse_from_rfc3339(text).ok()).flatten()
}

/// Whether a file of this kind is read as JSON under `format`.
pub fn reads_json(format: LoadFormat, kind: FileKind) -> bool {
    match format {
        LoadFormat::Auto => kind.json,
        LoadFormat::Json => true,
        LoadFormat::Csv => false,
    }
}

/// Where a node's files are read from.
pub enum Store {
    /// A local folder: as the node names it (for messages) and with every link resolved (for
    /// reading, which never leaves it).
    Folder {
        path: PathBuf,
        real: PathBuf,
    },
    Bucket {
        store: ObjectStore,
        name: String,
    },
}

fn failure(message: String) -> WarehouseError {
    WarehouseError::new(FailureClass::Configuration, message)
}

impl Store {
    /// The store of `location`, S3 through the `s3:` settings.
    pub fn open(location: &Location, s3: &crate::config::S3Config) -> Result<Self, WarehouseError> {
        match location {
            Location::Folder(path) => {
                let real = path
                    .canonicalize()
                    .map_err(|e| failure(format!("cannot read the folder {}: {e}", location)))?;
                // Links resolved, it must still be under an allowed root.
                let allowed = s3.load_file_roots.iter().filter_map(|root| root.canonicalize().ok());
                if !allowed.into_iter().any(|root| real.starts_with(root)) {
                    return Err(failure(format!(
                        "the folder {location} leads to {}, which is not under one of duro.yaml's `s3.load_file_roots`",
                        real.display()
                    )));
                }
                Ok(Store::Folder { path: path.clone(), real })
            }
            Location::Bucket(name) => {
                let store =
                    ObjectStore::for_bucket(s3, name).map_err(WarehouseError::from_object_store)?;
                Ok(Store::Bucket { store, name: name.clone() })
            }
        }
    }

    /// `s3://bucket/key` or `file:///folder/key`.
    pub fn url(&self, key: &str) -> String {
        match self {
            Store::Folder { path, .. } => format!("file://{}", path.join(key).display()),
            Store::Bucket { name, .. } => format!("s3://{name}/{key}"),
        }
    }

    /// Every key that starts with `prefix`.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, WarehouseError> {
        match self {
            Store::Bucket { store, .. } => {
                store.list(prefix).map_err(WarehouseError::from_object_store)
            }
            Store::Folder { real, .. } => {
                let mut keys = Vec::new();
                // The folder holding the prefix's last `/`, walked down from there.
                let start = prefix.rfind('/').map_or("", |at| &prefix[..at]);
                match inside(real, start) {
                    Ok(dir) => walk(real, &dir, &mut keys)
                        .map_err(|e| failure(format!("cannot list {}: {e}", self.url(start))))?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(failure(format!("cannot list {}: {e}", self.url(start)))),
                }
                keys.retain(|key| key.starts_with(prefix));
                keys.sort();
                Ok(keys)
            }
        }
    }

    /// The node's dated files under its pattern, oldest first (by the parsed date, then key).
    pub fn listing(&self, pattern: &Pattern) -> Result<Listing, WarehouseError> {
        let mut listing = Listing::default();
        for key in self.list(pattern.list_prefix())? {
            match pattern.parse(&key) {
                Some(file) => listing.files.push(file),
                None => listing.ignored.push(key),
            }
        }
        listing.files.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.key.cmp(&b.key)));
        Ok(listing)
    }

    /// A stream of the file's contents, gunzipped when its name says so (an S3 object is read
    /// as it downloads).
    pub fn open_file(&self, file: &DataFile) -> Result<Box<dyn Read + Send>, WarehouseError> {
        let io = |e: std::io::Error| failure(format!("cannot read {}: {e}", self.url(&file.key)));
        let raw: Box<dyn Read + Send> = match self {
            Store::Folder { real, .. } => {
                let path = inside(real, &file.key).map_err(io)?;
                Box::new(open_regular(&path).map_err(io)?)
            }
            Store::Bucket { store, .. } => {
                Box::new(store.reader(&file.key).map_err(WarehouseError::from_object_store)?)
            }
        };
        let buffered = BufReader::with_capacity(256 * 1024, raw);
        Ok(if file.kind.gzip {
            Box::new(BufReader::with_capacity(
                256 * 1024,
                flate2::read::MultiGzDecoder::new(buffered),
            ))
        } else {
            Box::new(buffered)
        })
    }

    /// A small text file beside the data (a sidecar or a JSONPaths file), read whole; `None`
    /// when there is none.
    pub fn read_small(&self, key: &str) -> Result<Option<String>, WarehouseError> {
        const LIMIT: u64 = 1024 * 1024;
        let url = self.url(key);
        let too_large = || failure(format!("{url} is not a regular file of at most 1 MiB"));
        let mut bytes = Vec::new();
        let read = match self {
            Store::Folder { real, .. } => match inside(real, key).and_then(|p| open_regular(&p)) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(failure(format!("cannot read {url}: {e}"))),
                Ok(file) => file.take(LIMIT + 1).read_to_end(&mut bytes),
            },
            Store::Bucket { store, .. } => {
                if !self.list(key)?.iter().any(|k| k == key) {
                    return Ok(None);
                }
                let reader = store.reader(key).map_err(WarehouseError::from_object_store)?;
                reader.take(LIMIT + 1).read_to_end(&mut bytes)
            }
        };
        read.map_err(|e| failure(format!("cannot read {url}: {e}")))?;
        if bytes.len() as u64 > LIMIT {
            return Err(too_large());
        }
        String::from_utf8(bytes).map(Some).map_err(|_| failure(format!("{url} is not UTF-8 text")))
    }
}

/// `key` under `real` (a folder with its links resolved), its links resolved too; refused when
/// one leads outside `real`.
fn inside(real: &Path, key: &str) -> std::io::Result<PathBuf> {
    let path = real.join(key).canonicalize()?;
    if !path.starts_with(real) {
        return Err(std::io::Error::other(format!("it leads outside {}", real.display())));
    }
    Ok(path)
}

/// A regular file opened without following a link in its last part.
fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// Every regular file under `dir` (inside `root`), as keys relative to `root`; links are not
/// followed, a missing folder has none.
fn walk(root: &Path, dir: &Path, keys: &mut Vec<String>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        other => other?,
    };
    for entry in entries {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            walk(root, &path, keys)?;
        } else if kind.is_file()
            && let Some(key) = path.strip_prefix(root).ok().and_then(Path::to_str)
        {
            keys.push(key.to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::s3_load::{DEFAULT_FILE_PATTERN, Location};

    fn spec(prefix: &str, dataset: &str, file_pattern: &str) -> S3LoadSpec {
        let text = format!(
            "bucket: analytics\nprefix: '{prefix}'\ndataset: {dataset}\nfile_pattern: '{file_pattern}'\ndata_date_column: d\ncolumns: [{{name: d, type: date}}]\n"
        );
        crate::views::s3_load_file::parse(&text, &table(), None).unwrap().0
    }

    fn table() -> TableName {
        TableName::parse("api_hits.pages").unwrap()
    }

    #[test]
    fn whole_names_only() {
        let pattern = Pattern::new(&spec("", "api_hits_pages", DEFAULT_FILE_PATTERN), &table());
        assert_eq!(pattern.list_prefix(), "api_hits_pages_");
        let cases: &[(&str, Option<(&str, FileKind)>)] = &[
            (
                "api_hits_pages_2015-07-01T00:00:00Z.json.gz",
                Some(("2015-07-01T00:00:00Z", EXTENSIONS[1].1)),
            ),
            (
                "api_hits_pages_2015-07-01T01:00:00+02:00.json",
                Some(("2015-06-30T23:00:00Z", EXTENSIONS[0].1)),
            ),
            (
                "api_hits_pages_2015-07-01T00:00:00Z.csv.gz",
                Some(("2015-07-01T00:00:00Z", EXTENSIONS[3].1)),
            ),
            (
                "api_hits_pages_2015-07-01T00:00:00Z.gz",
                Some(("2015-07-01T00:00:00Z", EXTENSIONS[4].1)),
            ),
            ("api_hits_pages_extra_2015-07-01T00:00:00Z.json", None),
            ("api_hits_pages_latest.json", None),
            ("api_hits_pages_2015-07-04.json", None),
            ("api_hits_pages_2015-07-01T00:00:00.123Z.json", None),
            ("api_hits_pages_2015-07-01T00:00:00Z.yml", None),
            ("api_hits_pages_2015-07-01T00:00:00Z.json.bak", None),
            ("config_api_hits_pages_2015-07-01T00:00:00Z.yml", None),
            ("api_hits_pages_2015-13-01T00:00:00Z.json", None),
        ];
        for (key, expected) in cases {
            let found = pattern.parse(key).map(|f| (f.date_text(), f.kind));
            assert_eq!(found, expected.map(|(d, k)| (d.to_owned(), k)), "{key}");
        }
        let file = pattern.parse("api_hits_pages_2015-07-01T00:00:00Z.json.gz").unwrap();
        assert_eq!(file.sidecar_key(), "config_api_hits_pages_2015-07-01T00:00:00Z.yml");
    }

    #[test]
    fn hive_folders_agree_with_the_date() {
        let pattern = Pattern::new(
            &spec(
                "exports",
                "pages",
                "{schema}/{table}/year={yyyy}/month={mm}/day={dd}/{dataset}_{date}.{ext}",
            ),
            &table(),
        );
        assert_eq!(pattern.list_prefix(), "exports/api_hits/pages/year=");
        assert!(pattern.parse("exports/api_hits/pages/year=2015/month=07/day=01/pages_2015-07-01T10:00:00Z.json").is_some());
        assert!(pattern.parse("exports/api_hits/pages/year=2015/month=07/day=02/pages_2015-07-01T10:00:00Z.json").is_none());
    }

    fn roots(root: &Path) -> crate::config::S3Config {
        crate::config::S3Config { load_file_roots: vec![root.to_owned()], ..Default::default() }
    }

    /// A folder reached through a link outside the allowed roots is refused.
    #[test]
    fn a_folder_must_stay_under_its_root() {
        let dir = tempfile::tempdir().unwrap();
        let allowed = dir.path().join("allowed");
        std::fs::create_dir(&allowed).unwrap();
        std::os::unix::fs::symlink("/etc", allowed.join("etc")).unwrap();
        let error = Store::open(&Location::Folder(allowed.join("etc")), &roots(&allowed))
            .err()
            .unwrap()
            .message;
        assert!(error.contains("leads to /etc, which is not under one of"), "{error}");
        let store = Store::open(&Location::Folder(allowed.clone()), &roots(&allowed)).unwrap();
        let error = store.list("etc/").unwrap_err().message;
        assert!(error.contains("leads outside"), "{error}");
    }

    fn store_read_small(root: &Path, key: &str) -> String {
        let store = Store::open(&Location::Folder(root.into()), &roots(root)).unwrap();
        store.read_small(key).unwrap_err().message
    }

    #[test]
    fn a_folder_lists_regular_files_only_and_orders_by_date() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "api_hits_pages_2015-07-01T00:00:00Z.json",
            "api_hits_pages_2015-07-01T01:00:00+02:00.json",
            "api_hits_pages_2015-07-03T00:00:00Z.json",
            "api_hits_pages_latest.json",
            "other_2015-07-09T00:00:00Z.json",
        ] {
            std::fs::write(dir.path().join(name), "{}").unwrap();
        }
        std::os::unix::fs::symlink(
            "/etc/passwd",
            dir.path().join("api_hits_pages_2015-07-09T00:00:00Z.json"),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("inner")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("inner/etc")).unwrap();
        let error = store_read_small(dir.path(), "inner/etc/passwd");
        assert!(error.contains("leads outside"), "{error}");
        let store = Store::open(&Location::Folder(dir.path().into()), &roots(dir.path())).unwrap();
        let pattern = Pattern::new(&spec("", "api_hits_pages", DEFAULT_FILE_PATTERN), &table());
        let listing = store.listing(&pattern).unwrap();
        let dates: Vec<String> = listing.files.iter().map(DataFile::date_text).collect();
        assert_eq!(dates, ["2015-06-30T23:00:00Z", "2015-07-01T00:00:00Z", "2015-07-03T00:00:00Z"]);
        assert_eq!(listing.ignored, ["api_hits_pages_latest.json"]);
    }
}
