//! When a data frame is drawn. News (a node's state, containers started, stopped or turned
//! unhealthy, an alert, a message) is drawn within one refresh interval; when only figures
//! moved (percentages, sizes, rates, charts) the frame waits [`FIGURE_FRAMES`] intervals:
//! a figure read every few seconds says what one read every second says, and on a steady
//! fleet most of what a frame writes to the terminal is figures changing in their last digit.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use crate::app::App;

/// Refresh intervals between two frames whose only news is moving figures.
pub const FIGURE_FRAMES: u32 = 3;

/// What a person must see at once, reduced to a fingerprint: counts of nodes by state and
/// of containers by state, alerts, actions, the status message and the open view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct News(u64);

impl News {
    /// The news `app` shows now. Cheap enough for every turn of the run loop at any fleet
    /// size: counts the fleet summary and the alert book keep, no pass over nodes or
    /// containers (a runtime going down raises an alert, which is drawn at once anyway).
    pub fn of(app: &App) -> Self {
        let mut h = DefaultHasher::new();
        let summary = app.fleet.summary();
        let states = summary.states(app.now, app.fleet.failover_timeout());
        (
            states.active,
            states.standby,
            states.maintenance,
            states.unknown,
            states.failed,
        )
            .hash(&mut h);
        (
            app.fleet.nodes().len(),
            summary.containers(),
            summary.running(),
            summary.restarting(),
            summary.unhealthy(),
            summary.stale_containers(),
        )
            .hash(&mut h);
        let alerts = app.alerts.counts();
        (
            app.alerts.rows().len(),
            alerts.critical,
            alerts.warning,
            alerts.info,
            alerts.pending,
            alerts.acked,
            alerts.silenced,
            alerts.stale,
        )
            .hash(&mut h);
        // An action's progress is news to whoever started it.
        app.ops.log.len().hash(&mut h);
        app.status_message().hash(&mut h);
        app.panes.screen().hash(&mut h);
        Self(h.finish())
    }
}

/// The run loop's record of data frames: when the last one was drawn and what news it showed.
#[derive(Debug, Clone, Default)]
pub struct Pacing {
    last_frame: Option<Instant>,
    shown: Option<News>,
}

impl Pacing {
    /// When the pending data frame is due: one `interval` after the last data frame when
    /// `news` differs from what the screen shows, [`FIGURE_FRAMES`] intervals when only
    /// figures moved. `interval` is already shortened for alerts and log views.
    pub fn due(&self, news: News, interval: Duration, urgent: bool) -> Option<Instant> {
        let last = self.last_frame?;
        let wait = if urgent || self.shown != Some(news) {
            interval
        } else {
            interval.saturating_mul(FIGURE_FRAMES)
        };
        Some(last + wait)
    }

    /// True when a pending data frame should be drawn at `now`.
    pub fn is_due(&self, now: Instant, news: News, interval: Duration, urgent: bool) -> bool {
        self.due(news, interval, urgent)
            .is_none_or(|due| now >= due)
    }

    /// A data frame showing `news` was drawn at `now`.
    pub fn data_frame(&mut self, now: Instant, news: News) {
        self.last_frame = Some(now);
        self.shown = Some(news);
    }

    /// A frame drawn at once (a key, a resize) showed `news` too: figures on it are fresh,
    /// but the data frame rhythm stays as it was.
    pub fn other_frame(&mut self, news: News) {
        self.shown = Some(news);
    }
}

/// Least time between two takes from the agent update channel. Every take wakes the run
/// loop's thread and runs its turn (effects, alert deadlines, pacing); taken as they came,
/// a thousand nodes each sending one message a second woke it a thousand times a second.
/// Gathered, one turn takes everything the last few milliseconds brought: far less than a
/// refresh interval, so no frame shows older data for it.
pub const UPDATE_GATHER: Duration = Duration::from_millis(25);

/// When the run loop may take agent updates again: at once when the last take found a
/// full batch (a backlog) or none was taken yet, else [`UPDATE_GATHER`] after the last take.
#[derive(Debug, Clone, Default)]
pub struct Gather {
    next: Option<Instant>,
}

impl Gather {
    /// The time to wait for before taking updates at `now`; `None` when they may be taken now.
    pub fn wait_until(&self, now: Instant) -> Option<Instant> {
        self.next.filter(|next| *next > now)
    }

