//! Heatmap state: which kind is shown, how nodes are grouped and folded, how far back in
//! time the view is scrolled. Pure; the grouping is cached and rebuilt only when the fleet
//! changed, and the cells themselves are computed by the renderer for visible rows only.

use std::collections::HashSet;
use std::time::Duration;

use crate::app::{Cursor, natural_cmp};
use crate::model::{Fleet, Node};

/// How far back the heatmap scrolls: the agents' 1-minute means reach 24 hours.
pub const SCROLL_LIMIT: Duration = Duration::from_secs(24 * 3600);
/// Sample interval assumed before any agent said what it uses.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// Nodes per bucket when neither a label nor a name prefix splits a large fleet.
pub const BUCKET_NODES: usize = 25;

/// What the heatmap plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeatKind {
    /// Nodes x time: each cell one node's load over one interval.
    #[default]
    Time,
    /// Nodes x resource: CPU, memory, disk, network, containers, load now.
    Resource,
}

/// One group of nodes (a rack, a name prefix or a bucket), its nodes in name order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub slots: Vec<usize>,
}

/// One row of the heatmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeatRow {
    /// A group's summary row; `folded` rows stand for all of its nodes.
    Group { group: usize, folded: bool },
    /// One node, by slot.
    Node { slot: usize },
}

/// How groups are folded unless the user toggled them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FoldPolicy {
    /// Fold every group when the nodes do not fit on screen, else show every node.
    #[default]
    Auto,
    /// Every group folded.
    All,
    /// Every group open.
    None,
}

/// The heatmap's state.
#[derive(Debug, Clone)]
pub struct Heatmap {
    pub kind: HeatKind,
    /// Node label that groups nodes (else the name prefix).
    pub group_label: String,
    /// Time the nodes x time view spans.
    pub window: Duration,
    /// Samples between the newest sample and the right edge (0 = now).
    pub scroll_back: usize,
    pub cursor: Cursor,
    pub policy: FoldPolicy,
    /// Groups whose fold state is the opposite of the policy's.
    pub toggled: HashSet<String>,
    /// Groups as shown: `base` groups, merged in runs when even folded they do not fit.
    pub groups: Vec<Group>,
    /// Groups by label or name, rebuilt when the fleet changed.
    pub base: Vec<Group>,
    pub rows: Vec<HeatRow>,
    /// The grouping is out of date with the fleet.
    pub dirty: bool,
}

impl Default for Heatmap {
    fn default() -> Self {
        Self {
            kind: HeatKind::Time,
            group_label: crate::config::DEFAULT_GROUP_LABEL.to_string(),
            window: Duration::from_secs(crate::config::DEFAULT_HEATMAP_WINDOW_MINS * 60),
            scroll_back: 0,
            cursor: Cursor::default(),
            policy: FoldPolicy::Auto,
            toggled: HashSet::new(),
            groups: Vec::new(),
            base: Vec::new(),
            rows: Vec::new(),
            dirty: true,
        }
    }
}

impl Heatmap {
    /// Rebuilds groups (when the fleet changed) and rows (always cheap: one per group or
    /// node); `viewport` is the rows the last frame had room for.
    pub fn refresh(&mut self, fleet: &Fleet) {
        if self.dirty {
            self.base = group_nodes(fleet.nodes(), &self.group_label);
            self.dirty = false;
        }
        let viewport = self.cursor.viewport.max(1);
        let fits = fleet.nodes().len() + self.base.len() <= viewport;
        let fold_by_policy = match self.policy {
            FoldPolicy::Auto => !fits,
            FoldPolicy::All => true,
            FoldPolicy::None => false,
        };
        self.groups = if fold_by_policy && self.base.len() > viewport {
            merge_groups(&self.base, self.base.len().div_ceil(viewport))
        } else {
            self.base.clone()
        };
        self.rows.clear();
        if self.groups.len() <= 1 && !fold_by_policy {
            let slots = self.groups.first().map_or(&[][..], |g| &g.slots[..]);
            self.rows
                .extend(slots.iter().map(|&slot| HeatRow::Node { slot }));
        } else {
            for (i, g) in self.groups.iter().enumerate() {
                let folded = fold_by_policy != self.toggled.contains(&g.name);
                self.rows.push(HeatRow::Group { group: i, folded });
                if !folded {
                    self.rows
                        .extend(g.slots.iter().map(|&slot| HeatRow::Node { slot }));
                }
            }
        }
        self.cursor.clamp(self.rows.len());
    }

