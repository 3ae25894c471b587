//! Filling a node's series from its agent's history when a stream opens: the first screen
//! after connecting shows the last hour, not just what arrived since, and a reconnect after
//! an outage fills the gap. Samples are placed by agent time, so none is shown twice: the
//! agent's go after what the console held before the stream opened and before the first
//! one the stream brought.

use fleetdeck_core::history::History;

use super::{Node, load_of};

/// Where one stream's live samples start, set when its snapshot is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// Agent time (ms) of the newest sample held before the stream opened; 0 = none.
    pub before_ms: u64,
    /// Agent time (ms) of the stream's first sample (its snapshot's).
    pub first_live_ms: u64,
    /// Node samples pushed since the stream opened, the snapshot's included.
    pub live: usize,
}

/// Marks where a stream's samples start; called as its snapshot is applied, before the
/// snapshot's own samples are pushed.
pub(super) fn mark(node: &mut Node, first_live_ms: u64) {
    let before_ms = if node.load_history.is_empty() {
        0
    } else {
        node.newest_sample_ms()
    };
    node.backfill = Some(Mark {
        before_ms,
        first_live_ms,
        live: 0,
    });
}

/// Puts the agent's `history` into the node's series in the gap its mark leaves; false
/// when there is nothing to fill (no open mark: the stream's history was applied).
pub(super) fn apply(node: &mut Node, history: &History) -> bool {
    let Some(mark) = node.backfill.take() else {
        return false;
    };
    let interval_ms = u64::from(history.sample_interval_ms.max(1));
    let usable = |t: u64| t > mark.before_ms && t < mark.first_live_ms;
    // Samples held from before an outage stay only when the history reaches back to them;
    // otherwise their minute means keep them, and the series restart from the history.
    let joins = |t: u64| t <= mark.before_ms + interval_ms * 3 / 2;
    let covered = mark.before_ms != 0
        && match history.samples.iter().find(|(t, _)| usable(*t)) {
            Some((t, _)) => joins(*t),
            None => joins(mark.first_live_ms),
        };
    let keep_oldest = if covered { usize::MAX } else { 0 };
    let max = node.max_containers();
    let gap: Vec<_> = history.samples.iter().filter(|(t, _)| usable(*t)).collect();
    node.cpu_history.splice(
        keep_oldest,
        gap.iter().map(|(_, p)| p.cpu_percent()),
        mark.live,
    );
    node.memory_history.splice(
        keep_oldest,
        gap.iter().map(|(_, p)| p.memory_percent()),
        mark.live,
    );
    let load = |p: &fleetdeck_core::history::NodePoint| {
        load_of(
            p.cpu_percent(),
            p.memory_percent(),
            usize::from(p.containers),
            max,
            p.net_bytes_per_sec(),
        )
    };
    node.load_history
        .splice(keep_oldest, gap.iter().map(|(_, p)| load(p)), mark.live);
    for (start, p) in &history.minutes {
        node.load_minutes.set(start / 60_000, load(p));
    }
    let n = history.samples.len();
    for ch in &history.containers {
        let Some(c) = node.containers.get_mut(&ch.key) else {
            continue;
        };
        // A container's series ends with the node's newest sample.
        let times = &history.samples[n - ch.points.len().min(n)..];
        let points: Vec<_> = times
            .iter()
            .zip(&ch.points)
            .filter(|((t, _), _)| usable(*t))
            .map(|(_, p)| *p)
            .collect();
        let live = c.live_samples;
        c.cpu_history
            .splice(keep_oldest, points.iter().map(|p| p.cpu_percent()), live);
        c.memory_history.splice(
            keep_oldest,
            points.iter().map(|p| p.memory_bytes() as f32),
            live,
        );
    }
    true
}
