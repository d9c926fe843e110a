//! Running buildspec commands the way CodeBuild does (reference §3.4): every command is its own
//! script, run by the chosen shell as its own process; the working directory and the shell
//! variables (exported or not) a command leaves behind are carried into the next command and
//! phase, while functions, options and traps are not. Output is streamed line by line; a
//! command is done when its process exits, even if a daemon it started still holds the output
//! open; stopping kills the whole process group.
//!
//! Where the place allows ([`Container::attach`]), one shell per build, the *driver*, stays up
//! in its own process group and runs each command's script in a forked subshell: a new
//! process per command as before, without starting a shell each time (a fork of a running
//! shell costs a fraction of starting one). The driver is told to run the script by a line on
//! its standard input and answers with a marker line carrying the exit status. Commands run
//! as another user (`run-as`) start their own shell each time.
//!
//! The state files in the build's `tmp/` are rewritten in place, never created anew per
//! command: creating and deleting files costs far more than writing them on ext4.

use std::path::{Path, PathBuf};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::executor::{Attached, Container, Event, Proc};

/// The longest output line kept whole; longer lines are cut.
const MAX_LINE: usize = 64 * 1024;

/// The files the shell keeps in the build's `tmp/`, all rewritten by every build.
pub const STATE_FILES: [&str; 5] = ["script.sh", "state", "vars.sh", "exports.sh", "env.sh"];

/// The driver: runs the script named by `$0` in a subshell whenever a line arrives, then
/// prints the line back behind a NUL, with the subshell's exit status.
const DRIVER: &str = "while read -r __ferry_go; do ( . \"$0\" ) </dev/null; printf '\\0ferry-%s %d\\n' \"$__ferry_go\" \"$?\"; done";

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
    /// What `vars.sh`, `exports.sh` and `env.sh` hold now.
    vars: String,
    exports: String,
    env_script: String,
    /// Counts commands; a command's state carries its number, so a state left by an earlier
    /// command (one that `exec`ed away, or was killed) is never taken for its own.
    seq: u64,
    /// Random, per build: marks the driver's answers.
    token: String,
    driver: Driver,
    handles: Handles,
}

