//! `duro.yaml` plus `DURO_SECTION__KEY` environment overrides → a validated [`Config`].
//!
//! Precedence, lowest first: defaults, the file, the environment, then command-line flags (applied
//! by the binaries). Secrets (the warehouse password) come from the environment or `*_file` paths
//! and never appear in `Debug` output.

use crate::interval::parse_duration_seconds;
use serde::{Deserialize, Deserializer};
use serde_yaml::{Mapping, Value};
use std::fmt;
use std::path::{Path, PathBuf};

/// The file read when neither `--config` nor `DURO_CONFIG` names one. Missing is fine.
pub const DEFAULT_CONFIG_FILE: &str = "duro.yaml";

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file `{path}`: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("configuration (duro.yaml and DURO_* variables): {0}")]
    Invalid(String),
}

/// Everything the binaries read from configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub views: ViewsConfig,
    pub state: StateConfig,
    pub warehouse: WarehouseConfig,
    pub creator: CreatorConfig,
    pub slack: SlackConfig,
    pub processors: ProcessorsConfig,
    pub s3: S3Config,
    pub server: ServerConfig,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ViewsConfig {
    /// The views repository (a git checkout when `use_git`).
    pub path: PathBuf,
    /// Skip scheduling when the repository's HEAD commit was already processed.
    #[serde(deserialize_with = "lenient_bool")]
    pub use_git: bool,
    /// Bytes a file of the repository may have; a larger file is an error, never read whole.
    #[serde(deserialize_with = "lenient_count")]
    pub max_file_size: u64,
}

/// The default of `views.max_file_size`: 10 MB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

impl Default for ViewsConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("./views"),
            use_git: false,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// The SQLite state file shared by all binaries.
    pub path: PathBuf,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self { path: PathBuf::from("./duro.db") }
    }
}

/// The SQL dialect of the warehouse.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    #[default]
    Redshift,
    Postgres,
}

/// Whether warehouse connections use TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Never (local PostgreSQL).
    Disable,
    /// When the server offers it.
    Prefer,
    /// Always; the server's certificate is verified against the Mozilla root certificates.
    Require,
}

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WarehouseConfig {
    pub dialect: Dialect,
    /// `postgres://user@host:port/database`; a password in it is accepted but better kept in
    /// `password` (env `DURO_WAREHOUSE__PASSWORD`) or `password_file`.
    pub url: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
    /// Default: `require` for Redshift, `prefer` for PostgreSQL.
    pub tls: Option<TlsMode>,
    /// Seconds to wait for a connection (default 10).
    #[serde(deserialize_with = "lenient_duration_option")]
    pub connect_timeout: Option<u64>,
}

impl WarehouseConfig {
    /// The TLS mode in force: the configured one, else the dialect's default.
    pub fn tls_mode(&self) -> TlsMode {
        self.tls.unwrap_or(match self.dialect {
            Dialect::Redshift => TlsMode::Require,
            Dialect::Postgres => TlsMode::Prefer,
        })
    }

    /// The password from `password`, else from `password_file` (trailing newline removed).
    pub fn resolved_password(&self) -> Result<Option<String>, ConfigError> {
        if let Some(password) = &self.password {
            return Ok(Some(password.clone()));
        }
        match &self.password_file {
            Some(path) => std::fs::read_to_string(path)
                .map(|text| Some(text.trim_end_matches(['\n', '\r']).to_owned()))
                .map_err(|source| ConfigError::Read { path: path.clone(), source }),
            None => Ok(None),
        }
    }
}

/// The creator daemon's settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CreatorConfig {
    /// Seconds between cycles (`30s`, `1m`, or a number of seconds).
    #[serde(deserialize_with = "lenient_duration")]
    pub interval: u64,
    /// Tables built at once, each on its own connection.
    #[serde(deserialize_with = "lenient_count")]
    pub jobs: u64,
    /// Seconds one build may take unless its `.conf` sets `timeout`.
    #[serde(deserialize_with = "lenient_duration")]
    pub default_timeout: u64,
    /// How many times a build is retried after a transient error (lost connection, 1023).
    #[serde(deserialize_with = "lenient_count")]
    pub retries: u64,
}

