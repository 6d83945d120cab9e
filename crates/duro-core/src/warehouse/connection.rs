//! Connecting to the warehouse (TLS through rustls, verified against the Mozilla roots or the
//! configured ones; TCP keepalives for long statements behind NAT) and classifying its errors
//! into the failure classes a build records.

use crate::build::FailureClass;
use crate::config::{DEFAULT_CONNECT_TIMEOUT, TlsMode, WarehouseConfig};
use crate::errors::with_causes;
use postgres::config::SslMode;
use postgres::error::SqlState;
use postgres::{Client, NoTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct};
use std::sync::Arc;
use std::time::Duration;

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

    /// Classifies an S3 error: the network (worth a retry) is `connection`, a refusal of what
    /// the settings ask (keys, bucket) is `configuration`.
    pub fn from_object_store(error: crate::objectstore::ObjectStoreError) -> Self {
        let class =
            if error.transient { FailureClass::Connection } else { FailureClass::Configuration };
        Self { class, transient: error.transient, message: error.message }
    }

    /// Classifies a driver error. `cancelled` says whether Duro itself cancelled the statement
    /// (shutdown), which the server reports exactly like a statement timeout.
    pub fn from_postgres(error: &postgres::Error, cancelled: bool) -> Self {
        let Some(db) = error.as_db_error() else {
            let class = FailureClass::Connection;
            return Self {
                class,
                transient: true,
                message: format!("lost the connection to the warehouse: {}", with_causes(error)),
            };
        };
        let code = db.code();
        let mut message = match (db.detail(), db.hint()) {
            (Some(detail), _) => format!("{} ({detail})", db.message()),
            (None, Some(hint)) => format!("{} (hint: {hint})", db.message()),
            (None, None) => db.message().to_owned(),
        };
        // A refused row of a `COPY`: its line and column (and the start of its value).
        if let Some(place) = db.where_().filter(|place| place.starts_with("COPY ")) {
            let place: String = place.chars().take(200).collect();
            message = format!("{message} (at {place})");
        }
        if *code == SqlState::QUERY_CANCELED {
            if let Some(wlm) = cancelled_by_wlm(&message) {
                return wlm;
            }
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
        let lower = message.to_lowercase();
        // Redshift: "1023 Serializable isolation violation on table …" and "1018 Relation does
        // not exist" (a table another transaction renamed or dropped meanwhile) are worth a retry.
        let transient = *code == SqlState::T_R_SERIALIZATION_FAILURE
            || (message.contains("1023") && lower.contains("serializable isolation"))
            || (message.contains("1018") && lower.contains("relation does not exist"));
        Self { class: FailureClass::SqlError, transient, message }
    }
}

/// Redshift's workload management (a WLM timeout or a query monitoring rule) cancels a query
/// with the same code as a statement timeout; its message says so.
fn cancelled_by_wlm(message: &str) -> Option<WarehouseError> {
    message.to_lowercase().contains("wlm").then(|| {
        WarehouseError::new(
            FailureClass::SqlError,
            format!(
                "cancelled by the cluster's workload management (WLM timeout or query monitoring rule), not by the table's timeout: {message}; raise the queue's limit or the rule, or make the query cheaper"
            ),
        )
    })
}

/// The TCP keepalive settings of a warehouse connection, unless its URL sets them: the first
/// probe after a minute of silence (the driver's default is two hours, longer than a NAT or
/// firewall keeps an idle connection, so a long `create table … as` or COPY would hang).
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
/// Between unanswered probes.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// Unanswered probes before the connection counts as lost.
pub const KEEPALIVE_RETRIES: u32 = 4;

/// The driver's keepalive idle time when the URL names none.
const DRIVER_DEFAULT_KEEPALIVE_IDLE: Duration = Duration::from_secs(2 * 60 * 60);

