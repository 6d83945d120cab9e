//! Logging setup shared by the binaries: `tracing` to stderr, filtered by `DURO_LOG`.

/// Logs to stderr, filtered by `DURO_LOG` (default `info`; e.g. `debug` or `duro_core=debug`).
/// Records of the `log` crate (the SQL parser's token-level tracing) are not forwarded.
pub fn init() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("DURO_LOG").unwrap_or_else(|_| "info".into());
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .finish();
    let _ = tracing::subscriber::set_global_default(subscriber);
}
