//! Headless UI of the wall screen's large figures, its worst-alert banner and how it fits
//! terminals from 80x24 to 420 columns: TestBackend snapshots at 80x24, 200x60 and 320x90
//! under every theme (the colours of key cells asserted per theme), ASCII, and the figures
//! read back from the screen's text.

use crate::support::screen;
use crate::ui_display::{NODES, themes, wall};

use screen::{find, render, text, wall_figure};
use std::time::Duration;

use fleetdeck::alerts::Severity;
use fleetdeck::app::Action;
use fleetdeck::fixtures::FIXTURE_TIME_UNIX_MS;
use fleetdeck::model::AgentUpdate;
use fleetdeck::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

/// Where the large figure under tile `label` starts: the first glyph cell below the label,
/// around its middle column (figures are centred under their labels).
fn figure_under(buf: &Buffer, label: &str) -> (u16, u16) {
    let (x, y) = find(buf, label, label);
    let middle = x + label.chars().count() as u16 / 2;
    let figure = |(x, y): (u16, u16)| {
        let s = buf[(x, y)].symbol();
        matches!(s, "█" | "▀" | "▄")
    };
    (y + 1..buf.area.height)
        .take(20)
        .flat_map(|y| (middle.saturating_sub(3)..middle + 3).map(move |x| (x, y)))
        .find(|at| figure(*at))
        .unwrap_or_else(|| panic!("no large figure under {label}:\n{}", text(buf)))
}

/// Rows of the large figure under tile `label`.
fn figure_rows(buf: &Buffer, label: &str) -> u16 {
    let (_, top) = figure_under(buf, label);
    let (x, _) = find(buf, label, label);
    let width = label.chars().count() as u16 + 12;
    (top..buf.area.height)
        .take_while(|&y| {
            (x.saturating_sub(6)..(x + width).min(buf.area.width))
                .any(|x| matches!(buf[(x, y)].symbol(), "█" | "▀" | "▄"))
        })
        .count() as u16
}

#[test]
fn wall_at_every_size_under_every_theme() {
    for (w, h) in [(80u16, 24u16), (200, 60), (320, 90)] {
        let mut reference = None;
        for theme in themes() {
            let name = theme.name.clone();
            let mut app = wall(theme);
            let buf = render(&mut app, w, h);
            let shown = text(&buf);
            match &reference {
                None => {
                    insta::assert_snapshot!(format!("wall_{w}x{h}"), shown.clone());
                    reference = Some(shown.clone());
                }
                Some(r) => assert_eq!(&shown, r, "{name}: same layout as dark"),
            }
            let t = &app.theme;
            assert!(shown.contains("1 node unreachable"), "{name}");
            let banner = find(&buf, "1 node unreachable", "unreachable");
            assert_eq!(Some(buf[banner].fg), t.warn.fg, "{name}: banner");
            // The worst firing alert across the width, in its severity's colour reversed.
            let worst = find(&buf, "CRIT · node-13: node unreachable", "firing for");
            let band = t.alert_banner(Severity::Critical);
            assert_eq!(Some(buf[worst].fg), band.fg, "{name}: worst alert");
            assert!(buf[worst].modifier.contains(Modifier::REVERSED), "{name}");
            assert_eq!(
                Some(buf[(0, worst.1)].fg),
                band.fg,
                "{name}: the whole band"
            );
            let crit = find(&buf, "CRIT", "node-13 node unreachable");
            assert_eq!(
                Some(buf[crit].fg),
                t.severity(Severity::Critical).fg,
                "{name}: alert"
            );
            // The totals in large figures, each in the colour that says how it stands.
            let down = figure_under(&buf, "DOWN");
            assert_eq!(Some(buf[down].fg), t.crit.fg, "{name}: down count");
            let up = figure_under(&buf, "NODES UP");
            assert_eq!(Some(buf[up].fg), t.warn.fg, "{name}: nodes up, one down");
            let unhealthy = figure_under(&buf, "UNHEALTHY");
            assert_eq!(Some(buf[unhealthy].fg), t.crit.fg, "{name}: unhealthy");
        }
    }
}

