//! End-to-end: the log view in the real binary, in tmux, over the demo's simulated agents.

use crate::support;

use std::time::Duration;

use support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");

/// The `N` of "N/M lines" in the log view's title.
fn lines_held(screen: &str) -> Option<usize> {
    let title = screen.lines().find(|l| l.contains("╭ Logs "))?;
    let (before, _) = title.split_once(" lines")?;
    let (count, _) = before.rsplit(' ').next()?.split_once('/')?;
    count.parse().ok()
}

#[test]
fn l_opens_the_demo_log_view_lines_arrive_and_esc_closes_it() {
    let tmux = Tmux::start(&[BIN, "demo", "--nodes", "2", "--seed", "7"], 140, 40);
    tmux.wait_for("live nodes", Duration::from_secs(30), |s| {
        s.matches(" live").count() >= 2
    });
    tmux.send(&["l"]);
    let screen = tmux.wait_for("the log view", Duration::from_secs(10), |s| {
        s.contains("╭ Logs node-01 / ") && lines_held(s).is_some_and(|n| n > 0)
    });
    assert!(screen.contains("following"), "{screen}");
    assert!(
        screen.contains("Esc close"),
        "keys on the status line:\n{screen}"
    );
    let first = lines_held(&screen).unwrap_or(0);
    tmux.wait_for("new lines", Duration::from_secs(30), |s| {
        lines_held(s).is_some_and(|n| n > first)
    });

    // Scrolling up pauses, F follows again.
    tmux.send(&["k"]);
    tmux.wait_for("paused", Duration::from_secs(5), |s| s.contains(" paused "));
    tmux.send(&["F"]);
    tmux.wait_for("following", Duration::from_secs(5), |s| {
        s.contains(" following ")
    });
    // Search for something every sim line carries: the prompt shows, Enter keeps it.
    tmux.send(&["/"]);
    tmux.send(&["e"]);
    tmux.wait_for("search prompt", Duration::from_secs(5), |s| {
        s.contains("/e█")
    });
    tmux.send(&["Enter"]);
    tmux.wait_for("search kept", Duration::from_secs(5), |s| {
        s.contains(" /e  ") && s.contains(" paused ")
    });

    tmux.send(&["Escape"]);
    tmux.wait_for("the tables again", Duration::from_secs(5), |s| {
        s.contains("Nodes (2)") && !s.contains("╭ Logs ")
    });
    tmux.send(&["q"]);
    assert_eq!(tmux.exit_status(Duration::from_secs(10)), Some(0));
}