/// Open handles on the shell's files, so that a command opens and closes none of them. A
/// clone starts with none and opens its own.
#[derive(Debug, Default)]
struct Handles {
    /// Files written over in place: name in `tmp`, handle, length.
    written: Vec<(&'static str, std::fs::File, u64)>,
    /// The state file the last command's trap wrote.
    state: Option<std::fs::File>,
}

impl Clone for Handles {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// The program for a buildspec's `env.shell`.
fn program(shell: Option<&str>) -> String {
    match shell.map(str::trim) {
        None | Some("") | Some("/bin/sh") | Some("sh") => "sh".to_owned(),
        Some("bash") | Some("/bin/bash") => "bash".to_owned(),
        Some(other) => other.to_owned(),
    }
}

/// The program and arguments of the driver for a build whose state files are in `tmp`,
/// with the default shell. It starts with an empty environment, so that one started ahead of
/// its build ([`crate::executor::Executor::prestart`]) serves any build: each command's
/// environment comes whole from `env.sh`.
pub fn default_driver(tmp: &Path) -> (String, Vec<String>) {
    let script = tmp.join("script.sh").to_string_lossy().into_owned();
    (
        program(None),
        vec!["-c".to_owned(), DRIVER.to_owned(), script],
    )
}

/// The build's driver shell while it runs (started with an empty environment: `env.sh`
/// gives each command its own). Not shared by clones.
#[derive(Default)]
struct Driver(Option<Box<dyn Attached>>);

impl Clone for Driver {
    fn clone(&self) -> Self {
        Driver(None)
    }
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "driver"
        } else {
            "no driver"
        })
    }
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
        let shell = program(shell);
        let mut state = Self {
            shell,
            cwd,
            tmp,
            default_user: None,
            user: None,
            vars: String::new(),
            exports: String::new(),
            env_script: String::new(),
            seq: 0,
            token: uuid::Uuid::new_v4().simple().to_string(),
            driver: Driver::default(),
            handles: Handles::default(),
        };
        for f in ["vars.sh", "exports.sh", "env.sh"] {
            state.write_file(f, "", None)?;
        }
        Ok(state)
    }

    /// Writes `text` over one of the shell's files in `tmp` (see [`write_over`]).
    fn write_file(
        &mut self,
        name: &'static str,
        text: &str,
        pad_at: Option<usize>,
    ) -> std::io::Result<()> {
        let at = match self.handles.written.iter().position(|(n, ..)| *n == name) {
            Some(at) => at,
            None => {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(self.tmp.join(name))?;
                let len = f.metadata()?.len();
                self.handles.written.push((name, f, len));
                self.handles.written.len() - 1
            }
        };
        let (_, f, len) = &mut self.handles.written[at];
        *len = write_over(f, *len, text, pad_at)?;
        Ok(())
    }

    /// What the last command's trap left in the state file (nothing yet: an error).
    fn read_state(&mut self) -> std::io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let f = match self.handles.state.take() {
            Some(f) => f,
            None => std::fs::File::open(self.tmp.join("state"))?,
        };
        let f = self.handles.state.insert(f);
        let mut buf = vec![0u8; 16 * 1024];
        let mut n = 0;
        loop {
            let got = f.read_at(&mut buf[n..], n as u64)?;
            n += got;
            // A regular file reads short only at its end.
            if n < buf.len() {
                break;
            }
            buf.resize(buf.len() * 2, 0);
        }
        buf.truncate(n);
        Ok(buf)
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
        // The state goes to one file, written over in place (`1<>` does not truncate): the
        // command's number, then its variables, exports and directory, each ended by a NUL
        // byte (no variable or directory name can hold one).
        format!(
            "trap '__ferry_status=$?; {{ printf \"%s\\0\" {seq}; {dump}; printf \"\\0\"; export -p; printf \"\\0\"; pwd; printf \"\\0\"; }} 1<> {state}; exit $__ferry_status' EXIT\n\
             . {env_in} 2>/dev/null; . {vars_in} 2>/dev/null; . {exports_in} 2>/dev/null\n\
             cd {dir} || exit 1\n\
             {command}\n",
            seq = self.seq,
            state = q(&t.join("state")),
            env_in = q(&t.join("env.sh")),
            vars_in = q(&t.join("vars.sh")),
            exports_in = q(&t.join("exports.sh")),
            dir = q(&self.cwd),
        )
    }

    /// Takes over what the last command left: its directory and its variables. The variable
    /// files are rewritten only when they change.
    fn absorb(&mut self) {
        let Ok(text) = self.read_state() else {
            return;
        };
        let text = String::from_utf8_lossy(&text);
        let mut parts = text.split('\0');
        let seq = self.seq.to_string();
        let (Some(mine), Some(vars), Some(exports), Some(cwd), Some(_)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return;
        };
        if mine != seq {
            return;
        }
        let cwd = cwd.trim_end_matches('\n');
        if !cwd.is_empty() {
            self.cwd = PathBuf::from(cwd);
        }
        let vars = filter_assignments(vars);
        if vars != self.vars {
            let _ = self.write_file("vars.sh", &vars, None);
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
                !SHELL_OWNED.contains(&name)
                    && !name.starts_with("BASH")
                    && !name.starts_with("__ferry_")
            })
            .map(|l| format!("{l}\n"))
            .collect();
        if exports != self.exports {
            let _ = self.write_file("exports.sh", &exports, None);
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
        self.seq += 1;
        let script = self.script_path();
        let text = self.script(command);
        // A shorter script is padded at the end of its third line, with spaces.
        self.write_file("script.sh", &text, Some(text.len() - command.len() - 2))?;
        if self.user.is_some() {
            // Another user writes the state file: the directory is shared, as /tmp is, and
            // the file is theirs to create.
            use std::os::unix::fs::PermissionsExt;
            tokio::fs::set_permissions(&self.tmp, std::fs::Permissions::from_mode(0o1777)).await?;
            let _ = std::fs::remove_file(self.tmp.join("state"));
            self.handles.state = None;
        } else if let Some(exit) = self.run_in_driver(container, env, out, cancel).await? {
            if exit != Exit::Cancelled {
                self.absorb();
            }
            return Ok(exit);
        }
        // A shell started for the command gets its environment from the executor (which may
        // adjust it, as the docker executor leaves the image's PATH alone): none in `env.sh`.
        self.set_env_script(String::new())?;
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

    /// A process of the build's shell that is not a buildspec command (the driver, a helper
    /// script), run as the server's user in the current directory.
    fn helper<'a>(&'a self, args: &'a [String], env: &'a [(String, String)]) -> Proc<'a> {
        Proc {
            program: &self.shell,
            args,
            env,
            cwd: &self.cwd,
            command: "",
            user: None,
        }
    }

    /// Puts `text` in `env.sh` (sourced before each command's own variables) if it holds
    /// something else.
    fn set_env_script(&mut self, text: String) -> std::io::Result<()> {
        if text != self.env_script {
            self.write_file("env.sh", &text, None)?;
            self.env_script = text;
        }
        Ok(())
    }

    /// Ends the build's driver, if one runs: its input is closed and it exits.
    pub async fn close(&mut self) {
        if let Some(mut driver) = self.driver.0.take() {
            driver.close().await;
        }
    }

    /// Runs the script just written in the build's driver, starting the driver first if none
    /// runs; `None` when the place cannot keep one.
    async fn run_in_driver(
        &mut self,
        container: &dyn Container,
        env: &[(String, String)],
        out: &mpsc::Sender<String>,
        cancel: &CancellationToken,
    ) -> std::io::Result<Option<Exit>> {
        let script = self.script_path().to_string_lossy().into_owned();
        if self.driver.0.is_none() {
            // Started with no environment (see [`default_driver`]).
            let args = ["-c".to_owned(), DRIVER.to_owned(), script.clone()];
            let Some(d) = container.attach(self.helper(&args, &[])).await else {
                return Ok(None);
            };
            self.driver.0 = Some(d);
        }
        // The driver has no environment of its own: the command's comes from `env.sh`.
        self.set_env_script(env_exports(env))?;
        let Some(driver) = self.driver.0.as_mut() else {
            return Ok(None);
        };
        let go = format!("{}{}", self.token, self.seq);
        if driver.send(format!("{go}\n").as_bytes()).await.is_err() {
            // It died between commands: this command starts its own shell.
            self.driver.0 = None;
            return Ok(None);
        }
        let marker = format!("\0ferry-{go} ");
        let exit = loop {
            tokio::select! {
                ev = driver.next() => match ev {
                    Event::Line(l) => {
                        if let Some(at) = l.find(&marker) {
                            if at > 0 {
                                let _ = out.send(cut(&l[..at]).to_owned()).await;
                            }
                            let code = l[at + marker.len()..].trim().parse().unwrap_or(1);
                            break Exit::Code(code);
                        }
                        let _ = out.send(undouble(cut(&l), &script)).await;
                    }
                    Event::Exited(code) => {
                        // The command killed its own shell's group: the next one starts a
                        // new driver.
                        self.driver.0 = None;
                        break Exit::Code(code);
                    }
                },
                _ = cancel.cancelled() => {
                    driver.kill().await;
                    self.driver.0 = None;
                    break Exit::Cancelled;
                }
            }
        };
        Ok(Some(exit))
    }
}

