//! Running buildspec commands the way CodeBuild does (reference §3.4): every command is its own
//! script, run by the chosen shell as its own process group; the working directory and the
//! shell variables (exported or not) a command leaves behind are carried into the next command
//! and phase, while functions, options and traps are not. Output is streamed line by line; a
//! command is done when its process exits, even if a daemon it started still holds the output
//! open; stopping kills the whole process group.

use std::path::{Path, PathBuf};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::executor::{Container, Proc};

/// Variables a shell sets for itself; never carried from one command to the next.
const SHELL_OWNED: &[&str] = &[
    "BASHOPTS",
    "SHELLOPTS",
    "EUID",
    "UID",
    "PPID",
    "OPTIND",
    "OPTARG",
    "LINENO",
    "RANDOM",
    "SECONDS",
    "SRANDOM",
    "EPOCHSECONDS",
    "EPOCHREALTIME",
    "HISTCMD",
    "_",
    "PWD",
    "OLDPWD",
    "SHLVL",
    "PS1",
    "PS2",
    "PS3",
    "PS4",
    "IFS",
    "FUNCNAME",
    "GROUPS",
    "DIRSTACK",
    "PIPESTATUS",
    "COMP_WORDBREAKS",
    "MACHTYPE",
    "HOSTTYPE",
    "OSTYPE",
    "HOSTNAME",
    "MAILCHECK",
    "HISTFILE",
    "HISTFILESIZE",
    "HISTSIZE",
    "TERM",
    "COLUMNS",
    "LINES",
    "__ferry_status",
    // Set afresh for every command by the runner.
    "CODEBUILD_BUILD_SUCCEEDING",
];

/// The carried state of one build's shell: where the next command starts, and the files
/// holding the variables the previous command left.
#[derive(Debug, Clone)]
pub struct ShellState {
    /// `sh` (default), `bash`, or a path.
    pub shell: String,
    pub cwd: PathBuf,
    /// Directory for the generated script and the state files.
    pub tmp: PathBuf,
    /// The buildspec's top-level `run-as`.
    pub default_user: Option<String>,
    /// Who runs the next commands: the phase's `run-as`, else [`ShellState::default_user`].
    pub user: Option<String>,
    /// What `vars.sh` and `exports.sh` hold now.
    vars: String,
    exports: String,
}

/// How one command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// Exit status (a signal death counts as 128 + signal, as shells report it).
    Code(i32),
    /// Stopped or timed out through the cancellation token.
    Cancelled,
}

