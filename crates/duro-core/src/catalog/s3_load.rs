//! An S3 load node's definition: where its dated files are (a bucket the operator allows, or a
//! folder under an allowed root), how their names carry the data date, how they are read (JSON
//! mapped by key, CSV by position, gzip by extension), how a load changes the table (append,
//! truncate, replace the file's period) and the table's columns. Every value is typed and
//! checked; the loader (`views::s3_load_file`) makes it from the repository's YAML, and a sidecar
//! file's columns go through the same [`ColumnType`] and [`DefaultValue`] checks at run time.

use crate::catalog::replication::AfterLoad;
use crate::identifier::{TableName, quote_identifier};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// Where a node's files are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// An S3 bucket (one of `s3.load_buckets`).
    Bucket(String),
    /// A local folder (under one of `s3.load_file_roots`), for tests and PostgreSQL targets.
    Folder(PathBuf),
}

impl Location {
    /// `bucket`, `s3://bucket` or `file:///absolute/dir`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("file://") {
            let path = PathBuf::from(path);
            let plain = path.components().all(|c| {
                matches!(c, std::path::Component::RootDir | std::path::Component::Normal(_))
            });
            if !path.is_absolute() || !plain {
                return Err(format!(
                    "`{text}` is not an absolute folder without `.` or `..` (`file:///data/exports`)"
                ));
            }
            return Ok(Location::Folder(path));
        }
        let name = text.strip_prefix("s3://").unwrap_or(text).trim_end_matches('/');
        let valid = (3..=63).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !valid {
            return Err(format!(
                "`{text}` is not an S3 bucket name (3 to 63 lower case letters, digits, `.` and `-`) or a `file:///folder`"
            ));
        }
        Ok(Location::Bucket(name.to_owned()))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Bucket(name) => write!(f, "s3://{name}"),
            Location::Folder(path) => write!(f, "file://{}", path.display()),
        }
    }
}

/// How a file is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadFormat {
    /// By the file's extension: `json`/`json.gz` JSON, `csv`/`csv.gz`/`gz` CSV.
    #[default]
    Auto,
    Json,
    Csv,
}

/// The CSV dialect of the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvFormat {
    pub delimiter: char,
    pub quote: char,
    /// The first line names the columns and is skipped.
    pub header: bool,
}

impl Default for CsvFormat {
    fn default() -> Self {
        Self { delimiter: ',', quote: '"', header: false }
    }
}

/// How JSON keys find their columns.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonPaths {
    /// Each column from the key of its name, case-sensitively (Redshift's `JSON 'auto'`).
    #[default]
    Auto,
    /// A JSONPaths file beside the data (`{"jsonpaths": ["$.id", "$['user']['name']"]}`),
    /// one path per column in order; its key, relative to `prefix`.
    File(String),
}

/// What a load does to the rows already there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadMode {
    /// Keep them (fact tables).
    #[default]
    Append,
    /// Delete them, in the load's transaction (snapshot and dimension tables).
    Truncate,
    /// Delete the rows of the file's period (`granularity`), then load.
    ReplacePeriod,
}

/// The period of a data date: what the staleness rule compares and `replace_period` replaces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Hour,
    #[default]
    Day,
}

/// Where the column definitions come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemaSource {
    /// `columns:` in the node's file.
    #[default]
    Inline,
    /// `config_<file stem>.yml` beside each data file, in the original loader's format.
    Sidecar,
}

/// What a load may change in an existing table's columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evolve {
    /// Add declared columns the table lacks (nullable, without keys); anything else differing
    /// is an error.
    #[default]
    AddColumns,
    /// Any difference is an error.
    Strict,
    /// Never alter the table; a declared column it lacks is an error.
    None,
}

/// A column type from the closed list (never raw SQL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Boolean,
    Int,
    Bigint,
    Float,
    Date,
    Timestamp,
    Timestamptz,
    /// `varchar(256)`, as the original loader made it.
    Text,
    /// `varchar(65535)`.
    Longtext,
    Varchar(u32),
    Numeric(u8, u8),
}

/// The names `ColumnType::parse` accepts, for messages.
pub const COLUMN_TYPES: &str = "boolean, int, bigint, float, date, timestamp, timestamptz, text, longtext, varchar(N), numeric(P,S)";

