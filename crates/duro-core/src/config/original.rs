//! The original Duro's `config.conf` (an INI file: `[main]`, `[redshift]`, `[s3]`, `[slack]`)
//! translated into the document a `duro.yaml` would hold, so the rest of loading (environment
//! overrides, secrets, checks) is the same for both.
//!
//! An INI file means a Redshift warehouse reached over TLS (`require`), as the original's was.
//! Every key of the original with a meaning here is mapped; each other key is a warning naming
//! its line. Values follow configparser's rules: `%%` is a `%`, and a lone `%` is an error, as it
//! was for the original.

use super::ConfigError;
use crate::ini::{self, Line};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_yaml::{Mapping, Value};
use std::path::Path;

/// The port of a `[redshift]` section without `port`: Redshift's.
const REDSHIFT_PORT: u16 = 5439;

/// Connection parameters the driver reads from the URL, passed on as they are.
const URL_PARAMETERS: &[&str] = &[
    "options",
    "hostaddr",
    "tcp_user_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
    "target_session_attrs",
    "channel_binding",
    "load_balance_hosts",
    "sslnegotiation",
];

/// Characters kept as they are in a URL's user, database and parameter values.
const URL_SAFE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The translated document and a warning for each key without a meaning here.
#[derive(Debug)]
pub(super) struct Translated {
    pub(super) document: Value,
    pub(super) warnings: Vec<String>,
}

/// Whether the file is an INI `config.conf` rather than YAML: by extension (`.conf`, `.ini`,
/// `.cfg` are INI; `.yaml`, `.yml` are not), else by content (the first line that is not blank
/// or a comment is a `[section]` header).
pub(super) fn is_ini(path: &Path, text: &str) -> bool {
    match path.extension().and_then(|e| e.to_str()).map(str::to_lowercase).as_deref() {
        Some("conf" | "ini" | "cfg") => true,
        Some("yaml" | "yml") => false,
        _ => matches!(ini::lines(text).first(), Some(Line::Section { .. })),
    }
}

/// One `key = value` of a section.
struct Entry {
    line: usize,
    key: String,
    value: String,
}

/// Translates the text of `path`.
pub(super) fn translate(path: &Path, text: &str) -> Result<Translated, ConfigError> {
    let error = |line: usize, message: String| ConfigError::Parse {
        path: path.to_owned(),
        message: format!("line {line}: {message}"),
    };
    // (name, line of the header, entries)
    let mut sections: Vec<(String, usize, Vec<Entry>)> = Vec::new();
    for line in ini::lines(text) {
        match line {
            Line::Section { line, name } => {
                if sections.iter().any(|(seen, _, _)| *seen == name) {
                    return Err(error(line, format!("section `[{name}]` appears twice")));
                }
                sections.push((name, line, Vec::new()));
            }
            Line::Entry { line, text } => {
                let Some((_, _, entries)) = sections.last_mut() else {
                    return Err(error(line, "a key before any `[section]` header".to_owned()));
                };
                let Some((key, value)) = ini::split_entry(&text) else {
                    return Err(error(
                        line,
                        format!("expected `key = value` or `key: value`, found `{text}`"),
                    ));
                };
                if entries.iter().any(|entry| entry.key == key) {
                    return Err(error(line, format!("`{key}` is set twice in this section")));
                }
                let value = interpolate(value)
                    .map_err(|message| error(line, format!("`{key}`: {message}")))?;
                entries.push(Entry { line, key, value });
            }
        }
    }
    let mut out = Output::default();
    out.set("warehouse", "dialect", "redshift".into());
    out.set("warehouse", "tls", "require".into());
    for (section, header_line, entries) in &sections {
        let translate_section = match section.as_str() {
            "main" => main_key,
            "redshift" => redshift_key,
            "s3" => s3_key,
            "slack" => slack_key,
            _ => unknown_section_key,
        };
        for entry in entries {
            if let Err(message) = translate_section(&mut out, entry) {
                return Err(error(entry.line, format!("`[{section}] {}`: {message}", entry.key)));
            }
            if let Some(reason) = out.ignored.take() {
                out.warnings.push(format!(
                    "`{}` line {}: `[{section}] {}` ignored: {reason}",
                    path.display(),
                    entry.line,
                    entry.key
                ));
            }
        }
        if section == "redshift" {
            let url = out
                .connection
                .url()
                .map_err(|message| error(*header_line, format!("`[redshift]`: {message}")))?;
            out.set("warehouse", "url", url.into());
        }
    }
    Ok(Translated { document: Value::Mapping(out.document), warnings: out.warnings })
}