    /// Folds or unfolds the group under the cursor (or the one its node belongs to).
    pub fn toggle_fold_at_cursor(&mut self) {
        let group = match self.rows.get(self.cursor.row) {
            Some(HeatRow::Group { group, .. }) => *group,
            Some(HeatRow::Node { slot }) => {
                match self.groups.iter().position(|g| g.slots.contains(slot)) {
                    Some(g) => g,
                    None => return,
                }
            }
            None => return,
        };
        let name = self.groups[group].name.clone();
        if !self.toggled.remove(&name) {
            self.toggled.insert(name);
        }
        // Keep the cursor on the group's row.
        self.cursor.row = self
            .rows
            .iter()
            .position(|r| matches!(r, HeatRow::Group { group: g, .. } if *g == group))
            .unwrap_or(self.cursor.row);
    }

    /// Folds every group, or opens every group when all are folded.
    pub fn toggle_fold_all(&mut self) {
        let all_folded = self
            .rows
            .iter()
            .all(|r| matches!(r, HeatRow::Group { folded: true, .. }));
        self.policy = if all_folded {
            FoldPolicy::None
        } else {
            FoldPolicy::All
        };
        self.toggled.clear();
        self.cursor.row = 0;
    }

    /// Scrolls the time view by `samples` (positive = back in time), within `retained`.
    /// Beyond the samples kept at the interval the cells show 1-minute means.
    pub fn scroll(&mut self, samples: isize, retained: usize) {
        let max = retained.saturating_sub(1);
        self.scroll_back = self.scroll_back.saturating_add_signed(samples).min(max);
    }

    /// Switches between the time and the resource view.
    pub fn next_kind(&mut self) {
        self.kind = match self.kind {
            HeatKind::Time => HeatKind::Resource,
            HeatKind::Resource => HeatKind::Time,
        };
    }
}

/// Groups nodes by `label`; nodes without it by name prefix (`web-eu-07` -> `web-eu`); a
/// single group of more than `BUCKET_NODES` is cut into buckets named by their first and last
/// node, so a large uniform fleet still folds. Groups and their nodes in natural order.
pub fn group_nodes(nodes: &[Node], label: &str) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut keyed: Vec<(String, usize)> = nodes
        .iter()
        .enumerate()
        .map(|(slot, n)| (group_key(n, label), slot))
        .collect();
    keyed.sort_by(|a, b| {
        natural_cmp(&a.0, &b.0).then_with(|| natural_cmp(nodes[a.1].name(), nodes[b.1].name()))
    });
    for (key, slot) in keyed {
        match groups.last_mut() {
            Some(g) if g.name == key => g.slots.push(slot),
            _ => groups.push(Group {
                name: key,
                slots: vec![slot],
            }),
        }
    }
    if groups.len() == 1 && groups[0].slots.len() > BUCKET_NODES {
        let slots = std::mem::take(&mut groups[0].slots);
        groups = slots
            .chunks(BUCKET_NODES)
            .map(|chunk| {
                let first = nodes[chunk[0]].name();
                let last = nodes[chunk[chunk.len() - 1]].name();
                Group {
                    name: format!("{first}..{}", suffix_after_common(first, last)),
                    slots: chunk.to_vec(),
                }
            })
            .collect();
    }
    groups
}

