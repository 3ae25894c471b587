//! The live log view's state: a bounded ring of lines from one container, following or
//! paused, with search. Pure data: the client task in [`task`] feeds it [`LogEvent`]s.

pub mod task;

use std::collections::VecDeque;

/// Lines kept per open log view unless configured otherwise.
pub const DEFAULT_MAX_LINES: usize = 10_000;

/// One row of the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogRow {
    /// A line the container wrote.
    Line {
        /// When, ms since the Unix epoch (0 = unknown).
        time_unix_ms: u64,
        /// Written to stderr.
        stderr: bool,
        /// The text.
        text: String,
    },
    /// Lines dropped because they came faster than the console could take them.
    Skipped(u64),
}

/// What the log task reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEvent {
    /// New rows, oldest first.
    Rows(Vec<LogRow>),
    /// The stream ended (container gone, agent unreachable, history sent).
    Ended(String),
}

/// Where the stream is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LogStatus {
    /// Waiting for the first rows.
    #[default]
    Connecting,
    /// Rows are coming.
    Streaming,
    /// No more rows will come; why.
    Ended(String),
}

/// The state of one open log view.
#[derive(Debug, Clone)]
pub struct LogView {
    /// Node the container runs on.
    pub node: String,
    /// Container name.
    pub container: String,
    rows: VecDeque<LogRow>,
    max_rows: usize,
    /// Rows dropped from the front of the ring since the view opened.
    pub evicted: u64,
    /// Stick to the newest row.
    pub follow: bool,
    /// When not following: rows between the bottom of the screen and the newest row.
    pub scroll_from_bottom: usize,
    /// Wrap long lines instead of cutting them.
    pub wrap: bool,
    /// Show each line's time.
    pub times: bool,
    /// The search text (empty = none).
    pub search: String,
    /// Whether keys are typing into the search.
    pub searching: bool,
    /// Row index (in the ring) of the current match.
    pub current_match: Option<usize>,
    /// Stream state.
    pub status: LogStatus,
}

impl LogView {
    /// An empty, following view of `container` on `node` keeping at most `max_rows` rows.
    pub fn new(node: impl Into<String>, container: impl Into<String>, max_rows: usize) -> Self {
        let max_rows = max_rows.max(1);
        Self {
            node: node.into(),
            container: container.into(),
            rows: VecDeque::with_capacity(max_rows.min(1024)),
            max_rows,
            evicted: 0,
            follow: true,
            scroll_from_bottom: 0,
            wrap: false,
            times: true,
            search: String::new(),
            searching: false,
            current_match: None,
            status: LogStatus::Connecting,
        }
    }

    /// Rows held now, oldest first.
    pub fn rows(&self) -> &VecDeque<LogRow> {
        &self.rows
    }

    /// Most rows held.
    pub fn max_rows(&self) -> usize {
        self.max_rows
    }

    /// Applies one event from the task.
    pub fn apply(&mut self, event: LogEvent) {
        match event {
            LogEvent::Rows(rows) => {
                if self.status == LogStatus::Connecting {
                    self.status = LogStatus::Streaming;
                }
                for row in rows {
                    self.push(row);
                }
            }
            LogEvent::Ended(why) => self.status = LogStatus::Ended(why),
        }
    }

    fn push(&mut self, row: LogRow) {
        // Consecutive skip markers merge: one line says how much was lost.
        if let (LogRow::Skipped(n), Some(LogRow::Skipped(m))) = (&row, self.rows.back_mut()) {
            *m += n;
            return;
        }
        if self.rows.len() == self.max_rows {
            self.rows.pop_front();
            self.evicted += 1;
            self.current_match = match self.current_match {
                Some(0) | None => None,
                Some(i) => Some(i - 1),
            };
        }
        self.rows.push_back(row);
        if !self.follow {
            // A paused view keeps showing the same rows while new ones arrive below.
            self.scroll_from_bottom = (self.scroll_from_bottom + 1).min(self.rows.len());
        }
    }

    /// Scrolls `delta` rows (negative = up, towards older rows); scrolling up pauses
    /// following, reaching the bottom resumes it.
    pub fn scroll(&mut self, delta: isize) {
        let max = self.rows.len().saturating_sub(1);
        let from_bottom = self.scroll_from_bottom as isize - delta;
        self.scroll_from_bottom = from_bottom.clamp(0, max as isize) as usize;
        self.follow = self.scroll_from_bottom == 0;
    }

    /// Jumps to the newest row and follows again.
    pub fn resume(&mut self) {
        self.scroll_from_bottom = 0;
        self.follow = true;
    }

    /// Toggles following; pausing keeps the view where it is.
    pub fn toggle_follow(&mut self) {
        if self.follow {
            self.follow = false;
        } else {
            self.resume();
        }
    }

    /// Index of the row at the bottom of the screen.
    pub fn bottom_index(&self) -> Option<usize> {
        self.rows.len().checked_sub(
            1 + self
                .scroll_from_bottom
                .min(self.rows.len().saturating_sub(1)),
        )
    }

