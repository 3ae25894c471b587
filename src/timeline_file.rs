//! The incident timeline on disk, so an export spans a console restart: one JSON line per
//! entry, appended to an owner-only file in the console's state directory as entries
//! happen, and read back at start. The file is bounded: once it holds twice the entries the
//! timeline keeps, it is rewritten (to a temporary file, then renamed) with the newest.
//! A damaged or cut file costs its unreadable lines and one warning, never the start.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::alerts::{Entry, EntryKind, Severity, Stamp, TIMELINE_MAX_ENTRIES, Timeline};
use crate::app::App;
use fleetdeck_core::private;

/// The file's name in the console's state directory.
pub const TIMELINE_FILE: &str = "timeline.jsonl";
/// Lines the file may hold before it is rewritten with the newest `TIMELINE_MAX_ENTRIES`.
const REWRITE_AT_LINES: usize = 2 * TIMELINE_MAX_ENTRIES;
/// Most bytes read back at start; a larger file (not one this console wrote) is read from
/// its end.
const READ_MAX_BYTES: u64 = 32 * 1024 * 1024;

/// One entry as a line of the file.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    unix_ms: u64,
    kind: EntryKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    severity: Option<Severity>,
    text: String,
}

impl Record {
    fn of(e: &Entry) -> Self {
        Self {
            unix_ms: e.at.unix_ms,
            kind: e.kind,
            severity: e.severity,
            text: e.text.clone(),
        }
    }

    /// The entry, placed on the monotonic clock as long before `now` as it happened.
    fn entry(self, now: Stamp) -> Entry {
        let ago = std::time::Duration::from_millis(now.unix_ms.saturating_sub(self.unix_ms));
        Entry {
            at: Stamp {
                at: now.at.checked_sub(ago).unwrap_or(now.at),
                unix_ms: self.unix_ms,
            },
            kind: self.kind,
            severity: self.severity,
            text: self.text,
        }
    }
}

/// What was read back at start.
#[derive(Debug, Default)]
pub struct ReadBack {
    /// The newest entries, oldest first, at most `TIMELINE_MAX_ENTRIES`.
    pub entries: Vec<Entry>,
    /// One line for the log when some of the file could not be read.
    pub warning: Option<String>,
}

/// The timeline's file, and how much of the timeline is in it.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    /// Lines in the file.
    lines: usize,
    /// `Timeline::pushed()` when the file last caught up.
    mark: u64,
    /// A write failed and was reported; the next failure is not reported again.
    failing: bool,
}

