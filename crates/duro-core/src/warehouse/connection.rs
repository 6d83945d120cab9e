//! Connecting to the warehouse (TLS through rustls, verified against the Mozilla roots) and
//! classifying its errors into the failure classes a build records.

use crate::build::FailureClass;
use crate::config::{DEFAULT_CONNECT_TIMEOUT, TlsMode, WarehouseConfig};
use postgres::config::SslMode;
use postgres::error::SqlState;
use postgres::{Client, NoTls};
use std::sync::Arc;

/// A warehouse error, classified. `transient` errors are worth retrying.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct WarehouseError {
    pub class: FailureClass,
    pub transient: bool,
    pub message: String,
}

impl WarehouseError {
    pub fn new(class: FailureClass, message: impl Into<String>) -> Self {
        Self { class, transient: false, message: message.into() }
    }

    /// Classifies a driver error. `cancelled` says whether Duro itself cancelled the statement
    /// (shutdown), which the server reports exactly like a statement timeout.
    pub fn from_postgres(error: &postgres::Error, cancelled: bool) -> Self {
        let Some(db) = error.as_db_error() else {
            let class = FailureClass::Connection;
            return Self {
                class,
                transient: true,
                message: format!("lost the connection to the warehouse: {error}"),
            };
        };
        let code = db.code();
        let message = match (db.detail(), db.hint()) {
            (Some(detail), _) => format!("{} ({detail})", db.message()),
            (None, Some(hint)) => format!("{} (hint: {hint})", db.message()),
            (None, None) => db.message().to_owned(),
        };
        if *code == SqlState::QUERY_CANCELED {
            return if cancelled {
                Self::new(FailureClass::Cancelled, "cancelled because Duro is shutting down")
            } else {
                Self::new(
                    FailureClass::Timeout,
                    format!("took longer than the table's timeout: {message}"),
                )
            };
        }
        let connection_lost = code.code().starts_with("08")
            || [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW]
                .contains(code);
        if connection_lost {
            return Self { class: FailureClass::Connection, transient: true, message };
        }
        // Redshift: "1023 Serializable isolation violation on table …" is worth a retry.
        let serializable = *code == SqlState::T_R_SERIALIZATION_FAILURE
            || (message.contains("1023")
                && message.to_lowercase().contains("serializable isolation"));
        Self { class: FailureClass::SqlError, transient: serializable, message }
    }
}

/// Opens a connection as configured. The password comes from the config (env or file), never
/// from the views repository, and never appears in an error message.
pub fn connect(config: &WarehouseConfig) -> Result<Client, WarehouseError> {
    connect_named(config, "duro")
}

/// Opens a connection whose `application_name` is `name` (a creator's, see `sessions`).
pub fn connect_named(config: &WarehouseConfig, name: &str) -> Result<Client, WarehouseError> {
    let connection_error = |message: String| WarehouseError {
        class: FailureClass::Connection,
        transient: true,
        message,
    };
    let Some(url) = &config.url else {
        return Err(WarehouseError::new(
            FailureClass::Connection,
            "no warehouse configured: set `warehouse.url` in duro.yaml or DURO_WAREHOUSE__URL",
        ));
    };
    let mut pg_config: postgres::Config = url.expose().parse().map_err(|e| {
        WarehouseError::new(
            FailureClass::Connection,
            format!("`warehouse.url` is not a valid PostgreSQL URL: {e}"),
        )
    })?;
    if let Some(password) = &config.password {
        pg_config.password(password.expose());
    }
    pg_config.application_name(name);
    pg_config.connect_timeout(config.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT));
    // Named from the parsed settings, never from the raw text (which may hold a password).
    let hosts: Vec<String> = pg_config
        .get_hosts()
        .iter()
        .map(|host| match host {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = pg_config.get_ports().iter().map(u16::to_string).collect();
    let target = format!(
        "{}@{}:{}/{}",
        pg_config.get_user().unwrap_or(""),
        hosts.join(","),
        ports.join(","),
        pg_config.get_dbname().unwrap_or("")
    );
    let mode = config.tls_mode();
    let result = match mode {
        TlsMode::Disable => {
            pg_config.ssl_mode(SslMode::Disable);
            pg_config.connect(NoTls)
        }
        TlsMode::Prefer | TlsMode::Require => {
            pg_config.ssl_mode(if mode == TlsMode::Require {
                SslMode::Require
            } else {
                SslMode::Prefer
            });
            pg_config.connect(tls_connector())
        }
    };
    let mut client = result.map_err(|e| match e.as_db_error() {
        // The server's reason (a wrong password, an unknown database) is kept; it never holds
        // the password. Such errors do not go away by retrying.
        Some(db) => WarehouseError::new(
            FailureClass::Connection,
            format!("cannot connect to {target}: {}", db.message()),
        ),
        None => connection_error(format!("cannot connect to {target}: {e}")),
    })?;
    if config.dialect == crate::config::Dialect::Redshift {
        super::statement::prepare_type_lookup(&mut client);
    }
    Ok(client)
}

/// Cancels the statement running on the connection `token` belongs to (used at shutdown).
pub fn cancel(token: &postgres::CancelToken, config: &WarehouseConfig) {
    let result = match config.tls_mode() {
        TlsMode::Disable => token.cancel_query(NoTls),
        TlsMode::Prefer | TlsMode::Require => token.cancel_query(tls_connector()),
    };
    if let Err(error) = result {
        tracing::warn!("could not cancel a running statement: {error}");
    }
}

fn tls_connector() -> tokio_postgres_rustls::MakeRustlsConnect {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn missing_url_is_a_clear_error() {
        let error = connect(&WarehouseConfig::default()).err().unwrap();
        assert_eq!(error.class, FailureClass::Connection);
        assert!(error.message.contains("DURO_WAREHOUSE__URL"), "{}", error.message);
    }

    /// Both URL forms: an unreachable server is a transient connection error that names the
    /// target from the parsed settings and never shows the password.
    #[test]
    fn unreachable_server_errors_never_show_the_password() {
        let urls = [
            "postgres://duro:hunter2@127.0.0.1:1/dw",
            "host=127.0.0.1 port=1 user=duro password=hunter2 dbname=dw",
        ];
        for url in urls {
            let config = WarehouseConfig {
                url: Some(url.into()),
                tls: Some(TlsMode::Disable),
                connect_timeout: Some(Duration::from_secs(2)),
                ..WarehouseConfig::default()
            };
            let error = connect(&config).err().unwrap();
            assert_eq!((error.class, error.transient), (FailureClass::Connection, true), "{url}");
            assert!(!error.message.contains("hunter2"), "{url}: {}", error.message);
            assert!(error.message.contains("duro@127.0.0.1:1/dw"), "{url}: {}", error.message);
        }
    }
}