impl Default for CreatorConfig {
    fn default() -> Self {
        Self { interval: 30, jobs: 1, default_timeout: 3_600, retries: 2 }
    }
}

impl fmt::Debug for WarehouseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WarehouseConfig")
            .field("dialect", &self.dialect)
            .field("url", &self.url.as_deref().map(redact_url))
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("password_file", &self.password_file)
            .field("tls", &self.tls)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
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

fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Bool(b) => Ok(b),
        Value::String(s) => match s.to_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" | "" => Ok(false),
            _ => Err(serde::de::Error::custom(format!("`{s}` is not a boolean (true/false)"))),
        },
        Value::Number(n) if n.as_u64() == Some(0) || n.as_u64() == Some(1) => {
            Ok(n.as_u64() == Some(1))
        }
        other => Err(serde::de::Error::custom(format!("{other:?} is not a boolean (true/false)"))),
    }
}

/// Processor tables (Python post-processing).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessorsConfig {
    /// One virtual environment per processor table is kept here.
    pub venv_dir: PathBuf,
    /// The Python that creates the virtual environments.
    pub python: String,
    /// Where the CSV files live while a table builds (default: the system's temporary folder).
    pub work_dir: Option<PathBuf>,
    /// Seconds a script may run unless the table's `processor_timeout` says otherwise.
    #[serde(deserialize_with = "lenient_duration")]
    pub default_timeout: u64,
    /// An OS user that runs the scripts and `pip` (the creator must be able to switch to it,
    /// usually by running as root); by default they run as the creator's own user.
    pub run_as: Option<String>,
}

impl Default for ProcessorsConfig {
    fn default() -> Self {
        Self {
            venv_dir: PathBuf::from("./venvs"),
            python: "python3".to_owned(),
            work_dir: None,
            default_timeout: 3_600,
            run_as: None,
        }
    }
}

/// S3 staging of processor output (required on Redshift, optional on PostgreSQL).
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    /// The bucket; S3 is off without one.
    pub bucket: Option<String>,
    pub region: Option<String>,
    /// Key prefix for uploaded files, like `duro/`.
    pub prefix: String,
    /// An S3-compatible server's address (`http://127.0.0.1:9000`); AWS when unset.
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), needed by most S3-compatible servers.
    #[serde(deserialize_with = "lenient_bool")]
    pub path_style: bool,
    /// Keys; when unset, the standard `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` variables.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub secret_access_key_file: Option<PathBuf>,
    /// Redshift `COPY` with this IAM role instead of the keys.
    pub iam_role: Option<String>,
    /// Keep the uploaded files after a successful load.
    #[serde(deserialize_with = "lenient_bool")]
    pub keep_files: bool,
}

impl S3Config {
    /// The access key and secret: from this section, else the standard AWS variables of `env`.
    pub fn resolved_keys(
        &self,
        env: &[(String, String)],
    ) -> Result<Option<(String, String)>, ConfigError> {
        let from_env =
            |name: &str| env.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
        let access = self.access_key_id.clone().or_else(|| from_env("AWS_ACCESS_KEY_ID"));
        let secret = match read_secret(
            self.secret_access_key.as_deref(),
            self.secret_access_key_file.as_deref(),
        )? {
            Some(secret) => Some(secret),
            None => from_env("AWS_SECRET_ACCESS_KEY"),
        };
        Ok(access.zip(secret))
    }
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("path_style", &self.path_style)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "<redacted>"))
            .field("iam_role", &self.iam_role)
            .field("keep_files", &self.keep_files)
            .finish()
    }
}