/// Runs of `per` consecutive groups as one, named by the first and last (`r0..r7`).
fn merge_groups(groups: &[Group], per: usize) -> Vec<Group> {
    groups
        .chunks(per.max(1))
        .map(|run| {
            let first = &run[0].name;
            let last = &run[run.len() - 1].name;
            Group {
                name: if run.len() == 1 {
                    first.clone()
                } else {
                    format!("{first}..{}", suffix_after_common(first, last))
                },
                slots: run.iter().flat_map(|g| g.slots.iter().copied()).collect(),
            }
        })
        .collect()
}

fn group_key(node: &Node, label: &str) -> String {
    if let Some(value) = node.info.as_ref().and_then(|i| i.status.labels.get(label)) {
        return value.clone();
    }
    let name = node.name();
    let prefix = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == ':' || c == '.');
    let prefix = prefix.trim_end_matches(['-', '_', '.']);
    if prefix.is_empty() {
        name.to_string()
    } else {
        prefix.to_string()
    }
}

/// `last` without the prefix it shares with `first`, cut before a whole number
/// (`node-0025` after `node-0001` is `0025`, `r39` after `r32` is `39`).
fn suffix_after_common(first: &str, last: &str) -> String {
    let mut common = first
        .chars()
        .zip(last.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let chars: Vec<char> = last.chars().collect();
    while common > 0 && chars.get(common - 1).is_some_and(char::is_ascii_digit) {
        common -= 1;
    }
    let tail: String = last.chars().skip(common).collect();
    if tail.is_empty() {
        last.to_string()
    } else {
        tail
    }
}

/// Nodes x time geometry: samples per cell and cells drawn for `width` columns of cells,
/// covering `window` at `interval` per sample.
pub fn time_cells(width: usize, window: Duration, interval: Duration) -> (usize, usize) {
    let interval_ms = interval.as_millis().max(1);
    let window_samples = (window.as_millis() / interval_ms).max(1) as usize;
    let width = width.max(1);
    let per_cell = window_samples.div_ceil(width).max(1);
    let cells = window_samples.div_ceil(per_cell).min(width);
    (per_cell, cells)
}

/// The sample interval of the fleet (the first node that said).
pub fn sample_interval(fleet: &Fleet) -> Duration {
    fleet
        .nodes()
        .iter()
        .find_map(|n| n.info.as_ref().map(|i| i.sample_interval_ms))
        .filter(|ms| *ms > 0)
        .map_or(DEFAULT_INTERVAL, |ms| Duration::from_millis(u64::from(ms)))
}

/// How far back (in samples of `interval`) any node's load history reaches, within
/// [`SCROLL_LIMIT`].
pub fn retained(fleet: &Fleet, interval: Duration) -> usize {
    let limit = (SCROLL_LIMIT.as_millis() / interval.as_millis().max(1)) as usize;
    fleet
        .nodes()
        .iter()
        .map(|n| n.load_retained(interval))
        .max()
        .unwrap_or(0)
        .min(limit)
}

/// Mean load of `node` over the samples `from_back .. from_back + len` of `interval` before
/// now, or `None` where the node has no figure there: samples while it has them, then its
/// 1-minute means. A node that stopped answering `lag` samples ago has nothing for its most
/// recent `lag` samples: its row goes blank instead of looking live.
pub fn node_cell(
    node: &Node,
    from_back: usize,
    len: usize,
    lag: usize,
    interval: Duration,
) -> Option<f32> {
    let (mut sum, mut n) = (0.0f32, 0u32);
    for back in from_back..from_back + len {
        if let Some(v) = back
            .checked_sub(lag)
            .and_then(|b| node.load_back(b, interval))
        {
            sum += v;
            n += 1;
        }
    }
    (n > 0).then(|| sum / n as f32)
}

#[cfg(test)]
#[path = "heatmap_tests.rs"]
mod tests;
