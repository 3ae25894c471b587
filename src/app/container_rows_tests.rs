use std::cmp::Ordering;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{f32_key_cmp, natural_key_cmp};
use crate::app::natural_cmp;
use crate::app::{Action, App, ContainerRef, ContainerSort, ContainerTable, Focus, Pane, Scope};
use crate::fixtures::{self, FIXTURE_TIME_UNIX_MS};
use crate::model::{AgentUpdate, Container, ContainerStats, Fleet, NodeDelta};

const SORTS: [ContainerSort; 9] = ContainerSort::ORDER;

/// Names with capitals, leading zeros and ties (`Node-1` and `node-01` are equal in natural
/// order), figures with ties, -0 and NaN.
fn varied_fleet() -> Fleet {
    fixtures::fleet_with(12, 9, Instant::now(), |n, snapshot| {
        if n % 4 == 1 {
            snapshot.info.node_id = format!("Node-{n}");
        }
        if n == 5 {
            snapshot.info.node_id = "node-01".into();
        }
        for (i, (spec, stats)) in snapshot.containers.iter_mut().enumerate() {
            if (n + i) % 5 == 0 {
                spec.name = format!("Web-{:02}", i % 3);
            }
            if i % 4 == 0 {
                spec.name = format!("web{}x", i % 2);
            }
            if (n + i) % 7 == 0 {
                stats.cpu_percent = -0.0;
            }
            if (n + i) % 11 == 0 {
                stats.cpu_percent = f32::NAN;
            }
        }
    })
}

fn matches(text: &str, needle: &str) -> bool {
    text.to_lowercase().contains(needle)
}

/// The rows as the table built them before sort keys: every container, compared through
/// its fields with `natural_cmp`.
fn reference(
    fleet: &Fleet,
    needle: &str,
    sort: ContainerSort,
    descending: bool,
    now_ms: u64,
) -> Vec<ContainerRef> {
    let nodes = fleet.nodes();
    let mut rows: Vec<(ContainerRef, &Container)> = Vec::new();
    for (slot, n) in nodes.iter().enumerate() {
        for c in n.containers.values() {
            let s = &c.spec;
            let hit = needle.is_empty()
                || matches(&s.name, needle)
                || matches(&s.service, needle)
                || matches(&s.image, needle)
                || matches(n.name(), needle)
                || s.id.starts_with(needle)
                || matches(s.state.as_str(), needle)
                || matches(s.health.as_str(), needle);
            if hit {
                rows.push((ContainerRef { slot, key: s.key }, c));
            }
        }
    }
    let uptime = |c: &Container| match c.spec.started_unix_ms {
        0 => 0,
        started => now_ms.saturating_sub(started),
    };
    let node_cmp = |a: &ContainerRef, b: &ContainerRef| {
        natural_cmp(nodes[a.slot].name(), nodes[b.slot].name())
    };
    rows.sort_by(|(ra, a), (rb, b)| {
        let ord = match sort {
            ContainerSort::Node => node_cmp(ra, rb),
            ContainerSort::Name => natural_cmp(&a.spec.name, &b.spec.name),
            ContainerSort::Service => natural_cmp(&a.spec.service, &b.spec.service),
            ContainerSort::State => a.spec.state.cmp(&b.spec.state),
            ContainerSort::Health => a.spec.health.cmp(&b.spec.health),
            ContainerSort::Restarts => a.spec.restart_count.cmp(&b.spec.restart_count),
            ContainerSort::Cpu => a.stats.cpu_percent.total_cmp(&b.stats.cpu_percent),
            ContainerSort::Memory => a.stats.memory_used_bytes.cmp(&b.stats.memory_used_bytes),
            ContainerSort::Uptime => uptime(a).cmp(&uptime(b)),
        };
        let ord = if descending { ord.reverse() } else { ord };
        ord.then_with(|| node_cmp(ra, rb))
            .then_with(|| natural_cmp(&a.spec.name, &b.spec.name))
            .then(ra.key.cmp(&rb.key))
            .then(ra.slot.cmp(&rb.slot))
    });
    rows.into_iter().map(|(r, _)| r).collect()
}