/// Slack notifications. Off unless a token is configured (env `DURO_SLACK__TOKEN` or
/// `token_file`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    /// Slack's Web API base URL (tests point it at a loopback listener).
    pub api_url: String,
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    /// Channel for failures (builds and schedules).
    pub failure_channel: Option<String>,
    /// Channel for built tables and rescheduled views.
    pub success_channel: Option<String>,
    /// Seconds before an identical failure is sent again (`1h`).
    #[serde(deserialize_with = "lenient_duration")]
    pub repeat_after: u64,
    /// The web UI's address, to link table pages from messages.
    pub ui_url: Option<String>,
}

impl Default for SlackConfig {
    fn default() -> Self {
        Self {
            api_url: "https://slack.com/api".to_owned(),
            token: None,
            token_file: None,
            failure_channel: None,
            success_channel: None,
            repeat_after: 3_600,
            ui_url: None,
        }
    }
}

impl SlackConfig {
    /// The token from `token`, else from `token_file`.
    pub fn resolved_token(&self) -> Result<Option<String>, ConfigError> {
        read_secret(self.token.as_deref(), self.token_file.as_deref())
    }
}

impl fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackConfig")
            .field("api_url", &self.api_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("token_file", &self.token_file)
            .field("failure_channel", &self.failure_channel)
            .field("success_channel", &self.success_channel)
            .field("repeat_after", &self.repeat_after)
            .field("ui_url", &self.ui_url)
            .finish()
    }
}

/// How `duro-server` checks who may write (force rebuilds); with `server.read_auth`, who may read too.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Anyone who reaches the server may write (it listens on 127.0.0.1 by default).
    #[default]
    None,
    /// One shared token: `Authorization: Bearer <token>`, or as the basic-auth password.
    Token,
    /// Basic-auth users from `users` (env `DURO_SERVER__USERS`) or `users_file`.
    Basic,
}

/// The web UI and JSON API (`duro-server`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// `host:port` to listen on.
    pub bind: String,
    /// A path prefix when served behind a reverse proxy, like `/duro`.
    pub base_path: String,
    pub auth: AuthMode,
    /// The write token (`auth: token`); better from env `DURO_SERVER__TOKEN` or `token_file`.
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    /// `user:password` pairs separated by commas (`auth: basic`); better from env
    /// `DURO_SERVER__USERS` or `users_file` (one pair per line).
    pub users: Option<String>,
    pub users_file: Option<PathBuf>,
    /// Ask for the configured authentication on every page and API call too (not only writes),
    /// except `/healthz`. Needs an `auth` mode other than `none`.
    #[serde(deserialize_with = "lenient_bool")]
    pub read_auth: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".to_owned(),
            base_path: String::new(),
            auth: AuthMode::None,
            token: None,
            token_file: None,
            users: None,
            users_file: None,
            read_auth: false,
        }
    }
}

impl ServerConfig {
    /// The write token from `token`, else from `token_file`.
    pub fn resolved_token(&self) -> Result<Option<String>, ConfigError> {
        read_secret(self.token.as_deref(), self.token_file.as_deref())
    }

    /// The basic-auth users as (user, password), from `users`, else from `users_file`.
    pub fn resolved_users(&self) -> Result<Vec<(String, String)>, ConfigError> {
        let text = read_secret(self.users.as_deref(), self.users_file.as_deref())?;
        let mut users = Vec::new();
        for entry in text.iter().flat_map(|t| t.split([',', '\n'])) {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            match entry.split_once(':') {
                Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                    users.push((user.to_owned(), password.to_owned()))
                }
                _ => {
                    return Err(ConfigError::Invalid(
                        "server.users: every entry must be `user:password` (the entry without a colon or with an empty part is not shown, it may be a secret)".to_owned(),
                    ));
                }
            }
        }
        Ok(users)
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("bind", &self.bind)
            .field("base_path", &self.base_path)
            .field("auth", &self.auth)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("token_file", &self.token_file)
            .field("users", &self.users.as_ref().map(|_| "<redacted>"))
            .field("users_file", &self.users_file)
            .field("read_auth", &self.read_auth)
            .finish()
    }
}

