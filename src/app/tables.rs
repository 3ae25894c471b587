//! Sorted, filtered row indexes of the node and container tables, and their cursors.
//!
//! Indexes are rebuilt only when the data or the sort/filter changed, never per frame:
//! rendering reads `rows` and lays out only what is on screen.

use std::cmp::Ordering;
use std::time::Instant;

use super::container_rows::{self, contains_ci};
use crate::model::{Fleet, Node};

/// A row of the container table: which node (slot) and which container (key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContainerRef {
    pub slot: usize,
    pub key: u32,
}

/// Columns the node table can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeSort {
    #[default]
    Name,
    State,
    Cpu,
    Memory,
    Disk,
    Containers,
    Load,
}

impl NodeSort {
    const ORDER: [NodeSort; 7] = [
        NodeSort::Name,
        NodeSort::State,
        NodeSort::Cpu,
        NodeSort::Memory,
        NodeSort::Disk,
        NodeSort::Containers,
        NodeSort::Load,
    ];

    /// Column title, as the table header shows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Name => "NAME",
            Self::State => "STATE",
            Self::Cpu => "CPU",
            Self::Memory => "MEM",
            Self::Disk => "DISK",
            Self::Containers => "CTRS",
            Self::Load => "LOAD",
        }
    }

    fn next(self) -> Self {
        let i = Self::ORDER.iter().position(|s| *s == self).unwrap_or(0);
        Self::ORDER[(i + 1) % Self::ORDER.len()]
    }

    /// Numeric columns sort biggest first by default.
    fn descending_by_default(self) -> bool {
        !matches!(self, Self::Name | Self::State)
    }
}

/// Columns the container table can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContainerSort {
    #[default]
    Node,
    Name,
    Service,
    State,
    Health,
    Restarts,
    Cpu,
    Memory,
    Uptime,
}

impl ContainerSort {
    /// Every column, in the table's order.
    pub const ORDER: [ContainerSort; 9] = [
        ContainerSort::Node,
        ContainerSort::Name,
        ContainerSort::Service,
        ContainerSort::State,
        ContainerSort::Health,
        ContainerSort::Restarts,
        ContainerSort::Cpu,
        ContainerSort::Memory,
        ContainerSort::Uptime,
    ];

    /// Column title, as the table header shows it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Node => "NODE",
            Self::Name => "NAME",
            Self::Service => "SERVICE",
            Self::State => "STATE",
            Self::Health => "HEALTH",
            Self::Restarts => "RESTARTS",
            Self::Cpu => "CPU",
            Self::Memory => "MEM",
            Self::Uptime => "UPTIME",
        }
    }

    fn next(self) -> Self {
        let i = Self::ORDER.iter().position(|s| *s == self).unwrap_or(0);
        Self::ORDER[(i + 1) % Self::ORDER.len()]
    }

    fn descending_by_default(self) -> bool {
        matches!(
            self,
            Self::Restarts | Self::Cpu | Self::Memory | Self::Uptime | Self::Health
        )
    }
}

/// Cursor and scroll position of one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Selected row in the index.
    pub row: usize,
    /// First row shown (a hint: the renderer keeps the cursor visible whatever it is).
    pub offset: usize,
    /// Rows the table showed last frame.
    pub viewport: usize,
}

impl Cursor {
    /// Moves by `delta` rows within `len` rows, keeping the cursor in view.
    pub fn step(&mut self, delta: isize, len: usize) {
        if len == 0 {
            self.row = 0;
            self.offset = 0;
            return;
        }
        self.row = self.row.saturating_add_signed(delta).min(len - 1);
        self.follow();
    }

    /// One screenful, at least one row.
    pub fn page(&self) -> isize {
        self.viewport.max(2) as isize - 1
    }

    /// Clamps to `len` rows and scrolls so the cursor shows.
    pub fn clamp(&mut self, len: usize) {
        self.row = self.row.min(len.saturating_sub(1));
        self.follow();
    }

