//! RFC 4180 CSV, as processors and replication exchange it: comma-delimited (or the table's
//! `processor_csv_delimiter`), a header row, fields quoted when they hold the delimiter, a quote
//! or a line break, and NULL as an empty unquoted field (an empty string is `""`), which is what
//! PostgreSQL's `COPY … CSV` and Redshift's `COPY … CSV` read back; or, for replication, NULL as
//! an unquoted `\N` (a value `\N` quoted).

use std::io::{self, Write};

/// Writes one record with this delimiter (an ASCII character). `None` is NULL, written as an
/// empty unquoted field.
pub(crate) fn write_record<W: Write + ?Sized>(
    out: &mut W,
    fields: &[Option<&str>],
    delimiter: u8,
) -> io::Result<()> {
    write_record_with_null(out, fields, delimiter, "")
}

/// Writes one record with this delimiter, NULL as `null` unquoted and a value equal to `null`
/// quoted (`"\N"` is the text `\N` when NULL is `\N`); the empty string is always `""`.
pub(crate) fn write_record_with_null<W: Write + ?Sized>(
    out: &mut W,
    fields: &[Option<&str>],
    delimiter: u8,
    null: &str,
) -> io::Result<()> {
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.write_all(&[delimiter])?;
        }
        match field {
            None => out.write_all(null.as_bytes())?,
            Some(value)
                if value.is_empty()
                    || *value == null
                    // PostgreSQL's end-of-data marker, were it alone on a line.
                    || *value == "\\."
                    || value.contains([char::from(delimiter), '"', '\n', '\r'])
                    || value.starts_with(' ')
                    || value.ends_with(' ') =>
            {
                out.write_all(b"\"")?;
                out.write_all(value.replace('"', "\"\"").as_bytes())?;
                out.write_all(b"\"")?;
            }
            Some(value) => out.write_all(value.as_bytes())?,
        }
    }
    out.write_all(b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records() {
        let cases: &[(&[Option<&str>], &str)] = &[
            (&[Some("a"), Some("b")], "a,b\r\n"),
            (&[Some("Paris"), None, Some("")], "Paris,,\"\"\r\n"),
            (
                &[Some("a,b"), Some("say \"hi\""), Some("two\nlines")],
                "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n",
            ),
            (&[Some(" padded ")], "\" padded \"\r\n"),
        ];
        for (fields, expected) in cases {
            let mut out = Vec::new();
            write_record(&mut out, fields, b',').unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), *expected);
        }
        let mut out = Vec::new();
        write_record(&mut out, &[Some("a;b"), Some("c,d"), None], b';').unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "\"a;b\";c,d;\r\n");
        let mut out = Vec::new();
        write_record_with_null(&mut out, &[None, Some("\\N"), Some(""), Some("x")], b',', "\\N")
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "\\N,\"\\N\",\"\",x\r\n");
        let mut out = Vec::new();
        write_record_with_null(&mut out, &[Some("\\.")], b',', "\\N").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "\"\\.\"\r\n");
    }
}
