//! A private MariaDB server per test process (for replication sources), started like the
//! PostgreSQL cluster: a temporary data folder, a free loopback port, durability off, no
//! authentication (`--skip-grant-tables`), stopped when the test process exits. `tests/run.sh`
//! installs `mariadb-server` when it is missing.

use super::{free_port, is_root, remove_after_exit, spawn_server};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static SERVER: OnceLock<u16> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

fn start() -> u16 {
    let dir =
        tempfile::Builder::new().prefix("duro-mariadb-").tempdir().expect("a temporary folder");
    let dir = dir.keep();
    remove_after_exit(&dir);
    let data = dir.join("data");
    // As root, the server runs as root (`--user=root`): its files stay in this private folder.
    let user: &[&str] = if is_root() { &["--user=root"] } else { &[] };
    let output = Command::new("mariadb-install-db")
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .args(user)
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
        .output()
        .expect("mariadb-install-db runs (apt-get install -y mariadb-server; tests/run.sh does)");
    assert!(
        output.status.success(),
        "mariadb-install-db failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let port = free_port();
    // setpriv's --pdeathsig: the server gets SIGTERM when this process exits.
    let mut mariadbd = Command::new("setpriv");
    mariadbd
        .args(["--pdeathsig=TERM", "--", "mariadbd", "--no-defaults"])
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", dir.join("mariadb.sock").display()))
        .arg(format!("--pid-file={}", dir.join("mariadb.pid").display()))
        .args(user)
        .args([
            &format!("--port={port}"),
            "--bind-address=127.0.0.1",
            "--skip-grant-tables",
            "--skip-log-bin",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-buffer-pool-size=64M",
            "--character-set-server=utf8mb4",
        ]);
    spawn_server(mariadbd, "mariadbd");
    let deadline = Instant::now() + Duration::from_secs(60);
    let url = format!("mysql://root@127.0.0.1:{port}/mysql");
    while mysql::Conn::new(mysql::Opts::from_url(&url).expect("a valid URL")).is_err() {
        assert!(Instant::now() < deadline, "the test MariaDB server did not start on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    port
}

/// A new, empty MariaDB database; returns its URL (`mysql://root@127.0.0.1:PORT/NAME`).
pub fn fresh_mariadb_database() -> String {
    let port = *SERVER.get_or_init(start);
    let name = format!("test_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::SeqCst));
    let admin = format!("mysql://root@127.0.0.1:{port}/mysql");
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(&admin).expect("a valid URL"))
        .expect("connect to the test MariaDB server");
    mysql::prelude::Queryable::query_drop(&mut conn, format!("create database `{name}`"))
        .expect("create a test database");
    format!("mysql://root@127.0.0.1:{port}/{name}")
}

/// Runs `sql` (statements separated by `;`) in the MariaDB database at `url`.
pub fn mariadb_execute(url: &str, sql: &str) {
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(url).expect("a valid URL"))
        .expect("connect to the test MariaDB server");
    for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        mysql::prelude::Queryable::query_drop(&mut conn, statement)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}
