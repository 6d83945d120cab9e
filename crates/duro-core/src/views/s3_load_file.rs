//! Parsing one `*.s3.yml` file into an [`S3LoadSpec`]: unknown keys, values of the wrong type
//! and values that break a rule are problems naming the line, found without connecting anywhere.
//! Whether the node's bucket or folder is one the operator allows is checked with the catalog
//! (`checks`), as it depends on `duro.yaml`.

use super::replication_file::{
    SpecProblem, column_name, depends_on, key_line, node_interval, yaml_problem,
};
use crate::catalog::replication::{AfterLoad, Vacuum};
use crate::catalog::s3_load::{
    self, ColumnType, CsvFormat, DEFAULT_FILE_PATTERN, DefaultValue, Evolve, Granularity,
    JsonPaths, LoadColumn, LoadCopyOptions, LoadFormat, LoadMode, Location, PATTERN_FIELDS,
    S3LoadSpec, SchemaSource,
};
use crate::identifier::TableName;
use serde::Deserialize;
use serde_yaml::Value;

/// The problem of `granularity: hour` over a `date` column.
pub const HOURS_OF_A_DATE: &str =
    "the data date column is a `date`, which has no hours: use `granularity: day`";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    bucket: Option<String>,
    prefix: Option<String>,
    dataset: Option<String>,
    file_pattern: Option<String>,
    format: Option<LoadFormat>,
    csv: Option<RawCsv>,
    jsonpaths: Option<String>,
    data_date_column: Option<String>,
    mode: Option<LoadMode>,
    granularity: Option<Granularity>,
    timezone: Option<String>,
    catch_up: Option<bool>,
    schema: Option<SchemaSource>,
    columns: Option<Vec<RawColumn>>,
    evolve: Option<Evolve>,
    copy: Option<RawCopy>,
    after_load: Option<RawAfterLoad>,
    interval: Option<Value>,
    depends_on: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCsv {
    delimiter: Option<String>,
    quote: Option<String>,
    header: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    name: String,
    #[serde(rename = "type")]
    column_type: String,
    default: Option<Value>,
    not_null: Option<bool>,
    primary_key: Option<bool>,
    distkey: Option<bool>,
    sortkey: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCopy {
    max_errors: Option<u32>,
    truncate_columns: Option<bool>,
    empty_as_null: Option<bool>,
    timeformat: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAfterLoad {
    vacuum: Option<Vacuum>,
    analyze: Option<bool>,
}

/// Parses the file's `text` for `table`; `file_interval` is the interval of its name. Returns
/// the node's definition and its interval, or every problem found.
pub fn parse(
    text: &str,
    table: &TableName,
    file_interval: Option<u32>,
) -> Result<(S3LoadSpec, Option<u32>), Vec<SpecProblem>> {
    let raw: Raw = match serde_yaml::from_str::<Option<Raw>>(text) {
        Ok(Some(raw)) => raw,
        Ok(None) => {
            return Err(vec![SpecProblem {
                line: None,
                message: "the file is empty: an S3 load node needs at least `bucket`, `data_date_column` and `columns`".to_owned(),
            }]);
        }
        Err(error) => return Err(vec![yaml_problem(&error)]),
    };
    let mut problems = Vec::new();
    let mut problem = |key: &str, message: String| {
        problems
            .push(SpecProblem { line: key_line(text, key), message: format!("`{key}`: {message}") })
    };
    let location = match raw.bucket.as_deref().map(Location::parse) {
        Some(Ok(location)) => Some(location),
        Some(Err(message)) => {
            problem("bucket", message);
            None
        }
        None => {
            problem(
                "bucket",
                "missing: an S3 bucket of `s3.load_buckets`, or `file:///folder` under one of `s3.load_file_roots`".to_owned(),
            );
            None
        }
    };
    let prefix = raw.prefix.unwrap_or_default();
    if let Err(message) = key_part(&prefix) {
        problem("prefix", message);
    }
    let prefix = match prefix.as_str() {
        "" => String::new(),
        text => format!("{}/", text.trim_end_matches('/')),
    };
    let dataset = raw.dataset.unwrap_or_else(|| format!("{}_{}", table.schema, table.table));
    if dataset.is_empty() || dataset.contains('/') || key_part(&dataset).is_err() {
        problem("dataset", format!("`{dataset}` is not a file base name (no `/`, not empty)"));
    }
    let file_pattern = raw.file_pattern.unwrap_or_else(|| DEFAULT_FILE_PATTERN.to_owned());
    if let Err(message) = check_pattern(&file_pattern) {
        problem("file_pattern", message);
    }
    let csv = match raw.csv.map(csv_format) {
        None => CsvFormat::default(),
        Some(Ok(csv)) => csv,
        Some(Err(message)) => {
            problem("csv", message);
            CsvFormat::default()
        }
    };
    let format = raw.format.unwrap_or_default();
    let jsonpaths = match raw.jsonpaths.as_deref() {
        None | Some("auto") => JsonPaths::Auto,
        Some(key) => {
            if let Err(message) = key_part(key) {
                problem("jsonpaths", message);
            }
            if format == LoadFormat::Csv {
                problem("jsonpaths", "CSV files are read by position: remove it".to_owned());
            }
            JsonPaths::File(key.to_owned())
        }
    };
    let schema = raw.schema.unwrap_or_default();
    let data_date_column = match raw.data_date_column.as_deref().map(column_name) {
        Some(Ok(name)) => Some(name),
        Some(Err(message)) => {
            problem("data_date_column", message);
            None
        }
        None if schema == SchemaSource::Inline => {
            problem(
                "data_date_column",
                "missing: the column holding each row's data date (one of `columns`)".to_owned(),
            );
            None
        }
        None => None,
    };
    let columns = match (schema, raw.columns) {
        (SchemaSource::Inline, None) => {
            problem("columns", "missing: the table's columns, each `{name, type}`".to_owned());
            Vec::new()
        }
        (SchemaSource::Sidecar, Some(_)) => {
            problem(
                "columns",
                "`schema: sidecar` takes the columns from the file beside the data: remove them"
                    .to_owned(),
            );
            Vec::new()
        }
        (SchemaSource::Sidecar, None) => Vec::new(),
        (SchemaSource::Inline, Some(raw_columns)) => {
            match raw_columns.into_iter().map(load_column).collect::<Result<Vec<_>, _>>() {
                Ok(columns) => {
                    if let Err(message) =
                        s3_load::check_columns(&columns, data_date_column.as_deref())
                    {
                        problem("columns", message);
                    }
                    columns
                }
                Err(message) => {
                    problem("columns", message);
                    Vec::new()
                }
            }
        }
    };
    let granularity = raw.granularity.unwrap_or_default();
    let date_column_type =
        columns.iter().find(|c| Some(&c.name) == data_date_column.as_ref()).map(|c| c.column_type);
    if granularity == Granularity::Hour && date_column_type == Some(ColumnType::Date) {
        problem("granularity", HOURS_OF_A_DATE.to_owned());
    }
    let timezone = raw.timezone.unwrap_or_else(|| "UTC".to_owned());
    if timezone.parse::<chrono_tz::Tz>().is_err() {
        problem("timezone", format!("`{timezone}` is not an IANA time zone (`Europe/Berlin`)"));
    }
    let defaults = LoadCopyOptions::default();
    let copy = match raw.copy {
        None => defaults,
        Some(copy) => {
            if let Some(format) = copy.timeformat.filter(|f| f != "auto") {
                problem(
                    "copy",
                    format!("`timeformat: {format}`: only `auto` (ISO 8601 dates and times)"),
                );
            }
            LoadCopyOptions {
                max_errors: copy.max_errors.unwrap_or(defaults.max_errors),
                truncate_columns: copy.truncate_columns.unwrap_or(defaults.truncate_columns),
                empty_as_null: copy.empty_as_null.unwrap_or(defaults.empty_as_null),
            }
        }
    };
    let after_load = raw.after_load.map_or_else(AfterLoad::default, |after| AfterLoad {
        vacuum: after.vacuum.unwrap_or_default(),
        analyze: after.analyze,
    });
    let interval = node_interval(raw.interval, file_interval, &mut problem);
    let depends_on = depends_on(raw.depends_on, &mut problem);
    let (Some(location), true) = (location, problems.is_empty()) else {
        return Err(problems);
    };
    let spec = S3LoadSpec {
        location,
        prefix,
        dataset,
        file_pattern,
        format,
        csv,
        jsonpaths,
        data_date_column,
        mode: raw.mode.unwrap_or_default(),
        granularity,
        timezone,
        catch_up: raw.catch_up.unwrap_or(false),
        schema,
        columns,
        evolve: raw.evolve.unwrap_or_default(),
        copy,
        after_load,
        depends_on,
    };
    Ok((spec, interval))
}

/// A part of an object key: no `..` segment, no leading `/`, no control characters, and no
/// quote or backslash (key parts end up in string literals of Redshift's `COPY`, where a
/// backslash escapes).
fn key_part(text: &str) -> Result<(), String> {
    if text.starts_with('/')
        || text.split('/').any(|segment| segment == ".." || segment == ".")
        || text.chars().any(|c| c.is_control() || matches!(c, '\'' | '\\'))
    {
        return Err(format!(
            "`{text}` must be a relative path without `.` or `..` segments, quotes or backslashes"
        ));
    }
    Ok(())
}

/// A `file_pattern`: known `{placeholders}`, `{date}` and `{ext}` each once, the file name last.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    key_part(pattern)?;
    let mut rest = pattern;
    let mut seen = Vec::new();
    while let Some(open) = rest.find('{') {
        let close =
            rest[open..].find('}').ok_or_else(|| format!("`{pattern}`: an unclosed `{{`"))?;
        let field = &rest[open + 1..open + close];
        if !PATTERN_FIELDS.contains(&field) {
            return Err(format!(
                "`{{{field}}}` is not a placeholder: use {}",
                PATTERN_FIELDS.map(|f| format!("{{{f}}}")).join(", ")
            ));
        }
        seen.push(field);
        rest = &rest[open + close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("`{pattern}`: a `}}` without its `{{`"));
    }
    for required in ["date", "ext"] {
        if seen.iter().filter(|f| **f == required).count() != 1 {
            return Err(format!("`{pattern}` must hold `{{{required}}}` exactly once"));
        }
    }
    if !pattern.ends_with("{ext}") {
        return Err(format!("`{pattern}` must end with `.{{ext}}`"));
    }
    Ok(())
}

fn csv_format(raw: RawCsv) -> Result<CsvFormat, String> {
    let defaults = CsvFormat::default();
    let one = |value: Option<String>, default: char, what: &str| -> Result<char, String> {
        let Some(value) = value else {
            return Ok(default);
        };
        let value = if value == "\\t" { "\t".to_owned() } else { value };
        let mut chars = value.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii() && !matches!(c, '\n' | '\r' | '\\') => Ok(c),
            _ => Err(format!(
                "the {what} `{value}` must be one ASCII character (not a newline or `\\`)"
            )),
        }
    };
    let csv = CsvFormat {
        delimiter: one(raw.delimiter, defaults.delimiter, "delimiter")?,
        quote: one(raw.quote, defaults.quote, "quote")?,
        header: raw.header.unwrap_or(defaults.header),
    };
    if csv.delimiter == csv.quote {
        return Err("the delimiter and the quote must differ".to_owned());
    }
    Ok(csv)
}