impl ColumnType {
    pub fn parse(text: &str) -> Result<Self, String> {
        let lower = text.trim().to_ascii_lowercase();
        let args = |name: &str| -> Option<Vec<u32>> {
            let inner = lower.strip_prefix(name)?.trim().strip_prefix('(')?.strip_suffix(')')?;
            inner.split(',').map(|n| n.trim().parse().ok()).collect()
        };
        let plain = match lower.as_str() {
            "boolean" | "bool" => Some(ColumnType::Boolean),
            "int" | "integer" => Some(ColumnType::Int),
            "bigint" => Some(ColumnType::Bigint),
            "float" | "double precision" => Some(ColumnType::Float),
            "date" => Some(ColumnType::Date),
            "timestamp" => Some(ColumnType::Timestamp),
            "timestamptz" => Some(ColumnType::Timestamptz),
            "text" => Some(ColumnType::Text),
            "longtext" => Some(ColumnType::Longtext),
            _ => None,
        };
        if let Some(plain) = plain {
            return Ok(plain);
        }
        match (args("varchar").as_deref(), args("numeric").as_deref()) {
            (Some(&[length]), _) if (1..=65_535).contains(&length) => {
                Ok(ColumnType::Varchar(length))
            }
            (_, Some(&[precision, scale]))
                if (1..=38).contains(&precision) && scale <= precision =>
            {
                Ok(ColumnType::Numeric(precision as u8, scale as u8))
            }
            _ => Err(format!("`{text}` is not a column type: use one of {COLUMN_TYPES}")),
        }
    }

    /// The type as both warehouses' `format_type` shows it (what an existing column is compared
    /// with).
    pub fn sql(self) -> String {
        match self {
            ColumnType::Boolean => "boolean".to_owned(),
            ColumnType::Int => "integer".to_owned(),
            ColumnType::Bigint => "bigint".to_owned(),
            ColumnType::Float => "double precision".to_owned(),
            ColumnType::Date => "date".to_owned(),
            ColumnType::Timestamp => "timestamp without time zone".to_owned(),
            ColumnType::Timestamptz => "timestamp with time zone".to_owned(),
            ColumnType::Text => "character varying(256)".to_owned(),
            ColumnType::Longtext => "character varying(65535)".to_owned(),
            ColumnType::Varchar(length) => format!("character varying({length})"),
            ColumnType::Numeric(precision, scale) => format!("numeric({precision},{scale})"),
        }
    }

    /// The most bytes a value may have (Redshift counts varchar lengths in bytes).
    pub fn max_bytes(self) -> Option<usize> {
        match self {
            ColumnType::Text => Some(256),
            ColumnType::Longtext => Some(65_535),
            ColumnType::Varchar(length) => Some(length as usize),
            _ => None,
        }
    }

    fn is_text(self) -> bool {
        self.max_bytes().is_some()
    }
}

/// A column default: a value checked against the column's type, rendered as a typed literal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultValue(String);

impl DefaultValue {
    /// `value` as a default of a `column_type` column, or why it cannot be one.
    pub fn new(value: &str, column_type: ColumnType) -> Result<Self, String> {
        let ok = match column_type {
            ColumnType::Boolean => matches!(value, "true" | "false"),
            ColumnType::Int | ColumnType::Bigint => value.parse::<i64>().is_ok(),
            ColumnType::Float | ColumnType::Numeric(..) => {
                value.parse::<f64>().is_ok_and(f64::is_finite)
            }
            ColumnType::Date => chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok(),
            ColumnType::Timestamp | ColumnType::Timestamptz => {
                chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S").is_ok()
                    || chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S").is_ok()
            }
            // A backslash escapes in Redshift's string literals: never one in a default.
            _ => {
                column_type.max_bytes().is_some_and(|max| value.len() <= max)
                    && !value.contains(['\\', '\0'])
            }
        };
        if !ok {
            return Err(format!("default `{value}` is not a {} value", column_type.sql()));
        }
        Ok(Self(value.to_owned()))
    }

    /// The literal with its type: `'0'::integer`.
    pub fn sql(&self, column_type: ColumnType) -> String {
        format!("'{}'::{}", self.0.replace('\'', "''"), column_type.sql())
    }
}

