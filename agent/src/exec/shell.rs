//! The sim runtime's built-in shell: `ls`, `cat`, `echo`, `env`, `pwd`, `help` and
//! `exit [code]` over a container's volume files, so demos and tests have something to exec
//! into. With a TTY it behaves like a terminal: a prompt, echo, backspace, Ctrl-u clears
//! the line, Ctrl-c drops it, Ctrl-d on an empty line exits. Without one it reads commands
//! (or, for `cat` with no file, data) from stdin until it ends.
//!
//! The files are the container's volume directory, shown as `/`: paths cannot leave it
//! (`..` stops at `/`, and a path that resolves outside through a link is refused).

use std::collections::{BTreeMap, VecDeque};
use std::path::{Component, Path, PathBuf};

use tokio::sync::mpsc;

use super::{ExecControl, ExecEvent, ExecSpec};

/// Status of a command that is not one of the shell's.
const NOT_FOUND_STATUS: i32 = 127;
/// Largest file `cat` prints.
const MAX_CAT_BYTES: u64 = 16 * 1024 * 1024;
/// Bytes per output message.
const OUTPUT_CHUNK_BYTES: usize = 32 * 1024;
/// The commands, for `help` and for what `sh` accepts as a command name.
const COMMANDS: &[&str] = &["cat", "echo", "env", "exit", "help", "ls", "pwd"];

/// Where the shell runs: its files and its environment.
#[derive(Debug, Clone, Default)]
pub struct ShellCtx {
    /// The directory shown as `/`; `None` = no files.
    pub root: Option<PathBuf>,
    /// What `env` prints.
    pub env: BTreeMap<String, String>,
    /// Shown in the prompt.
    pub hostname: String,
}

/// Runs `spec` as the shell would, reading `input` and writing `output`, until it exits,
/// its input ends in a way that ends it, or the session drops `output`.
pub async fn run(
    ctx: ShellCtx,
    spec: ExecSpec,
    input: mpsc::Receiver<ExecControl>,
    output: mpsc::Sender<ExecEvent>,
) {
    let mut sh = Shell {
        ctx,
        out: Out {
            tx: output,
            tty: spec.tty,
        },
        input: Input {
            rx: input,
            pending: VecDeque::new(),
            closed: !spec.stdin,
            size: (spec.rows, spec.cols),
        },
        tty: spec.tty,
        status: 0,
    };
    let code = sh.start(&spec.command).await;
    let _ = sh.out.tx.send(ExecEvent::Exit(code)).await;
}

/// What one read from the terminal gave.
#[derive(Debug, PartialEq, Eq)]
enum Read {
    Line(String),
    Interrupt,
    Eof,
}

struct Input {
    rx: mpsc::Receiver<ExecControl>,
    pending: VecDeque<u8>,
    closed: bool,
    /// The terminal's (rows, columns), as last told.
    size: (u16, u16),
}

impl Input {
    /// The next control: stdin bytes are queued; `None` at end of input.
    async fn fill(&mut self) -> Option<ExecControl> {
        if self.closed {
            return None;
        }
        match self.rx.recv().await {
            None | Some(ExecControl::CloseStdin) => {
                self.closed = true;
                None
            }
            Some(c) => Some(c),
        }
    }

    /// The next byte; signals arrive as the byte a terminal would send (INT is Ctrl-c) or,
    /// for those that end a process, as `Err(status)`.
    async fn byte(&mut self) -> Option<Result<u8, i32>> {
        loop {
            if let Some(b) = self.pending.pop_front() {
                return Some(Ok(b));
            }
            match self.fill().await? {
                ExecControl::Stdin(b) => self.pending.extend(b),
                ExecControl::Signal(s) => match s.as_str() {
                    "INT" => return Some(Ok(0x03)),
                    "QUIT" => return Some(Ok(0x1c)),
                    "HUP" => return Some(Err(128 + 1)),
                    "KILL" => return Some(Err(128 + 9)),
                    "TERM" => return Some(Err(128 + 15)),
                    _ => {}
                },
                ExecControl::Resize { rows, cols } => self.size = (rows, cols),
                ExecControl::CloseStdin => {}
            }
        }
    }
}

struct Out {
    tx: mpsc::Sender<ExecEvent>,
    tty: bool,
}

impl Out {
    /// Writes `text` to stdout (or stderr), with `\r\n` line ends on a TTY.
    async fn write(&self, text: &[u8], stderr: bool) {
        let bytes = if self.tty { crlf(text) } else { text.to_vec() };
        for chunk in bytes.chunks(OUTPUT_CHUNK_BYTES) {
            let event = if stderr && !self.tty {
                ExecEvent::Stderr(chunk.to_vec())
            } else {
                ExecEvent::Stdout(chunk.to_vec())
            };
            let _ = self.tx.send(event).await;
        }
    }
}

