//! Running a processor's Python: the table's own virtual environment (re-used while its
//! requirements are unchanged), then `python t.py in.csv out.csv` with a clean environment and a
//! time limit, its stdout and stderr kept (the end of each). Nothing here knows the warehouse:
//! failures are [`ScriptError`]s, which the build maps to its failure classes.

use super::super::run_as;
use super::super::run_as::OsUser;
use super::ProcessorRunner;
use crate::warehouse::render::TableName;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How much of a script's stdout and stderr is kept (the end of each).
const OUTPUT_LIMIT: usize = 8 * 1024;
/// The variables a processor script inherits (plus `LC_*`).
const SCRIPT_ENVIRONMENT: [&str; 6] = ["PATH", "HOME", "LANG", "TZ", "TMPDIR", "USER"];
/// The file in a virtual environment recording the requirements it was built with.
const REQUIREMENTS_MARKER: &str = ".duro-requirements.txt";

/// Why the Python side failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptError {
    /// The environment could not be made, or the script failed (with its output).
    Failed(String),
    /// The script ran past its time limit and was stopped.
    TimedOut(String),
}

fn failed(message: impl Into<String>) -> ScriptError {
    ScriptError::Failed(message.into())
}

/// How one script runs.
pub(super) struct ScriptRun<'a> {
    pub run_as: Option<&'a OsUser>,
    /// The copy of the script's folder: the working directory, and on `PYTHONPATH` for the
    /// script's helper modules.
    pub folder: &'a Path,
    pub timeout: Duration,
}

/// The table's virtual environment, created with the configured Python and re-used while its
/// requirements are unchanged. Returns its Python.
pub(super) fn virtual_environment(
    runner: &ProcessorRunner,
    live: &TableName,
    requirements: &str,
) -> Result<PathBuf, ScriptError> {
    let venv = runner.venv_dir.join(live.name());
    let python = venv.join("bin").join("python");
    let marker = venv.join(REQUIREMENTS_MARKER);
    let wanted = format!("{}\n{requirements}", runner.python);
    if python.exists() && std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str())
    {
        return Ok(python);
    }
    let _ = std::fs::remove_dir_all(&venv);
    std::fs::create_dir_all(&runner.venv_dir)
        .map_err(|e| failed(format!("cannot create {}: {e}", runner.venv_dir.display())))?;
    let needs_packages = requirements
        .lines()
        .any(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'));
    if let Some(user) = &runner.run_as {
        std::fs::create_dir_all(&venv)
            .map_err(|e| failed(format!("cannot create {}: {e}", venv.display())))?;
        user.give(&venv).map_err(failed)?;
    }
    let mut create = run_as::command(runner.run_as.as_ref(), &runner.python);
    create.args(["-m", "venv"]);
    if !needs_packages {
        create.arg("--without-pip");
    }
    create.arg(&venv);
    run_to_completion(create, "creating the virtual environment")?;
    if needs_packages {
        let file = venv.join("requirements.txt");
        std::fs::write(&file, requirements)
            .map_err(|e| failed(format!("cannot write the requirements: {e}")))?;
        let mut pip = run_as::command(runner.run_as.as_ref(), venv.join("bin").join("pip"));
        pip.args(["install", "--disable-pip-version-check", "--no-input", "-r"]).arg(&file);
        if let Err(error) = run_to_completion(pip, "installing the requirements") {
            let _ = std::fs::remove_dir_all(&venv);
            return Err(error);
        }
    }
    std::fs::write(&marker, wanted)
        .map_err(|e| failed(format!("cannot write {}: {e}", marker.display())))?;
    Ok(python)
}

fn run_to_completion(mut command: Command, what: &str) -> Result<(), ScriptError> {
    let output = command.output().map_err(|e| failed(format!("{what} failed to start: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    Err(failed(format!(
        "{what} failed ({})\n{}",
        output.status,
        describe_output(&output.stdout, &output.stderr)
    )))
}

