//! `actions.jsonl` in the console's state directory: one JSON line per finished action,
//! appended by the executor and read back (newest lines only) when the console starts.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Entry, EntryState};
use crate::ops::Outcome;

/// Bytes read from the end of the file per step while looking for the newest lines.
const TAIL_BLOCK_BYTES: u64 = 64 * 1024;
/// Most bytes read back at start, however long the lines are: memory stays bounded.
const TAIL_MAX_BYTES: u64 = 8 * 1024 * 1024;

/// One line of `actions.jsonl`. Fields added later are optional so older lines still read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRecord {
    /// When the action finished, ms since the Unix epoch.
    pub time_unix_ms: u64,
    #[serde(default)]
    pub started_unix_ms: Option<u64>,
    #[serde(default)]
    pub duration_ms: Option<u64>,
    pub op: u64,
    pub action: String,
    #[serde(default)]
    pub target: Option<String>,
    pub title: String,
    #[serde(default)]
    pub plan: Vec<String>,
    /// `done`, `failed` or `cancelled`.
    pub outcome: String,
    #[serde(default)]
    pub message: String,
}

impl HistoryRecord {
    /// The pane's entry for this record (from an earlier run: op 0, no clock).
    pub fn into_entry(self) -> Entry {
        let outcome = match self.outcome.as_str() {
            "done" => Outcome::Done(self.message),
            "cancelled" => Outcome::Cancelled(self.message),
            _ => Outcome::Failed(self.message),
        };
        Entry {
            op: 0,
            action: self.action,
            target: self.target.unwrap_or_else(|| "-".into()),
            title: self.title,
            started_unix_ms: self.started_unix_ms.unwrap_or(self.time_unix_ms),
            started: None,
            duration: self.duration_ms.map(Duration::from_millis),
            state: EntryState::Finished(outcome),
        }
    }
}

/// The line appended for a finished action (without its newline).
pub fn record_line(record: &HistoryRecord) -> String {
    // A struct of strings and numbers always serialises.
    serde_json::to_string(record).unwrap_or_default()
}

/// Appends `record` to the history in `dir`; a failure is logged, not fatal (the action
/// itself is done and audited by the agents either way).
pub async fn append(dir: &Path, record: &HistoryRecord) {
    use tokio::io::AsyncWriteExt;
    let path = dir.join(crate::ops::exec::HISTORY_FILE);
    let line = format!("{}\n", record_line(record));
    let write = async {
        fleetdeck_core::private::create_dir(dir)?;
        let mut f = tokio::fs::OpenOptions::from(fleetdeck_core::private::options())
            .create(true)
            .append(true)
            .open(&path)
            .await?;
        f.write_all(line.as_bytes()).await?;
        // tokio hands the write to a background thread: without a flush it may still be in
        // flight when the action is reported done (or the console exits), and a console
        // opened next would not see it.
        f.flush().await
    };
    if let Err(e) = write.await {
        tracing::warn!("cannot append to {}: {e}", path.display());
    }
}

/// What reading the history back found.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Newest records, oldest first.
    pub records: Vec<HistoryRecord>,
    /// Lines that could not be read (skipped).
    pub skipped: usize,
    /// The first unreadable line's number counted from the end (1 = last line), and why.
    pub first_error: Option<(usize, String)>,
}

/// Reads at most the newest `max` records of `path`, reading only the file's tail. A
/// missing file is an empty history; unreadable lines are skipped and counted.
pub fn read_newest(path: &Path, max: usize) -> std::io::Result<LoadReport> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LoadReport::default()),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let mut start = len;
    let mut tail: Vec<u8> = Vec::new();
    // Step back block by block until the tail holds more than `max` line ends (so its
    // first, possibly partial, line can be dropped) or the whole file is read.
    while start > 0 && len - start < TAIL_MAX_BYTES {
        let from = start.saturating_sub(TAIL_BLOCK_BYTES);
        let mut block = vec![0; usize::try_from(start - from).unwrap_or(0)];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut block)?;
        block.extend_from_slice(&tail);
        tail = block;
        start = from;
        if tail.iter().filter(|b| **b == b'\n').count() > max {
            break;
        }
    }
    let text = String::from_utf8_lossy(&tail);
    let mut lines: Vec<&str> = text.split('\n').collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0);
    }
    let mut report = LoadReport::default();
    for (i, line) in lines
        .iter()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
    {
        if report.records.len() == max {
            break;
        }
        match serde_json::from_str::<HistoryRecord>(line) {
            Ok(r) => report.records.push(r),
            Err(e) => {
                report.skipped += 1;
                report.first_error.get_or_insert((i + 1, e.to_string()));
            }
        }
    }
    report.records.reverse();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u64) -> HistoryRecord {
        HistoryRecord {
            time_unix_ms: 1_000 + i,
            started_unix_ms: Some(900 + i),
            duration_ms: Some(100),
            op: i,
            action: "stop".into(),
            target: Some(format!("n1/c{i}")),
            title: format!("Stop c{i}"),
            plan: vec![],
            outcome: "done".into(),
            message: format!("stopped c{i}"),
        }
    }

    #[test]
    fn reads_the_newest_lines_and_skips_corrupt_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("actions.jsonl");
        let mut text = String::new();
        for i in 0..2_000 {
            text.push_str(&record_line(&record(i)));
            text.push('\n');
            if i == 1_990 {
                text.push_str("{\"time_unix_ms\": 12, truncated\n");
            }
        }
        std::fs::write(&path, text).expect("write");
        let report = read_newest(&path, 20).expect("read");
        assert_eq!(report.records.len(), 20);
        assert_eq!(report.records.first().map(|r| r.op), Some(1_980));
        assert_eq!(report.records.last().map(|r| r.op), Some(1_999));
        assert_eq!(report.skipped, 1);
        assert_eq!(report.first_error.map(|(n, _)| n), Some(10));
    }

    #[test]
    fn older_lines_without_the_new_fields_still_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("actions.jsonl");
        std::fs::write(
            &path,
            "{\"time_unix_ms\":5000,\"op\":3,\"action\":\"cordon\",\"title\":\"Cordon n2\",\"plan\":[],\"outcome\":\"failed\",\"message\":\"n2 does not answer\"}\n",
        )
        .expect("write");
        let report = read_newest(&path, 10).expect("read");
        let entry = report.records[0].clone().into_entry();
        assert_eq!(entry.started_unix_ms, 5000);
        assert_eq!(entry.duration, None);
        assert_eq!(entry.target, "-");
        assert_eq!(
            entry.state,
            EntryState::Finished(Outcome::Failed("n2 does not answer".into()))
        );
        assert!(
            read_newest(&dir.path().join("none"), 10)
                .expect("missing is empty")
                .records
                .is_empty()
        );
    }
}