impl ShellState {
    /// A fresh state starting in `cwd`, with state files under `tmp` (created).
    pub fn new(shell: Option<&str>, cwd: PathBuf, tmp: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&tmp)?;
        std::fs::write(tmp.join("vars.sh"), "")?;
        std::fs::write(tmp.join("exports.sh"), "")?;
        let shell = match shell.map(str::trim) {
            None | Some("") | Some("/bin/sh") | Some("sh") => "sh".to_owned(),
            Some("bash") | Some("/bin/bash") => "bash".to_owned(),
            Some(other) => other.to_owned(),
        };
        Ok(Self {
            shell,
            cwd,
            tmp,
            default_user: None,
            user: None,
            vars: String::new(),
            exports: String::new(),
        })
    }

    fn script_path(&self) -> PathBuf {
        self.tmp.join("script.sh")
    }

    /// The script for one command: three lines of preamble (so the command starts on line 4,
    /// as in CodeBuild's error messages), then the command as written.
    fn script(&self, command: &str) -> String {
        let q = |p: &Path| shell_quote(&p.to_string_lossy());
        let t = &self.tmp;
        // Under bash, `set` lists functions unless in POSIX mode; the subshell keeps the
        // command's own options untouched.
        let dump = if self.shell.ends_with("bash") {
            "(set -o posix; set)"
        } else {
            "set"
        };
        // The state goes to one file, its three parts apart by NUL bytes (no variable or
        // directory name can hold one).
        format!(
            "trap '__ferry_status=$?; {{ {dump}; printf \"\\\\0\"; export -p; printf \"\\\\0\"; pwd; }} > {state}; exit $__ferry_status' EXIT\n\
             . {vars_in} 2>/dev/null; . {exports_in} 2>/dev/null\n\
             cd {dir} || exit 1\n\
             {command}\n",
            state = q(&t.join("state.new")),
            vars_in = q(&t.join("vars.sh")),
            exports_in = q(&t.join("exports.sh")),
            dir = q(&self.cwd),
        )
    }

    /// Takes over what the last command left: its directory and its variables. The variable
    /// files are rewritten only when they change.
    fn absorb(&mut self) {
        let t = self.tmp.clone();
        let state = t.join("state.new");
        let Ok(text) = std::fs::read(&state) else {
            return;
        };
        let _ = std::fs::remove_file(&state);
        let text = String::from_utf8_lossy(&text);
        let mut parts = text.split('\0');
        let (Some(vars), Some(exports), Some(cwd)) = (parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        let cwd = cwd.trim_end_matches('\n');
        if !cwd.is_empty() {
            self.cwd = PathBuf::from(cwd);
        }
        let vars = filter_assignments(vars);
        if vars != self.vars {
            let _ = replace_file(&t.join("vars.sh"), &vars);
            self.vars = vars;
        }
        let exports: String = exports
            .lines()
            .filter(|l| {
                let name = l
                    .trim_start_matches("export ")
                    .trim_start_matches("declare -x ")
                    .split(['=', ' '])
                    .next()
                    .unwrap_or("");
                !SHELL_OWNED.contains(&name) && !name.starts_with("BASH")
            })
            .map(|l| format!("{l}\n"))
            .collect();
        if exports != self.exports {
            let _ = replace_file(&t.join("exports.sh"), &exports);
            self.exports = exports;
        }
    }

    /// Runs one command in `container` with `env` as its whole environment, sending its
    /// output lines (stdout and stderr, in arrival order) to `out`.
    pub async fn run(
        &mut self,
        container: &dyn Container,
        command: &str,
        env: &[(String, String)],
        out: &mpsc::Sender<String>,
        cancel: &CancellationToken,
    ) -> std::io::Result<Exit> {
        let script = self.script_path();
        replace_file(&script, &self.script(command))?;
        if self.user.is_some() {
            // Another user writes the state files: the directory is shared, as /tmp is.
            use std::os::unix::fs::PermissionsExt;
            tokio::fs::set_permissions(&self.tmp, std::fs::Permissions::from_mode(0o1777)).await?;
        }
        let args = [script.to_string_lossy().into_owned()];
        let proc = Proc {
            program: &self.shell,
            args: &args,
            env,
            cwd: &self.cwd,
            command,
            user: self.user.as_deref(),
        };
        let exit = container.run(proc, out, cancel).await?;
        if exit != Exit::Cancelled {
            self.absorb();
        }
        Ok(exit)
    }
}

impl ShellState {
    /// The values of `names` as the last command left them (unset ones are absent).
    pub async fn values(
        &self,
        container: &dyn Container,
        names: &[String],
        env: &[(String, String)],
    ) -> Vec<(String, String)> {
        if names.is_empty() {
            return Vec::new();
        }
        let t = &self.tmp;
        let mut script = format!(
            ". {} 2>/dev/null; . {} 2>/dev/null\n",
            shell_quote(&t.join("vars.sh").to_string_lossy()),
            shell_quote(&t.join("exports.sh").to_string_lossy())
        );
        for n in names {
            if n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                script.push_str(&format!(
                    "if [ \"${{{n}+set}}\" = set ]; then printf '%s\\0%s\\0' {n} \"${n}\"; fi\n"
                ));
            }
        }
        let args = ["-c".to_owned(), script];
        let proc = Proc {
            program: &self.shell,
            args: &args,
            env,
            cwd: &self.cwd,
            command: "",
            user: None,
        };
        let Some(out) = container.capture(proc).await else {
            return Vec::new();
        };
        let text = String::from_utf8_lossy(&out).into_owned();
        let parts: Vec<&str> = text.split('\0').collect();
        parts
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (c[0].to_owned(), c[1].to_owned()))
            .collect()
    }

    /// `text` expanded by the shell as inside double quotes (`$VAR`, `$(cmd)`), with the
    /// variables the last command left; `text` itself on failure.
    pub async fn expand(
        &self,
        container: &dyn Container,
        text: &str,
        env: &[(String, String)],
    ) -> String {
        let t = &self.tmp;
        let script = format!(
            ". {} 2>/dev/null; . {} 2>/dev/null; cd {} 2>/dev/null; eval \"printf '%s' \\\"$__FERRY_TEXT\\\"\"",
            shell_quote(&t.join("vars.sh").to_string_lossy()),
            shell_quote(&t.join("exports.sh").to_string_lossy()),
            shell_quote(&self.cwd.to_string_lossy()),
        );
        let mut env = env.to_vec();
        env.push(("__FERRY_TEXT".to_owned(), text.to_owned()));
        let args = ["-c".to_owned(), script];
        let proc = Proc {
            program: &self.shell,
            args: &args,
            env: &env,
            cwd: &self.cwd,
            command: "",
            user: None,
        };
        match container.capture(proc).await {
            Some(out) => String::from_utf8_lossy(&out).into_owned(),
            None => text.to_owned(),
        }
    }
}