impl Journal {
    /// Opens the journal at `path` and reads back what it holds (nothing when it does not
    /// exist). A file with unreadable lines, or over its bound, is rewritten with what could
    /// be read, so appends start on a clean line.
    pub fn open(path: &Path, now: Stamp) -> (Self, ReadBack) {
        let mut journal = Self {
            path: path.to_path_buf(),
            lines: 0,
            mark: 0,
            failing: false,
        };
        let (records, bad, read_error) = match read_lines(path) {
            Ok(read) => (read.0, read.1, None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => (Vec::new(), 0, None),
            Err(e) => (Vec::new(), 0, Some(e)),
        };
        let total = records.len();
        let keep = records
            .into_iter()
            .skip(total.saturating_sub(TIMELINE_MAX_ENTRIES));
        let entries: Vec<Entry> = keep.map(|r| r.entry(now)).collect();
        journal.lines = total;
        let mut warning = read_error.map(|e| {
            format!(
                "cannot read the incident timeline {}: {e}; it starts empty",
                path.display()
            )
        });
        if bad > 0 {
            warning = Some(format!(
                "incident timeline {}: {bad} damaged line{} skipped, {} entr{} read back",
                path.display(),
                if bad == 1 { "" } else { "s" },
                entries.len(),
                if entries.len() == 1 { "y" } else { "ies" },
            ));
        }
        if (bad > 0 || total > TIMELINE_MAX_ENTRIES)
            && let Err(e) = journal.rewrite(entries.iter())
        {
            warning.get_or_insert(format!(
                "cannot rewrite the incident timeline {}: {e}",
                path.display()
            ));
        }
        (journal, ReadBack { entries, warning })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the entries `timeline` gained since the last call. Returns an error line the
    /// first time a write fails (and again only after one has succeeded).
    pub fn sync(&mut self, timeline: &Timeline) -> Option<String> {
        let pushed = timeline.pushed();
        if pushed == self.mark {
            return None;
        }
        let new = usize::try_from(pushed - self.mark).unwrap_or(usize::MAX);
        let result = if self.lines + new > REWRITE_AT_LINES || new > timeline.len() {
            self.rewrite(timeline.entries())
        } else {
            self.append(timeline.entries().skip(timeline.len() - new))
        };
        // Entries that could not be written are not tried again: the next write says so.
        self.mark = pushed;
        match result {
            Ok(()) => {
                self.failing = false;
                None
            }
            Err(e) if !self.failing => {
                self.failing = true;
                Some(format!(
                    "cannot write the incident timeline {}: {e}",
                    self.path.display()
                ))
            }
            Err(_) => None,
        }
    }

    /// `entries` as file lines and their count, with the file's folder made.
    fn prepare<'a>(&self, entries: impl Iterator<Item = &'a Entry>) -> io::Result<(String, usize)> {
        let mut text = String::new();
        let mut n = 0;
        for e in entries {
            text.push_str(&line(e)?);
            n += 1;
        }
        if let Some(dir) = self.path.parent() {
            private::create_dir(dir)?;
        }
        Ok((text, n))
    }

    fn append<'a>(&mut self, entries: impl Iterator<Item = &'a Entry>) -> io::Result<()> {
        let (text, n) = self.prepare(entries)?;
        let mut file = private::options()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(text.as_bytes())?;
        self.lines += n;
        Ok(())
    }

    fn rewrite<'a>(&mut self, entries: impl Iterator<Item = &'a Entry>) -> io::Result<()> {
        let (text, n) = self.prepare(entries)?;
        private::write_atomic(&self.path, text.as_bytes())?;
        self.lines = n;
        Ok(())
    }
}

/// Opens the timeline's file at `path` for `app`: what an earlier run recorded goes back
/// into its timeline, the restart is recorded, and a damaged file is one warning in the log.
pub fn resume(app: &mut App, path: &Path) -> Journal {
    let now = Stamp {
        at: app.now,
        unix_ms: app.now_unix_ms,
    };
    let (journal, back) = Journal::open(path, now);
    if let Some(warning) = &back.warning {
        tracing::warn!("{warning}");
    }
    let earlier = back.entries.len();
    if earlier > 0 {
        app.alerts.restore_timeline(back.entries);
        app.alerts.record(
            EntryKind::Observed,
            format!("console started; {earlier} earlier entries read back"),
            now,
        );
    }
    journal
}

fn line(e: &Entry) -> io::Result<String> {
    let mut line = serde_json::to_string(&Record::of(e)).map_err(io::Error::other)?;
    line.push('\n');
    Ok(line)
}

/// The file's readable records, oldest first, and how many lines were not readable.
fn read_lines(path: &Path) -> io::Result<(Vec<Record>, usize)> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut bytes = Vec::new();
    let skip_first = len > READ_MAX_BYTES;
    if skip_first {
        file.seek(SeekFrom::Start(len - READ_MAX_BYTES))?;
    }
    file.take(READ_MAX_BYTES).read_to_end(&mut bytes)?;
    let mut lines = bytes.split(|b| *b == b'\n');
    if skip_first {
        // Read from the middle of the file: the first line is a piece of one.
        lines.next();
    }
    let (mut records, mut bad) = (Vec::new(), 0);
    for line in lines.filter(|l| !l.iter().all(u8::is_ascii_whitespace)) {
        match serde_json::from_slice::<Record>(line) {
            Ok(r) => records.push(r),
            Err(_) => bad += 1,
        }
    }
    Ok((records, bad))
}

#[cfg(test)]
#[path = "timeline_file_tests.rs"]
mod tests;
