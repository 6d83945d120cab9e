//! `duro-schedule` as a user runs it: the JSON contract of `--check --json`, exit codes, the
//! human output, configuration through files and environment, and the state file it writes.

use duro_core::Diagnostic;
use duro_core::testing::{Cli, write_files};
use std::path::{Path, PathBuf};

fn example_views() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../views-example")
}

/// The binary, to run in `dir` (with no `DURO_*` variable but those the test sets).
fn duro_schedule(dir: &Path) -> Cli {
    Cli::new(env!("CARGO_BIN_EXE_duro-schedule")).current_dir(dir)
}

#[test]
fn check_json_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let views = example_views();
    let output = duro_schedule(dir.path()).args(["--check", "--json", "--views"]).arg(&views).run();
    output.code(0);
    let document: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    let tables = document["tables"].as_array().unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(names.contains(&"first.cities") && names.contains(&"first.countries"));
    for table in tables {
        for key in [
            "name",
            "kind",
            "interval_minutes",
            "dependencies",
            "dependency_method",
            "config",
            "files",
        ] {
            assert!(table.get(key).is_some(), "{key} missing in {table}");
        }
        for key in [
            "grant_select",
            "distkey",
            "sortkey",
            "diststyle",
            "snapshots_interval_minutes",
            "snapshots_stored_for_minutes",
        ] {
            assert!(table["config"].get(key).is_some(), "config.{key} missing in {table}");
        }
        assert!(["view", "processor"].contains(&table["kind"].as_str().unwrap()));
        assert!(["parsed", "tokens"].contains(&table["dependency_method"].as_str().unwrap()));
        let dependencies: Vec<&str> =
            table["dependencies"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
        let mut sorted = dependencies.clone();
        sorted.sort();
        assert_eq!(dependencies, sorted);
    }
    let cities = tables.iter().find(|t| t["name"] == "first.cities").unwrap();
    assert_eq!(cities["interval_minutes"], 1440);
    assert_eq!(cities["config"]["grant_select"], serde_json::json!(["jane", "john"]));
    assert_eq!(cities["config"]["sortkey"], serde_json::json!(["city"]));
    assert_eq!(cities["config"]["distkey"], "city");
    let countries = tables.iter().find(|t| t["name"] == "first.countries").unwrap();
    assert_eq!(countries["kind"], "processor");
    assert_eq!(countries["dependencies"], serde_json::json!(["first.cities"]));
    for diagnostic in document["diagnostics"].as_array().unwrap() {
        assert!(["error", "warning"].contains(&diagnostic["severity"].as_str().unwrap()));
        assert!(diagnostic["message"].is_string());
        assert!(diagnostic["file"].is_string() || diagnostic["file"].is_null());
    }
    // Nothing was written: no state file appears.
    assert!(!dir.path().join("duro.db").exists());
}

#[test]
fn errors_exit_one_with_every_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("views/cities.sql", "select 1"),
            ("views/first/a.sql", "select 1 as x"),
            ("views/global.conf", "distkey x"),
        ],
    );
    let output = duro_schedule(dir.path()).args(["--check", "--json"]).run();
    output.code(1);
    let document: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    // Every diagnostic, in order, as printed: `file:line: severity: message`.
    let diagnostics: Vec<Diagnostic> =
        serde_json::from_value(document["diagnostics"].clone()).unwrap();
    let rendered: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    let expected = [
        "cities.sql: error: no schema",
        "first/a.sql: error: `first.a` has no interval",
        "global.conf:1: error: expected `key=value`",
    ];
    assert_eq!(rendered.len(), expected.len(), "{rendered:#?}");
    for (line, start) in rendered.iter().zip(expected) {
        assert!(line.starts_with(start), "expected `{start}…`, got {rendered:#?}");
    }

    let human = duro_schedule(dir.path()).arg("--check").run();
    human.code(1);
    let text = &human.stdout;
    assert!(text.contains("cities.sql: error: no schema"), "{text}");
    assert!(text.contains("global.conf:1: error: expected `key=value`"), "{text}");
    assert!(text.contains("1 tables, 3 errors, 0 warnings"), "{text}");
    // The same diagnostics as the JSON, each on its own line.
    for line in &rendered {
        assert!(text.lines().any(|printed| printed == line), "`{line}` missing in {text}");
    }
}