/// configparser's basic interpolation, without references: `%%` is `%`.
fn interpolate(value: &str) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('(') => {
                return Err(
                    "`%(name)s` references are not supported: write the value out".to_owned()
                );
            }
            _ => {
                return Err("a `%` must be written `%%` (as the original's configparser required)"
                    .to_owned());
            }
        }
    }
    Ok(out)
}

/// The document being built, the `[redshift]` keys that make the URL, and why the current key
/// was ignored.
#[derive(Default)]
struct Output {
    document: Mapping,
    connection: Connection,
    warnings: Vec<String>,
    ignored: Option<String>,
}

impl Output {
    fn set(&mut self, section: &str, key: &str, value: Value) {
        let section = self
            .document
            .entry(Value::String(section.to_owned()))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        if let Value::Mapping(section) = section {
            section.insert(Value::String(key.to_owned()), value);
        }
    }

    fn ignore(&mut self, reason: &str) {
        self.ignored = Some(reason.to_owned());
    }
}

type KeyResult = Result<(), String>;

fn main_key(out: &mut Output, entry: &Entry) -> KeyResult {
    let value = entry.value.clone();
    match entry.key.as_str() {
        "views" => out.set("views", "path", value.into()),
        "db" => out.set("state", "path", value.into()),
        "use_git" => out.set("views", "use_git", boolean(&value)?.into()),
        "logs" => out.ignore(
            "the programs log to stderr (`DURO_LOG` sets the level); cron and supervisor keep the files (see deploy/)",
        ),
        "graph" => out.ignore("`duro-schedule --dot FILE` writes the dependency graph"),
        _ => out.ignore("not a key of the original's `[main]`"),
    }
    Ok(())
}

/// configparser's `getboolean`.
fn boolean(value: &str) -> Result<bool, String> {
    match value.to_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Ok(true),
        "0" | "no" | "false" | "off" => Ok(false),
        _ => Err(format!("`{value}` is not a boolean (1/yes/true/on or 0/no/false/off)")),
    }
}

/// The keys of `[redshift]` that make the warehouse URL.
#[derive(Default)]
struct Connection {
    host: Option<String>,
    port: Option<u16>,
    database: Option<String>,
    user: Option<String>,
    parameters: Vec<(String, String)>,
}

impl Connection {
    /// `postgres://user@host:port/database?parameters`; the password stays out of it.
    fn url(&self) -> Result<String, String> {
        let host = self.host.as_deref().filter(|h| !h.is_empty()).ok_or("`host` is missing")?;
        if host.contains(['/', '@', '?', '#', '[', ']', ' ']) {
            return Err(format!("`host` `{host}` is not a host name or address"));
        }
        let host = if host.contains(':') { format!("[{host}]") } else { host.to_owned() };
        let encode = |text: &str| utf8_percent_encode(text, URL_SAFE).to_string();
        let user = self.user.as_deref().map(|u| format!("{}@", encode(u))).unwrap_or_default();
        let port = self.port.unwrap_or(REDSHIFT_PORT);
        let database = self.database.as_deref().map(encode).unwrap_or_default();
        let mut url = format!("postgres://{user}{host}:{port}/{database}");
        for (index, (key, value)) in self.parameters.iter().enumerate() {
            url.push(if index == 0 { '?' } else { '&' });
            url.push_str(&format!("{key}={}", encode(value)));
        }
        Ok(url)
    }
}

fn redshift_key(out: &mut Output, entry: &Entry) -> KeyResult {
    let value = entry.value.clone();
    let key = entry.key.as_str();
    match key {
        "host" => out.connection.host = Some(value),
        "port" => {
            out.connection.port =
                Some(value.parse().map_err(|_| format!("`{value}` is not a port number"))?)
        }
        "database" | "dbname" => out.connection.database = Some(value),
        "user" => out.connection.user = Some(value),
        "password" => out.set("warehouse", "password", value.into()),
        "sslmode" => out.set("warehouse", "tls", tls_mode(&value)?.into()),
        "sslrootcert" => out.set("warehouse", "tls_root_cert", value.into()),
        "connect_timeout" => out.set("warehouse", "connect_timeout", value.into()),
        "application_name" => out.ignore(
            "Duro names its sessions itself (a creator finds the sessions it left by their name)",
        ),
        _ if URL_PARAMETERS.contains(&key) => out.connection.parameters.push((key.to_owned(), value)),
        _ => out.ignore(&format!(
            "not a connection parameter the driver knows (it knows {}, and sslmode, sslrootcert, connect_timeout)",
            URL_PARAMETERS.join(", ")
        )),
    }
    Ok(())
}

