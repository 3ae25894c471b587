//! One alert and what identifies it: the key (rule and subject), its state in the
//! pending -> firing -> resolved life, acknowledgement and the counts the pane shows.

use std::time::Instant;

use super::proposal::Proposal;
use super::rules::{Metric, Severity};
use super::timeline::Stamp;

/// Slot used in the key of fleet-wide alerts.
pub const FLEET_SLOT: usize = usize::MAX;

/// Which alert: one rule on one node, container, or the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AlertKey {
    /// Node slot, or `FLEET_SLOT`.
    pub slot: usize,
    /// Container key on that node.
    pub container: Option<u32>,
    /// Index of the rule.
    pub rule: usize,
}

/// Where an alert points, for the jump from the alert to the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Node(usize),
    Container { slot: usize, key: u32 },
    Fleet,
}

impl AlertKey {
    /// What the alert is about.
    pub fn subject(&self) -> Subject {
        match (self.slot, self.container) {
            (FLEET_SLOT, _) => Subject::Fleet,
            (slot, None) => Subject::Node(slot),
            (slot, Some(key)) => Subject::Container { slot, key },
        }
    }
}

/// Where an alert is in its life, like a Prometheus rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    Firing,
    Pending,
    /// Was firing when its node became unreachable: the figures behind it are stale, so it
    /// is suspended (listed, not counted) until fresh data resumes or resolves it.
    Stale,
    Resolved,
}

impl AlertState {
    /// Label on screen.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Pending => "pending",
            Self::Stale => "stale",
            Self::Resolved => "resolved",
        }
    }
}

/// An acknowledgement: someone is on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ack {
    pub note: String,
    pub at: Stamp,
    pub until: Instant,
}

/// A silence: the alert stays listed but does not count.
#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    pub at: Stamp,
    pub until: Instant,
    pub until_unix_ms: u64,
    /// The Alertmanager silences made for it, once they were created.
    pub links: Vec<RemoteLink>,
}

/// An Alertmanager silence the console made for one of its own silences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteLink {
    /// The Alertmanager's base URL.
    pub alertmanager: String,
    /// Its silence id.
    pub id: String,
    /// When the console learnt the id: only lists asked for later can miss it.
    pub at: Instant,
}

/// A silence made in Alertmanager whose matchers cover an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSilence {
    /// The Alertmanager's base URL.
    pub alertmanager: String,
    pub id: String,
    /// `createdBy`, as whoever made it wrote it.
    pub created_by: String,
    pub comment: String,
    pub ends_unix_ms: u64,
}

/// One alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub key: AlertKey,
    pub rule: String,
    pub summary: String,
    pub severity: Severity,
    /// Node name ("fleet" for fleet-wide alerts).
    pub node: String,
    pub container: Option<String>,
    pub state: AlertState,
    /// When the condition started to hold.
    pub since: Stamp,
    pub fired: Option<Stamp>,
    pub resolved: Option<Stamp>,
    pub metric: Metric,
    pub value: f64,
    pub ack: Option<Ack>,
    pub proposal: Option<Proposal>,
}

impl Alert {
    /// "node-03" or "node-03/web-2".
    pub fn location(&self) -> String {
        match &self.container {
            Some(c) => format!("{}/{c}", self.node),
            None => self.node.clone(),
        }
    }

    /// The value with its unit.
    pub fn value_text(&self) -> String {
        self.metric.format(self.value)
    }

    /// One line for the timeline: summary, where, value and rule.
    pub(super) fn describe(&self) -> String {
        format!(
            "{} on {} ({}) [{}]",
            self.summary,
            self.location(),
            self.value_text(),
            self.rule
        )
    }
}

/// Counts for the alert pane's title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub critical: usize,
    pub warning: usize,
    pub info: usize,
    pub pending: usize,
    pub acked: usize,
    pub silenced: usize,
    /// Suspended because their node is unreachable.
    pub stale: usize,
}
