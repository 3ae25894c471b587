//! Headless UI of the heatmaps and the wall screen (its figures in `ui_wall.rs`): TestBackend
//! snapshots at 80x24 and 200x60, the same layout under every theme (snapshots keep only the text, so the colours
//! of key cells are asserted per theme), NO_COLOR, and --ascii.

use crate::support::screen;

use screen::{find, lines, render, text};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use fleetdeck::app::{Action, App, Screen};
use fleetdeck::colour::ColourDepth;
use fleetdeck::fixtures::{self, FIXTURE_TIME_UNIX_MS};
use fleetdeck::heatmap::{HeatKind, HeatRow};
use fleetdeck::model::{AgentUpdate, HostSample, NodeDelta, NodeState};
use fleetdeck::theme::Theme;
use fleetdeck::theme_file::{self, BUILT_IN};
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

pub(crate) const NODES: usize = 40;
const CONTAINERS: usize = 4;
/// Samples of history per node: a quarter of the 10-minute window, so the older part of
/// the map shows "no data".
const SAMPLES: usize = 150;
/// The node whose agent is lost in these fixtures.
const LOST: usize = 13;
/// How long before "now" the lost node's agent went silent.
const SILENT: Duration = Duration::from_secs(40);

/// A console over `NODES` nodes with `SAMPLES` seconds of history, one node lost.
pub(crate) fn console(theme: Theme) -> App {
    let t0 = Instant::now();
    let mut app = App::new(fixtures::fleet(NODES, CONTAINERS, t0), t0);
    app.theme = theme;
    app.title = "fixture".into();
    for i in 0..SAMPLES {
        let at = t0 + Duration::from_secs(i as u64);
        app.set_clock(at, FIXTURE_TIME_UNIX_MS + i as u64 * 1000);
        for slot in 0..NODES {
            if slot == LOST && i as u64 >= SAMPLES as u64 - SILENT.as_secs() {
                continue;
            }
            let node = &app.fleet.nodes()[slot];
            let (epoch, seq) = (node.epoch, node.seq + 1);
            let base = node.host.clone();
            // Each node its own wave; rack r2 runs hot.
            let hot = if slot / 8 == 2 { 45.0 } else { 0.0 };
            let wave = ((i + slot * 11) % 50) as f32;
            let host = HostSample {
                cpu_percent: (5.0 + wave + hot).min(100.0),
                memory_used_bytes: base.memory_total_bytes / 100 * (20 + (slot as u64 * 7 % 60)),
                ..base
            };
            let delta = NodeDelta {
                host: Some(host),
                ..NodeDelta::default()
            };
            app.update(Action::Agent(AgentUpdate::Delta {
                slot,
                epoch,
                seq,
                delta: Box::new(delta),
            }));
        }
        // Alert rules hold for their `for` durations as time passes.
        app.update(Action::Tick);
    }
    let lost_at = t0 + Duration::from_secs((SAMPLES as u64) - SILENT.as_secs());
    let lost_ms = FIXTURE_TIME_UNIX_MS + (SAMPLES as u64 - SILENT.as_secs()) * 1000;
    app.set_clock(lost_at, lost_ms);
    app.update(Action::Agent(AgentUpdate::Down {
        slot: LOST,
        reason: "connection refused".into(),
    }));
    // A tick a second while the node is silent, as the run loop does.
    for s in 1..=SILENT.as_secs() {
        let now = lost_at + Duration::from_secs(s);
        app.set_clock(now, lost_ms + s * 1000);
        app.update(Action::Tick);
    }
    app
}

/// Every built-in theme.
pub(crate) fn themes() -> Vec<Theme> {
    BUILT_IN
        .iter()
        .map(|(name, _)| theme_file::load(name, None).expect("built-in theme"))
        .collect()
}

fn press(app: &mut App, c: char) {
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )));
}

fn heatmap(theme: Theme) -> App {
    let mut app = console(theme);
    press(&mut app, 'M');
    assert_eq!(app.panes.screen(), Screen::Heatmap);
    app
}

/// The last (newest) cell of a row: its character and foreground.
fn newest_cell(buf: &Buffer, row_label: &str) -> (String, Color) {
    let (_, y) = find(buf, row_label, row_label);
    let line = &lines(buf)[usize::from(y)];
    // The pane's right border is the last column; the newest cell sits just before it.
    let x = line.chars().count() as u16 - 2;
    let cell = &buf[(x, y)];
    (cell.symbol().to_string(), cell.fg)
}

