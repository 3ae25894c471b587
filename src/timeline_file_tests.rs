//! The timeline's file on a real temporary directory: what one console writes the next
//! reads back, damaged and oversized files, owner-only modes.

use std::time::{Duration, Instant};

use super::*;

const T0_MS: u64 = 1_795_000_000_000;

fn stamp(at: Instant, secs: u64) -> Stamp {
    Stamp {
        at: at + Duration::from_secs(secs),
        unix_ms: T0_MS + secs * 1000,
    }
}

fn timeline(at: Instant, n: u64) -> Timeline {
    let mut t = Timeline::default();
    for i in 0..n {
        t.push(
            stamp(at, i),
            EntryKind::Firing,
            Some(Severity::Warning),
            format!("alert {i} | with a bar"),
        );
    }
    t
}

#[test]
fn what_one_console_writes_the_next_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state").join(TIMELINE_FILE);
    let t0 = Instant::now();
    let (mut journal, back) = Journal::open(&path, stamp(t0, 0));
    assert!(back.entries.is_empty() && back.warning.is_none());
    let mut t = timeline(t0, 3);
    assert_eq!(journal.sync(&t), None);
    t.push(stamp(t0, 5), EntryKind::Resolved, None, "alert 0 resolved");
    assert_eq!(journal.sync(&t), None);
    // Nothing new: nothing written.
    assert_eq!(journal.sync(&t), None);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");

    let later = stamp(t0, 3600);
    let (_, back) = Journal::open(&path, later);
    assert_eq!(back.warning, None);
    let got: Vec<(u64, EntryKind, Option<Severity>, &str)> = back
        .entries
        .iter()
        .map(|e| (e.at.unix_ms, e.kind, e.severity, e.text.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                T0_MS,
                EntryKind::Firing,
                Some(Severity::Warning),
                "alert 0 | with a bar"
            ),
            (
                T0_MS + 1000,
                EntryKind::Firing,
                Some(Severity::Warning),
                "alert 1 | with a bar"
            ),
            (
                T0_MS + 2000,
                EntryKind::Firing,
                Some(Severity::Warning),
                "alert 2 | with a bar"
            ),
            (T0_MS + 5000, EntryKind::Resolved, None, "alert 0 resolved"),
        ]
    );
    // Placed on the monotonic clock as long ago as they happened.
    assert_eq!(later.at - back.entries[0].at.at, Duration::from_secs(3600));
}

#[cfg(unix)]
#[test]
fn the_file_and_its_folder_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new").join(TIMELINE_FILE);
    let t0 = Instant::now();
    let (mut journal, _) = Journal::open(&path, stamp(t0, 0));
    journal.sync(&timeline(t0, 1));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
}

#[test]
fn a_damaged_or_cut_file_is_read_as_far_as_it_goes_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(TIMELINE_FILE);
    let t0 = Instant::now();
    let (mut journal, _) = Journal::open(&path, stamp(t0, 0));
    journal.sync(&timeline(t0, 3));
    let mut text = std::fs::read_to_string(&path).unwrap();
    // A line of garbage in the middle, bytes that are not UTF-8, and a last line cut short
    // (the console died mid-write).
    text.insert_str(text.find('\n').unwrap() + 1, "not json at all\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"\xff\xfe\n{\"unix_ms\":17950000");
    std::fs::write(&path, bytes).unwrap();

    let (mut journal, back) = Journal::open(&path, stamp(t0, 10));
    assert_eq!(back.entries.len(), 3);
    let warning = back.warning.expect("one warning");
    assert!(warning.contains("3 damaged lines skipped"), "{warning}");
    assert!(warning.contains("3 entries read back"), "{warning}");
    assert!(!warning.contains('\n'));
    // The file was rewritten clean, so what is appended next starts on its own line.
    let mut t = Timeline::default();
    t.push(stamp(t0, 20), EntryKind::Observed, None, "after the damage");
    assert_eq!(journal.sync(&t), None);
    let (_, back) = Journal::open(&path, stamp(t0, 30));
    assert_eq!(back.warning, None);
    assert_eq!(back.entries.len(), 4);
    assert_eq!(back.entries[3].text, "after the damage");
}

#[test]
fn an_unreadable_path_warns_and_starts_empty() {
    let dir = tempfile::tempdir().unwrap();
    // A folder where the file should be.
    let path = dir.path().join(TIMELINE_FILE);
    std::fs::create_dir(&path).unwrap();
    let t0 = Instant::now();
    let (mut journal, back) = Journal::open(&path, stamp(t0, 0));
    assert!(back.entries.is_empty());
    assert!(back.warning.is_some());
    let t = timeline(t0, 2);
    assert!(
        journal.sync(&t).is_some(),
        "the first failed write is reported"
    );
    let mut t = t;
    t.push(stamp(t0, 9), EntryKind::Observed, None, "again");
    assert_eq!(journal.sync(&t), None, "and not every time after");
}

#[test]
fn the_file_stays_bounded_and_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(TIMELINE_FILE);
    let t0 = Instant::now();
    let (mut journal, _) = Journal::open(&path, stamp(t0, 0));
    let mut t = Timeline::default();
    let total = REWRITE_AT_LINES as u64 + 10;
    for i in 0..total {
        t.push(
            stamp(t0, i),
            EntryKind::Observed,
            None,
            format!("entry {i}"),
        );
        // Synced in batches, as the run loop does after each event.
        if i % 97 == 0 {
            journal.sync(&t);
        }
    }
    journal.sync(&t);
    let lines = std::fs::read_to_string(&path).unwrap().lines().count();
    assert!(lines <= REWRITE_AT_LINES, "{lines} lines");
    let (_, back) = Journal::open(&path, stamp(t0, total));
    assert_eq!(back.entries.len(), TIMELINE_MAX_ENTRIES);
    assert_eq!(
        back.entries.last().map(|e| e.text.clone()),
        Some(format!("entry {}", total - 1))
    );
    assert_eq!(
        back.entries[0].text,
        format!("entry {}", total - TIMELINE_MAX_ENTRIES as u64)
    );
}

#[test]
fn read_back_entries_go_before_the_ones_since_start() {
    let t0 = Instant::now();
    let mut t = Timeline::default();
    t.push(stamp(t0, 100), EntryKind::Observed, None, "console started");
    let earlier = timeline(t0, 2).entries().cloned().collect();
    t.restore(earlier);
    let texts: Vec<&str> = t.entries().map(|e| e.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "alert 0 | with a bar",
            "alert 1 | with a bar",
            "console started"
        ]
    );
    assert_eq!(t.pushed(), 1, "read-back entries are not new");
}
