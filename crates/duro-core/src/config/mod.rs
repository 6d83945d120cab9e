//! `duro.yaml` (or the original Duro's `config.conf`, see `original`) plus `DURO_SECTION__KEY`
//! environment overrides → the validated, resolved [`Config`] every program starts from.
//!
//! Precedence, lowest first: defaults, the file, the environment, then command-line flags (applied
//! by the binaries). [`Config::load`] does everything that can fail once, at start: it reads the
//! secret files (`*_file`), takes the S3 keys from the standard AWS variables when the file has
//! none, and checks the rules that span keys. Secrets are [`Secret`]s, so `{:?}` of a config never
//! shows one.

mod lenient;
mod original;
mod secret;

pub use secret::{ConnectionUrl, Secret, redact_url, url_without_password};

use serde::Deserialize;
use serde_yaml::{Mapping, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file read when neither `--config` nor `DURO_CONFIG` names one. Missing is fine.
pub const DEFAULT_CONFIG_FILE: &str = "duro.yaml";

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file `{path}`: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("cannot read `{key}` (`{path}`): {source}")]
    SecretFile { key: String, path: PathBuf, source: std::io::Error },
    #[error("`{key}` (`{path}`): {message}")]
    RootCertificate { key: String, path: PathBuf, message: String },
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
    /// Source databases of replication nodes, by name (`DURO_CONNECTIONS__APP__URL`).
    pub connections: std::collections::BTreeMap<String, SourceConnection>,
    /// What reading the file found without effect (keys of the original's `config.conf` that
    /// mean nothing here), warned about at start with [`Config::unused_settings`].
    #[serde(skip)]
    pub file_warnings: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ViewsConfig {
    /// The views repository (a git checkout when `use_git`).
    pub path: PathBuf,
    /// Skip scheduling when the repository's HEAD commit was already processed.
    #[serde(deserialize_with = "lenient::boolean")]
    pub use_git: bool,
    /// Bytes a file of the repository may have; a larger file is an error, never read whole.
    #[serde(deserialize_with = "lenient::count")]
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
    /// Build records older than this are deleted (`90d`); summaries and counters stay.
    #[serde(deserialize_with = "lenient::duration")]
    pub keep_builds_for: Duration,
}

/// How long build records are kept by default.
pub const DEFAULT_KEEP_BUILDS_FOR: Duration = Duration::from_secs(90 * 86_400);

impl Default for StateConfig {
    fn default() -> Self {
        Self { path: PathBuf::from("./duro.db"), keep_builds_for: DEFAULT_KEEP_BUILDS_FOR }
    }
}

/// The SQL dialect of the warehouse.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(clap::ValueEnum)]
pub enum Dialect {
    #[default]
    Redshift,
    Postgres,
}

impl Dialect {
    /// The warehouse's name, for messages.
    pub fn product(self) -> &'static str {
        match self {
            Dialect::Redshift => "Redshift",
            Dialect::Postgres => "PostgreSQL",
        }
    }

    /// The longest identifier the warehouse keeps, in bytes. Both truncate longer names
    /// silently (Redshift to 127 bytes, PostgreSQL to 63), so Duro refuses them instead.
    pub fn max_identifier_bytes(self) -> usize {
        match self {
            Dialect::Redshift => crate::identifier::MAX_IDENTIFIER_BYTES,
            Dialect::Postgres => crate::identifier::POSTGRES_MAX_IDENTIFIER_BYTES,
        }
    }
}

/// Whether warehouse connections use TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Never (local PostgreSQL).
    Disable,
    /// When the server offers it.
    Prefer,
    /// Always; the server's certificate is verified against the Mozilla root certificates (or
    /// `warehouse.tls_root_cert`), and so is its name.
    Require,
    /// Always; the certificate is verified against the roots, its name is not (a tunnel or a
    /// proxy in front of the warehouse, reached under another name).
    #[serde(rename = "verify-ca")]
    VerifyCa,
}

/// Root certificates read from `warehouse.tls_root_cert` (DER), trusted instead of the Mozilla
/// roots.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RootCertificates(pub Vec<Vec<u8>>);

impl std::fmt::Debug for RootCertificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RootCertificates({} certificates)", self.0.len())
    }
}

impl RootCertificates {
    /// The certificates of a PEM file; an error when it holds none.
    pub fn read_pem(path: &std::path::Path) -> Result<Self, String> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
        let certificates: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&bytes)
            .map(|c| c.map(|c| c.as_ref().to_vec()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("not a PEM certificate file: {e}"))?;
        if certificates.is_empty() {
            return Err("holds no `BEGIN CERTIFICATE` block".to_owned());
        }
        Ok(Self(certificates))
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WarehouseConfig {
    pub dialect: Dialect,
    /// `postgres://user@host:port/database`; a password in it is accepted but better kept in
    /// `password` (env `DURO_WAREHOUSE__PASSWORD`) or `password_file`.
    pub url: Option<ConnectionUrl>,
    /// The password; after [`Config::load`], also the contents of `password_file`.
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    /// Default: `require` for Redshift, `prefer` for PostgreSQL.
    pub tls: Option<TlsMode>,
    /// A PEM file of root certificates to trust instead of the Mozilla roots (AWS's Redshift
    /// bundle, a company CA).
    pub tls_root_cert: Option<PathBuf>,
    /// After [`Config::load`], the certificates of `tls_root_cert`.
    #[serde(skip)]
    pub tls_roots: RootCertificates,
    /// How long to wait for a connection (default 10 s).
    #[serde(deserialize_with = "lenient::duration_option")]
    pub connect_timeout: Option<Duration>,
}

/// How long a warehouse connection may take when `warehouse.connect_timeout` is unset.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl WarehouseConfig {
    /// The TLS mode in force: the configured one, else the dialect's default.
    pub fn tls_mode(&self) -> TlsMode {
        self.tls.unwrap_or(match self.dialect {
            Dialect::Redshift => TlsMode::Require,
            Dialect::Postgres => TlsMode::Prefer,
        })
    }
}