#[test]
fn usage_and_config_problems_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    /// (arguments, environment, expected part of stderr)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (&["--json"], &[], "--check"),
        (&["--bogus"], &[], "--bogus"),
        (&["--config", "missing.yaml"], &[], "cannot read config file `missing.yaml`"),
        (&["--check"], &[("DURO_VIEWS__PAHT", "x")], "unknown field `paht`"),
        (&["--check", "--views", "nowhere"], &[], "`nowhere` does not exist"),
    ];
    for (args, env, message) in cases {
        let output = duro_schedule(dir.path()).args(*args).envs(env.iter().copied()).run();
        output.code(2);
        assert!(output.stderr.contains(message), "{args:?}: {}", output.stderr);
    }
}

#[test]
fn a_run_writes_the_state_file_from_config_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let views = example_views();
    std::fs::write(
        dir.path().join("duro.yaml"),
        format!("views:\n  path: {}\nstate:\n  path: ignored.db\n", views.display()),
    )
    .unwrap();
    let output = duro_schedule(dir.path())
        .args(["--dot", "graph.dot"])
        .env("DURO_STATE__PATH", "state/duro.db")
        .run();
    output.code(0);
    let text = &output.stdout;
    assert!(
        text.contains("New tables (6): finances.revenue, finances.simplified, first.cities"),
        "{text}"
    );
    assert!(dir.path().join("state/duro.db").exists());
    assert!(!dir.path().join("ignored.db").exists());
    let dot = std::fs::read_to_string(dir.path().join("graph.dot")).unwrap();
    assert!(dot.contains("\"first.shops\" -> \"first.cities\";"), "{dot}");

    let again = duro_schedule(dir.path()).args(["--state", "state/duro.db"]).run();
    assert!(again.stdout.trim_end().ends_with("\nNo changes."), "{}", again.stdout);
}

/// Each run deletes the build records older than `state.keep_builds_for` and says so; an older
/// state file (one that keeps freed pages) is rewritten once by `--compact` to give them back.
#[test]
fn runs_delete_old_builds_and_compact_rewrites_an_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let state_path = dir.path().join("duro.db");
    // A state file as Duro made them before: pages of deleted rows stay in the file.
    duro_core::testing::sqlite_without_auto_vacuum(&state_path);
    let views = example_views();
    let schedule = || {
        duro_schedule(dir.path())
            .args(["--views", &views.display().to_string(), "--state", "duro.db"])
            .env("DURO_STATE__KEEP_BUILDS_FOR", "30d")
            .env("DURO_LOG", "info")
    };
    schedule().run().code(0);
    let day = 86_400_000;
    let now = duro_core::clock::now_ms();
    let mut state = duro_core::state::StateFile::open(&state_path).unwrap();
    for k in (0..40).rev() {
        let start = now - (100 + k) * day;
        duro_core::testing::record_build(
            &mut state,
            "first.cities",
            start,
            start + 1_000,
            duro_core::build::BuildOutcome::Succeeded,
        );
    }
    duro_core::testing::record_build(
        &mut state,
        "first.cities",
        now - day,
        now - day + 1_000,
        duro_core::build::BuildOutcome::Succeeded,
    );
    assert_eq!(state.builds("first.cities").unwrap().len(), 41);
    assert!(!state.frees_pages().unwrap());
    let output = schedule().run();
    output.code(0);
    assert!(
        output.stderr.contains("deleted 40 build records older than 30d (state.keep_builds_for)"),
        "{}",
        output.stderr
    );
    assert_eq!(state.builds("first.cities").unwrap().len(), 1, "the recent one stays");

    let output = duro_schedule(dir.path()).args(["--state", "duro.db", "--compact"]).run();
    output.code(0);
    assert!(
        output
            .stdout
            .contains("duro.db: deleted 0 build records older than state.keep_builds_for;"),
        "{}",
        output.stdout
    );
    drop(state);
    let reopened = duro_core::state::StateFile::open(&state_path).unwrap();
    assert!(reopened.frees_pages().unwrap(), "rewritten to give freed pages back");
    assert_eq!(reopened.builds("first.cities").unwrap().len(), 1);
}

#[test]
fn a_rejected_run_says_the_catalog_stays() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("views/first/a — 1h.sql", "select 1 as x")]);
    duro_schedule(dir.path()).run().code(0);
    write_files(dir.path(), &[("views/first/b.sql", "select 1 as x")]);
    let output = duro_schedule(dir.path()).run();
    output.code(1);
    let text = &output.stdout;
    assert!(text.contains("first/b.sql: error: `first.b` has no interval"), "{text}");
    assert!(text.contains("the previous catalog stays in force"), "{text}");
}