#[test]
fn heatmap_over_time_at_200x60_under_every_theme() {
    let mut reference = None;
    for theme in themes() {
        let name = theme.name.clone();
        let mut app = heatmap(theme);
        let buf = render(&mut app, 200, 60);
        let shown = text(&buf);
        match &reference {
            None => {
                insta::assert_snapshot!("heatmap_time_200x60", shown.clone());
                reference = Some(shown);
            }
            Some(r) => assert_eq!(&shown, r, "{name}: same layout as dark"),
        }
        // Every node fits: groups are open and nodes listed under them.
        assert!(app.panes.heatmap.rows.contains(&HeatRow::Node { slot: 39 }));
        let t = &app.theme;
        // Rack r2 runs hot: its nodes' newest cells are at the top of the scale.
        let (ch, fg) = newest_cell(&buf, "node-17");
        let level = ["░", "▒", "▓", "█"]
            .iter()
            .position(|c| *c == ch)
            .expect("shaded")
            + 1;
        assert!(level >= 2, "{name}: hot node shaded {ch}");
        assert_eq!(Some(fg), t.heat(level).fg, "{name}: heat colour of {ch}");
        // The lost node: label in the failed style, its last 40 s blank (no data).
        let label = find(&buf, "node-13", "node-13");
        assert_eq!(
            Some(buf[label].fg),
            t.status(NodeState::Failed).fg,
            "{name}"
        );
        let (ch, _) = newest_cell(&buf, "node-13");
        assert_eq!(ch, "·", "{name}: a silent node has no recent cells");
        // The legend shows the scale in the theme's colours.
        let legend = find(&buf, "█80+", "no data");
        assert_eq!(Some(buf[legend].fg), t.heat(4).fg, "{name}: legend");
    }
}

#[test]
fn heatmap_over_time_at_80x24_folds_groups_and_unfolds_by_key() {
    let mut reference = None;
    for theme in themes() {
        let name = theme.name.clone();
        let mut app = heatmap(theme);
        let buf = render(&mut app, 80, 24);
        let shown = text(&buf);
        match &reference {
            None => {
                insta::assert_snapshot!("heatmap_time_80x24", shown.clone());
                reference = Some(shown);
            }
            Some(r) => assert_eq!(&shown, r, "{name}: same layout as dark"),
        }
        assert!(
            app.panes
                .heatmap
                .rows
                .iter()
                .all(|r| matches!(r, HeatRow::Group { folded: true, .. })),
            "{name}: 40 nodes do not fit 24 rows, so every group is folded"
        );
        // The folded r1 group holds the lost node: its label is in the critical style.
        let r1 = find(&buf, "▸ r1", "r1");
        assert_eq!(
            Some(buf[r1].fg),
            app.theme.crit.fg,
            "{name}: group with a lost node"
        );
    }
    // Unfold r2 (third row) with Enter.
    let mut app = heatmap(Theme::dark());
    render(&mut app, 80, 24);
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Down,
        KeyModifiers::NONE,
    )));
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Down,
        KeyModifiers::NONE,
    )));
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    let buf = render(&mut app, 80, 24);
    insta::assert_snapshot!("heatmap_time_80x24_r2_open", text(&buf));
    assert!(text(&buf).contains("▾ r2 (×8)"));
    assert!(text(&buf).contains("  node-23"));
}

#[test]
fn heatmap_scrolls_back_through_the_history() {
    let mut app = heatmap(Theme::dark());
    render(&mut app, 80, 24);
    press(&mut app, '[');
    let buf = render(&mut app, 80, 24);
    assert_eq!(
        app.panes.heatmap.scroll_back, 150,
        "half of the 10-minute window, but no further back than the 151 samples held"
    );
    assert!(text(&buf).contains("-2m"), "{}", text(&buf));
    assert!(text(&buf).contains("-12m"), "{}", text(&buf));
    press(&mut app, ']');
    assert_eq!(app.panes.heatmap.scroll_back, 0);
}

#[test]
fn heatmap_of_resources_at_both_sizes() {
    for (w, h) in [(80u16, 24u16), (200, 60)] {
        let mut reference = None;
        for theme in themes() {
            let name = theme.name.clone();
            let mut app = heatmap(theme);
            press(&mut app, '\t');
            app.update(Action::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)));
            assert_eq!(
                app.panes.heatmap.kind,
                HeatKind::Resource,
                "Tab switches the kind"
            );
            let buf = render(&mut app, w, h);
            let shown = text(&buf);
            match &reference {
                None => {
                    insta::assert_snapshot!(format!("heatmap_resource_{w}x{h}"), shown.clone());
                    reference = Some(shown.clone());
                }
                Some(r) => assert_eq!(&shown, r, "{name}: same layout as dark"),
            }
            let header = find(&buf, "CPU", "MEM");
            assert_eq!(
                buf[header].fg,
                app.theme.table_header.fg.unwrap_or(Color::Reset)
            );
        }
    }
}

