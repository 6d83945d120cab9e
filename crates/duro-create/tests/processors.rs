//! Processor tables against a real PostgreSQL: the select exported to CSV, the script run in its
//! own virtual environment, the output loaded through the DDL; and every way a script can fail,
//! each with its output recorded and the old table intact.

use crate::support::Setup;
use duro_core::build::FailureClass;

const PASSTHROUGH: &str = "import csv, sys\nrows = list(csv.reader(open(sys.argv[1], newline='')))\ncsv.writer(open(sys.argv[2], 'w', newline='')).writerows(rows)\n";

fn processor(script: &str, extra: &[(&str, &str)]) -> Setup {
    let mut files = vec![
        (
            "s/p_select.sql",
            "select n, 'name ' || n as label, case when n = 2 then null else 'x,\"y\"' end as tricky from generate_series(1, 3) as n",
        ),
        ("s/p — 1d.sql", "create table s.p (\n  n int,\n  label text,\n  tricky text\n)"),
        ("s/p.py", script),
    ];
    files.extend_from_slice(extra);
    Setup::new(&files, "create schema s")
}

#[test]
fn the_script_output_is_loaded_with_nulls_and_quotes_intact() {
    let setup = processor(
        "import csv, sys\nrows = list(csv.reader(open(sys.argv[1], newline='')))\nprint('read', len(rows) - 1, 'rows')\nout = csv.writer(open(sys.argv[2], 'w', newline=''))\nout.writerow(rows[0])\nfor n, label, tricky in rows[1:]:\n    out.writerow([int(n) * 10, label.upper(), tricky])\n",
        &[],
    );
    let report = setup.cycle();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(setup.scalar::<i64>("select sum(n)::bigint from s.p"), 60);
    assert_eq!(setup.scalar::<String>("select label from s.p where n = 10"), "NAME 1");
    assert_eq!(setup.scalar::<String>("select tricky from s.p where n = 10"), "x,\"y\"");
    assert_eq!(setup.scalar::<i64>("select count(*) from s.p where tricky is null"), 1);
    let build = &setup.state().builds("s.p").unwrap()[0];
    assert!(build.output.as_deref().unwrap_or_default().contains("read 3 rows"), "{build:?}");
    let phases: serde_json::Value = serde_json::from_str(&build.phases_json).unwrap();
    for phase in ["select", "venv", "process", "load", "swap"] {
        assert!(phases.get(phase).is_some(), "{phase} missing in {phases}");
    }
}

#[test]
fn an_empty_select_gives_an_empty_table() {
    let setup = Setup::new(
        &[
            ("s/p_select.sql", "select 1 as n where false"),
            ("s/p — 1d.sql", "create table s.p (n int)"),
            ("s/p.py", PASSTHROUGH),
        ],
        "create schema s",
    );
    let report = setup.cycle();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(setup.scalar::<i64>("select count(*) from s.p"), 0);
}

/// Scripts written for the original Duro find files beside them through `__file__` and may
/// write in their working directory: they run from a copy of their folder, so the checkout is
/// never written, and the catalogued script is the one that runs.
#[test]
fn the_script_runs_from_a_copy_of_its_folder() {
    let script = "import csv, os, sys\nhere = os.path.dirname(os.path.abspath(__file__))\nfactor = int(open(os.path.join(here, 'factor.txt')).read())\nopen('scratch.txt', 'w').write(os.getcwd())\nrows = list(csv.reader(open(sys.argv[1], newline='')))\nout = csv.writer(open(sys.argv[2], 'w', newline=''))\nout.writerow(rows[0])\nfor n, label, tricky in rows[1:]:\n    out.writerow([int(n) * factor, label, tricky])\n";
    let setup = processor(script, &[("s/factor.txt", "7\n")]);
    let report = setup.cycle();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(setup.scalar::<i64>("select sum(n)::bigint from s.p"), 42);
    assert!(!setup.views.join("s/scratch.txt").exists(), "the checkout was written");
    // A symlink beside the script leading outside the repository is not copied.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "outside the repository").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), setup.views.join("s/secret.txt"))
        .unwrap();
    let guarded = format!("import os\nassert not os.path.exists('secret.txt'), 'copied'\n{script}");
    setup.write(&[("s/p.py", &guarded)]);
    setup.schedule();
    setup.force("s.p");
    let report = setup.cycle();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(
        !setup.state().builds("s.p").unwrap()[0]
            .output
            .as_deref()
            .unwrap_or_default()
            .contains("copied")
    );
    // The catalogued script runs, not a newer one in the checkout.
    setup.write(&[("s/p.py", "raise SystemExit('not catalogued')\n")]);
    setup.force("s.p");
    let report = setup.cycle();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
}