/// The original Duro's `config.conf` works as `--config`: the scheduler reads its `[main]`
/// views and state file, warns about the keys without a meaning here, and `--print-config`
/// shows the equivalent duro.yaml without a secret (each left out is named as a comment).
#[test]
fn the_original_config_conf_and_print_config() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("config.conf");
    std::fs::write(
        &conf,
        format!(
            "[main]\nviews = {}\nlogs = ./logs\ndb = ./original.db\nuse_git = off\n\n[redshift]\nhost = cluster.example.com\nport = 5439\ndatabase = dw\nuser = duro\npassword = hunter%%2\n\n[slack]\nurl = https://hooks.slack.com/services/T0/B0/SECRETPART\nchannel = #duro\n",
            example_views().display()
        ),
    )
    .unwrap();
    let output = duro_schedule(dir.path()).arg("--config").arg(&conf).run();
    output.code(0);
    assert!(output.stderr.contains("`[main] logs` ignored"), "{}", output.both());
    assert!(dir.path().join("original.db").is_file());

    let output = duro_schedule(dir.path()).arg("--config").arg(&conf).arg("--print-config").run();
    output.code(0);
    let yaml = &output.stdout;
    for secret in ["hunter", "SECRETPART"] {
        assert!(!yaml.contains(secret), "{yaml}");
    }
    let document: serde_json::Value = serde_yaml::from_str(yaml).unwrap();
    assert_eq!(document["warehouse"]["url"], "postgres://duro@cluster.example.com:5439/dw");
    assert_eq!(document["warehouse"].get("password"), None);
    assert_eq!(document["warehouse"]["dialect"], "redshift");
    assert_eq!(document["slack"].get("webhook_url"), None);
    assert!(yaml.contains("#   slack.webhook_url (DURO_SLACK__WEBHOOK_URL)"), "{yaml}");
    assert_eq!(document["state"]["path"], "./original.db");

    let broken = dir.path().join("broken.conf");
    std::fs::write(&broken, "[main]\nuse_git = perhaps\n").unwrap();
    let output = duro_schedule(dir.path()).arg("--config").arg(&broken).run();
    output.code(2);
    assert!(
        output.stderr.contains("line 2: `[main] use_git`: `perhaps` is not a boolean"),
        "{}",
        output.both()
    );
}

/// A replication node is checked without connecting anywhere (no connection is configured):
/// `--check --json` lists it with `"kind": "replication"`, and a view reading its table depends
/// on it; `transport: direct` into Redshift is an error naming the file.
#[test]
fn check_json_lists_replication_nodes() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            (
                "views/analytics/users — 1h.replication.yml",
                "source: app\nsource_table: public.users\nstrategy: timed\ntransport: direct\n",
            ),
            ("views/reports/emails — 1d.sql", "select email from analytics.users"),
        ],
    );
    let views = dir.path().join("views");
    let output = duro_schedule(dir.path())
        .args(["--check", "--json", "--dialect", "postgres", "--views"])
        .arg(&views)
        .run();
    output.code(0);
    let document: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    let tables = document["tables"].as_array().unwrap();
    let users = tables.iter().find(|t| t["name"] == "analytics.users").unwrap();
    assert_eq!(users["kind"], "replication");
    assert_eq!(users["interval_minutes"], 60);
    let emails = tables.iter().find(|t| t["name"] == "reports.emails").unwrap();
    assert_eq!(emails["dependencies"], serde_json::json!(["analytics.users"]));

    let redshift = duro_schedule(dir.path())
        .args(["--check", "--dialect", "redshift", "--views"])
        .arg(&views)
        .run();
    redshift.code(1);
    assert!(
        redshift.stdout.contains(
            "analytics/users — 1h.replication.yml: error: `analytics.users` has `transport: direct`"
        ),
        "{}",
        redshift.both()
    );
}