/// A source database of replication nodes: PostgreSQL (`postgres://user@host:port/db`),
/// MySQL or MariaDB (`mysql://…`) or SQLite (`sqlite:///path/app.db`). The repository names it;
/// only the operator's configuration says where it is.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConnection {
    pub url: Option<ConnectionUrl>,
    /// After [`Config::load`], also the contents of `password_file`.
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    /// PostgreSQL and MySQL: as `warehouse.tls` (default `prefer`).
    pub tls: Option<TlsMode>,
    pub tls_root_cert: Option<PathBuf>,
    /// After [`Config::load`], the certificates of `tls_root_cert`.
    #[serde(skip)]
    pub tls_roots: RootCertificates,
}

/// The URL schemes a source connection may have.
pub const SOURCE_SCHEMES: [&str; 5] = ["postgres", "postgresql", "mysql", "mariadb", "sqlite"];

/// The creator daemon's settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CreatorConfig {
    /// Time between cycles (`30s`, `1m`, or a number of seconds).
    #[serde(deserialize_with = "lenient::duration")]
    pub interval: Duration,
    /// Tables built at once, each on its own connection.
    #[serde(deserialize_with = "lenient::count")]
    pub jobs: u64,
    /// How long one build may take unless its `.conf` sets `timeout`.
    #[serde(deserialize_with = "lenient::duration")]
    pub default_timeout: Duration,
    /// How many times a build is retried after a transient error (lost connection, 1023).
    #[serde(deserialize_with = "lenient::count")]
    pub retries: u64,
}

impl Default for CreatorConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30),
            jobs: 1,
            default_timeout: Duration::from_secs(3_600),
            retries: 2,
        }
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
    /// How long a script may run unless the table's `processor_timeout` says otherwise.
    #[serde(deserialize_with = "lenient::duration")]
    pub default_timeout: Duration,
    /// An OS user that runs the scripts and `pip` (the creator must be able to switch to it,
    /// usually by running as root); by default they run as the creator's own user.
    pub run_as: Option<String>,
    /// How a processor's input leaves the warehouse.
    pub export: ExportMethod,
}

/// How a processor's input (the result of its select) leaves the warehouse.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportMethod {
    /// A cursor fetched in batches: needs nothing but the connection. On Redshift the leader
    /// node materializes the whole result first, within the cluster's cursor size limit.
    #[default]
    Cursor,
    /// Redshift `UNLOAD` into the staging bucket, then downloaded: for large results. The
    /// cluster needs write access to the bucket.
    Unload,
}

impl Default for ProcessorsConfig {
    fn default() -> Self {
        Self {
            venv_dir: PathBuf::from("./venvs"),
            python: "python3".to_owned(),
            work_dir: None,
            default_timeout: Duration::from_secs(3_600),
            run_as: None,
            export: ExportMethod::Cursor,
        }
    }
}

/// S3 staging of processor output (required on Redshift, optional on PostgreSQL).
#[derive(Clone, Debug, Default, Deserialize)]
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
    #[serde(deserialize_with = "lenient::boolean")]
    pub path_style: bool,
    /// Keys; after [`Config::load`], the standard `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
    /// variables when unset here, and the contents of `secret_access_key_file`.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    pub secret_access_key_file: Option<PathBuf>,
    /// The session token of temporary keys; after [`Config::load`], `AWS_SESSION_TOKEN` when
    /// unset here, and the contents of `session_token_file`.
    pub session_token: Option<Secret>,
    pub session_token_file: Option<PathBuf>,
    /// Redshift `COPY` with this IAM role instead of the keys.
    pub iam_role: Option<String>,
    /// Keep the uploaded files after a successful load.
    #[serde(deserialize_with = "lenient::boolean")]
    pub keep_files: bool,
    /// The buckets S3 load nodes may read (a list, or `a,b` in the environment).
    #[serde(deserialize_with = "lenient::list")]
    pub load_buckets: Vec<String>,
    /// The local folders (`file://`) S3 load nodes may read, absolute.
    #[serde(deserialize_with = "lenient::list")]
    pub load_file_roots: Vec<PathBuf>,
}

impl S3Config {
    /// The stores S3 load nodes may read, as the checks see them.
    pub fn load_stores(&self) -> crate::catalog::s3_load::LoadStores {
        crate::catalog::s3_load::LoadStores {
            buckets: self.load_buckets.clone(),
            file_roots: self.load_file_roots.clone(),
            endpoint: self.endpoint.clone(),
        }
    }

    /// The access key and its secret, when both are known.
    pub fn keys(&self) -> Option<(&str, &Secret)> {
        self.access_key_id.as_deref().zip(self.secret_access_key.as_ref())
    }
}

/// Slack notifications. Off unless a bot token (env `DURO_SLACK__TOKEN` or `token_file`) or an
/// incoming webhook's URL (env `DURO_SLACK__WEBHOOK_URL` or `webhook_url_file`) is configured.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    /// Slack's Web API base URL (tests point it at a loopback listener).
    pub api_url: String,
    /// The bot token; after [`Config::load`], also the contents of `token_file`.
    pub token: Option<Secret>,
    pub token_file: Option<PathBuf>,
    /// An incoming webhook's URL, instead of a token (the original Duro's `[slack] url`); after
    /// [`Config::load`], also the contents of `webhook_url_file`.
    pub webhook_url: Option<Secret>,
    pub webhook_url_file: Option<PathBuf>,
    /// The channel of every message whose own channel is unset.
    pub channel: Option<String>,
    /// Channel for failures (builds and schedules).
    pub failure_channel: Option<String>,
    /// Channel for built tables and rescheduled views.
    pub success_channel: Option<String>,
    /// Channel for the periodic "I'm working" message with the period's figures.
    pub log_channel: Option<String>,
    /// The period of that message (`24h`).
    #[serde(deserialize_with = "lenient::duration")]
    pub log_every: Duration,
    /// How long before an identical failure is sent again (`1h`).
    #[serde(deserialize_with = "lenient::duration")]
    pub repeat_after: Duration,
    /// The web UI's address, to link table pages from messages.
    pub ui_url: Option<String>,
}

