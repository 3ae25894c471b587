//! The incident timeline outlives the console: what one run records is read back from the
//! state directory by the next and is in its `E` export. In process on the App and the
//! timeline's file, then the real binary twice on a pseudo-terminal with a real sim agent.

#![allow(clippy::unwrap_used)]

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use fleetdeck::app::{Action, App, Effect};
use fleetdeck::fixtures::{self, FIXTURE_TIME_UNIX_MS};
use fleetdeck::keys::Command;
use fleetdeck::model::AgentUpdate;
use fleetdeck::timeline_file::{self, TIMELINE_FILE};
use fleetdeck_agent::{AgentConfig, bind, spawn};
use support::pty::Pty;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");
/// Bound on waiting for anything to show, so a broken build fails instead of hanging.
const SHOW: Duration = Duration::from_secs(30);

/// A console over four fixture nodes at `unix_ms`, its timeline resumed from `path`.
fn console(path: &Path, unix_ms: u64) -> (App, timeline_file::Journal) {
    let t0 = Instant::now();
    let mut app = App::new(fixtures::fleet(4, 2, t0), t0);
    app.set_clock(t0, unix_ms);
    let journal = timeline_file::resume(&mut app, path);
    (app, journal)
}

fn export(app: &mut App) -> String {
    app.run_command(Command::ExportTimeline);
    app.take_effects()
        .into_iter()
        .find_map(|e| match e {
            Effect::ExportTimeline { markdown, .. } => Some(markdown),
            _ => None,
        })
        .expect("an export")
}

#[test]
fn what_one_run_records_is_in_the_next_runs_export() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(TIMELINE_FILE);

    let (mut app, mut journal) = console(&path, FIXTURE_TIME_UNIX_MS);
    app.update(Action::Agent(AgentUpdate::Down {
        slot: 1,
        reason: "connection refused".into(),
    }));
    // Past the rule's `for`: the alert fires and the timeline says so.
    for s in 1..=10 {
        let now = app.now + Duration::from_secs(1);
        app.set_clock(now, FIXTURE_TIME_UNIX_MS + s * 1000);
        app.update(Action::Tick);
        assert_eq!(journal.sync(app.alerts.timeline()), None);
    }
    let first = export(&mut app);
    assert!(first.contains("node unreachable on node-01"), "{first}");
    drop((app, journal));

    // The next console, an hour later, on a fleet that is fine.
    let (mut app, _journal) = console(&path, FIXTURE_TIME_UNIX_MS + 3_600_000);
    let md = export(&mut app);
    let fired = md
        .find("| firing | critical | node unreachable on node-01")
        .unwrap_or_else(|| panic!("the earlier run's alert:\n{md}"));
    let restarted = md
        .find("console started; ")
        .unwrap_or_else(|| panic!("the restart is recorded:\n{md}"));
    let before = first.matches("\n| 2026").count();
    assert!(
        md.contains(&format!(
            "console started; {before} earlier entries read back"
        )),
        "every entry of the first run:\n{md}"
    );
    assert!(fired < restarted, "{md}");
    // At the time it happened, not the time it was read back.
    assert!(md.contains("| 2026-11-24 12:00:0"), "{md}");
}

#[test]
fn the_real_console_exports_an_incident_that_spans_its_restart() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let state = tempfile::tempdir().unwrap();
    let agent = rt.block_on(async {
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let config = AgentConfig {
            containers: 4,
            sim_faults: false,
            state_dir: Some(state.path().to_path_buf()),
            ..AgentConfig::sim("restart-01", 3)
        };
        spawn(config, listener).await.unwrap()
    });
    let addr = agent.addr().to_string();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("fleetdeck.toml");
    std::fs::write(
        &config,
        "[[alerts.rules]]\nname = \"node-unreachable\"\nfor = \"1s\"\n",
    )
    .unwrap();
    let env = [
        ("HOME", home.path().display().to_string()),
        (
            "XDG_STATE_HOME",
            home.path().join("state").display().to_string(),
        ),
        (
            "XDG_CONFIG_HOME",
            home.path().join("config").display().to_string(),
        ),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args = [
        BIN,
        "--config",
        config.to_str().unwrap(),
        "--agent",
        addr.as_str(),
    ];
    let dir = home.path().join("state/fleetdeck");

    // First run: the node's agent dies and its alert fires.
    let term = Pty::start_with_env(&args, &env, 140, 40);
    term.wait_for("the node live", SHOW, |s| s.contains(" live"));
    rt.block_on(agent.kill());
    term.wait_for("node unreachable firing", SHOW, |s| {
        s.lines()
            .any(|l| l.contains("firing") && l.contains("node unreachable"))
    });
    term.send(&["q"]);
    assert_eq!(term.exit_status(SHOW), Some(0));
    let file = dir.join(TIMELINE_FILE);
    let kept = std::fs::read_to_string(&file).unwrap();
    assert!(kept.contains("node unreachable on restart-01"), "{kept}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the timeline is owner-only");
    }
    // The first run died mid-line, say: the next one starts all the same.
    let mut damaged = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    std::io::Write::write_all(&mut damaged, b"{\"unix_ms\":17").unwrap();
    drop(damaged);

    // Second run: E exports what happened before the restart too.
    let term = Pty::start_with_env(&args, &env, 140, 40);
    term.wait_for("the console up", SHOW, |s| s.contains("fleetdeck"));
    term.send(&["E"]);
    let screen = term.wait_for("export path", SHOW, |s| s.contains("timeline exported to"));
    let md = std::fs::read_dir(dir.join("incidents"))
        .unwrap_or_else(|e| panic!("{e}\n{screen}"))
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .expect("an incident file");
    let fired = md
        .find("node unreachable on restart-01")
        .unwrap_or_else(|| panic!("the first run's alert:\n{md}"));
    let restarted = md
        .find("console started;")
        .unwrap_or_else(|| panic!("the restart:\n{md}"));
    assert!(fired < restarted, "{md}");
    term.send(&["q"]);
    assert_eq!(term.exit_status(SHOW), Some(0));
    let log = std::fs::read_to_string(dir.join("fleetdeck.log")).unwrap();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("damaged line")).collect();
    assert_eq!(
        warnings.len(),
        1,
        "one warning for the damaged file:\n{log}"
    );
}