fn crlf(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 16);
    for &b in text {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

struct Shell {
    ctx: ShellCtx,
    out: Out,
    input: Input,
    tty: bool,
    status: i32,
}

impl Shell {
    /// Runs the session's command; returns the exit status.
    async fn start(&mut self, argv: &[String]) -> i32 {
        let name = argv
            .first()
            .map_or("", |a| a.rsplit('/').next().unwrap_or(a));
        match (name, argv.get(1).map(String::as_str)) {
            ("sh" | "bash" | "ash", Some("-c")) => {
                let script = argv.get(2).cloned().unwrap_or_default();
                self.script(&script).await.unwrap_or(self.status)
            }
            ("sh" | "bash" | "ash", None) => self.interactive().await,
            _ => match self.command(argv).await {
                Some(code) => code,
                None => self.status,
            },
        }
    }

    /// Runs `;`- and newline-separated commands; `Some` when one of them exits.
    async fn script(&mut self, script: &str) -> Option<i32> {
        for line in script.lines() {
            for words in parse(line) {
                if let Some(code) = self.command(&words).await {
                    return Some(code);
                }
            }
        }
        None
    }

    /// The shell reading commands from stdin (with a prompt and line editing on a TTY).
    async fn interactive(&mut self) -> i32 {
        loop {
            if self.tty {
                let prompt = format!("{}:/# ", self.ctx.hostname);
                self.out.write(prompt.as_bytes(), false).await;
            }
            match self.read_line().await {
                Err(code) => return code,
                Ok(Read::Eof) => {
                    if self.tty {
                        self.out.write(b"exit\n", false).await;
                    }
                    return self.status;
                }
                Ok(Read::Interrupt) => self.status = 130,
                Ok(Read::Line(line)) => {
                    if let Some(code) = self.script(&line).await {
                        return code;
                    }
                }
            }
        }
    }

    /// One line of input: edited and echoed on a TTY, plain without one.
    async fn read_line(&mut self) -> Result<Read, i32> {
        let mut line: Vec<u8> = Vec::new();
        let mut escape = 0_u8;
        loop {
            let b = match self.input.byte().await {
                None if line.is_empty() => return Ok(Read::Eof),
                None => return Ok(Read::Line(String::from_utf8_lossy(&line).into_owned())),
                Some(r) => r?,
            };
            if !self.tty {
                if b == b'\n' {
                    return Ok(Read::Line(String::from_utf8_lossy(&line).into_owned()));
                }
                line.push(b);
                continue;
            }
            // Cursor keys and the like (ESC [ ... letter) are not taken.
            if escape > 0 {
                escape = if (escape == 1 && b == b'[') || (!b.is_ascii_alphabetic() && b != b'~') {
                    2
                } else {
                    0
                };
                continue;
            }
            match b {
                b'\r' | b'\n' => {
                    self.out.write(b"\n", false).await;
                    return Ok(Read::Line(String::from_utf8_lossy(&line).into_owned()));
                }
                0x03 => {
                    self.out.write(b"^C\n", false).await;
                    return Ok(Read::Interrupt);
                }
                0x04 if line.is_empty() => return Ok(Read::Eof),
                // One character, not one byte, goes.
                0x7f | 0x08 if !line.is_empty() => {
                    let text = String::from_utf8_lossy(&line).into_owned();
                    let mut chars = text.chars();
                    chars.next_back();
                    line = chars.as_str().as_bytes().to_vec();
                    self.out.write(b"\x08 \x08", false).await;
                }
                0x15 => {
                    let n = String::from_utf8_lossy(&line).chars().count();
                    line.clear();
                    self.out
                        .write("\x08 \x08".repeat(n).as_bytes(), false)
                        .await;
                }
                0x1b => escape = 1,
                b if b >= 0x20 => {
                    line.push(b);
                    self.out.write(&[b], false).await;
                }
                _ => {}
            }
        }
    }

    /// Runs one command; `Some(status)` when the shell is to exit.
    async fn command(&mut self, words: &[String]) -> Option<i32> {
        let name = words.first()?;
        let args = &words[1..];
        self.status = match name.as_str() {
            "exit" => {
                return Some(match args.first() {
                    None => self.status,
                    Some(a) => a.parse::<i32>().map_or(2, |n| n & 0xff),
                });
            }
            "echo" => {
                let mut text = args.join(" ");
                text.push('\n');
                self.out.write(text.as_bytes(), false).await;
                0
            }
            "env" => {
                let mut env = self.ctx.env.clone();
                // A terminal's size, as a login shell exports it: resizes show here.
                let (rows, cols) = self.input.size;
                if self.tty && rows > 0 && cols > 0 {
                    env.insert("COLUMNS".into(), cols.to_string());
                    env.insert("LINES".into(), rows.to_string());
                }
                let text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
                self.out.write(text.as_bytes(), false).await;
                0
            }
            "pwd" => {
                self.out.write(b"/\n", false).await;
                0
            }
            "help" => {
                let text = format!("commands: {}\n", COMMANDS.join(", "));
                self.out.write(text.as_bytes(), false).await;
                0
            }
            "ls" => self.ls(args).await,
            "cat" if args.is_empty() => self.cat_stdin().await,
            "cat" => self.cat(args).await,
            other => {
                let text = format!("sh: {other}: not found (try help)\n");
                self.out.write(text.as_bytes(), true).await;
                NOT_FOUND_STATUS
            }
        };
        None
    }

    async fn ls(&mut self, args: &[String]) -> i32 {
        let paths: Vec<String> = if args.is_empty() {
            vec!["/".into()]
        } else {
            args.to_vec()
        };
        let mut status = 0;
        for p in &paths {
            match self.resolve(p).and_then(|full| list(&full)) {
                Ok(names) => {
                    let mut text = String::new();
                    if paths.len() > 1 {
                        text.push_str(&format!("{p}:\n"));
                    }
                    for n in names {
                        text.push_str(&n);
                        text.push('\n');
                    }
                    self.out.write(text.as_bytes(), false).await;
                }
                Err(why) => {
                    let text = format!("ls: cannot access '{p}': {why}\n");
                    self.out.write(text.as_bytes(), true).await;
                    status = 2;
                }
            }
        }
        status
    }

    async fn cat(&mut self, args: &[String]) -> i32 {
        let mut status = 0;
        for p in args {
            match self.resolve(p).and_then(|full| read_file(&full)) {
                Ok(data) => self.out.write(&data, false).await,
                Err(why) => {
                    let text = format!("cat: {p}: {why}\n");
                    self.out.write(text.as_bytes(), true).await;
                    status = 1;
                }
            }
        }
        status
    }

    /// `cat` with no file: stdin back to stdout until it ends (on a TTY, line by line until
    /// Ctrl-d).
    async fn cat_stdin(&mut self) -> i32 {
        if self.tty {
            loop {
                match self.read_line().await {
                    Err(code) => return code,
                    Ok(Read::Eof) => return 0,
                    Ok(Read::Interrupt) => return 130,
                    Ok(Read::Line(mut l)) => {
                        l.push('\n');
                        self.out.write(l.as_bytes(), false).await;
                    }
                }
            }
        }
        loop {
            if !self.input.pending.is_empty() {
                let data: Vec<u8> = self.input.pending.drain(..).collect();
                self.out.write(&data, false).await;
            }
            match self.input.fill().await {
                None => return 0,
                Some(ExecControl::Stdin(b)) => self.out.write(&b, false).await,
                Some(ExecControl::Signal(s)) if s != "WINCH" && s != "CONT" => return 130,
                Some(_) => {}
            }
        }
    }

    /// The real path of `path` under the root; the error is what `ls` or `cat` says.
    fn resolve(&self, path: &str) -> Result<PathBuf, &'static str> {
        let root = self.ctx.root.as_ref().ok_or("No such file or directory")?;
        let full = root.join(inside(path));
        let real = full
            .canonicalize()
            .map_err(|_| "No such file or directory")?;
        let real_root = root
            .canonicalize()
            .map_err(|_| "No such file or directory")?;
        if real.starts_with(&real_root) {
            Ok(real)
        } else {
            Err("Permission denied")
        }
    }
}