/// A secret given directly, else read from a file (trailing newline removed).
fn read_secret(value: Option<&str>, file: Option<&Path>) -> Result<Option<String>, ConfigError> {
    if let Some(value) = value {
        return Ok(Some(value.to_owned()));
    }
    match file {
        Some(path) => std::fs::read_to_string(path)
            .map(|text| Some(text.trim_end_matches(['\n', '\r']).to_owned()))
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source }),
        None => Ok(None),
    }
}

/// A duration in seconds: a number, or a string like `30s`, `10m`, `1h`.
fn lenient_duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Number(n) => n.as_u64().ok_or_else(|| {
            serde::de::Error::custom(format!("{n} is not a whole number of seconds"))
        }),
        Value::String(s) => match s.parse::<u64>() {
            Ok(seconds) => Ok(seconds),
            Err(_) => parse_duration_seconds(&s).map_err(serde::de::Error::custom),
        },
        other => Err(serde::de::Error::custom(format!(
            "{other:?} is not a duration (like `30s` or `10m`)"
        ))),
    }
}

fn lenient_duration_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    lenient_duration(deserializer).map(Some)
}

/// A whole number, also from a string (environment variables are strings).
fn lenient_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Number(n) => {
            n.as_u64().ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number")))
        }
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a whole number"))),
        other => Err(serde::de::Error::custom(format!("{other:?} is not a whole number"))),
    }
}

impl Config {
    /// Loads the configuration: `explicit` (from `--config`), else `DURO_CONFIG`, else
    /// `./duro.yaml` when it exists, else defaults; then applies `DURO_*__*` overrides from `env`.
    pub fn load(explicit: Option<&Path>, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let from_env = env.iter().find(|(k, _)| k == "DURO_CONFIG").map(|(_, v)| PathBuf::from(v));
        let path = explicit.map(Path::to_path_buf).or(from_env);
        let mut document = match &path {
            Some(path) => read_document(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
                read_document(Path::new(DEFAULT_CONFIG_FILE))?
            }
            None => Value::Mapping(Mapping::new()),
        };
        apply_env_overrides(&mut document, env)?;
        let config =
            Config::deserialize(document).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Rules that span keys.
    fn validate(&self) -> Result<(), ConfigError> {
        if self.server.read_auth && self.server.auth == AuthMode::None {
            return Err(ConfigError::Invalid(
                "server.read_auth needs server.auth (`token` or `basic`): with `auth: none` there is nothing to ask readers for".to_owned(),
            ));
        }
        crate::interval::check_statement_timeout(self.creator.default_timeout)
            .map_err(|e| ConfigError::Invalid(format!("creator.default_timeout: {e}")))?;
        if self.views.max_file_size == 0 {
            return Err(ConfigError::Invalid(
                "views.max_file_size must be a positive number of bytes".to_owned(),
            ));
        }
        Ok(())
    }

    /// Loads with the process environment.
    pub fn load_from_process(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load(explicit, &env)
    }
}

fn read_document(path: &Path) -> Result<Value, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    let value: Value = serde_yaml::from_str(&text)
        .map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string() })?;
    match value {
        Value::Null => Ok(Value::Mapping(Mapping::new())),
        Value::Mapping(_) => Ok(value),
        _ => Err(ConfigError::Parse {
            path: path.to_owned(),
            message: "the top level must be a mapping of sections".to_owned(),
        }),
    }
}

