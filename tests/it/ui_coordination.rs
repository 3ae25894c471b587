//! The confirm dialog of failover and drain says, as the CLI does, that other consoles are
//! not coordinated when no etcd is configured, and says nothing of it when one is.

use crate::support::screen;

use screen::{render, style_of, text};
use std::time::{Duration, Instant};

use fleetdeck::app::{Action, App, Dialog};
use fleetdeck::fixtures::{self, FIXTURE_TIME_UNIX_MS};
use fleetdeck::model::AgentUpdate;
use fleetdeck::ops::Proposal;
use fleetdeck::ops::intent::UNCOORDINATED_WARNING;

/// A console whose node-00 stopped answering long enough ago to be FAILED.
fn console(coordinated: bool) -> App {
    let t0 = Instant::now();
    let mut app = App::new(fixtures::fleet(4, 6, t0), t0);
    app.update(Action::Agent(AgentUpdate::Down {
        slot: 0,
        reason: "gone".into(),
    }));
    app.set_clock(t0 + Duration::from_secs(11), FIXTURE_TIME_UNIX_MS + 11_000);
    app.title = "demo".into();
    app.ops.coordinated = coordinated;
    app
}

/// The confirm dialog of `p`, drawn at 110x34.
fn confirm(app: &mut App, p: Proposal) -> String {
    app.update(Action::Propose(p));
    assert!(
        matches!(app.panes.dialog(), Some(Dialog::Confirm { .. })),
        "{:?}",
        app.panes.dialog()
    );
    text(&render(app, 110, 34))
}

/// The screen holds the warning, wrapped over lines as the dialog draws it.
fn warns(screen: &str) -> bool {
    let flat: String = screen
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c.is_whitespace()))
        .collect::<Vec<_>>()
        .join(" ");
    flat.contains("warning: other consoles are not coordinated") && flat.contains("FLEETDECK_ETCD")
}

#[test]
fn failover_and_drain_warn_without_etcd() {
    assert!(UNCOORDINATED_WARNING.starts_with("warning: other consoles are not coordinated"));
    let mut app = console(false);
    let failover = confirm(
        &mut app,
        Proposal::Failover {
            node: "node-00".into(),
        },
    );
    insta::assert_snapshot!("failover_confirm_uncoordinated_110x34", failover);
    assert!(warns(&failover), "{failover}");
    let buf = render(&mut app, 110, 34);
    assert_eq!(style_of(&buf, "warning: other").fg, app.theme.warn.fg);
    let drain = confirm(
        &mut app,
        Proposal::Drain {
            node: "node-01".into(),
        },
    );
    insta::assert_snapshot!("drain_confirm_uncoordinated_110x34", drain);
    assert!(warns(&drain), "{drain}");
    // Other actions need no such line: a cordon holds its node on the agents alone.
    let cordon = confirm(
        &mut app,
        Proposal::Cordon {
            node: "node-01".into(),
        },
    );
    assert!(!warns(&cordon), "{cordon}");
}

#[test]
fn failover_and_drain_do_not_warn_with_etcd() {
    let mut app = console(true);
    let failover = confirm(
        &mut app,
        Proposal::Failover {
            node: "node-00".into(),
        },
    );
    insta::assert_snapshot!("failover_confirm_coordinated_110x34", failover);
    assert!(!warns(&failover), "{failover}");
    let drain = confirm(
        &mut app,
        Proposal::Drain {
            node: "node-01".into(),
        },
    );
    assert!(!warns(&drain), "{drain}");
}
