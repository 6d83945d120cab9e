//! Running processor scripts and `pip` as another OS user (`processors.run_as`): the command goes
//! through `setpriv` (util-linux) with that user's ids and groups, and the folders it writes to
//! are given to that user. Without `run_as` they run as the creator's own user.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

/// An OS user, resolved once (by `id`, so NSS users work too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl OsUser {
    /// Looks the user up; an unknown user is an error naming it.
    pub fn lookup(name: &str) -> Result<Self, String> {
        let id = |flag: &str| -> Result<u32, String> {
            let output = Command::new("id")
                .arg(flag)
                .arg("--")
                .arg(name)
                .output()
                .map_err(|e| format!("processors.run_as: cannot run `id`: {e}"))?;
            String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse()
                .ok()
                .filter(|_| output.status.success())
                .ok_or_else(|| {
                    format!("processors.run_as: there is no user `{name}` on this machine")
                })
        };
        Ok(Self { name: name.to_owned(), uid: id("-u")?, gid: id("-g")? })
    }

    /// Gives `path` (a folder the command writes to) to this user.
    pub fn give(&self, path: &Path) -> Result<(), String> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid)).map_err(|e| {
            format!(
                "cannot give {} to processors.run_as user `{}` (the creator must run as root to switch users): {e}",
                path.display(),
                self.name
            )
        })
    }
}

/// A command running `program`, as `user` when one is set.
pub(super) fn command(user: Option<&OsUser>, program: impl AsRef<OsStr>) -> Command {
    match user {
        None => Command::new(program),
        Some(user) => {
            let mut command = Command::new("setpriv");
            command
                .arg(format!("--reuid={}", user.uid))
                .arg(format!("--regid={}", user.gid))
                .arg("--init-groups")
                .arg("--")
                .arg(program);
            command
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_resolved_or_named_in_the_error() {
        let root = OsUser::lookup("root").unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        let error = OsUser::lookup("no-such-duro-user").unwrap_err();
        assert!(error.contains("no user `no-such-duro-user`"), "{error}");
    }

    #[test]
    fn commands_switch_user_through_setpriv() {
        let user = OsUser { name: "nobody".into(), uid: 65534, gid: 65534 };
        let command = command(Some(&user), "python3");
        let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(command.get_program(), "setpriv");
        assert_eq!(args, ["--reuid=65534", "--regid=65534", "--init-groups", "--", "python3"]);
        assert_eq!(super::command(None, "python3").get_program(), "python3");
    }
}