/// `line` cut to [`MAX_LINE`] bytes (at a character boundary).
fn cut(line: &str) -> &str {
    if line.len() <= MAX_LINE {
        return line;
    }
    let mut end = MAX_LINE;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

/// A shell's own error message as `sh script.sh` prints it. Run with `.` in the driver's
/// subshell, dash names the sourced file a second time (`script.sh: 4: script.sh: x: not
/// found`); the script is the same file either way, so the repeat is dropped.
fn undouble(line: &str, script: &str) -> String {
    let Some(rest) = line.strip_prefix(script).and_then(|r| r.strip_prefix(": ")) else {
        return line.to_owned();
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return line.to_owned();
    }
    match rest[digits..]
        .strip_prefix(": ")
        .and_then(|r| r.strip_prefix(script))
        .and_then(|r| r.strip_prefix(": "))
    {
        Some(message) => format!("{script}: {}: {message}", &rest[..digits]),
        None => line.to_owned(),
    }
}

/// Shell code that exports the variables of `env` (names a shell cannot assign are left
/// out: no shell can hand them on either).
fn env_exports(env: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in env {
        let valid = !k.is_empty()
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !k.starts_with(|c: char| c.is_ascii_digit());
        if valid {
            out.push_str(&format!("export {k}={}\n", shell_quote(v)));
        }
    }
    out
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
        let Some(out) = container.capture(self.helper(&args, env)).await else {
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
        match container.capture(self.helper(&args, &env)).await {
            Some(out) => String::from_utf8_lossy(&out).into_owned(),
            None => text.to_owned(),
        }
    }
}

/// Writes `text` over a file of length `old` in place, and answers its length after. A file is
/// never made shorter: where `text` is shorter than the file, it is padded to the file's length, with spaces inserted at `pad_at`
/// when given (a place where they change nothing), else with a comment line at the end (the
/// files sourced whole, which hold only complete statements). Creating and deleting a file
/// each time costs an inode allocation (slow on ext4 after many deletions); cutting a file
/// costs a journal transaction, and cutting it to nothing before writing makes ext4 write it
/// out on close (`auto_da_alloc`). Writing over it does none of these.
fn write_over(
    f: &std::fs::File,
    old: u64,
    text: &str,
    pad_at: Option<usize>,
) -> std::io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let old = usize::try_from(old).unwrap_or(usize::MAX);
    if text.len() >= old {
        f.write_all_at(text.as_bytes(), 0)?;
        return Ok(text.len() as u64);
    }
    let short = old - text.len();
    let padded = match pad_at {
        Some(at) => format!("{}{}{}", &text[..at], " ".repeat(short), &text[at..]),
        None if short == 1 => format!("{text}\n"),
        None => format!("{text}#{}\n", " ".repeat(short - 2)),
    };
    f.write_all_at(padded.as_bytes(), 0)?;
    Ok(old as u64)
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
            && !name.starts_with("__ferry_")
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
        LocalExecutor::default()
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
    async fn the_driver_keeps_each_commands_own_semantics() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        let tmp = dir.path().join("tmp");
        let script = tmp.join("script.sh").to_string_lossy().into_owned();
        let mut st = ShellState::new(None, src, tmp).unwrap();
        let (tx, mut rx) = mpsc::channel(1024);
        let path = ("PATH".to_owned(), std::env::var("PATH").unwrap());
        let gone = ("GONE".to_owned(), "here".to_owned());
        let cancel = CancellationToken::new();
        let place = host(dir.path()).await;
        let mut run = async |c: &str, env: &[(String, String)]| {
            let exit = st.run(&*place, c, env, &tx, &cancel).await.unwrap();
            let mut lines = Vec::new();
            while let Ok(l) = rx.try_recv() {
                lines.push(l);
            }
            (exit, lines)
        };
        let ok = |v: &str| ("CODEBUILD_BUILD_SUCCEEDING".to_owned(), v.to_owned());
        let base = vec![path.clone(), gone.clone(), ok("1")];
        // The shell's own messages read as `sh script.sh` prints them.
        let (exit, lines) = run("nothere", &base).await;
        assert_eq!(exit, Exit::Code(127));
        assert_eq!(lines, vec![format!("{script}: 4: nothere: not found")]);
        assert_eq!(run("echo \"$0\"", &base).await.1, vec![script.clone()]);
        // Output without a last newline is still a line.
        assert_eq!(run("printf abc", &base).await.1, vec!["abc".to_owned()]);
        // A command that replaces its shell leaves no state: the last one's stays.
        run("KEPT=1", &base).await;
        assert_eq!(run("LOST=1; exec true", &base).await.0, Exit::Code(0));
        let (_, lines) = run(
            "echo \"[$KEPT][$LOST][$CODEBUILD_BUILD_SUCCEEDING][$GONE]\"",
            &base,
        )
        .await;
        assert_eq!(lines, vec!["[1][][1][here]".to_owned()]);
        // Each command sees the environment it is given, not the first one's (variables a
        // command left still win, as in a shell started afresh).
        let changed = vec![path.clone(), ok("0"), ("NEW".into(), "a 'q'".into())];
        let (_, lines) = run(
            "echo \"[$CODEBUILD_BUILD_SUCCEEDING][$NEW][$GONE]\"; sh -c 'echo $NEW'",
            &changed,
        )
        .await;
        assert_eq!(
            lines,
            vec!["[0][a 'q'][here]".to_owned(), "a 'q'".to_owned()]
        );
        // Shorter scripts and variable files are padded, never cut: a long command, a long
        // variable, then short ones behave as if each file were new.
        let long = format!("LONG={}; echo \"${{#LONG}}\"", "x".repeat(300));
        assert_eq!(run(&long, &changed).await.1, vec!["300".to_owned()]);
        run("unset LONG", &changed).await;
        let (exit, lines) = run("nothere", &changed).await;
        assert_eq!(exit, Exit::Code(127));
        assert_eq!(lines, vec![format!("{script}: 4: nothere: not found")]);
        assert_eq!(
            run("echo \"[${LONG-unset}]\"", &changed).await.1,
            vec!["[unset]".to_owned()]
        );
        // A command that kills its own process group ends; the next one runs.
        assert_eq!(run("kill -9 0", &changed).await.0, Exit::Code(137));
        let (exit, lines) = run("echo \"again $KEPT\"", &changed).await;
        assert_eq!((exit, lines), (Exit::Code(0), vec!["again 1".to_owned()]));
    }

    #[test]
    fn files_are_written_over_and_padded_never_cut() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        let file = std::fs::File::create(&f).unwrap();
        let mut len = 0;
        let mut write = |text: &str, pad_at| {
            len = write_over(&file, len, text, pad_at).unwrap();
            let on_disk = std::fs::read_to_string(&f).unwrap();
            assert_eq!(on_disk.len() as u64, len);
            on_disk
        };
        write("0123456789\n", None);
        assert_eq!(write("ab\n", None), "ab\n#      \n");
        write("abcdefghij\n", None);
        assert_eq!(write("abcdefghi\n", None), "abcdefghi\n\n");
        assert_eq!(write("line\nx\n", Some(4)), "line    \nx\n");
        assert_eq!(
            write("a longer text than before\n", Some(0)),
            "a longer text than before\n"
        );
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
        let (lines, _) = run_all(Some("bash"), &["nothere"]).await;
        assert!(
            lines[0].ends_with("/tmp/script.sh: line 4: nothere: command not found"),
            "{lines:?}"
        );
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
