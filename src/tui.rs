//! The terminal and the run loop: keys, ticks and agent updates in; frames out.
//!
//! Frames are drawn only when something visible changed: at once after a key, at most
//! once per refresh interval for news in agent data, and every few intervals when only
//! figures moved (`ui::pacing`), so a steady fleet costs little over an SSH link and an
//! idle one costs nothing.

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use color_eyre::eyre::{Result, WrapErr};
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;

use crate::app::{Action, App, Effect, Redraw};
use crate::model::AgentUpdate;
use crate::ops::OpEvent;
use crate::ops::runner::Runner;
use crate::tui_exec::ExecLink;
use crate::ui;
use crate::ui::pacing::{Gather, News, Pacing};

/// How often the loop ticks (ages, UNKNOWN -> FAILED, status expiry).
pub const TICK_INTERVAL: Duration = Duration::from_secs(1);
/// Least time between two frames drawn because an alert fired or resolved: news shows at
/// once, and an alert storm still cannot drive the frame rate past 10 per second.
pub const ALERT_FRAME_INTERVAL: Duration = Duration::from_millis(100);
/// Most agent updates taken from the channel between two looks at the keyboard.
const UPDATE_BATCH: usize = 4096;
/// Most log batches taken between two looks at the keyboard: a flooding container waits
/// its turn behind the keys (the log task drops and counts what does not fit).
const LOG_BATCH: usize = 16;
/// Least time between two frames while the log view is open: lines appear promptly
/// without redrawing for every batch of a flood.
const LOG_FRAME_INTERVAL: Duration = Duration::from_millis(100);
/// Least time between two frames while the exec pane is up: an echo is drawn as soon as
/// it comes (typing feels local), and `cat` of a big file still costs at most 60 frames a
/// second.
const EXEC_FRAME_INTERVAL: Duration = Duration::from_millis(16);
/// Answers of background calls (Alertmanager silences) waiting for the loop; the calls
/// are one list at a time and one create per `S`, so this never fills in practice.
const REPLY_CHANNEL: usize = 64;

/// The log stream feeding the open log view; the task is cancelled on drop.
struct LogSession {
    session: u64,
    rx: mpsc::Receiver<crate::logs::LogEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LogSession {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Least time between two data frames: shorter while nodes are still being reached for the
/// first time, an alert is pending, a log is open or a shell is up.
fn frame_interval(app: &App, alert_pending: bool, refresh_interval: Duration) -> Duration {
    let mut interval = refresh_interval;
    // The first full screen shows as soon as the last node answered, not up to a refresh
    // interval later. Every node leaves this state at its first snapshot or first failure
    // (a connect timeout at most), so it lasts seconds.
    if alert_pending || app.fleet.summary().connecting() > 0 {
        interval = interval.min(ALERT_FRAME_INTERVAL);
    }
    if app.panes.log_view().is_some() {
        interval = interval.min(LOG_FRAME_INTERVAL);
    }
    if app.panes.screen() == crate::app::Screen::Exec {
        interval = interval.min(EXEC_FRAME_INTERVAL);
    }
    interval
}

/// Waits for log batches when a stream is open, forever otherwise.
async fn next_logs(
    session: &mut Option<LogSession>,
    batch: &mut Vec<crate::logs::LogEvent>,
) -> usize {
    match session {
        Some(s) => s.rx.recv_many(batch, LOG_BATCH).await,
        None => std::future::pending().await,
    }
}

/// The terminal in raw mode on the alternate screen; restored on drop and on panic.
pub struct TerminalGuard {
    terminal: ratatui::DefaultTerminal,
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen. `ratatui::init` also installs a panic
    /// hook that restores the terminal before the (color-eyre) report is printed.
    pub fn enter() -> Result<Self> {
        let terminal =
            ratatui::try_init().wrap_err("cannot set up the terminal (is stdout a tty?)")?;
        // Clicks select rows and the wheel scrolls; pastes arrive whole (the exec pane hands
        // them to the shell as one input). Switched off again on drop and panic.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = crossterm::execute!(
                io::stdout(),
                crossterm::event::DisableMouseCapture,
                crossterm::event::DisableBracketedPaste
            );
            previous(info);
        }));
        crossterm::execute!(
            io::stdout(),
            crossterm::event::EnableMouseCapture,
            crossterm::event::EnableBracketedPaste
        )
        .wrap_err("cannot turn on mouse reporting and bracketed paste")?;
        Ok(Self { terminal })
    }

    /// The terminal to draw on.
    pub fn terminal(&mut self) -> &mut ratatui::DefaultTerminal {
        &mut self.terminal
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // Nothing better to do if the terminal is gone.
        let _ = crossterm::execute!(
            io::stdout(),
            crossterm::event::DisableMouseCapture,
            crossterm::event::DisableBracketedPaste
        );
        ratatui::restore();
    }
}