    fn follow(&mut self) {
        self.offset = visible_offset(self.row, self.offset, self.viewport);
    }
}

/// First row to show so that `row` is inside a window of `height` rows starting near `hint`.
pub fn visible_offset(row: usize, hint: usize, height: usize) -> usize {
    if height == 0 {
        return row;
    }
    if row < hint {
        row
    } else if row >= hint + height {
        row + 1 - height
    } else {
        hint
    }
}

/// The node table: slots in display order.
#[derive(Debug, Clone, Default)]
pub struct NodeTable {
    pub rows: Vec<usize>,
    pub sort: NodeSort,
    pub descending: bool,
    pub filter: String,
    pub cursor: Cursor,
    /// Slot under the cursor, kept across re-sorts once the user has moved.
    pub selected: Option<usize>,
    /// The user moved the cursor: the selection follows the node, not the row.
    pub pinned: bool,
    pub dirty: bool,
}

impl NodeTable {
    /// Sorts by the next column.
    pub fn sort_next(&mut self) {
        self.sort = self.sort.next();
        self.descending = self.sort.descending_by_default();
        self.dirty = true;
    }

    /// Rebuilds the index if anything it depends on changed.
    pub fn refresh(&mut self, fleet: &Fleet, now: Instant) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let needle = self.filter.to_lowercase();
        let nodes = fleet.nodes();
        self.rows.clear();
        self.rows.extend(
            (0..nodes.len()).filter(|&s| needle.is_empty() || node_matches(&nodes[s], &needle)),
        );
        let timeout = fleet.failover_timeout();
        let key = |n: &Node| -> f64 {
            match self.sort {
                NodeSort::Cpu => n.host.cpu_percent.into(),
                NodeSort::Memory => n.host.memory_percent().into(),
                NodeSort::Disk => n.host.disk_percent().into(),
                NodeSort::Containers => n.containers.len() as f64,
                NodeSort::Load => n.load().into(),
                NodeSort::Name | NodeSort::State => 0.0,
            }
        };
        let (sort, descending) = (self.sort, self.descending);
        self.rows.sort_by(|&a, &b| {
            let (na, nb) = (&nodes[a], &nodes[b]);
            let ord = match sort {
                NodeSort::Name => natural_cmp(na.name(), nb.name()),
                NodeSort::State => na.state(now, timeout).cmp(&nb.state(now, timeout)),
                _ => key(na).total_cmp(&key(nb)),
            };
            let ord = if descending { ord.reverse() } else { ord };
            ord.then_with(|| natural_cmp(na.name(), nb.name()))
        });
        self.reselect();
    }

    fn reselect(&mut self) {
        if let Some(slot) = self.selected.filter(|_| self.pinned) {
            if let Some(pos) = self.rows.iter().position(|s| *s == slot) {
                self.cursor.row = pos;
            }
        }
        self.cursor.clamp(self.rows.len());
        self.selected = self.rows.get(self.cursor.row).copied();
    }

    /// Moves the cursor and remembers the slot under it.
    pub fn step(&mut self, delta: isize) {
        self.cursor.step(delta, self.rows.len());
        self.selected = self.rows.get(self.cursor.row).copied();
        self.pinned = true;
    }
}

fn node_matches(node: &Node, needle: &str) -> bool {
    contains_ci(node.name(), needle)
        || contains_ci(&node.endpoint, needle)
        || node.info.as_ref().is_some_and(|i| {
            contains_ci(&i.hostname, needle)
                || i.status
                    .labels
                    .iter()
                    .any(|(k, v)| contains_ci(k, needle) || contains_ci(v, needle))
        })
}

/// Which containers the container table lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// The node selected in the node table.
    #[default]
    SelectedNode,
    /// Every node.
    Fleet,
}