/// An S3 load node is checked without connecting anywhere: `--check --json` lists it with
/// `"kind": "s3_load"` and a view reading its table depends on it; a bucket the operator did
/// not allow, and a local folder with a Redshift warehouse, are errors at the `bucket` line.
#[test]
fn check_json_lists_s3_load_nodes() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            (
                "views/raw/pages — 30m.s3.yml",
                "dataset: api_hits_pages\nbucket: analytics\ndata_date_column: day\ncolumns: [{name: day, type: date}]\n",
            ),
            (
                "views/raw/local — 1h.s3.yml",
                "data_date_column: day\ncolumns: [{name: day, type: date}]\nbucket: file:///data/exports\n",
            ),
            ("views/reports/days — 1d.sql", "select day from raw.pages"),
        ],
    );
    let views = dir.path().join("views");
    let check = |dialect: &str, env: &[(&str, &str)]| {
        let json = if env.is_empty() { "--strict" } else { "--json" };
        duro_schedule(dir.path())
            .args(["--check", json, "--dialect", dialect, "--views"])
            .arg(&views)
            .envs(env.iter().copied())
            .run()
    };
    let allowed = [("DURO_S3__LOAD_BUCKETS", "analytics"), ("DURO_S3__LOAD_FILE_ROOTS", "/data")];
    let output = check("postgres", &allowed);
    output.code(0);
    let document: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    let tables = document["tables"].as_array().unwrap();
    let pages = tables.iter().find(|t| t["name"] == "raw.pages").unwrap();
    assert_eq!(
        (&pages["kind"], &pages["interval_minutes"]),
        (&serde_json::json!("s3_load"), &serde_json::json!(30))
    );
    let days = tables.iter().find(|t| t["name"] == "reports.days").unwrap();
    assert_eq!(days["dependencies"], serde_json::json!(["raw.pages"]));

    write_files(
        dir.path(),
        &[(
            "views/raw/clicks — 1h.s3.yml",
            "bucket: analytics\ndata_date_column: day\ncopy: {max_errors: 3}\ncolumns: [{name: day, type: date}]\n",
        )],
    );
    let output = check("postgres", &[]);
    output.code(1);
    let problems = output.stdout;
    assert!(problems.contains("raw/pages — 30m.s3.yml:2: error: `bucket`: the bucket `analytics` is not one duro.yaml's `s3.load_buckets` allows"), "{problems}");
    assert!(problems.contains("raw/local — 1h.s3.yml:3: error: `bucket`: the folder `/data/exports` is not under one of duro.yaml's `s3.load_file_roots`"), "{problems}");
    assert!(
        problems.contains("raw/clicks — 1h.s3.yml:3: error: `copy`: `max_errors: 3` is Redshift's"),
        "{problems}"
    );
    let output = duro_schedule(dir.path())
        .args(["--check", "--dialect", "redshift", "--views"])
        .arg(&views)
        .envs(allowed.iter().copied())
        .run();
    output.code(1);
    assert!(
        output.stdout.contains(
            "raw/local — 1h.s3.yml:3: error: `bucket`: Redshift's COPY cannot read a local folder"
        ),
        "{}",
        output.both()
    );
    assert!(!output.stdout.contains("raw/pages"), "{}", output.both());
}

/// `--check --json` lists the sources of `views-example` (tables read that no file defines)
/// beside its tables, and `--manifest` writes the dbt-style manifest: read with Python's
/// standard library, its `parent_map` is exactly the catalog's dependencies and sources.
#[test]
fn the_manifest_of_the_example() {
    let dir = tempfile::tempdir().unwrap();
    let views = example_views();
    let manifest = dir.path().join("manifest.json");
    let output = duro_schedule(dir.path())
        .args(["--check", "--json", "--manifest"])
        .arg(&manifest)
        .arg("--views")
        .arg(&views)
        .run();
    output.code(0);
    let document: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    let sources = document["sources"].as_array().unwrap();
    assert!(
        sources.iter().any(|s| s["name"] == "finances.sales_raw"
            && s["read_by"] == serde_json::json!(["finances.revenue"])),
        "{sources:?}"
    );
    assert_manifest_is_the_catalog(&document, &manifest);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let cities = &written["nodes"]["model.duro.first__cities"];
    assert_eq!(
        (&cities["schema"], &cities["alias"], &cities["name"]),
        (
            &serde_json::json!("first"),
            &serde_json::json!("cities"),
            &serde_json::json!("first__cities")
        )
    );
    assert_eq!(cities["config"]["interval_minutes"], 1440);
    assert_eq!(cities["config"]["kind"], "view");
    assert!(cities["raw_code"].as_str().unwrap().contains("select"));
    assert_eq!(
        written["child_map"]["source.duro.finances.sales_raw"],
        serde_json::json!(["model.duro.finances__revenue"])
    );
}