/// `processor_csv_delimiter=semicolon`: the input arrives and the output is read `;`-separated.
#[test]
fn a_processor_exchanging_semicolon_files() {
    let script = "import csv, sys\nrows = list(csv.reader(open(sys.argv[1], newline=''), delimiter=';'))\nassert rows[0] == ['n', 'label', 'tricky'], rows[0]\nout = csv.writer(open(sys.argv[2], 'w', newline=''), delimiter=';')\nout.writerow(rows[0])\nfor n, label, tricky in rows[1:]:\n    out.writerow([n, label + ';' + 'semi', tricky])\n";
    let setup = processor(script, &[("s/p.conf", "processor_csv_delimiter = semicolon")]);
    let report = setup.cycle();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(setup.scalar::<String>("select label from s.p where n = 1"), "name 1;semi");
    assert_eq!(setup.scalar::<String>("select tricky from s.p where n = 1"), "x,\"y\"");
    assert_eq!(setup.scalar::<i64>("select count(*) from s.p where tricky is null"), 1);
}

/// Builds once with the passthrough script, then with `broken` (and `extra` files): the second
/// build must fail with `class` and a message containing `needle`, keeping the first data.
fn fails_keeping_the_old_table(
    broken: &str,
    extra: &[(&str, &str)],
    class: FailureClass,
    needle: &str,
) {
    let setup = processor(PASSTHROUGH, &[]);
    assert!(setup.cycle().failed.is_empty());
    setup.write(&[("s/p.py", broken)]);
    setup.write(extra);
    setup.schedule();
    let report = setup.cycle();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let failure = &report.failed[0];
    assert_eq!(failure.class, class, "{failure:?}");
    assert!(failure.message.contains(needle), "expected {needle:?} in {}", failure.message);
    assert_eq!(setup.scalar::<i64>("select count(*) from s.p"), 3, "the old table must stay");
    assert_eq!(
        setup.scalar::<i64>("select count(*) from pg_tables where tablename = 'p_duro_temp'"),
        0
    );
    let record = &setup.state().builds("s.p").unwrap()[0];
    assert_eq!(record.failure_class, Some(class));
}

#[test]
fn a_script_that_raises() {
    fails_keeping_the_old_table(
        "import sys\nprint('starting')\nraise ValueError('bad data in row 7')\n",
        &[],
        FailureClass::ProcessorFailed,
        "ValueError: bad data in row 7",
    );
}

#[test]
fn a_script_that_hangs_past_its_timeout() {
    fails_keeping_the_old_table(
        "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n",
        &[("s/p.conf", "processor_timeout=1s\n")],
        FailureClass::Timeout,
        "ran longer than 1 s",
    );
}

#[test]
fn a_script_that_writes_no_output() {
    fails_keeping_the_old_table(
        "print('nothing to say')\n",
        &[],
        FailureClass::ProcessorFailed,
        "wrote no output file",
    );
}

#[test]
fn output_that_does_not_fit_the_ddl() {
    fails_keeping_the_old_table(
        "import sys\nopen(sys.argv[2], 'w').write('n,label,tricky\\r\\nnot-a-number,a,b\\r\\n')\n",
        &[],
        FailureClass::ProcessorFailed,
        "does not fit the table's DDL",
    );
}

#[test]
fn a_broken_requirements_file() {
    fails_keeping_the_old_table(
        PASSTHROUGH,
        &[("s/p_requirements.txt", "./no-such-local-package\n")],
        FailureClass::ProcessorFailed,
        "installing the requirements failed",
    );
}

#[test]
fn the_virtual_environment_is_reused_until_the_requirements_change() {
    let setup = processor(PASSTHROUGH, &[("s/p_requirements.txt", "# nothing yet\n")]);
    assert!(setup.cycle().failed.is_empty());
    let python = setup.config.processors.venv_dir.join("s.p/bin/python");
    let created = std::fs::symlink_metadata(&python).unwrap().modified().unwrap();
    setup.force("s.p");
    assert!(setup.cycle().failed.is_empty());
    assert_eq!(
        std::fs::symlink_metadata(&python).unwrap().modified().unwrap(),
        created,
        "the environment was rebuilt"
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    setup.write(&[("s/p_requirements.txt", "# still nothing, but changed\n")]);
    setup.schedule();
    assert!(setup.cycle().failed.is_empty());
    assert_ne!(
        std::fs::symlink_metadata(&python).unwrap().modified().unwrap(),
        created,
        "the environment was not rebuilt"
    );
}

/// A bucket on an in-process S3 server, configured into `setup`'s config.
fn with_s3(
    setup: &Setup,
    keep_files: bool,
    secret: &str,
) -> (duro_core::config::Config, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("duro-staging")).unwrap();
    let endpoint =
        crate::support::start_s3_server(root.path(), "duro-test-key", "duro-test-secret");
    let mut config = setup.config.clone();
    config.s3.bucket = Some("duro-staging".into());
    config.s3.endpoint = Some(endpoint);
    config.s3.path_style = true;
    config.s3.prefix = "processors/".into();
    config.s3.access_key_id = Some("duro-test-key".into());
    config.s3.secret_access_key = Some(secret.into());
    config.s3.keep_files = keep_files;
    (config, root)
}

