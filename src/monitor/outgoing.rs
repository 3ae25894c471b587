//! What the monitor has told its receivers, and what it must tell them next: alerts that
//! began firing, alerts that resolved, and (for Alertmanager) every firing alert again
//! once per resend interval, as Prometheus does.
//!
//! Pure: it reads the `AlertBook` and the `Fleet` and is given the time.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::alerts::{Alert, AlertBook, AlertKey, AlertState, Stamp, Subject};
use crate::model::Fleet;
use crate::notify::{Notice, NoticeStatus};

/// A firing alert's `endsAt` lies this many resend intervals ahead: a missed resend or
/// two do not resolve it, a monitor that died lets it expire.
pub const VALIDITY_RESENDS: u32 = 4;
/// A resolved alert is posted again at this many following resends, in case the first
/// post was lost.
pub const RESOLVED_RESENDS: u8 = 2;

/// What happened to one alert since the last look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Fired,
    Resolved,
    /// Alertmanager's periodic reminder; not news for webhooks.
    Resent,
}

/// A notice to send and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub change: Change,
    pub notice: Notice,
}

#[derive(Debug, Clone)]
struct Sent {
    labels: BTreeMap<String, String>,
    /// As last told; the resolution repeats them (less `stale`).
    annotations: BTreeMap<String, String>,
    starts_unix_ms: u64,
}

/// The alerts told as firing, the resolutions still repeated, and the resend clock.
#[derive(Debug, Clone)]
pub struct Tracker {
    resend_interval: Duration,
    firing: HashMap<AlertKey, Sent>,
    resolved: Vec<(Notice, u8)>,
    last_resend: Instant,
}

impl Tracker {
    /// A tracker that resends every `resend_interval`, starting its clock at `now`.
    pub fn new(resend_interval: Duration, now: Instant) -> Self {
        Self {
            resend_interval,
            firing: HashMap::new(),
            resolved: Vec::new(),
            last_resend: now,
        }
    }

    /// Alerts told as firing and not resolved since.
    pub fn firing(&self) -> usize {
        self.firing.len()
    }

    /// When the next resend is due.
    pub fn next_resend(&self) -> Instant {
        self.last_resend + self.resend_interval
    }

    /// Compares the book with what was told: alerts that fired (a firing alert whose node
    /// went unreachable stays firing, its annotations say the value is stale) and alerts
    /// that resolved or are gone.
    pub fn changes(&mut self, book: &AlertBook, fleet: &Fleet, now: Stamp) -> Vec<Outgoing> {
        let mut out = Vec::new();
        let mut seen = HashMap::with_capacity(self.firing.len());
        for alert in book.active().filter(|a| counts_as_firing(a)) {
            let starts = alert.fired.unwrap_or(alert.since).unix_ms;
            let known = self
                .firing
                .get(&alert.key)
                .is_some_and(|s| s.starts_unix_ms == starts);
            let mut sent = match self.firing.get(&alert.key) {
                Some(s) if known => s.clone(),
                _ => Sent {
                    labels: crate::notify::labels(alert, service_of(fleet, &alert.key)),
                    annotations: BTreeMap::new(),
                    starts_unix_ms: starts,
                },
            };
            if !known {
                if let Some(old) = self.firing.get(&alert.key).cloned() {
                    // The same key fired anew: the old one ended first.
                    out.push(self.resolve(old, now));
                }
                let notice = self.firing_notice(alert, &sent, now);
                sent.annotations = notice.annotations.clone();
                out.push(Outgoing {
                    change: Change::Fired,
                    notice,
                });
            }
            seen.insert(alert.key, sent);
        }
        let gone: Vec<AlertKey> = self
            .firing
            .keys()
            .filter(|k| !seen.contains_key(k))
            .copied()
            .collect();
        for key in gone {
            if let Some(old) = self.firing.remove(&key) {
                out.push(self.resolve(old, now));
            }
        }
        self.firing = seen;
        out
    }

    /// Every firing alert, with its current annotations, and the resolutions still being
    /// repeated, if the resend interval has passed; nothing otherwise.
    pub fn resend_due(&mut self, book: &AlertBook, now: Stamp) -> Vec<Outgoing> {
        if now.at < self.next_resend() {
            return Vec::new();
        }
        self.last_resend = now.at;
        let mut out = Vec::new();
        for alert in book.active().filter(|a| counts_as_firing(a)) {
            let Some(sent) = self.firing.get(&alert.key) else {
                continue;
            };
            let notice = self.firing_notice(alert, sent, now);
            if let Some(sent) = self.firing.get_mut(&alert.key) {
                sent.annotations = notice.annotations.clone();
            }
            out.push(Outgoing {
                change: Change::Resent,
                notice,
            });
        }
        for (notice, left) in &mut self.resolved {
            *left = left.saturating_sub(1);
            out.push(Outgoing {
                change: Change::Resent,
                notice: notice.clone(),
            });
        }
        self.resolved.retain(|(_, left)| *left > 0);
        out
    }

    fn resolve(&mut self, mut sent: Sent, now: Stamp) -> Outgoing {
        sent.annotations.remove("stale");
        let notice = Notice {
            status: NoticeStatus::Resolved,
            labels: sent.labels,
            annotations: sent.annotations,
            starts_unix_ms: sent.starts_unix_ms,
            ends_unix_ms: now.unix_ms.max(sent.starts_unix_ms),
        };
        // A newer resolution of the same alert replaces the one still repeated.
        self.resolved.retain(|(n, _)| n.labels != notice.labels);
        self.resolved.push((notice.clone(), RESOLVED_RESENDS));
        Outgoing {
            change: Change::Resolved,
            notice,
        }
    }

    fn firing_notice(&self, alert: &Alert, sent: &Sent, now: Stamp) -> Notice {
        let validity = self.resend_interval.saturating_mul(VALIDITY_RESENDS);
        let validity_ms = u64::try_from(validity.as_millis()).unwrap_or(u64::MAX);
        Notice {
            status: NoticeStatus::Firing,
            labels: sent.labels.clone(),
            annotations: annotations(alert),
            starts_unix_ms: sent.starts_unix_ms,
            ends_unix_ms: now.unix_ms.saturating_add(validity_ms),
        }
    }
}

fn counts_as_firing(alert: &Alert) -> bool {
    matches!(alert.state, AlertState::Firing | AlertState::Stale)
}

/// The service of the container an alert is about, if it has one.
fn service_of<'f>(fleet: &'f Fleet, key: &AlertKey) -> Option<&'f str> {
    match key.subject() {
        Subject::Container { slot, key } => fleet
            .node(slot)
            .and_then(|n| n.containers.get(&key))
            .map(|c| c.spec.service.as_ref()),
        Subject::Node(_) | Subject::Fleet => None,
    }
}

/// `summary` (what and where), `value`, and where the rule recommends an action, the
/// `recommendation` and the exact `command` that carries it out.
pub fn annotations(alert: &Alert) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        out.insert(k.to_string(), v);
    };
    put(
        "summary",
        format!("{} on {}", alert.summary, alert.location()),
    );
    put("value", alert.value_text());
    if let Some(p) = &alert.proposal {
        put("recommendation", p.to_string());
        put("command", p.command_line());
    }
    if alert.state == AlertState::Stale {
        put(
            "stale",
            "the node is unreachable: the value is the last one seen".to_string(),
        );
    }
    out
}

#[cfg(test)]
#[path = "outgoing_tests.rs"]
mod tests;