/// The container table: container references in display order.
#[derive(Debug, Clone, Default)]
pub struct ContainerTable {
    pub rows: Vec<ContainerRef>,
    pub sort: ContainerSort,
    pub descending: bool,
    pub filter: String,
    pub scope: Scope,
    pub cursor: Cursor,
    /// Container under the cursor, kept across re-sorts once the user has moved.
    pub selected: Option<ContainerRef>,
    /// The user moved the cursor: the selection follows the container, not the row.
    pub pinned: bool,
    pub dirty: bool,
    /// Since `rows` were built, only the filter changed, by a typed character.
    pub(super) narrowed: bool,
    /// What `rows` were built from.
    pub(super) built: Option<Built>,
}

/// The inputs of a container table's rows, to tell whether a longer filter can narrow them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Built {
    needle: String,
    sort: ContainerSort,
    descending: bool,
    scope: Scope,
    node: Option<usize>,
}

impl ContainerTable {
    /// Sorts by the next column.
    pub fn sort_next(&mut self) {
        self.sort = self.sort.next();
        self.descending = self.sort.descending_by_default();
        self.dirty = true;
    }

    /// Containers came or went, or their names, states or anything else changed.
    pub fn data_changed(&mut self) {
        self.dirty = true;
        self.narrowed = false;
    }

    /// Only containers' figures changed: the rows change only if they are sorted by one.
    pub fn figures_changed(&mut self) {
        if matches!(
            self.sort,
            ContainerSort::Cpu | ContainerSort::Memory | ContainerSort::Uptime
        ) {
            self.data_changed();
        }
    }

    /// Types a character into the filter.
    pub fn push_filter(&mut self, c: char) {
        // A longer filter keeps a subset of the rows, in their order, if they are current.
        self.narrowed = !self.dirty || self.narrowed;
        self.filter.push(c);
        self.dirty = true;
    }

    /// Rebuilds the index if anything it depends on changed; `node` is the selected slot.
    pub fn refresh(&mut self, fleet: &Fleet, node: Option<usize>, now_unix_ms: u64) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let narrowed = std::mem::take(&mut self.narrowed);
        let wanted = Built {
            needle: self.filter.to_lowercase(),
            sort: self.sort,
            descending: self.descending,
            scope: self.scope,
            node,
        };
        let nodes = fleet.nodes();
        match self.built.take() {
            // The rows of a filter that the new one extends, nothing else changed.
            Some(built)
                if narrowed
                    && wanted.needle.starts_with(&built.needle)
                    && Built {
                        needle: wanted.needle.clone(),
                        ..built
                    } == wanted =>
            {
                container_rows::narrow(&mut self.rows, nodes, &wanted.needle);
            }
            _ => {
                let slots: Vec<usize> = match self.scope {
                    Scope::Fleet => (0..nodes.len()).collect(),
                    Scope::SelectedNode => node.into_iter().collect(),
                };
                // Comparing node names once per node, not once per pair of containers: at
                // fleet scope a sort makes millions of comparisons and most tie on the column.
                let rank = name_ranks(nodes, &slots);
                self.rows = container_rows::build(
                    nodes,
                    &slots,
                    &rank,
                    &wanted.needle,
                    (self.sort, self.descending),
                    now_unix_ms,
                );
            }
        }
        self.built = Some(wanted);
        if let Some(sel) = self.selected.filter(|_| self.pinned) {
            if let Some(pos) = self.rows.iter().position(|r| *r == sel) {
                self.cursor.row = pos;
            }
        }
        self.cursor.clamp(self.rows.len());
        self.selected = self.rows.get(self.cursor.row).copied();
    }

    /// Moves the cursor and remembers the container under it.
    pub fn step(&mut self, delta: isize) {
        self.cursor.step(delta, self.rows.len());
        self.selected = self.rows.get(self.cursor.row).copied();
        self.pinned = true;
    }

    /// Back to the first row, following rows rather than a container (a new scope).
    pub fn reset_cursor(&mut self) {
        self.cursor = Cursor {
            viewport: self.cursor.viewport,
            ..Cursor::default()
        };
        self.selected = None;
        self.pinned = false;
        self.dirty = true;
    }
}