    /// `taken` updates were taken at `now`, of at most `batch`.
    pub fn took(&mut self, now: Instant, taken: usize, batch: usize) {
        self.next = (taken < batch).then(|| now + UPDATE_GATHER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::model::{AgentUpdate, ContainerState, NodeSnapshot};

    const SECOND: Duration = Duration::from_secs(1);

    /// The news of a two-node console after node 0 sends `snapshot`.
    fn news_after(snapshot: NodeSnapshot) -> News {
        let now = Instant::now();
        let mut app = App::new(fixtures::fleet(2, 6, now), now);
        app.update(crate::app::Action::Agent(AgentUpdate::Snapshot {
            slot: 0,
            epoch: 1000,
            seq: 2,
            snapshot: Box::new(snapshot),
        }));
        News::of(&app)
    }

    #[test]
    fn moving_figures_are_not_news_and_a_stopped_container_is() {
        let before = news_after(fixtures::snapshot(0, 6));
        let mut figures = fixtures::snapshot(0, 6);
        figures.host.cpu_percent += 7.5;
        figures.host.memory_used_bytes += 1 << 20;
        for (_, stats) in &mut figures.containers {
            stats.cpu_percent += 3.0;
            stats.memory_used_bytes += 4096;
        }
        assert_eq!(news_after(figures), before);
        let mut stopped = fixtures::snapshot(0, 6);
        let running = stopped
            .containers
            .iter_mut()
            .find(|(spec, _)| spec.state == ContainerState::Running)
            .expect("the fixture runs containers");
        running.0.state = ContainerState::Exited;
        assert_ne!(news_after(stopped), before);
        let mut gone = fixtures::snapshot(0, 6);
        gone.containers.pop();
        assert_ne!(news_after(gone), before);
    }

    #[test]
    fn the_first_data_frame_is_drawn_at_once() {
        let p = Pacing::default();
        assert!(p.is_due(Instant::now(), News(1), SECOND, false));
    }

    #[test]
    fn moving_figures_wait_three_intervals_and_news_one() {
        let t0 = Instant::now();
        let mut p = Pacing::default();
        p.data_frame(t0, News(1));
        let same = News(1);
        assert!(!p.is_due(t0 + SECOND, same, SECOND, false));
        assert!(!p.is_due(t0 + 2 * SECOND, same, SECOND, false));
        assert!(p.is_due(t0 + 3 * SECOND, same, SECOND, false));
        assert_eq!(p.due(same, SECOND, false), Some(t0 + 3 * SECOND));
        let news = News(2);
        assert!(!p.is_due(t0 + SECOND / 2, news, SECOND, false));
        assert!(p.is_due(t0 + SECOND, news, SECOND, false));
    }

    #[test]
    fn urgent_frames_keep_the_short_interval() {
        let t0 = Instant::now();
        let mut p = Pacing::default();
        p.data_frame(t0, News(1));
        let alert = Duration::from_millis(100);
        assert!(p.is_due(t0 + alert, News(1), alert, true));
    }

    #[test]
    fn a_frame_drawn_for_a_key_shows_the_news_without_moving_the_rhythm() {
        let t0 = Instant::now();
        let mut p = Pacing::default();
        p.data_frame(t0, News(1));
        p.other_frame(News(2));
        assert_eq!(p.due(News(2), SECOND, false), Some(t0 + 3 * SECOND));
        assert_eq!(p.due(News(3), SECOND, false), Some(t0 + SECOND));
    }

    #[test]
    fn updates_are_taken_at_most_once_per_gather_interval() {
        let t0 = Instant::now();
        let mut g = Gather::default();
        assert_eq!(g.wait_until(t0), None, "the first update is taken at once");
        g.took(t0, 1, 4096);
        assert_eq!(g.wait_until(t0), Some(t0 + UPDATE_GATHER));
        assert_eq!(
            g.wait_until(t0 + UPDATE_GATHER / 2),
            Some(t0 + UPDATE_GATHER)
        );
        assert_eq!(g.wait_until(t0 + UPDATE_GATHER), None);
    }

    #[test]
    fn a_full_batch_is_followed_by_the_next_at_once() {
        let t0 = Instant::now();
        let mut g = Gather::default();
        g.took(t0, 4096, 4096);
        assert_eq!(
            g.wait_until(t0),
            None,
            "a backlog is worked off without pauses"
        );
    }
}
