//! Test support (feature `test-support`): a private PostgreSQL cluster per test process, started
//! on a free loopback port in a temporary folder with `fsync=off` and TLS offered (a certificate
//! for `localhost` from a test CA made with `openssl`), and one fresh database per test.
//! As root, the server runs as the `postgres` user (`initdb` refuses root). The server stops
//! when the test process exits, and a watcher removes its folder then (a static is never
//! dropped, so nothing in the process could). `write_files` writes a views repository (or any
//! files) for a test; `cli::Cli` runs a program (a binary of the workspace) the way a test does;
//! `mariadb` starts a private MariaDB server the same way, for replication sources.

pub mod cli;
pub mod http;
pub mod mariadb;
pub mod setup;

pub use cli::{Cli, CliOutput, Running};
pub use mariadb::{fresh_mariadb_database, mariadb_execute};
pub use setup::{record_build, sqlite_without_auto_vacuum, write_files};

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A running private cluster.
pub struct Cluster {
    pub port: u16,
    /// The PEM file of the certificate authority that signed the server's TLS certificate
    /// (issued for the name `localhost` only; the server also accepts connections without TLS).
    pub ca_cert: PathBuf,
}

/// The only name the test server's certificate is valid for.
pub const TLS_SERVER_NAME: &str = "localhost";

/// Makes a certificate authority and a server certificate for [`TLS_SERVER_NAME`] signed by it
/// in `dir` (`ca.crt`, `server.crt`, `server.key`), with the `openssl` command.
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs (apt-get install -y openssl)");
        assert!(
            output.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let key: &[&str] = &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let ca = ["req", "-x509", "-days", "2", "-subj", "/CN=Duro test CA"];
    openssl(&[&ca[..], key, &["-keyout", "ca.key", "-out", "ca.crt"]].concat());
    std::fs::write(dir.join("server.ext"), format!("subjectAltName=DNS:{TLS_SERVER_NAME}\n"))
        .expect("the certificate folder is writable");
    let subject = format!("/CN={TLS_SERVER_NAME}");
    let request = ["req", "-subj", &subject, "-keyout", "server.key", "-out", "server.csr"];
    openssl(&[&request[..], key].concat());
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt",
    ]);
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The folder holding `initdb` and `postgres`.
fn bin_dir() -> PathBuf {
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().expect(
        "PostgreSQL server binaries not found (initdb): install them with `apt-get install -y postgresql` (tests/run.sh does)",
    )
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|status| {
            status
                .lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// A command run as the `postgres` user when we are root; the server gets SIGTERM when the
/// thread that started it (kept alive for the whole process) goes away.
fn command(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("setpriv");
        command
            .args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--pdeathsig=TERM",
                "--",
            ])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn start() -> Cluster {
    let bin = bin_dir();
    let dir = tempfile::Builder::new().prefix("duro-pg-").tempdir().expect("a temporary folder");
    let dir = dir.keep();
    remove_after_exit(&dir);
    let data = dir.join("data");
    if is_root() {
        let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status();
        assert!(status.is_ok_and(|s| s.success()), "chown of the test cluster folder failed");
    }
    let output = command(&bin.join("initdb"))
        .args(["-D"])
        .arg(&data)
        .args(["-U", "duro", "--auth=trust", "-E", "UTF8", "--no-sync"])
        .output()
        .expect("initdb runs");
    assert!(output.status.success(), "initdb failed: {}", String::from_utf8_lossy(&output.stderr));
    // One role signs in with a password (the rest are trusted), for the tests of a wrong one.
    let hba = data.join("pg_hba.conf");
    let trusted = std::fs::read_to_string(&hba).expect("initdb writes pg_hba.conf");
    std::fs::write(&hba, format!("host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n{trusted}"))
        .expect("pg_hba.conf is writable");
    let tls = dir.join("tls");
    std::fs::create_dir(&tls).expect("the cluster folder is writable");
    make_certificates(&tls);
    // The server refuses a key others may read.
    let key = tls.join("server.key");
    std::fs::set_permissions(
        &key,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600),
    )
    .expect("the key's mode can be set");
    if is_root() {
        let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&tls).status();
        assert!(status.is_ok_and(|s| s.success()), "chown of the certificates failed");
    }
    let certificate = tls.join("server.crt");
    let port = free_port();
    let mut postgres = command(&bin.join("postgres"));
    postgres
        .arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
        .args([
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
            "-c",
            "ssl=on",
        ])
        .arg("-c")
        .arg(format!("ssl_cert_file={}", certificate.display()))
        .arg("-c")
        .arg(format!("ssl_key_file={}", key.display()))
        .arg("-c")
        .arg(format!("unix_socket_directories={}", dir.display()));
    spawn_server(postgres, "postgres");
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = format!("postgres://duro@127.0.0.1:{port}/postgres");
    while postgres::Client::connect(&url, postgres::NoTls).is_err() {
        assert!(
            Instant::now() < deadline,
            "the test PostgreSQL server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Cluster { port, ca_cert: tls.join("ca.crt") }
}

/// Starts a server from a thread kept alive for the whole process (its parent for setpriv's
/// `--pdeathsig`, so the server gets SIGTERM when the process exits); panics naming `what`
/// when it cannot start.
fn spawn_server(mut command: Command, what: &str) {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn();
        let _ = ready_tx.send(child.map(|c| c.id()));
        loop {
            std::thread::park();
        }
    });
    let started = ready_rx.recv().expect("the server thread reports");
    if let Err(error) = started {
        panic!("{what} does not start: {error}");
    }
}

/// Starts a watcher that removes `dir` once this process has exited and the server in it has
/// stopped (it stops on its own then; the watcher gives it a minute at most).
fn remove_after_exit(dir: &Path) {
    const WATCHER: &str = r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done
        n=0; while { [ -e "$2/data/postmaster.pid" ] || [ -e "$2/mariadb.pid" ]; } && [ $n -lt 60 ]; do sleep 1; n=$((n+1)); done
        rm -rf "$2""#;
    let spawned = Command::new("sh")
        .args(["-c", WATCHER, "sh", &std::process::id().to_string()])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Err(error) = spawned {
        tracing::warn!("the test cluster's folder {} will stay: {error}", dir.display());
    }
}

/// A role of the test cluster that must give its password (every other role is trusted).
pub const PASSWORD_ROLE: &str = "duro_password";

/// The process's cluster, started on first use.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(start)
}

/// A new, empty database; returns its URL (user `duro`, a superuser, no password).
pub fn fresh_database() -> String {
    let cluster = cluster();
    let name = format!("test_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::SeqCst));
    let admin = format!("postgres://duro@127.0.0.1:{}/postgres", cluster.port);
    let mut client =
        postgres::Client::connect(&admin, postgres::NoTls).expect("connect to the test cluster");
    client.batch_execute(&format!("create database \"{name}\"")).expect("create a test database");
    format!("postgres://duro@127.0.0.1:{}/{name}", cluster.port)
}