/// The loop's settings.
#[derive(Debug)]
pub struct LoopOptions {
    /// Least time between two frames drawn for agent data.
    pub refresh_interval: Duration,
    /// The console's connections (log views use them).
    pub connections: crate::client::Connections,
    /// Alertmanagers that get the console's silences and whose silences it shows.
    pub alertmanagers: Vec<crate::notify::HttpTarget>,
    /// The incident timeline's file, kept up to date as entries happen.
    pub timeline: Option<crate::timeline_file::Journal>,
}

/// Wall-clock milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Runs the console until the user quits.
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    updates: mpsc::Receiver<AgentUpdate>,
    options: LoopOptions,
) -> Result<()> {
    run_with_ops(terminal, app, updates, options, None).await
}

/// The ops runner and the events it sends back.
pub struct OpsLink {
    pub runner: Runner,
    pub events: mpsc::Receiver<OpEvent>,
}

/// Runs the console with actions: requests from `app` go to the runner, its events come
/// back into `update`.
pub async fn run_with_ops<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    mut updates: mpsc::Receiver<AgentUpdate>,
    mut options: LoopOptions,
    mut ops: Option<OpsLink>,
) -> Result<()> {
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Vec::with_capacity(UPDATE_BATCH);
    let mut updates_open = true;
    let mut pacing = Pacing::default();
    let mut gather = Gather::default();
    let mut frame_due = Instant::now();
    let mut data_pending = false;
    let mut alert_pending = false;
    let mut woken_for: Option<Instant> = None;
    let mut signals = QuitSignals::new()?;
    let mut log_session: Option<LogSession> = None;
    let mut log_batch = Vec::with_capacity(LOG_BATCH);
    let mut exec_link: Option<ExecLink> = None;
    let mut exec_batch = Vec::with_capacity(crate::tui_exec::EXEC_BATCH);
    // When the key being handled was read: its frame logs how long it took (debug level,
    // target `fleetdeck::keys`; benches/console.sh reads it for key-to-screen figures).
    let mut key_at: Option<Instant> = None;
    // The loop holds a sender, so `recv` never ends.
    let (replies_tx, mut replies) = mpsc::channel(REPLY_CHANNEL);
    let background = Background {
        alertmanagers: &options.alertmanagers,
        replies: &replies_tx,
    };
    app.set_clock(Instant::now(), unix_ms());
    // The first size is known before any resize event: help scrolling needs it.
    if let Ok(size) = terminal.size() {
        app.update(Action::Resize {
            width: size.width,
            height: size.height,
        });
    }
    draw(terminal, app)?;
    pacing.other_frame(News::of(app));
    debug_panic_hook();

    while !app.should_quit {
        // A pending alert fires when its `for` runs out, not up to a tick later; each
        // deadline wakes the loop once.
        let alert_due = app.alerts.next_due().filter(|due| Some(*due) != woken_for);
        // Agent updates are taken in gathers (one wake-up for many), not one by one.
        let gather_at = gather.wait_until(Instant::now());
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => {
                    app.set_clock(Instant::now(), unix_ms());
                    match event {
                        Event::Key(key) => {
                            key_at = Some(Instant::now());
                            app.update(Action::Key(key));
                        }
                        Event::Resize(width, height) => app.update(Action::Resize { width, height }),
                        Event::Mouse(mouse) => app.update(Action::Mouse(mouse)),
                        Event::Paste(text) => app.update(Action::Paste(text)),
                        _ => {}
                    }
                }
                Some(Err(e)) => return Err(e).wrap_err("cannot read from the terminal"),
                None => break,
            },
            n = updates.recv_many(&mut batch, UPDATE_BATCH), if updates_open && gather_at.is_none() => {
                if n == 0 {
                    updates_open = false;
                }
                let now = Instant::now();
                gather.took(now, n, UPDATE_BATCH);
                app.set_clock(now, unix_ms());
                for update in batch.drain(..) {
                    app.update(Action::Agent(update));
                }
            }
            n = next_logs(&mut log_session, &mut log_batch) => {
                app.set_clock(Instant::now(), unix_ms());
                if let Some(s) = log_session.as_ref().filter(|_| n > 0) {
                    let session = s.session;
                    for event in log_batch.drain(..) {
                        app.update(Action::Logs { session, event });
                    }
                } else {
                    // The task ended and said why: nothing more will come.
                    log_session = None;
                }
            }
            (session, events) = crate::tui_exec::next_events(&mut exec_link, &mut exec_batch) => {
                app.set_clock(Instant::now(), unix_ms());
                if events.is_empty() {
                    // The session's output ended: nothing more will come.
                    exec_link = None;
                }
                crate::tui_exec::deliver(app, session, events);
            }
            _ = tick.tick() => {
                app.set_clock(Instant::now(), unix_ms());
                app.update(Action::Tick);
            }
            _ = tokio::time::sleep_until(gather_at.unwrap_or(frame_due).into()), if updates_open && gather_at.is_some() => {}
            _ = tokio::time::sleep_until(frame_due.into()), if data_pending => {
                app.set_clock(Instant::now(), unix_ms());
            }
            _ = tokio::time::sleep_until(alert_due.unwrap_or(frame_due).into()), if alert_due.is_some() => {
                app.set_clock(Instant::now(), unix_ms());
                app.update(Action::Tick);
                woken_for = alert_due;
            }
            Some(event) = async {
                match ops.as_mut() {
                    Some(link) => link.events.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                app.set_clock(Instant::now(), unix_ms());
                app.update(Action::Op(event));
            }
            Some(action) = replies.recv() => {
                app.set_clock(Instant::now(), unix_ms());
                app.update(action);
            }
            name = signals.recv() => {
                tracing::info!(signal = name, "quitting on a signal");
                app.should_quit = true;
            }
        }
        for effect in app.take_effects() {
            match effect {
                Effect::Op(request) => {
                    if let Some(link) = ops.as_mut() {
                        link.runner.submit(request);
                    }
                }
                Effect::OpenExec {
                    session,
                    node,
                    endpoint,
                    request,
                } => {
                    // Dropping the old link ends its session first.
                    drop(exec_link.take());
                    let conns = &options.connections;
                    exec_link = Some(ExecLink::open(conns, session, node, endpoint, request));
                }
                Effect::ExecInput { session, input } => {
                    let link = exec_link.as_mut().filter(|l| l.session() == session);
                    if let Some(event) = link.and_then(|l| l.send(input)) {
                        app.update(Action::Exec { session, event });
                    }
                }
                Effect::CloseExec { session } => {
                    if exec_link.as_ref().is_some_and(|l| l.session() == session) {
                        exec_link = None;
                    }
                }
                other => run_effect(
                    app,
                    other,
                    &mut log_session,
                    &options.connections,
                    &background,
                ),
            }
        }
        if let Some(journal) = options.timeline.as_mut()
            && let Some(error) = journal.sync(app.alerts.timeline())
        {
            tracing::warn!("{error}");
        }
        match app.take_redraw() {
            Redraw::None => {}
            Redraw::Data => data_pending = true,
            Redraw::Alert => {
                data_pending = true;
                alert_pending = true;
            }
            Redraw::Now => {
                draw(terminal, app)?;
                pacing.other_frame(News::of(app));
                data_pending = false;
                alert_pending = false;
                if let Some(at) = key_at {
                    tracing::debug!(target: "fleetdeck::keys", us = at.elapsed().as_micros() as u64, "key to frame");
                }
            }
        }
        key_at = None;
        if data_pending {
            let interval = frame_interval(app, alert_pending, options.refresh_interval);
            let urgent = alert_pending || app.panes.log_view().is_some();
            let news = News::of(app);
            let now = Instant::now();
            if pacing.is_due(now, news, interval, urgent) {
                draw(terminal, app)?;
                pacing.data_frame(now, news);
                data_pending = false;
                alert_pending = false;
            } else {
                frame_due = pacing.due(news, interval, urgent).unwrap_or(now);
            }
        }
    }
    Ok(())
}