#[test]
fn a_thousand_nodes_fit_one_80x24_screen() {
    let t0 = Instant::now();
    let mut app = App::new(fixtures::fleet(1000, 0, t0), t0);
    app.set_clock(t0, FIXTURE_TIME_UNIX_MS);
    press(&mut app, 'M');
    press(&mut app, '\t');
    let buf = render(&mut app, 80, 24);
    insta::assert_snapshot!("heatmap_1000_nodes_80x24", text(&buf));
    let covered: usize = app.panes.heatmap.groups.iter().map(|g| g.slots.len()).sum();
    assert_eq!(covered, 1000);
    assert_eq!(app.panes.heatmap.rows.len(), app.panes.heatmap.groups.len());
    assert!(app.panes.heatmap.rows.len() <= app.panes.heatmap.cursor.viewport);
}

/// The fixture console as a wall screen turning every 20 s.
pub(crate) fn wall(theme: Theme) -> App {
    let mut app = console(theme);
    app.make_wall(Duration::from_secs(20));
    app
}

#[test]
fn wall_rotates_on_its_interval_and_by_key() {
    let mut app = wall(Theme::dark());
    let start = app.now;
    render(&mut app, 80, 24);
    assert_eq!(app.panes.heatmap.kind, HeatKind::Time);
    app.set_clock(start + Duration::from_secs(19), FIXTURE_TIME_UNIX_MS);
    app.update(Action::Tick);
    assert_eq!(app.panes.wall().map(|w| w.index), Some(0));
    app.set_clock(start + Duration::from_secs(20), FIXTURE_TIME_UNIX_MS);
    app.update(Action::Tick);
    assert_eq!(app.panes.wall().map(|w| w.index), Some(1));
    assert_eq!(app.panes.heatmap.kind, HeatKind::Resource);
    app.update(Action::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)));
    assert_eq!(app.panes.wall().map(|w| w.index), Some(2));
    let buf = render(&mut app, 200, 60);
    insta::assert_snapshot!("wall_nodes_200x60", text(&buf));
    app.update(Action::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)));
    assert_eq!(app.panes.wall().map(|w| w.index), Some(0), "wraps around");
}

#[test]
fn no_color_leaves_no_colour_and_keeps_the_selection_visible() {
    let theme = theme_file::adapt(Theme::dark(), true, ColourDepth::TrueColour);
    let mut app = heatmap(theme);
    let buf = render(&mut app, 80, 24);
    for cell in buf.content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    let selected = find(&buf, "▸ r0", "r0");
    assert!(buf[selected].modifier.contains(Modifier::REVERSED));
    // The shading characters carry the heat without colour.
    assert!(text(&buf).contains('▓') || text(&buf).contains('█'));
}

#[test]
fn sixteen_colour_terminals_get_only_the_sixteen_colours() {
    for theme in themes() {
        let name = theme.name.clone();
        let theme = theme_file::adapt(theme, false, ColourDepth::Ansi16);
        let mut app = wall(theme);
        let buf = render(&mut app, 200, 60);
        for cell in buf.content() {
            for c in [cell.fg, cell.bg] {
                assert!(
                    !matches!(c, Color::Rgb(..) | Color::Indexed(16..)),
                    "{name}: {c:?} in a 16-colour terminal"
                );
            }
        }
    }
}

#[test]
fn ascii_mode_draws_only_ascii() {
    let mut app = heatmap(Theme::dark());
    app.ascii = true;
    let buf = render(&mut app, 80, 24);
    insta::assert_snapshot!("heatmap_time_80x24_ascii", text(&buf));
    let mut wall = wall(Theme::dark());
    wall.ascii = true;
    for (w, h) in [(80, 24), (200, 60)] {
        let shown = text(&render(&mut wall, w, h));
        assert!(shown.is_ascii(), "{shown}");
    }
    // The tables too, with their sort arrows and sparklines.
    let mut tables = console(Theme::dark());
    tables.ascii = true;
    let shown = text(&render(&mut tables, 200, 60));
    assert!(shown.is_ascii(), "{shown}");
}

#[test]
fn too_small_terminals_say_so_in_every_view() {
    let mut app = wall(Theme::dark());
    let shown = text(&render(&mut app, 50, 12));
    assert!(shown.contains("terminal too small"), "{shown}");
    let mut app = heatmap(Theme::dark());
    let shown = text(&render(&mut app, 50, 12));
    assert!(shown.contains("terminal too small"), "{shown}");
}