/// One declared column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadColumn {
    pub name: String,
    pub column_type: ColumnType,
    pub default: Option<DefaultValue>,
    pub not_null: bool,
    pub primary_key: bool,
    pub distkey: bool,
    /// Its place in a compound sort key (1 first).
    pub sortkey: Option<u32>,
}

impl LoadColumn {
    /// A nullable column without a default or keys.
    pub fn new(name: &str, column_type: ColumnType) -> Self {
        Self {
            name: name.to_owned(),
            column_type,
            default: None,
            not_null: false,
            primary_key: false,
            distkey: false,
            sortkey: None,
        }
    }

    /// The column as `create table` and `add column` write it (Redshift's keys are table
    /// attributes, see `s3_load::render::create_table`).
    pub fn definition(&self) -> String {
        let mut text = format!("{} {}", quote_identifier(&self.name), self.column_type.sql());
        if let Some(default) = &self.default {
            text.push_str(&format!(" default {}", default.sql(self.column_type)));
        }
        if self.not_null {
            text.push_str(" not null");
        }
        if self.primary_key {
            text.push_str(" primary key");
        }
        text
    }

    pub fn is_text(&self) -> bool {
        self.column_type.is_text()
    }
}

/// Options of the load, a closed set (Redshift's `COPY` options, emulated on PostgreSQL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadCopyOptions {
    /// Rows Redshift may refuse; PostgreSQL loads every row or none, so only 0 there.
    pub max_errors: u32,
    /// Text longer than its column is cut at the column's length in bytes.
    pub truncate_columns: bool,
    /// CSV: an empty unquoted text field is NULL (otherwise an empty string).
    pub empty_as_null: bool,
}

impl Default for LoadCopyOptions {
    fn default() -> Self {
        Self { max_errors: 0, truncate_columns: true, empty_as_null: false }
    }
}

/// An S3 load node, every default applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3LoadSpec {
    pub location: Location,
    /// The folder looked in (`""`, or ending in `/`).
    pub prefix: String,
    /// The files' base name (`<schema>_<table>` by default).
    pub dataset: String,
    /// The file names under `prefix`, as a template (`{dataset}_{date}.{ext}`).
    pub file_pattern: String,
    pub format: LoadFormat,
    pub csv: CsvFormat,
    pub jsonpaths: JsonPaths,
    /// The column holding each row's data date; from the sidecar when `schema: sidecar` and
    /// unset here.
    pub data_date_column: Option<String>,
    pub mode: LoadMode,
    pub granularity: Granularity,
    /// The IANA zone the periods are cut in.
    pub timezone: String,
    /// Load every file newer than the table, oldest first, instead of only the newest.
    pub catch_up: bool,
    pub schema: SchemaSource,
    /// The declared columns (empty with `schema: sidecar`).
    pub columns: Vec<LoadColumn>,
    pub evolve: Evolve,
    pub copy: LoadCopyOptions,
    pub after_load: AfterLoad,
    /// Explicit upstream nodes.
    pub depends_on: Vec<TableName>,
}

/// The stores the operator lets the repository name (`duro.yaml`'s `s3.load_buckets` and
/// `s3.load_file_roots`), and whether S3 is AWS's (Redshift's `COPY` reaches nothing else).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadStores {
    pub buckets: Vec<String>,
    pub file_roots: Vec<PathBuf>,
    /// `s3.endpoint`: an S3-compatible server instead of AWS.
    pub endpoint: Option<String>,
}