/// Where background calls go and how their answers come back.
struct Background<'a> {
    alertmanagers: &'a [crate::notify::HttpTarget],
    replies: &'a mpsc::Sender<Action>,
}

impl Background<'_> {
    /// Runs `call` in a task of its own; its answer comes back into `update`. Each call
    /// is bounded in time (`SILENCE_CALL_TIMEOUT`), so the task ends.
    fn spawn<F>(&self, call: impl FnOnce(Vec<crate::notify::HttpTarget>) -> F)
    where
        F: std::future::Future<Output = Action> + Send + 'static,
    {
        let reply = call(self.alertmanagers.to_vec());
        let tx = self.replies.clone();
        tokio::spawn(async move {
            // A closed channel means the console is quitting: nobody to tell.
            let _ = tx.send(reply.await).await;
        });
    }
}

/// Does the I/O `update` asked for, and reports back as an action.
fn run_effect(
    app: &mut App,
    effect: Effect,
    log_session: &mut Option<LogSession>,
    conns: &crate::client::Connections,
    background: &Background<'_>,
) {
    use crate::notify::silences;
    match effect {
        Effect::CreateSilence { key, silence } => background.spawn(|targets| async move {
            let results = silences::create_everywhere(&targets, &silence).await;
            Action::SilenceCreated { key, results }
        }),
        Effect::ListSilences { asked } => background.spawn(|targets| async move {
            let results = silences::poll_everywhere(&targets).await;
            Action::SilencesListed { asked, results }
        }),
        Effect::OpenLogs {
            session,
            endpoint,
            container,
            tail,
        } => {
            // Dropping the old session cancels its task before the new one starts.
            *log_session = None;
            match endpoint.parse::<crate::client::AgentAddr>() {
                Ok(addr) => {
                    let (tx, rx) = mpsc::channel(crate::logs::task::LOG_CHANNEL_BATCHES);
                    let target = crate::logs::task::LogTarget {
                        addr,
                        container,
                        tail,
                        conns: conns.clone(),
                    };
                    let task = tokio::spawn(crate::logs::task::run(target, tx));
                    *log_session = Some(LogSession { session, rx, task });
                }
                Err(e) => {
                    let event = crate::logs::LogEvent::Ended(format!("bad agent address: {e}"));
                    app.update(Action::Logs { session, event });
                }
            }
        }
        Effect::CloseLogs => *log_session = None,
        // The exec session lives in the run loop, beside the log stream.
        Effect::OpenExec { .. } | Effect::ExecInput { .. } | Effect::CloseExec { .. } => {}
        // Handed to the ops runner by the run loop.
        Effect::Op(_) => {}
        Effect::ExportTimeline {
            file_name,
            markdown,
        } => {
            let result = match crate::logging::state_dir() {
                Some(dir) => write_export(&dir.join("incidents"), &file_name, &markdown),
                None => Err("no state directory on this platform (is HOME set?)".to_string()),
            };
            if let Ok(path) = &result {
                tracing::info!(path = %path.display(), "incident timeline exported");
            }
            app.update(Action::Exported(result));
        }
    }
}