/// The manifest is written on every run: also when the commit was processed before (the
/// short-cut reads nothing else), and never from a repository with errors.
#[test]
fn the_manifest_on_every_run() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("views/s/a — 1h.sql", "select 1 as id"),
            ("views/s/b — 1h.sql", "select id from s.a join raw.events using (id)"),
        ],
    );
    let views = dir.path().join("views");
    let git = |args: &[&str]| {
        let status =
            std::process::Command::new("git").args(args).current_dir(&views).output().unwrap();
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    };
    git(&["init", "-q"]);
    git(&[
        "-c",
        "user.email=t@example.com",
        "-c",
        "user.name=t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    ]);
    git(&["add", "."]);
    git(&["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "views"]);
    let manifest = dir.path().join("manifest.json");
    let run = || {
        duro_schedule(dir.path())
            .args(["--git", "--state", "duro.db", "--views"])
            .arg(&views)
            .arg("--manifest")
            .arg(&manifest)
            .run()
    };
    run().code(0);
    std::fs::remove_file(&manifest).unwrap();
    let again = run();
    again.code(0);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    assert_eq!(
        written["parent_map"]["model.duro.s__b"],
        serde_json::json!(["model.duro.s__a", "source.duro.raw.events"])
    );
    write_files(dir.path(), &[("views/s/c — 0h.sql", "select 1 as id")]);
    std::fs::remove_file(&manifest).unwrap();
    duro_schedule(dir.path())
        .args(["--state", "duro.db", "--views"])
        .arg(&views)
        .arg("--manifest")
        .arg(&manifest)
        .run()
        .code(1);
    assert!(!manifest.exists(), "no manifest from a repository with errors");
}

/// The manifest at `manifest`, read with Python's standard library (the seed's approach:
/// `json.load`, then the DAG's edges from `parent_map`), has exactly the dependencies and
/// sources of the `--check --json` document.
fn assert_manifest_is_the_catalog(document: &serde_json::Value, manifest: &Path) {
    let sources = document["sources"].as_array().unwrap();
    // What the catalog says each node reads, as manifest ids.
    let mut expected = std::collections::BTreeMap::new();
    for table in document["tables"].as_array().unwrap() {
        let id = duro_core::manifest::model_id(table["name"].as_str().unwrap());
        let parents: Vec<String> = table["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| duro_core::manifest::model_id(d.as_str().unwrap()))
            .collect();
        expected.insert(id, parents);
    }
    for source in sources {
        let id = duro_core::manifest::source_id(source["name"].as_str().unwrap());
        expected.insert(id.clone(), Vec::new());
        for reader in source["read_by"].as_array().unwrap() {
            let reader = duro_core::manifest::model_id(reader.as_str().unwrap());
            expected.get_mut(&reader).unwrap().push(id.clone());
        }
    }
    for parents in expected.values_mut() {
        parents.sort();
    }
    // The seed's approach: json.load, then the DAG's edges from parent_map.
    let script = "import json, sys\nm = json.load(open(sys.argv[1]))\nassert m['metadata']['dbt_schema_version'].startswith('https://schemas.getdbt.com/dbt/manifest/')\nfor node, parents in sorted(m['parent_map'].items()):\n    kind = m['nodes'][node]['resource_type'] if node in m['nodes'] else m['sources'][node]['resource_type']\n    print(node, kind, ','.join(parents))\n";
    let python =
        std::process::Command::new("python3").arg("-c").arg(script).arg(manifest).output().unwrap();
    assert!(python.status.success(), "{}", String::from_utf8_lossy(&python.stderr));
    let found: std::collections::BTreeMap<String, Vec<String>> = String::from_utf8(python.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let mut parts = line.split(' ');
            let (id, kind, parents) =
                (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap_or(""));
            assert_eq!(kind, if id.starts_with("model.") { "model" } else { "source" }, "{line}");
            let parents = parents.split(',').filter(|p| !p.is_empty()).map(str::to_owned).collect();
            (id.to_owned(), parents)
        })
        .collect();
    assert_eq!(found, expected);
}

/// The manifest of a generated repository (200 views reading one to three earlier views and
/// now and then a raw table) is its catalog too.
#[test]
fn the_manifest_of_a_generated_repository() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed: u64 = 7;
    let mut next = move |n: u64| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let mut files = Vec::new();
    for n in 0..200u64 {
        let mut reads: Vec<String> =
            (0..1 + next(3)).filter(|_| n > 0).map(|_| format!("g.t{}", next(n.max(1)))).collect();
        if next(5) == 0 {
            reads.push(format!("raw.r{}", next(10)));
        }
        let body = match reads.is_empty() {
            true => "select 1 as id".to_owned(),
            false => reads
                .iter()
                .map(|r| format!("select id from {r}"))
                .collect::<Vec<_>>()
                .join(" union all "),
        };
        files.push((format!("views/g/t{n} — 1h.sql"), body));
    }
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    write_files(dir.path(), &files);
    let manifest = dir.path().join("manifest.json");
    let output = duro_schedule(dir.path())
        .args(["--check", "--json", "--manifest"])
        .arg(&manifest)
        .arg("--views")
        .arg(dir.path().join("views"))
        .run();
    output.code(0);
    let document: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert!(!document["sources"].as_array().unwrap().is_empty());
    assert_manifest_is_the_catalog(&document, &manifest);
}
