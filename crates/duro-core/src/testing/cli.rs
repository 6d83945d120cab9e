//! Running a program the way a test does: `Cli::new(program).arg(…).env(…).run()` gives its exit
//! status and both streams as text, with assertions (`success`, `failure`, `code`) that show the
//! command line and both streams when they fail; `start` runs it in the background. The program
//! never sees the test's own `DURO_*` variables, only those set with `env`.

use std::ffi::OsStr;
use std::fmt;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};

/// A program to run: its path (for a binary of the workspace,
/// `env!("CARGO_BIN_EXE_duro-schedule")`) or name, arguments, environment and folder.
pub struct Cli {
    command: Command,
}

impl Cli {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        let mut command = Command::new(program);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("DURO_") {
                command.env_remove(key);
            }
        }
        Self { command }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    pub fn args(mut self, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> Self {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    pub fn envs<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.command.envs(vars);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Where the program's standard output goes when started with `start` (captured by `run`
    /// unless set).
    pub fn stdout(mut self, stdout: Stdio) -> Self {
        self.command.stdout(stdout);
        self
    }

    /// Where the program's standard error goes when started with `start` (captured by `run`
    /// unless set).
    pub fn stderr(mut self, stderr: Stdio) -> Self {
        self.command.stderr(stderr);
        self
    }

    /// Runs the program to its end, capturing both streams.
    pub fn run(mut self) -> CliOutput {
        let line = self.to_string();
        let output = self.command.output().unwrap_or_else(|e| panic!("cannot run {line}: {e}"));
        CliOutput::new(line, output)
    }

    /// Starts the program and returns at once; its streams are inherited unless set with
    /// `stdout` and `stderr`. It is killed if still running when the handle is dropped.
    pub fn start(mut self) -> Running {
        let line = self.to_string();
        let child = self.command.spawn().unwrap_or_else(|e| panic!("cannot start {line}: {e}"));
        Running { line, child: Some(child) }
    }
}

/// The command line, for messages.
impl fmt::Display for Cli {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}", self.command.get_program().to_string_lossy())?;
        for arg in self.command.get_args() {
            write!(f, " {}", arg.to_string_lossy())?;
        }
        f.write_str("`")
    }
}

/// A program started in the background.
pub struct Running {
    line: String,
    child: Option<Child>,
}

impl Running {
    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("the program was not waited for yet")
    }

    pub fn id(&self) -> u32 {
        self.child.as_ref().expect("the program was not waited for yet").id()
    }

    /// Its standard output, to read while it runs (started with `stdout(Stdio::piped())`).
    pub fn take_stdout(&mut self) -> ChildStdout {
        self.child().stdout.take().expect("stdout is piped")
    }

    /// Its exit status if it has ended.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child().try_wait().expect("the program's status")
    }

    /// Kills it (SIGKILL) and waits for it to end.
    pub fn kill(mut self) {
        let mut child = self.child.take().expect("the program");
        child.kill().expect("the program is killed");
        child.wait().expect("the killed program ends");
    }

    /// Waits for it to end, with whatever of its streams were piped.
    pub fn wait(mut self) -> CliOutput {
        let child = self.child.take().expect("the program");
        let output = child.wait_with_output().expect("the program ends");
        CliOutput::new(std::mem::take(&mut self.line), output)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What a program did: its exit status and both streams (empty when not captured), which must be
/// UTF-8 text.
pub struct CliOutput {
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    fn new(command: String, output: Output) -> Self {
        let text = |bytes: Vec<u8>, stream: &str| {
            String::from_utf8(bytes)
                .unwrap_or_else(|e| panic!("{command} wrote {stream} that is not UTF-8: {e}"))
        };
        let stdout = text(output.stdout, "stdout");
        let stderr = text(output.stderr, "stderr");
        Self { command, status: output.status, stdout, stderr }
    }

    /// Panics unless it exited with status 0.
    #[track_caller]
    pub fn success(&self) -> &Self {
        if !self.status.success() {
            panic!("{self}: expected success");
        }
        self
    }

    /// Panics unless it exited with a status other than 0 (or was killed by a signal).
    #[track_caller]
    pub fn failure(&self) -> &Self {
        if self.status.success() {
            panic!("{self}: expected a failure");
        }
        self
    }

    /// Panics unless it exited with `code`.
    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        if self.status.code() != Some(code) {
            panic!("{self}: expected exit code {code}");
        }
        self
    }

    /// Both streams, standard output first.
    pub fn both(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// The command line, its status and both streams, for a failed assertion.
impl fmt::Display for CliOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.status, self.stdout, self.stderr
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Cli {
        Cli::new("sh").args(["-c", script])
    }

    #[test]
    fn status_and_both_streams() {
        let output = shell("echo out; echo \"err $DURO_X\" >&2; exit 3").env("DURO_X", "set").run();
        output.code(3).failure();
        assert_eq!((output.stdout.as_str(), output.stderr.as_str()), ("out\n", "err set\n"));
        assert_eq!(output.both(), "out\nerr set\n");
        shell("true").run().success();
    }

    #[test]
    fn a_failed_assertion_shows_the_command_and_both_streams() {
        let output = shell("echo out; echo err >&2; exit 3").run();
        let panic = std::panic::catch_unwind(|| {
            output.success();
        })
        .unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(
            message.starts_with("`sh -c echo out; echo err >&2; exit 3` exited with"),
            "{message}"
        );
        assert!(message.contains("--- stdout ---\nout\n\n--- stderr ---\nerr\n"), "{message}");
    }

    #[test]
    fn started_in_the_background() {
        let sleeper = shell("sleep 30").stdout(Stdio::null()).start();
        assert!(sleeper.id() > 0);
        sleeper.kill();
        let mut echo = shell("echo hi; exit 4").stdout(Stdio::piped()).start();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(echo.take_stdout()), &mut line)
            .unwrap();
        assert_eq!(line, "hi\n");
        let output = echo.wait();
        output.code(4);
    }
}
