//! End-to-end: the log view in the real binary, on a pseudo-terminal, over the demo's
//! simulated agents.

use crate::support;

use std::time::Duration;

use support::pty::Pty;

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
    let term = Pty::start(&[BIN, "demo", "--nodes", "2", "--seed", "7"], 140, 40);
    term.wait_for("live nodes", Duration::from_secs(30), |s| {
        s.matches(" live").count() >= 2
    });
    term.send(&["l"]);
    let screen = term.wait_for("the log view", Duration::from_secs(10), |s| {
        s.contains("╭ Logs node-01 / ") && lines_held(s).is_some_and(|n| n > 0)
    });
    assert!(screen.contains("following"), "{screen}");
    assert!(
        screen.contains("Esc close"),
        "keys on the status line:\n{screen}"
    );
    let first = lines_held(&screen).unwrap_or(0);
    term.wait_for("new lines", Duration::from_secs(30), |s| {
        lines_held(s).is_some_and(|n| n > first)
    });

    // Scrolling up pauses, F follows again.
    term.send(&["k"]);
    term.wait_for("paused", Duration::from_secs(5), |s| s.contains(" paused "));
    term.send(&["F"]);
    term.wait_for("following", Duration::from_secs(5), |s| {
        s.contains(" following ")
    });
    // Search for something every sim line carries: the prompt shows, Enter keeps it.
    term.send(&["/"]);
    term.send(&["e"]);
    term.wait_for("search prompt", Duration::from_secs(5), |s| {
        s.contains("/e█")
    });
    term.send(&["Enter"]);
    term.wait_for("search kept", Duration::from_secs(5), |s| {
        s.contains(" /e  ") && s.contains(" paused ")
    });

    term.send(&["Escape"]);
    term.wait_for("the tables again", Duration::from_secs(5), |s| {
        s.contains("Nodes (2)") && !s.contains("╭ Logs ")
    });
    term.send(&["q"]);
    assert_eq!(term.exit_status(Duration::from_secs(10)), Some(0));
}