impl LoadStores {
    /// Whether a node of a `redshift` (or PostgreSQL) warehouse may load from `location`; the
    /// error says what to change.
    pub fn check(&self, location: &Location, redshift: bool) -> Result<(), String> {
        match location {
            Location::Bucket(name) => {
                if !self.buckets.contains(name) {
                    return Err(format!(
                        "the bucket `{name}` is not one duro.yaml's `s3.load_buckets` allows ({}); the operator adds it there",
                        listed(&self.buckets)
                    ));
                }
                if redshift && let Some(endpoint) = &self.endpoint {
                    return Err(format!(
                        "Redshift's COPY reads only AWS S3, not `s3.endpoint` ({endpoint})"
                    ));
                }
            }
            Location::Folder(path) => {
                if redshift {
                    return Err(
                        "Redshift's COPY cannot read a local folder (`file://`): use an S3 bucket"
                            .to_owned(),
                    );
                }
                if !self.file_roots.iter().any(|root| path.starts_with(root)) {
                    return Err(format!(
                        "the folder `{}` is not under one of duro.yaml's `s3.load_file_roots` ({})",
                        path.display(),
                        listed(
                            &self
                                .file_roots
                                .iter()
                                .map(|p| p.display().to_string())
                                .collect::<Vec<_>>()
                        )
                    ));
                }
            }
        }
        Ok(())
    }
}

fn listed(items: &[String]) -> String {
    if items.is_empty() {
        return "none is listed".to_owned();
    }
    items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
}

/// The placeholders a `file_pattern` may use.
pub const PATTERN_FIELDS: [&str; 9] =
    ["dataset", "schema", "table", "date", "ext", "yyyy", "mm", "dd", "hh"];

/// The default `file_pattern`: the original loader's names.
pub const DEFAULT_FILE_PATTERN: &str = "{dataset}_{date}.{ext}";

