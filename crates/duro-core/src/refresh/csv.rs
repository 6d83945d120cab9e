//! RFC 4180 CSV for the processor contract: comma-delimited, a header row, fields quoted when
//! they hold a comma, quote or line break, and NULL as an empty unquoted field (an empty string
//! is `""`), which is what PostgreSQL's `COPY … CSV` and Redshift's `COPY … CSV` read back.

use std::io::{self, Write};

/// Writes one record. `None` is NULL.
pub(super) fn write_record<W: Write>(out: &mut W, fields: &[Option<&str>]) -> io::Result<()> {
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.write_all(b",")?;
        }
        match field {
            None => {}
            Some(value)
                if value.is_empty()
                    || value.contains([',', '"', '\n', '\r'])
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
            write_record(&mut out, fields).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), *expected);
        }
    }
}