impl Default for SlackConfig {
    fn default() -> Self {
        Self {
            api_url: "https://slack.com/api".to_owned(),
            token: None,
            token_file: None,
            webhook_url: None,
            webhook_url_file: None,
            channel: None,
            failure_channel: None,
            success_channel: None,
            log_channel: None,
            log_every: Duration::from_secs(86_400),
            repeat_after: Duration::from_secs(3_600),
            ui_url: None,
        }
    }
}

/// What a Slack message is about, which decides its channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlackPurpose {
    Failure,
    Success,
    Log,
}

impl SlackConfig {
    /// Whether messages can be sent (a token or a webhook).
    pub fn is_on(&self) -> bool {
        self.token.is_some() || self.webhook_url.is_some()
    }

    /// The channel of a message: its own, else `channel`.
    pub fn channel_for(&self, purpose: SlackPurpose) -> Option<&str> {
        let own = match purpose {
            SlackPurpose::Failure => &self.failure_channel,
            SlackPurpose::Success => &self.success_channel,
            SlackPurpose::Log => &self.log_channel,
        };
        own.as_deref().or(self.channel.as_deref())
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
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// `host:port` to listen on.
    pub bind: String,
    /// A path prefix when served behind a reverse proxy, like `/duro`.
    pub base_path: String,
    pub auth: AuthMode,
    /// The write token (`auth: token`); better from env `DURO_SERVER__TOKEN` or `token_file`.
    pub token: Option<Secret>,
    pub token_file: Option<PathBuf>,
    /// `user:password` pairs separated by commas (`auth: basic`); better from env
    /// `DURO_SERVER__USERS` or `users_file` (one pair per line).
    pub users: Option<Secret>,
    pub users_file: Option<PathBuf>,
    /// Ask for the configured authentication on every page and API call too (not only writes),
    /// except `/healthz`. Needs an `auth` mode other than `none`.
    #[serde(deserialize_with = "lenient::boolean")]
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
    /// The basic-auth users as (user, password), from `users`.
    pub fn users(&self) -> Result<Vec<(String, Secret)>, ConfigError> {
        let mut users = Vec::new();
        for entry in self.users.iter().flat_map(|text| text.expose().split([',', '\n'])) {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            match entry.split_once(':') {
                Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                    users.push((user.to_owned(), Secret::from(password)))
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

impl Config {
    /// Loads the configuration: `explicit` (from `--config`), else `DURO_CONFIG`, else
    /// `./duro.yaml` when it exists, else defaults; then applies `DURO_*__*` overrides from `env`,
    /// resolves secrets (see the module's documentation) and checks the whole.
    pub fn load(explicit: Option<&Path>, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let (mut document, file_warnings) = file_document(explicit, env)?;
        apply_env_overrides(&mut document, env)?;
        let mut config = Config::deserialize(document)
            .map_err(|e| ConfigError::Invalid(without_string_values(&e.to_string())))?;
        config.file_warnings = file_warnings;
        config.resolve_secrets(env)?;
        config.validate()?;
        Ok(config)
    }

    /// The configuration file as a `duro.yaml` (the original's `config.conf` translated),
    /// without its secrets. It reads the file only: load the configuration first (as
    /// `duro-schedule --print-config` does) to have it checked.
    pub fn equivalent_yaml(
        explicit: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<String, ConfigError> {
        let (mut document, _) = file_document(explicit, env)?;
        let mut left_out: Vec<String> = Vec::new();
        if let Value::Mapping(sections) = &mut document {
            for (name, section) in sections.iter_mut() {
                let Value::Mapping(keys) = section else { continue };
                match name.as_str() {
                    // One more level: connections.<name>.password and .url.
                    Some("connections") => {
                        for (entry_name, entry) in keys.iter_mut() {
                            if let (Some(entry_name), Value::Mapping(entry)) =
                                (entry_name.as_str(), entry)
                            {
                                let path = format!("connections.{entry_name}");
                                left_out.extend(remove_secrets("connections", &path, entry));
                            }
                        }
                    }
                    Some(name) => left_out.extend(remove_secrets(name, name, keys)),
                    None => {}
                }
            }
        }
        let yaml = serde_yaml::to_string(&document)
            .map_err(|e| ConfigError::Invalid(format!("cannot write the configuration: {e}")))?;
        let mut text = "# The configuration file as duro.yaml; environment overrides (DURO_*) are not included.\n".to_owned();
        if !left_out.is_empty() {
            text.push_str(
                "# Secrets are left out: set each in the environment or in its `*_file`:\n",
            );
            for key in &left_out {
                let variable = format!("DURO_{}", key.to_uppercase().replace('.', "__"));
                text.push_str(&format!("#   {key} ({variable})\n"));
            }
        }
        text.push_str(&yaml);
        Ok(text)
    }

    /// Loads with the process environment.
    pub fn load_from_process(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load(explicit, &env)
    }

    /// Reads every secret file once and takes the S3 keys from the standard AWS variables when
    /// the configuration has none. A value given directly wins over its file.
    fn resolve_secrets(&mut self, env: &[(String, String)]) -> Result<(), ConfigError> {
        fn from_file(
            value: &mut Option<Secret>,
            file: &Option<PathBuf>,
            key: &str,
        ) -> Result<(), ConfigError> {
            if let (None, Some(path)) = (&value, file) {
                let secret = Secret::read_file(path).map_err(|source| ConfigError::SecretFile {
                    key: key.to_owned(),
                    path: path.clone(),
                    source,
                })?;
                *value = Some(secret);
            }
            Ok(())
        }
        fn roots_from_file(
            roots: &mut RootCertificates,
            file: &Option<PathBuf>,
            key: &str,
        ) -> Result<(), ConfigError> {
            if let Some(path) = file {
                *roots = RootCertificates::read_pem(path).map_err(|message| {
                    ConfigError::RootCertificate {
                        key: key.to_owned(),
                        path: path.clone(),
                        message,
                    }
                })?;
            }
            Ok(())
        }
        let warehouse = &mut self.warehouse;
        from_file(&mut warehouse.password, &warehouse.password_file, "warehouse.password_file")?;
        roots_from_file(
            &mut warehouse.tls_roots,
            &warehouse.tls_root_cert,
            "warehouse.tls_root_cert",
        )?;
        from_file(&mut self.slack.token, &self.slack.token_file, "slack.token_file")?;
        from_file(
            &mut self.slack.webhook_url,
            &self.slack.webhook_url_file,
            "slack.webhook_url_file",
        )?;
        from_file(&mut self.server.token, &self.server.token_file, "server.token_file")?;
        from_file(&mut self.server.users, &self.server.users_file, "server.users_file")?;
        for (name, connection) in &mut self.connections {
            let key = |field: &str| format!("connections.{name}.{field}");
            from_file(&mut connection.password, &connection.password_file, &key("password_file"))?;
            roots_from_file(
                &mut connection.tls_roots,
                &connection.tls_root_cert,
                &key("tls_root_cert"),
            )?;
        }
        let s3 = &mut self.s3;
        from_file(
            &mut s3.secret_access_key,
            &s3.secret_access_key_file,
            "s3.secret_access_key_file",
        )?;
        let from_env =
            |name: &str| env.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
        if s3.access_key_id.is_none() {
            s3.access_key_id = from_env("AWS_ACCESS_KEY_ID");
        }
        if s3.secret_access_key.is_none() {
            s3.secret_access_key = from_env("AWS_SECRET_ACCESS_KEY").map(Secret::from);
        }
        from_file(&mut s3.session_token, &s3.session_token_file, "s3.session_token_file")?;
        if s3.session_token.is_none() {
            s3.session_token = from_env("AWS_SESSION_TOKEN").map(Secret::from);
        }
        Ok(())
    }

    /// Rules that span keys.
    fn validate(&self) -> Result<(), ConfigError> {
        if self.server.read_auth && self.server.auth == AuthMode::None {
            return Err(ConfigError::Invalid(
                "server.read_auth needs server.auth (`token` or `basic`): with `auth: none` there is nothing to ask readers for".to_owned(),
            ));
        }
        crate::interval::check_statement_timeout(self.creator.default_timeout.as_secs())
            .map_err(|e| ConfigError::Invalid(format!("creator.default_timeout: {e}")))?;
        // The header's figures cover a day, and Slack's periodic message its own period.
        let shortest = self.slack.log_every.max(Duration::from_secs(86_400));
        if self.state.keep_builds_for < shortest {
            return Err(ConfigError::Invalid(format!(
                "state.keep_builds_for is {}s; keep build records at least {}s (a day, and no less than slack.log_every), like `90d`",
                self.state.keep_builds_for.as_secs(),
                shortest.as_secs()
            )));
        }
        if self.views.max_file_size == 0 {
            return Err(ConfigError::Invalid(
                "views.max_file_size must be a positive number of bytes".to_owned(),
            ));
        }
        self.server.users()?;
        for (name, connection) in &self.connections {
            if name != &name.to_lowercase() || crate::identifier::validate_identifier(name).is_err()
            {
                return Err(ConfigError::Invalid(format!(
                    "connections: `{name}` is not a connection name (lower case letters, digits and `_`)"
                )));
            }
            let Some(url) = &connection.url else {
                return Err(ConfigError::Invalid(format!(
                    "connections.{name}: `url` is missing (env DURO_CONNECTIONS__{}__URL)",
                    name.to_uppercase()
                )));
            };
            let scheme = url.expose().split_once("://").map(|(scheme, _)| scheme);
            if !scheme.is_some_and(|scheme| SOURCE_SCHEMES.contains(&scheme)) {
                return Err(ConfigError::Invalid(format!(
                    "connections.{name}.url: `{}` is not a source URL ({}://…)",
                    redact_url(url.expose()),
                    SOURCE_SCHEMES.join("://…, ")
                )));
            }
        }
        if self.slack.token.is_some() && self.slack.webhook_url.is_some() {
            return Err(ConfigError::Invalid(
                "slack.token and slack.webhook_url are both set: keep one (a bot token or an incoming webhook)".to_owned(),
            ));
        }
        if self.slack.log_every.is_zero() {
            return Err(ConfigError::Invalid(
                "slack.log_every must be a positive duration like `24h`; leave slack.log_channel and slack.channel unset for no periodic message".to_owned(),
            ));
        }
        if let Some(root) = self.s3.load_file_roots.iter().find(|root| !root.is_absolute()) {
            return Err(ConfigError::Invalid(format!(
                "s3.load_file_roots: `{}` is not an absolute folder",
                root.display()
            )));
        }
        if self.processors.export == ExportMethod::Unload
            && self.warehouse.dialect != Dialect::Redshift
        {
            return Err(ConfigError::Invalid(
                "processors.export: unload needs a Redshift warehouse (UNLOAD is Redshift's); use `cursor`".to_owned(),
            ));
        }
        Ok(())
    }

    /// Settings given but without effect, for a warning at start (they are not errors: a
    /// program may not need them).
    pub fn unused_settings(&self) -> Vec<String> {
        let mut unused = self.file_warnings.clone();
        let s3 = &self.s3;
        // S3 is in use for staging (`s3.bucket`) or for S3 load nodes (`s3.load_buckets`).
        if s3.bucket.is_none() && s3.load_buckets.is_empty() {
            let set: Vec<&str> = [
                ("s3.region", s3.region.is_some()),
                ("s3.endpoint", s3.endpoint.is_some()),
                ("s3.iam_role", s3.iam_role.is_some()),
                ("s3.prefix", !s3.prefix.is_empty()),
            ]
            .into_iter()
            .filter_map(|(key, set)| set.then_some(key))
            .collect();
            if !set.is_empty() {
                unused.push(format!(
                    "{} set but S3 is off without s3.bucket or s3.load_buckets",
                    set.join(", ")
                ));
            }
        }
        let slack = &self.slack;
        let channels =
            [&slack.channel, &slack.failure_channel, &slack.success_channel, &slack.log_channel];
        if !slack.is_on() && channels.iter().any(|channel| channel.is_some()) {
            unused.push(
                "Slack channels set but Slack is off without slack.token or slack.webhook_url"
                    .to_owned(),
            );
        }
        if self.warehouse.tls_root_cert.is_some() && self.warehouse.tls_mode() == TlsMode::Disable {
            unused.push("warehouse.tls_root_cert set but warehouse.tls is `disable`".to_owned());
        }
        if self.server.auth != AuthMode::Token && self.server.token.is_some() {
            unused.push("server.token set but server.auth is not `token`".to_owned());
        }
        if self.server.auth != AuthMode::Basic && self.server.users.is_some() {
            unused.push("server.users set but server.auth is not `basic`".to_owned());
        }
        unused
    }
}

/// The configuration file's document, before environment overrides: `explicit` (from
/// `--config`), else `DURO_CONFIG`, else `./duro.yaml` when it exists, else an empty one; with
/// the warnings of its translation when it is the original's `config.conf`.
fn file_document(
    explicit: Option<&Path>,
    env: &[(String, String)],
) -> Result<(Value, Vec<String>), ConfigError> {
    let from_env = env.iter().find(|(k, _)| k == "DURO_CONFIG").map(|(_, v)| PathBuf::from(v));
    match explicit.map(Path::to_path_buf).or(from_env) {
        Some(path) => read_document(&path),
        None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
            read_document(Path::new(DEFAULT_CONFIG_FILE))
        }
        None => Ok((Value::Mapping(Mapping::new()), Vec::new())),
    }
}

fn read_document(path: &Path) -> Result<(Value, Vec<String>), ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    if original::is_ini(path, &text) {
        let translated = original::translate(path, &text)?;
        return Ok((translated.document, translated.warnings));
    }
    let value: Value = serde_yaml::from_str(&text)
        .map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string() })?;
    match value {
        Value::Null => Ok((Value::Mapping(Mapping::new()), Vec::new())),
        Value::Mapping(_) => Ok((value, Vec::new())),
        _ => Err(ConfigError::Parse {
            path: path.to_owned(),
            message: "the top level must be a mapping of sections".to_owned(),
        }),
    }
}

/// The keys that hold secrets, left out by [`Config::equivalent_yaml`] (a password in a URL is
/// taken out of the URL).
const SECRET_KEYS: &[(&str, &str)] = &[
    ("warehouse", "password"),
    ("slack", "token"),
    ("slack", "webhook_url"),
    ("s3", "secret_access_key"),
    ("s3", "session_token"),
    ("server", "token"),
    ("server", "users"),
    ("connections", "password"),
];

/// Removes the secrets among `keys` (of `section`, at `path`) and the passwords in URLs;
/// returns the keys left out, as `path.key`.
fn remove_secrets(section: &str, path: &str, keys: &mut Mapping) -> Vec<String> {
    let mut left_out = Vec::new();
    keys.retain(|key, value| {
        let Some(key) = key.as_str() else { return true };
        if SECRET_KEYS.contains(&(section, key)) {
            left_out.push(format!("{path}.{key}"));
            return false;
        }
        if key == "url"
            && let Some(url) = value.as_str()
        {
            let without = url_without_password(url);
            if without != url {
                left_out.push(format!("{path}.password"));
                *value = Value::String(without);
            }
        }
        true
    });
    left_out
}

/// A deserialization error without the text values it quotes (`invalid type: string "…"`),
/// which may be secrets put in the wrong place.
fn without_string_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("string \"") {
        out.push_str(&rest[..at + "string".len()]);
        let value = &rest[at + "string \"".len()..];
        // The closing quote is the first one not escaped.
        let mut end = None;
        let mut escaped = false;
        for (index, c) in value.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(index);
                    break;
                }
                _ => escaped = false,
            }
        }
        rest = end.map_or("", |end| &value[end + 1..]);
    }
    out.push_str(rest);
    out
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
        // Named entries (`connections`) take one more level: DURO_CONNECTIONS__NAME__KEY.
        let (field, entry) = match field.split_once("__") {
            Some((name, key)) if section.eq_ignore_ascii_case("connections") => (key, Some(name)),
            _ => (field, None),
        };
        let needs_entry = section.eq_ignore_ascii_case("connections") && entry.is_none();
        if section.is_empty()
            || field.is_empty()
            || field.contains("__")
            || entry == Some("")
            || needs_entry
        {
            return Err(ConfigError::Invalid(format!(
                "`{key}` is not of the form DURO_SECTION__KEY (DURO_CONNECTIONS__NAME__KEY for a connection)"
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
        let target = match entry {
            None => section_map,
            Some(entry) => {
                let entry_value = section_map
                    .entry(Value::String(entry.to_lowercase()))
                    .or_insert_with(|| Value::Mapping(Mapping::new()));
                let Value::Mapping(entry_map) = entry_value else {
                    return Err(ConfigError::Invalid(format!(
                        "`connections.{}` is not a mapping, so `{key}` cannot set a key in it",
                        entry.to_lowercase()
                    )));
                };
                entry_map
            }
        };
        target.insert(Value::String(field.to_lowercase()), Value::String(value.clone()));
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

    /// The stores S3 load nodes may read: lists in the file, `a,b` in the environment; a
    /// relative folder is refused; they count as using S3 (no "S3 is off" warning).
    #[test]
    fn load_stores_as_lists() {
        let file = write("s3:\n  load_buckets: [analytics, logs]\n  region: eu-west-1\n");
        let config = Config::load(Some(file.path()), &[]).unwrap();
        assert_eq!(config.s3.load_buckets, ["analytics", "logs"]);
        assert!(config.unused_settings().is_empty(), "{:?}", config.unused_settings());
        let config =
            Config::load(None, &env(&[("DURO_S3__LOAD_FILE_ROOTS", "/data/a, /data/b")])).unwrap();
        assert_eq!(config.s3.load_file_roots, [PathBuf::from("/data/a"), PathBuf::from("/data/b")]);
        let error = Config::load(None, &env(&[("DURO_S3__LOAD_FILE_ROOTS", "data")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("s3.load_file_roots: `data` is not an absolute folder"), "{error}");
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
            config.server.users().unwrap(),
            [
                ("alice".to_owned(), Secret::from("s3cret")),
                ("bob".to_owned(), Secret::from("pa:ss"))
            ]
        );
        assert!(!format!("{config:?}").contains("s3cret"));
        assert_eq!(Config::default().server.bind, "127.0.0.1:8080");
        // A malformed list fails at start, not at the first login.
        let message =
            Config::load(None, &env(&[("DURO_SERVER__USERS", "alice")])).unwrap_err().to_string();
        assert!(message.contains("user:password"), "{message}");
        assert!(!message.contains("alice"), "{message}");
    }

    #[test]
    fn defaults_without_any_file() {
        let config = Config::load(None, &[]).unwrap();
        assert_eq!(config.views.path, PathBuf::from("./views"));
        assert!(!config.views.use_git);
        assert_eq!(config.state.path, PathBuf::from("./duro.db"));
        assert_eq!(config.state.keep_builds_for, Duration::from_secs(90 * 86_400));
        assert_eq!(config.warehouse.dialect, Dialect::Redshift);
    }

    #[test]
    fn file_then_env_then_flags() {
        let file = write(
            "views:\n  path: /srv/views\n  use_git: true\nstate:\n  path: /srv/duro.db\nwarehouse:\n  dialect: postgres\n",
        );
        let config = Config::load(
            Some(file.path()),
            &env(&[
                ("DURO_STATE__PATH", "/tmp/x.db"),
                ("DURO_STATE__KEEP_BUILDS_FOR", "30d"),
                ("DURO_LOG", "debug"),
            ]),
        )
        .unwrap();
        assert_eq!(config.views.path, PathBuf::from("/srv/views"));
        assert!(config.views.use_git);
        assert_eq!(config.state.path, PathBuf::from("/tmp/x.db"));
        assert_eq!(config.state.keep_builds_for, Duration::from_secs(30 * 86_400));
        // A bare number is seconds: 90 would delete almost everything every cycle.
        let error = Config::load(None, &env(&[("DURO_STATE__KEEP_BUILDS_FOR", "90")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("state.keep_builds_for is 90s; keep build records at least 86400s"),
            "{error}"
        );
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
            (
                "warehouse:\n  dialect: postgres\nprocessors:\n  export: unload\n",
                vec![],
                "processors.export: unload needs a Redshift warehouse",
            ),
            ("processors:\n  export: copy\n", vec![], "unknown variant `copy`"),
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

    /// `verify-ca` with a root certificate file: read at load; a file without a certificate or
    /// that cannot be read is a start-up error naming it.
    #[test]
    fn tls_root_certificates() {
        // PEM blocks are only decoded here, not parsed as X.509: any bytes will do.
        const PEM: &str =
            "-----BEGIN CERTIFICATE-----\nZHVybyB0ZXN0IHJvb3Q=\n-----END CERTIFICATE-----\n";
        let dir = tempfile::tempdir().unwrap();
        let roots = dir.path().join("roots.pem");
        std::fs::write(&roots, format!("{PEM}{PEM}")).unwrap();
        let config = Config::load(
            None,
            &env(&[
                ("DURO_WAREHOUSE__TLS", "verify-ca"),
                ("DURO_WAREHOUSE__TLS_ROOT_CERT", roots.to_str().unwrap()),
            ]),
        )
        .unwrap();
        assert_eq!(config.warehouse.tls_mode(), TlsMode::VerifyCa);
        assert_eq!(config.warehouse.tls_roots.0.len(), 2);
        assert!(config.unused_settings().is_empty(), "{:?}", config.unused_settings());
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        for (path, expected) in [
            (empty.to_str().unwrap(), "holds no `BEGIN CERTIFICATE` block"),
            ("/nonexistent/roots.pem", "cannot read it"),
        ] {
            let error = Config::load(None, &env(&[("DURO_WAREHOUSE__TLS_ROOT_CERT", path)]))
                .unwrap_err()
                .to_string();
            assert!(
                error.starts_with(&format!("`warehouse.tls_root_cert` (`{path}`): {expected}")),
                "{error}"
            );
        }
        let disabled = Config::load(
            None,
            &env(&[
                ("DURO_WAREHOUSE__TLS", "disable"),
                ("DURO_WAREHOUSE__TLS_ROOT_CERT", roots.to_str().unwrap()),
            ]),
        )
        .unwrap();
        assert_eq!(
            disabled.unused_settings(),
            ["warehouse.tls_root_cert set but warehouse.tls is `disable`"]
        );
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
            (Duration::from_secs(10), 4, Duration::from_secs(600), 0)
        );
        assert_eq!(config.warehouse.tls_mode(), TlsMode::Require);
        assert_eq!(config.warehouse.connect_timeout, Some(Duration::from_secs(5)));
        let defaults =
            Config::load(None, &env(&[("DURO_WAREHOUSE__DIALECT", "postgres")])).unwrap();
        assert_eq!(defaults.warehouse.tls_mode(), TlsMode::Prefer);
        assert_eq!(defaults.creator.interval, Duration::from_secs(30));
        let bad =
            Config::load(None, &env(&[("DURO_CREATOR__JOBS", "many")])).unwrap_err().to_string();
        assert!(bad.contains("`many` is not a whole number"), "{bad}");
    }

    #[test]
    fn secret_files_are_read_once_at_load() {
        let password = write("s3cret\n");
        let token = write("xoxb-1\n");
        let path = |file: &tempfile::NamedTempFile| file.path().to_str().unwrap().to_owned();
        let config = Config::load(
            None,
            &env(&[
                ("DURO_WAREHOUSE__PASSWORD_FILE", &path(&password)),
                ("DURO_SLACK__TOKEN_FILE", &path(&token)),
            ]),
        )
        .unwrap();
        // Read at load: removing the files afterwards changes nothing.
        drop((password, token));
        assert_eq!(config.warehouse.password.as_ref().map(Secret::expose), Some("s3cret"));
        assert_eq!(config.slack.token.as_ref().map(Secret::expose), Some("xoxb-1"));
        // A value given directly wins over its file.
        let file = write("from-file");
        let config = Config::load(
            None,
            &env(&[
                ("DURO_SERVER__TOKEN", "direct"),
                ("DURO_SERVER__TOKEN_FILE", file.path().to_str().unwrap()),
            ]),
        )
        .unwrap();
        assert_eq!(config.server.token.as_ref().map(Secret::expose), Some("direct"));
        let missing =
            Config::load(None, &env(&[("DURO_S3__SECRET_ACCESS_KEY_FILE", "/nonexistent/key")]))
                .unwrap_err()
                .to_string();
        assert!(missing.contains("`s3.secret_access_key_file` (`/nonexistent/key`)"), "{missing}");
    }

    #[test]
    fn s3_keys_fall_back_to_the_aws_variables() {
        let aws = [("AWS_ACCESS_KEY_ID", "AKIA1"), ("AWS_SECRET_ACCESS_KEY", "aws-secret")];
        let config = Config::load(None, &env(&aws)).unwrap();
        assert_eq!(
            config.s3.keys().map(|(id, key)| (id, key.expose())),
            Some(("AKIA1", "aws-secret"))
        );
        let mut both = aws.to_vec();
        both.extend([
            ("DURO_S3__ACCESS_KEY_ID", "mine"),
            ("DURO_S3__SECRET_ACCESS_KEY", "my-secret"),
        ]);
        let config = Config::load(None, &env(&both)).unwrap();
        assert_eq!(
            config.s3.keys().map(|(id, key)| (id, key.expose())),
            Some(("mine", "my-secret"))
        );
        assert!(Config::load(None, &[]).unwrap().s3.keys().is_none());
    }

    #[test]
    fn settings_without_effect_are_named() {
        let config = Config::load(
            None,
            &env(&[
                ("DURO_S3__REGION", "eu-west-1"),
                ("DURO_SLACK__FAILURE_CHANNEL", "#alerts"),
                ("DURO_SERVER__TOKEN", "t"),
            ]),
        )
        .unwrap();
        assert_eq!(
            config.unused_settings(),
            [
                "s3.region set but S3 is off without s3.bucket or s3.load_buckets",
                "Slack channels set but Slack is off without slack.token or slack.webhook_url",
                "server.token set but server.auth is not `token`",
            ]
        );
        assert!(Config::default().unused_settings().is_empty());
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

    /// The original's `config.conf`, found by its extension or its content, with the
    /// environment on top (how the tests point it at a local PostgreSQL).
    #[test]
    fn the_original_config_conf_loads_with_the_environment_on_top() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("config.conf");
        std::fs::write(&conf, original::TEMPLATE).unwrap();
        let config = Config::load(Some(&conf), &[]).unwrap();
        assert_eq!(config.warehouse.dialect, Dialect::Redshift);
        assert_eq!(config.warehouse.tls_mode(), TlsMode::Require);
        assert_eq!(
            config.warehouse.url.as_ref().map(ConnectionUrl::expose),
            Some("postgres://duro@cluster.abc123.eu-west-1.redshift.amazonaws.com:5439/analytics")
        );
        assert_eq!(config.warehouse.password.as_ref().map(Secret::expose), Some("pa%ss:word"));
        assert_eq!((config.views.path.to_str(), config.views.use_git), (Some("./views"), true));
        assert_eq!(config.state.path, PathBuf::from("./duro.db"));
        assert_eq!(
            config.s3.keys().map(|(id, key)| (id, key.expose())),
            Some(("AKIAEXAMPLE", "secret/key"))
        );
        assert_eq!(
            (config.s3.bucket.as_deref(), config.s3.prefix.as_str()),
            (Some("duro-staging"), "csv/")
        );
        assert_eq!(
            config.slack.webhook_url.as_ref().map(Secret::expose),
            Some("https://hooks.slack.com/services/T0/B0/XYZ")
        );
        assert_eq!(config.slack.channel_for(SlackPurpose::Failure), Some("#alerts"));
        assert_eq!(config.slack.channel_for(SlackPurpose::Success), Some("#duro"));
        assert_eq!(config.slack.channel_for(SlackPurpose::Log), Some("#duro"));
        let unused = config.unused_settings();
        assert_eq!(unused.len(), 2, "{unused:?}");
        assert!(unused[0].contains("`[main] logs` ignored"), "{unused:?}");

        // Any name: the content decides; the environment overrides the file.
        let renamed = dir.path().join("settings");
        std::fs::write(&renamed, original::TEMPLATE).unwrap();
        let local = Config::load(
            Some(&renamed),
            &env(&[("DURO_WAREHOUSE__DIALECT", "postgres"), ("DURO_WAREHOUSE__TLS", "disable")]),
        )
        .unwrap();
        assert_eq!(local.warehouse.dialect, Dialect::Postgres);
        assert_eq!(local.warehouse.tls_mode(), TlsMode::Disable);
    }

    /// `--print-config`: the file as duro.yaml, secrets redacted; loading it again gives the
    /// same configuration (but the secrets, which stay out of it).
    #[test]
    fn the_equivalent_yaml_redacts_secrets_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("config.conf");
        std::fs::write(
            &conf,
            original::TEMPLATE.replace("user = duro", "user = duro\npassword_x = 1"),
        )
        .unwrap();
        let yaml = Config::equivalent_yaml(Some(&conf), &[]).unwrap();
        for secret in ["pa%ss", "secret/key", "XYZ"] {
            assert!(!yaml.contains(secret), "{yaml}");
        }
        assert!(yaml.starts_with("# The configuration file as duro.yaml"), "{yaml}");
        for left_out in [
            "#   warehouse.password (DURO_WAREHOUSE__PASSWORD)\n",
            "#   s3.secret_access_key (DURO_S3__SECRET_ACCESS_KEY)\n",
            "#   slack.webhook_url (DURO_SLACK__WEBHOOK_URL)\n",
        ] {
            assert!(yaml.contains(left_out), "{yaml}");
        }
        // Loaded back with the secrets from the environment, it is the same configuration.
        let printed = dir.path().join("duro.yaml");
        std::fs::write(&printed, &yaml).unwrap();
        let secrets = env(&[
            ("DURO_WAREHOUSE__PASSWORD", "pa%ss:word"),
            ("DURO_S3__SECRET_ACCESS_KEY", "secret/key"),
            ("DURO_SLACK__WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/XYZ"),
        ]);
        let (from_conf, from_yaml) = (
            Config::load(Some(&conf), &[]).unwrap(),
            Config::load(Some(&printed), &secrets).unwrap(),
        );
        assert_eq!(from_yaml.warehouse.password, from_conf.warehouse.password);
        assert_eq!(from_yaml.slack.webhook_url, from_conf.slack.webhook_url);
        let shown =
            |config: Config| format!("{:?}", Config { file_warnings: Vec::new(), ..config });
        assert_eq!(shown(from_conf), shown(from_yaml));
        // A password inside a URL is taken out of it.
        let url = write("warehouse:\n  url: postgres://duro:hunter2@db/dw\n");
        let yaml = Config::equivalent_yaml(Some(url.path()), &[]).unwrap();
        assert!(
            yaml.contains("url: postgres://duro@db/dw\n") && !yaml.contains("hunter2"),
            "{yaml}"
        );
        // Every key redacted is a secret of the configuration: `Debug` hides it too.
        for (section, key) in SECRET_KEYS {
            let entry = if *section == "connections" { "APP__" } else { "" };
            let name = format!("DURO_{}__{entry}{}", section.to_uppercase(), key.to_uppercase());
            let value = if *key == "users" { "u:sentinel-value" } else { "sentinel-value" };
            let mut vars = env(&[(&name, value)]);
            if *section == "connections" {
                vars.extend(env(&[("DURO_CONNECTIONS__APP__URL", "postgres://u@h/db")]));
            }
            if *section == "server" {
                vars.extend(env(&[(
                    "DURO_SERVER__AUTH",
                    if *key == "users" { "basic" } else { "token" },
                )]));
            }
            let config = Config::load(None, &vars).unwrap();
            assert!(!format!("{config:?}").contains("sentinel-value"), "{section}.{key}");
        }
    }

    #[test]
    fn slack_token_or_webhook_not_both() {
        let error = Config::load(
            None,
            &env(&[("DURO_SLACK__TOKEN", "xoxb-1"), ("DURO_SLACK__WEBHOOK_URL", "https://h/x")]),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("slack.token and slack.webhook_url are both set"), "{error}");
        let file = write("https://hooks.example/T/B/C\n");
        let config = Config::load(
            None,
            &env(&[("DURO_SLACK__WEBHOOK_URL_FILE", file.path().to_str().unwrap())]),
        )
        .unwrap();
        assert_eq!(
            config.slack.webhook_url.as_ref().map(Secret::expose),
            Some("https://hooks.example/T/B/C")
        );
        assert!(config.slack.is_on());
        assert_eq!(config.slack.log_every, Duration::from_secs(86_400));
        assert!(Config::load(None, &env(&[("DURO_SLACK__LOG_EVERY", "0")])).is_err());
    }

    /// Source connections: from the file and from three-level variables, checked at load, and
    /// their secrets never shown.
    #[test]
    fn source_connections() {
        let file = write(
            "connections:\n  app:\n    url: postgres://reader@app-db:5432/app\n    password: hunter7\n  shop:\n    url: mysql://reader@shop-db/shop\n",
        );
        let config = Config::load(
            Some(file.path()),
            &env(&[
                ("DURO_CONNECTIONS__SHOP__PASSWORD", "hunter8"),
                ("DURO_CONNECTIONS__LOCAL__URL", "sqlite:///srv/app.db"),
            ]),
        )
        .unwrap();
        let names: Vec<&str> = config.connections.keys().map(String::as_str).collect();
        assert_eq!(names, ["app", "local", "shop"]);
        let shop = &config.connections["shop"];
        assert_eq!(shop.password.as_ref().map(Secret::expose), Some("hunter8"));
        assert_eq!(
            shop.url.as_ref().map(ConnectionUrl::expose),
            Some("mysql://reader@shop-db/shop")
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter7") && !shown.contains("hunter8"), "{shown}");
        let yaml = Config::equivalent_yaml(Some(file.path()), &[]).unwrap();
        assert!(
            yaml.contains("#   connections.app.password (DURO_CONNECTIONS__APP__PASSWORD)"),
            "{yaml}"
        );
        assert!(!yaml.contains("hunter7"), "{yaml}");
        let cases = [
            ("connections:\n  App:\n    url: postgres://h/db\n", "`App` is not a connection name"),
            (
                "connections:\n  app:\n    password: x\n",
                "connections.app: `url` is missing (env DURO_CONNECTIONS__APP__URL)",
            ),
            (
                "connections:\n  app:\n    url: oracle://u:pw@h/db\n",
                "`oracle://u:<redacted>@h/db` is not a source URL",
            ),
            (
                "connections:\n  app:\n    url: postgres://h/db\n    colour: blue\n",
                "unknown field `colour`",
            ),
        ];
        for (text, expected) in cases {
            let file = write(text);
            let error = Config::load(Some(file.path()), &[]).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
        for variable in ["DURO_CONNECTIONS____URL", "DURO_CONNECTIONS__PASSWORD"] {
            let error = Config::load(None, &env(&[(variable, "hunter9")])).unwrap_err().to_string();
            assert!(error.contains("DURO_CONNECTIONS__NAME__KEY"), "{error}");
            assert!(!error.contains("hunter9"), "{error}");
        }
        // A URL given where a connection's settings belong is not repeated in the error.
        let file = write("connections:\n  app: postgres://u:hunter9@h/db\n");
        let error = Config::load(Some(file.path()), &[]).unwrap_err().to_string();
        assert!(error.contains("invalid type: string,") && !error.contains("hunter9"), "{error}");
    }

    #[test]
    fn quoted_strings_are_left_out_of_errors() {
        assert_eq!(
            without_string_values(
                r#"a: invalid type: string "s3cr\"et", expected struct X at line 2"#
            ),
            "a: invalid type: string, expected struct X at line 2"
        );
        assert_eq!(without_string_values("nothing quoted"), "nothing quoted");
    }
}