/// libpq's `sslmode` as `warehouse.tls`. `require` verifies the certificate here (Redshift's
/// is signed by a public authority), so `verify-full` is `require` too.
fn tls_mode(sslmode: &str) -> Result<&'static str, String> {
    match sslmode.to_lowercase().as_str() {
        "disable" => Ok("disable"),
        "allow" | "prefer" => Ok("prefer"),
        "require" | "verify-full" => Ok("require"),
        "verify-ca" => Ok("verify-ca"),
        _ => Err(format!(
            "`{sslmode}` is not an sslmode (disable, allow, prefer, require, verify-ca, verify-full)"
        )),
    }
}

fn s3_key(out: &mut Output, entry: &Entry) -> KeyResult {
    let value = entry.value.clone();
    match entry.key.as_str() {
        "aws_access_key_id" => out.set("s3", "access_key_id", value.into()),
        "aws_secret_access_key" => out.set("s3", "secret_access_key", value.into()),
        "bucket" => out.set("s3", "bucket", value.into()),
        // The original's folder was the local CSV folder and the key prefix; files are kept in
        // the run's work directory here, so only the prefix remains.
        "folder" => {
            let folder = value.trim_matches('/');
            let prefix = if folder.is_empty() { String::new() } else { format!("{folder}/") };
            out.set("s3", "prefix", prefix.into());
        }
        _ => out.ignore("not a key of the original's `[s3]`"),
    }
    Ok(())
}

fn slack_key(out: &mut Output, entry: &Entry) -> KeyResult {
    let value = entry.value.clone();
    match entry.key.as_str() {
        "url" => out.set("slack", "webhook_url", value.into()),
        key @ ("channel" | "failure_channel" | "success_channel" | "log_channel") => {
            out.set("slack", key, value.into())
        }
        _ => out.ignore("not a key of the original's `[slack]`"),
    }
    Ok(())
}

fn unknown_section_key(out: &mut Output, _entry: &Entry) -> KeyResult {
    out.ignore("the original's sections are `[main]`, `[redshift]`, `[s3]` and `[slack]`");
    Ok(())
}

/// The original's template (`duro/config.conf_example`), filled in.
#[cfg(test)]
pub(super) const TEMPLATE: &str = "\
[main]
views = ./views
logs = ./logs
db = ./duro.db
graph = dependencies.dot
use_git = yes

[redshift]
host = cluster.abc123.eu-west-1.redshift.amazonaws.com
port = 5439
database = analytics
user = duro
password = pa%%ss:word

[s3]
aws_access_key_id = AKIAEXAMPLE
aws_secret_access_key = secret/key
bucket = duro-staging
folder = csv

[slack]
url = https://hooks.slack.com/services/T0/B0/XYZ
channel = #duro
failure_channel = #alerts
";

#[cfg(test)]
mod tests {
    use super::*;