#[test]
fn the_wall_grows_its_figures_with_the_terminal() {
    let mut app = wall(Theme::dark());
    let mut last = 0;
    for (w, h) in [
        (80u16, 24u16),
        (100, 30),
        (140, 40),
        (200, 60),
        (260, 70),
        (320, 90),
        (420, 110),
    ] {
        let buf = render(&mut app, w, h);
        let shown = text(&buf);
        for label in [
            "NODES UP",
            "DOWN",
            "CONTAINERS",
            "UNHEALTHY",
            "CPU",
            "MEMORY",
        ] {
            assert!(shown.contains(label), "{w}x{h}: {label}\n{shown}");
        }
        assert!(
            shown.contains("CRIT · node-13"),
            "{w}x{h}: worst alert\n{shown}"
        );
        // The figures read what the fleet is, at every size.
        for (label, figure) in [
            ("NODES UP", "39/40"),
            ("DOWN", "1"),
            ("CONTAINERS", "145/160"),
            ("UNHEALTHY", "9"),
            ("CPU", "38%"),
            ("MEMORY", "48%"),
        ] {
            let got = wall_figure(&shown, label);
            assert_eq!(got.as_deref(), Some(figure), "{w}x{h}: {label}\n{shown}");
        }
        let rows = figure_rows(&buf, "DOWN");
        assert!(rows >= last, "{w}x{h}: figures {rows} rows, were {last}");
        last = rows;
        // The view under the tiles keeps room to be read.
        let heatmap_rows = app.panes.heatmap.rows.len();
        assert!(heatmap_rows >= 5, "{w}x{h}: {heatmap_rows} heatmap rows");
        // A clock big enough to read from afar once there is room for it.
        if w >= 200 {
            let clock = wall_figure(&shown, "UTC");
            assert_eq!(clock.as_deref(), Some("12:02"), "{w}x{h}: clock\n{shown}");
        }
    }
    assert_eq!(figure_rows(&render(&mut app, 80, 24), "DOWN"), 3);
    assert!(last >= 10, "a 420x110 wall draws figures {last} rows tall");
}

#[test]
fn wall_flags_stale_data_when_every_agent_is_gone() {
    let mut app = wall(Theme::dark());
    for slot in 0..NODES {
        app.update(Action::Agent(AgentUpdate::Down {
            slot,
            reason: "connection refused".into(),
        }));
    }
    let later = app.now + Duration::from_secs(95);
    app.set_clock(later, FIXTURE_TIME_UNIX_MS + 95_000);
    app.update(Action::Tick);
    let buf = render(&mut app, 80, 24);
    insta::assert_snapshot!("wall_all_stale_80x24", text(&buf));
    let banner = find(&buf, "STALE", "no agent has answered for 1m");
    assert_eq!(
        buf[banner].bg,
        app.theme.stale_banner.bg.unwrap_or(Color::Reset)
    );
    assert!(buf[banner].modifier.contains(Modifier::BOLD));
    // Figures are dimmed as stale, not shown as live.
    let figure = find(&buf, "54%", "r0");
    assert_eq!(Some(buf[figure].fg), app.theme.stale.fg);
    let up = figure_under(&buf, "NODES UP");
    assert_eq!(Some(buf[up].fg), app.theme.stale.fg);
}

#[test]
fn the_ascii_wall_draws_its_figures_in_ascii() {
    let mut app = wall(Theme::dark());
    app.ascii = true;
    for (w, h) in [(80, 24), (200, 60), (320, 90)] {
        let shown = text(&render(&mut app, w, h));
        assert!(shown.is_ascii(), "{shown}");
        // The large figures are drawn, not dropped: seven segments, or pixels of `#`.
        assert!(shown.contains("|_|") || shown.contains("###"), "{shown}");
        if w == 80 {
            insta::assert_snapshot!("wall_80x24_ascii", shown);
        }
    }
}