/// Each node's place among `slots` in the natural order of names, by slot; nodes whose
/// names compare equal share a place.
fn name_ranks(nodes: &[Node], slots: &[usize]) -> Vec<u32> {
    let mut order = slots.to_vec();
    order.sort_by(|&a, &b| natural_cmp(nodes[a].name(), nodes[b].name()));
    let mut rank = vec![0u32; nodes.len()];
    let mut place = 0u32;
    for (i, &slot) in order.iter().enumerate() {
        if i > 0 && natural_cmp(nodes[order[i - 1]].name(), nodes[slot].name()) != Ordering::Equal {
            place += 1;
        }
        rank[slot] = place;
    }
    rank
}

/// Compares names so that `node-2` sorts before `node-10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (trim_zeros(&a[..da]), trim_zeros(&b[..db]));
                let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                let ord = x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase());
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

pub(super) fn trim_zeros(digits: &[u8]) -> &[u8] {
    let first = digits
        .iter()
        .position(|d| *d != b'0')
        .unwrap_or(digits.len());
    &digits[first..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn natural_order_puts_2_before_10() {
        let mut names = vec!["node-10", "node-2", "Node-1", "node-02a", "web"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            vec!["Node-1", "node-2", "node-02a", "node-10", "web"]
        );
    }

    #[test]
    fn offset_keeps_the_cursor_visible() {
        assert_eq!(visible_offset(0, 0, 10), 0);
        assert_eq!(visible_offset(9, 0, 10), 0);
        assert_eq!(visible_offset(10, 0, 10), 1);
        assert_eq!(visible_offset(3, 5, 10), 3);
        assert_eq!(visible_offset(12, 5, 10), 5);
    }

    #[test]
    fn container_index_sorts_filters_and_keeps_the_selection() {
        let now = Instant::now();
        let fleet = fixtures::fleet(3, 10, now);
        let mut t = ContainerTable {
            scope: Scope::Fleet,
            dirty: true,
            ..Default::default()
        };
        t.refresh(&fleet, None, 0);
        assert_eq!(t.rows.len(), 30);
        t.sort = ContainerSort::Cpu;
        t.descending = true;
        t.dirty = true;
        t.refresh(&fleet, None, 0);
        let cpu = |r: &ContainerRef| fleet.nodes()[r.slot].containers[&r.key].stats.cpu_percent;
        assert!(t.rows.windows(2).all(|w| cpu(&w[0]) >= cpu(&w[1])));
        t.step(5);
        let chosen = t.selected.unwrap();
        t.sort = ContainerSort::Name;
        t.dirty = true;
        t.refresh(&fleet, None, 0);
        assert_eq!(
            t.selected,
            Some(chosen),
            "selection follows the container, not the row"
        );
        t.filter = "postgres".into();
        t.dirty = true;
        t.refresh(&fleet, None, 0);
        assert!(!t.rows.is_empty());
        assert!(
            t.rows
                .iter()
                .all(|r| &*fleet.nodes()[r.slot].containers[&r.key].spec.service == "db")
        );
        t.scope = Scope::SelectedNode;
        t.dirty = true;
        t.refresh(&fleet, Some(1), 0);
        assert!(t.rows.iter().all(|r| r.slot == 1));
    }

    #[test]
    fn node_index_sorts_by_load_descending() {
        let now = Instant::now();
        let fleet = fixtures::fleet(12, 4, now);
        let mut t = NodeTable {
            dirty: true,
            ..Default::default()
        };
        t.refresh(&fleet, now);
        let names: Vec<_> = t.rows.iter().map(|s| fleet.nodes()[*s].name()).collect();
        assert_eq!(names.first(), Some(&"node-00"));
        assert_eq!(names.last(), Some(&"node-11"));
        while t.sort != NodeSort::Load {
            t.sort_next();
        }
        t.refresh(&fleet, now);
        let loads: Vec<f32> = t.rows.iter().map(|s| fleet.nodes()[*s].load()).collect();
        assert!(loads.windows(2).all(|w| w[0] >= w[1]), "{loads:?}");
    }
}
