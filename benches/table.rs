//! The container table at fleet scope over 5,000 nodes of 31 containers (155,000 rows, as
//! issue 15's largest fleet): sorting by each column, typing a filter, one frame, and the
//! re-sort after a frame's worth of agent updates. Goal: every one under 100 ms, most far
//! under, without a 5,000-node run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::app::{Action, App, ContainerSort, Focus, Pane, Scope};
use fleetdeck::fixtures::{self, FIXTURE_TIME_UNIX_MS};
use fleetdeck::model::{AgentUpdate, ContainerStats, NodeDelta};
use fleetdeck::ui::{self, DrawInfo};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NODES: usize = 5_000;
const CONTAINERS_PER_NODE: usize = 31;
/// Deltas between two frames: 5,000 agents each sending once a second, frames 100 ms apart.
const DELTAS_PER_FRAME: usize = 500;
const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;

const SORTS: [ContainerSort; 9] = ContainerSort::ORDER;

/// The console with the container table focused at fleet scope, cursor mid-table.
fn console() -> App {
    let now = Instant::now();
    let mut app = App::new(fixtures::fleet(NODES, CONTAINERS_PER_NODE, now), now);
    app.set_clock(now, FIXTURE_TIME_UNIX_MS);
    let tables = &mut app.panes.tables;
    tables.focus = Focus::Containers;
    tables.containers.scope = Scope::Fleet;
    tables.containers.dirty = true;
    app.refresh();
    let rows = app.panes.tables.containers.rows.len();
    assert_eq!(rows, NODES * CONTAINERS_PER_NODE);
    app.panes.tables.containers.step((rows / 2) as isize);
    app
}

fn key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Selects `sort` the way the key does (its default direction).
fn sort_by(app: &mut App, sort: ContainerSort) {
    let table = &mut app.panes.tables.containers;
    while table.sort != sort {
        table.sort_next();
    }
    table.dirty = true;
    app.refresh();
}

fn sorts(c: &mut Criterion, app: &mut App) {
    let mut group = c.benchmark_group("table_155000_sort");
    for sort in SORTS {
        sort_by(app, sort);
        group.bench_function(sort.label(), |b| {
            b.iter(|| {
                app.panes.tables.containers.dirty = true;
                app.refresh();
                black_box(app.panes.tables.containers.rows.len());
            });
        });
    }
    group.finish();
    sort_by(app, ContainerSort::Node);
}

fn filters(c: &mut Criterion, app: &mut App) {
    let mut group = c.benchmark_group("table_155000_filter");
    // Each key as the console gets it: the update before the next frame.
    group.bench_function("type_web_3_keys", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                app.panes.push(Pane::Filter);
                let start = Instant::now();
                for ch in ['w', 'e', 'b'] {
                    app.update(key(KeyCode::Char(ch)));
                }
                timed += start.elapsed();
                black_box(app.panes.tables.containers.rows.len());
                app.update(key(KeyCode::Esc));
            }
            timed
        });
    });
    group.bench_function("backspace_web_to_we", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                app.panes.push(Pane::Filter);
                for ch in ['w', 'e', 'b'] {
                    app.update(key(KeyCode::Char(ch)));
                }
                let start = Instant::now();
                app.update(key(KeyCode::Backspace));
                timed += start.elapsed();
                black_box(app.panes.tables.containers.rows.len());
                app.update(key(KeyCode::Esc));
            }
            timed
        });
    });
    group.finish();
}

fn frame(c: &mut Criterion, app: &mut App) {
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test terminal");
    // One frame to learn the viewport, as the run loop does.
    let mut info = DrawInfo::default();
    terminal.draw(|f| info = ui::draw(f, app)).expect("draw");
    app.update(Action::Drawn(info));
    assert!(info.container_rows > 0);
    c.bench_function("table_155000_frame", |b| {
        b.iter(|| {
            terminal
                .draw(|f| {
                    black_box(ui::draw(f, black_box(&*app)));
                })
                .expect("draw");
        });
    });
}

/// One frame's worth of stats-only deltas (fresh figures for every container of a node).
fn deltas(app: &App, round: u64) -> Vec<AgentUpdate> {
    (0..DELTAS_PER_FRAME)
        .map(|i| {
            let slot = (round as usize * DELTAS_PER_FRAME + i) % NODES;
            let node = &app.fleet.nodes()[slot];
            let stats = (1..=CONTAINERS_PER_NODE as u32)
                .map(|key| {
                    let stats = ContainerStats {
                        cpu_percent: ((u64::from(key) * 7 + round) % 100) as f32,
                        memory_used_bytes: (100 + round % 50) << 20,
                        memory_limit_bytes: 1 << 30,
                        ..ContainerStats::default()
                    };
                    (key, stats)
                })
                .collect();
            AgentUpdate::Delta {
                slot,
                epoch: node.epoch,
                seq: node.seq + 1,
                delta: Box::new(NodeDelta {
                    stats,
                    ..NodeDelta::default()
                }),
            }
        })
        .collect()
}

fn updates(c: &mut Criterion, app: &mut App) {
    let mut group = c.benchmark_group("table_155000_500_deltas_then_refresh");
    let mut round = 0;
    for sort in [ContainerSort::Node, ContainerSort::Cpu] {
        sort_by(app, sort);
        group.bench_function(sort.label(), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    round += 1;
                    let batch = deltas(app, round);
                    let start = Instant::now();
                    for update in batch {
                        app.update(Action::Agent(update));
                    }
                    app.refresh();
                    timed += start.elapsed();
                }
                timed
            });
        });
    }
    group.finish();
    sort_by(app, ContainerSort::Node);
}

fn table(c: &mut Criterion) {
    let mut app = console();
    sorts(c, &mut app);
    filters(c, &mut app);
    frame(c, &mut app);
    updates(c, &mut app);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1));
    targets = table
}
criterion_main!(benches);
