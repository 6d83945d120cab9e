//! Values that must never be shown: [`Secret`] (a password, a token, a key) and [`ConnectionUrl`]
//! (a URL that may hold a password). Their `Debug` hides what they hold, so a configuration can
//! be logged with `{:?}` as a whole.

use serde::Deserialize;
use std::fmt;
use std::path::Path;

/// A secret value. Read it with [`Secret::expose`], at the one place that needs the text.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret's text, for the client that sends it (never for a message).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The contents of a secret file, without the trailing newline editors add.
    pub fn read_file(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        Ok(Self(text.trim_end_matches(['\n', '\r']).to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

/// A connection URL; `Debug` shows it with any password replaced (see [`redact_url`]).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ConnectionUrl(String);

impl ConnectionUrl {
    /// The URL as written, password included: only for the driver that parses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ConnectionUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", redact_url(&self.0))
    }
}

impl From<String> for ConnectionUrl {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<&str> for ConnectionUrl {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

/// A connection URL with its password (if any) replaced, safe for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_once('/').map_or((rest, None), |(a, t)| (a, Some(t)));
    let redacted_authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:<redacted>@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = tail.map(|t| {
        t.split('&')
            .map(|pair| {
                if pair.to_lowercase().contains("password=") {
                    pair.split('=').next().unwrap_or("").to_owned() + "=<redacted>"
                } else {
                    pair.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    match tail {
        Some(tail) => format!("{scheme}://{redacted_authority}/{tail}"),
        None => format!("{scheme}://{redacted_authority}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacting_urls() {
        let cases = [
            ("postgres://u:p@h/db", "postgres://u:<redacted>@h/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgres://h", "postgres://h"),
            (
                "postgres://u@h/db?sslmode=require&password=p",
                "postgres://u@h/db?sslmode=require&password=<redacted>",
            ),
            ("not a url", "not a url"),
        ];
        for (url, expected) in cases {
            assert_eq!(redact_url(url), expected);
        }
    }

    #[test]
    fn debug_never_shows_the_value() {
        assert_eq!(format!("{:?}", Secret::from("hunter2")), "<redacted>");
        assert_eq!(
            format!("{:?}", ConnectionUrl::from("postgres://u:hunter2@h/db")),
            "\"postgres://u:<redacted>@h/db\""
        );
        assert_eq!(Secret::from("hunter2").expose(), "hunter2");
    }

    #[test]
    fn secret_files_lose_their_trailing_newline_only() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), " s3cret \r\n").unwrap();
        assert_eq!(Secret::read_file(file.path()).unwrap().expose(), " s3cret ");
    }
}
