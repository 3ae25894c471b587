//! The container table's rows in display order, built fast enough for the whole fleet
//! (155,000 containers at 5,000 nodes): each row's sort key is computed once, as an integer
//! and a byte string that compare as the column does, so a sort compares plain numbers and
//! bytes instead of following pointers into containers; text shared by many rows (a node's
//! name, a state) is matched against the filter once, not once per container.

use std::ops::Range;

use super::tables::{ContainerRef, ContainerSort, trim_zeros};
use crate::model::{Container, ContainerState, HealthState, Node};

/// A row with its sort key, compared field by field in this order.
struct Keyed {
    /// The column's value as an order-preserving integer (0 for text columns).
    primary: u64,
    /// The column's text as a natural key in the arena (empty for numeric columns).
    text: Range<u32>,
    /// The node's place in name order: the first tie-break.
    node: u32,
    /// The container's name as a natural key: the second tie-break.
    name: Range<u32>,
    key: u32,
    slot: usize,
}

/// The rows of `slots`' containers that match `needle` (lower case; empty for all), sorted
/// by `sort`, then node name, container name, key and slot. `rank` is each node's place in
/// name order, by slot.
pub(super) fn build(
    nodes: &[Node],
    slots: &[usize],
    rank: &[u32],
    needle: &str,
    (sort, descending): (ContainerSort, bool),
    now_ms: u64,
) -> Vec<ContainerRef> {
    let mut arena: Vec<u8> = Vec::new();
    let mut keyed: Vec<Keyed> = Vec::new();
    let mut matcher = Matcher::new(needle);
    for &slot in slots {
        let n = &nodes[slot];
        let node_matches = matcher.node(n);
        for c in n.containers.values() {
            if !node_matches && !matcher.container(c) {
                continue;
            }
            let s = &c.spec;
            let text = match sort {
                ContainerSort::Name => push_natural_key(&mut arena, &s.name),
                ContainerSort::Service => push_natural_key(&mut arena, &s.service),
                _ => 0..0,
            };
            let name = if sort == ContainerSort::Name {
                text.clone()
            } else {
                push_natural_key(&mut arena, &s.name)
            };
            keyed.push(Keyed {
                primary: primary(sort, rank[slot], c, now_ms),
                text,
                node: rank[slot],
                name,
                key: s.key,
                slot,
            });
        }
    }
    let bytes = |r: &Range<u32>| &arena[r.start as usize..r.end as usize];
    // The order is total (slot and key make a row unique), so an unstable sort gives the
    // same rows as a stable one, without its buffer.
    keyed.sort_unstable_by(|a, b| {
        let ord = a
            .primary
            .cmp(&b.primary)
            .then_with(|| bytes(&a.text).cmp(bytes(&b.text)));
        let ord = if descending { ord.reverse() } else { ord };
        ord.then(a.node.cmp(&b.node))
            .then_with(|| bytes(&a.name).cmp(bytes(&b.name)))
            .then(a.key.cmp(&b.key))
            .then(a.slot.cmp(&b.slot))
    });
    keyed
        .into_iter()
        .map(|k| ContainerRef {
            slot: k.slot,
            key: k.key,
        })
        .collect()
}

/// Keeps the rows that match `needle`, in their order: what a longer filter leaves of the
/// rows a shorter one (a prefix of it) matched.
pub(super) fn narrow(rows: &mut Vec<ContainerRef>, nodes: &[Node], needle: &str) {
    let mut matcher = Matcher::new(needle);
    // Rows of one node come in runs whatever the sort; its name is matched once per run.
    let mut last: Option<(usize, bool)> = None;
    rows.retain(|r| {
        let Some(n) = nodes.get(r.slot) else {
            return false;
        };
        let node_matches = match last {
            Some((slot, m)) if slot == r.slot => m,
            _ => {
                let m = matcher.node(n);
                last = Some((r.slot, m));
                m
            }
        };
        node_matches
            || n.containers
                .get(&r.key)
                .is_some_and(|c| matcher.container(c))
    });
}

/// The column's value as an integer whose order is the column's order.
fn primary(sort: ContainerSort, node_rank: u32, c: &Container, now_ms: u64) -> u64 {
    let s = &c.spec;
    match sort {
        ContainerSort::Node => node_rank.into(),
        ContainerSort::Name | ContainerSort::Service => 0,
        ContainerSort::State => s.state as u64,
        ContainerSort::Health => s.health as u64,
        ContainerSort::Restarts => s.restart_count.into(),
        ContainerSort::Cpu => f32_key(c.stats.cpu_percent),
        ContainerSort::Memory => c.stats.memory_used_bytes,
        ContainerSort::Uptime => uptime_ms(s.started_unix_ms, now_ms),
    }
}

/// An integer that orders as `f32::total_cmp` does: negative values (their sign bit set)
/// have every bit flipped, positive ones only the sign bit.
fn f32_key(x: f32) -> u64 {
    let bits = x.to_bits();
    let key = if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    };
    key.into()
}