/// Runs the script with a time limit; returns its (truncated) output.
pub(super) fn run_script(
    python: &Path,
    script: &Path,
    input: &Path,
    output: &Path,
    run: &ScriptRun<'_>,
) -> Result<String, ScriptError> {
    let mut command = run_as::command(run.run_as, python);
    command
        .arg(script)
        .arg(input)
        .arg(output)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The script gets a clean environment: Duro's secrets (warehouse, S3, Slack) are not its
    // business, and its output ends up in the UI and Slack.
    command.env_clear();
    for (key, value) in std::env::vars() {
        if SCRIPT_ENVIRONMENT.contains(&key.as_str()) || key.starts_with("LC_") {
            command.env(key, value);
        }
    }
    command.env("PYTHONPATH", run.folder).current_dir(run.folder);
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child =
        command.spawn().map_err(|e| failed(format!("cannot start {}: {e}", python.display())))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = stdout.read_to_end(&mut buffer);
        buffer
    });
    let err_reader = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = stderr.read_to_end(&mut buffer);
        buffer
    });
    let deadline = Instant::now() + run.timeout;
    let status = loop {
        if let Some(status) =
            child.try_wait().map_err(|e| failed(format!("lost the processor: {e}")))?
        {
            break Some(status);
        }
        if Instant::now() >= deadline {
            // The whole process group, so the script's own children stop too.
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = describe_output(
        &out_reader.join().unwrap_or_default(),
        &err_reader.join().unwrap_or_default(),
    );
    match status {
        None => Err(ScriptError::TimedOut(format!(
            "the processor ran longer than {} s and was stopped\n{log}",
            run.timeout.as_secs()
        ))),
        Some(status) if !status.success() => {
            Err(failed(format!("the processor failed ({status})\n{log}")))
        }
        Some(_) => Ok(log),
    }
}

/// The end of stdout and stderr, labelled, for the run record.
fn describe_output(stdout: &[u8], stderr: &[u8]) -> String {
    let tail = |bytes: &[u8]| -> String {
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim_end();
        if text.len() <= OUTPUT_LIMIT {
            return text.to_owned();
        }
        let mut start = text.len() - OUTPUT_LIMIT;
        while !text.is_char_boundary(start) {
            start += 1;
        }
        format!("[… {start} bytes cut …]\n{}", &text[start..])
    };
    let mut parts = Vec::new();
    for (name, bytes) in [("stdout", stdout), ("stderr", stderr)] {
        let text = tail(bytes);
        if !text.is_empty() {
            parts.push(format!("--- {name} ---\n{text}"));
        }
    }
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `script` with the system Python on an input file; returns the result and the output
    /// file's text.
    fn run(script: &str, timeout_seconds: u64) -> (Result<String, ScriptError>, Option<String>) {
        let work = tempfile::tempdir().unwrap();
        let (path, input, output) =
            (work.path().join("t.py"), work.path().join("in.csv"), work.path().join("out.csv"));
        std::fs::write(&path, script).unwrap();
        std::fs::write(&input, "a\n1\n").unwrap();
        let python = PathBuf::from("python3");
        let run = ScriptRun {
            run_as: None,
            folder: work.path(),
            timeout: Duration::from_secs(timeout_seconds),
        };
        let result = run_script(&python, &path, &input, &output, &run);
        (result, std::fs::read_to_string(&output).ok())
    }

    #[test]
    fn a_script_reads_its_input_writes_its_output_and_is_heard() {
        let script = "import sys\nprint('rows:', open(sys.argv[1]).read().count(chr(10)))\nprint('oops', file=sys.stderr)\nopen(sys.argv[2], 'w').write('done')\n";
        let (result, output) = run(script, 30);
        let log = result.unwrap();
        assert!(log.contains("--- stdout ---\nrows: 2"), "{log}");
        assert!(log.contains("--- stderr ---\noops"), "{log}");
        assert_eq!(output.as_deref(), Some("done"));
    }

    #[test]
    fn failures_and_timeouts_are_told_apart() {
        let (result, _) = run("import sys\nprint('bad input')\nsys.exit(3)\n", 30);
        match result {
            Err(ScriptError::Failed(message)) => {
                assert!(
                    message.contains("exit status: 3") && message.contains("bad input"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
        let (result, _) = run("import time\nprint('started', flush=True)\ntime.sleep(30)\n", 1);
        match result {
            Err(ScriptError::TimedOut(message)) => {
                assert!(
                    message.contains("longer than 1 s") && message.contains("started"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_the_end_of_long_output_is_kept() {
        let long = format!("{}é{}", "x".repeat(OUTPUT_LIMIT), "the end");
        let text = describe_output(long.as_bytes(), b"");
        assert!(text.starts_with("--- stdout ---\n[… "), "{}", &text[..40]);
        assert!(text.ends_with("the end"));
        assert!(text.len() < OUTPUT_LIMIT + 64);
        assert_eq!(describe_output(b"", b"  \n"), "");
        assert_eq!(describe_output(b"out\n", b"err"), "--- stdout ---\nout\n--- stderr ---\nerr");
    }
}