fn cycle_with(config: duro_core::config::Config) -> duro_core::creator::CycleReport {
    let creator = duro_core::creator::Creator::new(
        config,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    creator.run_cycle(&duro_core::creator::Selection::Due).unwrap()
}

#[test]
fn output_is_staged_through_s3_and_the_object_removed() {
    let setup = processor(PASSTHROUGH, &[]);
    let (config, bucket) = with_s3(&setup, false, "duro-test-secret");
    let report = cycle_with(config);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(setup.scalar::<i64>("select count(*) from s.p"), 3);
    assert_eq!(setup.scalar::<i64>("select count(*) from s.p where tricky is null"), 1);
    let phases: serde_json::Value =
        serde_json::from_str(&setup.state().builds("s.p").unwrap()[0].phases_json).unwrap();
    assert!(phases.get("s3").is_some(), "{phases}");
    let left: Vec<String> = crate::support::files_under(&bucket.path().join("duro-staging"));
    assert!(left.iter().all(|f| !f.ends_with(".csv")), "the staged file was not removed: {left:?}");
}

#[test]
fn keep_files_keeps_the_staged_object() {
    let setup = processor(PASSTHROUGH, &[]);
    let (config, bucket) = with_s3(&setup, true, "duro-test-secret");
    assert!(cycle_with(config).failed.is_empty());
    let left: Vec<String> = crate::support::files_under(&bucket.path().join("duro-staging"));
    let csv: Vec<&String> = left.iter().filter(|f| f.ends_with(".csv")).collect();
    assert_eq!(csv.len(), 1, "{left:?}");
    assert!(csv[0].starts_with("processors/s.p/"), "{left:?}");
}

#[test]
fn wrong_s3_credentials_give_a_clear_error_and_keep_the_table() {
    let setup = processor(PASSTHROUGH, &[]);
    assert!(setup.cycle().failed.is_empty());
    setup.force("s.p");
    let (config, _bucket) = with_s3(&setup, false, "not-the-secret");
    let report = cycle_with(config);
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let message = &report.failed[0].message;
    assert!(message.contains("HTTP 403") && message.contains("check the S3 keys"), "{message}");
    assert!(!message.contains("not-the-secret"), "{message}");
    assert_eq!(setup.scalar::<i64>("select count(*) from s.p"), 3);
    assert_eq!(
        setup.scalar::<i64>("select count(*) from pg_tables where tablename = 'p_duro_temp'"),
        0
    );
}

#[test]
fn the_script_does_not_inherit_duros_environment() {
    // Cargo sets CARGO_* variables for this test process; none may reach the script.
    let setup = processor(
        "import os, sys\nleaked = sorted(k for k in os.environ if k.startswith(('CARGO', 'DURO', 'AWS', 'PG')))\nprint('leaked:', leaked)\nopen(sys.argv[2], 'w').write(open(sys.argv[1]).read())\n",
        &[],
    );
    let report = setup.cycle();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let output = setup.state().builds("s.p").unwrap()[0].output.clone().unwrap_or_default();
    assert!(output.contains("leaked: []"), "{output}");
}

/// `processors.run_as`: the script runs as that OS user (here `nobody`), which cannot read the
/// creator's environment; an unknown user fails the build with its name.
#[test]
fn scripts_run_as_the_configured_user() {
    let setup = Setup::new(
        &[
            ("s/p_select.sql", "select 1 as n"),
            ("s/p — 1d.sql", "create table s.p (n int, uid int, environ text)"),
            (
                "s/p.py",
                "import csv, os, sys\ntry:\n    environ = open('/proc/%d/environ' % os.getppid(), 'rb').read().decode(errors='replace')\nexcept OSError as error:\n    environ = 'refused'\ncsv.writer(open(sys.argv[2], 'w', newline='')).writerows([['n', 'uid', 'environ'], [1, os.getuid(), environ[:100]]])\n",
            ),
        ],
        "create schema s",
    );
    let is_root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"));
    let mut config = setup.config.clone();
    config.processors.run_as = Some("nobody".into());
    // A Python that user can run (tests/run.sh installs Debian's).
    config.processors.python = "/usr/bin/python3".into();
    // The virtual environments' folder must be reachable by that user.
    let venvs = tempfile::tempdir().unwrap();
    std::fs::set_permissions(venvs.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    config.processors.venv_dir = venvs.path().join("venvs");
    let creator = duro_core::creator::Creator::new(
        config.clone(),
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    let report = creator.run_cycle(&duro_core::creator::Selection::Due).unwrap();
    if is_root {
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        assert_eq!(setup.scalar::<i32>("select uid from s.p"), 65534);
        assert_eq!(setup.scalar::<String>("select environ from s.p"), "refused");
    } else {
        // Switching users needs root: the build says so.
        assert_eq!(report.failed.len(), 1, "{report:?}");
        assert!(report.failed[0].message.contains("run_as"), "{report:?}");
    }
    config.processors.run_as = Some("no-such-duro-user".into());
    setup.force("s.p");
    let creator = duro_core::creator::Creator::new(
        config,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    let report = creator.run_cycle(&duro_core::creator::Selection::Due).unwrap();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].class, FailureClass::Configuration);
    assert!(report.failed[0].message.contains("no user `no-such-duro-user`"), "{report:?}");
}

/// Settings a processor table needs are checked at start: wrong ones stop the creator before
/// anything is built (exit 2, with what to fix); without a processor table in the catalog they
/// are only a warning.
#[test]
fn processor_settings_are_checked_at_start() {
    let setup = processor(PASSTHROUGH, &[]);
    let mut on_redshift = setup.config.clone();
    on_redshift.warehouse.dialect = duro_core::config::Dialect::Redshift;
    let creator = duro_core::creator::Creator::new(
        on_redshift,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    let error = creator.check_settings().unwrap_err().to_string();
    assert!(error.contains("processor tables on Redshift load through S3"), "{error}");
    assert!(error.contains("needed by the processor table s.p"), "{error}");

    // The program: exit 2 before any build, the message on stderr.
    let config = setup.config_file("");
    let output = duro_core::testing::Cli::new(env!("CARGO_BIN_EXE_duro-create"))
        .arg("--config")
        .arg(&config)
        .arg("--once")
        .env("DURO_PROCESSORS__RUN_AS", "no-such-duro-user")
        .run();
    output.code(2);
    assert!(output.stderr.contains("no user `no-such-duro-user`"), "{}", output.both());
    assert!(setup.state().builds("s.p").unwrap().is_empty(), "a build was attempted");

    let views_only = Setup::new(&[("s/v — 1d.sql", "select 1 as n")], "create schema s");
    let mut config = views_only.config.clone();
    config.processors.run_as = Some("no-such-duro-user".into());
    let creator = duro_core::creator::Creator::new(
        config,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    creator.check_settings().unwrap();
}

/// `--check-warehouse` (through the library): with S3 configured, one row goes through the
/// staging bucket into a probe table; with the wrong secret that probe fails with the reason and
/// what to do, the others still pass, and no probe object is left either way.
#[test]
fn check_warehouse_copies_through_s3() {
    use duro_core::refresh::probes::{ProbeOutcome, check_warehouse};
    let setup = Setup::new(&[("s/t — 1d.sql", "select 1 as a")], "create schema s");
    let probe_objects = || {
        setup.scalar::<i64>("select count(*) from pg_class where relname like 'duro\\_probe\\_%'")
    };
    let (config, bucket) = with_s3(&setup, false, "duro-test-secret");
    let report = check_warehouse(&config, "s");
    let copy = report.iter().find(|p| p.name == "COPY from S3").unwrap();
    assert!(
        matches!(&copy.outcome, ProbeOutcome::Ok(detail) if detail.starts_with("1 row loaded")),
        "{copy}"
    );
    assert!(report.iter().all(|p| !p.failed()), "{report:#?}");
    let left = crate::support::files_under(&bucket.path().join("duro-staging"));
    assert!(left.iter().all(|f| !f.ends_with(".csv")), "the probe's file stayed: {left:?}");
    assert_eq!(probe_objects(), 0);

    let (config, _bucket) = with_s3(&setup, false, "not-the-secret");
    let report = check_warehouse(&config, "s");
    let failed: Vec<&str> = report.iter().filter(|p| p.failed()).map(|p| p.name).collect();
    assert_eq!(failed, ["COPY from S3"], "{report:#?}");
    let line = report.iter().find(|p| p.failed()).unwrap().to_string();
    assert!(line.contains("HTTP 403") && line.contains("s3:GetObject"), "{line}");
    assert_eq!(probe_objects(), 0);
}