    /// Whether row `i` matches the search (case-insensitive).
    pub fn matches(&self, i: usize) -> bool {
        if self.search.is_empty() {
            return false;
        }
        match self.rows.get(i) {
            Some(LogRow::Line { text, .. }) => contains_ignore_case(text, &self.search),
            _ => false,
        }
    }

    /// Moves to the next match (`forward` = towards newer rows) from the current one or the
    /// bottom of the screen; pauses following and scrolls it into view. False when none.
    pub fn find(&mut self, forward: bool) -> bool {
        if self.search.is_empty() || self.rows.is_empty() {
            return false;
        }
        let n = self.rows.len();
        let start = self.current_match.or(self.bottom_index()).unwrap_or(n - 1);
        for step in 1..=n {
            let i = if forward {
                (start + step) % n
            } else {
                (start + n - step % n) % n
            };
            if self.matches(i) {
                self.current_match = Some(i);
                self.follow = false;
                self.scroll_from_bottom = n - 1 - i;
                return true;
            }
        }
        self.current_match = None;
        false
    }
}

/// Byte ranges of `hay` matching `needle`, case-insensitive, left to right, not overlapping.
pub fn match_ranges(hay: &str, needle: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    if needle.is_empty() {
        return out;
    }
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        let mut i = 0;
        while i + n.len() <= h.len() {
            if h[i..i + n.len()].eq_ignore_ascii_case(n) {
                out.push(i..i + n.len());
                i += n.len();
            } else {
                i += 1;
            }
        }
        return out;
    }
    let needle: Vec<char> = needle.chars().flat_map(char::to_lowercase).collect();
    let chars: Vec<(usize, char)> = hay.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (mut k, mut j) = (0, i);
        let mut ok = true;
        while ok && k < needle.len() {
            let Some(&(_, c)) = chars.get(j) else {
                ok = false;
                break;
            };
            for lower in c.to_lowercase() {
                if needle.get(k) == Some(&lower) {
                    k += 1;
                } else {
                    ok = false;
                    break;
                }
            }
            j += 1;
        }
        if ok {
            let end = chars.get(j).map_or(hay.len(), |(b, _)| *b);
            out.push(chars[i].0..end);
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// Case-insensitive substring test without allocating for ASCII text.
pub fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    if needle.is_ascii() && hay.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        return n.len() <= h.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(&needle.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t: &str) -> LogRow {
        LogRow::Line {
            time_unix_ms: 0,
            stderr: false,
            text: t.into(),
        }
    }

    #[test]
    fn ring_is_bounded_and_markers_merge() {
        let mut v = LogView::new("n", "c", 3);
        v.apply(LogEvent::Rows(
            (0..5).map(|i| line(&format!("l{i}"))).collect(),
        ));
        assert_eq!(v.rows().len(), 3);
        assert_eq!(v.evicted, 2);
        assert_eq!(v.rows()[0], line("l2"));
        v.apply(LogEvent::Rows(vec![
            LogRow::Skipped(10),
            LogRow::Skipped(5),
        ]));
        assert_eq!(v.rows().back(), Some(&LogRow::Skipped(15)));
        assert_eq!(v.status, LogStatus::Streaming);
    }

    #[test]
    fn paused_view_stays_put_and_resumes() {
        let mut v = LogView::new("n", "c", 100);
        v.apply(LogEvent::Rows(
            (0..10).map(|i| line(&format!("l{i}"))).collect(),
        ));
        v.scroll(-3);
        assert!(!v.follow);
        assert_eq!(v.bottom_index(), Some(6));
        v.apply(LogEvent::Rows(vec![line("new")]));
        assert_eq!(
            v.bottom_index(),
            Some(6),
            "new rows must not move a paused view"
        );
        v.scroll(100);
        assert!(v.follow);
        assert_eq!(v.bottom_index(), Some(10));
    }

    #[test]
    fn search_moves_between_matches() {
        let mut v = LogView::new("n", "c", 100);
        let texts = ["ok", "ERROR one", "ok", "error two", "ok"];
        v.apply(LogEvent::Rows(texts.iter().map(|t| line(t)).collect()));
        v.search = "error".into();
        assert!(v.find(false));
        assert_eq!(v.current_match, Some(3));
        assert!(v.find(false));
        assert_eq!(v.current_match, Some(1));
        assert!(v.find(true));
        assert_eq!(v.current_match, Some(3));
        assert_eq!(v.bottom_index(), Some(3));
        assert!(!v.follow);
        v.search = "absent".into();
        assert!(!v.find(true));
        assert!(contains_ignore_case("Grüße ÄRGER", "ärger"));
        assert!(!contains_ignore_case("ok", "error"));
    }

    #[test]
    fn match_ranges_find_every_match() {
        assert_eq!(match_ranges("Error: error!", "ERROR"), vec![0..5, 7..12]);
        assert_eq!(match_ranges("aaaa", "aa"), vec![0..2, 2..4]);
        assert!(match_ranges("abc", "").is_empty());
        let hay = "Grüße ÄRGER ärger";
        let found = match_ranges(hay, "ärger");
        assert_eq!(found.len(), 2);
        assert_eq!(&hay[found[0].clone()], "ÄRGER");
        assert_eq!(&hay[found[1].clone()], "ärger");
    }
}
