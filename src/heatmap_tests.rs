use std::time::Instant;

use super::*;
use crate::fixtures;

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn nodes_group_by_label_then_by_name_prefix() {
    let fleet = fixtures::fleet(20, 0, Instant::now());
    let groups = group_nodes(fleet.nodes(), "rack");
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["r0", "r1", "r2"], "fixtures put 8 nodes per rack");
    assert_eq!(groups[0].slots, (0..8).collect::<Vec<_>>());
    assert_eq!(groups[2].slots.len(), 4);
    // No such label: every fixture node is `node-NN`, one prefix, cut into buckets.
    let fleet = fixtures::fleet(60, 0, Instant::now());
    let groups = group_nodes(fleet.nodes(), "zone");
    assert_eq!(groups.len(), 3);
    assert_eq!(groups[0].name, "node-00..24");
    assert_eq!(groups[1].name, "node-25..49");
    assert_eq!(groups[2].slots.len(), 10);
    // Unreached nodes are named by endpoint; mixed prefixes group apart.
    let fleet = Fleet::new(
        ["web-1:1", "web-2:1", "db-1:1"],
        Duration::from_secs(10),
        Instant::now(),
    );
    let groups = group_nodes(fleet.nodes(), "rack");
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["db", "web"]);
}

#[test]
fn groups_fold_when_the_nodes_do_not_fit_and_unfold_by_key() {
    let fleet = fixtures::fleet(20, 0, Instant::now());
    let mut hm = Heatmap::default();
    hm.cursor.viewport = 40;
    hm.refresh(&fleet);
    assert_eq!(hm.rows.len(), 23, "3 group rows and 20 nodes fit in 40");
    hm.cursor.viewport = 10;
    hm.refresh(&fleet);
    assert_eq!(
        hm.rows,
        (0..3)
            .map(|group| HeatRow::Group {
                group,
                folded: true
            })
            .collect::<Vec<_>>()
    );
    hm.cursor.row = 1;
    hm.toggle_fold_at_cursor();
    hm.refresh(&fleet);
    assert_eq!(hm.rows.len(), 3 + 8, "r1 opened");
    assert_eq!(hm.rows[2], HeatRow::Node { slot: 8 });
    hm.cursor.row = 4;
    hm.toggle_fold_at_cursor();
    hm.refresh(&fleet);
    assert_eq!(hm.rows.len(), 3, "folded again from one of its nodes");
    assert_eq!(hm.cursor.row, 1, "cursor back on the group");
    hm.toggle_fold_all();
    hm.refresh(&fleet);
    assert_eq!(hm.rows.len(), 23, "all were folded: Z opens them all");
    hm.toggle_fold_all();
    hm.refresh(&fleet);
    assert_eq!(hm.rows.len(), 3, "then Z folds them all");
}

#[test]
fn a_thousand_nodes_fit_one_screen_folded() {
    let fleet = fixtures::fleet(1000, 0, Instant::now());
    let mut hm = Heatmap::default();
    hm.cursor.viewport = 20;
    hm.refresh(&fleet);
    assert!(hm.rows.len() <= 20, "{} rows", hm.rows.len());
    assert_eq!(hm.base.len(), 125, "125 racks of 8");
    assert_eq!(hm.groups[0].name, "r0..6", "racks merged in runs of 7");
    let nodes: usize = hm.groups.iter().map(|g| g.slots.len()).sum();
    assert_eq!(nodes, 1000, "every node is in a group");
}

#[test]
fn time_cells_cover_the_window() {
    let s = Duration::from_secs(1);
    assert_eq!(time_cells(60, Duration::from_secs(600), s), (10, 60));
    assert_eq!(time_cells(70, Duration::from_secs(600), s), (9, 67));
    assert_eq!(time_cells(1000, Duration::from_secs(600), s), (1, 600));
    assert_eq!(time_cells(0, Duration::from_secs(600), s).1, 1);
}

#[test]
fn cells_average_samples_and_a_silent_node_leaves_a_gap() {
    let t0 = Instant::now();
    let mut fleet = fixtures::fleet(1, 0, t0);
    let node = &mut fleet_node(&mut fleet);
    node.load_history.clear();
    for v in [10.0, 20.0, 30.0, 40.0] {
        node.load_history.push(v);
    }
    assert_eq!(node_cell(node, 0, 2, 0, SECOND), Some(35.0));
    assert_eq!(node_cell(node, 2, 2, 0, SECOND), Some(15.0));
    assert_eq!(
        node_cell(node, 4, 2, 0, SECOND),
        None,
        "before the first sample"
    );
    assert_eq!(
        node_cell(node, 0, 2, 2, SECOND),
        None,
        "silent for the last 2 samples"
    );
    assert_eq!(node_cell(node, 0, 3, 2, SECOND), Some(40.0));
}

#[test]
fn past_the_samples_cells_show_the_minute_means() {
    let t0 = Instant::now();
    let mut fleet = fixtures::fleet(1, 0, t0);
    let node = &mut fleet_node(&mut fleet);
    node.load_history.clear();
    node.host.time_unix_ms = 10 * 60_000;
    for v in [10.0, 20.0] {
        node.load_history.push(v);
    }
    node.load_minutes.set(8, 55.0);
    node.load_minutes.set(5, 70.0);
    // Two samples, then the minute means by agent time: minute 9 has none, 8 has 55.
    assert_eq!(node_cell(node, 0, 2, 0, SECOND), Some(15.0));
    assert_eq!(node_cell(node, 2, 30, 0, SECOND), None);
    assert_eq!(node_cell(node, 61, 10, 0, SECOND), Some(55.0));
    assert_eq!(node_cell(node, 300, 1, 0, SECOND), Some(70.0));
    assert_eq!(
        node.load_retained(SECOND),
        300,
        "back to the start of minute 5"
    );
}

fn fleet_node(fleet: &mut Fleet) -> Node {
    fleet.nodes()[0].clone()
}

#[test]
fn scrolling_stays_within_the_history() {
    let mut hm = Heatmap::default();
    hm.scroll(300, 1000);
    hm.scroll(300, 1000);
    assert_eq!(hm.scroll_back, 600);
    hm.scroll(900, 1000);
    assert_eq!(hm.scroll_back, 999);
    hm.scroll(-5000, 1000);
    assert_eq!(hm.scroll_back, 0);
}