/// Checks declared columns as a whole: names unique, the data date column among them and of a
/// date or time type, sort key places 1, 2, … without gaps, one distribution key.
pub fn check_columns(columns: &[LoadColumn], data_date_column: Option<&str>) -> Result<(), String> {
    for (index, column) in columns.iter().enumerate() {
        if columns[..index].iter().any(|c| c.name == column.name) {
            return Err(format!("column `{}` is declared twice", column.name));
        }
    }
    if let Some(date_column) = data_date_column {
        match columns.iter().find(|c| c.name == date_column) {
            None => {
                return Err(format!(
                    "the data date column `{date_column}` is not among the columns"
                ));
            }
            Some(c)
                if !matches!(
                    c.column_type,
                    ColumnType::Date | ColumnType::Timestamp | ColumnType::Timestamptz
                ) =>
            {
                return Err(format!(
                    "the data date column `{date_column}` is {}: make it a date, timestamp or timestamptz",
                    c.column_type.sql()
                ));
            }
            Some(_) => {}
        }
    }
    let mut places: Vec<u32> = columns.iter().filter_map(|c| c.sortkey).collect();
    places.sort_unstable();
    if places.iter().enumerate().any(|(index, place)| *place != index as u32 + 1) {
        return Err(format!(
            "sort key places must be 1, 2, … without gaps or repeats (found {places:?})"
        ));
    }
    if columns.iter().filter(|c| c.distkey).count() > 1 {
        return Err("only one column can be the distribution key".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        let cases: &[(&str, Result<Location, &str>)] = &[
            ("analytics", Ok(Location::Bucket("analytics".into()))),
            ("s3://my-bucket.logs/", Ok(Location::Bucket("my-bucket.logs".into()))),
            ("file:///data/exports", Ok(Location::Folder("/data/exports".into()))),
            ("file://relative/dir", Err("not an absolute folder")),
            ("file:///data/../etc", Err("not an absolute folder")),
            ("Analytics", Err("not an S3 bucket name")),
            ("ab", Err("not an S3 bucket name")),
            ("s3://bucket/with/key", Err("not an S3 bucket name")),
        ];
        for (text, expected) in cases {
            match (Location::parse(text), expected) {
                (Ok(found), Ok(want)) => assert_eq!(&found, want, "{text}"),
                (Err(found), Err(want)) => assert!(found.contains(want), "{text}: {found}"),
                (found, want) => panic!("{text}: {found:?}, expected {want:?}"),
            }
        }
    }

    #[test]
    fn only_the_stores_the_operator_allows() {
        let stores = LoadStores {
            buckets: vec!["analytics".into()],
            file_roots: vec!["/data".into()],
            endpoint: None,
        };
        let bucket = Location::Bucket("analytics".into());
        let folder = Location::Folder("/data/exports".into());
        assert_eq!(stores.check(&bucket, true), Ok(()));
        assert_eq!(stores.check(&folder, false), Ok(()));
        let cases = [
            (
                &stores,
                Location::Bucket("other".into()),
                false,
                "not one duro.yaml's `s3.load_buckets` allows (`analytics`)",
            ),
            (
                &stores,
                Location::Folder("/etc".into()),
                false,
                "not under one of duro.yaml's `s3.load_file_roots` (`/data`)",
            ),
            (&stores, Location::Folder("/data2/x".into()), false, "not under one of"),
            (&stores, folder.clone(), true, "cannot read a local folder"),
        ];
        for (stores, location, redshift, expected) in cases {
            let found = stores.check(&location, redshift).unwrap_err();
            assert!(found.contains(expected), "{found}");
        }
        let minio = LoadStores { endpoint: Some("http://127.0.0.1:9000".into()), ..stores.clone() };
        assert!(minio.check(&bucket, true).unwrap_err().contains("reads only AWS S3"));
        assert_eq!(minio.check(&bucket, false), Ok(()));
        assert!(
            LoadStores::default().check(&bucket, false).unwrap_err().contains("none is listed")
        );
    }

    #[test]
    fn column_types_and_their_sql() {
        let cases = [
            ("int", "integer"),
            ("Integer", "integer"),
            ("float", "double precision"),
            ("text", "character varying(256)"),
            ("longtext", "character varying(65535)"),
            ("varchar(12)", "character varying(12)"),
            ("numeric(10, 2)", "numeric(10,2)"),
            ("timestamp", "timestamp without time zone"),
            ("timestamptz", "timestamp with time zone"),
        ];
        for (text, sql) in cases {
            assert_eq!(ColumnType::parse(text).unwrap().sql(), sql, "{text}");
        }
        for bad in ["varchar(0)", "numeric(3,4)", "json", "int; drop table x", "varchar(a)"] {
            assert!(ColumnType::parse(bad).unwrap_err().contains("is not a column type"), "{bad}");
        }
    }

    #[test]
    fn defaults_are_typed_literals() {
        let int = DefaultValue::new("0", ColumnType::Int).unwrap();
        assert_eq!(int.sql(ColumnType::Int), "'0'::integer");
        let text = DefaultValue::new("it's", ColumnType::Text).unwrap();
        assert_eq!(text.sql(ColumnType::Text), "'it''s'::character varying(256)");
        assert!(DefaultValue::new("now()", ColumnType::Timestamp).is_err());
        assert!(DefaultValue::new("1; drop", ColumnType::Int).is_err());
        assert!(DefaultValue::new("2015-07-01 00:00:00", ColumnType::Timestamp).is_ok());
        assert!(DefaultValue::new("yes", ColumnType::Boolean).is_err());
        assert!(DefaultValue::new("\\' || current_user --", ColumnType::Text).is_err());
    }

    #[test]
    fn the_columns_as_a_whole() {
        let date = LoadColumn::new("hit_time", ColumnType::Timestamp);
        let id = LoadColumn::new("id", ColumnType::Int);
        assert!(check_columns(&[id.clone(), date.clone()], Some("hit_time")).is_ok());
        let cases: Vec<(Vec<LoadColumn>, Option<&str>, &str)> = vec![
            (vec![id.clone(), id.clone()], None, "declared twice"),
            (vec![id.clone()], Some("hit_time"), "not among the columns"),
            (vec![id.clone()], Some("id"), "make it a date"),
            (
                vec![LoadColumn { sortkey: Some(2), ..id.clone() }],
                None,
                "sort key places must be 1, 2",
            ),
            (
                vec![
                    LoadColumn { distkey: true, ..id.clone() },
                    LoadColumn { distkey: true, ..date.clone() },
                ],
                None,
                "one column can be the distribution key",
            ),
        ];
        for (columns, date_column, expected) in cases {
            let found = check_columns(&columns, date_column).unwrap_err();
            assert!(found.contains(expected), "{found}");
        }
    }

    #[test]
    fn column_definitions() {
        let column = LoadColumn {
            default: Some(DefaultValue::new("0", ColumnType::Int).unwrap()),
            not_null: true,
            distkey: true,
            ..LoadColumn::new("Hits", ColumnType::Int)
        };
        assert_eq!(column.definition(), "\"Hits\" integer default '0'::integer not null");
    }
}