/// `path` as a relative path that stays inside the root (`..` stops at `/`).
fn inside(path: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

fn list(dir: &Path) -> Result<Vec<String>, &'static str> {
    if dir.is_file() {
        return Ok(vec![
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ]);
    }
    let entries = std::fs::read_dir(dir).map_err(|_| "No such file or directory")?;
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

fn read_file(path: &Path) -> Result<Vec<u8>, &'static str> {
    let meta = std::fs::metadata(path).map_err(|_| "No such file or directory")?;
    if meta.is_dir() {
        return Err("Is a directory");
    }
    if meta.len() > MAX_CAT_BYTES {
        return Err("File too large for this shell");
    }
    std::fs::read(path).map_err(|_| "Permission denied")
}

/// A line split into commands (at unquoted `;`) of words (at unquoted blanks, with `'` and
/// `"` quoting).
fn parse(line: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, ';') => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                commands.push(std::mem::take(&mut words));
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    commands.push(words);
    commands.retain(|w| !w.is_empty());
    commands
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_into_commands_and_quoted_words() {
        assert_eq!(
            parse("echo hi; exit 7"),
            vec![vec!["echo", "hi"], vec!["exit", "7"]]
        );
        assert_eq!(
            parse(r#"echo 'a; b' "c d";;"#),
            vec![vec!["echo", "a; b", "c d"]]
        );
        assert!(parse("   ").is_empty());
    }

    #[test]
    fn paths_stay_inside_the_root() {
        assert_eq!(inside("/../../etc/passwd"), PathBuf::from("etc/passwd"));
        assert_eq!(inside("data/./x/../y"), PathBuf::from("data/y"));
        assert_eq!(inside("/"), PathBuf::new());
    }
}