/// `DURO_VIEWS__PATH=/x` sets `views.path`. Values are strings; typed fields parse them.
fn apply_env_overrides(document: &mut Value, env: &[(String, String)]) -> Result<(), ConfigError> {
    for (key, value) in env {
        let Some(rest) = key.strip_prefix("DURO_") else {
            continue;
        };
        let Some((section, field)) = rest.split_once("__") else {
            continue;
        };
        if section.is_empty() || field.is_empty() || field.contains("__") {
            return Err(ConfigError::Invalid(format!(
                "`{key}` is not of the form DURO_SECTION__KEY"
            )));
        }
        let Value::Mapping(root) = document else { unreachable!("checked by read_document") };
        let section_value = root
            .entry(Value::String(section.to_lowercase()))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        let Value::Mapping(section_map) = section_value else {
            return Err(ConfigError::Invalid(format!(
                "`{}` is not a section, so `{key}` cannot set a key in it",
                section.to_lowercase()
            )));
        };
        section_map.insert(Value::String(field.to_lowercase()), Value::String(value.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn read_auth_needs_an_auth_mode() {
        let error = Config::load(None, &env(&[("DURO_SERVER__READ_AUTH", "true")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("server.read_auth needs server.auth"), "{error}");
        let config = Config::load(
            None,
            &env(&[("DURO_SERVER__READ_AUTH", "true"), ("DURO_SERVER__AUTH", "token")]),
        )
        .unwrap();
        assert!(config.server.read_auth);
        assert!(!Config::default().server.read_auth);
    }

    #[test]
    fn views_max_file_size_defaults_to_ten_megabytes() {
        assert_eq!(Config::default().views.max_file_size, 10 * 1024 * 1024);
        let config = Config::load(None, &env(&[("DURO_VIEWS__MAX_FILE_SIZE", "2048")])).unwrap();
        assert_eq!(config.views.max_file_size, 2048);
        assert!(Config::load(None, &env(&[("DURO_VIEWS__MAX_FILE_SIZE", "0")])).is_err());
    }

    #[test]
    fn server_settings_from_env_and_secrets_redacted() {
        let config = Config::load(
            None,
            &env(&[
                ("DURO_SERVER__BIND", "0.0.0.0:9000"),
                ("DURO_SERVER__AUTH", "basic"),
                ("DURO_SERVER__USERS", "alice:s3cret, bob:pa:ss"),
            ]),
        )
        .unwrap();
        assert_eq!(config.server.bind, "0.0.0.0:9000");
        assert_eq!(config.server.auth, AuthMode::Basic);
        assert_eq!(
            config.server.resolved_users().unwrap(),
            [("alice".to_owned(), "s3cret".to_owned()), ("bob".to_owned(), "pa:ss".to_owned())]
        );
        assert!(!format!("{config:?}").contains("s3cret"));
        assert_eq!(Config::default().server.bind, "127.0.0.1:8080");
        let bad = Config::load(None, &env(&[("DURO_SERVER__USERS", "alice")])).unwrap();
        let message = bad.server.resolved_users().unwrap_err().to_string();
        assert!(message.contains("user:password"), "{message}");
        assert!(!message.contains("alice"), "{message}");
    }

    #[test]
    fn defaults_without_any_file() {
        let config = Config::load(None, &[]).unwrap();
        assert_eq!(config.views.path, PathBuf::from("./views"));
        assert!(!config.views.use_git);
        assert_eq!(config.state.path, PathBuf::from("./duro.db"));
        assert_eq!(config.warehouse.dialect, Dialect::Redshift);
    }

    #[test]
    fn file_then_env_then_flags() {
        let file = write(
            "views:\n  path: /srv/views\n  use_git: true\nstate:\n  path: /srv/duro.db\nwarehouse:\n  dialect: postgres\n",
        );
        let config = Config::load(
            Some(file.path()),
            &env(&[("DURO_STATE__PATH", "/tmp/x.db"), ("DURO_LOG", "debug")]),
        )
        .unwrap();
        assert_eq!(config.views.path, PathBuf::from("/srv/views"));
        assert!(config.views.use_git);
        assert_eq!(config.state.path, PathBuf::from("/tmp/x.db"));
        assert_eq!(config.warehouse.dialect, Dialect::Postgres);
    }

    #[test]
    fn env_booleans_and_config_from_env() {
        let file = write("views:\n  path: here\n");
        let path = file.path().to_str().unwrap();
        let config =
            Config::load(None, &env(&[("DURO_CONFIG", path), ("DURO_VIEWS__USE_GIT", "yes")]))
                .unwrap();
        assert_eq!(config.views.path, PathBuf::from("here"));
        assert!(config.views.use_git);
    }

    #[test]
    fn errors_are_clear() {
        let cases = [
            ("views:\n  paht: x\n", vec![], "unknown field `paht`"),
            ("colour: blue\n", vec![], "unknown field `colour`"),
            ("views: [1\n", vec![], "config file"),
            ("- a\n", vec![], "must be a mapping"),
            ("warehouse:\n  dialect: oracle\n", vec![], "unknown variant `oracle`"),
            ("", vec![("DURO_VIEWS__USE_GIT", "maybe")], "not a boolean"),
            ("", vec![("DURO_VIEWS__PATH__X", "1")], "DURO_SECTION__KEY"),
        ];
        for (text, vars, expected) in cases {
            let file = write(text);
            let error = Config::load(Some(file.path()), &env(&vars)).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
        let missing =
            Config::load(Some(Path::new("/nonexistent/duro.yaml")), &[]).unwrap_err().to_string();
        assert!(missing.contains("cannot read config file `/nonexistent/duro.yaml`"), "{missing}");
    }

    #[test]
    fn creator_and_warehouse_settings() {
        let file = write(
            "creator:\n  interval: 10s\n  jobs: 4\nwarehouse:\n  dialect: redshift\n  connect_timeout: 5\n",
        );
        let config = Config::load(
            Some(file.path()),
            &env(&[("DURO_CREATOR__DEFAULT_TIMEOUT", "10m"), ("DURO_CREATOR__RETRIES", "0")]),
        )
        .unwrap();
        assert_eq!(
            (
                config.creator.interval,
                config.creator.jobs,
                config.creator.default_timeout,
                config.creator.retries
            ),
            (10, 4, 600, 0)
        );
        assert_eq!(config.warehouse.tls_mode(), TlsMode::Require);
        assert_eq!(config.warehouse.connect_timeout, Some(5));
        let defaults =
            Config::load(None, &env(&[("DURO_WAREHOUSE__DIALECT", "postgres")])).unwrap();
        assert_eq!(defaults.warehouse.tls_mode(), TlsMode::Prefer);
        assert_eq!(defaults.creator.interval, 30);
        let bad =
            Config::load(None, &env(&[("DURO_CREATOR__JOBS", "many")])).unwrap_err().to_string();
        assert!(bad.contains("`many` is not a whole number"), "{bad}");
    }

    #[test]
    fn password_from_a_file() {
        let file = write("s3cret\n");
        let config = WarehouseConfig {
            password_file: Some(file.path().to_owned()),
            ..WarehouseConfig::default()
        };
        assert_eq!(config.resolved_password().unwrap().as_deref(), Some("s3cret"));
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let vars = env(&[
            (
                "DURO_WAREHOUSE__URL",
                "postgres://duro:hunter2@db:5432/dw?sslmode=require&password=hunter3",
            ),
            ("DURO_WAREHOUSE__PASSWORD", "hunter4"),
            ("DURO_SLACK__TOKEN", "xoxb-hunter5"),
            ("DURO_S3__SECRET_ACCESS_KEY", "hunter6"),
        ]);
        let config = Config::load(None, &vars).unwrap();
        let shown = format!("{config:?}");
        for secret in ["hunter2", "hunter3", "hunter4", "hunter5", "hunter6"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("duro:<redacted>@db:5432"), "{shown}");
    }

    #[test]
    fn redacting_urls() {
        let cases = [
            ("postgres://u:p@h/db", "postgres://u:<redacted>@h/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgres://h", "postgres://h"),
            ("not a url", "not a url"),
        ];
        for (url, expected) in cases {
            assert_eq!(redact_url(url), expected);
        }
    }
}
