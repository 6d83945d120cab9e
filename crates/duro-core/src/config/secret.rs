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
    rewrite_password(url, Some("<redacted>"))
}

/// A connection URL without its password (if any), for a configuration file to print.
pub fn url_without_password(url: &str) -> String {
    rewrite_password(url, None)
}

/// Replaces the password of `url` (in its user info, and any `password=` parameter) with
/// `replacement`, or removes it.
fn rewrite_password(url: &str, replacement: Option<&str>) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match (user_info.split_once(':'), replacement) {
            (Some((user, _)), Some(replacement)) => format!("{user}:{replacement}@{host}"),
            (Some((user, _)), None) => format!("{user}@{host}"),
            (None, _) => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        None => tail.to_owned(),
        Some((path, query)) => {
            let parameters: Vec<String> = query
                .split('&')
                .filter_map(|pair| {
                    let is_password = pair.to_lowercase().starts_with("password=");
                    match (is_password, replacement) {
                        (false, _) => Some(pair.to_owned()),
                        (true, Some(replacement)) => Some(format!("password={replacement}")),
                        (true, None) => None,
                    }
                })
                .collect();
            if parameters.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{}", parameters.join("&"))
            }
        }
    };
    format!("{scheme}://{authority}{tail}")
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
            ("postgres://u@h?password=p", "postgres://u@h?password=<redacted>"),
            ("postgres://u:p@h?sslmode=require", "postgres://u:<redacted>@h?sslmode=require"),
        ];
        for (url, expected) in cases {
            assert_eq!(redact_url(url), expected);
        }
        for (url, expected) in [
            (
                "postgres://u:p@h:5432/db?password=q&sslmode=require",
                "postgres://u@h:5432/db?sslmode=require",
            ),
            ("postgres://u@h?password=q", "postgres://u@h"),
            ("postgres://u@h/db", "postgres://u@h/db"),
        ] {
            assert_eq!(url_without_password(url), expected);
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
