//! One full frame on a 200x60 TestBackend: the node table of a 1,000-node fleet, and the
//! container table at fleet scope over 50,000 containers. Only visible rows are laid out,
//! so both should cost about the same as a small fleet (target: under 2 ms).

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use fleetdeck::app::{Action, App, Focus, Scope};
use fleetdeck::fixtures::{self, FIXTURE_TIME_UNIX_MS};
use fleetdeck::ui::{self, DrawInfo};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NODES: usize = 1_000;
const CONTAINERS_PER_NODE: usize = 50;
const WIDTH: u16 = 200;
const HEIGHT: u16 = 60;

fn console(focus: Focus) -> App {
    let now = Instant::now();
    let mut app = App::new(fixtures::fleet(NODES, CONTAINERS_PER_NODE, now), now);
    app.set_clock(now, FIXTURE_TIME_UNIX_MS);
    app.panes.tables.focus = focus;
    if focus == Focus::Containers {
        app.panes.tables.containers.scope = Scope::Fleet;
        app.panes.tables.containers.dirty = true;
    }
    app.refresh();
    // Put the cursors mid-table, where a real operator would be scrolling.
    let (nodes, containers) = (
        app.panes.tables.nodes.rows.len(),
        app.panes.tables.containers.rows.len(),
    );
    app.panes.tables.nodes.step((nodes / 2) as isize);
    app.panes.tables.containers.step((containers / 2) as isize);
    app
}

fn frame(c: &mut Criterion, name: &str, focus: Focus) {
    let mut app = console(focus);
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test terminal");
    // One frame to learn the viewport, as the run loop does.
    let mut info = DrawInfo::default();
    terminal.draw(|f| info = ui::draw(f, &app)).expect("draw");
    app.update(Action::Drawn(info));
    assert!(info.node_rows > 0 && info.container_rows > 0);
    c.bench_function(name, |b| {
        b.iter(|| {
            terminal
                .draw(|f| {
                    black_box(ui::draw(f, black_box(&app)));
                })
                .expect("draw");
        });
    });
}

fn render(c: &mut Criterion) {
    frame(c, "frame_1000_nodes_node_table", Focus::Nodes);
    frame(c, "frame_50000_containers_fleet_scope", Focus::Containers);
}

criterion_group!(benches, render);
criterion_main!(benches);