fn mouse(app: &mut App, kind: MouseEventKind, (column, row): (u16, u16)) {
    app.update(Action::Mouse(MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    }));
}

#[test]
fn a_click_selects_the_row_under_the_pointer_and_the_wheel_scrolls_that_table() {
    let mut app = console(Theme::dark());
    let buf = render(&mut app, 120, 40);
    let at = find(&buf, "node-05", "node-05");
    mouse(&mut app, MouseEventKind::Down(MouseButton::Left), at);
    assert_eq!(app.panes.tables.nodes.selected, Some(5), "clicked node-05");
    // Scroll the node list far down, then click: the row under the pointer is the one drawn.
    for _ in 0..5 {
        mouse(&mut app, MouseEventKind::ScrollDown, at);
    }
    let buf = render(&mut app, 120, 40);
    assert_eq!(
        app.panes.tables.nodes.selected,
        Some(20),
        "five notches of three rows"
    );
    let at = find(&buf, "node-18", "node-18");
    mouse(&mut app, MouseEventKind::Down(MouseButton::Left), at);
    assert_eq!(app.panes.tables.nodes.selected, Some(18));
    // The wheel over the container table scrolls it, not the node table.
    let buf = render(&mut app, 120, 40);
    let (_, y) = find(&buf, "Containers", "Containers");
    let below = (10, y + 3);
    mouse(&mut app, MouseEventKind::ScrollDown, below);
    assert_eq!(app.panes.tables.nodes.selected, Some(18));
    assert_eq!(app.panes.tables.containers.cursor.row, 3);
    // Clicking a container row focuses the container table.
    mouse(&mut app, MouseEventKind::Down(MouseButton::Left), below);
    assert_eq!(app.panes.tables.focus, fleetdeck::app::Focus::Containers);
    // Clicks outside any table change nothing.
    mouse(&mut app, MouseEventKind::Down(MouseButton::Left), (0, 0));
    assert_eq!(app.panes.tables.nodes.selected, Some(18));
}

#[test]
fn a_click_on_a_heatmap_group_then_enter_unfolds_it() {
    let mut app = heatmap(Theme::dark());
    let buf = render(&mut app, 80, 24);
    let at = find(&buf, "r3 (", "r3");
    mouse(&mut app, MouseEventKind::Down(MouseButton::Left), at);
    assert_eq!(app.panes.heatmap.cursor.row, 3);
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    let buf = render(&mut app, 80, 24);
    assert!(text(&buf).contains("node-24"), "{}", text(&buf));
}

#[test]
fn a_wall_refuses_every_command_that_is_not_viewing_from_keys_and_the_palette() {
    use fleetdeck::keys::Command;
    let mut app = wall(Theme::dark());
    let refused: Vec<Command> = Command::ALL
        .into_iter()
        .filter(|c| !c.is_view_only())
        .collect();
    for c in [
        Command::Acknowledge,
        Command::Silence,
        Command::Propose,
        Command::ExportTimeline,
        Command::Palette,
    ] {
        assert!(refused.contains(&c), "{c:?} must not run on a wall");
    }
    // Put the cursor on a firing alert so acknowledging would have something to act on.
    app.panes.tables.focus = fleetdeck::app::Focus::Alerts;
    let acked_before = app.alerts.rows().iter().filter(|a| a.ack.is_some()).count();
    for command in &refused {
        app.run_command(*command);
        assert!(app.panes.prompt().is_none(), "{command:?} opened a prompt");
        assert!(app.panes.dialog().is_none(), "{command:?} opened an action");
        assert!(app.take_effects().is_empty(), "{command:?} asked for work");
        let status = app.status_message().unwrap_or_default().to_string();
        assert!(status.contains("read-only"), "{command:?}: {status}");
    }
    // Every key bound to one of them, pressed, does nothing either.
    for command in &refused {
        for key in app.keymap.keys_for(*command) {
            app.update(Action::Key(KeyEvent::new(key.code, key.modifiers)));
            assert!(app.panes.prompt().is_none(), "{key} opened a prompt");
            assert!(app.take_effects().is_empty(), "{key} asked for work");
        }
    }
    let acked_after = app.alerts.rows().iter().filter(|a| a.ack.is_some()).count();
    assert_eq!(acked_before, acked_after);
    // The same console without the wall does open the palette: the gate is what held.
    app.read_only = false;
    app.run_command(Command::Palette);
    assert!(
        app.panes.prompt().is_some(),
        "control: the palette opens when not read-only"
    );
}
