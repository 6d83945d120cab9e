//! The process-wide TLS crypto provider. Two TLS stacks reach rustls here (ring through
//! slack-morphism, aws-lc-rs through rust-s3), so rustls cannot pick a default by itself;
//! every TLS user calls [`install_provider`] first.

use std::sync::Once;

/// Installs ring as the process's rustls provider (once; later calls do nothing).
pub fn install_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
