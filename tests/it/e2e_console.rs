//! End-to-end: the real `fleetdeck` binary on a pseudo-terminal, driven by keys, read from
//! the screen.

use crate::support;

use std::time::Duration;

use support::pty::Pty;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");

/// The title of the detail pane names the node under the cursor.
fn detail_shows(screen: &str, node: &str) -> bool {
    screen.lines().any(|l| l.contains(&format!("╭ {node} ")))
}

#[test]
fn demo_shows_the_fleet_moves_the_selection_and_quits_cleanly() {
    let term = Pty::start(&[BIN, "demo", "--nodes", "4", "--seed", "7"], 200, 50);
    let screen = term.wait_for("four live nodes", Duration::from_secs(30), |s| {
        (1..=4).all(|n| s.contains(&format!("node-0{n}"))) && s.matches(" live").count() >= 4
    });
    assert!(
        screen.contains("4 nodes"),
        "header counts the nodes:\n{screen}"
    );
    assert!(
        screen.contains("Containers"),
        "container table shown:\n{screen}"
    );
    term.wait_for("node-01 selected", Duration::from_secs(5), |s| {
        detail_shows(s, "node-01")
    });

    term.send(&["j"]);
    term.wait_for("node-02 selected", Duration::from_secs(5), |s| {
        detail_shows(s, "node-02")
    });
    term.send(&["j", "j"]);
    term.wait_for("node-04 selected", Duration::from_secs(5), |s| {
        detail_shows(s, "node-04")
    });
    term.send(&["g"]);
    term.wait_for("back on node-01", Duration::from_secs(5), |s| {
        detail_shows(s, "node-01")
    });

    term.send(&["?"]);
    term.wait_for("help", Duration::from_secs(5), |s| {
        s.contains("filter the focused table")
    });
    term.send(&["Escape"]);
    term.wait_for("help closed", Duration::from_secs(5), |s| {
        !s.contains("filter the focused table")
    });

    term.send(&["q"]);
    assert_eq!(
        term.exit_status(Duration::from_secs(10)),
        Some(0),
        "exit status after q"
    );
    let after = term.screen();
    assert!(
        !after.contains("Containers"),
        "terminal restored (alternate screen left):\n{after}"
    );
    let log = std::fs::read_to_string(term.home().join("state/fleetdeck/fleetdeck.log"))
        .expect("the console writes its log into the state dir");
    assert!(log.contains("console stopped"), "log:\n{log}");
}

/// The container table's rows (name column), as the screen shows them.
fn container_rows(screen: &str) -> Vec<String> {
    let mut in_table = false;
    let mut rows = Vec::new();
    for line in screen.lines() {
        if line.contains("╭ Containers") {
            in_table = true;
            continue;
        }
        if in_table {
            if line.starts_with('╰') {
                break;
            }
            if let Some(name) = line.trim_start_matches('│').split_whitespace().next()
                && name != "NAME▲"
            {
                rows.push(name.to_string());
            }
        }
    }
    rows
}

#[test]
fn demo_migrates_a_container_by_keyboard_and_it_lands() {
    let term = Pty::start(
        &[
            BIN,
            "demo",
            "--nodes",
            "3",
            "--containers",
            "4",
            "--seed",
            "7",
        ],
        160,
        45,
    );
    term.wait_for("three live nodes", Duration::from_secs(30), |s| {
        s.contains("node-03") && s.matches(" live").count() >= 3
    });
    term.send(&["Tab"]);
    term.send(&["m"]);
    let screen = term.wait_for("target picker", Duration::from_secs(5), |s| {
        s.contains("from node-01 to…") && s.contains("FREE MEMORY")
    });
    let name = screen
        .lines()
        .find_map(|l| {
            let at = l.find("Migrate ")?;
            l[at + 8..].split_whitespace().next().map(str::to_string)
        })
        .expect("container name in the picker title");
    // Enter takes the preselected best fit.
    term.send(&["Enter"]);
    let plan = term.wait_for("the plan", Duration::from_secs(5), |s| {
        s.contains(&format!("Migrate {name} from node-01 to node-0")) && s.contains("Enter run")
    });
    let target = plan
        .lines()
        .find_map(|l| {
            let rest = l
                .split(&format!("Migrate {name} from node-01 to "))
                .nth(1)?;
            rest.split_whitespace().next().map(str::to_string)
        })
        .expect("target in the plan title");
    term.send(&["Enter"]);
    let done = term.wait_for("migration done", Duration::from_secs(60), |s| {
        s.contains(&format!("done: {name} moved from node-01 to {target}"))
    });
    // The copy keeps its name unless the target had one already.
    let landed = done
        .lines()
        .find_map(|l| {
            let rest = l.split(&format!(" to {target} as ")).nth(1)?;
            rest.split_whitespace()
                .next()
                .map(|w| w.trim_end_matches('│').to_string())
        })
        .unwrap_or_else(|| name.clone());
    // Any key closes a finished action (not Escape: followed at once by another key, a
    // terminal reads it as Alt).
    term.send(&["Enter"]);
    term.send(&["H"]);
    term.wait_for("history pane", Duration::from_secs(5), |s| {
        s.contains("Actions · 1")
            && s.contains(&format!(" migrate   node-01/{name} → {target} "))
            && s.contains(&format!("done: {name} moved from node-01 to {target}"))
    });
    let downs = if target == "node-02" { 1 } else { 2 };
    term.send(&["H", "BTab"]);
    for _ in 0..downs {
        term.send(&["j"]);
    }
    let on_target = term.wait_for("the target's containers", Duration::from_secs(10), |s| {
        s.contains(&format!("Containers — {target}")) && container_rows(s).contains(&landed)
    });
    assert!(container_rows(&on_target).contains(&landed), "{on_target}");
    term.send(&["g"]);
    term.wait_for("gone from node-01", Duration::from_secs(10), |s| {
        s.contains("Containers — node-01") && !container_rows(s).contains(&name)
    });
    term.send(&["q"]);
    assert_eq!(term.exit_status(Duration::from_secs(10)), Some(0));
    let history = std::fs::read_to_string(term.home().join("state/fleetdeck/actions.jsonl"))
        .expect("the console records its actions in the state dir");
    assert!(history.contains("\"outcome\":\"done\""), "{history}");
}