/// Applies Duro's keepalive settings where the URL left the driver's defaults
/// (`keepalives=0` in the URL turns them off, and Duro leaves them off).
pub fn apply_keepalives(config: &mut postgres::Config) {
    if !config.get_keepalives() {
        return;
    }
    if config.get_keepalives_idle() == DRIVER_DEFAULT_KEEPALIVE_IDLE {
        config.keepalives_idle(KEEPALIVE_IDLE);
    }
    if config.get_keepalives_interval().is_none() {
        config.keepalives_interval(KEEPALIVE_INTERVAL);
    }
    if config.get_keepalives_retries().is_none() {
        config.keepalives_retries(KEEPALIVE_RETRIES);
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
    apply_keepalives(&mut pg_config);
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
        TlsMode::Prefer | TlsMode::Require | TlsMode::VerifyCa => {
            pg_config.ssl_mode(if mode == TlsMode::Prefer {
                SslMode::Prefer
            } else {
                SslMode::Require
            });
            pg_config.connect(tls_connector(config))
        }
    };
    let mut client = result.map_err(|e| match e.as_db_error() {
        // The server's reason (a wrong password, an unknown database) is kept; it never holds
        // the password. Such errors do not go away by retrying.
        Some(db) => WarehouseError::new(
            FailureClass::Connection,
            format!("cannot connect to {target}: {}", db.message()),
        ),
        None => connection_error(format!("cannot connect to {target}: {}", with_causes(&e))),
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
        TlsMode::Prefer | TlsMode::Require | TlsMode::VerifyCa => {
            token.cancel_query(tls_connector(config))
        }
    };
    if let Err(error) = result {
        tracing::warn!("could not cancel a running statement: {error}");
    }
}

/// TLS as configured: the roots of `warehouse.tls_root_cert` or else Mozilla's; with
/// `verify-ca`, the server's name is not checked.
fn tls_connector(config: &WarehouseConfig) -> tokio_postgres_rustls::MakeRustlsConnect {
    let roots = if config.tls_roots.0.is_empty() {
        rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }
    } else {
        let mut roots = rustls::RootCertStore::empty();
        let certificates = config.tls_roots.0.iter().map(|der| CertificateDer::from(der.clone()));
        // Certificates that are no valid trust anchor are left out; none left fails every
        // handshake with an "unknown issuer", which names the problem.
        roots.add_parsable_certificates(certificates);
        roots
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions");
    let client = if config.tls_mode() == TlsMode::VerifyCa {
        let verifier = AnyName::new(roots, provider);
        builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth()
    } else {
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    tokio_postgres_rustls::MakeRustlsConnect::new(client)
}

/// `verify-ca`: the certificate chain is verified as usual, and a name that does not match is
/// accepted (webpki checks the name only after the chain, so a certificate that is not signed by
/// the roots still fails).
#[derive(Debug)]
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>);

impl AnyName {
    fn new(roots: rustls::RootCertStore, provider: Arc<CryptoProvider>) -> Arc<Self> {
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("a root store and a provider make a verifier");
        Arc::new(Self(verifier))
    }
}

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalives_unless_the_url_sets_them() {
        let applied = |url: &str| {
            let mut config: postgres::Config = url.parse().unwrap();
            apply_keepalives(&mut config);
            (
                config.get_keepalives(),
                config.get_keepalives_idle(),
                config.get_keepalives_interval(),
                config.get_keepalives_retries(),
            )
        };
        let ours = (true, KEEPALIVE_IDLE, Some(KEEPALIVE_INTERVAL), Some(KEEPALIVE_RETRIES));
        assert_eq!(applied("postgres://duro@warehouse/dw"), ours);
        assert_eq!(applied("host=warehouse user=duro"), ours);
        assert_eq!(
            applied(
                "postgres://duro@warehouse/dw?keepalives_idle=300&keepalives_interval=30&keepalives_retries=9"
            ),
            (true, Duration::from_secs(300), Some(Duration::from_secs(30)), Some(9))
        );
        let off = applied("postgres://duro@warehouse/dw?keepalives=0");
        assert_eq!((off.0, off.2, off.3), (false, None, None));
    }

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