#[test]
fn natural_keys_order_names_as_natural_cmp() {
    // Every string of up to three characters over digits, letters of both cases, a dash
    // and a non-ASCII letter.
    let alphabet = ['0', '1', '9', 'a', 'B', '-', 'é'];
    let mut words = vec![String::new()];
    for _ in 0..3 {
        let longer: Vec<String> = words
            .iter()
            .filter(|w| w.chars().count() == words.last().map_or(0, |l| l.chars().count()))
            .flat_map(|w| alphabet.iter().map(move |c| format!("{w}{c}")))
            .collect();
        words.extend(longer);
    }
    words.extend(
        [
            "node-10",
            "node-2",
            "node-002",
            "x0000000000000000000001",
            "x1",
        ]
        .map(String::from),
    );
    for a in &words {
        for b in &words {
            assert_eq!(natural_key_cmp(a, b), natural_cmp(a, b), "{a:?} vs {b:?}");
        }
    }
}

#[test]
fn figure_keys_order_as_total_cmp() {
    let figures = [
        f32::NEG_INFINITY,
        -5.5,
        -0.0,
        0.0,
        1e-40,
        0.5,
        99.9,
        f32::INFINITY,
        f32::NAN,
        -f32::NAN,
    ];
    for a in figures {
        for b in figures {
            assert_eq!(f32_key_cmp(a, b), a.total_cmp(&b), "{a} vs {b}");
        }
    }
}

#[test]
fn rows_by_every_column_both_ways_and_filtered_are_the_fields_order() {
    let fleet = varied_fleet();
    let now_ms = FIXTURE_TIME_UNIX_MS;
    for needle in [
        "",
        "w",
        "web",
        "web-0",
        "1",
        "runn",
        "ngin",
        "node-1",
        "00000000001",
        "zzz",
    ] {
        for sort in SORTS {
            for descending in [false, true] {
                let mut t = ContainerTable {
                    scope: Scope::Fleet,
                    sort,
                    descending,
                    filter: needle.into(),
                    dirty: true,
                    ..ContainerTable::default()
                };
                t.refresh(&fleet, None, now_ms);
                let want = reference(&fleet, needle, sort, descending, now_ms);
                assert_eq!(
                    t.rows,
                    want,
                    "/{needle} by {} desc {descending}",
                    sort.label()
                );
            }
        }
    }
}

fn key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn fleet_scope(fleet: Fleet, sort: ContainerSort) -> App {
    let now = Instant::now();
    let mut app = App::new(fleet, now);
    app.set_clock(now, FIXTURE_TIME_UNIX_MS);
    let table = &mut app.panes.tables.containers;
    app.panes.tables.focus = Focus::Containers;
    table.scope = Scope::Fleet;
    while table.sort != sort {
        table.sort_next();
    }
    table.dirty = true;
    app.refresh();
    app
}

fn shown(app: &App) -> (Vec<ContainerRef>, Vec<ContainerRef>) {
    let t = &app.panes.tables.containers;
    let want = reference(
        &app.fleet,
        &t.filter.to_lowercase(),
        t.sort,
        t.descending,
        FIXTURE_TIME_UNIX_MS,
    );
    (t.rows.clone(), want)
}

/// A delta for `slot` on top of what the fleet holds.
fn delta(app: &App, slot: usize, delta: NodeDelta) -> Action {
    let node = &app.fleet.nodes()[slot];
    Action::Agent(AgentUpdate::Delta {
        slot,
        epoch: node.epoch,
        seq: node.seq + 1,
        delta: Box::new(delta),
    })
}

#[test]
fn a_filter_typed_longer_then_shorter_gives_the_rows_built_from_scratch() {
    let mut app = fleet_scope(varied_fleet(), ContainerSort::Cpu);
    app.panes.push(Pane::Filter);
    for (code, filter) in [
        (KeyCode::Char('W'), "W"),
        (KeyCode::Char('e'), "We"),
        (KeyCode::Char('b'), "Web"),
        (KeyCode::Backspace, "We"),
        (KeyCode::Backspace, "W"),
        (KeyCode::Char('-'), "W-"),
        (KeyCode::Char('0'), "W-0"),
        (KeyCode::Backspace, "W-"),
        (KeyCode::Backspace, "W"),
        (KeyCode::Backspace, ""),
    ] {
        app.update(key(code));
        assert_eq!(app.panes.tables.containers.filter, filter);
        let (rows, want) = shown(&app);
        assert_eq!(rows, want, "/{filter}");
    }
}

