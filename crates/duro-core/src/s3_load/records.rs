//! A data file's records, as PostgreSQL loads them: JSON mapped the way Redshift's `JSON 'auto'`
//! maps it (each column from the key of its name, case-sensitively; extra keys ignored; missing
//! keys NULL; numbers exactly as written; nested values as JSON text; objects on one line each,
//! spread over lines or run together), or through a JSONPaths file; CSV in the file's dialect, by position. Text longer
//! than its column is cut at a UTF-8 boundary within the column's length in bytes (Redshift's
//! `TRUNCATECOLUMNS`; Redshift counts bytes) or refused at its line. Everything is streamed:
//! one record in memory at a time.

use crate::catalog::s3_load::{CsvFormat, LoadColumn};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read;

/// A record that cannot be loaded, at the line where it starts (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    pub line: u64,
    pub message: String,
}

/// How values become the loaded text.
pub struct Columns<'a> {
    pub columns: &'a [LoadColumn],
    /// Cut text at its column's length (otherwise a longer value is an error).
    pub truncate: bool,
    /// CSV: an empty text field is NULL (otherwise the empty string).
    pub empty_as_null: bool,
}

impl Columns<'_> {
    /// A text value as loaded into column `index`.
    fn text<'v>(
        &self,
        index: usize,
        value: Cow<'v, str>,
        line: u64,
    ) -> Result<Cow<'v, str>, RecordError> {
        let column = &self.columns[index];
        let Some(max) = column.column_type.max_bytes() else {
            return Ok(value);
        };
        if value.len() <= max {
            return Ok(value);
        }
        if !self.truncate {
            return Err(RecordError {
                line,
                message: format!(
                    "column `{}`: a value of {} bytes is longer than {} (set `copy.truncate_columns: true` to cut it)",
                    column.name,
                    value.len(),
                    column.column_type.sql()
                ),
            });
        }
        let mut end = max;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        Ok(match value {
            Cow::Borrowed(text) => Cow::Borrowed(&text[..end]),
            Cow::Owned(mut text) => {
                text.truncate(end);
                Cow::Owned(text)
            }
        })
    }
}

/// One step of a JSONPaths expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// A JSONPaths file (`{"jsonpaths": ["$.id", "$['user']['name']", "$.tags[0]"]}`): one path
/// per column, in order.
pub fn parse_jsonpaths(text: &str, columns: usize) -> Result<Vec<Vec<PathStep>>, String> {
    let document: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let paths = document
        .get("jsonpaths")
        .and_then(Value::as_array)
        .ok_or("expected `{\"jsonpaths\": [\"$.column\", …]}`")?;
    if paths.len() != columns {
        return Err(format!(
            "{} paths for {columns} columns: give one path per column, in order",
            paths.len()
        ));
    }
    paths
        .iter()
        .map(|path| {
            path.as_str().ok_or_else(|| format!("{path} is not a path")).and_then(parse_path)
        })
        .collect()
}

fn parse_path(path: &str) -> Result<Vec<PathStep>, String> {
    let bad = || format!("`{path}` is not a JSONPath like `$.a.b`, `$['a']` or `$.a[0]`");
    let mut rest = path.strip_prefix('$').ok_or_else(bad)?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            if end == 0 {
                return Err(bad());
            }
            steps.push(PathStep::Key(after[..end].to_owned()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(bad)?;
            let inside = &after[..end];
            let quoted = inside
                .strip_prefix('\'')
                .and_then(|t| t.strip_suffix('\''))
                .or_else(|| inside.strip_prefix('"').and_then(|t| t.strip_suffix('"')));
            steps.push(match quoted {
                Some(key) => PathStep::Key(key.to_owned()),
                None => PathStep::Index(inside.parse().map_err(|_| bad())?),
            });
            rest = &after[end + 1..];
        } else {
            return Err(bad());
        }
    }
    Ok(steps)
}

/// One JSON object: its keys, each with its value as written.
type Object<'a> = BTreeMap<String, &'a RawValue>;

/// The value a JSONPaths expression points at, each step read as it is needed.
fn follow<'v>(object: &Object<'v>, path: &[PathStep]) -> Option<&'v RawValue> {
    let (PathStep::Key(first), rest) = path.split_first()? else {
        return None;
    };
    let mut value = *object.get(first)?;
    for step in rest {
        value = match step {
            PathStep::Key(key) => {
                *serde_json::from_str::<Object<'v>>(value.get()).ok()?.get(key)?
            }
            PathStep::Index(index) => {
                *serde_json::from_str::<Vec<&'v RawValue>>(value.get()).ok()?.get(*index)?
            }
        };
    }
    Some(value)
}