/// Writes a file as a new one. Truncating a file that has data makes ext4 write it out when
/// it is closed (`auto_da_alloc`), a disk write per command for files read a moment later.
fn replace_file(path: &Path, text: &str) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::write(path, text)
}

/// Single-quotes a string for `sh`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

/// Keeps the assignments of a `set` listing that belong to the build, dropping the shell's
/// own variables (assigning some of them is an error, or fatal, in the next shell).
pub fn filter_assignments(listing: &str) -> String {
    let mut out = String::new();
    for entry in split_assignments(listing) {
        let name = entry.split('=').next().unwrap_or("");
        let valid = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if valid
            && !SHELL_OWNED.contains(&name)
            && !name.starts_with("BASH")
            && !entry[name.len() + 1..].starts_with('(')
        {
            out.push_str(entry);
            out.push('\n');
        }
    }
    out
}

/// Splits a `set` listing into whole assignments (values may span lines inside quotes).
fn split_assignments(listing: &str) -> Vec<&str> {
    let bytes = listing.as_bytes();
    let mut entries = Vec::new();
    let mut start = 0;
    let mut i = 0;
    #[derive(PartialEq)]
    enum Q {
        None,
        Single,
        DollarSingle,
        Double,
    }
    let mut q = Q::None;
    while i < bytes.len() {
        let c = bytes[i];
        match q {
            Q::None => match c {
                b'\'' => {
                    q = if i > 0 && bytes[i - 1] == b'$' {
                        Q::DollarSingle
                    } else {
                        Q::Single
                    }
                }
                b'"' => q = Q::Double,
                b'\\' => i += 1,
                b'\n' => {
                    if i > start {
                        entries.push(&listing[start..i]);
                    }
                    start = i + 1;
                }
                _ => {}
            },
            Q::Single => {
                if c == b'\'' {
                    q = Q::None;
                }
            }
            Q::DollarSingle | Q::Double => {
                if c == b'\\' {
                    i += 1;
                } else if (q == Q::DollarSingle && c == b'\'') || (q == Q::Double && c == b'"') {
                    q = Q::None;
                }
            }
        }
        i += 1;
    }
    if start < bytes.len() {
        entries.push(&listing[start..]);
    }
    entries
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::executor::{Executor, LocalExecutor, Provision};

    async fn host(dir: &Path) -> std::sync::Arc<dyn Container> {
        LocalExecutor
            .provision(Provision {
                build_id: "test",
                workspace: dir,
                image: "",
                privileged: false,
            })
            .await
            .unwrap()
    }

    #[test]
    fn set_listings_are_split_and_filtered() {
        let listing = "FOO='bar'\nMULTI='line1\nline2'\nPPID='12'\nBASH_VERSINFO=([0]=\"5\")\nEXP='a b'\"'\"'c'\nX=$'a\\tb'\nOPTIND='1'\n";
        let kept = filter_assignments(listing);
        assert_eq!(
            kept,
            "FOO='bar'\nMULTI='line1\nline2'\nEXP='a b'\"'\"'c'\nX=$'a\\tb'\n"
        );
    }

    async fn run_all(shell: Option<&str>, commands: &[&str]) -> (Vec<String>, Vec<Exit>) {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        let mut st = ShellState::new(shell, src, dir.path().join("tmp")).unwrap();
        let (tx, mut rx) = mpsc::channel(1024);
        let env = vec![("PATH".to_owned(), std::env::var("PATH").unwrap())];
        let cancel = CancellationToken::new();
        let mut exits = Vec::new();
        let place = host(dir.path()).await;
        for c in commands {
            exits.push(st.run(&*place, c, &env, &tx, &cancel).await.unwrap());
        }
        drop(tx);
        let mut lines = Vec::new();
        while let Some(l) = rx.recv().await {
            lines.push(l);
        }
        (lines, exits)
    }

    #[tokio::test]
    async fn directory_and_variables_carry_over_but_functions_do_not() {
        let (lines, exits) = run_all(
            None,
            &[
                "cd sub",
                "IMAGE_TAG=v1; export REGION=eu; f() { echo fn; }",
                "pwd | sed 's#.*/##'; echo \"tag=$IMAGE_TAG region=$REGION\"; sh -c 'echo child=$REGION/$IMAGE_TAG'",
                "f",
                "exit 3",
                "echo after",
            ],
        )
        .await;
        assert_eq!(lines[0], "sub");
        assert_eq!(lines[1], "tag=v1 region=eu");
        assert_eq!(
            lines[2], "child=eu/",
            "only exported variables reach child processes"
        );
        assert!(lines[3].contains("f: not found"), "{lines:?}");
        assert!(
            lines[3].contains(": 4: "),
            "the command is on line 4: {lines:?}"
        );
        assert_eq!(exits[3], Exit::Code(127));
        assert_eq!(exits[4], Exit::Code(3));
        assert_eq!(lines.last().unwrap(), "after");
    }

    #[tokio::test]
    async fn bash_when_asked_and_dash_semantics_by_default() {
        let (lines, _) = run_all(None, &["[[ 1 == 1 ]] && echo bashism"]).await;
        assert!(lines[0].contains("[[: not found"), "{lines:?}");
        let (lines, exits) = run_all(
            Some("bash"),
            &["A=$'x\\ty'; [[ 1 == 1 ]] && echo bashism", "echo \"[$A]\""],
        )
        .await;
        assert_eq!(lines, vec!["bashism".to_owned(), "[x\ty]".to_owned()]);
        assert_eq!(exits, vec![Exit::Code(0), Exit::Code(0)]);
    }

    #[tokio::test]
    async fn a_daemon_holding_output_does_not_hold_the_command() {
        let started = std::time::Instant::now();
        let (lines, exits) = run_all(None, &["(sleep 30; echo late) & echo started"]).await;
        assert_eq!(exits, vec![Exit::Code(0)]);
        assert_eq!(lines, vec!["started".to_owned()]);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn expansion_sees_carried_variables() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = ShellState::new(None, dir.path().to_owned(), dir.path().join("tmp")).unwrap();
        let (tx, _rx) = mpsc::channel(16);
        let env = vec![
            ("PATH".to_owned(), std::env::var("PATH").unwrap()),
            ("N".to_owned(), "7".to_owned()),
        ];
        let place = host(dir.path()).await;
        st.run(&*place, "V=x", &env, &tx, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(
            st.expand(&*place, "site-$N-$V-$(echo y).zip", &env).await,
            "site-7-x-y.zip"
        );
    }

    #[tokio::test]
    async fn cancelling_kills_the_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = ShellState::new(None, dir.path().to_owned(), dir.path().join("tmp")).unwrap();
        let marker = dir.path().join("survived");
        let (tx, _rx) = mpsc::channel(16);
        let cancel = CancellationToken::new();
        let c2 = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            c2.cancel();
        });
        let cmd = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let env = vec![("PATH".to_owned(), std::env::var("PATH").unwrap())];
        let place = host(dir.path()).await;
        let exit = st.run(&*place, &cmd, &env, &tx, &cancel).await.unwrap();
        assert_eq!(exit, Exit::Cancelled);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(
            !marker.exists(),
            "the background child was killed with its group"
        );
    }
}