#[test]
fn a_longer_filter_after_new_containers_lists_them() {
    let mut app = fleet_scope(varied_fleet(), ContainerSort::Node);
    app.panes.push(Pane::Filter);
    app.update(key(KeyCode::Char('w')));
    // A container that matches the longer filter arrives between two keys.
    let mut spec = app.fleet.nodes()[3].containers[&1].spec.clone();
    spec.key = 99;
    spec.name = "wex-new".into();
    let arrived = NodeDelta {
        upserts: vec![(spec, ContainerStats::default())],
        ..NodeDelta::default()
    };
    app.update(delta(&app, 3, arrived));
    app.update(key(KeyCode::Char('e')));
    let (rows, want) = shown(&app);
    assert!(rows.contains(&ContainerRef { slot: 3, key: 99 }));
    assert_eq!(rows, want);

    // The same at the table alone, without the refresh a key gets before it is handled.
    let mut fleet = varied_fleet();
    let mut t = ContainerTable {
        scope: Scope::Fleet,
        filter: "w".into(),
        dirty: true,
        ..ContainerTable::default()
    };
    t.refresh(&fleet, None, FIXTURE_TIME_UNIX_MS);
    let node = &fleet.nodes()[3];
    let mut spec = node.containers[&1].spec.clone();
    spec.key = 99;
    spec.name = "wex-new".into();
    let update = AgentUpdate::Delta {
        slot: 3,
        epoch: node.epoch,
        seq: node.seq + 1,
        delta: Box::new(NodeDelta {
            upserts: vec![(spec, ContainerStats::default())],
            ..NodeDelta::default()
        }),
    };
    assert!(fleet.apply(update, Instant::now()).containers_changed);
    t.push_filter('e');
    t.data_changed();
    t.refresh(&fleet, None, FIXTURE_TIME_UNIX_MS);
    let want = reference(&fleet, "we", t.sort, t.descending, FIXTURE_TIME_UNIX_MS);
    assert!(t.rows.contains(&ContainerRef { slot: 3, key: 99 }));
    assert_eq!(t.rows, want);
}

#[test]
fn rows_after_updates_equal_a_full_sort() {
    for sort in SORTS {
        let mut app = fleet_scope(varied_fleet(), sort);
        for round in 0..3u32 {
            for slot in [0, 4, 7] {
                let stats = (1..=9u32)
                    .map(|key| {
                        let stats = ContainerStats {
                            cpu_percent: ((key * 13 + round * 7 + slot) % 40) as f32,
                            memory_used_bytes: u64::from((key * 5 + round) % 9) << 20,
                            ..ContainerStats::default()
                        };
                        (key, stats)
                    })
                    .collect();
                let figures = NodeDelta {
                    stats,
                    ..NodeDelta::default()
                };
                app.update(delta(&app, slot as usize, figures));
            }
            app.refresh();
            let (rows, want) = shown(&app);
            assert_eq!(rows, want, "by {} after round {round}", sort.label());
        }
        // Containers going and renamed are news whatever the column.
        let mut spec = app.fleet.nodes()[2].containers[&3].spec.clone();
        spec.name = "aaa-renamed".into();
        let changed = NodeDelta {
            upserts: vec![(spec, ContainerStats::default())],
            removed: vec![5],
            ..NodeDelta::default()
        };
        app.update(delta(&app, 2, changed));
        app.refresh();
        let (rows, want) = shown(&app);
        assert_eq!(rows, want, "by {} after a rename", sort.label());
        assert_eq!(rows.len(), 12 * 9 - 1);
    }
}

#[test]
fn name_order_of_equal_names_falls_to_the_key() {
    // Two containers whose names are equal in natural order differ only by key.
    let fleet = fixtures::fleet_with(1, 2, Instant::now(), |_, snapshot| {
        snapshot.containers[0].0.name = "web-02".into();
        snapshot.containers[1].0.name = "Web-2".into();
    });
    let mut t = ContainerTable {
        scope: Scope::Fleet,
        sort: ContainerSort::Name,
        descending: true,
        dirty: true,
        ..ContainerTable::default()
    };
    t.refresh(&fleet, None, 0);
    let keys: Vec<u32> = t.rows.iter().map(|r| r.key).collect();
    assert_eq!(keys, [1, 2]);
    assert_eq!(natural_cmp("web-02", "Web-2"), Ordering::Equal);
}