#[test]
fn sigterm_quits_cleanly_and_restores_the_terminal() {
    let term = Pty::start(&[BIN, "demo", "--nodes", "2", "--seed", "3"], 120, 40);
    term.wait_for("the console", Duration::from_secs(30), |s| {
        s.contains("Containers")
    });
    term.terminate();
    assert_eq!(
        term.exit_status(Duration::from_secs(10)),
        Some(0),
        "exit status after SIGTERM"
    );
    let after = term.screen();
    assert!(!after.contains("Containers"), "terminal restored:\n{after}");
}

#[test]
fn a_panic_restores_the_terminal_and_reports() {
    let term = Pty::start_with_env(
        &[BIN, "demo", "--nodes", "1"],
        &[
            ("FLEETDECK_DEBUG_PANIC", "1"),
            ("RUST_BACKTRACE", "0"),
            ("RUST_LIB_BACKTRACE", "0"),
        ],
        120,
        40,
    );
    let status = term.exit_status(Duration::from_secs(30));
    assert_eq!(status, Some(101), "a panic exits with Rust's panic status");
    let screen = term.screen();
    assert!(
        screen.contains("panicking on purpose"),
        "the report is readable:\n{screen}"
    );
    assert!(!screen.contains("Containers"), "the TUI is gone:\n{screen}");
}

/// On an 80x24 terminal help is longer than the screen: it scrolls from the first key,
/// because the console learns its size at start, not at the first resize.
#[test]
fn help_scrolls_on_an_80x24_terminal() {
    let term = Pty::start(&[BIN, "demo", "--nodes", "2", "--seed", "3"], 80, 24);
    term.wait_for("the console", Duration::from_secs(30), |s| {
        s.contains("node-02")
    });
    term.send(&["?"]);
    term.wait_for("help, top", Duration::from_secs(5), |s| {
        s.contains("1-11 of ") && s.contains("move up")
    });
    term.send(&["G"]);
    term.wait_for("help, bottom", Duration::from_secs(5), |s| {
        s.contains("j/k scroll") && s.contains("this help") && !s.contains("move up")
    });
    term.send(&["Escape"]);
    term.wait_for("help closed", Duration::from_secs(5), |s| {
        !s.contains("j/k scroll")
    });
    term.send(&["q"]);
    assert_eq!(term.exit_status(Duration::from_secs(10)), Some(0));
}

/// `fleetdeck demo` on an 80x24 terminal, with its default seed (the time, 13 digits): the
/// header's first line keeps the node counts by state; the title gives way.
#[test]
fn the_demo_header_keeps_the_node_states_at_80x24() {
    let term = Pty::start(&[BIN, "demo", "--nodes", "8"], 80, 24);
    let screen = term.wait_for(
        "the header with the node states",
        Duration::from_secs(30),
        |s| {
            s.lines()
                .next()
                .is_some_and(|l| l.contains("8 nodes: ") && l.contains(" active"))
        },
    );
    let header = screen.lines().next().unwrap_or_default();
    assert!(header.starts_with(" fleetdeck demo"), "{header:?}");
    assert!(header.chars().count() <= 80, "{header:?}");
    term.send(&["q"]);
    assert_eq!(term.exit_status(Duration::from_secs(10)), Some(0));
}