    fn translated(text: &str) -> Result<Translated, String> {
        translate(Path::new("config.conf"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn the_template_becomes_a_duro_yaml_document() {
        let Translated { document, warnings } = translated(TEMPLATE).unwrap();
        let expected: Value = serde_yaml::from_str(
            "\
warehouse:
  dialect: redshift
  tls: require
  password: pa%ss:word
  url: postgres://duro@cluster.abc123.eu-west-1.redshift.amazonaws.com:5439/analytics
views:
  path: ./views
  use_git: true
state:
  path: ./duro.db
s3:
  access_key_id: AKIAEXAMPLE
  secret_access_key: secret/key
  bucket: duro-staging
  prefix: csv/
slack:
  webhook_url: https://hooks.slack.com/services/T0/B0/XYZ
  channel: '#duro'
  failure_channel: '#alerts'
",
        )
        .unwrap();
        assert_eq!(document, expected);
        assert_eq!(
            warnings,
            [
                "`config.conf` line 3: `[main] logs` ignored: the programs log to stderr (`DURO_LOG` sets the level); cron and supervisor keep the files (see deploy/)",
                "`config.conf` line 5: `[main] graph` ignored: `duro-schedule --dot FILE` writes the dependency graph",
            ]
        );
    }

    #[test]
    fn connection_parameters() {
        let text = "[redshift]\nHost = 10.0.0.1\nuser = jane doe\ndbname = d/w\nsslmode = verify-ca\nsslrootcert = /etc/redshift-ca.pem\nconnect_timeout = 5\noptions = -c search_path=x\nkeepalives_idle = 30\napplication_name = mine\nsslcert = /x.pem\n";
        let Translated { document, warnings } = translated(text).unwrap();
        let warehouse = &document["warehouse"];
        assert_eq!(
            warehouse["url"],
            "postgres://jane%20doe@10.0.0.1:5439/d%2Fw?options=-c%20search_path%3Dx&keepalives_idle=30"
        );
        assert_eq!(warehouse["tls"], "verify-ca");
        assert_eq!(warehouse["tls_root_cert"], "/etc/redshift-ca.pem");
        assert_eq!(warehouse["connect_timeout"], "5");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].starts_with("`config.conf` line 10: `[redshift] application_name` ignored: Duro names its sessions itself"), "{warnings:?}");
        assert!(warnings[1].starts_with("`config.conf` line 11: `[redshift] sslcert` ignored: not a connection parameter the driver knows"), "{warnings:?}");
        let ipv6 = translated("[redshift]\nhost = ::1\nport = 5432\n").unwrap();
        assert_eq!(ipv6.document["warehouse"]["url"], "postgres://[::1]:5432/");
    }

    #[test]
    fn sslmodes() {
        for (sslmode, tls) in [
            ("disable", "disable"),
            ("allow", "prefer"),
            ("prefer", "prefer"),
            ("require", "require"),
            ("verify-ca", "verify-ca"),
            ("VERIFY-FULL", "require"),
        ] {
            let text = format!("[redshift]\nhost = h\nsslmode = {sslmode}\n");
            assert_eq!(translated(&text).unwrap().document["warehouse"]["tls"], tls, "{sslmode}");
        }
    }

    #[test]
    fn other_sections_and_keys_are_warnings() {
        let text = "[main]\nviews = v\ncolour = blue\n[extra]\na = 1\n[slack]\nicon = x\n";
        let warnings = translated(text).unwrap().warnings;
        assert_eq!(
            warnings,
            [
                "`config.conf` line 3: `[main] colour` ignored: not a key of the original's `[main]`",
                "`config.conf` line 5: `[extra] a` ignored: the original's sections are `[main]`, `[redshift]`, `[s3]` and `[slack]`",
                "`config.conf` line 7: `[slack] icon` ignored: not a key of the original's `[slack]`",
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("views = v\n", "line 1: a key before any `[section]` header"),
            ("[main]\nviews\n", "line 2: expected `key = value` or `key: value`, found `views`"),
            ("[main]\nviews = a\nVIEWS = b\n", "line 3: `views` is set twice in this section"),
            ("[main]\n[main]\n", "line 2: section `[main]` appears twice"),
            ("[main]\nuse_git = maybe\n", "line 2: `[main] use_git`: `maybe` is not a boolean"),
            (
                "[redshift]\nhost = h\nport = x\n",
                "line 3: `[redshift] port`: `x` is not a port number",
            ),
            ("[redshift]\nhost = h\nsslmode = strict\n", "`strict` is not an sslmode"),
            ("[redshift]\nuser = u\n", "line 1: `[redshift]`: `host` is missing"),
            ("[redshift]\nhost = a/b\n", "`host` `a/b` is not a host name or address"),
            (
                "[redshift]\nhost = h\npassword = 100%\n",
                "line 3: `password`: a `%` must be written `%%`",
            ),
            ("[main]\nviews = %(here)s/views\n", "`%(name)s` references are not supported"),
        ];
        for (text, expected) in cases {
            let error = translated(text).unwrap_err();
            assert!(error.starts_with("config file `config.conf`: "), "{error}");
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn ini_or_yaml() {
        let cases = [
            ("config.conf", "views:\n  path: x\n", true),
            ("duro.yaml", "[main]\n", false),
            ("settings", "# comment\n\n[main]\nviews = v\n", true),
            ("settings", "views:\n  path: x\n", false),
            ("settings.INI", "", true),
        ];
        for (path, text, expected) in cases {
            assert_eq!(is_ini(Path::new(path), text), expected, "{path}");
        }
    }
}