fn write_export(dir: &std::path::Path, name: &str, markdown: &str) -> Result<PathBuf, String> {
    fleetdeck_core::private::create_dir(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(name);
    fleetdeck_core::private::write_atomic(&path, markdown.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// SIGTERM, SIGHUP (the SSH link went away) and SIGINT end the loop like `q`, so the
/// terminal is restored and the agents' streams close cleanly; `fleetdeck monitor` stops
/// on the same signals.
pub struct QuitSignals {
    term: Signal,
    hup: Signal,
    int: Signal,
}

impl QuitSignals {
    /// Listens for the three signals from now on.
    pub fn new() -> Result<Self> {
        let listen = |kind: SignalKind, name: &str| {
            signal(kind).wrap_err_with(|| format!("cannot listen for {name}"))
        };
        Ok(Self {
            term: listen(SignalKind::terminate(), "SIGTERM")?,
            hup: listen(SignalKind::hangup(), "SIGHUP")?,
            int: listen(SignalKind::interrupt(), "SIGINT")?,
        })
    }

    /// Waits for one; returns its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// Debug builds panic on purpose after the first frame when `FLEETDECK_DEBUG_PANIC` is
/// set, so the end-to-end tests can prove a panic restores the terminal.
fn debug_panic_hook() {
    if cfg!(debug_assertions) && std::env::var_os("FLEETDECK_DEBUG_PANIC").is_some() {
        panic!("FLEETDECK_DEBUG_PANIC is set: panicking on purpose");
    }
}

/// Draws one frame and feeds what it laid out (table, log and heatmap rows, mouse areas)
/// back into the app, as the run loop does; tests draw through this too.
pub fn draw<B: Backend>(terminal: &mut Terminal<B>, app: &mut App) -> Result<()> {
    app.refresh();
    let mut info = ui::DrawInfo::default();
    terminal
        .draw(|frame| info = ui::draw(frame, app))
        .map_err(|e| io::Error::other(e.to_string()))
        .wrap_err("cannot draw on the terminal")?;
    // Whether groups fold depends on the room the frame had: a new heatmap height means
    // the frame must be drawn again at once.
    let regroup = info.heatmap_rows != 0 && info.heatmap_rows != app.panes.heatmap.cursor.viewport;
    app.update(Action::Drawn(info));
    if regroup {
        // The second frame has the same room, so this does not repeat.
        app.refresh();
        terminal
            .draw(|frame| info = ui::draw(frame, app))
            .map_err(|e| io::Error::other(e.to_string()))
            .wrap_err("cannot draw on the terminal")?;
        app.take_redraw();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_quickly_until_every_node_answered_or_failed() {
        let now = Instant::now();
        let fleet = crate::model::Fleet::new(["a:1", "b:1"], Duration::from_secs(10), now);
        let mut app = App::new(fleet, now);
        let refresh = Duration::from_secs(1);
        assert_eq!(frame_interval(&app, false, refresh), ALERT_FRAME_INTERVAL);
        app.update(Action::Agent(AgentUpdate::Snapshot {
            slot: 0,
            epoch: 1,
            seq: 1,
            snapshot: Box::new(crate::fixtures::snapshot(0, 3)),
        }));
        assert_eq!(frame_interval(&app, false, refresh), ALERT_FRAME_INTERVAL);
        app.update(Action::Agent(AgentUpdate::Down {
            slot: 1,
            reason: "connection refused".into(),
        }));
        assert_eq!(frame_interval(&app, false, refresh), refresh);
    }
}