fn uptime_ms(started: u64, now: u64) -> u64 {
    if started == 0 {
        0
    } else {
        now.saturating_sub(started)
    }
}

/// Appends `s`'s natural key to `arena` and returns where it is: bytes that compare as
/// `natural_cmp` compares the names. Letters are lowered; a run of digits becomes a `0`
/// (which sorts against any other byte as every digit does), the length of the run without
/// its leading zeros as four big-endian bytes, then those digits.
fn push_natural_key(arena: &mut Vec<u8>, s: &str) -> Range<u32> {
    let start = arena.len();
    let mut rest = s.as_bytes();
    while let Some(&first) = rest.first() {
        if first.is_ascii_digit() {
            let run = rest.iter().take_while(|c| c.is_ascii_digit()).count();
            let digits = trim_zeros(&rest[..run]);
            let len = u32::try_from(digits.len()).unwrap_or(u32::MAX);
            arena.push(b'0');
            arena.extend_from_slice(&len.to_be_bytes());
            arena.extend_from_slice(digits);
            rest = &rest[run..];
        } else {
            arena.push(first.to_ascii_lowercase());
            rest = &rest[1..];
        }
    }
    // The arena of one sort holds a few bytes per container: far below 4 GiB.
    let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    at(start)..at(arena.len())
}

/// Matches a lower-case filter against containers, remembering the answer for the text
/// many rows share (service and image names are shared strings, states a handful).
struct Matcher<'n> {
    needle: &'n str,
    /// Shared strings already matched, by address and length.
    shared: Vec<((*const u8, usize), bool)>,
    states: Vec<(ContainerState, bool)>,
    healths: Vec<(HealthState, bool)>,
}

impl<'n> Matcher<'n> {
    /// Beyond this many distinct service and image names, memoising costs more than it saves.
    const SHARED_MAX: usize = 64;

    fn new(needle: &'n str) -> Self {
        Self {
            needle,
            shared: Vec::new(),
            states: Vec::new(),
            healths: Vec::new(),
        }
    }

    /// Whether the node's name matches, which makes every one of its containers match.
    fn node(&self, node: &Node) -> bool {
        contains_ci(node.name(), self.needle)
    }

    /// Whether the container matches on its own text (its node's name aside).
    fn container(&mut self, c: &Container) -> bool {
        let s = &c.spec;
        let needle = self.needle;
        needle.is_empty()
            || contains_ci(&s.name, needle)
            || s.id.starts_with(needle)
            || self.shared(&s.service)
            || self.shared(&s.image)
            || memo(&mut self.states, s.state, |v| {
                contains_ci(v.as_str(), needle)
            })
            || memo(&mut self.healths, s.health, |v| {
                contains_ci(v.as_str(), needle)
            })
    }

    fn shared(&mut self, text: &str) -> bool {
        let at = (text.as_ptr(), text.len());
        if let Some((_, m)) = self.shared.iter().find(|(p, _)| *p == at) {
            return *m;
        }
        let m = contains_ci(text, self.needle);
        if self.shared.len() < Self::SHARED_MAX {
            self.shared.push((at, m));
        }
        m
    }
}

/// `matches(value)`, asked once per distinct value (there are a handful).
fn memo<T: Copy + PartialEq>(
    seen: &mut Vec<(T, bool)>,
    value: T,
    matches: impl Fn(T) -> bool,
) -> bool {
    if let Some((_, m)) = seen.iter().find(|(v, _)| *v == value) {
        return *m;
    }
    let m = matches(value);
    seen.push((value, m));
    m
}

/// Case-insensitive substring test; `needle` must already be lower case.
pub(super) fn contains_ci(haystack: &str, needle: &str) -> bool {
    let Some((&first, rest)) = needle.as_bytes().split_first() else {
        return true;
    };
    if haystack.is_ascii() && needle.is_ascii() {
        let h = haystack.as_bytes();
        h.len() >= needle.len()
            && h[..=h.len() - needle.len()]
                .iter()
                .enumerate()
                .any(|(i, c)| {
                    c.to_ascii_lowercase() == first
                        && h[i + 1..i + needle.len()].eq_ignore_ascii_case(rest)
                })
    } else {
        haystack.to_lowercase().contains(needle)
    }
}

/// Compares two names' natural keys (for tests: the order `natural_cmp` gives).
#[cfg(test)]
fn natural_key_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let mut arena = Vec::new();
    let (ra, rb) = (
        push_natural_key(&mut arena, a),
        push_natural_key(&mut arena, b),
    );
    arena[ra.start as usize..ra.end as usize].cmp(&arena[rb.start as usize..rb.end as usize])
}

/// The order `f32_key` gives (for tests: the order `total_cmp` gives).
#[cfg(test)]
fn f32_key_cmp(a: f32, b: f32) -> std::cmp::Ordering {
    f32_key(a).cmp(&f32_key(b))
}

#[cfg(test)]
#[path = "container_rows_tests.rs"]
mod tests;