/// A JSON value as text (`None` for null): a string unescaped, a number exactly as written
/// (every digit of a decimal kept), a nested value as its JSON text.
fn json_text(value: &RawValue) -> Option<Cow<'_, str>> {
    let text = value.get();
    match text.as_bytes().first() {
        Some(b'n') => None,
        Some(b'"') => Some(match serde_json::from_str::<&str>(text) {
            Ok(plain) => Cow::Borrowed(plain),
            Err(_) => Cow::Owned(serde_json::from_str::<String>(text).unwrap_or_default()),
        }),
        _ => Some(Cow::Borrowed(text)),
    }
}

/// How much is read at a time; more when one record is larger.
const CHUNK_BYTES: usize = 256 * 1024;

/// Reads the JSON objects of `input`, passing each one's fields (in column order) and its line
/// to `record`; returns how many. Stops early when `record` returns `Ok(false)`. Reads a chunk
/// at a time, whatever the layout: memory holds the chunk and the record being read.
pub fn json_records(
    mut input: impl Read,
    columns: &Columns<'_>,
    paths: Option<&[Vec<PathStep>]>,
    mut record: impl FnMut(u64, &[Option<Cow<'_, str>>]) -> Result<bool, RecordError>,
) -> Result<u64, RecordError> {
    let mut buffer: Vec<u8> = Vec::new();
    // The line the buffer starts on.
    let mut buffer_line: u64 = 1;
    let mut count = 0;
    loop {
        let kept = buffer.len();
        buffer.resize(kept + CHUNK_BYTES.max(kept), 0);
        let mut filled = kept;
        let mut at_end = false;
        while filled < buffer.len() {
            match input.read(&mut buffer[filled..]) {
                Ok(0) => {
                    at_end = true;
                    break;
                }
                Ok(read) => filled += read,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(RecordError {
                        line: buffer_line,
                        message: format!("cannot read: {e}"),
                    });
                }
            }
        }
        buffer.truncate(filled);
        let mut stream = serde_json::Deserializer::from_slice(&buffer).into_iter::<Object<'_>>();
        let mut consumed = 0;
        let mut counted_to = 0;
        let mut line = buffer_line;
        loop {
            let before = stream.byte_offset();
            let next = stream.next();
            let start = (before
                + buffer[before..].iter().take_while(|b| b.is_ascii_whitespace()).count())
            .min(buffer.len());
            line += newlines(&buffer[counted_to..start]);
            counted_to = start;
            match next {
                None => {
                    consumed = buffer.len();
                    break;
                }
                Some(Ok(object)) => {
                    consumed = stream.byte_offset();
                    count += 1;
                    let mut fields = Vec::with_capacity(columns.columns.len());
                    for (index, column) in columns.columns.iter().enumerate() {
                        let value = match paths {
                            None => object.get(&column.name).copied(),
                            Some(paths) => follow(&object, &paths[index]),
                        };
                        fields.push(match value.and_then(json_text) {
                            Some(text) => Some(columns.text(index, text, line)?),
                            None => None,
                        });
                    }
                    if !record(line, &fields)? {
                        return Ok(count);
                    }
                }
                Some(Err(error)) if error.is_eof() && !at_end => break,
                Some(Err(error)) => {
                    let message = if error.is_data() {
                        format!("each record must be a JSON object: {error}")
                    } else {
                        format!("invalid JSON: {error}")
                    };
                    return Err(RecordError {
                        line: buffer_line + error.line() as u64 - 1,
                        message,
                    });
                }
            }
        }
        buffer_line += newlines(&buffer[..consumed]);
        buffer.drain(..consumed);
        if at_end {
            return Ok(count);
        }
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Reads the CSV records of `input` (its header skipped), passing each one's fields and its
/// line to `record`; returns how many. A field `\N` is NULL; an empty field is NULL, or the
/// empty string in a text column without `empty_as_null`.
pub fn csv_records(
    input: impl Read,
    format: CsvFormat,
    columns: &Columns<'_>,
    mut record: impl FnMut(u64, &[Option<Cow<'_, str>>]) -> Result<bool, RecordError>,
) -> Result<u64, RecordError> {
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(format.delimiter as u8)
        .quote(format.quote as u8)
        .has_headers(format.header)
        .flexible(true)
        .from_reader(input);
    let mut row = ::csv::ByteRecord::new();
    let mut count = 0;
    loop {
        let line = reader.position().line() + u64::from(count == 0 && format.header);
        match reader.read_byte_record(&mut row) {
            Ok(false) => return Ok(count),
            Ok(true) => {}
            Err(error) => {
                let line = error.position().map_or(line, |p| p.line());
                return Err(RecordError { line, message: format!("invalid CSV: {error}") });
            }
        }
        let line = row.position().map_or(line, |p| p.line());
        if row.len() != columns.columns.len() {
            return Err(RecordError {
                line,
                message: format!(
                    "{} fields, but the table has {} columns (CSV is read by position)",
                    row.len(),
                    columns.columns.len()
                ),
            });
        }
        count += 1;
        let mut fields = Vec::with_capacity(columns.columns.len());
        for (index, bytes) in row.iter().enumerate() {
            let text = std::str::from_utf8(bytes).map_err(|_| RecordError {
                line,
                message: format!("column `{}`: not UTF-8 text", columns.columns[index].name),
            })?;
            let value = match text {
                "\\N" => None,
                "" if columns.empty_as_null || !columns.columns[index].is_text() => None,
                text => Some(columns.text(index, Cow::Borrowed(text), line)?),
            };
            fields.push(value);
        }
        if !record(line, &fields)? {
            return Ok(count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::s3_load::ColumnType;

    fn columns() -> Vec<LoadColumn> {
        vec![
            LoadColumn::new("page_id", ColumnType::Text),
            LoadColumn::new("hit_time", ColumnType::Timestamp),
            LoadColumn::new("hits", ColumnType::Int),
            LoadColumn::new("tags", ColumnType::Longtext),
        ]
    }

    type Rows = Vec<(u64, Vec<Option<String>>)>;

    fn json(text: &str, truncate: bool) -> Result<Rows, RecordError> {
        let columns = columns();
        let spec = Columns { columns: &columns, truncate, empty_as_null: false };
        let mut rows = Vec::new();
        json_records(text.as_bytes(), &spec, None, |line, fields| {
            rows.push((line, fields.iter().map(|f| f.as_ref().map(|v| v.to_string())).collect()));
            Ok(true)
        })?;
        Ok(rows)
    }

    fn some(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    /// S18: extra keys ignored, missing and differently cased keys NULL, a long string cut at
    /// 256 bytes on a character boundary, nested values as JSON text, the timestamp as written.
    #[test]
    fn json_auto_maps_keys_case_sensitively() {
        let long = "é".repeat(200);
        let text = format!(
            "{{\"page_id\": \"{long}\", \"hit_time\": \"2015-07-01T10:00:00Z\", \"extra\": 1, \"Hits\": 5, \"tags\": [\"a\", {{\"b\": true}}]}}\n{{\"page_id\": \"x\", \"hits\": 7}}\n"
        );
        let rows = json(&text, true).unwrap();
        assert_eq!(rows.len(), 2);
        let cut = rows[0].1[0].as_ref().unwrap();
        assert_eq!((cut.len(), cut.chars().count()), (256, 128));
        assert_eq!(
            rows[0].1[1..],
            [some("2015-07-01T10:00:00Z"), None, some("[\"a\", {\"b\": true}]")]
        );
        assert_eq!(rows[1], (2, vec![some("x"), None, some("7"), None]));
        let refused = json(&text, false).unwrap_err();
        assert_eq!(refused.line, 1);
        assert!(
            refused.message.contains("column `page_id`: a value of 400 bytes"),
            "{}",
            refused.message
        );
    }

    /// Objects spread over lines or run together on one line are records too, each at the
    /// line where it starts.
    #[test]
    fn json_objects_in_any_layout() {
        let text = "{\"page_id\": \"a\"}{\"page_id\": \"b\"}\n\n{\n  \"page_id\": \"c\",\n  \"hits\": 3\n}\n  {\"page_id\": \"d\"}";
        let rows = json(text, true).unwrap();
        let found: Vec<(u64, Option<String>)> =
            rows.into_iter().map(|(line, f)| (line, f[0].clone())).collect();
        assert_eq!(found, [(1, some("a")), (1, some("b")), (3, some("c")), (7, some("d"))]);
    }

    /// Numbers keep every digit; a value larger than a chunk and objects run together over
    /// many chunks on one line are read whole, each at its line.
    #[test]
    fn exact_numbers_and_any_size() {
        let rows = json(
            "{\"page_id\": \"n\", \"hits\": 12345678901234567.89, \"tags\": \"\\u00e9\\n\"}\n",
            true,
        )
        .unwrap();
        assert_eq!(rows[0].1[2..], [some("12345678901234567.89"), some("é\n")]);
        let big = "y".repeat(3 * CHUNK_BYTES);
        let many = "{\"page_id\": \"p\"}".repeat(100_000);
        let text = format!("{many}\n{{\"page_id\": \"first\", \"tags\": \"{big}\"}}\n{many}");
        let columns = columns();
        let spec = Columns { columns: &columns, truncate: false, empty_as_null: false };
        let mut lines = std::collections::BTreeMap::new();
        let mut long = 0;
        json_records(text.as_bytes(), &spec, None, |line, fields| {
            *lines.entry(line).or_insert(0) += 1;
            if let Some(Some(tags)) = fields.get(3) {
                long = tags.len();
            }
            Ok(true)
        })
        .unwrap_err();
        // The long value is refused (not cut) at its line; everything before it was read.
        assert_eq!(lines.get(&1), Some(&100_000));
        assert_eq!(long, 0);
        let spec = Columns { columns: &columns, truncate: true, empty_as_null: false };
        let mut lines = std::collections::BTreeMap::new();
        let read = json_records(text.as_bytes(), &spec, None, |line, fields| {
            *lines.entry(line).or_insert(0) += 1;
            if fields[0].as_deref() == Some("first") {
                long = fields[3].as_ref().map_or(0, |t| t.len());
            }
            Ok(true)
        })
        .unwrap();
        assert_eq!(read, 200_001);
        assert_eq!((lines[&1], lines[&2], lines[&3]), (100_000, 1, 100_000));
        assert_eq!(long, 65_535, "cut to a longtext");
    }

    /// S19: a bad record names its line; a value that is not an object too.
    #[test]
    fn json_errors_name_the_line() {
        let text = "{\"page_id\": \"a\"}\n{\"page_id\": \"b\"}\n{\"page_id\": oops}\n{\"page_id\": \"d\"}\n";
        let error = json(text, true).unwrap_err();
        assert_eq!(error.line, 3, "{error:?}");
        assert!(error.message.contains("invalid JSON"), "{error:?}");
        let error = json("{\"page_id\": \"a\"}\n[1, 2]\n", true).unwrap_err();
        assert_eq!(error.line, 2, "{error:?}");
        assert!(error.message.contains("must be a JSON object"), "{error:?}");
        let error = json("{\"page_id\": \"a\"}\n{\"page_id\": ", true).unwrap_err();
        assert_eq!(error.line, 2, "{error:?}");
    }

    #[test]
    fn jsonpaths_pick_nested_values() {
        let paths = parse_jsonpaths(
            r#"{"jsonpaths": ["$.page.id", "$['when']", "$.counts[1]", "$[\"tags\"]"]}"#,
            4,
        )
        .unwrap();
        let columns = columns();
        let spec = Columns { columns: &columns, truncate: true, empty_as_null: false };
        let mut rows = Vec::new();
        let text = r#"{"page": {"id": "p1"}, "when": "2015-07-01T00:00:00Z", "counts": [1, 2], "tags": null}"#;
        json_records(text.as_bytes(), &spec, Some(&paths), |_, fields| {
            rows.push(fields.iter().map(|f| f.as_ref().map(|v| v.to_string())).collect::<Vec<_>>());
            Ok(true)
        })
        .unwrap();
        assert_eq!(rows, [vec![some("p1"), some("2015-07-01T00:00:00Z"), some("2"), None]]);
        for (text, expected) in [
            (r#"{"jsonpaths": ["$.a"]}"#, "1 paths for 4 columns"),
            (r#"{"paths": []}"#, "expected"),
            (r#"{"jsonpaths": ["a", "$.b", "$.c", "$.d"]}"#, "is not a JSONPath"),
        ] {
            assert!(parse_jsonpaths(text, 4).unwrap_err().contains(expected), "{text}");
        }
    }

    fn csv(text: &str, format: CsvFormat, empty_as_null: bool) -> Result<Rows, RecordError> {
        let columns = columns();
        let spec = Columns { columns: &columns, truncate: true, empty_as_null };
        let mut rows = Vec::new();
        csv_records(text.as_bytes(), format, &spec, |line, fields| {
            rows.push((line, fields.iter().map(|f| f.as_ref().map(|v| v.to_string())).collect()));
            Ok(true)
        })?;
        Ok(rows)
    }

    #[test]
    fn csv_by_position_in_its_dialect() {
        let format = CsvFormat { delimiter: '|', quote: '"', header: true };
        let text = "page_id|hit_time|hits|tags\na|2015-07-01T00:00:00Z|3|\"x|y\"\n|2015-07-01T00:00:00Z||\\N\n\"multi\nline\"|2015-07-02T00:00:00Z|4|t\n";
        let rows = csv(text, format, false).unwrap();
        assert_eq!(
            rows,
            [
                (2, vec![some("a"), some("2015-07-01T00:00:00Z"), some("3"), some("x|y")]),
                (3, vec![some(""), some("2015-07-01T00:00:00Z"), None, None]),
                (4, vec![some("multi\nline"), some("2015-07-02T00:00:00Z"), some("4"), some("t")]),
            ]
        );
        let rows = csv(text, format, true).unwrap();
        assert_eq!(rows[1].1[0], None, "empty_as_null");
        let error = csv("a,b,3,t\na,b\n", CsvFormat::default(), false).unwrap_err();
        assert_eq!(error.line, 2);
        assert!(error.message.contains("2 fields, but the table has 4 columns"), "{error:?}");
    }
}