/// One `{name, type, …}` entry.
fn load_column(raw: RawColumn) -> Result<LoadColumn, String> {
    let name = column_name(&raw.name)?;
    let column_type = ColumnType::parse(&raw.column_type)
        .map_err(|message| format!("column `{name}`: {message}"))?;
    let default = raw
        .default
        .map(|value| {
            let text = match value {
                Value::String(text) => text,
                Value::Number(number) => number.to_string(),
                Value::Bool(flag) => flag.to_string(),
                other => return Err(format!("column `{name}`: {other:?} is not a default value")),
            };
            DefaultValue::new(&text, column_type)
                .map_err(|message| format!("column `{name}`: {message}"))
        })
        .transpose()?;
    Ok(LoadColumn {
        name,
        column_type,
        default,
        not_null: raw.not_null.unwrap_or(false),
        primary_key: raw.primary_key.unwrap_or(false),
        distkey: raw.distkey.unwrap_or(false),
        sortkey: raw.sortkey,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages() -> TableName {
        TableName::parse("raw.pages").unwrap()
    }

    const EXAMPLE: &str = "bucket: analytics\ndataset: api_hits_pages\ndata_date_column: hit_time\nmode: append\ngranularity: day\ncolumns:\n  - {name: page_id, type: text, not_null: true, distkey: true}\n  - {name: hit_time, type: timestamp, sortkey: 1}\n  - {name: hits, type: int, default: \"0\"}\n";

    #[test]
    fn the_spec_example_with_its_defaults() {
        let (spec, interval) = parse(EXAMPLE, &pages(), Some(30)).unwrap();
        assert_eq!(interval, Some(30));
        assert_eq!(spec.location, Location::Bucket("analytics".into()));
        assert_eq!((spec.prefix.as_str(), spec.dataset.as_str()), ("", "api_hits_pages"));
        assert_eq!(spec.file_pattern, DEFAULT_FILE_PATTERN);
        assert_eq!(spec.data_date_column.as_deref(), Some("hit_time"));
        assert_eq!(
            (spec.mode, spec.granularity, spec.catch_up),
            (LoadMode::Append, Granularity::Day, false)
        );
        assert_eq!(
            (spec.format, spec.jsonpaths.clone(), spec.schema),
            (LoadFormat::Auto, JsonPaths::Auto, SchemaSource::Inline)
        );
        assert_eq!(spec.timezone, "UTC");
        assert_eq!(spec.copy, LoadCopyOptions::default());
        assert_eq!(spec.evolve, Evolve::AddColumns);
        let names: Vec<_> = spec.columns.iter().map(|c| (c.name.as_str(), c.column_type)).collect();
        assert_eq!(
            names,
            [
                ("page_id", ColumnType::Text),
                ("hit_time", ColumnType::Timestamp),
                ("hits", ColumnType::Int)
            ]
        );
        assert!(spec.columns[0].not_null && spec.columns[0].distkey);
        assert_eq!(spec.columns[1].sortkey, Some(1));
        assert_eq!(spec.columns[2].default.as_ref().unwrap().sql(ColumnType::Int), "'0'::integer");
    }

    #[test]
    fn defaults_name_the_table_and_a_sidecar_brings_the_columns() {
        let (spec, _) = parse("bucket: file:///data/exports\nprefix: pages\nschema: sidecar\ncsv: {delimiter: '|', header: true}\n", &pages(), None).unwrap();
        assert_eq!(spec.location, Location::Folder("/data/exports".into()));
        assert_eq!((spec.prefix.as_str(), spec.dataset.as_str()), ("pages/", "raw_pages"));
        assert_eq!((spec.data_date_column, spec.columns.len()), (None, 0));
        assert_eq!(spec.csv, CsvFormat { delimiter: '|', quote: '"', header: true });
    }

    /// Each problem names its line; several are reported at once.
    #[test]
    fn problems_name_the_line() {
        let base = "bucket: analytics\ndata_date_column: day\n";
        let columns = "columns: [{name: day, type: date}]\n";
        let cases: Vec<(String, Vec<(Option<usize>, &str)>)> = vec![
            (format!("{base}{columns}colour: blue\n"), vec![(Some(4), "unknown field `colour`")]),
            (
                format!("{base}{columns}mode: sometimes\n"),
                vec![(Some(4), "unknown variant `sometimes`")],
            ),
            (
                format!("{base}columns: [{{name: day, type: 'date; drop table x'}}]\n"),
                vec![(Some(3), "is not a column type")],
            ),
            (
                format!("{base}columns: [{{name: day, type: date, default: 'now()'}}]\n"),
                vec![(Some(3), "default `now()` is not a date value")],
            ),
            (
                format!("{base}columns: [{{name: hits, type: int}}]\n"),
                vec![(Some(3), "`day` is not among the columns")],
            ),
            (
                format!("{base}{columns}file_pattern: '{{dataset}}_{{when}}.{{ext}}'\n"),
                vec![(Some(4), "`{when}` is not a placeholder")],
            ),
            (
                format!("{base}{columns}file_pattern: '{{dataset}}.{{ext}}'\n"),
                vec![(Some(4), "must hold `{date}` exactly once")],
            ),
            (
                format!("{base}{columns}prefix: ../other\n"),
                vec![(Some(4), "without `.` or `..` segments")],
            ),
            (
                format!("{base}{columns}jsonpaths: \"x\\\\' maxerror 100000 --\"\n"),
                vec![(Some(4), "quotes or backslashes")],
            ),
            (
                format!("{base}{columns}dataset: \"it's\"\n"),
                vec![(Some(4), "`dataset`: `it's` is not a file base name")],
            ),
            (
                format!("{base}{columns}granularity: hour\n"),
                vec![(Some(4), "`granularity`: the data date column is a `date`")],
            ),
            (
                format!("{base}{columns}timezone: Mars/Olympus\n"),
                vec![(Some(4), "not an IANA time zone")],
            ),
            (
                format!("{base}{columns}csv: {{delimiter: ab}}\n"),
                vec![(Some(4), "must be one ASCII character")],
            ),
            (
                format!("{base}{columns}copy: {{timeformat: epochsecs}}\n"),
                vec![(Some(4), "only `auto`")],
            ),
            (
                format!("{base}{columns}copy: {{ignore_everything: true}}\n"),
                vec![(Some(4), "unknown field `ignore_everything`")],
            ),
            (
                format!("{base}{columns}interval: 2h\n"),
                vec![(Some(4), "2h disagrees with the file name's 30m")],
            ),
            (
                format!("{base}{columns}schema: sidecar\n"),
                vec![(Some(3), "`schema: sidecar` takes the columns")],
            ),
            (
                "bucket: Bad_Bucket\n".to_owned(),
                vec![
                    (Some(1), "not an S3 bucket name"),
                    (None, "`data_date_column`: missing"),
                    (None, "`columns`: missing"),
                ],
            ),
            ("".to_owned(), vec![(None, "the file is empty")]),
        ];
        for (text, expected) in cases {
            let found: Vec<(Option<usize>, String)> = match parse(&text, &pages(), Some(30)) {
                Ok(_) => Vec::new(),
                Err(problems) => problems.into_iter().map(|p| (p.line, p.message)).collect(),
            };
            assert_eq!(found.len(), expected.len(), "{text}: {found:?}");
            for ((line, message), (want_line, want)) in found.iter().zip(&expected) {
                assert_eq!(line, want_line, "{text}: {message}");
                assert!(message.contains(want), "{text}: {message}");
            }
        }
    }
}
