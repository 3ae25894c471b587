//! Runs the real binary on an in-process pseudo-terminal and reads its screen through a VT
//! parser, as a terminal would show it: nothing but the test process itself is needed.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// How often `wait_for` and `exit_status` look again.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// How long the reader may take to drain the output after the program has exited.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// One program running on its own pseudo-terminal; killed on drop.
pub struct Pty {
    /// Home, config, state and data dirs of the program.
    pub dir: tempfile::TempDir,
    master: Box<dyn MasterPty + Send>,
    writer: Mutex<Box<dyn Write + Send>>,
    child: Mutex<Box<dyn Child + Send + Sync>>,
    pid: u32,
    parser: Arc<Mutex<vt100::Parser>>,
    reader: JoinHandle<()>,
}

impl Pty {
    /// Starts `args` (the first is the program) on a `cols`x`rows` terminal, with the
    /// config, state and data dirs pointed into a fresh temporary folder.
    pub fn start(args: &[&str], cols: u16, rows: u16) -> Self {
        Self::start_with_env(args, &[], cols, rows)
    }

    /// Like `start`, with extra environment variables for the program.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)], cols: u16, rows: u16) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pair = native_pty_system()
            .openpty(size(cols, rows))
            .expect("open a pseudo-terminal");
        let (program, rest) = args.split_first().expect("a program to run");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(rest);
        cmd.cwd(dir.path());
        let home = dir.path();
        cmd.env("HOME", home);
        cmd.env("XDG_CONFIG_HOME", home.join("config"));
        cmd.env("XDG_STATE_HOME", home.join("state"));
        cmd.env("XDG_DATA_HOME", home.join("data"));
        cmd.env("TERM", "xterm-256color");
        // The size comes from the terminal, never from the test runner's environment.
        cmd.env_remove("COLUMNS");
        cmd.env_remove("LINES");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair
            .slave
            .spawn_command(cmd)
            .expect("spawn on the pseudo-terminal");
        // Only the program may hold the terminal's other end, so its exit ends the output.
        drop(pair.slave);
        let pid = child.process_id().expect("the program's pid");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            nonzero(rows),
            nonzero(cols),
            0,
        )));
        let mut output = pair.master.try_clone_reader().expect("terminal reader");
        let feed = Arc::clone(&parser);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            // Ends at EOF, or EIO once the program has exited and closed the terminal.
            while let Ok(n) = output.read(&mut buf) {
                if n == 0 {
                    break;
                }
                lock(&feed).process(&buf[..n]);
            }
        });
        let writer = pair.master.take_writer().expect("terminal writer");
        Self {
            dir,
            master: pair.master,
            writer: Mutex::new(writer),
            child: Mutex::new(child),
            pid,
            parser,
            reader,
        }
    }

    /// The screen's text now, one line per row, trailing blanks trimmed.
    pub fn screen(&self) -> String {
        let parser = lock(&self.parser);
        let screen = parser.screen();
        let (_, cols) = screen.size();
        screen.rows(0, cols.get()).collect::<Vec<_>>().join("\n")
    }

    /// Types keys: tmux-style names ("Enter", "Escape", "Tab", "BTab", "Space", "BSpace",
    /// "Up", "Down", "Left", "Right", "Home", "End", "PageUp", "PageDown", "Delete", "C-c")
    /// become their escape sequences, anything else is typed as text.
    pub fn send(&self, keys: &[&str]) {
        let bytes: Vec<u8> = keys.iter().flat_map(|k| key_bytes(k)).collect();
        self.write(&bytes);
    }

    /// Types `text` as it is.
    pub fn type_text(&self, text: &str) {
        self.write(text.as_bytes());
    }

    fn write(&self, bytes: &[u8]) {
        let mut writer = lock(&self.writer);
        writer.write_all(bytes).expect("write to the terminal");
        writer.flush().expect("flush the terminal");
    }

    /// Waits until the screen satisfies `pred`, or panics with the last screen.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen was:\n{screen}");
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// The program's exit status once it has exited, waiting up to `timeout`; by then
    /// everything it wrote is on the screen.
    pub fn exit_status(&self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = lock(&self.child).try_wait().expect("wait for the program") {
                break status;
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(POLL_INTERVAL);
        };
        let drained = Instant::now() + DRAIN_TIMEOUT;
        while !self.reader.is_finished() && Instant::now() < drained {
            std::thread::sleep(POLL_INTERVAL);
        }
        Some(i32::try_from(status.exit_code()).expect("exit code"))
    }

    /// PID of the program.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends the program SIGTERM, as a service manager stopping it would.
    #[cfg(unix)]
    pub fn terminate(&self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid).expect("pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    }

    /// Resizes the terminal to `cols`x`rows`; the program gets SIGWINCH.
    pub fn resize(&self, cols: u16, rows: u16) {
        lock(&self.parser).set_size(nonzero(rows), nonzero(cols));
        self.master
            .resize(size(cols, rows))
            .expect("resize the terminal");
    }

    /// The temporary home of this program.
    pub fn home(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Ok(None) = child.try_wait() {
            // SIGHUP, then SIGKILL after a short grace: by PID, nothing left behind.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A lock that a panicking test thread cannot poison for the others.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn size(cols: u16, rows: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

fn nonzero(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).expect("a terminal of at least 1x1")
}

/// The bytes a terminal sends for the key named `key`.
fn key_bytes(key: &str) -> Vec<u8> {
    let seq: &[u8] = match key {
        "Enter" => b"\r",
        "Escape" => b"\x1b",
        "Tab" => b"\t",
        "BTab" => b"\x1b[Z",
        "Space" => b" ",
        "BSpace" => b"\x7f",
        "Up" => b"\x1b[A",
        "Down" => b"\x1b[B",
        "Right" => b"\x1b[C",
        "Left" => b"\x1b[D",
        "Home" => b"\x1b[H",
        "End" => b"\x1b[F",
        "PageUp" => b"\x1b[5~",
        "PageDown" => b"\x1b[6~",
        "Delete" => b"\x1b[3~",
        _ => {
            if let Some(c) = key.strip_prefix("C-")
                && let [c] = c.as_bytes()
                && c.is_ascii_alphabetic()
            {
                return vec![c.to_ascii_lowercase() - b'a' + 1];
            }
            key.as_bytes()
        }
    };
    seq.to_vec()
}
